"""generate's endpoint path on a loopback OpenAI-compatible server: requests kept in flight in a bounded window (not
chunks that wait for their slowest request), a 429's Retry-After honoured with jittered backoff, a fault mix (429s,
500s) that changes nothing that is accepted, and the same texts and cache rows as the chunked path for the same
answers."""
import json
import random
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from synthclf.cache import CallCache
from synthclf.generate import generate
from synthclf.llm import OpenAIBackend, Request, retry_wait

WORDS = ('call now free prize claim your reward text stop to win cash offer today mate dinner tonight meeting late '
         'bus home love thanks sorry week number mobile urgent account update voucher holiday weekend film pub train '
         'work').split()
QUIET, FINE = staticmethod(lambda seed: 0.0), staticmethod(lambda seed, attempt: None)  # no delay, no fault


class Endpoint(BaseHTTPRequestHandler):
    """Answers a chat completion with a text drawn from the request's seed (the same request, the same answer,
    whatever the order), after `delay(seed)` seconds; `fault(seed, attempt)` may answer 429 (with Retry-After) or 500
    instead. It logs every attempt: (seed, start, end, status)."""
    log, lock, delay, fault = [], threading.Lock(), QUIET, FINE

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
        seed, start = body['seed'], time.time()
        with Endpoint.lock: attempt = sum(s == seed for s, *_ in Endpoint.log)
        fault = Endpoint.fault(seed, attempt)
        if fault is None: time.sleep(Endpoint.delay(seed))
        with Endpoint.lock: Endpoint.log.append((seed, start, time.time(), fault or 200))
        if fault == 429: return self.answer(429, {'error': {'message': 'slow down'}}, {'Retry-After': '0.3'})
        if fault == 500: return self.answer(500, {'error': {'message': 'oops'}})
        rng = random.Random(seed)
        text = ' '.join(rng.choice(WORDS) for _ in range(rng.randint(8, 16))).capitalize() + '.'
        choice = {'index': 0, 'message': {'role': 'assistant', 'content': text}, 'finish_reason': 'stop'}
        usage = {'prompt_tokens': 20, 'completion_tokens': 12, 'total_tokens': 32}
        self.answer(200, {'id': f'c{seed}', 'object': 'chat.completion', 'created': 0, 'model': body.get('model'),
                          'choices': [choice], 'usage': usage})

    def answer(self, status, payload, headers=None):
        out = json.dumps(payload).encode()
        self.send_response(status); self.send_header('Content-Type', 'application/json')
        for k, v in (headers or {}).items(): self.send_header(k, v)
        self.send_header('Content-Length', str(len(out))); self.end_headers(); self.wfile.write(out)

    def log_message(self, *a): pass


@pytest.fixture
def endpoint():
    Endpoint.log, Endpoint.delay, Endpoint.fault = [], QUIET, FINE
    server = ThreadingHTTPServer(('127.0.0.1', 0), Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{server.server_address[1]}/v1'
    server.shutdown()


def test_the_window_slides_past_a_slow_request_and_stays_bounded(endpoint):
    "Request 4 takes 1.5 s: the other slots go on with 5..11 meanwhile (a chunk of 8 stops at 7), and none past 11."
    Endpoint.delay = staticmethod(lambda seed: 1.5 if seed == 4 else 0.02)
    ep, answered = OpenAIBackend('m', base_url=endpoint, concurrency=4), []
    ep.complete_window(40, lambda i: (Request.chat(None, 'Hi', seed=i, max_new_tokens=4), None),
                       lambda i, c: answered.append(i), window=8)
    start = {s: t0 for s, t0, *_ in Endpoint.log}
    slow_end = next(t1 for s, _, t1, _ in Endpoint.log if s == 4)
    assert sorted(answered) == list(range(40)), answered
    assert all(start[i] < slow_end for i in range(5, 12)), 'the window went on past the slow request'
    assert all(start[i] >= slow_end - 0.05 for i in range(12, 40)), 'none went out 8 or more past the oldest unanswered'
    busy = [sum(t0 <= start[i] < t1 for s, t0, t1, _ in Endpoint.log) for i in range(40)]
    assert max(busy) <= 4, busy  # never more than `concurrency` in flight


def test_retry_after_is_honoured_with_jitter(endpoint):
    Endpoint.fault = staticmethod(lambda seed, attempt: 429 if attempt == 0 and seed % 3 == 0 else None)
    ep = OpenAIBackend('m', base_url=endpoint, concurrency=8, backoff=0.001)
    answers = {}
    ep.complete_window(12, lambda i: (Request.chat(None, 'Hi', seed=i, max_new_tokens=4), None),
                       lambda i, c: answers.__setitem__(i, c.text))
    assert len(answers) == 12 and all(answers.values())
    for seed in (0, 3, 6, 9):
        tries = sorted(t0 for s, t0, *_ in Endpoint.log if s == seed)
        refused = next(t1 for s, _, t1, status in Endpoint.log if s == seed and status == 429)
        assert len(tries) == 2 and tries[1] - refused >= 0.29, (seed, tries, refused)  # Retry-After 0.3, backoff 0.001
    gaps = [retry_wait(0, 0.001, 0.3) for _ in range(50)]
    assert min(gaps) >= 0.3 and max(gaps) <= 0.33 and len(set(gaps)) > 40, 'jittered, never below Retry-After'


class Chunked(OpenAIBackend):
    "The same endpoint through `complete` in chunks (the path before the window): no `complete_window`."
    complete_window = property(lambda self: (_ for _ in ()).throw(AttributeError('complete_window')))


def cache_rows(path) -> dict:
    return dict(sqlite3.connect(path).execute('SELECT key, completion FROM calls').fetchall())


def test_faults_and_finishing_order_change_nothing_accepted(endpoint, tmp_path, real_data):
    """Through the window with random latencies, 429s and 500s, and through chunks without faults: the same requests,
    the same texts accepted in the same order, and the cache rows the two share are the same answers."""
    kw = dict(task='sms_spam', mode='few_shot', per_label=12, seed=3, data_dir=real_data, progress=False, chunk_size=16)
    Endpoint.delay = staticmethod(lambda seed: random.Random(seed).uniform(0, 0.05))
    Endpoint.fault = staticmethod(lambda seed, attempt: {0: 429, 1: 500}.get(seed % 5) if attempt == 0 and seed % 2
                                  else None)
    win, win_man = generate(backend=OpenAIBackend('m', base_url=endpoint, concurrency=6, backoff=0.001),
                            cache=CallCache(tmp_path/'window.sqlite'), **kw)
    faults = sum(status != 200 for *_, status in Endpoint.log)
    Endpoint.delay, Endpoint.fault = QUIET, FINE
    chunk, chunk_man = generate(backend=Chunked('m', base_url=endpoint, concurrency=6),
                                cache=CallCache(tmp_path/'chunk.sqlite'), **kw)
    assert faults > 0 and win_man['counts'] == {'ham': 12, 'spam': 12}, (faults, win_man['counts'])
    assert win['text'] == chunk['text'] and win['prompt_hash'] == chunk['prompt_hash'], 'the same texts, same order'
    assert win_man['rejected'] == chunk_man['rejected'] and win_man['attempts'] == chunk_man['attempts']
    a, b = cache_rows(tmp_path/'window.sqlite'), cache_rows(tmp_path/'chunk.sqlite')
    shared = set(a) & set(b)
    assert len(shared) >= 24 and all(a[k] == b[k] for k in shared), (len(a), len(b), len(shared))
    again, again_man = generate(backend=OpenAIBackend('m', base_url=endpoint, concurrency=6),
                                cache=CallCache(tmp_path/'window.sqlite'), **kw)
    assert again['text'] == win['text'] and again_man['calls'] == 0 and again_man['cached_calls'] > 0, again_man
