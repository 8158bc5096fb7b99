"""Any labelled set as a generator (`file:PATH`): its column mapping, its label errors, the rows it drops and counts,
its sha256 as the generator's identity (an unchanged file is skipped, a changed one re-runs the generate stage), and
a whole `synthclf run`."""
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from datasets import Dataset

from synthclf import generate as gen
from synthclf.data import load_task
from synthclf.generate import DedupFilter, load_generated, save_generated
from synthclf.generators import generator_overrides, run_generators
from synthclf.kinds import file_generated, generator_kind, read_file_source
from synthclf.layout import generate_dir, manifest_path
from synthclf.manifest import stage_done, stage_inputs, write_manifest

from conftest import TINY_RUN

MAPPED = '?text=prompt_output&label=category'


@pytest.fixture(scope='module')
def sms(real_data):
    "SMS spam's card, real splits and 15 distinct real train texts per label, none a copy of a test text."
    card, real = load_task('sms_spam', data_dir=real_data, quiet=True)
    seen, copies = DedupFilter(), gen.test_copy_filter(real['test'])
    usable = [(t, l) for t, l in zip(real['train']['text'], real['train']['label'])
              if not copies.match(t) and not seen.add(t)]
    picked = {n: [t for t, l in usable if l == i][:15] for i, n in enumerate(card.label_names)}
    return card, real, picked


def fixture_rows(picked) -> list[dict]:
    "Rows as a generation tool writes them: the text in `prompt_output`, the label in `category`, the mode in `kind`."
    return [{'prompt_output': t, 'category': label, 'kind': 'zero-shot' if i % 3 else 'few_shot'}
            for label, texts in picked.items() for i, t in enumerate(texts)]


def test_column_mapping_reads_every_format_and_splits_the_modes(tmp_path, sms, real_data):
    card, _, picked = sms
    rows = pd.DataFrame(fixture_rows(picked))
    files = {'jsonl': tmp_path/'set.jsonl', 'csv': tmp_path/'set.csv', 'parquet': tmp_path/'set.parquet',
             'folder': tmp_path/'set_folder'}
    rows.to_json(files['jsonl'], orient='records', lines=True)
    rows.to_csv(files['csv'], index=False)
    rows.to_parquet(files['parquet'])
    Dataset.from_pandas(rows).save_to_disk(str(files['folder']))
    want = {m: rows[rows.kind == k] for m, k in (('zero_shot', 'zero-shot'), ('few_shot', 'few_shot'))}
    for fmt, f in files.items():
        for mode, expected in want.items():
            ds, man = file_generated('sms_spam', mode, per_label=100, spec=f"{f}{MAPPED}&mode=kind", seed=0,
                                     data_dir=real_data)
            got = ds.to_pandas()
            assert sorted(got.text) == sorted(expected.prompt_output.str.strip()), (fmt, mode)  # texts are stripped
            assert sorted(card.label_names[i] for i in got.label) == sorted(expected.category), (fmt, mode)
            assert set(got['mode']) == {mode} and set(got.backend) == {'file'} and man['model'] == f.name
            assert man['source_rows'] == len(expected) and man['source']['rows'] == len(rows)
            assert man['counts'] == expected.category.value_counts().to_dict(), (fmt, mode, man['counts'])
            rows_back = [json.loads(a)['row'] for a in got.attributes]  # each text's row in the file
            assert [rows.prompt_output[r].strip() for r in rows_back] == list(got.text), fmt
    # without a mode column the file is one set: every mode reads all its rows
    plain = tmp_path/'plain.csv'
    rows.rename(columns={'prompt_output': 'text', 'category': 'label'}).drop(columns='kind').to_csv(plain, index=False)
    for mode in ('zero_shot', 'few_shot'):
        ds = file_generated('sms_spam', mode, per_label=100, spec=str(plain), data_dir=real_data)[0]
        assert ds.num_rows == len(rows), mode
    # a column the file lacks and a mode value that is no mode are named
    with pytest.raises(ValueError, match=r"no column text=txt.*columns are \['prompt_output', 'category', 'kind'"):
        read_file_source(f"{files['jsonl']}?text=txt&label=category")
    rows.assign(kind=['one-shot'] * len(rows)).to_csv(tmp_path/'badmode.csv', index=False)
    with pytest.raises(ValueError, match=r"holds \['one-shot'\].*zero_shot or few_shot"):
        read_file_source(f"{tmp_path/'badmode.csv'}{MAPPED}&mode=kind")


def test_per_label_draws_a_seeded_stratified_sample(tmp_path, sms, real_data):
    _, _, picked = sms
    f = tmp_path/'set.csv'
    pd.DataFrame(fixture_rows(picked)).to_csv(f, index=False)
    draw = lambda seed: file_generated('sms_spam', 'zero_shot', per_label=4, spec=f"{f}{MAPPED}", seed=seed,
                                       data_dir=real_data)[0]
    a, b, c = draw(0), draw(0), draw(1)
    assert a['text'] == b['text'], 'the same seed draws the same rows'
    assert pd.Series(a['label']).value_counts().to_dict() == {0: 4, 1: 4}, 'per_label of each label'
    assert set(a['text']) != set(c['text']), 'another seed, another sample'


def test_unknown_labels_are_named_with_the_cards_labels(tmp_path, sms, real_data):
    _, _, picked = sms
    rows = pd.DataFrame(fixture_rows(picked))
    rows.loc[[2, 7], 'category'] = ['junk', 'promo']
    rows.loc[3, 'category'] = ' SPAM '  # a label that differs only in case and spaces is the card's
    f = tmp_path/'labels.jsonl'
    rows.to_json(f, orient='records', lines=True)
    with pytest.raises(ValueError) as e:
        file_generated('sms_spam', 'zero_shot', per_label=5, spec=f"{f}{MAPPED}", data_dir=real_data)
    msg = str(e.value)
    assert "['junk', 'promo']" in msg and 'rows [2, 7]' in msg and "The card's labels are ['ham', 'spam']" in msg, msg
    assert 'labels.jsonl' in msg and "'category'" in msg, msg


def test_duplicates_empty_texts_and_test_copies_are_dropped_and_counted(tmp_path, sms, real_data):
    _, real, picked = sms
    rows = fixture_rows(picked)
    rows += [{**rows[0], 'kind': 'zero_shot'},                                # a duplicate of a ham text
             {'prompt_output': '', 'category': 'spam', 'kind': 'zero_shot'},  # an empty text
             {'prompt_output': real['test']['text'][5], 'category': 'ham', 'kind': 'zero_shot'}]  # a test text
    f = tmp_path/'drops.csv'
    pd.DataFrame(rows).to_csv(f, index=False)
    ds, man = file_generated('sms_spam', 'zero_shot', per_label=100, spec=f"{f}{MAPPED}", data_dir=real_data)
    rej = man['rejected']
    assert {l: rej[l].get('duplicate', 0) + rej[l].get('near_duplicate', 0) for l in rej} == {'ham': 1, 'spam': 0}, rej
    assert rej['spam'].get('empty') == 1 and rej['ham'].get('copies_test') == 1, rej
    assert sum(man['attempts'].values()) == len(rows) and ds.num_rows == len(rows) - 3 == sum(man['counts'].values())
    assert man['short'] == {'ham': 100 - man['counts']['ham'], 'spam': 100 - man['counts']['spam']}
    out = save_generated(ds, man, tmp_path/'gen'/'zero_shot')
    saved = [json.loads(l) for l in (out/'rejected.jsonl').read_text().splitlines()]
    assert sorted(r['reason'] for r in saved) == ['copies_test', 'duplicate', 'empty'], saved
    assert load_generated(out)[1]['source']['sha256'] == hashlib.sha256(f.read_bytes()).hexdigest()


def test_the_files_sha256_is_the_generators_identity(tmp_path, sms, real_data, monkeypatch):
    "The generate manifest records the file's sha256 and rows: unchanged, the stage is done; changed, it runs again."
    _, _, picked = sms
    f = tmp_path/'mine.csv'
    pd.DataFrame(fixture_rows(picked)).to_csv(f, index=False)
    monkeypatch.chdir(tmp_path)  # a relative path is made absolute: the stage runs in the run folder
    name, ov = generator_overrides(f'file:mine.csv{MAPPED}')
    assert name == 'mine.csv' and ov == {'generate.backend': 'file', 'generate.model': f"{f}{MAPPED}"}, ov
    run = tmp_path/'run'
    params = {'task': 'sms_spam', 'modes': ['zero_shot'], 'per_label': 5, 'backend': 'file',
              'model': ov['generate.model'], 'seed': 0, 'out': str(generate_dir('.', 'sms_spam'))}
    inputs = stage_inputs('generate', params, run, 'sms_spam')
    sha = hashlib.sha256(f.read_bytes()).hexdigest()
    assert inputs['generator'] == {'backend': 'file', 'file': 'mine.csv', 'sha256': sha, 'rows': 30,
                                   'columns': {'text': 'prompt_output', 'label': 'category', 'mode': None}}
    ds, man = generator_kind('file').generate('sms_spam', 'zero_shot', 5, params['model'], seed=0, data_dir=real_data)
    save_generated(ds, man, generate_dir(run, 'sms_spam')/'zero_shot')
    write_manifest(run, 'sms_spam', 'generate', params, 1.0, inputs)
    recorded = json.loads(manifest_path(run, 'sms_spam', 'generate').read_text())['inputs']['generator']
    assert recorded['sha256'] == inputs['generator']['sha256'] and recorded['rows'] == 30
    done, why = stage_done(run, 'sms_spam', 'generate', params, stage_inputs('generate', params, run, 'sms_spam'))
    assert done, why
    pd.DataFrame(fixture_rows(picked)[:-1]).to_csv(f, index=False)  # one row fewer
    done, why = stage_done(run, 'sms_spam', 'generate', params, stage_inputs('generate', params, run, 'sms_spam'))
    assert not done and 'the generator changed' in why and '30 rows' in why and '29 rows' in why, why


def test_a_file_that_is_not_there_fails_before_anything_runs(tmp_path, monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    with pytest.raises(FileNotFoundError, match=r"no-such/set.*HF_HUB_OFFLINE is set"):
        run_generators(['file:no-such/set'], out=tmp_path/'runs')
    assert not (tmp_path/'runs').exists()


@pytest.mark.slow
def test_synthclf_run_with_a_file_generator(tmp_path, sms, real_data, smollm2):
    """`synthclf run --tasks sms_spam --generators file:PATH`: one run named after the file, whose worth table names the
    file; the same command again redoes nothing."""
    _, _, picked = sms
    f = tmp_path/'mine.jsonl'
    rows = pd.DataFrame(fixture_rows(picked)).rename(columns={'prompt_output': 'text', 'category': 'label'})
    rows.drop(columns='kind').to_json(f, orient='records', lines=True)
    cmd = [str(Path(sys.executable).parent/'synthclf'), 'run', '--tasks', 'sms_spam', '--generators', f'file:{f}',
           '--out', str(tmp_path/'runs'), *TINY_RUN, '-p', 'rank_tasks=run', '-p', 'train.remedies=[confident_learning]']
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=os.environ)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    run = tmp_path/'runs'/'mine.jsonl'
    man = json.loads((run/'sms_spam'/'generate'/'few_shot'/'manifest.json').read_text())
    assert man['backend'] == 'file' and man['model'] == 'mine.jsonl' and man['counts'] == {'ham': 3, 'spam': 3}, man
    worth = pd.read_csv(run/'analysis'/'worth.csv')
    synthetic = worth[worth.source.isin(['zero_shot', 'few_shot'])]
    assert len(synthetic) == 2 and set(synthetic.generator) == {'mine.jsonl (file)'}, worth[['source', 'generator']]
    assert (run/'report.html').is_file()
    # label fidelity: per text beside each set, per mode in the task's fidelity folder, and in the report
    per_text = pd.read_csv(run/'sms_spam'/'generate'/'zero_shot'/'fidelity.csv')
    assert len(per_text) == 6 and per_text.fidelity.is_monotonic_increasing and per_text.fidelity.between(0, 1).all()
    fid = pd.read_csv(run/'sms_spam'/'fidelity'/'summary.csv')
    assert set(fid['mode']) == {'zero_shot', 'few_shot'} and (fid.ci_low <= fid.fidelity).all() and (fid.fidelity <= fid.ci_high).all()
    assert 'Label fidelity of the generated texts' in (run/'report.html').read_text()
    # the remedy is a source of its own, its option in its set's manifest
    remedied = json.loads((run/'sms_spam'/'remedies'/'few_shot+confident_learning'/'manifest.json').read_text())
    assert remedied['remedy']['name'] == 'confident_learning' and remedied['remedy']['from'].endswith('few_shot')
    assert 'dir-few_shot_confident_learning' in json.loads((run/'analysis'/'summary.json').read_text())['plan']['sources']
    assert (run/'sms_spam'/'dir-few_shot_confident_learning'/'tfidf'/'seed0'/'metrics.json').is_file()
    assert '<strong>Remedies</strong>' in (run/'report.html').read_text()
    # one file without a mode column: no few-shot > zero-shot line, and the report says why
    summary = json.loads((run/'analysis'/'summary.json').read_text())
    assert 'ordering sms_spam: few-shot > zero-shot' in summary['skipped'], summary['skipped']
    assert not any(v['scope'] == 'sms_spam: few-shot > zero-shot' for v in summary['verdict']), summary['verdict']
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=os.environ)
    assert again.returncode == 0, again.stderr[-3000:]
    stages = json.loads((run/'summary.json').read_text())['stages']
    assert all(s['status'] == 'skipped' for s in stages), [(s['task'], s['stage'], s['status']) for s in stages]
