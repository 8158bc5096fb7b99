"""Each stage's settings are defined once (synthclf.settings): `analyze`'s signature, `synthclf analyze`'s options and the
report notebook's parameters cell read them, so a default changed there is changed everywhere, and none is written again."""
import ast, json, subprocess, sys
from pathlib import Path

from synthclf.settings import ANALYZE, ENDPOINT

ROOT = Path(__file__).resolve().parents[1]
STAGE_NBS = [ROOT/'synth_nbs'/'04_report.ipynb', ROOT/'synth_nbs'/'03_subjectivity.ipynb']

# In a fresh interpreter: every setting's default changed (to another value of its type) before the package is imported,
# then what the API's signature, the CLI's parsed defaults and help, and the stage notebooks' parameters cells give.
FOLLOW = r'''
import dataclasses, inspect, json, sys
import synthclf.settings as s
other = lambda st, name: ({int: 17, float: 0.5, str: f'x-{name}'}[st.cli_type()] if st.default is None
                          else st.default + {int: 17, float: 0.5, str: '-x'}[type(st.default)])
for group in (s.ANALYZE, s.ENDPOINT):
    for name, st in group.items(): group[name] = dataclasses.replace(st, default=other(st, name))
s.ANALYZE_DEFAULTS.update(s.defaults(s.ANALYZE))
from synthclf.analysis import analyze
from synthclf.cli import parser
from synthclf.worth import DEFAULT_MARGIN
from synthclf.diversity import REFERENCE_SIZE
api = {k: p.default for k, p in inspect.signature(analyze).parameters.items() if k in s.ANALYZE}
cli = {k: v for k, v in vars(parser().parse_args(['analyze'])).items() if k in s.ANALYZE or k in s.ENDPOINT}
import argparse
sub = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)).choices['analyze']
helps = {a.dest: a.help or '' for a in sub._actions}
cells = {}
for nb in sys.argv[1:]:
    cell = next(c for c in json.load(open(nb))['cells'] if 'parameters' in c['metadata'].get('tags', []))
    ns = {}; exec(''.join(cell['source']), ns)
    cells[nb] = {k: ns[k] for k in list(s.ANALYZE) + list(s.ENDPOINT) if k in ns}
print(json.dumps({'want': {k: st.default for k, st in {**s.ANALYZE, **s.ENDPOINT}.items()}, 'api': api, 'cli': cli,
                  'help': helps, 'cells': cells, 'margin': DEFAULT_MARGIN, 'reference_size': REFERENCE_SIZE,
                  'backend_options': s.backend_options('openai')}))
'''


def test_every_default_changed_in_the_definition_is_followed_by_the_api_the_cli_and_the_notebooks():
    p = subprocess.run([sys.executable, '-c', FOLLOW, *map(str, STAGE_NBS)], capture_output=True, text=True, timeout=300,
                       cwd=ROOT)
    assert p.returncode == 0, p.stderr[-3000:]
    got = json.loads(p.stdout.strip().splitlines()[-1])
    want = got['want']
    assert want['judge_k'] == 20 and want['margin'] == 0.52 and want['classifier'] == 'x-classifier', want  # all changed
    assert got['api'] == {k: want[k] for k in ANALYZE}, got['api']
    assert got['cli'] == want, got['cli']
    for name, v in want.items():  # the help states the default it shows
        if ANALYZE.get(name, ENDPOINT.get(name)).default is not None: assert f"(default {v})" in got['help'][name], name
    report, subjectivity = (got['cells'][str(nb)] for nb in STAGE_NBS)
    assert report == want, report
    assert subjectivity and subjectivity == {k: want[k] for k in subjectivity}, subjectivity
    assert got['margin'] == want['margin'] and got['reference_size'] == want['reference_size']
    assert got['backend_options'] == {'base_url': None, 'concurrency': want['concurrency']}


def literal_defaults(src: str, names, functions=('analyze',)) -> dict:
    """Where a setting's default is written as a literal again in a module's source: `def f(judge_k=3)`, `x = 0.02`
    assigned to a setting's name, `add_argument('--judge-k', ...)` (an option the settings do not make)."""
    found = {}
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            pos = list(zip((a.posonlyargs + a.args)[len(a.posonlyargs + a.args) - len(a.defaults):], a.defaults))
            for arg, d in pos + [(x, d) for x, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None]:
                if arg.arg in names and isinstance(d, ast.Constant) and node.name in functions:
                    found[f"{node.name}({arg.arg}={d.value!r})"] = node.lineno
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for t in node.targets:
                if isinstance(t, ast.Name) and t.id in names: found[f"{t.id} = {node.value.value!r}"] = node.lineno
        elif (isinstance(node, ast.Call) and getattr(node.func, 'attr', '') == 'add_argument' and node.args
              and isinstance(node.args[0], ast.Constant) and str(node.args[0].value).startswith('--')
              and node.args[0].value[2:].replace('-', '_') in names):
            found[f"add_argument({node.args[0].value!r})"] = node.lineno
    return found


def test_the_checker_finds_a_literal_written_again():
    names = {'judge_k', 'margin', 'DEFAULT_MARGIN'}
    src = ("def analyze(runs, judge_k=3, margin=D['margin']): pass\ndef other(judge_k=3): pass\nDEFAULT_MARGIN = 0.02\n"
           "p.add_argument('--judge-k', type=int, default=3)\np.add_argument('--tasks')\n")
    assert set(literal_defaults(src, names)) == {"analyze(judge_k=3)", "DEFAULT_MARGIN = 0.02", "add_argument('--judge-k')"}


def test_no_default_of_a_setting_is_written_again():
    shared = set(ANALYZE) | set(ENDPOINT)
    found = {}
    for f in ('analysis', 'worth', 'diversity'):
        found |= {f"synthclf/{f}.py:{line}: {what}": 0 for what, line in
                  literal_defaults((ROOT/'synthclf'/f'{f}.py').read_text(), shared | {'DEFAULT_MARGIN', 'REFERENCE_SIZE'}).items()}
    cli = (ROOT/'synthclf'/'cli.py').read_text()  # the options of `synthclf analyze` (other commands have a --seed of their own)
    for fn in ast.parse(cli).body:
        if isinstance(fn, ast.FunctionDef) and fn.name in ('_add_analyze', '_analyze_input_options', '_endpoint_options'):
            found |= {f"synthclf/cli.py {fn.name}: {what}": 0 for what in literal_defaults(ast.get_source_segment(cli, fn), shared)}
    for nb in STAGE_NBS:
        cell = next(c for c in json.loads(nb.read_text())['cells'] if 'parameters' in c['metadata'].get('tags', []))
        found |= {f"{nb.name} parameters: {what}": 0 for what in literal_defaults(''.join(cell['source']), shared)}
    assert not found, ("settings written again instead of read from synthclf.settings (nbs/02_settings.ipynb): "
                       + '; '.join(found))


# The generate and train stages: the same check. Each stage's function(s), command and notebook, and the names a surface
# calls a setting by where it is not the setting's own (the train notebook's `classifier` is TRAIN's `model`).
STAGES = {'generate': {'settings': 'GENERATE', 'api': [('synthclf.generate', 'generate'), ('synthclf.kinds', 'file_generated')],
                       'nb': ROOT/'synth_nbs'/'01_generate.ipynb', 'alias': {}, 'endpoint': True},
          'train': {'settings': 'TRAIN', 'api': [('synthclf.experiments', 'train_and_evaluate')],
                    'nb': ROOT/'synth_nbs'/'02_train.ipynb', 'alias': {'classifier': 'model'}, 'endpoint': False}}
# train_and_evaluate's one seed is the API's own default (the quickest call; the CLI and the notebook fit TRAIN's seeds)
API_OWN = {('train_and_evaluate', 'seeds')}

FOLLOW_STAGES = r'''
import argparse, dataclasses, importlib, inspect, json, sys
import synthclf.settings as s
stages = json.loads(sys.argv[1])
other = lambda st, name: ({int: 17, float: 0.5, str: f'x-{name}'}[st.cli_type()] if st.default is None
                          else st.default + {int: 17, float: 0.5, str: '-x'}[type(st.default)])
for group in (s.GENERATE, s.TRAIN, s.ENDPOINT):
    for name, st in group.items(): group[name] = dataclasses.replace(st, default=other(st, name))
s.GENERATE_DEFAULTS.update(s.defaults(s.GENERATE)); s.TRAIN_DEFAULTS.update(s.defaults(s.TRAIN))
from synthclf.cli import parser
subs = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
got = {}
for stage, d in stages.items():
    settings = getattr(s, d['settings']); endpoint = s.ENDPOINT if d['endpoint'] else {}
    api = {f'{fn}.{k}': p.default for m, fn in d['api']
           for k, p in inspect.signature(getattr(importlib.import_module(m), fn)).parameters.items() if k in settings}
    cli = {k: v for k, v in vars(parser().parse_args([stage, '--task', 'x'])).items() if k in settings or k in endpoint}
    cell = next(c for c in json.load(open(d['nb']))['cells'] if 'parameters' in c['metadata'].get('tags', []))
    ns = {}; exec(''.join(cell['source']), ns)
    names = list(settings) + list(endpoint) + list(d['alias'])
    got[stage] = {'want': {k: st.default for k, st in {**settings, **endpoint}.items()}, 'api': api, 'cli': cli,
                  'help': {a.dest: a.help or '' for a in subs[stage]._actions},
                  'cell': {d['alias'].get(k, k): ns[k] for k in names if k in ns}}
print(json.dumps(got))
'''


def _stage_follows():
    spec = {st: {**d, 'nb': str(d['nb'])} for st, d in STAGES.items()}
    p = subprocess.run([sys.executable, '-c', FOLLOW_STAGES, json.dumps(spec)], capture_output=True, text=True, timeout=300,
                       cwd=ROOT)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_generate_and_train_defaults_changed_in_the_definition_are_followed_everywhere():
    from synthclf.settings import GENERATE, TRAIN
    got = _stage_follows()
    for stage, settings in (('generate', GENERATE), ('train', TRAIN)):
        g, want = got[stage], got[stage]['want']
        assert all(want[k] != st.default for k, st in settings.items()), want  # every default changed
        for fn in {k.split('.')[0] for k in g['api']}:  # each function's parameters that are settings
            api = {k.split('.')[1]: v for k, v in g['api'].items() if k.startswith(fn + '.')}
            assert {k: v for k, v in api.items() if (fn, k) not in API_OWN} == {k: want[k] for k in api
                                                                      if (fn, k) not in API_OWN}, (fn, api)
            assert len(api) >= 3, (fn, api)
        assert g['cli'] == want, (stage, g['cli'])
        for name, v in want.items():  # the help states the default it shows
            if settings.get(name, ENDPOINT.get(name)).default is not None: assert f"(default {v})" in g['help'][name], name
        assert len(g['cell']) >= 8 and g['cell'] == {k: want[k] for k in g['cell']}, (stage, g['cell'])
    assert set(got['generate']['api']) >= {f'generate.{k}' for k in GENERATE if k != 'batch_size'}  # batch_size: backend_kw
    assert got['train']['cell']['model'] == TRAIN['model'].default + '-x'  # the notebook's `classifier`


def test_no_default_of_a_generate_or_train_setting_is_written_again():
    from synthclf.settings import GENERATE, TRAIN
    found = {}
    for f, fns, names in (('generate', ('generate',), GENERATE), ('kinds', ('file_generated',), GENERATE),
                          ('experiments', ('train_and_evaluate',), TRAIN)):
        src = (ROOT/'synthclf'/f'{f}.py').read_text()
        found |= {f"synthclf/{f}.py:{line}: {what}": 0 for what, line in literal_defaults(src, set(names), fns).items()
                  if not any(what.startswith(f"{fn}({arg}=") for fn, arg in API_OWN)}
    cli = (ROOT/'synthclf'/'cli.py').read_text()
    for fn in ast.parse(cli).body:
        if isinstance(fn, ast.FunctionDef) and fn.name in ('_add_generate', '_add_train'):
            names = set(GENERATE if fn.name == '_add_generate' else TRAIN) | set(ENDPOINT)
            found |= {f"synthclf/cli.py {fn.name}: {what}": 0 for what in literal_defaults(ast.get_source_segment(cli, fn), names)}
    for stage, d in STAGES.items():
        names = set(GENERATE if stage == 'generate' else TRAIN) | set(ENDPOINT) | set(d['alias'])
        cell = next(c for c in json.loads(d['nb'].read_text())['cells'] if 'parameters' in c['metadata'].get('tags', []))
        found |= {f"{d['nb'].name} parameters: {what}": 0 for what in literal_defaults(''.join(cell['source']), names)}
    assert not found, ("settings written again instead of read from synthclf.settings (nbs/02_settings.ipynb): "
                       + '; '.join(found))
