"Where a run's files live is known in one place (synthclf.layout): the Python API, the CLI and the runner agree."
import inspect
import re
from pathlib import Path

from synthclf import layout
from synthclf.analysis import analyze
from synthclf.experiments import train_and_evaluate
from synthclf.layout import default_synthetic_dir
from synthclf.parameters import owned_parameters

PKG = Path(layout.__file__).parent


def test_the_api_defaults_are_the_default_run():
    "Before, the API wrote runs/generate/<task> and runs/train while the CLI used runs/default/<task>/generate."
    assert inspect.signature(train_and_evaluate).parameters['out'].default == layout.DEFAULT_RUN
    assert inspect.signature(analyze).parameters['runs'].default == layout.DEFAULT_RUN
    assert default_synthetic_dir('sms_spam') == layout.generate_dir(layout.DEFAULT_RUN, 'sms_spam')


def test_the_runner_places_stages_where_the_layout_says():
    run = Path('.')
    assert Path(owned_parameters('generate', run, 'ag_news')['out']) == layout.generate_dir(run, 'ag_news')
    assert Path(owned_parameters('subjectivity', run, 'ag_news')['out']) == layout.subjectivity_dir(run, 'ag_news')
    assert Path(owned_parameters('report', run)['out']) == layout.analysis_dir(run)


def test_no_other_module_spells_out_the_run_folders():
    spelled = re.compile(r"/\s*'(generate|subjectivity|analysis|cards|\.stages)'")
    found = [f"{p.name}: {line.strip()}" for p in PKG.glob('*.py') if p.name not in ('layout.py', '_modidx.py')
             for line in p.read_text().splitlines() if spelled.search(line) and 'resources.files' not in line]  # the package's own cards are not a run's
    assert not found, found
