import os
from pathlib import Path

import pytest

# `make test` runs the tests in parallel (pytest-xdist): the workers share the cores out, as `synthclf run` does with its stages,
# since torch on every core in each of two processes slows both down far more than twice. Set before anything imports torch.
if os.environ.get('PYTEST_XDIST_WORKER_COUNT') and not os.environ.get('OMP_NUM_THREADS'):
    os.environ['OMP_NUM_THREADS'] = str(max(1, len(os.sched_getaffinity(0)) // int(os.environ['PYTEST_XDIST_WORKER_COUNT'])))

from synthclf.data import data_dir

# Models are big and slow to convert: keep them in the user's cache across test sessions.
os.environ.setdefault('SYNTHCLF_MODELS', str(Path(os.environ.get('SYNTHCLF_CACHE', '~/.cache/synthclf')).expanduser() / 'models'))
os.environ['HF_HUB_OFFLINE'] = '1'


# The session fixtures that take a minute or more to make. Session-scoped, not module-scoped: a worker may run other modules'
# tests between two of a module's, and would make a module fixture again each time.
SHARED = ('tiny_run', 'own_run', 'small_study', 'synthetic')


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    "The tests that share one of the costly fixtures run in one worker (`--dist loadgroup`): it is made once."
    for item in items:
        name = next((n for n in SHARED if n in item.fixturenames), None)
        if name: item.add_marker(pytest.mark.xdist_group(name))


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: an end-to-end test that runs a real LLM, fine-tunes an encoder or runs `synthclf run` '
                                       '(left out by `make test-fast`, which runs pytest -m "not slow")')


@pytest.fixture(scope='session', autouse=True)
def fresh_cache(tmp_path_factory):
    "Every test session loads the real data and makes its LLM calls anew, into a cache of its own."
    os.environ['SYNTHCLF_CACHE'] = str(tmp_path_factory.mktemp('synthclf-cache'))
    os.environ.pop('SYNTHCLF_CARDS', None)
    yield


@pytest.fixture(scope='session')
def real_data():
    "The shared real datasets; the tests that need them say so when they are missing."
    d = data_dir()
    if d is None or not (d / 'ag_news').is_dir():
        pytest.fail('The real data is missing: set SYNTHCLF_DATA_DIR to the folder of task folders (../shared/datasets).')
    return d


@pytest.fixture(scope='session')
def smollm2():
    "The small generator preset, pulled once (download, sha256 check, dense conversion)."
    from synthclf.models import pull_model
    return pull_model('smollm2-135m-instruct', verbose=False)


TINY_RUN = ['-p', 'model=smollm2-135m-instruct', '-p', 'per_label=3', '-p', 'classifier=tfidf', '-p', 'seeds=1', '-p', 'test_cap=100',
            '-p', 'judge_k=1', '-p', 'diversity_per_label=3', '-p', 'reference_size=100', '-p', 'rank_tasks=[sms_spam,ag_news,tweet_irony]']


@pytest.fixture(scope='session')
def tiny_run(tmp_path_factory, smollm2, real_data):
    """`synthclf run` with the smallest model and tiny sizes on SMS spam and on a task whose real data is missing
    (its generate stage fails): the finished run folder, the CLI's output and exit status, and the environment."""
    import subprocess, sys, yaml
    cards = tmp_path_factory.mktemp('cards')
    card = yaml.safe_load((Path(__file__).resolve().parents[1]/'synthclf'/'cards'/'sms_spam.yaml').read_text())
    card.update(name='sms_no_data', data={'local_dir': 'no_such_folder'})
    (cards/'sms_no_data.yaml').write_text(yaml.safe_dump(card))
    env = {**os.environ, 'SYNTHCLF_CARDS': str(cards)}
    out = tmp_path_factory.mktemp('run')
    cmd = [str(Path(sys.executable).parent/'synthclf'), 'run', '--tasks', 'sms_spam,sms_no_data', '--out', str(out), '--workers', '2', *TINY_RUN]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1500)
    return {'out': out, 'stdout': p.stdout, 'stderr': p.stderr, 'returncode': p.returncode, 'env': env}


class Recording:
    """A real backend that also keeps every request it is sent (the cache answers the others): the prompts a caller
    really sent, read back without mocking the model."""
    def __init__(self, backend):
        self.backend, self.requests, self.completions = backend, [], []

    def __getattr__(self, name):
        return getattr(self.backend, name)

    def complete(self, requests, on_done=None, keep=None):
        self.requests += list(requests)
        out = self.backend.complete(requests, on_done=on_done, keep=keep)
        self.completions += out
        return out

    def option_probs(self, requests, options, on_done=None):
        self.requests += list(requests)
        return self.backend.option_probs(requests, options, on_done=on_done)
