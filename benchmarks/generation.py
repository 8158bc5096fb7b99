"""Generation speed on the path users run: `synthclf.generate.generate()` itself (run by hand; not a test).

    .venv/bin/python benchmarks/generation.py [--model qwen2.5-coder-0.5b-instruct] [--per-label 20]
        [--dtypes auto float32 int8 bfloat16] [--before /path/to/older/checkout] [--before-dtypes default float32]
        [--merge earlier.json] [--out benchmarks/results]

Each row generates ag_news and sms_spam, zero- and few-shot, `--per-label` accepted texts per label, with an
empty call cache, on the whole machine (torch uses every core), each (task, mode) in a fresh process so that
its peak memory (max RSS) is its own. Reported per row and in total: completion tokens/s (the model's
speed), accepted texts per minute (what a user waits for: rejected attempts and the data loading count
against it), attempts, and peak RSS.

Rows:
- `local <dtype>`: this checkout's local backend (continuous batching, shared-prefix cache, per-request seeds);
  `auto` is what users get: bfloat16 on a CPU with native bf16 (AVX512-BF16 or AMX); elsewhere int8 linear layers for
  a preset marked `int8` (the default model), float32 for other models;
- `before`: the same calls on another checkout given by `--before` (e.g. `git worktree add /tmp/before aae82a8`,
  the static-batching backend), as the baseline to beat: with its own default dtype (`default`, what its users
  got) and with any other `--before-dtypes`;
- `--merge FILE`: rows of an earlier run of this script (same model, per-label count and CPU) join the table, so
  slow rows need not run again.
- llama.cpp rows, with `--llama-server BIN` (a `llama-server` built from llama.cpp's source, e.g. the copy inside the
  `llama-cpp-python` sdist: `cmake -B build -DGGML_NATIVE=ON -DLLAMA_CURL=OFF && cmake --build build -t llama-server`; a
  9-minute compile on 2 cores, so not an install step): the same `generate()` calls through the `openai` backend against
  that server on loopback, for each `--llama-gguf LABEL=PATH` (default: the preset's own Q4_K_M GGUF) and each
  `--llama-slots N` (parallel sequences, and the client's concurrency); `1` slot is the anchor, llama.cpp batch 1.
  Peak RSS there is the client's plus the server's.
Results go to `<out>/generation-<model>-<native-bf16|no-bf16>.json` and `.md`, one pair per kind of CPU (the `.md`'s
`## Notes`, written by hand, are kept).
"""
import argparse, json, os, resource, subprocess, sys, tempfile, time
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')
CASES = [('ag_news', 'zero_shot'), ('ag_news', 'few_shot'), ('sms_spam', 'zero_shot'), ('sms_spam', 'few_shot')]


def child(task, mode, model, per_label, dtype, batch_size=None, backend=None):
    "One generate() call in this process (the local backend, or `backend`): its figures as JSON on stdout."
    from synthclf.generate import generate
    from synthclf.cache import CallCache
    from synthclf.llm import LocalBackend
    from synthclf.data import load_task
    load_task(task)  # the real data is loaded (and cached) before the clock starts, as in a run after its first stage
    kw = {k: v for k, v in (('dtype', dtype), ('batch_size', batch_size)) if v}
    llm = backend or LocalBackend(model, **kw)
    t = time.perf_counter()
    ds, man = generate(task, mode, per_label=per_label, backend=llm, cache=CallCache(Path(tempfile.mkdtemp()) / 'calls.sqlite'), progress=False)
    wall = time.perf_counter() - t
    print(json.dumps({'task': task, 'mode': mode, 'accepted': ds.num_rows, 'attempts': man['calls'], 'completion_tokens': man['completion_tokens'],
                      'generation_seconds': man['generation_seconds'], 'seconds': round(wall, 1),
                      'peak_rss_gib': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}))


def server_child(task, mode, per_label, base_url, slots):
    "One generate() call through the openai backend against a llama.cpp server (started by the parent)."
    from synthclf.llm import OpenAIBackend
    child(task, mode, None, per_label, None, backend=OpenAIBackend('gguf', base_url=base_url, concurrency=slots, timeout=1800))


def start_llama_server(binary, gguf, slots, port=8391):
    "`llama-server` on loopback with `slots` parallel sequences of 2,048 tokens each, every core; waits until it answers."
    import urllib.request
    p = subprocess.Popen([binary, '-m', gguf, '--host', '127.0.0.1', '--port', str(port), '-np', str(slots), '-c', str(2048 * slots),
                          '-t', str(os.cpu_count()), '--no-webui'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(240):
        try:
            if urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=2).status == 200: return p, f'http://127.0.0.1:{port}/v1'
        except OSError: time.sleep(0.5)
    p.kill(); raise RuntimeError(f'{binary} did not answer on port {port} within 2 minutes')


def server_peak_gib(p) -> float:
    "The server process's peak resident memory so far (VmHWM), in GiB."
    status = Path(f'/proc/{p.pid}/status').read_text()
    return int(next(l.split()[1] for l in status.splitlines() if l.startswith('VmHWM'))) / 2**20


def cpu() -> dict:
    "This machine's CPU: its name and whether it computes bfloat16 natively (which decides the `auto` dtype)."
    from synthclf.core import bf16_ok
    info = Path('/proc/cpuinfo').read_text() if Path('/proc/cpuinfo').exists() else ''
    name = next((l.split(':', 1)[1].strip() for l in info.splitlines() if l.startswith('model name')), 'unknown')
    flags = set(next((l.split(':', 1)[1].split() for l in info.splitlines() if l.startswith('flags')), []))
    return {'name': name, 'cores': os.cpu_count(), 'native_bf16': bf16_ok('cpu'),
            'isa': ' '.join(f for f in ('avx2', 'avx512f', 'avx512_bf16', 'avx512_vnni', 'amx_bf16') if f in flags)}


def run_row(name, args, checkout=None, dtype=None, server=None, batch_size=None):
    "`server`: (llama-server binary, GGUF, slots) to time generate() against instead of the local backend."
    env = {**os.environ, 'TQDM_DISABLE': '1'}
    if checkout: env['PYTHONPATH'] = str(checkout)
    from synthclf.data import data_dir
    if data_dir(): env.setdefault('SYNTHCLF_DATA_DIR', str(data_dir()))  # the other checkout may have no ../shared beside it
    cases, srv = [], None
    if server:
        srv, url = start_llama_server(*server)
    for task, mode in CASES:
        cmd = [sys.executable, __file__, '--child', task, mode, '--model', args.model, '--per-label', str(args.per_label)]
        if dtype: cmd += ['--dtype', dtype]
        if batch_size: cmd += ['--batch-size', str(batch_size)]
        if server: cmd += ['--server', url, str(server[2])]
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=checkout or Path(__file__).resolve().parents[1])
        if p.returncode:
            if srv: srv.kill(); srv.wait()
            print(f"{name} {task} {mode}: failed\n{p.stderr[-2000:]}", file=sys.stderr); return None
        cases.append(json.loads(p.stdout.strip().splitlines()[-1]))
        if srv: cases[-1]['peak_rss_gib'] = round(cases[-1]['peak_rss_gib'] + server_peak_gib(srv), 2)
        c = cases[-1]
        print(f"  {name:<18} {task:<9} {mode:<9} {c.get('accepted', '-')!s:>4} texts / {c['attempts']:>3} attempts  "
              f"{c['completion_tokens'] / c['generation_seconds']:6.1f} tok/s  {c['seconds']:6.1f} s  {c['peak_rss_gib']} GiB", flush=True)
    if srv: srv.kill(); srv.wait()
    tot = {k: sum(c.get(k, 0) for c in cases) for k in ('accepted', 'attempts', 'completion_tokens', 'generation_seconds', 'seconds')}
    return {'row': name, 'cases': cases, **tot, 'tokens_per_s': round(tot['completion_tokens'] / tot['generation_seconds'], 1),
            'accepted_per_min': round(60 * tot['accepted'] / tot['seconds'], 1) if tot['accepted'] else None,
            'peak_rss_gib': max(c['peak_rss_gib'] for c in cases)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', default='qwen2.5-coder-0.5b-instruct')
    ap.add_argument('--per-label', type=int, default=20)
    ap.add_argument('--dtypes', nargs='*', default=['auto'], help="this checkout's rows (none: only --before/--merge rows)")
    ap.add_argument('--before', help='another synthclf checkout to time the same way (the baseline)')
    ap.add_argument('--before-model', help="the model's name in that checkout (default: --model)")
    ap.add_argument('--before-dtypes', nargs='*', default=['default'], help="'default' (that checkout's own) and/or dtypes")
    ap.add_argument('--merge', help='a JSON of an earlier run whose rows join the table')
    ap.add_argument('--out', default=str(Path(__file__).parent / 'results'))
    ap.add_argument('--batch-sizes', nargs='*', type=int, default=[None], help="this checkout's rows: LocalBackend batch sizes (default: its default)")
    ap.add_argument('--llama-server', help='a llama-server binary: adds the llama.cpp rows')
    ap.add_argument('--llama-gguf', nargs='*', default=[], help="LABEL=PATH of GGUF files to serve (default: the preset's own Q4_K_M)")
    ap.add_argument('--llama-slots', nargs='*', type=int, default=[1, 32], help='parallel sequences of the llama.cpp rows (1: the anchor, batch 1)')
    ap.add_argument('--child', nargs=2); ap.add_argument('--dtype'); ap.add_argument('--batch-size', type=int); ap.add_argument('--server', nargs=2)
    args = ap.parse_args()
    if args.child:
        if args.server: return server_child(*args.child, args.per_label, args.server[0], int(args.server[1]))
        return child(*args.child, args.model, args.per_label, args.dtype, args.batch_size)
    rows, machine = [], cpu()
    if args.merge:
        old = json.loads(Path(args.merge).read_text())
        if (old['model'], old['per_label'], old.get('cpu')) != (args.model, args.per_label, machine):
            ap.error(f"--merge {args.merge}: another model, per-label count or CPU ({old['model']}, {old['per_label']}, {old.get('cpu')})")
        rows += old['rows']
    print(f"generate() on {machine}, {args.model}, {args.per_label} per label:")
    for d in args.dtypes:
        for b in args.batch_sizes:
            rows.append(run_row(f'local {d}' + (f', batch {b}' if b else ''), args, dtype=None if d == 'auto' else d, batch_size=b))
    if args.before:
        m = args.model; args.model = args.before_model or m
        for d in args.before_dtypes:
            rows.append(run_row('before' if d == 'default' else f'before {d}', args, checkout=Path(args.before).resolve(), dtype=None if d == 'default' else d))
        args.model = m
    if args.llama_server:
        from synthclf.models import models_dir
        ggufs = [g.split('=', 1) for g in args.llama_gguf] or [['Q4_K_M', str(models_dir() / args.model / 'model.gguf')]]
        for label, path in ggufs:
            for n in args.llama_slots:
                name = f'llama.cpp batch 1, {label}' if n == 1 else f'llama.cpp server {label}, {n} slots'
                rows.append(run_row(name, args, server=(args.llama_server, path, n)))
    else: print("  llama.cpp rows: no --llama-server given; left out")
    rows = [r for r in rows if r]
    out = Path(args.out); out.mkdir(parents=True, exist_ok=True)
    res = {'model': args.model, 'cpu': machine, 'per_label': args.per_label, 'date': time.strftime('%Y-%m-%d'), 'rows': rows}
    name = f"generation-{args.model}-{'native-bf16' if machine['native_bf16'] else 'no-bf16'}"  # one file per kind of CPU
    (out / f'{name}.json').write_text(json.dumps(res, indent=1))
    base = next((r for r in rows if r['row'] == 'before'), None) or next((r for r in rows if r['row'].startswith('before')), None)
    md = [f"# generate() speed: {args.model}, {machine['cores']} cores, {args.per_label} accepted texts per label\n",
          f"CPU: {machine['name']} ({machine['isa']}; native bfloat16: {'yes' if machine['native_bf16'] else 'no'}). "
          "ag_news and sms_spam, zero- and few-shot; empty call cache; `benchmarks/generation.py`.\n",
          "| row | accepted | attempts | completion tok/s | accepted texts/min | vs before | wall s | peak RSS GiB |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        vs = f"{r['accepted_per_min'] / base['accepted_per_min']:.2f}x" if base and r['accepted_per_min'] and base['accepted_per_min'] else ''
        md.append(f"| {r['row']} | {r['accepted'] or '-'} | {r['attempts']} | {r['tokens_per_s']} | {r['accepted_per_min'] or '-'} | {vs} | {r['seconds']:.0f} | {r['peak_rss_gib']} |")
    old_md = (out / f'{name}.md').read_text() if (out / f'{name}.md').exists() else ''
    notes = old_md[old_md.index('\n## Notes'):] if '\n## Notes' in old_md else ''  # written by hand: kept
    (out / f'{name}.md').write_text('\n'.join(md) + '\n' + notes)
    print('\n'.join(md))


if __name__ == '__main__':
    main()
