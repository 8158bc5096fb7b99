"""What the paper profile costs, before it starts: `synthclf run --profile paper --dry-run --json` plans offline (no
endpoint, no model, no network) and prints the requests, tokens, hours and disk; the figures follow
`-p generate.per_label=`; the BERT/RoBERTa classifier path it plans trains and predicts, here on tiny randomly
initialised encoders saved locally; and the train stage fits each classifier of a list."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SYNTHCLF = str(Path(sys.executable).parent/'synthclf')
DEAD = 'http://127.0.0.1:9'  # every proxy: any attempt at the network fails at once


def offline_env(tmp_path, real_data) -> dict:
    "No endpoint or key, the Hub offline, every HTTP(S) request to a dead proxy; empty Hugging Face and model caches."
    gone = ('OPENAI_BASE_URL', 'OPENAI_API_KEY', 'SYNTHCLF_OPENAI_MODEL', 'NO_PROXY', 'no_proxy')
    env = {k: v for k, v in os.environ.items() if k not in gone}
    env.update(HF_HUB_OFFLINE='1', HF_HOME=str(tmp_path/'hf'), SYNTHCLF_MODELS=str(tmp_path/'models'),
               SYNTHCLF_DATA_DIR=str(real_data), **{k: DEAD for k in ('HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY')},
               **{k.lower(): DEAD for k in ('HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY')})
    return env


def dry_json(args, env) -> dict:
    p = subprocess.run([SYNTHCLF, 'run', '--profile', 'paper', '--dry-run', '--json', *args], env=env,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
    return json.loads(p.stdout)


def test_paper_dry_run_needs_no_endpoint_model_or_network(tmp_path, real_data):
    env = offline_env(tmp_path, real_data)
    out = tmp_path/'paper'
    plan = dry_json(['--out', str(out)], env)
    cost, exp = plan['cost'], plan['plan']
    assert exp['per_label'] == cost['per_label'] == 3000 and exp['replicates'] == cost['replicates'] == 1, exp
    assert exp['classifiers'] == ['bert-base-uncased', 'roberta-base', 'all-minilm-l6-v2', 'embedding-lr'], exp
    assert len(plan['tasks']) == 10 and cost['labels'] == 53, cost['tasks']
    assert not any('error' in t for t in cost['tasks'].values()), cost['tasks']
    rows = cost['rows']
    assert len(rows) == 53 * 2 and {r['mode'] for r in rows} == {'zero_shot', 'few_shot'}
    # 53 labels × 2 modes, each asking per_label × overshoot and then what the assumed acceptance leaves missing
    low, high = cost['requests_range']
    assert 53 * 2 * 3000 < low <= cost['requests'] <= high <= cost['requests_max'], cost
    assert cost['requests'] == sum(r['requests'] for r in rows)
    for k in ('prompt_tokens', 'completion_tokens', 'hours'): assert cost[k] > 0, (k, cost[k])
    assert cost['completion_tokens'] <= cost['completion_tokens_max'] and cost['hours'] <= cost['hours_max']
    assert cost['disk_gib']['total'] > 0 and cost['assumptions']['tokens_per_s'] > 0, cost['disk_gib']
    # the caps the real data puts on the comparisons, per task: relation_classification has 99 to 268 per label
    caps = cost['tasks']['relation_classification']['caps']
    assert caps['real_matched'] == {'asks': 3000, 'short_labels': 4, 'labels': 4, 'fewest': 99}, caps
    assert 'real_matched' not in cost['tasks']['imdb']['caps'], 'imdb has more than 3,000 per label'
    # the calls that read texts: the panel's 5 votes on up to 500 test texts of each task without an agreement column
    # (financial_phrasebank has one), the judge's 10 x 9 ordered pairs once per phrasing
    from synthclf.subjectivity import PAIR_PHRASINGS
    reading = {r['what'].split(' (')[0]: r for r in cost['reading']['rows'] if r['task'] in ('*', 'imdb')}
    assert reading['annotator panel']['requests'] == 5 * 500 and reading['subjectivity judge']['requests'] == 90 * len(
        PAIR_PHRASINGS), reading
    assert not any(r['task'] == 'financial_phrasebank' for r in cost['reading']['rows']), cost['reading']['rows']
    assert not out.exists() and not (tmp_path/'models').exists(), 'nothing written, no model pulled'
    assert not (tmp_path/'hf').exists() or not any((tmp_path/'hf').rglob('*.safetensors')), 'no encoder fetched'


def test_the_quick_plan_counts_the_judge_of_its_own_tasks(tmp_path, real_data, monkeypatch):
    """The quick profile ranks the tasks it runs (rank_tasks: run), which its plan holds as task cards: the cost (what `make
    run` prints first) counts the requests `judge_requests` makes for them, every pair of the six in both orders, each phrasing."""
    from synthclf.parameters import PROFILES
    from synthclf.runner import _plan_cost, _plan_run
    from synthclf.subjectivity import PAIR_PHRASINGS, judge_requests
    monkeypatch.setenv('SYNTHCLF_DATA_DIR', str(real_data))
    cost = _plan_cost(_plan_run(None, 'quick', tmp_path/'quick', {}, check=False))
    judge = [r for r in cost['reading']['rows'] if r['what'].startswith('subjectivity judge')]
    n = len(judge_requests(list(PROFILES['quick']['tasks']), 'pairs')[1])
    assert len(judge) == 1 and judge[0]['requests'] == n == 15 * 2 * len(PAIR_PHRASINGS), judge


def test_the_cost_follows_per_label_and_the_throughput(tmp_path, real_data):
    env = offline_env(tmp_path, real_data)
    args = ['--tasks', 'sms_spam,ag_news', '--out', str(tmp_path/'paper')]
    full = dry_json(args, env)['cost']
    small = dry_json([*args, '-p', 'generate.per_label=1000'], env)['cost']
    faster = dry_json([*args, '--tokens-per-s', '8000'], env)['cost']
    assert small['per_label'] == 1000 and full['per_label'] == 3000
    assert 2.9 < full['requests'] / small['requests'] < 3.1, (full['requests'], small['requests'])
    for k in ('prompt_tokens', 'completion_tokens', 'hours'):
        assert 2.9 < full[k] / small[k] < 3.1, (k, full[k], small[k])
    assert 2.5 < full['disk_gib']['total'] / small['disk_gib']['total'] < 3.1, (full['disk_gib'], small['disk_gib'])
    assert faster['requests'] == full['requests'] and faster['hours'] < full['hours'], (faster['hours'], full['hours'])
    assert faster['assumptions']['tokens_per_s'] == 8000


def test_the_run_header_prints_the_same_cost_lines(tmp_path, real_data, monkeypatch, capsys):
    "The dry run prints the cost lines a real run prints under its first line (`run_study`), from the same plan."
    from synthclf.parameters import cost_lines
    from synthclf.runner import _plan_cost, _plan_run, run_study
    monkeypatch.setenv('SYNTHCLF_DATA_DIR', str(real_data))
    run_study('sms_spam', 'paper', tmp_path/'paper', dry_run=True)
    printed = capsys.readouterr().out.splitlines()
    lines = cost_lines(_plan_cost(_plan_run('sms_spam', 'paper', tmp_path/'paper', {}, check=False)))
    assert lines[0].startswith('cost (estimated before anything runs') and all(l in printed for l in lines), printed


def tiny_encoder(folder: Path, kind: str, words: list[str]) -> Path:
    "A random BERT or RoBERTa of two layers of width 32, with a WordPiece tokenizer over `words`, saved to `folder`."
    from transformers import BertConfig, BertModel, BertTokenizerFast, RobertaConfig, RobertaModel
    folder.mkdir(parents=True)
    vocab = {w: i for i, w in enumerate(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', *words])}
    tok = BertTokenizerFast(vocab=vocab, do_lower_case=True, model_max_length=64)
    assert tok(words[0])['input_ids'] == [vocab['[CLS]'], vocab[words[0]], vocab['[SEP]']], 'words in the vocabulary'
    size = dict(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                pad_token_id=tok.pad_token_id)
    model = (BertModel(BertConfig(max_position_embeddings=64, **size)) if kind == 'bert' else
             RobertaModel(RobertaConfig(max_position_embeddings=66, **size)))  # RoBERTa's positions start after padding
    model.save_pretrained(folder); tok.save_pretrained(folder)
    return folder


@pytest.mark.parametrize('kind', ['bert', 'roberta'])
def test_a_tiny_local_encoder_fine_tunes_and_predicts(tmp_path, kind):
    from synthclf.classifiers import EncoderClassifier, classifier_name, make_classifier
    rng = np.random.default_rng(0)
    spam, ham = 'win cash prize free claim now urgent'.split(), 'see you at lunch later mate dinner'.split()
    texts = [' '.join(rng.choice(spam if i % 2 else ham, 5)) for i in range(80)]
    labels = [i % 2 for i in range(80)]
    folder = tiny_encoder(tmp_path/f'tiny-{kind}', kind, sorted(set(spam + ham)))
    clf = make_classifier(str(folder), lr=3e-3, epochs=3, min_steps=40, batch_size=8, device='cpu', bf16=False,
                          progress=False)
    assert isinstance(clf, EncoderClassifier) and clf.name == classifier_name(str(folder)) == f'tiny-{kind}'
    clf.fit(texts[:60], labels[:60], num_labels=2)
    p = clf.predict_proba(texts[60:])
    assert p.shape == (20, 2) and np.allclose(p.sum(1), 1, atol=1e-5), p
    assert (p.argmax(1) == np.array(labels[60:])).mean() >= 0.9, p  # two word lists: a working fine-tune separates them
    assert clf.history_[-1]['train_loss'] < clf.history_[0]['train_loss'] and clf.train_seconds_ > 0, clf.history_


def test_the_train_stage_fits_each_classifier_of_a_list(tmp_path, real_data, monkeypatch):
    "The paper profile names several classifiers: the train stage notebook fits each, and shows each one's table."
    import nbformat
    import papermill as pm
    monkeypatch.setenv('SYNTHCLF_DATA_DIR', str(real_data))
    nb = Path(__file__).resolve().parents[1]/'synth_nbs'/'02_train.ipynb'
    pm.execute_notebook(str(nb), str(tmp_path/'train.ipynb'), cwd=str(tmp_path), progress_bar=False,
                        parameters=dict(task='sms_spam', train_on=['real@10', 'real@20'], seeds=1, test_cap=100,
                                        classifier=['tfidf', 'embedding-lr'], out=str(tmp_path),
                                        synthetic_dir=str(tmp_path/'none')))
    for source in ('real@10', 'real@20'):
        assert sorted(p.name for p in (tmp_path/'sms_spam'/source).iterdir()) == ['embedding-lr', 'tfidf'], source
    shown = json.dumps(nbformat.read(str(tmp_path/'train.ipynb'), as_version=4).cells)
    assert '**tfidf**' in shown and '**embedding-lr**' in shown, 'a table per classifier'


def test_planning_names_the_classifiers_without_building_one():
    """A run's plan names its classifiers as their runs are saved, with nothing resolved, loaded or looked up: an encoder
    that does not exist is named all the same (building it would fail), and transformers is not imported. Nothing
    in the package builds a classifier only to read its name (`make_classifier(...).name`)."""
    import ast
    code = ("import sys; from synthclf.parameters import experiment_plan; "
            "p = experiment_plan(['sms_spam'], {'train_on': ['real'], 'seeds': 2, 'classifier': "
            "['no-such-org/no-such-bert', 'embedding-lr:/no/such/e5', 'tfidf']}); "
            "print(p['classifiers'], sorted(m for m in ('transformers',) if m in sys.modules))")
    p = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120,
                       env={**os.environ, 'HF_HUB_OFFLINE': '1'})
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip() == "['no-such-bert', 'embedding-lr-e5', 'tfidf'] []", p.stdout
    root = Path(__file__).resolve().parents[1]/'synthclf'
    built_for_a_name = [f"{py.name}:{n.lineno}" for py in sorted(root.glob('*.py')) for n in ast.walk(ast.parse(py.read_text()))
                        if isinstance(n, ast.Attribute) and n.attr == 'name' and isinstance(n.value, ast.Call)
                        and getattr(n.value.func, 'id', getattr(n.value.func, 'attr', '')) == 'make_classifier']
    assert not built_for_a_name, f"a classifier built to read its name (use classifier_name): {built_for_a_name}"
