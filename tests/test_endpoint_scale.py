"""generate's endpoint path at small sizes under the load the paper's size brings: the simulator's fault mix (429s
with Retry-After, 500s, timeouts, truncated bodies) changes nothing accepted; a `synthclf generate` killed with SIGKILL
halfway and run again asks nothing the cache held before the kill and ends with the data of an uninterrupted run;
two processes write one call cache without damaging it; rejected rows are spilled to a file, not kept."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from synthclf.cache import CacheWriter, CallCache, Completion
from synthclf.generate import RejectedRows, generate, save_generated
from synthclf.llm import OpenAIBackend
from synthclf.simulate import MODEL_ID, Load, parse_faults, planted_truth, prepare_data, read_request_log, serve

ROOT = Path(__file__).resolve().parents[1]
SYNTHCLF = Path(sys.executable).parent/'synthclf'
ENV = {**os.environ, 'PYTHONPATH': str(ROOT), 'HF_HUB_OFFLINE': '1', 'OMP_NUM_THREADS': '1', 'TQDM_DISABLE': '1'}


@pytest.fixture(scope='module')
def sim(real_data, tmp_path_factory):
    "sms_spam's pool (200 texts a label) set aside from its real data: the truth and the prepared data folder."
    d = tmp_path_factory.mktemp('sim')
    truth = planted_truth(['sms_spam'], low=0.1, high=0.1, pool_per_label=200, seed=0)
    prepare_data(truth, d/'data', data_dir=real_data)
    return truth, d/'data'


def texts(ds) -> list:
    return list(zip(ds['text'], ds['label'], ds['seed']))


def test_the_fault_mix_changes_nothing_accepted(sim, tmp_path):
    "Each fault is met and retried past; the texts are those of a run without faults, and composed ones are unique."
    truth, data = sim
    kw = dict(task='sms_spam', mode='zero_shot', per_label=60, data_dir=data, progress=False, chunk_size=64)
    faults = parse_faults('429=0.06,500=0.06,timeout=0.03,truncated=0.06')
    load = Load(latency=0.01, faults=faults, retry_after=0.2, hang=1.5, log=str(tmp_path/'faults.log'), seed=3)
    with serve(truth, data, compose=True, load=load) as url:
        llm = OpenAIBackend(MODEL_ID, base_url=url, concurrency=16, timeout=0.5, backoff=0.01, max_retries=8)
        faulty, man = generate(backend=llm, cache=CallCache(tmp_path/'faulty.sqlite'), **kw)
    with serve(truth, data, compose=True, load=Load(log=str(tmp_path/'clean.log'))) as url:
        llm = OpenAIBackend(MODEL_ID, base_url=url, concurrency=16)
        clean, _ = generate(backend=llm, cache=CallCache(tmp_path/'clean.sqlite'), **kw)
    log = read_request_log(tmp_path/'faults.log')
    met = log.status.value_counts().to_dict()
    assert all(met.get(f, 0) > 0 for f in faults), met
    assert man['counts'] == {'ham': 60, 'spam': 60}, man['counts']
    assert texts(faulty) == texts(clean), 'the faults changed what was accepted'
    assert len(set(faulty['text'])) == 120
    assert log[log.status == '200'].key.nunique() == man['calls'], man['calls']
    assert (read_request_log(tmp_path/'clean.log').status == '200').all()


def generate_cli(url, data, out, cache, per_label=150, concurrency=32) -> list[str]:
    return [str(SYNTHCLF), 'generate', '--task', 'sms_spam', '--mode', 'zero_shot', 'few_shot',
            '--per-label', str(per_label),
            '--backend', 'openai', '--model', MODEL_ID, '--base-url', url, '--concurrency', str(concurrency),
            '--window', str(4 * concurrency), '--timeout', '5', '--data-dir', str(data), '--out', str(out),
            '--cache-file', str(cache)]


def rows_of(out: Path) -> dict:
    return {f.parent.name: f.read_text() for f in sorted(out.glob('sms_spam/generate/*/data.jsonl'))}


def test_a_run_killed_halfway_asks_nothing_again_that_the_cache_held(sim, tmp_path):
    """`synthclf generate` killed with SIGKILL once the endpoint has seen 300 requests, then the same command again:
    no request whose answer was committed before the kill goes out again (from the endpoint's log), the committed
    answers are all still there, and the data are an uninterrupted run's."""
    truth, data = sim
    log = tmp_path/'requests.log'
    with serve(truth, data, compose=True, load=Load(latency=0.03, log=str(log))) as url:
        subprocess.run(generate_cli(url, data, tmp_path/'whole', tmp_path/'whole.sqlite'), env=ENV, check=True,
                       capture_output=True)
        whole = len(log.read_text().splitlines())
        cmd = generate_cli(url, data, tmp_path/'killed', tmp_path/'killed.sqlite')
        p = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while p.poll() is None and len(log.read_text().splitlines()) < whole + 300: time.sleep(0.02)
        assert p.poll() is None, 'the run ended before the kill: make it longer'
        os.kill(p.pid, signal.SIGKILL); p.wait()
        at_kill = len(log.read_text().splitlines())
        db = sqlite3.connect(tmp_path/'killed.sqlite')
        committed = {k for (k,) in db.execute('SELECT key FROM calls')}; db.close()
        subprocess.run(cmd, env=ENV, check=True, capture_output=True)
    asked = read_request_log(log)
    after = asked.key[at_kill:]
    assert len(committed) >= 100, f'only {len(committed)} answers were committed before the kill'
    assert not set(after) & committed, f'{len(set(after) & committed)} committed answers asked again'
    db = sqlite3.connect(tmp_path/'killed.sqlite')
    assert db.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'
    assert committed <= {k for (k,) in db.execute('SELECT key FROM calls')}, 'a committed answer was lost'
    assert rows_of(tmp_path/'killed') == rows_of(tmp_path/'whole') and len(rows_of(tmp_path/'whole')) == 2
    assert len(asked) - at_kill < whole, 'the rerun asked everything again'
    assert (asked.status == '200').all()


WRITER = textwrap.dedent('''
    import sys
    from synthclf.cache import CacheWriter, CallCache, Completion
    path, who, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cache = CallCache(path)
    with CacheWriter(cache, batch=50, every=0.01) as w:
        for i in range(n):
            w.put(f'shared{i}' if i % 2 else f'{who}{i}', Completion(f'answer {i}', 1, 2))
            if i % 100 == 0:  # what the other process committed reads back whole
                got = cache.get(f'shared{i - 1}')
                assert got is None or got.text == f'answer {i - 1}'
''')


def test_two_processes_write_one_cache(tmp_path):
    "Two processes each write 3,000 answers in batches, half of them under the same keys: all there, file intact."
    path = tmp_path/'shared.sqlite'
    CallCache(path).close()
    procs = [subprocess.Popen([sys.executable, '-c', WRITER, str(path), who, '3000'], env=ENV, stderr=subprocess.PIPE)
             for who in ('a', 'b')]
    for p in procs: assert p.wait(120) == 0, p.stderr.read().decode()
    db = sqlite3.connect(path)
    assert db.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'
    rows = dict(db.execute('SELECT key, completion FROM calls'))
    assert len(rows) == 1500 + 1500 + 1500, len(rows)
    assert json.loads(rows['shared2999'])['text'] == 'answer 2999'
    assert json.loads(rows['b2998'])['text'] == 'answer 2998'


def test_the_writer_commits_in_batches_and_finds_what_waits(tmp_path):
    "A batch on disk per `batch` answers; an answer not yet committed is found by the writer, and committed on close."
    c = CallCache(tmp_path/'calls.sqlite')
    w = CacheWriter(c, batch=100, every=30)
    for i in range(250): w.put(f'k{i}', Completion(f'a{i}'))
    for _ in range(100):
        if len(c) == 200: break
        time.sleep(0.05)
    assert len(c) == 200 and w.get('k249').text == 'a249' and c.get('k249') is None, len(c)
    w.close()
    assert len(c) == 250 and w.batches == 3


def test_rejected_rows_are_spilled_to_a_file(sim, tmp_path):
    """Pool texts served as they are (no composing): repeats, rejected as duplicates, go to the spill file and are
    counted in the manifest; save_generated writes them all."""
    truth, data = sim
    with serve(truth, data) as url:
        llm = OpenAIBackend(MODEL_ID, base_url=url, concurrency=16)
        ds, man = generate('sms_spam', 'zero_shot', per_label=150, backend=llm,
                           data_dir=data, progress=False, cache=CallCache(tmp_path/'calls.sqlite'),
                           rejected_path=tmp_path/'rejected.jsonl')
    spill = man['rejected_rows']
    assert isinstance(spill, RejectedRows) and spill.path == tmp_path/'rejected.jsonl'
    n = sum(sum(v.values()) for v in man['rejected'].values())
    assert n == len(spill) >= 50 and man['rejected']['ham'].get('duplicate', 0) > 0, man['rejected']
    assert len((tmp_path/'rejected.jsonl').read_text().splitlines()) == n
    out = save_generated(ds, man, tmp_path/'out')
    saved = [json.loads(l) for l in (out/'rejected.jsonl').read_text().splitlines()]
    assert len(saved) == n and {r['reason'] for r in saved} >= {'duplicate'}
