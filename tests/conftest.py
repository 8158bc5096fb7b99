import os
import pytest

from synthclf.data import data_dir


@pytest.fixture(scope='session', autouse=True)
def fresh_cache(tmp_path_factory):
    "Every test session loads the real data anew, into a cache of its own."
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
