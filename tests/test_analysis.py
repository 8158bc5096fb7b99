"Subjectivity, agreement, diversity and the regressions: known answers, real runs, and the LLM panels with a real small model."
import json, subprocess, sys, warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from synthclf.analysis import analyze
from synthclf.verdict import gap_regression, instance_regression, task_gaps
from synthclf.results import load_predictions
from synthclf.experiments import train_and_evaluate
from synthclf.generate import generate, save_generated
from synthclf.cache import CallCache
from synthclf.llm import make_backend
from synthclf.subjectivity import (accuracy_by_threshold, agreement_from_votes, bradley_terry, llm_label_votes, llm_task_judgments,
                                   simulate_judgments, task_agreement)

from conftest import Recording

SYNTHCLF = str(Path(sys.executable).parent / 'synthclf')
TRUE = {'ag_news': -2.0, 'sms_spam': -1.4, 'relation_classification': -0.8, 'financial_phrasebank': -0.2, 'imdb': 0.3,
        'tweet_emotions': 0.7, 'reddit_emotions': 1.0, 'tweet_irony': 1.5, 'sarcasm_news': 1.8, 'humor_speech': 2.2}


def test_bradley_terry_recovers_a_known_ranking():
    r = bradley_terry(simulate_judgments(TRUE, per_pair=30, seed=3), n_boot=100)
    assert spearmanr(r.score, r.task.map(TRUE))[0] > 0.95 and r.task.iloc[0] == 'humor_speech' and r.task.iloc[-1] == 'ag_news'
    assert ((r.ci_low <= r.score) & (r.score <= r.ci_high)).all()


def test_a_new_task_joins_the_ranking_judged_against_the_ranked_ones_only():
    old = simulate_judgments(TRUE, per_pair=20, seed=1)
    rng = np.random.default_rng(0)
    new = pd.DataFrame([{'task_a': 'clickbait', 'task_b': t, 'winner': 'clickbait' if rng.random() < 1 / (1 + np.exp(s - 0.9)) else t, 'judge': 'x'}
                        for t, s in TRUE.items() for _ in range(20)])
    r = bradley_terry(pd.concat([old, new]), tasks=['clickbait'], n_boot=0).set_index('task')
    assert len(r) == 11 and r.score['ag_news'] < r.score['clickbait'] < r.score['humor_speech']


def test_judgments_csv_naming_an_unknown_task_is_a_clear_error(tmp_path, real_data):
    f = tmp_path / 'j.csv'
    pd.DataFrame({'task_a': ['ag_news', 'imdb'], 'task_b': ['sms_spam', 'imbd'], 'winner': ['sms_spam', 'imdb'], 'judge': ['a', 'b']}).to_csv(f, index=False)
    r = subprocess.run([SYNTHCLF, 'analyze', tmp_path, '--judgments', f, '--out', tmp_path / 'analysis'], capture_output=True, text=True)
    assert r.returncode == 2 and "['imbd']" in r.stderr and 'rows [1]' in r.stderr and not (tmp_path / 'analysis').exists()


def test_threshold_curves_from_a_hand_made_predictions_file(tmp_path):
    rows = [(i, s, seed, c) for seed in (0, 1) for s, correct in [('real', [1, 1, 1, 1]), ('zero_shot', [0, seed, 1, 1])] for i, c in zip(range(4), correct)]
    pd.DataFrame(rows, columns=['idx', 'source', 'seed', 'correct']).astype({'correct': bool}).to_parquet(tmp_path / 'p.parquet')
    votes = pd.DataFrame({'idx': [0, 0, 1, 1, 2, 2, 3, 3], 'label': ['a', 'b', 'a', 'b', 'a', 'a', 'b', 'b']})
    a = agreement_from_votes(votes).set_index('idx').agreement  # 0.5, 0.5, 1, 1
    c = accuracy_by_threshold(pd.read_parquet(tmp_path / 'p.parquet'), a).set_index(['source', 'tau'])
    assert c.accuracy['real', 0.5] == 1 and c.accuracy['zero_shot', 0.5] == 0.625 and c.accuracy['zero_shot', 1.0] == 1
    assert c['std']['zero_shot', 0.5] == pytest.approx(np.std([0.5, 0.75], ddof=1)) and c.instances['zero_shot', 1.0] == 2


@pytest.mark.slow
def test_instance_regression_on_real_minilm_predictions_for_financial_phrasebank(tmp_path, real_data):
    # MiniLM embeddings + logistic regression (the quick profile's classifier): p about 2e-7 for agreement, in 10 s
    train_and_evaluate('financial_phrasebank', 'real_matched', model='embedding-lr', per_label=60, out=tmp_path, progress=False)
    pred = load_predictions(tmp_path)
    assert len(pred) == 970 and pred.agreement.notna().all()
    reg = instance_regression(pred)
    assert reg['agreement_coef'] > 0 and reg['table'].p['agreement'] < 0.05  # high-agreement sentences are easier
    curve = accuracy_by_threshold(pred)
    assert curve.accuracy.iloc[-1] > curve.accuracy.iloc[0] and curve.tau.tolist() == [0.5, 0.66, 0.75, 1.0]


def test_gap_regression_needs_enough_tasks():
    gaps = pd.DataFrame({'task': ['ag_news', 'sms_spam'], 'gap_few_shot': [0.1, 0.2]})
    with pytest.raises(ValueError, match='at least 3 tasks'):
        gap_regression(gaps, pd.Series({'ag_news': 0.0, 'sms_spam': 1.0}))


@pytest.fixture(scope='session')
def small_study(tmp_path_factory, smollm2, real_data):
    "Zero-shot data from SmolLM2 for three tasks and embedding + logistic-regression runs on real and synthetic data."
    root = tmp_path_factory.mktemp('study')
    for t in ('sms_spam', 'ag_news', 'financial_phrasebank'):
        ds, man = generate(t, 'zero_shot', per_label=3, model='smollm2-135m-instruct', max_new_tokens=40, progress=False)
        save_generated(ds, man, root / 'generate' / t / 'zero_shot')
        train_and_evaluate(t, ['real_matched', 'zero_shot'], model='embedding-lr', seeds=2, synthetic_dir=root / 'generate' / t, out=root / 'train',
                           test_cap=300, allow_missing_labels=True, progress=False)
    return root


@pytest.mark.slow
def test_llm_panels_answer_and_are_cached(tmp_path, smollm2):
    llm, cache = Recording(make_backend('local', 'smollm2-135m-instruct')), CallCache(tmp_path / 'calls.sqlite')
    texts = ['WIN a free prize now!! Text CLAIM to 80082', 'see you at lunch, I will bring the cake']

    def ask():
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            return (llm_task_judgments(['ag_news', 'tweet_irony'], k=2, backend=llm, cache=cache, progress=False),
                    llm_label_votes('sms_spam', texts, k=5, backend=llm, cache=cache, progress=False))
    j, votes = ask()
    assert len(llm.requests) == 2 * 2 + 2 * 5 == len(cache)  # every answer came from the model and was stored
    # a 135M model answers loosely (about a third of its answers name a choice), yet some must parse: a floor, not a hope
    assert j.attrs['answers'] == 4 and j.attrs['parsed'] >= 1 and len(j) == j.attrs['parsed']
    assert set(j.winner) <= {'ag_news', 'tweet_irony'} and (j.task_a != j.task_b).all()
    # the 135M test model answers in the asked format only now and then (about 1 in 10 to 1 in 3): at least one vote parses
    assert len(votes) == 10 and votes.label.notna().sum() >= 1 and set(votes.label.dropna()) <= {'ham', 'spam'}
    j2, votes2 = ask()  # the same questions again: served from the cache, the model is not asked
    assert len(llm.requests) == 14 and len(cache) == 14
    assert j2.answer.tolist() == j.answer.tolist() and votes2.answer.tolist() == votes.answer.tolist()


def words_follow_p(verdict: pd.DataFrame, alpha: float = 0.05):
    "Each word of a written verdict as its line's Holm p and the sign of its estimate say; a word with a reason has no word of its own."
    import re
    for r in verdict.itertuples():
        if ':' in r.word:  # undetermined (no p) or inconclusive for a stated reason (too few tasks, one seed)
            assert r.word.split(':')[0] in ('inconclusive', 'undetermined') and (r.p != r.p or r.word.startswith('inconclusive')), r
            continue
        est = float(re.search(r'[-+]\d+\.\d+', r.estimate).group())
        assert r.word == ('inconclusive' if not r.p < alpha else 'agrees' if est > 0 else 'contradicts'), r


@pytest.mark.slow
def test_analyze_end_to_end_with_an_llm_panel(small_study):
    out = small_study / 'analysis'
    r = subprocess.run([str(x) for x in [SYNTHCLF, 'analyze', small_study / 'train', '--out', out, '--rank-tasks', 'sms_spam', 'ag_news', 'financial_phrasebank',
                        '--judge-k', 2, '--agreement-panel-k', 2, '--agreement-cap', 8, '--reference-size', 100, '--model', 'smollm2-135m-instruct',
                        '--synthetic-dir', str(small_study / 'generate' / '{task}')]], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    s = json.loads((out / 'summary.json').read_text())
    assert set(s['ranking']) == {'sms_spam', 'ag_news', 'financial_phrasebank'} and s['judge']['judgments'] > 0
    assert 0 <= s['judge']['position_bias'] <= 1 and s['judge']['verdict'].startswith('the ranking is ')
    if s['judge']['reliable']: assert s['gap_regressions']['gap_zero_shot']['n_tasks'] >= 1
    else: assert s['skipped']['regression gap_zero_shot'].startswith('the subjectivity judge is not reliable') and not s['gap_regressions']
    # every source either gives an agreement curve or is named as left out (at baseline)
    for t in ('sms_spam', 'ag_news', 'financial_phrasebank'):
        for src in ('real_matched', 'zero_shot'):
            assert any(k.startswith(src + '@') for k in s.get('agreement_curves', {}).get(t, {})) or f'{t}/{src}' in s['at_baseline'], (t, src, s)
    assert {'sms_spam/real', 'sms_spam/zero_shot'} <= set(s['diversity'])
    for f in ('gap_vs_subjectivity', 'diversity'):
        assert (out / 'figures' / f'{f}.png').stat().st_size > 5000 and (out / 'figures' / f'{f}.svg').stat().st_size > 5000
    md = (out / 'analysis.md').read_text()
    assert md.index('Does this run agree with the paper?') < md.index('Task subjectivity') and 'figures/diversity.png' in md
    verdict = pd.read_csv(out / 'verdict.csv')
    assert set(verdict.claim) >= {'ordering', 'gap'}
    words_follow_p(verdict)  # the words against a planted truth: test_analyze_words_follow_the_planted_truth (a 135M judge's is unknown)
    gaps = task_gaps(small_study / 'train')
    assert list(gaps.task) == ['ag_news', 'financial_phrasebank', 'sms_spam'] and gaps.attrs['real_source'] == 'real_matched'


@pytest.mark.slow  # embeds some 500 texts with MiniLM
def test_similarity_to_real_is_measured_against_a_fixed_stratified_sample(real_data):
    from synthclf.data import load_task, subsample_per_label
    from synthclf.diversity import diversity_table, embed, nearest_similarity
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        card, ds = load_task('ag_news')
    other = subsample_per_label(ds['test'], 10, seed=0)  # a stand-in for a synthetic set: 10 texts per label
    div = diversity_table({'real': ds['train'], 'other': other}, by_label=True, reference_size=200, seed=3).set_index(['set', 'label'])
    assert div.reference_texts['other', 'all'] == 200 and (div.reference_texts['other'].drop('all') == 50).all()
    ref = subsample_per_label(ds['train'], 50, seed=3)  # 50 per label, the same ones for the same seed
    assert div.similarity_to_real['other', 'all'] == pytest.approx(nearest_similarity(embed(other['text']), embed(ref['text'])).mean(), abs=1e-5)
    assert (div.texts[:, 'all'] == 40).all() and np.isnan(div.similarity_to_real['real', 'all'])
    again = diversity_table({'real': ds['train'], 'other': other}, reference_size=200, seed=4).set_index(['set', 'label'])
    assert again.reference_texts['other', 'all'] == 200 and again.similarity_to_real['other', 'all'] != div.similarity_to_real['other', 'all']
    with pytest.raises(ValueError, match='reference_size must be at least 1'):
        diversity_table({'real': ds['train'], 'other': other}, reference_size=0)


def test_analyze_reads_the_subjectivity_stage_instead_of_recomputing(tmp_path, real_data):
    "Stand-in stage files with sentinel values, made with analyze's settings: they show up in its output, nothing is recomputed."
    from synthclf.analysis import subjectivity_settings
    from synthclf.subjectivity import simulate_judgments
    # 100 per label: a model that beats its baselines (at 30 per label this sample does not; sources at baseline get no agreement curve)
    train_and_evaluate('sms_spam', ['real_matched'], model='tfidf', seeds=1, per_label=100, test_cap=80, out=tmp_path/'runs', progress=False)
    ids = load_predictions(tmp_path/'runs').idx.unique()
    # a panel of a model that does not exist, and synthetic data that does not exist: computing either here would fail
    kw = dict(agreement_panel_k=2, agreement_cap=80, model='no-such-model', synthetic_dir=str(tmp_path/'none'/'{task}'))
    stage = tmp_path/'runs'/'sms_spam'/'subjectivity'  # where `synthclf run` puts it: the default
    stage.mkdir(parents=True)
    pd.DataFrame({'idx': ids, 'agreement': 1.0}).to_csv(stage/'agreement.csv', index=False)
    pd.DataFrame([{'set': 'real', 'label': 'all', 'remote_clique': 0.5, 'chamfer': 0.4, 'distinct_2': 0.9, 'task': 'sms_spam'},
                  {'set': 'zero_shot', 'label': 'all', 'remote_clique': 0.123456, 'chamfer': 0.2, 'distinct_2': 0.3, 'similarity_to_real': 0.7,
                   'reference_texts': 1000, 'task': 'sms_spam'},
                  {'set': 'zero_shot', 'label': 'spam', 'remote_clique': 0.1, 'chamfer': 0.1, 'distinct_2': 0.1, 'task': 'sms_spam'}]).to_csv(stage/'diversity.csv', index=False)
    made = subjectivity_settings(2, 80, None, 0, 'local', 'no-such-model', None, str(tmp_path/'none'/'sms_spam'))
    (stage/'subjectivity.json').write_text(json.dumps({**made, 'agreement_from': 'the stand-in stage'}))
    sim = simulate_judgments({'ag_news': -1, 'sms_spam': 0, 'tweet_irony': 1}, per_pair=6)
    s = analyze(tmp_path/'runs', tmp_path/'analysis', judgments=sim, progress=False, **kw)
    assert sorted(s['reused']) == ['agreement sms_spam', 'diversity sms_spam'] and not s['recomputed']
    assert s['diversity']['sms_spam/zero_shot']['remote_clique'] == 0.123  # the sentinel
    assert pd.read_csv(tmp_path/'analysis'/'agreement_curves.csv').tau.unique().tolist() == [1.0]
    assert 'the stand-in stage' in (tmp_path/'analysis'/'analysis.md').read_text()
    # made with other settings: not read, and the summary says why (here the recomputation then fails on the missing model)
    (stage/'subjectivity.json').write_text(json.dumps({**made, 'diversity': {**made['diversity'], 'per_label': 5}, 'agreement_from': 'x'}))
    s = analyze(tmp_path/'runs', tmp_path/'analysis2', judgments=sim, progress=False, **{**kw, 'agreement_panel_k': 0})
    assert not s['reused'] and "'per_label': (5, None)" in s['recomputed']['diversity sms_spam']
    assert 'diversity sms_spam' in s['skipped'] and 'agreement sms_spam' in s['skipped']


@pytest.mark.slow
def test_the_runs_report_reads_its_subjectivity_stage(tiny_run):
    s = json.loads((tiny_run['out']/'analysis'/'summary.json').read_text())
    assert 'diversity sms_spam' in s['reused'] and 'diversity sms_spam' not in s['recomputed'], s
    assert (tiny_run['out']/'sms_spam'/'subjectivity'/'subjectivity.json').is_file()


def test_analyze_words_follow_the_planted_truth(tmp_path, real_data):
    """Three tasks, TF-IDF: few-shot is real text with its labels shuffled (it learns nothing), zero-shot a second real sample of the
    same size (no difference from real_matched planted). The words must follow: real > few-shot is read (agrees), real > zero-shot
    says neither, few-shot > zero-shot is void (one generated set per mode); a reliable judge fits the gap, a position-driven one is named as such."""
    from datasets import ClassLabel, Dataset, Features, Value
    from synthclf.data import load_task
    from synthclf.generate import replicate_dir
    from synthclf.subjectivity import simulate_judgments
    tasks, rng = ['sms_spam', 'ag_news', 'financial_phrasebank'], np.random.default_rng(0)
    for t in tasks:
        card, ds = load_task(t, quiet=True)
        train = ds['train'].to_pandas().groupby('label').sample(160, random_state=0)
        for mode, part, labels in (('few_shot', train.iloc[::2], lambda y: rng.permutation(y)), ('zero_shot', train.iloc[1::2], lambda y: y)):
            d = replicate_dir(tmp_path/'generate'/t, mode); d.mkdir(parents=True)
            y = labels(part.label.to_numpy())
            Dataset.from_dict({'text': part.text.tolist(), 'label': y.tolist()},
                              features=Features({'text': Value('string'), 'label': ClassLabel(names=card.label_names)})).save_to_disk(str(d/'dataset'))
            (d/'manifest.json').write_text(json.dumps({'counts': {l: 80 for l in card.label_names}}))
        train_and_evaluate(t, ['real_matched', 'few_shot', 'zero_shot'], model='tfidf', seeds=3, test_cap=300, out=tmp_path/'runs',
                           synthetic_dir=tmp_path/'generate'/t, progress=False)
    truth = {'ag_news': -1.5, 'sms_spam': 0.0, 'financial_phrasebank': 1.5}
    kw = dict(progress=False, synthetic_dir=str(tmp_path/'generate'/'{task}'), reference_size=50, diversity_per_label=5)
    s = analyze(tmp_path/'runs', tmp_path/'a', judgments=simulate_judgments(truth, per_pair=40), **kw)
    v = pd.read_csv(tmp_path/'a'/'verdict.csv')
    words_follow_p(v)
    v = v.set_index('scope')
    for t in tasks:
        assert {f'{t}/few_shot'} == {x for x in s['at_baseline'] if x.startswith(t)}, s['at_baseline']
        assert v.word[f'{t}: real-matched > few-shot'] == 'agrees', v.loc[f'{t}: real-matched > few-shot']
        # one generated set per mode: the line between the modes is not read (how much two sets differ is unmeasured)
        assert v.word[f'{t}: few-shot > zero-shot'].startswith('undetermined: one generated set per mode'), v.loc[f'{t}: few-shot > zero-shot']
        assert v.word[f'{t}: real-matched > zero-shot'] == 'inconclusive', v.loc[f'{t}: real-matched > zero-shot']
    assert s['judge']['reliable'] and s['gap_regressions']['gap_few_shot']['n_tasks'] == 3, (s['judge'], s['gap_regressions'])
    biased = analyze(tmp_path/'runs', tmp_path/'b', judgments=simulate_judgments(truth, per_pair=40, first_bias=np.inf), **kw)
    assert not biased['judge']['reliable'] and not biased['gap_regressions'], biased['judge']
    assert biased['skipped']['regression gap_few_shot'].startswith('the subjectivity judge is not reliable')
    gap = pd.read_csv(tmp_path/'b'/'verdict.csv').query("claim == 'gap'")  # three tasks: too few for the line, whatever the judge
    assert gap.word.str.startswith('inconclusive: the gap line needs at least 4 tasks').all(), gap.word
    assert gap.rests_on.str.contains('ranking is undetermined').all(), gap.rests_on  # and the judge's own verdict beside it
    figs = ('scores_by_source', 'verdict_forest', 'subjectivity_ranking', 'gap_vs_subjectivity')  # the report's figures
    for out, reliable in ((tmp_path/'a', True), (tmp_path/'b', False)):
        for f in figs: assert min((out/'figures'/f'{f}.{x}').stat().st_size for x in ('png', 'svg')) > 5000, (out, f)
        cap = {f: (out/'figures'/f'{f}.txt').read_text() for f in figs}
        assert cap['scores_by_source'].startswith('Macro-F1 of tfidf') and '3 seed(s)' in cap['scores_by_source'], cap
        assert ('no fit is drawn' in cap['gap_vs_subjectivity']) is not reliable, cap['gap_vs_subjectivity']
        assert ('NOT reliable' in cap['subjectivity_ranking']) is not reliable, cap['subjectivity_ranking']
        md = (out/'analysis.md').read_text()
        at = [md.index(x) for x in ('figures/verdict_forest.png', '## Real vs synthetic', 'figures/scores_by_source')]
        assert at == sorted(at), at  # the verdict's figure at the top, the scores' with the paper's table
