"A rerun reuses a result only when nothing that shaped it changed, and a damaged input is named, with what to do (issue 23)."
import gc, hashlib, json, os, sqlite3, warnings
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from datasets import ClassLabel, Dataset, Features, Value

from synthclf.cache import CallCache, Completion, OptionProbs
from synthclf.llm import OpenAIBackend, Request, complete, option_probabilities
from synthclf.tasks import get_card

Q = Request.chat(None, 'Is this message spam? "WIN a free prize now!!" Answer with one letter: A for yes, B for no.')


class FakeEndpoint(OpenAIBackend):
    "An OpenAI-compatible endpoint at `base_url` that answers without a server: its own answers, counted."

    def __init__(self, base_url, p_a, text):
        super().__init__('qwen2.5-7b-instruct', base_url=base_url)
        self.p_a, self.text, self.asked = p_a, text, 0

    def option_probs(self, requests, options, on_done=None):
        out = [OptionProbs({'A': self.p_a, 'B': 1 - self.p_a}, 0.9) for _ in requests]
        return self._answer(out, on_done)

    def complete(self, requests, on_done=None, keep=None):
        return self._answer([Completion(self.text, 10, 3) for _ in requests], on_done)

    def _answer(self, out, on_done):
        self.asked += len(out)
        for i, o in enumerate(out):
            if on_done: on_done(i, o)
        return out


# 1. Every cache key holds where the model runs and its weights

def test_two_endpoints_with_one_model_name_never_share_cached_answers(tmp_path):
    "A 4-bit and an fp16 server exposing one model name, on two loopback ports: neither's judge probabilities nor texts stand in for the other's."
    cache = CallCache(tmp_path / 'calls.sqlite')
    fp16, q4 = FakeEndpoint('http://127.0.0.1:8001/v1', 0.9, 'fp16 text'), FakeEndpoint('http://127.0.0.1:8002/v1', 0.3, 'q4 text')
    assert option_probabilities(fp16, [Q], ('A', 'B'), cache)[0].probs['A'] == pytest.approx(0.9)
    got = option_probabilities(q4, [Q], ('A', 'B'), cache)[0]
    assert q4.asked == 1 and not got.cached and got.probs['A'] == pytest.approx(0.3)
    assert complete(fp16, [Q], cache)[0].text == 'fp16 text' and complete(q4, [Q], cache)[0].text == 'q4 text'
    again = FakeEndpoint('http://user:secret@127.0.0.1:8001/v1', 0.5, 'other')  # the same endpoint, with credentials: its cached answers
    assert option_probabilities(again, [Q], ('A', 'B'), cache)[0].cached and complete(again, [Q], cache)[0].cached and again.asked == 0


def test_the_one_key_holds_the_endpoint_the_engine_and_the_weights(tmp_path):
    from types import SimpleNamespace as Stub
    from synthclf.cache import call_key
    from synthclf.models import record_weights, weights_identity
    a, b = OpenAIBackend('m', base_url='http://127.0.0.1:8001/v1'), OpenAIBackend('m', base_url='http://127.0.0.1:8002/v1')
    for opts in (None, ('A', 'B')): assert call_key(a, Q, opts) != call_key(b, Q, opts)
    assert call_key(a, Q) != call_key(a, Q, ('A', 'B')) != call_key(a, Q, ('B', 'A'))
    (tmp_path / 'config.json').write_text('{}'); (tmp_path / 'model.safetensors').write_bytes(b'0' * 64)
    ids = [weights_identity(tmp_path)]
    (tmp_path / 'model.safetensors').write_bytes(b'0' * 65); ids.append(weights_identity(tmp_path))
    record_weights(tmp_path); ids.append(weights_identity(tmp_path))
    local = [Stub(name='local', model_name=str(tmp_path), where=w, weights=i) for w in ('in process: float32', 'in process: bfloat16') for i in ids]
    for opts in (None, ('A', 'B')): assert len({call_key(x, Q, opts) for x in local}) == 6


# 2. Damaged inputs: named, set aside or redone, never a bare traceback

def _filled_cache(path, n=100):
    c = CallCache(path)
    for i in range(n): c.put(f'k{i}', Completion(f'answer {i} ' * 20))
    del c; gc.collect()  # its connection closes, and folds the WAL into the file



@pytest.mark.parametrize('damage', ['cut in half', 'not a database'])
def test_a_damaged_call_cache_is_moved_aside_and_the_run_goes_on(tmp_path, damage):
    path = tmp_path / 'calls.sqlite'
    _filled_cache(path)
    if damage == 'cut in half': os.truncate(path, path.stat().st_size // 2)
    else: path.write_bytes(b'this is no SQLite file ' * 500)
    left = path.read_bytes()
    with closing(sqlite3.connect(path)) as db, pytest.raises(sqlite3.DatabaseError):  # what every later run died of
        db.execute('SELECT COUNT(*) FROM calls').fetchone()
    with pytest.warns(UserWarning) as w:
        cache = CallCache(path)
    aside = [p for p in tmp_path.iterdir() if '.damaged-' in p.name and not p.name.endswith(('-wal', '-shm'))]  # they go along
    msg = str(w[0].message)
    assert len(aside) == 1 and aside[0].read_bytes() == left  # moved, not deleted nor changed
    assert str(path) in msg and str(aside[0]) in msg and 'damaged' in msg
    fp16 = FakeEndpoint('http://127.0.0.1:8001/v1', 0.9, 'a text')
    assert complete(fp16, [Q], cache)[0].text == 'a text' and complete(fp16, [Q], cache)[0].cached and len(cache) == 1
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # the new file is whole: no second warning
        assert len(CallCache(path)) == 1


def test_a_card_with_a_yaml_syntax_error_names_the_file_and_the_line(tmp_path, monkeypatch, capsys):
    from synthclf.cli import main
    from synthclf.tasks import CardError, builtin_cards_dir, read_card
    card = tmp_path / 'my_spam.yaml'
    card.write_text((builtin_cards_dir() / 'sms_spam.yaml').read_text()
                    .replace('name: sms_spam', 'name: my_spam').replace('title: SMS spam', 'title: SMS: spam', 1))
    with pytest.raises(CardError, match=r'line 2, column'):
        read_card(card)
    monkeypatch.setenv('SYNTHCLF_CARDS', str(tmp_path))
    with pytest.raises(SystemExit) as e:
        main(['tasks'])
    err = capsys.readouterr().err
    assert e.value.code == 2 and 'Traceback' not in err and str(card.resolve()) in err and 'line 2' in err and 'title: SMS: spam' in err


def _generated(folder: Path, n=40) -> Path:
    from synthclf.generate import save_generated
    texts = [f'Free prize number {i}! Text WIN now' if i % 2 else f'See you at {i} pm' for i in range(n)]
    ds = Dataset.from_dict({'text': texts, 'label': [i % 2 for i in range(n)], 'attributes': ['{}'] * n},
                           features=Features({'text': Value('string'), 'label': ClassLabel(names=['ham', 'spam']), 'attributes': Value('string')}))
    return save_generated(ds, {'counts': {'ham': n // 2, 'spam': n // 2}}, folder)


def _cut(f: Path, keep: float | int):
    whole = f.read_bytes()
    f.write_bytes(whole[:keep] if isinstance(keep, int) else whole[:int(len(whole) * keep)])
    return whole


def test_a_damaged_generated_folder_is_named_with_what_to_do(tmp_path):
    from synthclf.labelled import read_labelled
    from synthclf.experiments import matched_sizes
    from synthclf.generate import load_generated
    card, run = get_card('sms_spam'), tmp_path / 'run'
    gen = run / 'sms_spam' / 'generate'
    folder = _generated(gen / 'zero_shot')
    redo = f'synthclf generate --task sms_spam --mode zero_shot --out {run}'
    whole = _cut(folder / 'manifest.json', 0.5)
    for read in (lambda: load_generated(folder), lambda: read_labelled(folder, card), lambda: matched_sizes(card, gen)):
        with pytest.raises(ValueError) as e: read()
        assert str(folder / 'manifest.json') in str(e.value) and 'not JSON' in str(e.value) and redo in str(e.value)
    (folder / 'manifest.json').write_bytes(whole)
    arrow = next((folder / 'dataset').glob('*.arrow'))
    whole = _cut(arrow, 0.5)
    for read in (lambda: load_generated(folder), lambda: read_labelled(folder, card)):
        with pytest.raises(ValueError) as e: read()
        assert str(folder / 'dataset') in str(e.value) and 'damaged' in str(e.value) and redo in str(e.value)
    arrow.write_bytes(whole)
    assert read_labelled(folder, card).num_rows == 40
    # the JSONL copy cut short, mid-line and at a line's end: named, with the folder to read instead
    data = folder / 'data.jsonl'
    whole = data.read_text()
    data.write_text(whole[:len(whole) // 2])
    with pytest.raises(ValueError) as e: read_labelled(data, card)
    assert str(data) in str(e.value) and 'cut short' in str(e.value) and f'line {whole[:len(whole) // 2].count(chr(10)) + 1}' in str(e.value)
    data.write_text(''.join(whole.splitlines(keepends=True)[:25]))
    with pytest.raises(ValueError) as e: read_labelled(data, card)
    assert str(data) in str(e.value) and 'holds 25 rows' in str(e.value) and str(folder) in str(e.value)
    # a replicate (only `synthclf run` writes those), its manifest without counts
    rep = _generated(gen / 'few_shot.1')
    (rep / 'manifest.json').write_text('{"per_label": 20}')
    with pytest.raises(ValueError, match=r'no counts per label.*Rerun the `synthclf run`'): load_generated(rep)


def test_damaged_experiment_files_count_as_not_finished_and_are_redone(tmp_path, real_data):
    from synthclf.results import collect_runs, load_predictions
    from synthclf.experiments import run_dir, train_and_evaluate
    kw = dict(model='tfidf', seeds=3, per_label=20, out=tmp_path, test_cap=200, progress=False)
    first = train_and_evaluate('sms_spam', 'real_matched', **kw)
    d = [run_dir(tmp_path, 'sms_spam', 'real_matched', 'tfidf', k) for k in range(3)]
    _cut(d[0] / 'metrics.json', 0.5); _cut(d[1] / 'predictions.parquet', 0.5)
    with pytest.warns(UserWarning) as w:  # (a DamagedRunWarning)
        runs, preds = collect_runs(tmp_path), load_predictions(tmp_path)
    assert {x.category.__name__ for x in w} == {'DamagedRunWarning'}
    named = {str(x.message).split(' is damaged')[0] for x in w}
    assert named == {str(d[0] / 'metrics.json'), str(d[1] / 'predictions.parquet')}
    assert runs.seed.tolist() == [2] and set(preds.seed) == {2}
    with pytest.warns(UserWarning, match='counts as not finished'):
        redo = train_and_evaluate('sms_spam', 'real_matched', **kw)
    assert redo.skipped.tolist() == [False, False, True] and redo.macro_f1.tolist() == first.macro_f1.tolist()
    with warnings.catch_warnings():
        warnings.simplefilter('error', UserWarning)
        assert collect_runs(tmp_path).seed.tolist() == [0, 1, 2] and len(load_predictions(tmp_path)) == 600


# 3. real_matched is never larger than a synthetic set it is compared with

def _manifest(folder: Path, counts: dict):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / 'manifest.json').write_text(json.dumps({'per_label': 20, 'counts': counts}))


def test_real_matched_takes_the_smaller_mode_per_label_and_records_it(tmp_path, real_data):
    from synthclf.experiments import matched_sizes, run_dir, train_and_evaluate
    card, gen = get_card('sms_spam'), tmp_path / 'generate'
    _manifest(gen / 'zero_shot', {'ham': 20, 'spam': 20})
    _manifest(gen / 'few_shot', {'ham': 20, 'spam': 13})  # few-shot fell short on spam
    _manifest(gen / 'few_shot.1', {'ham': 16, 'spam': 20})  # its second replicate, on ham: training seed 1's
    assert matched_sizes(card, gen, seed=0) == {'ham': 20, 'spam': 13}  # was {'ham': 20, 'spam': 20}: more real spam than few-shot had
    assert matched_sizes(card, gen, seed=1) == {'ham': 16, 'spam': 20}
    assert matched_sizes(card, gen, seed=1, modes=('zero_shot',)) == {'ham': 20, 'spam': 20}
    res = train_and_evaluate('sms_spam', 'real_matched', model='tfidf', seeds=2, synthetic_dir=gen, out=tmp_path / 'runs', test_cap=100, progress=False)
    assert res.n_train.tolist() == [33, 36]
    m = [json.loads((run_dir(tmp_path / 'runs', 'sms_spam', 'real_matched', 'tfidf', k) / 'metrics.json').read_text()) for k in (0, 1)]
    assert m[0]['matched_to'] == m[0]['train_per_label'] == {'ham': 20, 'spam': 13} and m[1]['matched_to'] == {'ham': 16, 'spam': 20}
    assert m[1]['matched_modes'] == {'zero_shot': {'replicate': 0, 'counts': {'ham': 20, 'spam': 20}},
                                     'few_shot': {'replicate': 1, 'counts': {'ham': 16, 'spam': 20}}}


# 4. Similarity to real: the mean of the five nearest real texts, as in the paper

def test_similarity_to_real_is_the_mean_of_the_five_nearest_real_texts(monkeypatch):
    import synthclf.diversity as div
    one, ref = np.array([[.9, .8, .7, .6, .5, .1, 0]]), np.eye(7)  # one text whose similarities to seven real ones are these
    assert div.nearest_similarity(one, ref)[0] == pytest.approx(0.7) and div.nearest_similarity(one, ref, k=1)[0] == pytest.approx(0.9)
    assert div.nearest_similarity(one, ref[:3], k=5)[0] == pytest.approx(0.8)  # fewer real texts than k: all of them
    with pytest.raises(ValueError, match='k must be'): div.nearest_similarity(one, ref, k=0)

    def fake_embed(texts, *args, **kw):  # a fixed unit vector per text, no encoder
        v = np.stack([np.random.default_rng(int(hashlib.sha256(t.encode()).hexdigest()[:8], 16)).normal(size=16) for t in texts])
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
    import synthclf.classifiers as clf
    monkeypatch.setattr(div, 'embed', fake_embed)
    monkeypatch.setattr(clf, 'embed', fake_embed)  # diversity_table embeds through classifiers.embed_cached
    monkeypatch.setattr(clf, '_EMBEDDINGS', {})     # with a cache of its own for this test
    feats = Features({'text': Value('string'), 'label': ClassLabel(names=['ham', 'spam'])})
    real = Dataset.from_dict({'text': [f'real {i}' for i in range(40)], 'label': [i % 2 for i in range(40)]}, features=feats)
    syn = Dataset.from_dict({'text': [f'synthetic {i}' for i in range(20)], 'label': [i % 2 for i in range(20)]}, features=feats)
    row = div.diversity_table({'real': real, 'syn': syn}).set_index('set').loc['syn']
    sims = fake_embed(syn['text']) @ fake_embed(real['text']).T
    assert row.similarity_k == 5 and row.similarity_to_real == pytest.approx(np.sort(sims, 1)[:, -5:].mean(), abs=1e-6)
    nearest = div.diversity_table({'real': real, 'syn': syn}, k=1).set_index('set').loc['syn']
    assert nearest.similarity_k == 1 and nearest.similarity_to_real == pytest.approx(sims.max(1).mean(), abs=1e-6)
