"""Generation throughput on this machine, in one run (run by hand; not a test).

    .venv/bin/python benchmarks/generation.py [--model qwen2.5-coder-0.5b-instruct] [--requests 32] [--out benchmarks/results]

Rows, all sampled (temperature 1.0, top_p 0.95) with 64 new tokens on the same generation prompts:
- synthclf `local` backend (transformers in-process, bf16, left padding) at batch 1, 8 and 32;
- llama.cpp (llama-cpp-python, `pip install llama-cpp-python`: a ~4-9 minute compile, so not in constraints.txt) on the same GGUF at batch 1;
- `transformers serve --continuous-batching` driven by the synthclf `openai` backend, 8 requests in flight.
Each row runs in a fresh process so that its peak memory (max RSS) is its own. The target: batched
local at least 2x llama.cpp's batch-1 tokens/s, and peak memory under 4 GiB.
"""
import argparse, json, os, resource, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')


def prompts(n):
    "n real generation requests (ag_news and sms_spam cards, zero-shot), 64 new tokens each."
    from synthclf.generate import _request_for
    from synthclf.tasks import get_card
    reqs = []
    for i in range(n):
        card = get_card(['ag_news', 'sms_spam'][i % 2])
        label = card.label_names[i % card.num_labels]
        reqs.append(_request_for(card, label, card.label_names.index(label), 1000 + i, 'zero_shot', 7, None, 0,
                                 dict(temperature=1.0, top_p=0.95, max_new_tokens=64))[0])
    return reqs


def run_local(model, batch, n):
    from synthclf.llm import LocalBackend
    b = LocalBackend(model, batch_size=batch)
    reqs = prompts(n)
    b.complete(reqs[:batch])  # warm-up
    t = time.perf_counter(); out = b.complete(reqs); dt = time.perf_counter() - t
    return dict(tokens=sum(c.completion_tokens for c in out), seconds=dt)


def run_llamacpp(model, n):
    from llama_cpp import Llama
    from synthclf.models import models_dir
    llm = Llama(str(models_dir() / model / 'model.gguf'), n_ctx=1024, n_threads=os.cpu_count(), verbose=False, seed=0)
    reqs = prompts(n)
    llm.create_chat_completion(reqs[0].as_openai(), max_tokens=8)
    t, tokens = time.perf_counter(), 0
    for r in reqs:
        out = llm.create_chat_completion(r.as_openai(), temperature=1.0, top_p=0.95, max_tokens=64)
        tokens += out['usage']['completion_tokens']
    return dict(tokens=tokens, seconds=time.perf_counter() - t)


def run_serve(model, n, concurrency=8):
    from synthclf.llm import CallCache, OpenAIBackend, complete
    from synthclf.models import resolve_model
    path = resolve_model(model)
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    proc = subprocess.Popen([str(Path(sys.executable).parent / 'transformers'), 'serve', path, '--host', '127.0.0.1', '--port', str(port),
                             '--continuous-batching', '--device', 'cpu', '--dtype', 'bfloat16'], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        for _ in range(600):
            try: urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=1); break
            except OSError: time.sleep(0.5)
        b = OpenAIBackend(path, base_url=f'http://127.0.0.1:{port}/v1', concurrency=concurrency, timeout=600)
        reqs = prompts(n)
        import tempfile
        complete(b, reqs[:2], CallCache(Path(tempfile.mkdtemp()) / 'warm.sqlite'))  # warm-up (model load)
        t = time.perf_counter(); out = b.complete(reqs); dt = time.perf_counter() - t
        server_rss = _rss_of(proc.pid)
        return dict(tokens=sum(c.completion_tokens for c in out), seconds=dt, server_peak_rss_gib=server_rss)
    finally:
        os.killpg(proc.pid, signal.SIGTERM); proc.wait()


def _rss_of(pid):
    try: return round(int(next(l for l in open(f'/proc/{pid}/status') if l.startswith('VmHWM')).split()[1]) / 2**20, 2)
    except (OSError, StopIteration): return None


def child(kind, model, batch, n):
    r = {'local': lambda: run_local(model, batch, n), 'llama.cpp': lambda: run_llamacpp(model, n), 'serve': lambda: run_serve(model, n)}[kind]()
    r['peak_rss_gib'] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    print('RESULT ' + json.dumps(r))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', default='qwen2.5-coder-0.5b-instruct')
    ap.add_argument('--requests', type=int, default=32)
    ap.add_argument('--out', default='benchmarks/results')
    ap.add_argument('--child', nargs=3)
    a = ap.parse_args()
    if a.child: return child(a.child[0], a.model, int(a.child[1]), int(a.child[2]))
    rows = []
    plan = [('local', 1, 8), ('local', 8, a.requests), ('local', 32, a.requests), ('llama.cpp', 1, 8), ('serve', 8, a.requests)]
    for kind, batch, n in plan:
        r = subprocess.run([sys.executable, __file__, '--model', a.model, '--child', kind, str(batch), str(n)], capture_output=True, text=True)
        line = next((l for l in r.stdout.splitlines() if l.startswith('RESULT ')), None)
        row = {'backend': kind, 'batch': batch if kind != 'serve' else '8 concurrent', 'requests': n}
        if line:
            res = json.loads(line[7:])
            row.update(res, tokens_per_s=round(res['tokens'] / res['seconds'], 1), seconds=round(res['seconds'], 1))
        else:
            row['error'] = (r.stderr.strip().splitlines() or ['failed'])[-1][:200]
        rows.append(row); print(json.dumps(row), flush=True)
    base = next((r['tokens_per_s'] for r in rows if r['backend'] == 'llama.cpp' and 'tokens_per_s' in r), None)
    best = max((r.get('tokens_per_s', 0) for r in rows if r['backend'] == 'local'), default=0)
    summary = {'model': a.model, 'cpus': os.cpu_count(), 'rows': rows,
               'batched_local_vs_llamacpp_batch1': round(best / base, 2) if base else None,
               'max_peak_rss_gib_local': max((r.get('peak_rss_gib', 0) for r in rows if r['backend'] == 'local'), default=None)}
    Path(a.out).mkdir(parents=True, exist_ok=True)
    (Path(a.out) / f'generation-{a.model}.json').write_text(json.dumps(summary, indent=1))
    print('\n| backend | batch | requests | tokens/s | peak RSS GiB |\n|---|---|---|---|---|')
    for r in rows: print(f"| {r['backend']} | {r['batch']} | {r['requests']} | {r.get('tokens_per_s', r.get('error'))} | {r.get('peak_rss_gib', '')} |")
    print(f"\nbatched local / llama.cpp batch 1: {summary['batched_local_vs_llamacpp_batch1']}")


if __name__ == '__main__':
    main()
