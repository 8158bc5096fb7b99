"""Execute notebooks of nbs/ in place and stamp each code cell with a hash of the source its outputs came from.

    python tools/stamp_outputs.py [NB ...]     execute and stamp (default: index.ipynb and every nbs/NN_*.ipynb)
    python tools/stamp_outputs.py --check      list the stale or missing outputs of the stamped notebooks, execute nothing
    python tools/stamp_outputs.py --same-code REV [NB ...]
                                               stamp again, executing nothing, the cells whose outputs were fresh at git
                                               revision REV and whose code is the same there (the same syntax tree: only
                                               layout, line breaks, comments or docstrings' spacing changed); name any other stale cell

A notebook that fails to execute stops the tool with its name and the failing cell, and is left as it was. Each code cell of
an executed notebook gets `metadata.source_hash` (settings.ini's `allowed_cell_metadata_keys` keeps it through nbdev_clean);
tests/test_notebook_outputs.py fails when a cell's source no longer matches its stamp, or when an example cell that ends in
a displayed value has no output.
"""
import argparse, ast, hashlib, os, re, subprocess, sys, time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT/'nbs'
STAMP = 'source_hash'
_DIRECTIVE = re.compile(r'^\s*#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')
_NOT_EXAMPLES = {'export', 'exports', 'exporti', 'hide', 'default_exp'}  # cells the docs do not show as examples
_DISPLAYING_CALLS = {'print', 'display', 'show_doc', 'pprint'}  # calls that always write an output


def source_hash(source: str) -> str:
    "A short hash of a cell's source; trailing spaces and blank lines at either end do not change it."
    text = '\n'.join(line.rstrip() for line in source.strip('\n').splitlines())
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def directives(source: str) -> dict:
    "The `#| key: value` lines of a cell, as a dict."
    return {m.group(1): m.group(2).lower() for m in map(_DIRECTIVE.match, source.splitlines()) if m}


def is_example(cell) -> bool:
    "A code cell the docs show with its outputs: not exported, not hidden, not left out, not empty."
    if cell.cell_type != 'code' or not cell.source.strip(): return False
    d = directives(cell.source)
    return not (_NOT_EXAMPLES & d.keys() or d.get('include') == 'false' or d.get('echo') == 'false' and d.get('output') == 'false')


def displays_a_value(source: str) -> bool:
    """Whether executing the cell surely writes an output: its last statement is an expression, not silenced by a
    trailing `;`, and either not a call (a name, attribute, subscript, comparison, literal...: Jupyter shows its value) or
    a call of print/display/show_doc. Other calls may return None (then nothing shows), so they do not count; nor do
    cells that end in an assignment, an assert, a loop or a definition. Magics (`%`, `!`) are left out; a cell that does
    not parse does not count."""
    code = '\n'.join(l for l in source.splitlines() if not l.lstrip().startswith(('%', '!')))
    try: tree = ast.parse(code)
    except SyntaxError: return False
    if not tree.body or not isinstance(last := tree.body[-1], ast.Expr) or code.rstrip().endswith(';'): return False
    v = last.value
    if isinstance(v, ast.Constant) and v.value is None: return False
    if not isinstance(v, ast.Call): return True
    name = v.func.id if isinstance(v.func, ast.Name) else v.func.attr if isinstance(v.func, ast.Attribute) else ''
    return name in _DISPLAYING_CALLS


def is_stamped(nb) -> bool:
    "Whether a notebook was executed by this tool: one of its code cells carries a stamp."
    return any(STAMP in c.metadata for c in nb.cells if c.cell_type == 'code')


def output_problems(nb) -> list[str]:
    "What is stale or missing in a stamped notebook: each as 'cell N: why' (empty when its outputs match its sources)."
    problems = []
    for i, c in enumerate(nb.cells):
        if c.cell_type != 'code' or not c.source.strip(): continue
        stamp = c.metadata.get(STAMP)
        if stamp is None: problems.append(f'cell {i}: never executed by tools/stamp_outputs.py (no {STAMP})')
        elif stamp != source_hash(c.source): problems.append(f'cell {i}: its source changed since its outputs were made')
        elif is_example(c) and displays_a_value(c.source) and not c.get('outputs'):
            problems.append(f'cell {i}: ends in a displayed value but has no output')
    return problems


def execute_and_stamp(path: Path, timeout: int = 1800) -> float:
    "Execute the notebook at `path` in its folder, stamp its code cells, write it back and clean it; the seconds it took."
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    nb = nbformat.read(str(path), as_version=4)
    os.environ.update(TQDM_DISABLE='1', HF_HUB_DISABLE_PROGRESS_BARS='1')
    start = time.monotonic()
    client = NotebookClient(nb, timeout=timeout, kernel_name='python3', record_timing=False,
                            resources={'metadata': {'path': str(path.parent)}})
    try: client.execute()
    except CellExecutionError as e:
        error = re.sub(r'\x1b\[[0-9;]*m', '', str(e))[-2000:]  # the traceback without its colours
        raise SystemExit(f"{error}\nstamp_outputs: {path.name} failed to execute (above); it is left as it was. "
                         f"Fix it, then run `make nbs-outputs NBS={path.name}` again.")
    for c in nb.cells:
        if c.cell_type == 'code': c.metadata[STAMP] = source_hash(c.source)
    write_clean(nb, path)
    return time.monotonic() - start


def write_clean(nb, path: Path):
    "Write notebook `nb` to `path` and clean it as nbdev_clean does (so the export check finds it unchanged)."
    nbformat.write(nb, str(path))
    subprocess.run([str(Path(sys.executable).parent/'nbdev_clean'), '--fname', str(path)], cwd=ROOT, check=True)


def code_tree(source: str) -> str:
    "The syntax tree of `source` as text, each docstring's whitespace made single spaces (a rewrapped docstring: same code)."
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, 'body', None)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and body and isinstance(
                doc := body[0], ast.Expr) and isinstance(doc.value, ast.Constant) and isinstance(doc.value.value, str):
            doc.value.value = ' '.join(doc.value.value.split())
    return ast.dump(tree)


def same_code(old: str, new: str) -> bool:
    """Whether two cell sources are the same code: they parse to the same syntax tree (layout, comments and the line
    breaks of docstrings aside)."""
    try: return code_tree(old) == code_tree(new)
    except SyntaxError: return False


def restamp_same_code(nb, old) -> int:
    """Stamp again, in place, the code cells of notebook `nb` whose stamp was fresh in `old` (the same notebook as it was,
    cell for cell) and whose source parses to the same syntax tree as there: their outputs came from the same code.
    Executes nothing; returns the number of cells stamped again."""
    if len(old.cells) != len(nb.cells):
        raise ValueError(f"{len(nb.cells)} cells against {len(old.cells)} before: cells were added or removed, so the "
                         f"outputs must be made again (make nbs-outputs)")
    n = 0
    for was, c in zip(old.cells, nb.cells):
        if c.cell_type != 'code' or c.metadata.get(STAMP) == source_hash(c.source): continue
        if was.metadata.get(STAMP) == source_hash(was.source) and same_code(was.source, c.source):
            c.metadata[STAMP] = source_hash(c.source); n += 1
    return n


def notebook_at(path: Path, rev: str):
    "The notebook at `path` as it was at git revision `rev`."
    rel = path.resolve().relative_to(ROOT)
    shown = subprocess.run(['git', 'show', f'{rev}:{rel}'], cwd=ROOT, capture_output=True, text=True)
    if shown.returncode: raise SystemExit(f"stamp_outputs: {rel} is not at {rev}: {shown.stderr.strip()}")
    return nbformat.reads(shown.stdout, as_version=4)


def notebooks(names) -> list[Path]:
    "The notebooks named (a name in nbs/ or a path), or index.ipynb and every nbs/NN_*.ipynb."
    if not names: return [NBS/'index.ipynb', *sorted(NBS.glob('[0-9][0-9]_*.ipynb'))]
    found = [Path(n) if Path(n).is_file() else NBS/Path(n).name for n in names]
    missing = [str(p) for p in found if not p.is_file()]
    if missing: raise SystemExit(f"stamp_outputs: no such notebook: {', '.join(missing)} (names in nbs/, e.g. 02_layout.ipynb)")
    return found


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('notebooks', nargs='*', help='notebooks of nbs/ (default: all)')
    p.add_argument('--check', action='store_true', help='report stale or missing outputs of the stamped notebooks; execute nothing')
    p.add_argument('--timeout', type=int, default=1800, help='seconds one cell may take (default 1800)')
    p.add_argument('--same-code', metavar='REV', help='stamp again, executing nothing, the cells whose code is the same as '
                   'at git revision REV (only layout or comments changed)')
    a = p.parse_args()
    paths = notebooks(a.notebooks)
    if a.same_code:
        left = 0
        for path in paths:
            nb = nbformat.read(str(path), as_version=4)
            try: n = restamp_same_code(nb, notebook_at(path, a.same_code))
            except ValueError as e: raise SystemExit(f"stamp_outputs: {path.name}: {e}")
            if n: write_clean(nb, path)
            probs = output_problems(nb)
            if n or probs:
                print(f"{path.name}: {n} cells stamped again" + ''.join(f"; {q}" for q in probs))
                left += len(probs)
        sys.exit(1 if left else 0)
    if a.check:
        bad = {nb.name: probs for nb in paths if is_stamped(n := nbformat.read(str(nb), as_version=4)) and (probs := output_problems(n))}
        for name, probs in bad.items(): print(f"{name}: " + '; '.join(probs))
        sys.exit(1 if bad else 0)
    for nb in paths:
        print(f"{nb.name}: executed and stamped in {execute_and_stamp(nb, a.timeout):.0f} s", flush=True)
