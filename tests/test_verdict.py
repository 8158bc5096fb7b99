"""The verdict's statistics against a known truth: each test here failed on the code before issue 22's fixes."""
import json

import numpy as np
import pandas as pd
import pytest
from datasets import ClassLabel, Dataset, Features, Value
from scipy.special import expit

from synthclf.claims import agreement_effect, gap_correlation, learned, source_comparisons
from synthclf.verdict import paper_verdict
from synthclf.results import collect_runs
from synthclf.experiments import train_and_evaluate
from synthclf.generate import replicate_dir
from synthclf.subjectivity import judge_reliability

FOUR = ['ag_news', 'relation_classification', 'sms_spam', 'financial_phrasebank']


def runs_with_gaps(gaps: dict, noise=0.002, seeds=5, seed=0):
    "Runs of real_matched and few_shot per task whose mean gaps are `gaps`, all well above their baselines."
    rng, rows = np.random.default_rng(seed), []
    for t, g in gaps.items():
        for s, m in (('real_matched', 0.8), ('few_shot', 0.8 - g)):
            rows += [{'task': t, 'source': s, 'seed': k, 'macro_f1': m + rng.normal(0, noise), 'accuracy': m, 'bar_macro_f1': 0.3,
                      'bar_accuracy': 0.3, 'n_train': 80} for k in range(seeds)]
    return pd.DataFrame(rows)


def test_four_tasks_at_rho_08_do_not_agree():
    "Four tasks whose gaps follow subjectivity but for one swap (ρ = 0.8): 4 of 24 orderings reach it, no conclusion."
    runs = runs_with_gaps(dict(zip(FOUR, [0.01, 0.03, 0.02, 0.04])))
    ranking = pd.DataFrame({'task': FOUR, 'score': [-1.5, -1.0, -0.5, 0.5], 'ci_low': [-1.6, -1.1, -0.6, 0.4], 'ci_high': [-1.4, -0.9, -0.4, 0.6]})
    c = gap_correlation(runs, ranking, 'few_shot')
    assert abs(c['rho'] - 0.8) < 0.05 and c['word'] != 'agrees' and c['p_greater'] >= 4 / 24 - 1e-9
    v = paper_verdict(runs, ranking, {'reliable': True, 'source': 'made-up'})
    assert (v[v.claim == 'gap'].word != 'agrees').all()


def test_gap_test_holds_its_level_with_uncertain_scores():
    "No relation between gap and subjectivity, scores known only roughly: the gap line says a word in at most ~5% of 200 draws."
    tasks = ['ag_news', 'relation_classification', 'sms_spam', 'financial_phrasebank', 'tweet_irony', 'humor_speech']
    rng, words = np.random.default_rng(3), []
    for i in range(200):
        runs = runs_with_gaps(dict(zip(tasks, rng.normal(0.05, 0.02, 6))), noise=0.01, seed=i)
        s = rng.normal(0, 1, 6)
        ranking = pd.DataFrame({'task': tasks, 'score': s, 'ci_low': s - 0.5, 'ci_high': s + 0.5})
        words.append(gap_correlation(runs, ranking, 'few_shot', draws=50, seed=i)['word'])
    assert np.mean([w in ('agrees', 'contradicts') for w in words]) <= 0.09


def test_one_generated_set_carries_the_spread_of_a_set():
    "A synthetic source trained on one set (its seeds nearly identical) gets the spread of a freshly drawn set in its interval."
    rng = np.random.default_rng(0)
    rows = [{'task': 'sms_spam', 'source': 'real_matched', 'seed': k, 'macro_f1': 0.8 + rng.normal(0, 0.03), 'accuracy': 0.9,
             'bar_macro_f1': 0.4, 'bar_accuracy': 0.4} for k in range(5)]
    rows += [{'task': 'sms_spam', 'source': 'few_shot', 'seed': k, 'macro_f1': 0.76 + rng.normal(0, 1e-4), 'accuracy': 0.9,
              'bar_macro_f1': 0.4, 'bar_accuracy': 0.4, 'replicate': 0} for k in range(5)]
    one = source_comparisons(pd.DataFrame(rows)).iloc[0]
    five = source_comparisons(pd.DataFrame(rows).assign(replicate=lambda d: np.where(d.source == 'few_shot', d.seed, np.nan))).iloc[0]
    assert "taken from real_matched's" in one.interval and "taken from" not in five.interval  # five sets: their own spread is resampled
    # the seeds alone give real_matched's spread / √5; one generated set adds a whole set's spread: √6 times as wide
    assert (one.ci_high - one.ci_low) > 2 * (five.ci_high - five.ci_low) and one.p > five.p


def _preds(n=600, everywhere=0.0, on_low=0.0, seed=0):
    r = np.random.default_rng(seed)
    agree, gold, rows = r.choice([0.6, 1.0], n), r.integers(0, 3, n), []
    for src, q, low in (('real_matched', 0, 0), ('few_shot', everywhere, on_low)):
        for k in range(3):
            wrong = (r.random(n) < np.where(agree < 1, 0.35, 0.1)) | ((agree < 1) & (r.random(n) < low))
            pred = np.where(wrong, (gold + r.integers(1, 3, n)) % 3, gold)
            pred = np.where(r.random(n) < q, r.integers(0, 3, n), pred)
            rows.append(pd.DataFrame({'idx': np.arange(n), 'gold': gold.astype(str), 'pred': pred.astype(str), 'correct': pred == gold,
                                      'agreement': agree, 'source': src, 'seed': k}))
    return pd.concat(rows, ignore_index=True)


def test_a_uniformly_worse_classifier_does_not_contradict():
    "A synthetic model that answers at random 30% of the time everywhere loses less accuracy on low agreement (near chance), not less skill."
    drop, extra, calls = [], [], []
    for s in range(30):
        e = agreement_effect(_preds(everywhere=0.3, seed=s), n_boot=200, seed=s).set_index('source')
        drop.append(e.loc['few_shot', 'drop'] - e.loc['real_matched', 'drop'])
        extra.append(e.loc['few_shot', 'extra_loss']); calls.append(e.loc['few_shot', 'p'] < 0.05)
    se = lambda v: np.std(v, ddof=1) / np.sqrt(len(v))
    # the accuracy drop shrinks (the old statistic's trap: about -0.07 here, ± 0.006) ...
    assert np.mean(drop) < -3 * se(drop), (np.mean(drop), se(drop))
    # ... while the share of κ kept does not move: no extra loss on average, and a word in few of the 30 draws
    assert abs(np.mean(extra)) < 3 * se(extra), (np.mean(extra), se(extra))
    assert np.mean(calls) <= 0.15
    e = agreement_effect(_preds(on_low=0.3), n_boot=300).set_index('source')
    assert e.loc['few_shot', 'extra_ci_low'] > 0  # errors planted on the low-agreement instances are found


def _set_preds(n=500, sets_syn=1, seeds=5, set_sd=0.06, seed=0):
    "real_matched on a fresh training set per seed, few_shot on `sets_syn` sets; each set has its own error rate on low agreement."
    r = np.random.default_rng(seed)
    agree, gold, rows = r.choice([0.6, 1.0], n), r.integers(0, 3, n), []
    for src, nsets in (('real_matched', seeds), ('few_shot', sets_syn)):
        set_low, hard = np.clip(0.3 + r.normal(0, set_sd, nsets), 0, 1), r.random((nsets, n))
        for k in range(seeds):
            j = k % nsets
            wrong = (0.8 * hard[j] + 0.2 * r.random(n)) < np.where(agree < 1, set_low[j], 0.1)
            pred = np.where(wrong, (gold + r.integers(1, 3, n)) % 3, gold)
            rows.append(pd.DataFrame({'idx': np.arange(n), 'gold': gold.astype(str), 'pred': pred.astype(str), 'agreement': agree,
                                      'source': src, 'seed': k}))
    return pd.concat(rows, ignore_index=True)


def test_the_instance_line_carries_the_spread_of_training_sets():
    "Training sets that differ on the low-agreement instances, no effect planted: a bootstrap over instances alone said a word in ~50%."
    words = {k: [agreement_effect(_set_preds(sets_syn=k, seed=s), n_boot=200, seed=s).set_index('source').loc['few_shot', 'p'] < 0.05
                 for s in range(40)] for k in (1, 5)}
    assert np.mean(words[1]) <= 0.15, f"one generated set: a word in {np.mean(words[1]):.0%} of 40 runs with no effect"
    assert np.mean(words[5]) <= 0.15, f"five generated sets: a word in {np.mean(words[5]):.0%} of 40 runs with no effect"
    e = agreement_effect(_set_preds(), n_boot=200).set_index('source')
    assert e.loc['few_shot', 'set_from_real_matched'], "one generated set should take real_matched's spread of a set"


def crowd(scores: dict, n=540, workers=30, bias=0.0, seed=0):
    r, tasks, rows = np.random.default_rng(seed), list(scores), []
    for _ in range(n):
        a, b = r.choice(tasks, 2, replace=False)
        rows.append({'task_a': a, 'task_b': b, 'winner': a if r.random() < expit(scores[a] - scores[b] + bias) else b, 'judge': f'w{r.integers(workers)}'})
    return pd.DataFrame(rows)


def test_the_gate_passes_an_honest_crowd_and_stops_a_position_driven_judge():
    ten = dict(zip(['ag_news', 'sms_spam', 'relation_classification', 'financial_phrasebank', 'imdb', 'tweet_emotions', 'reddit_emotions',
                    'tweet_irony', 'sarcasm_news', 'humor_speech'], np.linspace(-0.9, 0.9, 10)))
    honest = judge_reliability(crowd(ten), n_splits=100)
    assert honest['order_agreement'] < 0.62 and honest['reliable'], honest['verdict']  # the old bar (order agreement ≥ 0.6) was a coin toss here
    biased = judge_reliability(crowd({t: s / 3 for t, s in ten.items()}, bias=2.0), n_splits=100)
    assert not biased['reliable'] and 'position' in biased['verdict']


def test_training_seeds_use_the_generated_replicates_in_turn(tmp_path, real_data):
    "With R generated sets per mode, training seed k trains on set k mod R, and the runs say which."
    from synthclf.data import load_task
    card, ds = load_task('sms_spam')
    train = ds['train'].to_pandas()
    gen = tmp_path/'generate'
    for r in range(2):
        d = replicate_dir(gen, 'few_shot', r); d.mkdir(parents=True)
        pick = train.groupby('label').sample(10, random_state=r)
        Dataset.from_dict({'text': pick.text.tolist(), 'label': pick.label.tolist()},
                          features=Features({'text': Value('string'), 'label': ClassLabel(names=card.label_names)})).save_to_disk(str(d/'dataset'))
        (d/'manifest.json').write_text(json.dumps({'counts': {'ham': 10, 'spam': 10}}))
    train_and_evaluate('sms_spam', ['few_shot', 'real_matched'], model='tfidf', seeds=3, out=tmp_path/'runs', synthetic_dir=gen, test_cap=100, progress=False)
    runs = collect_runs(tmp_path/'runs')
    few = runs[runs.source == 'few_shot'].set_index('seed')
    assert few.replicate.to_dict() == {0: 0, 1: 1, 2: 0} and runs[runs.source == 'real_matched'].replicate.isna().all()


class Undecided:
    "A judge endpoint that gives both answers the same probability: every pairwise judgment is a tie."
    name, model_name, where = 'openai', 'undecided', 'http://127.0.0.1:9/v1'

    def option_probs(self, requests, options, on_done=None):
        from synthclf.cache import OptionProbs
        out = [OptionProbs({o: 1 / len(options) for o in options}, 1.0) for _ in requests]
        for i, o in enumerate(out):
            if on_done: on_done(i, o)
        return out


@pytest.fixture(scope='module')
def small_runs(tmp_path_factory, real_data):
    "TF-IDF runs of sms_spam on real_matched and a few-shot set made of real texts (two seeds)."
    from synthclf.data import load_task
    tmp = tmp_path_factory.mktemp('small-runs')
    card, ds = load_task('sms_spam')
    pick = ds['train'].to_pandas().groupby('label').sample(15, random_state=0)
    d = replicate_dir(tmp/'generate', 'few_shot'); d.mkdir(parents=True)
    Dataset.from_dict({'text': pick.text.tolist(), 'label': pick.label.tolist()},
                      features=Features({'text': Value('string'), 'label': ClassLabel(names=card.label_names)})).save_to_disk(str(d/'dataset'))
    (d/'manifest.json').write_text(json.dumps({'counts': {'ham': 15, 'spam': 15}}))
    train_and_evaluate('sms_spam', ['real_matched', 'few_shot'], model='tfidf', seeds=2, out=tmp/'runs', synthetic_dir=tmp/'generate', test_cap=150, progress=False)
    return tmp


def test_an_undecided_judge_leaves_the_report_standing(small_runs, tmp_path):
    "Every judge answer a tie: no ranking, yet the report is written; this one-task run's gap line says it needs more tasks."
    from synthclf.analysis import analyze
    s = analyze(small_runs/'runs', tmp_path/'analysis', rank_tasks=['ag_news', 'sms_spam', 'tweet_irony'], backend=Undecided(),
                synthetic_dir=str(small_runs/'generate'), progress=False, reference_size=50)
    v = pd.read_csv(tmp_path/'analysis'/'verdict.csv')
    gap = v[v.claim == 'gap']
    assert len(gap) == 1 and gap.word.iloc[0].startswith('inconclusive: the gap line needs at least') and 'no ranking' in gap.rests_on.iloc[0]
    assert (v.claim == 'ordering').any() and not (tmp_path/'analysis'/'ranking.csv').exists() and s['ranking'] == {}
    assert "give no ranking" in json.loads((tmp_path/'analysis'/'judge.json').read_text())['verdict']


def test_a_local_judge_runs_in_float32_whatever_the_generator_uses(small_runs, tmp_path, monkeypatch):
    "The report's local judge is made in float32 (the documented default) and says so; the judge_dtype setting reaches it."
    import synthclf.llm
    made = []
    monkeypatch.setattr(synthclf.llm, 'make_backend', lambda backend, model=None, **kw: made.append(kw.get('dtype')) or Undecided())
    from synthclf.analysis import analyze
    analyze(small_runs/'runs', tmp_path/'a', rank_tasks=['ag_news', 'sms_spam', 'tweet_irony'], synthetic_dir=str(small_runs/'generate'),
            progress=False, reference_size=50)
    assert made == ['float32'] and json.loads((tmp_path/'a'/'judge.json').read_text())['dtype'] == 'float32'
    analyze(small_runs/'runs', tmp_path/'b', rank_tasks=['ag_news', 'sms_spam', 'tweet_irony'], synthetic_dir=str(small_runs/'generate'),
            progress=False, reference_size=50, judge_dtype='int8')
    assert made[-1] == 'int8'


def _two_sources(means: dict, bar=0.5, noise=0.01, seed=0):
    "Five seeds of each source in `means` on one task (macro-F1 and accuracy alike), against a bar of `bar` on both."
    rng = np.random.default_rng(seed)
    return pd.DataFrame([{'task': 'humor_speech', 'source': s, 'seed': k, 'macro_f1': m + e, 'accuracy': m + e, 'bar_macro_f1': bar,
                          'bar_accuracy': bar} for s, m in means.items() for k, e in enumerate(rng.normal(0, noise, 5))])


def test_a_synthetic_source_at_baseline_under_a_real_one_that_learned_is_evidence():
    "humor_speech: real beats its baselines, zero-shot sits at them. The old gate voided 'real > zero-shot'; it reads agrees."
    runs = _two_sources({'real_matched': 0.80, 'few_shot': 0.70, 'zero_shot': 0.49}).assign(replicate=lambda d: d.seed)  # a set per seed
    assert learned(runs)[('humor_speech', 'zero_shot')] is False
    v = paper_verdict(runs, classifier='tfidf').set_index('scope')
    for line in ('humor_speech: real-matched > zero-shot', 'humor_speech: few-shot > zero-shot'):
        assert v.word[line] == 'agrees', v.word
        assert 'baseline gate: zero_shot at baseline, under' in v.rests_on[line], v.rests_on[line]
    assert v.rests_on['humor_speech: real-matched > few-shot'].endswith('baseline gate: both beat their baselines')
    # every source at its baselines: the comparison cannot speak
    flat = paper_verdict(_two_sources({'real_matched': 0.45, 'zero_shot': 0.44}))
    assert flat.word.tolist() == ['undetermined: real_matched and zero_shot at baseline'] and flat.p.isna().all(), flat


def test_the_baseline_gate_treats_both_directions_alike():
    """Two sources straddling their bar, and the same two swapped: the words mirror each other. Voiding only where the claim's
    better side is at baseline would keep the first (agrees) and void the second (it would have said contradicts): a lean towards
    the paper wherever sources sit near their baselines."""
    words = {}
    for hi, lo in (('real_matched', 'zero_shot'), ('zero_shot', 'real_matched')):
        runs = _two_sources({hi: 0.58, lo: 0.46})
        ok = learned(runs)
        assert ok[('humor_speech', hi)] and ok[('humor_speech', lo)] is False
        words[hi] = source_comparisons(runs).word.iloc[0]
    assert words == {'real_matched': 'agrees', 'zero_shot': 'contradicts'}, words


def _uneven_runs(sets: int, rng, set_sd=0.05, real_sd=0.02, seeds=5):
    """One task's runs where both synthetic modes come from one generator whose sets differ in quality (a set's mean macro-F1 has sd
    `set_sd`, more than a fresh real sample's `real_sd`, which the one-set path borrows): seed k of a mode trains on set k mod `sets`."""
    rows = [{'task': 'ag_news', 'source': 'real_matched', 'seed': k, 'macro_f1': 0.80 + rng.normal(0, real_sd)} for k in range(seeds)]
    for mode in ('zero_shot', 'few_shot'):
        quality = 0.75 + rng.normal(0, set_sd, sets)
        rows += [{'task': 'ag_news', 'source': mode, 'seed': k, 'replicate': k % sets, 'macro_f1': quality[k % sets] + rng.normal(0, 0.005)}
                 for k in range(seeds)]
    return pd.DataFrame(rows).assign(accuracy=lambda d: d.macro_f1, bar_macro_f1=0.3, bar_accuracy=0.3)


@pytest.mark.parametrize('sets', [1, 2, 5])
def test_the_modes_line_holds_its_level_when_sets_vary_in_quality(sets):
    """Few-shot and zero-shot drawn alike from a generator whose sets vary in quality more than real samples do: any word on
    few-shot > zero-shot is false. The one-set statistic (real_matched's spread borrowed for a set) said one in 3.7 draws at one set
    per mode and one in 7 at two (seeds that share a set are not independent); the line now speaks only with a set per seed, and
    there within the level (≤ 5% of 300 draws, plus binomial noise)."""
    rng = np.random.default_rng(1)
    lines = pd.concat([source_comparisons(_uneven_runs(sets, rng)).query("claim == 'few_shot > zero_shot'") for _ in range(300)])
    words = lines.word.isin(['agrees', 'contradicts']).mean()
    assert words <= 0.075, (sets, lines.word.str.split(':').str[0].value_counts().to_dict())
    if sets < 5:
        assert lines.word.str.startswith('undetermined: one generated set per mode').all() and lines.p.isna().all(), lines.word.iloc[0]
    else:  # the line speaks: the void must not swallow it where the seeds show the sets' spread
        assert lines.word.eq('inconclusive').mean() > 0.8 and 'not read' not in lines.interval.iloc[0], lines.word.value_counts()


def _sets_runs_and_preds(rng, n=200, sets=5, seeds=5, set_sd=0.08, few=0.75, zero=0.75, real=0.9):
    """One task's runs and test predictions, the bootstrap path's input: real_matched on a fresh sample per seed, each synthetic
    mode on `sets` generated sets whose accuracy differs from set to set (sd `set_sd`, as an uneven generator's do); seed k of a
    mode trains on set k mod `sets`; the test instances differ in difficulty (all sources find the same ones hard)."""
    gold, hard, rows, preds = rng.integers(0, 3, n), rng.random(n), [], []
    for src, acc, nsets in (('real_matched', real, seeds), ('few_shot', few, sets), ('zero_shot', zero, sets)):
        q = np.clip(acc + rng.normal(0, set_sd if src != 'real_matched' else 0.01, nsets), 0.05, 0.99)
        for k in range(seeds):
            right = (0.6 * hard + 0.4 * rng.random(n)) < q[k % nsets]
            pred = np.where(right, gold, (gold + rng.integers(1, 3, n)) % 3)
            preds.append(pd.DataFrame({'idx': np.arange(n), 'gold': gold.astype(str), 'pred': pred.astype(str), 'source': src, 'seed': k}))
            rows.append({'task': 'ag_news', 'source': src, 'seed': k, 'macro_f1': right.mean(), 'accuracy': right.mean(),
                         'bar_macro_f1': 0.34, 'bar_accuracy': 0.34, **({'replicate': k % nsets} if src != 'real_matched' else {})})
    return pd.DataFrame(rows), {'ag_news': pd.concat(preds, ignore_index=True)}


def test_the_bootstrap_modes_line_holds_its_level_with_five_uneven_sets():
    """Five generated sets per mode drawn alike from a generator whose sets differ in quality (sd 0.08), scored on test predictions
    (the bootstrap path every run takes): any word on few-shot > zero-shot is false. The old interval resampled the five seeds with
    the test rows and read a normal quantile: it took the sets' spread at 4/5 of its size, read with four degrees of freedom as
    if known, and said a word in 10% of 400 draws (two halves of one smollm2-135m-instruct pool, five sets a side: 7.2% of 400
    splits). The seeds' spread with seeds − 1 degrees of freedom (a t interval) holds the level (4.3%); a planted difference of
    0.2 is still found."""
    rng = np.random.default_rng(5)
    lines = pd.concat([source_comparisons(*_sets_runs_and_preds(rng), n_boot=200, seed=i).query("claim == 'few_shot > zero_shot'")
                       for i in range(400)])
    assert lines.interval.str.startswith('bootstrap').all() and np.isfinite(lines.df).all() and (lines.df < 30).mean() > 0.5
    words = lines.word.isin(['agrees', 'contradicts']).mean()
    assert words <= 0.07, (words, lines.word.value_counts().to_dict())
    far = pd.concat([source_comparisons(*_sets_runs_and_preds(rng, few=0.85, zero=0.65), n_boot=200, seed=i)
                     .query("claim == 'few_shot > zero_shot'") for i in range(40)])
    assert far.word.eq('agrees').mean() > 0.6, far.word.value_counts().to_dict()


def _uneven_real_runs(sets: int, rng, set_sd: float, real_sd=0.02, seeds=5, n_train=80, real=0.75, synthetic=0.75):
    """One task's runs whose generated sets' expected quality equals real's (`synthetic` = `real`) while each set draws its own
    (sd `set_sd`, as LLM sets do; a fresh real sample varies by `real_sd`, which the one-set path borrows): seed k of a mode trains
    on set k mod `sets`."""
    rows = [{'task': 'ag_news', 'source': 'real_matched', 'seed': k, 'n_train': n_train, 'macro_f1': real + rng.normal(0, real_sd)}
            for k in range(seeds)]
    for mode in ('zero_shot', 'few_shot'):
        quality = synthetic + rng.normal(0, set_sd, sets)
        rows += [{'task': 'ag_news', 'source': mode, 'seed': k, 'replicate': k % sets, 'n_train': n_train,
                  'macro_f1': quality[k % sets] + rng.normal(0, 0.005)} for k in range(seeds)]
    return pd.DataFrame(rows).assign(accuracy=lambda d: d.macro_f1, bar_macro_f1=0.3, bar_accuracy=0.3)


def test_the_real_lines_hold_their_level_when_sets_vary_in_quality():
    """One generated set per mode whose expected quality equals real's, the sets varying between draws as much as LLM sets do
    (`LLM_SET_SD` at 80 texts, against real_matched's 0.02): any word on real > few-shot or real > zero-shot is false. With
    real_matched's spread borrowed for a set (the old one-set statistic) these lines said a word in about a third of 300 draws; the
    floor measured between LLM sets holds them within the level (≤ 5%, plus binomial noise), and a large difference still speaks."""
    from synthclf.claims import LLM_SET_SD
    rng = np.random.default_rng(3)
    runs = [_uneven_real_runs(1, rng, LLM_SET_SD[0]) for _ in range(300)]
    lines = pd.concat([source_comparisons(r).query("claim != 'few_shot > zero_shot'") for r in runs])
    words = lines.word.isin(['agrees', 'contradicts']).mean()
    assert len(lines) == 600 and words <= 0.075, (words, lines.word.value_counts().to_dict())
    assert lines.interval.str.contains('the floor measured between LLM sets').all(), lines.interval.iloc[0]
    far = pd.concat([source_comparisons(_uneven_real_runs(1, rng, LLM_SET_SD[0], real=0.9, synthetic=0.55)) for _ in range(50)])
    assert far.query("claim != 'few_shot > zero_shot'").word.eq('agrees').mean() > 0.8, far.word.value_counts()


def _planted_runs(rng, d: float, tasks=FOUR, set_sd=0.03, seed_sd=0.01, seeds=5):
    """Runs of tasks whose true macro-F1 is 0.80 for real_matched, 0.80 − d for few-shot and 0.80 − 2d for zero-shot (so real > few-shot
    and few-shot > zero-shot are each d): every seed trains on its own set (R = seeds), whose quality draws sd `set_sd` around its
    source's, as a fresh real sample does around real's; `seed_sd` on top."""
    rows = []
    for t in tasks:
        for src, m in (('real_matched', 0.80), ('few_shot', 0.80 - d), ('zero_shot', 0.80 - 2 * d)):
            q = m + rng.normal(0, set_sd, seeds)
            rows += [{'task': t, 'source': src, 'seed': k, 'replicate': np.nan if src == 'real_matched' else k, 'n_train': 80,
                      'macro_f1': q[k] + rng.normal(0, seed_sd)} for k in range(seeds)]
    return pd.DataFrame(rows).assign(accuracy=lambda x: x.macro_f1, bar_macro_f1=0.3, bar_accuracy=0.3)


def test_the_power_sentence_does_not_promise_more_than_the_lines_find():
    """A true difference of 0.06 macro-F1 planted on real > few-shot and few-shot > zero-shot in four tasks: the report's power
    sentence, read at that difference, claims a lower bound on how often a line finds it. Over 60 simulated studies the lines said
    agrees in about 37% of cases; the sentence (the normal quantile, while these Welch lines clear a t quantile with about 8 degrees of
    freedom) promised 63%. It must not promise more than is found (beyond binomial noise), nor be so low that it says nothing."""
    from synthclf.verdict import verdict_power
    rng, predicted, found = np.random.default_rng(0), [], []
    for _ in range(60):
        runs = _planted_runs(rng, 0.06)
        v = paper_verdict(runs)
        predicted.append(verdict_power(runs, v, difference=0.06, sims=1)['ordering_power'])
        lines = v[(v.claim == 'ordering') & ~v.scope.str.contains('real-matched > zero-shot')]
        found += list(lines.word.eq('agrees'))
    hit, pred = np.mean(found), np.mean(predicted)
    noise = 3 * np.sqrt(hit * (1 - hit) / len(found))
    assert len(found) == 480 and pred <= hit + noise, (pred, hit, noise)
    assert pred > 0.5 * hit, (pred, hit)


def test_the_power_sentence_reads_the_least_precise_comparison():
    """Real samples vary little, generated sets much (sd 0.045 around their source): few-shot > zero-shot carries two sets' spread,
    its lines' standard errors are the largest. The sentence's figure, an 'at least', must be read at that comparison's median line:
    at the median over all lines (two thirds of them with a real side) it promised the power-design's few-shot > zero-shot lines
    32% where they found 20% [14, 28] (benchmarks/results/verdict_calibration.md, 4 tasks x 20 per label)."""
    from synthclf.verdict import verdict_power
    runs = _planted_runs(np.random.default_rng(2), 0.06, set_sd=0.045)
    real = runs.source == 'real_matched'
    runs.loc[real, 'macro_f1'] = 0.80 + np.random.default_rng(3).normal(0, 0.01, real.sum())
    v = paper_verdict(runs)
    pw, cmp = verdict_power(runs, v, sims=1), v.attrs['ordering']
    few_zero = float(cmp[cmp.claim == 'few_shot > zero_shot'].se.median())
    assert few_zero > float(cmp.se.median()) * 1.2, cmp.groupby('claim').se.median()
    assert pw['ordering_claim'] == 'few_shot > zero_shot' and pw['ordering_se'] == few_zero, pw


def test_the_gap_power_figure_follows_what_the_gap_line_finds():
    """Six tasks whose few-shot gap rises by 0.08 macro-F1 from the least to the most subjective (on a straight line, as the
    figure assumes), the subjectivity scores known to within sd 0.3 of their range (a ranking's interval): over 60 simulated
    studies the gap line said agrees in about 48%. The report's figure (`gap_power`: the line's own two-sided test on gaps and
    scores as uncertain as the study's) must say about that; the earlier figure (scores known exactly, a one-sided test, no draws)
    said 94%. Planted fault caught: dropping the scores' uncertainty from the simulation."""
    from synthclf.verdict import verdict_power
    tasks = ['ag_news', 'relation_classification', 'sms_spam', 'financial_phrasebank', 'tweet_irony', 'humor_speech']
    rng, pos, found, predicted = np.random.default_rng(0), np.linspace(0, 1, 6), [], []
    for i in range(60):
        rows = []
        for t, g in zip(tasks, 0.08 * pos):
            for src, m in (('real_matched', 0.80), ('few_shot', 0.80 - g)):
                q = m + rng.normal(0, 0.02, 5)  # every seed trains on a set of its own (R = 5)
                rows += [{'task': t, 'source': src, 'seed': k, 'replicate': np.nan if src == 'real_matched' else k,
                          'n_train': 80, 'macro_f1': q[k]} for k in range(5)]
        runs = pd.DataFrame(rows).assign(accuracy=lambda x: x.macro_f1, bar_macro_f1=0.3, bar_accuracy=0.3)
        seen = pos * 3 - 1.5 + rng.normal(0, 0.9, 6)  # scores on a range of 3, measured with sd 0.9
        ranking = pd.DataFrame({'task': tasks, 'score': seen, 'ci_low': seen - 1.96 * 0.9, 'ci_high': seen + 1.96 * 0.9})
        v = paper_verdict(runs, ranking, {'reliable': True})
        found.append(bool((v[v.claim == 'gap'].word == 'agrees').any()))
        predicted.append(verdict_power(runs, v, gap_rise=0.08, sims=100, seed=i)['gap_power'])
    hit, pred = np.mean(found), np.mean(predicted)
    assert 0.2 < hit < 0.8, hit  # a power in the middle, where a wrong figure shows
    assert abs(pred - hit) <= 3 * np.sqrt(hit * (1 - hit) / len(found)) + 0.05, (pred, hit)
