"""What makes a report's numbers trustworthy: baselines, only the planned experiments, instance-clustered errors,
agreement on the predictions' own rows, and the data folder asked for."""
import json, shutil
import warnings

import numpy as np
import pandas as pd
import pytest

from synthclf.analysis import analyze, instance_agreement
from synthclf.verdict import instance_regression, paper_verdict
from synthclf.data import load_task
from synthclf.results import collect_runs, load_predictions, results_table, table_markdown
from synthclf.experiments import train_and_evaluate
from synthclf.cache import Completion
from synthclf.subjectivity import simulate_judgments


class Constant:
    "An LLM backend that always answers the same text (for panels whose answers do not matter here)."
    name = 'constant'

    def __init__(self, text): self.text, self.model_name, self.calls = text, f'constant-{text}', 0

    def complete(self, requests, on_done=None):
        out = [Completion(self.text, 5, 1) for _ in requests]
        self.calls += len(requests)
        for i, c in enumerate(out):
            if on_done: on_done(i, c)
        return out


def test_a_source_that_learned_nothing_is_marked_and_left_out(tmp_path, real_data):
    """Labels shuffled at random: TF-IDF cannot beat the baselines and the table says so with †. The verdict reads the line against a
    real model that learned (a source at baseline under one that beats its baselines is evidence), and nothing between two such sources.
    200 texts per label: one generated set's spread is floored at what LLM sets show (`claims.set_spread_floor`, 0.077 at 80 texts),
    which at 40 per label leaves even this gap (+0.28) inconclusive from one set; at 200 per label the floor is 0.034."""
    card, dsd = load_task('sms_spam')
    rng = np.random.default_rng(0)
    train = dsd['train'].to_pandas().groupby('label').head(200)
    pd.DataFrame({'text': train.text, 'label': rng.permutation(train.label.map(card.label_names.__getitem__).to_numpy())}).to_csv(tmp_path/'noise.csv', index=False)
    train_and_evaluate('sms_spam', ['real_matched', str(tmp_path/'noise.csv')], model='tfidf', seeds=3, per_label=200, out=tmp_path/'runs', progress=False)
    runs = collect_runs(tmp_path/'runs')
    m = json.loads(next((tmp_path/'runs').rglob('dir-noise/tfidf/seed0/metrics.json')).read_text())
    assert set(m['baselines']) >= {'majority', 'stratified', 'bar'} and m['baselines']['majority']['accuracy'] > 0.85  # ham is most of the test set
    assert not runs[runs.source == 'dir-noise'].beats_baselines.any() and runs[runs.source == 'real_matched'].beats_baselines.all()
    md = table_markdown(results_table(runs))
    assert '†' in md and 'does not beat the baselines' in md and 'Majority class Accuracy' in md
    v = paper_verdict(runs.replace({'source': {'dir-noise': 'few_shot'}})).iloc[0]
    assert v.word == 'agrees' and 'baseline gate: few_shot at baseline, under real_matched' in v.rests_on, v
    assert 'the floor measured between LLM sets' in v.rests_on, v  # one set: its spread is the measured floor, said so
    both = paper_verdict(runs.replace({'source': {'dir-noise': 'few_shot', 'real_matched': 'zero_shot'}}).assign(
        beats_baselines=False, macro_f1=lambda d: np.minimum(d.macro_f1, d.bar_macro_f1))).iloc[0]
    assert both.word == 'undetermined: few_shot and zero_shot at baseline', both


def test_the_report_reads_only_the_planned_experiments(tmp_path, real_data):
    "A rerun with fewer seeds and another classifier leaves the old experiments on disk; the analysis of the new plan ignores them."
    out = tmp_path/'runs'
    train_and_evaluate('financial_phrasebank', ['real_matched'], model='tfidf', seeds=[0, 1, 2], per_label=30, test_cap=300, out=out, progress=False)
    train_and_evaluate('financial_phrasebank', ['real_matched'], model='tfidf', seeds=[7], per_label=30, test_cap=200, out=out, progress=False)
    sim = simulate_judgments({'ag_news': -1, 'financial_phrasebank': 0, 'tweet_irony': 1}, per_pair=6)
    s = analyze(out, tmp_path/'analysis', judgments=sim, tasks=['financial_phrasebank'], seeds=[0, 1, 2], classifier='tfidf', progress=False)
    curves = pd.read_csv(tmp_path/'analysis'/'agreement_curves.csv')
    assert s['plan']['seeds'] == [0, 1, 2] and curves.instances.max() == 300  # seed 7 scored other rows: none of them counted
    assert len(load_predictions(out, seeds=[0, 1, 2])) == 900


def test_instance_regression_clusters_by_test_instance(tmp_path, real_data):
    train_and_evaluate('financial_phrasebank', ['real_matched'], model='tfidf', seeds=3, per_label=30, test_cap=300, out=tmp_path, progress=False)
    pred = load_predictions(tmp_path)
    reg = instance_regression(pred)
    assert reg['clusters'] == 300 and reg['cov_type'] == 'clustered by test instance (300 clusters)'
    with pytest.warns(UserWarning, match='clustered standard errors need many clusters'):
        instance_regression(pred[pred.idx.isin(pred.idx.unique()[:40])], min_rows=10)


def test_panel_agreement_is_for_the_predictions_own_rows(tmp_path, real_data):
    "The LLM panel labels test rows the classifiers were scored on, not a sample of its own."
    train_and_evaluate('sms_spam', ['real_matched'], model='tfidf', seeds=1, per_label=30, test_cap=80, out=tmp_path, progress=False)
    ids = load_predictions(tmp_path).idx.unique()
    a, how = instance_agreement('sms_spam', panel_k=2, cap=50, backend=Constant('ham'), ids=ids, progress=False)
    assert len(a) == 50 and set(a.index) <= set(ids) and (a == 1).all() and 'LLM panel' in how


@pytest.mark.slow
def test_analyze_reads_the_data_folder_it_is_given(tmp_path, real_data):
    "A copy of Financial PhraseBank whose agreement column says 1.0 everywhere: the agreement must come from that copy."
    d = tmp_path/'data'/'financial_phrasebank'
    shutil.copytree(real_data/'financial_phrasebank', d, ignore=shutil.ignore_patterns('original'))
    test_csv = next(p for p in d.iterdir() if p.name.startswith('test.csv'))
    t = pd.read_csv(test_csv); t['agreement'] = 1.0; t.to_csv(d/'test.csv', index=False)
    if test_csv.name != 'test.csv': test_csv.unlink()
    train_and_evaluate('financial_phrasebank', ['real_matched'], model='tfidf', seeds=1, per_label=300, test_cap=200, out=tmp_path/'runs',
                       data_dir=tmp_path/'data', progress=False)
    sim = simulate_judgments({'ag_news': -1, 'financial_phrasebank': 0, 'tweet_irony': 1}, per_pair=6)
    s = analyze(tmp_path/'runs', tmp_path/'analysis', judgments=sim, data_dir=tmp_path/'data', progress=False)
    curves = pd.read_csv(tmp_path/'analysis'/'agreement_curves.csv')
    assert curves.tau.unique().tolist() == [1.0], curves  # the default data would give 0.5, 0.66, 0.75, 1.0


def test_a_deterministic_source_still_gets_the_test_sets_uncertainty(tmp_path, real_data):
    "TF-IDF on a fixed training file gives the same model for every seed: the seed spread is 0, the test set's sampling noise is not."
    card, dsd = load_task('sms_spam')
    train = dsd['train'].to_pandas().groupby('label').head(30)
    pd.DataFrame({'text': train.text, 'label': train.label.map(card.label_names.__getitem__)}).to_csv(tmp_path/'fixed.csv', index=False)
    train_and_evaluate('sms_spam', ['real_matched', str(tmp_path/'fixed.csv')], model='tfidf', seeds=3, per_label=30, test_cap=300,
                       out=tmp_path/'runs', progress=False)
    runs = collect_runs(tmp_path/'runs').replace({'source': {'dir-fixed': 'few_shot'}})
    preds = load_predictions(tmp_path/'runs').replace({'source': {'dir-fixed': 'few_shot'}})
    assert runs[runs.source == 'few_shot'].macro_f1.std() == 0
    from synthclf.claims import source_comparisons
    c = source_comparisons(runs, {'sms_spam': preds}).iloc[0]
    assert c.interval.startswith('bootstrap over test instances') and c.ci_high - c.ci_low > 0.01 and c.ci_low < c.difference < c.ci_high
    assert abs(c.difference - (runs[runs.source == 'real_matched'].macro_f1.mean() - runs[runs.source == 'few_shot'].macro_f1.mean())) < 1e-9
