import os
from pathlib import Path

import pytest

from synthclf.data import data_dir

# Models are big and slow to convert: keep them in the user's cache across test sessions.
os.environ.setdefault('SYNTHCLF_MODELS', str(Path(os.environ.get('SYNTHCLF_CACHE', '~/.cache/synthclf')).expanduser() / 'models'))
os.environ['HF_HUB_OFFLINE'] = '1'


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
