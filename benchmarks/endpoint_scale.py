"""Generation at the paper's size through an OpenAI-compatible endpoint: `synthclf generate` against the loopback
simulator (`synthclf simulate serve --compose`) at a controlled latency with a fault mix, a `kill -9` halfway, and the
same command again. Writes benchmarks/results/endpoint_scale.json and endpoint_scale.md.

    PYTHONPATH=$PWD nice -n 10 python benchmarks/endpoint_scale.py small  # the 0.2 s / 2 s rows
    PYTHONPATH=$PWD nice -n 10 python benchmarks/endpoint_scale.py kill   # a kill against an uninterrupted run
    PYTHONPATH=$PWD nice -n 10 python benchmarks/endpoint_scale.py big    # every task, both modes, 3,000 a label

Each row's client is one `synthclf generate` process; its CPU time (user + system, from `wait4`, a killed process's
too) is the client's, the simulator's is reported beside it. `client_cpu_ms_per_request` leaves out what the first
process spent before its first request (imports, loading the data; sampled from /proc), once per process (a rerun
starts up as the first did); `..._with_startup` keeps it. `requests` counts every
request the endpoint's log holds (retries after faults included)."""
import argparse, json, os, random, signal, sqlite3, subprocess, sys, threading, time, urllib.request
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS = ROOT/'benchmarks'/'results'
FAULTS = '429=0.01,500=0.01,timeout=0.001,truncated=0.002'
TICK = os.sysconf('SC_CLK_TCK')
ENV = {**os.environ, 'PYTHONPATH': str(ROOT), 'HF_HUB_OFFLINE': '1', 'OMP_NUM_THREADS': '1', 'TQDM_DISABLE': '1'}


def prepare(sim: Path) -> tuple[Path, Path]:
    "The truth (every task, a pool of up to 1,500 texts a label) and its prepared data under `sim`."
    from synthclf.simulate import planted_truth, prepare_data, write_truth
    from synthclf.tasks import list_tasks
    truth, data = sim/'truth.yaml', sim/'data'
    if not (data/'simulation.json').is_file():
        write_truth(planted_truth(list_tasks(), low=0.05, high=0.2, pool_per_label=1500, seed=0), truth)
        prepare_data(truth, data)
    return truth, data


def cpu_of(pid: int) -> float | None:
    "CPU seconds (user + system) process `pid` has used so far, or None once it is gone."
    try: f = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    except OSError: return None
    return (int(f[11]) + int(f[12])) / TICK


def lines(path: Path) -> int:
    with open(path, 'rb') as f: return sum(1 for _ in f)


class Simulator:
    "`synthclf simulate serve --compose` in a process of its own, with a request log; a context manager."
    def __init__(self, sim: Path, latency: float, port: int, faults: str = FAULTS):
        truth, data = prepare(sim)
        self.log, self.port = sim/f'requests-{port}.log', port
        self.log.unlink(missing_ok=True)
        cmd = [str(BIN/'synthclf'), 'simulate', 'serve', '--truth', str(truth), '--data-dir', str(data),
               '--port', str(port), '--compose', '--latency', str(latency), '--faults', faults, '--hang', '10',
               '--retry-after', '1',
               '--log', str(self.log)]
        self.proc = subprocess.Popen(['nice', '-n', '10', *cmd], env=ENV, stdout=subprocess.DEVNULL)
        self.url = f'http://127.0.0.1:{port}/v1'
        for _ in range(120):
            try: urllib.request.urlopen(self.url + '/models', timeout=1); break
            except OSError: time.sleep(0.5)
        else: raise RuntimeError(f'the simulator did not start on port {port}')
        self.cpu0 = cpu_of(self.proc.pid)
    def cpu(self) -> float: return cpu_of(self.proc.pid) - self.cpu0
    def __enter__(self): return self
    def __exit__(self, *exc): self.proc.send_signal(signal.SIGINT); self.proc.wait(30)


def generate_cmd(url: str, tasks: str, per_label: int, in_flight: int, out: Path, cache: Path, data: Path) -> list[str]:
    "The client: `synthclf generate`, both modes; a label stops after 1.5 × per_label + 10 requests (small pools)."
    return [str(BIN/'synthclf'), 'generate', '--task', tasks, '--mode', 'zero_shot', 'few_shot',
            '--per-label', str(per_label),
            '--backend', 'openai', '--model', 'synthclf-simulator', '--base-url', url, '--concurrency', str(in_flight),
            '--window', str(8 * in_flight), '--timeout', '5', '--data-dir', str(data), '--out', str(out),
            '--cache-file', str(cache), '--max-attempts-per-label', str(int(1.5 * per_label) + 10)]


def run_client(cmd: list[str], log: Path, kill_at: int | None = None) -> dict:
    """Run `cmd` (niced) to its end, or SIGKILL it once the request log holds `kill_at` lines: wall seconds, CPU
    seconds (wait4), CPU before its first request, peak RSS, whether it was killed."""
    start_lines, t0 = lines(log) if log.exists() else 0, time.time()
    p = subprocess.Popen(['nice', '-n', '10', *cmd], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    out, killed, startup = [], False, None
    reader = threading.Thread(target=lambda: out.extend(p.stdout), daemon=True); reader.start()
    seen, done = start_lines, None
    while (done := os.wait4(p.pid, os.WNOHANG))[0] == 0:  # wait4, not poll: it gives the child's CPU and peak memory
        cpu = cpu_of(p.pid)
        if log.exists(): seen = lines(log) if kill_at or startup is None else seen
        if startup is None and seen > start_lines: startup = cpu
        if kill_at and seen - start_lines >= kill_at:
            os.kill(p.pid, signal.SIGKILL); killed = True; done = os.wait4(p.pid, 0); break
        time.sleep(0.5 if kill_at else 1.0)
    _, status, ru = done
    p.returncode = status
    reader.join(5)
    if not killed and status != 0: raise RuntimeError(f'{cmd} failed ({status}):\n' + ''.join(out[-30:]))
    return {'wall_s': time.time() - t0, 'cpu_s': ru.ru_utime + ru.ru_stime, 'startup_cpu_s': startup or 0.0,
            'peak_rss_gib': ru.ru_maxrss / 2**20, 'killed': killed, 'output': ''.join(out[-60:])}


def log_rows(log: Path) -> list[tuple[str, str]]:
    "The request log's (status, key) per line."
    with open(log) as f: return [tuple(l.rstrip('\n').split('\t')[1:3]) for l in f]


def cache_keys(cache: Path) -> set:
    db = sqlite3.connect(f'file:{cache}?mode=ro', uri=True)
    try: return {k for (k,) in db.execute('SELECT key FROM calls')}
    finally: db.close()


def cache_facts(cache: Path) -> dict:
    "Size on disk, integrity, and the mean time of a lookup (hits and misses) through `CallCache.get`."
    from synthclf.cache import CallCache
    keys = list(cache_keys(cache))
    c = CallCache(cache)
    rng = random.Random(0)
    probe = rng.sample(keys, min(2000, len(keys))) + [f'{rng.getrandbits(256):064x}' for _ in range(500)]
    t = time.perf_counter()
    for k in probe: c.get(k)
    ms = 1000 * (time.perf_counter() - t) / len(probe)
    ok = c._use(lambda db: db.execute('PRAGMA integrity_check').fetchone()[0])
    c.close()
    size = sum(Path(f'{cache}{s}').stat().st_size for s in ('', '-wal') if Path(f'{cache}{s}').exists())
    return {'cache_mib': round(size / 2**20, 1), 'cache_rows': len(keys), 'cache_lookup_ms': round(ms, 4),
            'cache_integrity': ok}


def final_data(out: Path) -> dict:
    "Per generate folder under `out`: its rows (text, label, seed, prompt hash) in order."
    data = {}
    for f in sorted(out.glob('*/generate/*/data.jsonl')):
        with open(f) as fh:
            data[f'{f.parts[-4]}/{f.parts[-2]}'] = [(r['text'], r['label'], r['seed'], r['prompt_hash'])
                                                   for r in map(json.loads, fh)]
    return data


def commit() -> str:
    git = lambda *a: subprocess.run(['git', *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    sha = git('rev-parse', '--short', 'HEAD')
    dirty = git('status', '--porcelain', '--untracked-files=no')
    return sha + ('+dirty' if dirty else '')


def row(name: str, work: Path, sim: Path, tasks: str, per_label: int, latency: float, in_flight: int, port: int,
        kill_at: int | None = None, reference: Path | None = None) -> dict:
    """One row: a generate run against a fresh simulator at `latency` with the fault mix; with `kill_at`, killed once
    the endpoint has seen that many requests and run again. `reference`: an uninterrupted run's output to compare."""
    out, cache = work/name, work/f'{name}.sqlite'
    for p in (cache, Path(f'{cache}-wal'), Path(f'{cache}-shm')): p.unlink(missing_ok=True)
    subprocess.run(['rm', '-rf', str(out)])
    with Simulator(sim, latency, port) as s:
        cmd = generate_cmd(s.url, tasks, per_label, in_flight, out, cache, prepare(sim)[1])
        phases = [run_client(cmd, s.log, kill_at)]
        at_kill = lines(s.log)
        committed = cache_keys(cache) if kill_at else set()
        if kill_at: phases.append(run_client(cmd, s.log))
        server_cpu = s.cpu()
        log = log_rows(s.log)
    before, after = log[:at_kill], log[at_kill:]
    answered_before = {k for st, k in before if st == '200'}
    requests = len(log)
    work_cpu = sum(p['cpu_s'] for p in phases) - len(phases) * phases[0]['startup_cpu_s']  # a rerun starts up alike
    faults = {}
    for st, _ in log:
        if st != '200': faults[st] = faults.get(st, 0) + 1
    r = {'name': name, 'tasks': tasks, 'modes': 'zero_shot,few_shot', 'per_label': per_label, 'requests': requests,
         'latency_s': latency, 'in_flight': in_flight, 'window': 8 * in_flight,
         'wall_s': round(sum(p['wall_s'] for p in phases), 1),
         'requests_per_s': round(requests / sum(p['wall_s'] for p in phases), 1),
         'client_cpu_ms_per_request': round(1000 * work_cpu / requests, 3),
         'client_cpu_ms_per_request_with_startup': round(1000 * sum(p['cpu_s'] for p in phases) / requests, 3),
         'client_cpu_s': round(sum(p['cpu_s'] for p in phases), 1),
         'client_startup_cpu_s': round(phases[0]['startup_cpu_s'], 1),
         'server_cpu_ms_per_request': round(1000 * server_cpu / requests, 3),
         'peak_rss_gib': round(max(p['peak_rss_gib'] for p in phases), 3),
         **cache_facts(cache), 'faults': faults, 'fault_share': round(sum(faults.values()) / requests, 4),
         'killed_at_request': at_kill if kill_at else None,
         'committed_before_kill': len(committed) if kill_at else None,
         'repeated_after_kill': sum(k in committed for _, k in after) if kill_at else 0,
         'asked_again_uncommitted': len({k for _, k in after} & (answered_before - committed)) if kill_at else 0,
         'rows_lost': len(committed - cache_keys(cache)) if kill_at else 0,
         'commit': commit(), 'machine': machine(), 'date': datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}
    data = final_data(out)
    r['accepted_rows'] = sum(map(len, data.values()))
    r['short_labels'] = short_labels(out)
    if reference is not None:
        ref = final_data(reference)
        r['reference'] = reference.name
        r['identical_to_reference'] = data == ref
        r['rows_lost'] += sum(len(set(rows) - set(data.get(k, []))) for k, rows in ref.items())
    r['last_output'] = phases[-1]['output'][-1500:]
    print(json.dumps({k: v for k, v in r.items() if k != 'last_output'}), flush=True)
    return r


def short_labels(out: Path) -> dict:
    "Per task and mode, the labels short of per_label accepted texts (from the manifests)."
    short = {}
    for f in sorted(out.glob('*/generate/*/manifest.json')):
        m = json.loads(f.read_text())
        if m.get('short'): short[f'{f.parts[-4]}/{f.parts[-2]}'] = m['short']
    return short


def machine() -> str:
    from synthclf.core import machine_kind
    return f'{machine_kind()}, {os.cpu_count()} cores (shared)'


def save(rows: list[dict]):
    f = RESULTS/'endpoint_scale.json'
    old = json.loads(f.read_text()) if f.exists() else []
    names = {r['name'] for r in rows}
    allrows = [r for r in old if r['name'] not in names] + rows
    f.write_text(json.dumps(allrows, indent=1))
    print(f'-> {f} ({len(allrows)} rows)')
    md = RESULTS/'endpoint_scale.md'
    text = md.read_text() if md.exists() else '# Endpoint at scale\n\n<!-- table -->\n<!-- /table -->\n'
    head, rest = text.split('<!-- table -->', 1)
    tail = rest.split('<!-- /table -->', 1)[1]
    md.write_text(head + '<!-- table -->\n' + table(allrows) + '\n<!-- /table -->' + tail)


COLUMNS = ['name', 'requests', 'latency_s', 'in_flight', 'requests_per_s', 'client_cpu_ms_per_request',
           'client_cpu_ms_per_request_with_startup', 'client_cpu_ms_per_request_handled', 'server_cpu_ms_per_request', 'peak_rss_gib', 'cache_mib',
           'cache_lookup_ms', 'fault_share', 'repeated_after_kill', 'asked_again_uncommitted', 'rows_lost',
           'identical_to_reference', 'accepted_rows', 'wall_s', 'commit']


def table(rows: list[dict]) -> str:
    "The rows as a markdown table of `COLUMNS`."
    cell = lambda v: '' if v is None else f'{v:,}' if isinstance(v, int) and not isinstance(v, bool) else str(v)
    return '\n'.join(['| ' + ' | '.join(COLUMNS) + ' |', '|' + '---|' * len(COLUMNS)] +
                      ['| ' + ' | '.join(cell(r.get(c)) for c in COLUMNS) + ' |' for r in rows])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('which', choices=['small', 'kill', 'big', 'reference'])
    ap.add_argument('--work', default='/tmp/synthclf-endpoint-scale',
                    help='scratch folder (simulation data, caches, runs)')
    ap.add_argument('--kill-at', type=int, default=170_000,
                    help='big: kill the run once the endpoint saw this many requests')
    a = ap.parse_args()
    work = Path(a.work); sim = work/'sim'; sim.mkdir(parents=True, exist_ok=True)
    rows = []
    if a.which == 'small':
        for i, (latency, in_flight) in enumerate([(0.2, 64), (0.2, 512), (2.0, 64), (2.0, 512)]):
            name = f'sms_spam-{latency:g}s-{in_flight}'
            rows.append(row(name, work, sim, 'sms_spam', 1000, latency, in_flight, 18800 + i))
    if a.which == 'kill':
        ref = row('kill-reference', work, sim, 'sms_spam,tweet_irony', 1000, 0.2, 256, 18810)
        rows += [ref, row('kill-rerun', work, sim, 'sms_spam,tweet_irony', 1000, 0.2, 256, 18811, kill_at=4000,
                          reference=work/'kill-reference')]
    if a.which == 'big':
        rows.append(row('paper-size-kill', work, sim, ','.join(all_tasks()), 3000, 0.2, 512, 18820, kill_at=a.kill_at,
                        reference=work/'paper-size-reference' if (work/'paper-size-reference').exists() else None))
    if a.which == 'reference':
        rows.append(row('paper-size-reference', work, sim, ','.join(all_tasks()), 3000, 0.2, 512, 18821))
    save(rows)


def all_tasks() -> list[str]:
    from synthclf.tasks import list_tasks
    return list_tasks()


if __name__ == '__main__': main()
