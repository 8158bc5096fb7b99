"""Worth in real labels against a known truth: the interval covers the population's worth where the data break its
assumptions (test-set sampling, nested curve draws), TOST holds its level at the margin, and what a synthetic set adds
to n real labels is found when planted and not claimed when absent."""
import numpy as np
import pandas as pd
import pytest

from synthclf.worth import curve_source, equivalence, learning_curve, mixture_gain, simulate_worth_study, worth

CURVE = (10, 20, 50, 100, 200, 500)
truth = lambda n: 0.9 - 0.6 / np.sqrt(n)
spread = lambda n: 0.12 / np.sqrt(n)


def planted(worth_n, sets=1, seeds=5, seed=0, sizes=CURVE):
    "A real learning curve and a few_shot source that scores like `worth_n` real per label, on `sets` generated sets of 20 per label."
    rng, rows = np.random.default_rng(seed), []
    for n in sizes:
        rows += [{'task': 't', 'source': curve_source(n), 'seed': k, 'macro_f1': truth(n) + rng.normal(0, spread(n))} for k in range(seeds)]
    rows += [{'task': 't', 'source': 'real_matched', 'seed': k, 'macro_f1': truth(20) + rng.normal(0, spread(20))} for k in range(seeds)]
    eff = rng.normal(0, spread(20), sets)
    rows += [{'task': 't', 'source': 'few_shot', 'seed': k, 'replicate': k % sets, 'macro_f1': truth(worth_n) + eff[k % sets] + rng.normal(0, 0.002)}
             for k in range(seeds)]
    return pd.DataFrame(rows)


def test_the_interval_covers_the_population_worth_where_the_data_break_its_assumptions():
    """120 studies from `simulate_worth_study`: per-row predictions on 500 test rows drawn from a population (the
    synthetic source does well on rows of its own, so the test set's make-up moves it against the curve), nested curve
    draws, five generated sets with a spread of their own; the true worth from the population. The 95% interval must
    hold it in 89%–99% of studies (it does in 114). The old interval (test rows held fixed, curve points drawn
    independently) held it in 93 of these 120 (77.5%)."""
    hits, widths = [], []
    for i in range(120):
        runs, preds, truth_n = simulate_worth_study(worth_n=(20.0, 40.0, 70.0)[i % 3], seed=i)
        f = worth(runs, n_boot=300, seed=i, predictions={'t': preds}).set_index('source').loc['few_shot']
        hits.append(f.ci_low <= truth_n <= f.ci_high)
        widths.append(f.ci_high / max(f.ci_low, 10))
    assert 0.89 <= np.mean(hits) <= 0.99, f"the true worth held in {np.mean(hits):.1%} of 120 studies"
    assert f.interval.startswith('test rows (shared'), f.interval
    assert np.median(widths) < 5, f"the median interval spans a factor {np.median(widths):.1f} in n: too wide to say much"


def nested_runs(seed, sd=0.03, sizes=(10, 100), seeds=10):
    """A curve 0.5 + 0.1 log10 n whose seeds are nested: seed k's real@10 lies inside its real@100, so its luck (sd
    `sd`) moves both points; few_shot at the true score of √1000 ≈ 31.6 per label, on five sets (their spread resampled
    by its seeds)."""
    rng = np.random.default_rng(seed)
    luck = rng.normal(0, sd, seeds)
    rows = [{'task': 't', 'source': curve_source(n), 'seed': k, 'replicate': 0,
             'macro_f1': 0.5 + 0.1 * np.log10(n) + luck[k] + rng.normal(0, sd / 10)}
            for n in sizes for k in range(seeds)]
    rows += [{'task': 't', 'source': 'few_shot', 'seed': k, 'replicate': k % 5, 'macro_f1': 0.65 + rng.normal(0, 0.002)}
             for k in range(seeds)]
    return pd.DataFrame(rows)


def test_a_seeds_nested_curve_is_drawn_as_one():
    """Between two sizes the worth reads the curve at a mix of both points; where a seed's luck moves both (nested
    samples), drawing them independently halves the variance there. The interval must hold √1000 in ≥ 90% of 200
    studies (it does in 190; the old independent draws in 177, 88.5%: a narrow fail, since their t tails make up part
    of it)."""
    truth, hits = np.sqrt(1000), []
    for i in range(200):
        f = worth(nested_runs(i), n_boot=300, seed=i).set_index('source').loc['few_shot']
        hits.append(f.ci_low <= truth <= f.ci_high)
    assert np.mean(hits) >= 0.9, f"covered in {np.mean(hits):.1%} of 200 studies"


def test_outside_the_curve_reads_as_fewer_or_more():
    lo = worth(planted(3.0), n_boot=200).set_index('source').loc['few_shot']
    hi = worth(planted(5000.0), n_boot=200).set_index('source').loc['few_shot']
    assert lo.real_labels_equivalent == 0 and lo.reads.startswith('fewer than 10'), lo.reads
    assert np.isinf(hi.real_labels_equivalent) and 'more than 500' in hi.reads, hi.reads


def test_tost_holds_its_level_at_the_margin_and_finds_equivalence_with_replicates():
    edge, same = [], []
    for i in range(200):
        r = planted(50.0, sets=5, seed=i, sizes=(20, 50))
        same.append(equivalence(r, 't', 'few_shot', 50, margin=0.03)['word'] == 'equivalent')
        r.loc[r.source == 'few_shot', 'macro_f1'] -= 0.03
        edge.append(equivalence(r, 't', 'few_shot', 50, margin=0.03)['word'] == 'equivalent')
    assert np.mean(edge) <= 0.08, f"a difference of exactly the margin was called equivalent in {np.mean(edge):.1%}"
    assert np.mean(same) > np.mean(edge), "no difference should be called equivalent more often than a difference at the margin"


def test_bad_input_names_the_fix():
    with pytest.raises(ValueError, match='real@<n>'): learning_curve(pd.DataFrame({'task': ['t'], 'source': ['few_shot'], 'seed': [0], 'macro_f1': [0.5]}))
    with pytest.raises(ValueError, match='margin'): equivalence(planted(50.0), 't', 'few_shot', 50, margin=0)


def test_a_size_some_label_cannot_fill_is_marked():
    "A label with fewer texts than n gives all it has: the curve says from which size on (n_train below n × labels)."
    r = planted(50.0)
    k = 2
    r['n_train'] = [k * int(s.split('@')[1]) if s.startswith('real@') else 40 for s in r.source]
    r.loc[r.source == 'real@500', 'n_train'] = 500 + 300  # one label holds only 300
    c = learning_curve(r)
    assert c.set_index('n').capped.to_dict() == {10: False, 20: False, 50: False, 100: False, 200: False, 500: True}
    assert 'from 500 on some labels hold fewer' in worth(r, n_boot=100).set_index('source').loc['few_shot', 'curve']


def test_one_seed_gives_an_estimate_without_an_interval():
    "A run with one seed (as the tests' tiny runs) still reads the worth off the curve, and says it has no interval."
    w = worth(planted(50.0, seeds=1), n_boot=50).set_index('source').loc['few_shot']
    assert np.isfinite(w.real_labels_equivalent) and np.isnan(w.ci_low), w
    assert w.reads.endswith('(no interval)'), w.reads


def with_mixture(r, gain, n=20, seed=0, set_sd=None):
    """`r` plus real@n+few_shot: per seed real@n's score (the same real rows) plus `gain`, the generated set's own luck
    (one set, the size of real_matched's sample, diluted by half by the real part) and a little noise of the seed's
    own."""
    rng = np.random.default_rng(seed)
    base = r[r.source == curve_source(n)].set_index('seed').macro_f1
    luck = rng.normal(0, (set_sd if set_sd is not None else spread(20)) / 2)
    return pd.concat([r, pd.DataFrame({'task': 't', 'source': f'real@{n}+few_shot', 'seed': base.index, 'replicate': 0,
                                       'macro_f1': base.to_numpy() + gain + luck + rng.normal(0, 0.01, len(base))})], ignore_index=True)


@pytest.mark.parametrize('gain', [0.0, 0.1])
def test_what_a_mixture_adds_is_found_when_planted_and_not_claimed_when_absent(gain):
    """The gain's 95% interval covers the planted gain in ≥ 90% of 200 studies; with nothing planted it claims a gain
    in ≤ 5% (+ noise); with one generated set (its luck counted in full: conservative) a gain of 0.1 is found in ≥
    80%."""
    w0 = worth(planted(50.0), n_boot=10)  # the saved labels are not checked here: a worth table only to skip the bootstrap
    rows = [mixture_gain(with_mixture(planted(50.0, seed=i), gain, seed=i), w0).iloc[0] for i in range(200)]
    covered = np.mean([x.gain_low <= gain <= x.gain_high for x in rows])
    found = np.mean([x.gain_low > 0 for x in rows])
    assert covered >= 0.9, f"planted gain {gain}: covered in {covered:.0%}"
    if gain == 0: assert found <= 0.08, f"no gain planted, a gain claimed in {found:.1%}"
    else: assert found >= 0.8, f"a planted gain of {gain} found in {found:.0%} of 200 studies"


def test_a_mixture_without_its_curve_point_is_refused():
    r = with_mixture(planted(50.0, sizes=(10, 50)), 0.03, n=10)
    with pytest.raises(ValueError, match='real@20'):
        mixture_gain(pd.concat([r, r[r.source == 'real@10+few_shot'].assign(source='real@20+few_shot')]))


EDGE = dict(seeds=10, sets=10, set_sd=0.03, curve_sd=0.1)  # seeds that agree closely: the test set's luck dominates


def at_margin(margin, n=50, sizes=(10, 20, 50, 100)):
    "The worth whose population score lies exactly `margin` below real@n's, from the closed-form truth."
    truth = simulate_worth_study(seed=0, sizes=sizes, **EDGE)[0].attrs['truth']
    curve = [truth[curve_source(s)] for s in sizes]
    return float(np.exp(np.interp(truth[curve_source(n)] - margin, curve, np.log(sizes))))


def test_tost_holds_its_level_at_the_margin_when_the_test_set_is_drawn_from_a_population():
    """The synthetic source lies exactly `margin` below real@50 in the population; each study's 500 test rows are a draw
    from it, and the source does well on rows of its own, so the test set moves the difference. TOST says equivalent in
    at most α (+ noise) of 40 studies. Holding the test rows fixed (the old TOST) says it in about a third."""
    margin, said = 0.05, []
    wn = at_margin(margin)
    for i in range(40):
        runs, preds, _ = simulate_worth_study(wn, seed=500 + i, **EDGE)
        assert abs(runs.attrs['truth']['few_shot'] - (runs.attrs['truth']['real@50'] - margin)) < 1e-9
        e = equivalence(runs, 't', 'few_shot', 50, margin, predictions={'t': preds})
        said.append(e['word'] == 'equivalent')
    assert e['interval'] == '90%, test rows drawn again', e['interval']
    assert np.mean(said) <= 0.10, f"a difference of exactly the margin was called equivalent in {np.mean(said):.0%}"


def test_a_mixtures_gain_interval_covers_the_population_gain_when_the_test_set_is_drawn():
    """real@20+few_shot: seed k's real sample plus a synthetic set with rows of its own; the true gain over real@20 in
    the population is known in closed form. The 95% interval with the test rows drawn again covers it in ≥ 88% of 60
    studies; with the test rows fixed (the old interval) about 77%."""
    covered, w0 = [], None
    for i in range(60):
        runs, preds, _ = simulate_worth_study(40.0, seed=900 + i, mixture=0.3, affinity=3.0)
        gain = runs.attrs['truth']['real@20+few_shot'] - runs.attrs['truth']['real@20']
        w0 = worth(runs, n_boot=10) if w0 is None else w0  # the saved labels are not checked here
        g = mixture_gain(runs, w0, predictions={'t': preds}).iloc[0]
        covered.append(g.gain_low <= gain <= g.gain_high)
    assert np.mean(covered) >= 0.88, f"the population gain {gain:+.3f} covered in {np.mean(covered):.0%} of 60 studies"
