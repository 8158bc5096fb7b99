"""`synthclf run` and the command line: manifests that notice a change in anything that shaped a stage (parameters, notebook,
synthclf source, card, real data, generator, upstream stages), Ctrl-C, --dry-run, card paths, credentials, the key only from the
environment, one folder layout for generate/train/analyze, light imports, scheduling and progress."""
import base64
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest
import yaml

from conftest import TINY_RUN

SYNTHCLF = str(Path(sys.executable).parent/'synthclf')
ROOT = Path(__file__).resolve().parents[1]
PASSWORD, KEY = 'pw-Secret-7301', 'sk-Key-Secret-4486'
WORDS = ('call now free prize claim your reward text stop to win cash offer today mate dinner tonight meeting late bus '
         'home love thanks sorry week number mobile urgent account update voucher holiday weekend film pub train work').split()


class FakeOpenAI(BaseHTTPRequestHandler):
    "A real OpenAI-compatible chat-completions endpoint on loopback: a new text of 8 to 16 words per request."
    seen = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
        FakeOpenAI.seen.append({'path': self.path, 'auth': self.headers.get('Authorization'), 'model': body.get('model')})
        rng = random.Random(len(FakeOpenAI.seen))
        text = ' '.join(rng.choice(WORDS) for _ in range(rng.randint(8, 16))).capitalize() + '.'
        out = json.dumps({'id': f'c{len(FakeOpenAI.seen)}', 'object': 'chat.completion', 'created': int(time.time()), 'model': body.get('model'),
                          'choices': [{'index': 0, 'message': {'role': 'assistant', 'content': text}, 'finish_reason': 'stop'}],
                          'usage': {'prompt_tokens': 20, 'completion_tokens': 12, 'total_tokens': 32}}).encode()
        self.send_response(200); self.send_header('Content-Type', 'application/json'); self.send_header('Content-Length', str(len(out)))
        self.end_headers(); self.wfile.write(out)

    def log_message(self, *a): pass


def run_cli(args, env, timeout=1500, cwd=None):
    return subprocess.run([SYNTHCLF, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=cwd)


def started(stdout):
    "The (task, stage) pairs a run's output says were executed."
    return {tuple(l.split(']', 1)[1].split()[:2]) for l in stdout.splitlines() if l.startswith('[') and l.rstrip().endswith('started')}


def crowd_csv(folder, task) -> Path:
    "`folder/crowd.csv`: simulated pairwise judgments of `task` against ag_news and tweet_irony, as a crowd would give them."
    from synthclf.subjectivity import simulate_judgments
    simulate_judgments({task: -1.0, 'ag_news': -1.5, 'tweet_irony': 1.0}, per_pair=6).to_csv(folder/'crowd.csv', index=False)
    return folder/'crowd.csv'


@pytest.fixture(scope='session')
def own_run(tmp_path_factory, smollm2, real_data):
    """A tiny run of one task given as a card file outside the package (no SYNTHCLF_CARDS), generated through a loopback
    OpenAI-compatible endpoint whose URL carries a password (and OPENAI_API_KEY set), with a copy of the stage notebooks and its
    own data folder (`-p data_dir=`, a writable copy of the real SMS spam files)."""
    tmp = tmp_path_factory.mktemp('own')
    nbs = tmp/'synth_nbs'; shutil.copytree(ROOT/'synth_nbs', nbs)
    card = yaml.safe_load((ROOT/'synthclf'/'cards'/'sms_spam.yaml').read_text())
    card['name'] = 'my_spam'
    (tmp/'elsewhere').mkdir(); (tmp/'elsewhere'/'my_spam.yaml').write_text(yaml.safe_dump(card))
    data = tmp/'data'; (data/'sms_spam').mkdir(parents=True)
    for f in (real_data/'sms_spam').iterdir(): shutil.copyfile(f, data/'sms_spam'/f.name)  # the shared files are read-only
    server = ThreadingHTTPServer(('127.0.0.1', 0), FakeOpenAI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f'http://tester:{PASSWORD}@127.0.0.1:{server.server_address[1]}/v1'
    env = {k: v for k, v in os.environ.items() if k != 'SYNTHCLF_CARDS'}
    env.update(SYNTHCLF_NOTEBOOKS=str(nbs), OPENAI_API_KEY=KEY)
    # the report ranks tasks from a judgments CSV (the LLM judge runs in the tiny run's report)
    args = ['run', '--tasks', str(tmp/'elsewhere'/'my_spam.yaml'), '--out', str(tmp/'run'), *TINY_RUN, '-p', f'data_dir={data}',
            '-p', 'generate.backend=openai', '-p', f'generate.base_url={url}', '-p', f'report.judgments={crowd_csv(tmp, "my_spam")}']
    p = run_cli(args, env)
    yield {'out': tmp/'run', 'nbs': nbs, 'env': env, 'args': args, 'p': p, 'url': url, 'card': tmp/'elsewhere'/'my_spam.yaml', 'data': data}
    server.shutdown()


def own_copy(own_run, tmp_path):
    "A copy of the own run's folder and notebooks that a test may change (the other tests see the run as it was made): out, notebooks, args, env."
    out, nbs = tmp_path/'run', tmp_path/'synth_nbs'
    shutil.copytree(own_run['out'], out); shutil.copytree(own_run['nbs'], nbs)
    args = [str(out) if a == str(own_run['out']) else a for a in own_run['args']]
    return out, nbs, args, {**own_run['env'], 'SYNTHCLF_NOTEBOOKS': str(nbs)}


def recorded_source(run) -> str:
    "The synthclf source's sha256 as a run recorded it (in its report's manifest)."
    return json.loads((Path(run)/'.stages'/'report.json').read_text())['inputs']['source_sha256']


def dry_plan(args, env, monkeypatch, capsys, source) -> dict:
    """`synthclf ARGS --dry-run` in this process, so that a test can change what the runner computes, with the environment `env`
    and the synthclf source's hash pinned to `source` (what the run recorded: work on the package while the tests run must not
    count). The plan, {(task, stage): (status, why)}, from the printed lines, which keep their format."""
    from synthclf import manifest
    from synthclf.cli import main
    for k in ('SYNTHCLF_CARDS', 'OPENAI_BASE_URL'):
        if k not in env: monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        if os.environ.get(k) != v: monkeypatch.setenv(k, v)
    monkeypatch.setattr(manifest, 'package_source_sha256', lambda pkg_dir=None: source)
    capsys.readouterr()
    main([*args, '--dry-run'])
    out = capsys.readouterr().out
    rows = [re.fullmatch(r'  (\S+) +(\S+) +(to run|skipped): (.+)', l) for l in out.splitlines() if l.startswith('  ')]
    assert rows and all(rows), out
    return {(m[1], m[2]): (m[3], m[4]) for m in rows}


def expect(plan, to_run: dict):
    "Exactly the stages of `to_run`, {(task, stage): why}, run, each for that reason; the others are skipped, finished and verified."
    assert {k: why for k, (status, why) in plan.items() if status == 'to run'} == to_run, plan
    assert all(why.startswith('finished') for status, why in plan.values() if status == 'skipped'), plan


def after_generate(task) -> dict:
    "What runs again, and why, once `task`'s generate stage does: every later stage of the task, and the report."
    return {(task, 'train'): 'an upstream stage (generate) changed', (task, 'subjectivity'): 'upstream stages (generate, train) changed',
            ('*', 'report'): f'upstream stages ({task} generate, {task} train, {task} subjectivity) changed'}


@pytest.mark.slow
def test_card_file_works_without_synthclf_cards(own_run):
    p, out = own_run['p'], own_run['out']
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    summary = json.loads((out/'summary.json').read_text())
    assert summary['tasks'] == ['my_spam'] and summary['failed'] == 0
    assert {(r['task'], r['stage']): r['status'] for r in summary['stages']} == {
        ('my_spam', 'generate'): 'done', ('my_spam', 'train'): 'done', ('my_spam', 'subjectivity'): 'done', ('*', 'report'): 'done'}
    assert yaml.safe_load((out/'cards'/'my_spam.yaml').read_text())['name'] == 'my_spam'  # the run's own copy, found by name
    trained = [p for p in (out/'my_spam').glob('*/tfidf/seed0/metrics.json') if not p.parts[-4].startswith('dir-')]
    assert len(trained) == 13 and (out/'report.html').is_file()  # 3 sources + the curve's 4 + 6 mixtures (and remedies)


@pytest.mark.slow
def test_credentials_never_written(own_run):
    assert own_run['p'].returncode == 0, own_run['p'].stderr[-3000:]
    hits = FakeOpenAI.seen
    assert hits and all(h['path'] == '/v1/chat/completions' for h in hits)  # the real URL reached the kernel, through the environment
    basic = 'Basic ' + base64.b64encode(f'tester:{PASSWORD}'.encode()).decode()  # httpx sends a URL's user info as basic auth
    assert all(h['auth'] in (basic, f'Bearer {KEY}') for h in hits), hits[:3]  # the credentials reached the endpoint
    files = [f for f in own_run['out'].rglob('*') if f.is_file()]
    assert len(files) > 20
    for f in files:
        data = f.read_bytes()
        assert PASSWORD.encode() not in data and KEY.encode() not in data, f
    for text in (own_run['p'].stdout, own_run['p'].stderr): assert PASSWORD not in text and KEY not in text
    man = json.loads((own_run['out']/'my_spam'/'.stages'/'generate.json').read_text())
    port = urlsplit(own_run['url']).port  # the generator is known by the endpoint without its credentials, and the model's name
    assert man['parameters']['base_url'] is None and man['inputs']['generator'] == {
        'backend': 'openai', 'endpoint': f'http://127.0.0.1:{port}/v1', 'model': 'smollm2-135m-instruct'}


@pytest.mark.slow
def test_progress_lines_when_not_a_terminal(own_run):
    lines = [l for l in own_run['p'].stdout.splitlines() if l.startswith('[')]
    assert '\x1b[' not in own_run['p'].stdout  # plain lines: stdout is a pipe
    train = [l for l in lines if ' train ' in l]
    # one count for the whole stage, from its progress file: the 13 planned sources (3, the curve's 4, 6 mixtures) and each
    # remedied set the stage made, not a count that starts again for the remedies (its last line said 4/4 after 13/13)
    trained = len(list((own_run['out']/'my_spam').glob('*/tfidf/seed*/metrics.json')))
    assert trained > 13 and re.search(rf'done in \S+ \({trained}/{trained} experiments\)$', train[-1]), (trained, train)
    dones, totals = zip(*[map(int, m.groups()) for l in train if (m := re.search(r'(\d+)/(\d+) experiments', l))])
    # the count only grows; the total only shrinks, from the plan's upper bound (remedied sets not yet made) to the exact one
    assert list(dones) == sorted(dones) and list(totals) == sorted(totals, reverse=True), train
    assert (own_run['out']/'my_spam'/'.stages'/'train.progress.json').is_file()


@pytest.mark.slow
def test_dry_run_runs_nothing(own_run, tmp_path):
    out = own_run['out']
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob('*') if p.is_file()}
    p = run_cli([*own_run['args'], '--dry-run'], own_run['env'], timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    rows = [l.split() for l in p.stdout.splitlines() if l.startswith('  ')]
    assert [(r[0], r[1], r[2]) for r in rows] == [('my_spam', s, 'skipped:') for s in ('generate', 'train', 'subjectivity')] + [('*', 'report', 'skipped:')], p.stdout
    assert {q: q.stat().st_mtime_ns for q in stamps} == stamps and set(out.rglob('*')) >= set(stamps)
    fresh = tmp_path/'fresh'
    p = run_cli(['run', '--tasks', 'sms_spam', '--out', str(fresh), '--dry-run', *TINY_RUN], own_run['env'], timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.count('to run: not run yet') == 4 and not fresh.exists(), p.stdout


@pytest.mark.slow
def test_a_changed_notebook_reruns_its_stage_and_the_later_ones(own_run, tmp_path):
    out, nbs, args, env = own_copy(own_run, tmp_path)
    nb = nbformat.read(str(nbs/'02_train.ipynb'), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("print('a changed train notebook')"))
    nbformat.write(nb, str(nbs/'02_train.ipynb'))
    p = run_cli([*args, '--dry-run'], env, timeout=300)
    assert any(l.split()[:2] == ['my_spam', 'train'] and 'to run: the notebook 02_train.ipynb changed' in l for l in p.stdout.splitlines()), p.stdout
    before = {s: (out/'my_spam'/f'{s}.ipynb').stat().st_mtime_ns for s in ('generate', 'train', 'subjectivity')}
    report = (out/'report.ipynb').stat().st_mtime_ns
    p = run_cli(args, env)
    assert p.returncode == 0, p.stderr[-3000:]
    assert started(p.stdout) == {('my_spam', 'train'), ('my_spam', 'subjectivity'), ('*', 'report')}, p.stdout
    recs = {(r['task'], r['stage']): r for r in json.loads((out/'summary.json').read_text())['stages']}
    assert recs[('my_spam', 'generate')]['status'] == 'skipped' and all(recs[k]['status'] == 'done' for k in
                                                                        [('my_spam', 'train'), ('my_spam', 'subjectivity'), ('*', 'report')])
    assert (out/'my_spam'/'generate.ipynb').stat().st_mtime_ns == before['generate']
    assert all((out/'my_spam'/f'{s}.ipynb').stat().st_mtime_ns > before[s] for s in ('train', 'subjectivity'))
    assert (out/'report.ipynb').stat().st_mtime_ns > report
    assert 'a changed train notebook' in (out/'my_spam'/'train.ipynb').read_text()
    p = run_cli(args, env)  # nothing changed since: nothing runs
    assert p.returncode == 0 and started(p.stdout) == set(), p.stdout
    assert all(r['status'] == 'skipped' for r in json.loads((out/'summary.json').read_text())['stages'])


@pytest.mark.slow
def test_a_changed_parameter_reruns_its_stage_and_the_report(own_run, monkeypatch, capsys):
    src = recorded_source(own_run['out'])
    expect(dry_plan(own_run['args'], own_run['env'], monkeypatch, capsys, src), {})  # nothing changed: nothing runs
    plan = dry_plan([*own_run['args'], '-p', 'subjectivity.reference_size=50'], own_run['env'], monkeypatch, capsys, src)
    expect(plan, {('my_spam', 'subjectivity'): 'parameters changed', ('*', 'report'): 'an upstream stage (my_spam subjectivity) changed'})


@pytest.mark.slow
def test_an_edited_judgments_file_reruns_the_report(own_run, monkeypatch, capsys):
    crowd = Path(next(a.split('=', 1)[1] for a in own_run['args'] if a.startswith('report.judgments=')))
    before = crowd.read_bytes()
    try:
        crowd.write_bytes(before + before.splitlines(keepends=True)[-1])  # one more judgment
        expect(dry_plan(own_run['args'], own_run['env'], monkeypatch, capsys, recorded_source(own_run['out'])),
               {('*', 'report'): 'the file judgments: crowd.csv changed'})
    finally: crowd.write_bytes(before)


@pytest.mark.slow
def test_an_edited_card_reruns_its_task(own_run, monkeypatch, capsys):
    card, text, src = own_run['card'], own_run['card'].read_text(), recorded_source(own_run['out'])
    try:
        card.write_text('# a comment: nothing the notebooks read\n' + text)
        expect(dry_plan(own_run['args'], own_run['env'], monkeypatch, capsys, src), {})
        y = yaml.safe_load(text); y['labels'][1]['description'] += ', or any message its reader did not ask for'
        card.write_text(yaml.safe_dump(y))  # the prompts change
        expect(dry_plan(own_run['args'], own_run['env'], monkeypatch, capsys, src),
               {('my_spam', 'generate'): 'the task card changed', **after_generate('my_spam')})
    finally: card.write_text(text)


@pytest.mark.slow
def test_changed_real_data_reruns_its_task(own_run, monkeypatch, capsys):
    train, src = own_run['data']/'sms_spam'/'train.csv', recorded_source(own_run['out'])
    before = train.read_bytes()
    try:
        train.write_bytes(before + b'see you at the pub at eight,ham\n')
        expect(dry_plan(own_run['args'], own_run['env'], monkeypatch, capsys, src),
               {('my_spam', 'generate'): 'the real data changed (train.csv)', **after_generate('my_spam')})
    finally: train.write_bytes(before)
    expect(dry_plan(own_run['args'], own_run['env'], monkeypatch, capsys, src), {})  # the same content again: nothing runs


@pytest.mark.slow
def test_other_synthclf_source_reruns_every_stage(own_run, monkeypatch, capsys, tmp_path):
    import synthclf
    from synthclf.manifest import package_source_sha256
    for name in ('a', 'b'): shutil.copytree(Path(synthclf.__file__).parent, tmp_path/name/'synthclf', ignore=shutil.ignore_patterns('__pycache__'))
    shutil.copytree(tmp_path/'a'/'synthclf', tmp_path/'same'/'synthclf')
    (tmp_path/'b'/'synthclf'/'generate.py').write_text((tmp_path/'b'/'synthclf'/'generate.py').read_text() + '\n# a fix\n')
    a = package_source_sha256(tmp_path/'a'/'synthclf')
    assert package_source_sha256(tmp_path/'same'/'synthclf') == a != package_source_sha256(tmp_path/'b'/'synthclf')
    src = recorded_source(own_run['out'])
    manifests = [m for m in own_run['out'].rglob('.stages/*.json') if not m.name.endswith('.progress.json')]
    assert len(manifests) == 4 and {json.loads(m.read_text())['inputs']['source_sha256'] for m in manifests} == {src}  # one run, one source
    expect(dry_plan(own_run['args'], own_run['env'], monkeypatch, capsys, '0' * 64),
           {('my_spam', 'generate'): 'the synthclf source changed', **after_generate('my_spam')})


@pytest.mark.slow
def test_another_endpoint_reruns_generation(own_run, monkeypatch, capsys):
    server = ThreadingHTTPServer(('127.0.0.1', 0), FakeOpenAI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f'http://tester:{PASSWORD}@127.0.0.1:{server.server_address[1]}/v1'
        args = [a.replace(own_run['url'], url) for a in own_run['args']]
        plan = dry_plan(args, own_run['env'], monkeypatch, capsys, recorded_source(own_run['out']))
    finally: server.shutdown()
    was, now = (f"smollm2-135m-instruct at http://127.0.0.1:{urlsplit(u).port}/v1" for u in (own_run['url'], url))
    expect(plan, {('my_spam', 'generate'): f'the generator changed ({was} → {now})', **after_generate('my_spam')})


@pytest.mark.slow
def test_other_local_weights_rerun_generation(tiny_run, monkeypatch, capsys, tmp_path):
    "The local generator is known by the sha256 of its weights recorded when it was pulled; a preset not pulled has none."
    from synthclf.models import WEIGHTS_RECORD, models_dir
    name, src = 'smollm2-135m-instruct', recorded_source(tiny_run['out'])
    args = ['run', '--tasks', 'sms_spam', '--out', str(tiny_run['out']), *TINY_RUN]
    expect(dry_plan(args, tiny_run['env'], monkeypatch, capsys, src), {})
    real, other = models_dir()/name, tmp_path/'models'/name
    rec = json.loads((real/'hf'/WEIGHTS_RECORD).read_text())
    (other/'hf').mkdir(parents=True); shutil.copyfile(real/'pulled.json', other/'pulled.json')
    for f in (real/'hf').iterdir():
        if f.name != WEIGHTS_RECORD: (other/'hf'/f.name).symlink_to(f)
    (other/'hf'/WEIGHTS_RECORD).write_text(json.dumps({**rec, 'sha256': '0' * 64}))  # converted otherwise (another transformers)
    plan = dry_plan(args, {**tiny_run['env'], 'SYNTHCLF_MODELS': str(tmp_path/'models')}, monkeypatch, capsys, src)
    was = f"{name}, weights {rec['sha256'][:12]}"
    expect(plan, {('sms_spam', 'generate'): f'the generator changed ({was} → {name}, weights {"0" * 12})', **after_generate('sms_spam')})
    plan = dry_plan(args, {**tiny_run['env'], 'SYNTHCLF_MODELS': str(tmp_path/'none')}, monkeypatch, capsys, src)
    assert plan[('sms_spam', 'generate')] == ('to run', f'the generator changed ({was} → {name}, not pulled yet)'), plan


@pytest.mark.slow
def test_a_stage_made_again_reruns_the_stages_that_read_it(own_run, tmp_path, monkeypatch, capsys):
    "generate made again (by a run stopped before train, say): what reads its files runs again, though generate itself is finished."
    from synthclf.layout import manifest_path
    from synthclf.manifest import write_manifest
    out, nbs, args, env = own_copy(own_run, tmp_path)
    src = recorded_source(out)
    expect(dry_plan(args, env, monkeypatch, capsys, src), {})
    man = json.loads(manifest_path(out, 'my_spam', 'generate').read_text())
    f = next(p for p in sorted((out/'my_spam'/'generate').rglob('*')) if p.is_file())
    f.write_bytes(f.read_bytes() + b'\n')
    write_manifest(out, 'my_spam', 'generate', man['parameters'], man['seconds'], man['inputs'])
    expect(dry_plan(args, env, monkeypatch, capsys, src),
           {('my_spam', 'train'): 'an upstream stage (generate) changed', ('my_spam', 'subjectivity'): 'an upstream stage (train) changed',
            ('*', 'report'): 'upstream stages (my_spam train, my_spam subjectivity) changed'})


@pytest.mark.slow
def test_a_manifest_from_an_older_synthclf_reruns(own_run, tmp_path, monkeypatch, capsys):
    from synthclf.layout import manifest_path
    out, nbs, args, env = own_copy(own_run, tmp_path)
    m = manifest_path(out, 'my_spam', 'train'); man = json.loads(m.read_text())
    man['inputs'] = {k: man['inputs'][k] for k in ('notebook', 'notebook_sha256', 'synthclf')}; del man['identity']  # as 0.1.0 wrote it
    m.write_text(json.dumps(man))
    expect(dry_plan(args, env, monkeypatch, capsys, recorded_source(out)),
           {('my_spam', 'train'): 'made by an older synthclf', ('my_spam', 'subjectivity'): 'an upstream stage (train) changed',
            ('*', 'report'): 'upstream stages (my_spam train, my_spam subjectivity) changed'})


@pytest.mark.slow
def test_ctrl_c_writes_the_summary_and_no_manifest(tmp_path, smollm2, real_data):
    out = tmp_path/'run'
    proc = subprocess.Popen([SYNTHCLF, 'run', '--tasks', 'sms_spam', '--out', str(out), *TINY_RUN], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        for line in proc.stdout:
            if 'generate' in line and line.rstrip().endswith('started'): break
        time.sleep(6)  # the stage's worker and kernel are running
        assert proc.poll() is None
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole foreground process group
        rest, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None: proc.kill()
    assert proc.returncode == 130, err[-3000:]
    summary = json.loads((out/'summary.json').read_text())
    recs = {(r['task'], r['stage']): r for r in summary['stages']}
    assert summary['interrupted'] and recs[('sms_spam', 'generate')]['status'] == 'interrupted', summary
    assert recs[('sms_spam', 'train')]['status'] == 'skipped' and recs[('sms_spam', 'train')]['detail'] == 'interrupted (Ctrl-C)'
    assert not (out/'sms_spam'/'.stages'/'generate.json').exists()
    assert 'INTERRUPTED' in rest and 'Interrupted: run the same command again' in rest


def test_api_key_on_the_command_line_is_refused(tmp_path):
    for cmd in (['generate', '--task', 'sms_spam', '--backend', 'openai', '--api-key', 'sk-visible-in-ps'],
                ['analyze', '--backend', 'openai', '--api-key', 'sk-visible-in-ps']):
        p = run_cli(cmd, os.environ, timeout=120, cwd=tmp_path)
        assert p.returncode == 2 and 'OPENAI_API_KEY' in p.stderr and 'sk-visible-in-ps' not in p.stderr, p.stderr
        assert 'OPENAI_API_KEY' in run_cli([cmd[0], '--help'], os.environ, timeout=120).stdout
    assert not any(tmp_path.iterdir())


def test_importing_the_cli_and_the_runner_loads_no_torch():
    code = ("import sys, synthclf.cli, synthclf.runner; synthclf.cli.parser(); "
            "print(sorted(m for m in ('torch', 'transformers', 'sklearn', 'papermill') if m in sys.modules))")
    p = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout.strip() == '[]', p.stdout + p.stderr


@pytest.mark.slow
def test_generate_train_analyze_in_sequence_with_default_folders(tmp_path, smollm2, real_data):
    env = {**os.environ, 'SYNTHCLF_DATA_DIR': str(real_data)}
    p = run_cli(['generate', '--task', 'sms_spam', '--mode', 'zero_shot', 'few_shot', '--per-label', '2', '--model', 'smollm2-135m-instruct'],
                env, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    run = tmp_path/'runs'/'default'
    for mode in ('zero_shot', 'few_shot'): assert (run/'sms_spam'/'generate'/mode/'manifest.json').is_file()
    p = run_cli(['train', '--task', 'sms_spam', '--train-on', 'real_matched', 'zero_shot', 'few_shot', '--model', 'tfidf', '--seeds', '1',
                 '--test-cap', '100'], env, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    assert len(list((run/'sms_spam').glob('*/tfidf/seed0/metrics.json'))) == 3
    # task-level judgments from a CSV, as a crowd would give them (the LLM judge has its own end-to-end test in test_analysis)
    p = run_cli(['analyze', '--judgments', str(crowd_csv(tmp_path, 'sms_spam')), '--diversity-per-label', '2', '--reference-size', '100'], env, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    div = (run/'analysis'/'diversity.csv').read_text()
    assert 'sms_spam' in div and 'zero_shot' in div and 'few_shot' in div  # the synthetic texts were found in the run folder
    assert (run/'analysis'/'verdict.md').is_file()


@pytest.mark.slow
def test_local_generations_start_side_by_side(tiny_run):
    """Two tasks, two workers, a small model: with two cores both generations start before either ends (the run's own lines, in
    order), a core each; with one (`make test` gives each of its two test processes one), one after the other."""
    from synthclf.core import cores  # the run inherits this process's OMP_NUM_THREADS
    events = [l.split(']', 1)[1].split(None, 2) for l in tiny_run['stdout'].splitlines() if l.startswith('[')]
    gen = [(i, task, text) for i, (task, stage, text) in enumerate(events) if stage == 'generate']
    starts = [(i, task) for i, task, text in gen if text == 'started']
    assert len(starts) == 2, tiny_run['stdout']
    first_end = min(i for i, task, text in gen if text.startswith(('done in', 'FAILED')))
    assert (max(i for i, _ in starts) < first_end) == (cores() >= 2), (cores(), tiny_run['stdout'])
    assert not any(stage == 'memory' for _, stage, _ in events), "the small model's two copies fit: no limit said"
