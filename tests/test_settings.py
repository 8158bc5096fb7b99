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
