"""The outputs the docs site shows under the examples of nbs/ are those of the sources above them.

`tools/stamp_outputs.py` (`make nbs-outputs`) executes a notebook and stamps every code cell with a hash of its source
(`metadata.source_hash`). For every stamped notebook these tests fail when a code cell's source no longer matches its
stamp (edited after it ran, or added and never run), or when an example cell (not exported, not hidden) surely displays
a value and has no output: its last statement is an expression other than a call (a name, a subscript, a comparison...),
or a print/display/show_doc call. A cell ending in an assignment, an assert, a loop or another call may print nothing.
"""
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
from stamp_outputs import STAMP, displays_a_value, is_example, is_stamped, notebooks, output_problems, source_hash  # noqa: E402

# True once every notebook of nbs/ has been stamped (`make nbs-outputs`): then an unstamped notebook fails too.
EVERY_NOTEBOOK_STAMPED = True

NOTEBOOKS = notebooks([])


@pytest.mark.parametrize('path', NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_outputs_match_their_sources(path):
    nb = nbformat.read(str(path), as_version=4)
    if not is_stamped(nb):
        if EVERY_NOTEBOOK_STAMPED and any(c.cell_type == 'code' for c in nb.cells):
            pytest.fail(f'{path.name} was never executed by tools/stamp_outputs.py: make nbs-outputs NBS={path.name}')
        pytest.skip(f'{path.name} is not stamped yet (make nbs-outputs NBS={path.name})')
    problems = output_problems(nb)
    assert not problems, f"{path.name}: " + '; '.join(problems) + f" -- run `make nbs-outputs NBS={path.name}` and commit it"


def test_some_notebooks_are_stamped():
    "The check above checks something: at least the demonstration notebooks carry stamps."
    stamped = [p.name for p in NOTEBOOKS if is_stamped(nbformat.read(str(p), as_version=4))]
    assert {'02_layout.ipynb', '08_kinds.ipynb'} <= set(stamped), stamped


def test_a_stale_or_missing_output_is_caught():
    "A stamped notebook with one example's source edited, then with an output dropped: each is named; the fresh one passes."
    nb = nbformat.read(str(ROOT/'nbs'/'08_kinds.ipynb'), as_version=4)
    assert output_problems(nb) == []
    i = next(i for i, c in enumerate(nb.cells) if is_example(c) and displays_a_value(c.source) and c.outputs)
    stale = nbformat.from_dict(nb)
    stale.cells[i].source += '\n'  # whitespace at the end: not a change
    assert output_problems(stale) == []
    stale.cells[i].source = stale.cells[i].source.replace('=', ' = ', 1) + '\n1 + 1'
    assert output_problems(stale) == [f'cell {i}: its source changed since its outputs were made']
    dropped = nbformat.from_dict(nb)
    dropped.cells[i].outputs = []
    assert output_problems(dropped) == [f'cell {i}: ends in a displayed value but has no output']
    new = nbformat.from_dict(nb)
    new.cells.insert(i, nbformat.v4.new_code_cell('x = 1'))
    assert output_problems(new) == [f'cell {i}: never executed by tools/stamp_outputs.py (no {STAMP})']


@pytest.mark.parametrize('source, shows', [
    ('x = 1\nx', True), ('d[1:3]', True), ('a == b', True), ('print(1)', True), ('display(df)', True), ('show_doc(f)', True),
    ('x = 1', False), ('assert x == 1', False), ('f(x)', False), ('x;', False), ('for i in x: print(i)', False),
    ('None', False), ('%time f()', False), ('not python (', False), ('#| export\ndef f(): pass', False),
])
def test_which_cells_must_show_an_output(source, shows):
    assert displays_a_value(source) is shows


def test_the_stamp_ignores_only_trailing_whitespace():
    assert source_hash('x = 1\n') == source_hash('x = 1   \n\n') != source_hash('x  = 1')


def test_the_tool_stamps_a_notebook_and_stops_on_one_that_fails(tmp_path):
    "A notebook that executes gets its outputs and stamps; one that raises stops the tool with its name, unchanged."
    import subprocess
    cells = [nbformat.v4.new_code_cell('x = 20 + 1'), nbformat.v4.new_code_cell('x * 2')]
    good = nbformat.v4.new_notebook(cells=cells, metadata={'kernelspec': {'name': 'python3', 'display_name': 'python3'}})
    bad = nbformat.from_dict(good)
    bad.cells.insert(1, nbformat.v4.new_code_cell("raise ValueError('planted failure')"))
    nbformat.write(good, str(tmp_path/'good.ipynb')); nbformat.write(bad, str(tmp_path/'bad.ipynb'))
    before = (tmp_path/'bad.ipynb').read_text()
    tool = [sys.executable, str(ROOT/'tools'/'stamp_outputs.py')]
    p = subprocess.run([*tool, str(tmp_path/'good.ipynb'), str(tmp_path/'bad.ipynb')], capture_output=True, text=True, timeout=300)
    assert p.returncode != 0 and 'planted failure' in p.stderr
    assert 'stamp_outputs: bad.ipynb failed to execute' in p.stderr.strip().splitlines()[-1]
    assert (tmp_path/'bad.ipynb').read_text() == before
    stamped = nbformat.read(str(tmp_path/'good.ipynb'), as_version=4)
    assert is_stamped(stamped) and output_problems(stamped) == []
    assert stamped.cells[1].outputs[0]['data']['text/plain'] == '42'


def test_a_cell_whose_code_is_the_same_is_stamped_again_without_running():
    "A line broken in two (the same syntax tree) is stamped again; a changed value, or a cell stale before, is not."
    from stamp_outputs import restamp_same_code
    old = nbformat.read(str(ROOT/'nbs'/'08_kinds.ipynb'), as_version=4)
    assert output_problems(old) == []
    i, j = [k for k, c in enumerate(old.cells) if c.cell_type == 'code' and '(' in c.source and '=' in c.source][:2]
    nb = nbformat.from_dict(old)
    nb.cells[i].source = nb.cells[i].source.replace('(', '(\n    ', 1)  # a line break inside brackets: same code
    nb.cells[j].source = nb.cells[j].source.replace('=', '= 1 +', 1)     # another computation
    assert restamp_same_code(nb, old) == 1
    assert output_problems(nb) == [f'cell {j}: its source changed since its outputs were made']
    stale_before = nbformat.from_dict(nb)  # cell j was already stale: breaking its lines does not make it fresh
    nb2 = nbformat.from_dict(stale_before)
    nb2.cells[j].source = nb2.cells[j].source.replace('(', '(\n    ', 1)
    assert restamp_same_code(nb2, stale_before) == 0 and output_problems(nb2) == [f'cell {j}: its source changed since its outputs were made']
    with pytest.raises(ValueError, match='cells were added or removed'):
        restamp_same_code(nbformat.from_dict({**old, 'cells': old.cells[:-1]}), old)


def test_a_rewrapped_docstring_is_the_same_code_but_a_changed_string_is_not():
    from stamp_outputs import same_code
    old = 'def f(x):\n    "Add one to `x`, a number."\n    return x + 1'
    assert same_code(old, 'def f(x):\n    """Add one to `x`,\n    a number."""\n    return x + 1')  # docstring rewrapped
    assert not same_code(old, 'def f(x):\n    "Add two to `x`, a number."\n    return x + 1')     # its words changed
    assert not same_code('s = "a b"', 's = "a  b"')  # a string that is not a docstring keeps its spaces
    assert not same_code(old, old.replace('x + 1', 'x + 2'))
