"Loading the ten tasks from the real data, and the errors bad input gets."
import json, os, subprocess, sys, time, warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from datasets import ClassLabel

from synthclf.data import DataWarning, cap_test, few_shot_examples, load_task, subsample_per_label
from synthclf.tasks import CardError, get_card, list_tasks

SYNTHCLF = str(Path(sys.executable).parent / 'synthclf')  # the console script of this environment
TEN = ['ag_news', 'imdb', 'sms_spam', 'financial_phrasebank', 'reddit_emotions', 'relation_classification',
       'tweet_irony', 'tweet_emotions', 'sarcasm_news', 'humor_speech']
# Raw rows per file, as SOURCES.md in the data directory states them.
RAW_ROWS = {'ag_news': {'train': 5000, 'test': 7600}, 'imdb': {'train': 25000, 'test': 25000},
            'sms_spam': {'train': 4460, 'test': 1114}, 'financial_phrasebank': {'train': 3876, 'test': 970},
            'reddit_emotions': {'train': 43410, 'validation': 5426, 'test': 5427},
            'relation_classification': {'train': 582, 'test': 249},
            'tweet_irony': {'train': 2862, 'validation': 955, 'test': 784},
            'tweet_emotions': {'train': 3257, 'validation': 374, 'test': 1421},
            'sarcasm_news': {'train': 22895, 'test': 5724}, 'humor_speech': {'train': 32000, 'test': 8000}}


def quiet_load(*args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DataWarning)
        return load_task(*args, **kw)


def test_the_ten_tasks_are_known():
    assert sorted(list_tasks()) == sorted(TEN)


@pytest.mark.parametrize('task', TEN)
def test_task_loads_with_real_sizes_and_labels(task, real_data):
    card, ds, report = quiet_load(task, return_report=True)
    folder = real_data / task
    labels_json = json.loads((folder / 'labels.json').read_text())['labels']
    assert card.label_names == labels_json
    assert set(ds) == set(RAW_ROWS[task])
    for split, d in ds.items():
        raw = pd.read_csv(next(folder.glob(f'{split}.csv*')), keep_default_na=False, dtype=str)
        rep = report[split]
        assert rep['rows'] == len(raw) == RAW_ROWS[task][split]
        dropped = rep['empty'] + rep['multi_label'] + rep['duplicates'] + rep.get('in_test', 0)
        assert d.num_rows == rep['kept'] == len(raw) - dropped
        assert isinstance(d.features['label'], ClassLabel) and d.features['label'].names == labels_json
        assert {'idx', 'text', 'label'} <= set(d.column_names)
        # every kept row is the file's row at idx, with the label it has there
        sample = d.select(range(0, d.num_rows, max(1, d.num_rows // 50)))
        for row in sample:
            assert raw['text'].iloc[row['idx']] == row['text']
            if task != 'reddit_emotions':
                assert raw['label'].iloc[row['idx']] == labels_json[row['label']]
        assert len(set(d['text'])) == d.num_rows and all(t.strip() for t in sample['text'])
    assert not set(ds['train']['text']) & set(ds['test']['text'])
    assert set(np.unique(ds['test']['label'])) == set(range(card.num_labels)) or task == 'reddit_emotions'


def test_goemotions_single_label_and_ekman(real_data):
    card, ds, rep = quiet_load('reddit_emotions', return_report=True)
    raw = pd.read_csv(real_data / 'reddit_emotions' / 'train.csv.gz', keep_default_na=False)
    assert rep['train']['multi_label'] == int((raw['n_labels'] > 1).sum())
    card, ek = quiet_load('reddit_emotions', grouping='ekman')
    assert ek['train'].features['label'].names == list(card.groupings['ekman'])
    assert ek['train'].num_rows > ds['train'].num_rows  # multi-label rows within one Ekman group are kept
    with pytest.raises(ValueError, match="no grouping 'plutchik'"):
        load_task('reddit_emotions', grouping='plutchik')


def test_financial_phrasebank_keeps_agreement(real_data):
    card, ds = quiet_load('financial_phrasebank')
    assert card.agreement_column == 'agreement'
    assert set(ds['test'].unique('agreement')) == {0.5, 0.66, 0.75, 1.0}


def cache_entry(ds):
    "The cache entry (<cache>/datasets/<task>-<key>) whose memory-mapped Arrow files `ds` reads."
    files = {Path(f['filename']).parents[1] for split in ds.values() for f in split.cache_files}
    assert len(files) == 1, files
    return files.pop()


def test_second_load_comes_from_the_cache(real_data):
    # how long a load takes is measured by hand: benchmarks/data_load.py
    card, first = quiet_load('imdb')
    card, again = quiet_load('imdb')
    assert cache_entry(again) == cache_entry(first) and again['train']._fingerprint == first['train']._fingerprint
    assert again['train'].num_rows == first['train'].num_rows and again['test'][:3] == first['test'][:3]


def test_a_cached_load_does_not_read_the_csv_again(clickbait):
    card, first = load_task('clickbait')
    f = clickbait.parent / 'clickbait-data' / 'train.csv'
    st, text = f.stat(), f.read_text()
    f.write_text(text.replace('Parliament', 'Parliamint'))  # same size; the time put back below: the key cannot see it
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert load_task('clickbait')[1]['train']['text'] == first['train']['text']  # served from the cache, not the file
    assert 'Parliamint passes budget after long debate' in load_task('clickbait', cache=False)[1]['train']['text']


def test_a_new_loader_version_is_a_new_cache_entry(clickbait, monkeypatch):
    import synthclf.data
    card, first = load_task('clickbait')
    old = cache_entry(first)
    monkeypatch.setattr(synthclf.data, 'LOADER_VERSION', synthclf.data.LOADER_VERSION + 1)
    f = clickbait.parent / 'clickbait-data' / 'train.csv'
    st = f.stat()
    f.write_text(f.read_text().replace('Parliament', 'Parliamint'))  # what newer loading code would load differently
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    card, bumped = load_task('clickbait')
    assert cache_entry(bumped) != old and old.is_dir()  # loaded from the file into a new entry, beside the old one
    assert 'Parliamint passes budget after long debate' in bumped['train']['text']
    monkeypatch.setattr(synthclf.data, 'LOADER_VERSION', synthclf.data.LOADER_VERSION - 1)
    assert cache_entry(load_task('clickbait')[1]) == old


def test_sampling_helpers_are_seeded_and_stratified(real_data):
    card, ds = quiet_load('ag_news')
    sub = subsample_per_label(ds['train'], 25, seed=3)
    assert np.bincount(sub['label']).tolist() == [25] * 4
    assert sub['idx'] == subsample_per_label(ds['train'], 25, seed=3)['idx'] != subsample_per_label(ds['train'], 25, seed=4)['idx']
    shots = few_shot_examples(ds, 'Sports', k=5, seed=1)
    train_sports = {t for t, l in zip(ds['train']['text'], ds['train']['label']) if l == 1}
    assert len(set(shots)) == 5 and set(shots) <= train_sports and not set(shots) & set(ds['test']['text'])
    capped = cap_test(ds['test'], 101, seed=0)
    assert capped.num_rows == 101 and sorted(np.bincount(capped['label'])) == [25, 25, 25, 26]
    card, fr = quiet_load('relation_classification')
    capped = cap_test(fr['test'], 40, seed=0)
    full = np.bincount(fr['test']['label']) / fr['test'].num_rows
    assert np.abs(np.bincount(capped['label']) / 40 - full).max() < 0.05
    with pytest.raises(ValueError, match='cannot hold one row of each'):
        cap_test(fr['test'], 3)
    with pytest.raises(ValueError, match="Unknown label 'Weather'"):
        few_shot_examples(ds, 'Weather')


# --- bad input -------------------------------------------------------------------------------

def test_unknown_task_lists_the_known_ones():
    with pytest.raises(ValueError) as e:
        load_task('imbd')
    assert "Did you mean 'imdb'" in str(e.value) and all(t in str(e.value) for t in TEN)


def test_missing_folder_and_file_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=f'{tmp_path}/sms_spam does not exist.*SYNTHCLF_DATA_DIR'):
        load_task('sms_spam', data_dir=tmp_path, source='local')
    with pytest.raises(FileNotFoundError, match=f'No local data for task .sms_spam. \\({tmp_path}/sms_spam does not exist\\), and the Hugging Face Hub cannot be reached'):
        load_task('sms_spam', data_dir=tmp_path)  # auto: no local folder, and offline
    (tmp_path / 'sms_spam').mkdir()
    (tmp_path / 'sms_spam' / 'train.csv').write_text('text,label\nhi,ham\n')
    with pytest.raises(FileNotFoundError, match=r'sms_spam has no test.csv \(found: train.csv\)'):
        load_task('sms_spam', data_dir=tmp_path)


def write_split(folder, split, rows):
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=['text', 'label']).to_csv(folder / f'{split}.csv', index=False)


def test_unknown_label_names_file_row_and_label(tmp_path):
    write_split(tmp_path / 'sms_spam', 'train', [('hello', 'ham'), ('win', 'spam'), ('cheap meds', 'scam')])
    write_split(tmp_path / 'sms_spam', 'test', [('hi', 'ham'), ('prize', 'spam')])
    with pytest.raises(ValueError) as e:
        load_task('sms_spam', data_dir=tmp_path)
    msg = str(e.value)
    assert str(tmp_path / 'sms_spam' / 'train.csv') in msg and 'row 3 (line 4)' in msg and "'scam'" in msg and 'ham, spam' in msg


def test_empty_and_duplicate_texts_are_dropped_and_counted(tmp_path):
    write_split(tmp_path / 'sms_spam', 'train', [('hello', 'ham'), ('  ', 'ham'), ('win', 'spam'), ('win', 'spam'), ('prize', 'spam')])
    write_split(tmp_path / 'sms_spam', 'test', [('hi', 'ham'), ('prize', 'spam')])
    with pytest.warns(DataWarning, match='train: 1 empty, 1 duplicates, 1 in-test'):
        card, ds, rep = load_task('sms_spam', data_dir=tmp_path, return_report=True)
    assert ds['train']['text'] == ['hello', 'win'] and rep['train']['rows'] == 5


def test_labels_json_order_must_match_the_card(tmp_path):
    write_split(tmp_path / 'sms_spam', 'train', [('hello', 'ham'), ('win', 'spam')])
    write_split(tmp_path / 'sms_spam', 'test', [('hi', 'ham'), ('prize', 'spam')])
    (tmp_path / 'sms_spam' / 'labels.json').write_text('{"labels": ["spam", "ham"]}')
    with pytest.raises(ValueError, match=r"lists labels \['spam', 'ham'\].*fix the card's label order"):
        load_task('sms_spam', data_dir=tmp_path)


def test_offline_hub_fails_fast_with_a_way_out(monkeypatch):
    for offline in ('1', None):
        if offline: monkeypatch.setenv('HF_HUB_OFFLINE', offline)
        else: monkeypatch.delenv('HF_HUB_OFFLINE', raising=False)
        t = time.perf_counter()
        with pytest.raises(ConnectionError, match="fancyzhx/ag_news.*SYNTHCLF_DATA_DIR"):
            load_task('ag_news', source='hub')
        assert time.perf_counter() - t < 10


# --- an eleventh task: one card and a folder of CSVs, no code ----------------------------------

CLICKBAIT = """\
name: clickbait
title: Clickbait headlines
description: Decide whether a news headline is clickbait.
text:
  kind: news headline
  plural: news headlines
  unit: one headline
  words: {typical: 10, min: 4, max: 20}
persona: an editor writing headlines for a news website
labels:
  - name: news
    description: a plain headline that states what happened
  - name: clickbait
    description: a headline that withholds information to make the reader click
attributes:
  topic: [politics, celebrities, health]
  hook:
    clickbait: [a number list, a question, a shocking reveal]
data:
  path: ../clickbait-data
"""


@pytest.fixture
def clickbait(tmp_path, monkeypatch):
    cards = tmp_path / 'cards'
    cards.mkdir()
    (cards / 'clickbait.yaml').write_text(CLICKBAIT)
    data = tmp_path / 'clickbait-data'
    write_split(data, 'train', [('Parliament passes budget after long debate', 'news'),
                                ('You will not believe what this cat did next', 'clickbait'),
                                ('Central bank holds interest rates', 'news'),
                                ('10 foods doctors never eat', 'clickbait')])
    write_split(data, 'test', [('Storm closes schools in the north', 'news'), ('This one trick ends back pain', 'clickbait')])
    monkeypatch.setenv('SYNTHCLF_CARDS', str(cards))
    return cards


def test_a_user_card_adds_a_task(clickbait):
    assert 'clickbait' in list_tasks() and len(list_tasks()) == 11
    card, ds = load_task('clickbait')
    assert card.label_names == ['news', 'clickbait'] and ds['train'].num_rows == 4
    assert card.attributes_for('news') == {'topic': ['politics', 'celebrities', 'health']}
    assert load_task(str(clickbait / 'clickbait.yaml'))[1]['test']['text'] == ds['test']['text']


def test_the_cli_lists_a_user_task(clickbait):
    out = subprocess.run([SYNTHCLF, 'tasks'], capture_output=True, text=True, env=os.environ)
    assert out.returncode == 0, out.stderr
    assert 'clickbait' in out.stdout and len(out.stdout.strip().splitlines()) == 2 + 11


def test_a_broken_card_names_its_fault(tmp_path):
    bad = tmp_path / 'bad.yaml'
    bad.write_text(CLICKBAIT.replace('  - name: clickbait\n', '  - name: news\n'))
    with pytest.raises(CardError, match=r"bad.yaml: label\(s\) \['news'\] listed twice"):
        get_card(str(bad))
    bad.write_text(CLICKBAIT.replace('persona:', 'persons:'))
    with pytest.raises(CardError, match='missing key.*persona'):
        get_card(str(bad))


# --- the console script --------------------------------------------------------------------------

def test_synthclf_tasks_prints_the_ten_with_real_sizes(real_data):
    out = subprocess.run([SYNTHCLF, 'tasks'], capture_output=True, text=True, env=os.environ)
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line.split() for line in out.stdout.splitlines()[2:]}
    assert sorted(rows) == sorted(TEN)
    assert rows['ag_news'][1:4] == ['4', '5,000', '7,600'] and rows['reddit_emotions'][1] == '28'
    assert rows['tweet_irony'][1:5] == ['2', '2,862', '955', '784']


def test_synthclf_tasks_bad_name_is_a_message_not_a_traceback():
    out = subprocess.run([SYNTHCLF, 'tasks', 'agnews'], capture_output=True, text=True, env=os.environ)
    assert out.returncode == 2 and 'Traceback' not in out.stderr and "Unknown task 'agnews'" in out.stderr
