"Training and evaluation on the real data, and on synthetic data made by a real small LLM."
import json, subprocess, sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sklearn.metrics import f1_score

from synthclf.data import cap_test, load_task
from synthclf.labelled import read_labelled
from synthclf.results import collect_runs, results_table
from synthclf.experiments import run_dir, train_and_evaluate

SYNTHCLF = str(Path(sys.executable).parent / 'synthclf')


def cli(*args):
    return subprocess.run([SYNTHCLF, *map(str, args)], capture_output=True, text=True)


@pytest.mark.slow
def test_tfidf_on_real_ag_news_reaches_the_reference(tmp_path, real_data):
    res = train_and_evaluate('ag_news', 'real', model='tfidf', out=tmp_path)
    assert res.macro_f1[0] >= 0.85  # a TF-IDF reference run scored 0.874
    pred = pd.read_parquet(run_dir(tmp_path, 'ag_news', 'real', 'tfidf', 0) / 'predictions.parquet')
    assert len(pred) == 7600 and pred.idx.is_unique and set(pred.gold) == {'World', 'Sports', 'Business', 'Sci/Tech'}
    m = json.loads((run_dir(tmp_path, 'ag_news', 'real', 'tfidf', 0) / 'metrics.json').read_text())
    assert np.array(m['confusion']).sum() == 7600 and abs(np.mean([c['f1'] for c in m['per_class'].values()]) - m['macro_f1']) < 1e-9


@pytest.mark.slow
def test_minilm_learns_from_a_small_real_sample(tmp_path, real_data):
    # 40 optimizer steps, not the default 100: it reached accuracy 0.85 so (29 s on 2 cores, against 105 s)
    res = train_and_evaluate('ag_news', 'real_matched', per_label=32, test_cap=400, out=tmp_path, progress=False, min_steps=40)
    # the majority class scores accuracy 0.25 and macro-F1 0.10 on the balanced test set
    assert res.accuracy[0] > 0.7 and res.macro_f1[0] > 0.6
    d = run_dir(tmp_path, 'ag_news', 'real_matched', 'all-minilm-l6-v2', 0)
    pred, m = pd.read_parquet(d / 'predictions.parquet'), json.loads((d / 'metrics.json').read_text())
    assert len(pred) == m['n_test'] == 400 and m['n_train'] == 128 and m['history'] and m['config']['min_steps'] == 40 and m['max_length'] <= 256
    assert np.allclose(pred.filter(like='p_').sum(axis=1), 1, atol=1e-3)


@pytest.mark.slow
def test_financial_phrasebank_predictions_carry_agreement(tmp_path, real_data):
    train_and_evaluate('financial_phrasebank', 'real', model='tfidf', out=tmp_path)
    pred = pd.read_parquet(run_dir(tmp_path, 'financial_phrasebank', 'real', 'tfidf', 0) / 'predictions.parquet')
    assert 'agreement' in pred and pred.agreement.notna().all()


def test_resume_retrains_only_what_is_missing(tmp_path, real_data):
    first = train_and_evaluate('sms_spam', 'real_matched', model='tfidf', seeds=3, per_label=30, out=tmp_path, progress=False)
    (run_dir(tmp_path, 'sms_spam', 'real_matched', 'tfidf', 1) / 'metrics.json').unlink()  # as if killed while seed 1 ran
    again = train_and_evaluate('sms_spam', 'real_matched', model='tfidf', seeds=3, per_label=30, out=tmp_path, progress=False)
    assert again.skipped.tolist() == [True, False, True] and np.allclose(again.macro_f1, first.macro_f1)
    changed = train_and_evaluate('sms_spam', 'real_matched', model='tfidf', seeds=3, per_label=30, out=tmp_path, progress=False, C=1.0)
    assert not changed.skipped.any()  # other settings: trained anew


@pytest.fixture(scope='session')
def synthetic(tmp_path_factory, smollm2, real_data):
    "Zero- and few-shot SMS spam data from SmolLM2, written by the CLI as a user would."
    run = tmp_path_factory.mktemp('generate')
    r = cli('generate', '--task', 'sms_spam', '--mode', 'zero_shot', 'few_shot', '--per-label', 6, '--model', 'smollm2-135m-instruct',
            '--max-new-tokens', 40, '--out', run)
    assert r.returncode == 0, r.stderr
    return run / 'sms_spam' / 'generate'  # the run-folder layout: <run>/<task>/generate/<mode>/


@pytest.mark.slow
def test_real_zero_shot_few_shot_and_mixture_table(tmp_path, synthetic):
    r = cli('train', '--task', 'sms_spam', '--train-on', 'real', 'real_matched', 'zero_shot', 'few_shot', 'real+few_shot', '--model', 'tfidf',
            '--seeds', 2, '--synthetic-dir', synthetic.parent.parent / '{task}' / 'generate', '--out', tmp_path, '--allow-missing-labels')
    assert r.returncode == 0, r.stderr
    assert '| sms_spam |' in r.stdout and 'Zero-shot Macro-F1' in r.stdout and 'Few-shot Accuracy' in r.stdout
    runs = collect_runs(tmp_path)
    assert len(runs) == 10 and set(runs.source) == {'real', 'real_matched', 'zero_shot', 'few_shot', 'real+few_shot@0.5'}
    syn = read_labelled(synthetic / 'few_shot', 'sms_spam')
    assert (runs[runs.source == 'few_shot'].n_train == syn.num_rows).all()
    assert (runs[runs.source == 'real_matched'].n_train == 12).all() and (runs[runs.source == 'real+few_shot@0.5'].n_train <= 12).all()
    table = results_table(tmp_path)
    assert list(table.columns.get_level_values(0).unique())[:4] == ['Real', 'Real (matched size)', 'Zero-shot', 'Few-shot']
    r2 = cli('results', tmp_path)
    assert r2.returncode == 0 and 'sms_spam' in r2.stdout


@pytest.mark.slow
def test_minilm_on_synthetic_data(tmp_path, synthetic):
    res = train_and_evaluate('sms_spam', ['few_shot'], synthetic_dir=synthetic, test_cap=200, out=tmp_path, progress=False,
                             allow_missing_labels=True, min_steps=20)
    d = Path(res.dir[0])
    pred, m = pd.read_parquet(d / 'predictions.parquet'), json.loads((d / 'metrics.json').read_text())
    # scored on the capped real test rows, in their order, with their gold labels
    card, real = load_task('sms_spam')
    test = cap_test(real['test'], 200, seed=0)
    assert pred.idx.tolist() == test['idx'] and pred.gold.tolist() == [card.label_names[i] for i in test['label']]
    # the reported scores are those of the saved predictions
    assert res.macro_f1[0] == pytest.approx(f1_score(pred.gold, pred.pred, average='macro')) and res.accuracy[0] == pytest.approx(pred.correct.mean())
    # it trained on the synthetic rows and learned from them: the training loss fell
    assert m['n_train'] == read_labelled(synthetic / 'few_shot', 'sms_spam').num_rows and len(m['history']) >= 2
    assert m['history'][-1]['train_loss'] < 0.8 * m['history'][0]['train_loss'], m['history']


@pytest.mark.parametrize('rows, message', [
    (EMPTY_FILE := None, 'is empty'),
    ([], 'is empty'),
    ([('a text', 'ham')] * 0 + [('', 'ham'), ('x', 'spam')], 'have empty texts'),
    ([('only ham', 'ham'), ('more ham', 'ham')], "has no examples of ['spam']"),
    ([('hi', 'ham'), ('win', 'junk')], "labels that task 'sms_spam' does not have: ['junk']"),
])
def test_bad_training_sets_are_clear_errors(tmp_path, real_data, rows, message):
    f = tmp_path / 'mine.csv'
    if rows is EMPTY_FILE: f.write_text('')
    else: pd.DataFrame(rows, columns=['text', 'label']).to_csv(f, index=False)
    r = cli('train', '--task', 'sms_spam', '--train-on', f, '--model', 'tfidf', '--out', tmp_path / 'runs')
    assert r.returncode == 2 and message in r.stderr and 'Traceback' not in r.stderr, r.stderr


def test_single_class_training_set_is_refused_even_when_allowed(tmp_path, real_data):
    f = tmp_path / 'ham.csv'
    pd.DataFrame({'text': ['a b', 'c d'], 'label': ['ham', 'ham']}).to_csv(f, index=False)
    r = cli('train', '--task', 'sms_spam', '--train-on', f, '--model', 'tfidf', '--out', tmp_path / 'runs', '--allow-missing-labels')
    assert r.returncode == 2 and 'single class' in r.stderr


@pytest.mark.parametrize('model, message', [('/no/such/model', 'does not exist'), ('someone/not-a-cached-model', 'cannot be reached')])
def test_missing_models_fail_fast(tmp_path, real_data, model, message):
    r = cli('train', '--task', 'sms_spam', '--train-on', 'real', '--model', model, '--out', tmp_path)
    assert r.returncode == 2 and message in r.stderr and not (tmp_path / 'sms_spam').exists(), r.stderr


def test_real_texts_that_nearly_copy_a_test_text_are_left_out_as_synthetic_ones_are(tmp_path, real_data):
    """A real train split holding near-copies of test texts (a test text with a word added): the real models train without them, as
    generate rejects such synthetic texts (copies_test); each run on real data counts them in its metrics.json."""
    from synthclf.generate import test_copy_filter
    src, d = real_data/'sms_spam', tmp_path/'data'/'sms_spam'
    d.mkdir(parents=True)
    for f in ('test.csv', 'labels.json'): (d/f).write_bytes((src/f).read_bytes())
    test, train = pd.read_csv(src/'test.csv'), pd.read_csv(src/'train.csv')
    long = test[test.text.str.split().str.len() >= 15].groupby('label').head(5)
    planted = long.assign(text=long.text + ' ok')
    copies = test_copy_filter(load_task('sms_spam', data_dir=real_data, quiet=True)[1]['test'])
    assert all(copies.match(t) for t in planted.text), 'generate would reject each planted text as copies_test'
    n = {}
    for name, rows in (('plain', train), ('planted', pd.concat([train, planted]))):
        (d/'train.csv').unlink(missing_ok=True); rows.to_csv(d/'train.csv', index=False)
        train_and_evaluate('sms_spam', ['real', 'real@10'], model='tfidf', test_cap=100, data_dir=tmp_path/'data', out=tmp_path/name,
                           progress=False)
        n[name] = json.loads((run_dir(tmp_path/name, 'sms_spam', 'real', 'tfidf', 0)/'metrics.json').read_text())
        curve = json.loads((run_dir(tmp_path/name, 'sms_spam', 'real@10', 'tfidf', 0)/'metrics.json').read_text())
        assert curve['real_copies_test'] == n[name]['real_copies_test'], 'every source on real data counts them'
        loaded = load_task('sms_spam', data_dir=tmp_path/'data', quiet=True)[1]['train'].num_rows
        assert n[name]['n_train'] == loaded - sum(n[name]['real_copies_test'].values()), (n[name]['n_train'], loaded)
    extra = {l: n['planted']['real_copies_test'][l] - n['plain']['real_copies_test'][l] for l in ('ham', 'spam')}
    assert extra == planted.label.value_counts().to_dict(), extra  # the planted ones, by label, on top of the split's own
    assert n['planted']['n_train'] == n['plain']['n_train']
