"""Equivalence (TOST) and a mixture's gain where the test set is a draw from a population, test rows drawn again vs held fixed

    .venv/bin/python benchmarks/worth_tost_mixture.py [--studies 100]

Both on `worth.simulate_worth_study` (500 test rows from a population, a synthetic source with rows of its own, nested
curves), the truth in closed form (`runs.attrs['truth']`). TOST: the source's population score lies exactly the margin
(0.05) below real@50's, ten seeds on ten sets of small spread (set_sd 0.03, curve_sd 0.1), so the test set's luck
dominates; the share of studies called "equivalent" is the test's size (nominal α = 5%). Mixture: real@20+few_shot
(mixture=0.3, affinity 3); the share of 95% intervals that hold the population gain. `new`: `predictions=` given (test
rows drawn again, `_test_row_var`); `old`: without them (the test rows held fixed, as before). The tests in
tests/test_worth.py use the first 40 / 60 of these studies.
"""
import argparse, json, os, subprocess, sys, time
from pathlib import Path

import numpy as np
from scipy.stats import binomtest
from synthclf.core import machine_kind
from synthclf.worth import curve_source, equivalence, mixture_gain, simulate_worth_study, worth

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tests'))
from test_worth import EDGE, at_margin  # the tests' own studies


def share(hits: list) -> dict:
    "Count, share and 95% Wilson interval."
    k, n = int(np.sum(hits)), len(hits)
    ci = binomtest(k, n).proportion_ci(method='wilson')
    return {'hits': k, 'studies': n, 'share': k / n, 'wilson_low': ci.low, 'wilson_high': ci.high}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--studies', type=int, default=100)
    ap.add_argument('--out', default='benchmarks/results/worth_tost_mixture')
    args = ap.parse_args()
    t0, margin = time.time(), 0.05
    wn, said = at_margin(margin), {'new': [], 'old': []}
    for i in range(args.studies):
        runs, preds, _ = simulate_worth_study(wn, seed=500 + i, **EDGE)
        for name, p in (('new', {'t': preds}), ('old', None)):
            said[name].append(equivalence(runs, 't', 'few_shot', 50, margin, predictions=p)['word'] == 'equivalent')
    covered, w0 = {'new': [], 'old': []}, None
    for i in range(args.studies):
        runs, preds, _ = simulate_worth_study(40.0, seed=900 + i, mixture=0.3, affinity=3.0)
        gain = runs.attrs['truth']['real@20+few_shot'] - runs.attrs['truth']['real@20']
        w0 = worth(runs, n_boot=10) if w0 is None else w0
        for name, p in (('new', {'t': preds}), ('old', None)):
            g = mixture_gain(runs, w0, predictions=p).iloc[0]
            covered[name].append(bool(g.gain_low <= gain <= g.gain_high))
    rows = [{'check': 'tost size at the margin (nominal 5%)', 'interval': k, **share(v)} for k, v in said.items()]
    rows += [{'check': 'mixture gain 95% coverage', 'interval': k, **share(v)} for k, v in covered.items()]
    meta = {'date': time.strftime('%Y-%m-%d'), 'machine': f"{machine_kind()}, {os.cpu_count()} cores",
            'command': f"python benchmarks/worth_tost_mixture.py --studies {args.studies}",
            'commit': subprocess.check_output(['git', 'rev-parse', '--short', 'HEAD'], text=True, cwd=ROOT).strip(),
            'seconds': round(time.time() - t0)}
    Path(args.out + '.json').write_text(json.dumps({'meta': meta, 'rows': rows}, indent=1))
    md = ["# Equivalence and a mixture's gain with the test set drawn from a population", "",
          f"{meta['date']} · {meta['machine']} · `{meta['command']}` · commit {meta['commit']} · {meta['seconds']} s", "",
          __doc__.split('\n\n', 2)[2].strip(), "", "| check | interval | studies | share [95% Wilson] |", "|---|---|---|---|"]
    md += [f"| {x['check']} | {x['interval']} | {x['hits']}/{x['studies']} | {x['share']:.1%} "
           f"[{x['wilson_low']:.1%}, {x['wilson_high']:.1%}] |" for x in rows]
    Path(args.out + '.md').write_text('\n'.join(md) + '\n')
    print('\n'.join(md))


if __name__ == '__main__':
    main()
