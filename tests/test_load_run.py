"A finished run folder read back as one object (`synthclf.load_run`), on a small run made here without an LLM."
import json
import shutil

import pandas as pd
import pytest

import synthclf
from synthclf.generate import read_manifest
from synthclf.manifest import write_manifest
from synthclf.run import load_run, stand_in_run


@pytest.fixture(scope='module')
def stand_in(tmp_path_factory, real_data):
    return stand_in_run(tmp_path_factory.mktemp('stand_in')/'run', seeds=2, test_cap=150)


def test_load_run_reads_what_the_run_wrote(stand_in):
    run = synthclf.load_run(stand_in)
    metrics = sorted(stand_in.rglob('metrics.json'))
    assert len(run.scores) == len(metrics) == 5 * 2, metrics  # five sources, two seeds
    assert run.scores.macro_f1.between(0, 1).all() and run.scores.seed.dtype.kind == 'i'
    table = run.results()
    assert table.index.tolist() == ['sms_spam'] and ('Few-shot', 'Macro-F1') in table.columns
    # the analysis's own tables, as it wrote them
    pd.testing.assert_frame_equal(run.verdict, pd.read_csv(stand_in/'analysis'/'verdict.csv'))
    assert set(run.worth.source) >= {'zero_shot', 'few_shot', 'real_matched'}
    assert set(run.tables()) == {p.stem for p in (stand_in/'analysis').glob('*.csv')}
    figs = run.figures.set_index('name')
    assert {'worth', 'diversity'} <= set(figs.index) and figs.svg.map(lambda p: p.is_file()).all()
    assert figs.caption['worth'] == (stand_in/'analysis'/'figures'/'worth.txt').read_text().strip()
    # predictions: every test row of every seed of the sources asked for
    p = run.predictions('sms_spam', sources=['zero_shot', 'real_matched'])
    assert p.groupby(['source', 'seed']).size().eq(150).all() and len(p) == 2 * 2 * 150
    # the generated texts, accepted and rejected, as their manifests count them
    texts, rejected = run.texts('sms_spam'), run.rejected('sms_spam')
    for mode in ('zero_shot', 'few_shot'):
        m = read_manifest(stand_in/'sms_spam'/'generate'/mode)
        counts = texts[texts['mode'] == mode].label.value_counts().to_dict()
        assert counts == {k: v for k, v in m['counts'].items() if v}
        assert (rejected['mode'] == mode).sum() == sum(n for by in m['rejected'].values() for n in by.values())
    assert rejected.reason.notna().all() and rejected.raw.str.len().gt(0).all()


def test_load_run_reads_the_runner_records(stand_in, tmp_path):
    run_dir = tmp_path/'r'; shutil.copytree(stand_in, run_dir)
    assert load_run(run_dir).manifests.empty and load_run(run_dir).stages.empty  # made by the API: no runner records
    write_manifest(run_dir, 'sms_spam', 'generate', {'per_label': 40}, 12.3)
    write_manifest(run_dir, None, 'report', {'plan': {}}, 4.0)
    stages = [{'task': 'sms_spam', 'stage': 'generate', 'status': 'done', 'seconds': 12.3},
              {'task': '*', 'stage': 'report', 'status': 'skipped', 'detail': 'x'}]
    (run_dir/'summary.json').write_text(json.dumps({'stages': stages}))
    run = load_run(run_dir)
    assert run.manifests.stage.tolist() == ['report', 'generate']
    assert run.manifests.task.isna().tolist() == [True, False]
    report = run.manifest(None, 'report')
    assert report['files'] and run.manifests.files.iloc[0] == len(report['files'])
    m = run.manifests.set_index('stage').loc['generate']
    assert m.task == 'sms_spam' and m.seconds == 12.3
    assert m.files == len(run.manifest('sms_spam', 'generate')['files']) > 0
    assert run.stages.status.tolist() == ['done', 'skipped'] and run.stages.seconds.isna().tolist() == [False, True]
    with pytest.raises(FileNotFoundError, match='No manifest of the train stage of sms_spam'):
        run.manifest('sms_spam', 'train')


def test_load_run_names_what_is_missing(stand_in, tmp_path):
    with pytest.raises(FileNotFoundError, match='is not a folder'): load_run(tmp_path/'nothing')
    with pytest.raises(FileNotFoundError, match='not a run folder: it holds no experiments'): load_run(tmp_path)
    unfinished = tmp_path/'u'; shutil.copytree(stand_in, unfinished); shutil.rmtree(unfinished/'analysis')
    with pytest.raises(FileNotFoundError, match=r'is not finished: .*summary.json is missing.*synthclf analyze --runs'):
        load_run(unfinished)
    run = load_run(stand_in)
    with pytest.raises(FileNotFoundError, match=r'no ranking table .* a ranking needs at least 3'):  # its why
        run.ranking
    with pytest.raises(ValueError, match="'ag_news' is not one of this run's tasks"): run.texts('ag_news')
    with pytest.raises(KeyError, match="no figure 'nope'"): run.show('nope')
