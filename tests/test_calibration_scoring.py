"""The calibration benchmark's scoring of the agreement lines against their world's own truth (`agreement_truths`), checked where
the truth is known: rows of simulated line estimates, with no effect and with a planted one."""
import os
import sys
from pathlib import Path

import numpy as np

# the benchmark sets defaults in the environment when imported (offline hub, no progress bars, the data folder), and its folder
# holds scripts with plain names: both kept from the other tests of this worker, and from the processes they start
_env, _path = dict(os.environ), list(sys.path)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]/'benchmarks'))
try: from verdict_calibration import agreement_truths  # noqa: E402
finally:
    os.environ.clear(); os.environ.update(_env); sys.path[:] = _path


def world_rows(truth: float, sd: float, lines: int, rng, rows: int = 2) -> list:
    """`rows` rows of one world and kind (as at R = 1 and R = 5), each with `lines` line estimates around `truth`, nominal 95%
    intervals, and the words a 5% two-sided test per line gives."""
    out = []
    for _ in range(rows):
        est = rng.normal(truth, sd, lines)
        lo, hi = est - 1.96 * sd, est + 1.96 * sd
        out.append({'world': 'w', 'kind': 'agreement zero-shot', 'commit': 'c', 'lines': lines,
                    'estimates': [[float(e), float(a), float(b)] for e, a, b in zip(est, lo, hi)],
                    'agrees_n': int((lo > 0).sum()), 'contradicts_n': int((hi < 0).sum())})
    return out


def test_no_effect_reads_as_a_null_and_a_planted_one_as_power():
    rng = np.random.default_rng(0)
    # no effect: the pooled truth's interval holds zero in about 95% of worlds (a nominal 5% test on 200 line estimates)
    signs = [agreement_truths(world_rows(0.0, 0.2, 100, rng))[0]['truth_sign'] for _ in range(400)]
    assert np.mean(np.array(signs) != 0) <= 0.09, np.mean(np.array(signs) != 0)
    # planted +0.05 at the prototypes world's spread (sd 0.08, 200 lines): found nearly always, and read with its sign
    found = [agreement_truths(world_rows(0.05, 0.08, 100, rng))[0] for _ in range(100)]
    assert np.mean([r['truth_sign'] == 1 for r in found]) >= 0.9
    # planted −0.05: the other sign
    assert np.mean([agreement_truths(world_rows(-0.05, 0.08, 100, rng))[0]['truth_sign'] == -1 for _ in range(100)]) >= 0.9


def test_words_are_scored_against_the_truths_sign():
    rng = np.random.default_rng(1)
    nulls = [agreement_truths(world_rows(0.0, 0.2, 100, rng, rows=1))[0] for _ in range(20)]
    r = next((x for x in nulls if x['truth_sign'] == 0), None)
    assert r is not None, 'no world without an effect read as a null in 20'
    assert r['null'] and r['false_agree'] == r['agrees_n'] / 100 and r['false_contradict'] == r['contradicts_n'] / 100 and 'power' not in r
    up = agreement_truths(world_rows(0.3, 0.1, 100, rng, rows=1))[0]
    assert up['truth_sign'] == 1 and not up['null']
    assert up['power'] == up['agrees_n'] / 100 and up['false_contradict'] == up['contradicts_n'] / 100 and 'false_agree' not in up
    assert up['power'] > 0.5 and 0.85 <= up['coverage'] <= 1.0  # the intervals cover the pooled truth about 95% of the time
    down = agreement_truths(world_rows(-0.3, 0.1, 100, rng, rows=1))[0]
    assert down['truth_sign'] == -1 and down['power'] == down['contradicts_n'] / 100 and 'false_contradict' not in down


def test_rows_of_other_worlds_or_statistics_are_pooled_apart():
    rng = np.random.default_rng(2)
    a, b = world_rows(0.3, 0.1, 50, rng, rows=1), world_rows(-0.3, 0.1, 50, rng, rows=1)
    b[0]['commit'] = 'other'
    rows = agreement_truths(a + b + [{'world': 'w', 'kind': 'agreement few-shot', 'commit': 'c', 'lines': 10}])  # no estimates: left
    assert rows[0]['truth_sign'] == 1 and rows[1]['truth_sign'] == -1 and 'truth_sign' not in rows[2]
