"""Build the docs site without Quarto: stage the notebooks, then let mkdocs (material + mkdocs-jupyter) render them.

    python tools/build_docs.py [--run runs/quick] [--out _site]

The site: Home (nbs/index.ipynb, the README, with the run's results on top), API (nbs/NN_*.ipynb in reading order, passed
through nbdev's own processors, as `nbdev_docs` does before Quarto: each exported function as its signature and docstring,
directives applied, the exported source left out), and Runs (the run's report and its per-task stage notebooks, without
their code and parameter cells). This is the project's one docs builder (`make docs`, tested by tests/test_docs.py);
_quarto.yml is kept for `quarto render` by those who have Quarto (tests/test_quarto_config.py checks it names the same
pages), and `nbdev_docs` writes a config of its own.
"""
import argparse, base64, os, re, shutil, sys, tempfile
from pathlib import Path

import nbformat, warnings
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from synthclf.runner import STAGES, notebook_title as title  # noqa: E402

warnings.filterwarnings('ignore', 'Found cells containing imports')  # nbdev's advice on its own FAQ, not the reader's concern
HIDE_INPUT = 'remove_input'  # mkdocs.yml's remove_tag_config drops the input of cells with this tag
_DIRECTIVE = re.compile(r'^\s*#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')
_PANDOC_ATTRS = re.compile(r'\{(?:target|style|\.)[^{}\n]*\}')  # Quarto's link attributes, e.g. {target="_blank" ...}


def _directives(source: str) -> tuple[dict, str]:
    "The `#| key: value` lines of a cell as a dict, and the source without them."
    found, rest = {}, []
    for line in source.splitlines():
        m = _DIRECTIVE.match(line)
        if m: found[m.group(1)] = m.group(2).lower()
        else: rest.append(line)
    return found, '\n'.join(rest).strip('\n')


def _outputs_text(cell, fn, kinds=('text/markdown', 'text/html')):
    "Apply `fn` to every text payload of the cell's outputs of these `kinds` ('stream' for printed text)."
    for o in cell.get('outputs', []):
        if 'stream' in kinds and 'text' in o: o['text'] = fn(o['text'])
        if 'traceback' in o: o['traceback'] = [fn(t) for t in o['traceback']]
        data = o.get('data', {})
        for k in kinds:
            if k in data: data[k] = fn(''.join(data[k]) if isinstance(data[k], list) else data[k])


def _scrubber():
    """Where the saved outputs name this machine's folders (a checkout, the data, $HOME, a temporary folder), the reader
    sees `synthclf/...`, `$SYNTHCLF_DATA_DIR`, `~` and `$TMPDIR` instead."""
    from synthclf.data import data_dir
    fixed = [(str(ROOT) + '/', '')]
    if data_dir(): fixed.append((str(data_dir().resolve()), '$SYNTHCLF_DATA_DIR'))
    if Path.home() != Path('/'): fixed.append((str(Path.home()), '~'))
    tmp = re.compile(r'/tmp/(?:tmp|ipykernel_|pytest-of-|synthclf-docs-)[\w.-]*')
    checkout = re.compile(r'(?<![\w:/.~$])/(?:[\w.-]+/)+?(?=(?:synthclf|nbs|synth_nbs|tools|tests)/)')  # another checkout's files
    def scrub(text: str) -> str:
        for old, new in fixed: text = text.replace(old, new)
        return checkout.sub('', tmp.sub('$TMPDIR', text))
    return scrub


def scrub_notebook(nb, scrub):
    "`scrub` every source and every text output of `nb`."
    for c in nb.cells:
        c.source = scrub(c.source)
        if c.cell_type == 'code': _outputs_text(c, scrub, ('stream', 'text/plain', 'text/markdown', 'text/html'))
    return nb


def _filters():
    "nbdev's processors, except that cells mixing imports with other code (the examples) keep the outputs they were saved with."
    import ast
    from nbdev.processors import FilterDefaults, _ast_contains, _show_docs, exec_show_docs

    class exec_docs(exec_show_docs):
        def __call__(self, cell):
            trees = cell.parsed_() if cell.cell_type == 'code' and cell.source else None
            if trees and not cell.directives_.keys() & {'export', 'exports', 'exporti', 'exec_doc'} and not _show_docs(trees) \
               and _ast_contains(trees, (ast.Expr, ast.Assign)): return
            super().__call__(cell)

    class Filters(FilterDefaults):
        def base_procs(self): return [exec_docs if p is exec_show_docs else p for p in super().base_procs()]
    return Filters()


def api_notebook(nb_path: Path, pages: dict):
    """A notebook of nbs/ as its API page: nbdev's processors (show_doc for every export, exported cells removed), then
    the Quarto directives they leave (`echo: false`, `output: false`, `include: false`, `code-fold`) applied for
    mkdocs-jupyter, and the `#|` lines dropped. Links into the nbdev site point at the pages of this one (`pages`)."""
    from execnb.nbio import nb2str, read_nb
    cwd, os.environ['IN_TEST'] = os.getcwd(), '1'
    try:
        os.chdir(nb_path.parent)
        nb = read_nb(nb_path)
        _filters()(nb)
    finally:
        os.chdir(cwd); os.environ.pop('IN_TEST', None)
    nb = nbformat.reads(nb2str(nb), as_version=4)
    front = {}
    if nb.cells and nb.cells[0].cell_type == 'raw' and nb.cells[0].source.startswith('---'):
        front = yaml.safe_load(nb.cells.pop(0).source.strip().strip('-')) or {}
    relink = lambda s: _PANDOC_ATTRS.sub('', re.sub(r'https?://[^\s)"]*?/([\w-]+)\.html', lambda m: pages.get(m.group(1), m.group(0)), s))
    cells = [nbformat.v4.new_markdown_cell(f"# {front.get('title', title(nb_path))}" + (f"\n\n> {front['description']}" if front.get('description') else ''))]
    for c in nb.cells:
        if 'source' not in c or (c.cell_type == 'markdown' and 'AUTOGENERATED' in c.source): continue  # hidden/exported cells
        if c.cell_type == 'code':
            d, c.source = _directives(c.source)
            if d.get('include') == 'false': continue
            if d.get('output') == 'false': c.outputs = []
            if d.get('echo') == 'false' or not c.source.strip(): c.metadata.setdefault('tags', []).append(HIDE_INPUT)
            if not c.source.strip() and not c.get('outputs'): continue
            _outputs_text(c, relink)
        elif c.cell_type == 'markdown': c.source = relink(c.source)
        cells.append(c)
    nb.cells = cells
    return scrub_notebook(nb, _scrubber())


def reader_notebook(path: Path):
    "An executed run notebook for readers: no parameter cells, code cells show only their outputs (the .ipynb keeps the code)."
    nb = nbformat.read(str(path), as_version=4)
    nb.cells = [c for c in nb.cells if not {'parameters', 'injected-parameters'} & set(c.metadata.get('tags', []))]
    for c in nb.cells:
        if c.cell_type == 'code':
            c.metadata.setdefault('tags', []).append(HIDE_INPUT)
            if not c.outputs: c.metadata['tags'].append('remove_cell')
    return scrub_notebook(nb, _scrubber())


def _section(md: str, heading: str) -> str:
    "The body of the `## heading` section of a markdown text ('' when there is none)."
    m = re.search(rf'^## {re.escape(heading)}\s*\n(.*?)(?=^## |\Z)', md, flags=re.M | re.S)
    return m.group(1).strip() if m else ''


def results_cell(run: Path | None, stage_pages: dict, src: Path) -> str:
    "The home page's section on the run's latest results: its results table, its headline figure and links to every page of it."
    head = "## Latest results\n\n"
    analysis = run/'analysis'/'analysis.md' if run else None
    if not analysis or not analysis.is_file():
        return head + ("No run yet. `make run` (that is, `synthclf run --profile quick`) writes `runs/quick/` in about half an hour; "
                       "`make docs` then shows its results table and headline figure here, with links to the report and every stage notebook.")
    md = analysis.read_text()
    figs = run/'analysis'/'figures'
    fig = next((f for f in [figs/'gap_vs_subjectivity.png', *sorted(figs.glob('*.png'))] if f.is_file()), None)
    text = head + (f"From the run folder `{run.name}/` (its [report](runs/report.html)): macro-F1 on the real test set by training source, "
                   f"mean ± std over seeds.\n\n{_section(md, 'Real vs synthetic training data')}\n")
    for f in figs.glob('*.png') if figs.is_dir() else []:  # the section quotes figures of its own (scores_by_source)
        (src/'figures').mkdir(exist_ok=True); shutil.copy(f, src/'figures'/f.name)
    if fig:
        caption = fig.with_suffix('.txt').read_text().strip() if fig.with_suffix('.txt').is_file() else fig.stem
        text += f"\n![{fig.stem}](figures/{fig.name})\n\n*{caption}*\n"
    if stage_pages:
        text += "\n**Stage notebooks:**\n\n" + '\n'.join(f"- `{t}`: " + ' · '.join(f"[{s}](runs/{p})" for s, p in pages.items())
                                                       for t, pages in stage_pages.items()) + '\n'
    return text


def stage(src: Path, run: Path | None) -> list:
    "Write the pages into `src`; the nav."
    nbs = sorted((ROOT/'nbs').glob('[0-9][0-9]_*.ipynb'))
    (src/'api').mkdir()
    # a module page's name on the nbdev site (its default_exp) -> its page here
    pages = {}
    for nb in nbs:
        m = re.search(r'#\|\s*default_exp\s+([\w.]+)', nb.read_text())
        if m: pages[m.group(1).split('.')[-1]] = f'../api/{nb.stem}.html'
    api = []
    for nb in nbs:
        nbformat.write(api_notebook(nb, pages), str(src/'api'/nb.name)); api.append({title(nb): f'api/{nb.name}'})
    nav, stage_pages = [{'Home': 'index.ipynb'}, {'API': api}], {}
    if run and (run/'report.ipynb').is_file():
        (src/'runs').mkdir()
        nbformat.write(reader_notebook(run/'report.ipynb'), str(src/'runs'/'report.ipynb'))
        runs = [{'Report': 'runs/report.ipynb'}]
        order = {s: i for i, s in enumerate(STAGES)}
        for nb in sorted(run.glob('*/*.ipynb'), key=lambda p: (p.parent.name, order.get(p.stem, 9), p.stem)):
            dst = src/'runs'/f'{nb.parent.name}-{nb.name}'
            nbformat.write(reader_notebook(nb), str(dst)); runs.append({f'{nb.parent.name}: {nb.stem}': f'runs/{dst.name}'})
            stage_pages.setdefault(nb.parent.name, {})[nb.stem] = dst.with_suffix('.html').name
        nav.append({'Runs': runs})
    index = nbformat.read(str(ROOT/'nbs'/'index.ipynb'), as_version=4)
    index.cells.insert(2, nbformat.v4.new_markdown_cell(results_cell(run, stage_pages, src)))
    nbformat.write(index, str(src/'index.ipynb'))
    shutil.copy(ROOT/'tools'/'docs.css', src/'docs.css')
    return nav


def build_site(out=ROOT/'_site', run=None) -> Path:
    "Render the site into `out`; return the path of its index page."
    run = Path(run).resolve() if run else None
    if run and not (run/'report.ipynb').is_file():
        raise SystemExit(f"build_docs: no report.ipynb in {run}: run `synthclf run --profile quick` first, or leave out --run.")
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    out = Path(out).resolve()
    with tempfile.TemporaryDirectory(prefix='synthclf-docs-') as tmp:
        src = Path(tmp)/'docs'; src.mkdir()
        nav = stage(src, run)
        cfg = yaml.safe_load((ROOT/'mkdocs.yml').read_text())
        cfg.update(docs_dir=str(src), site_dir=str(out), nav=nav)
        (Path(tmp)/'mkdocs.yml').write_text(yaml.safe_dump(cfg, sort_keys=False))
        build(load_config(str(Path(tmp)/'mkdocs.yml')))
    return out/'index.html'


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--run', help='a run folder of `synthclf run` (default: runs/quick when it has a report)')
    p.add_argument('--report', help='an executed report notebook: its folder is the run (the older spelling of --run)')
    p.add_argument('--out', default=str(ROOT/'_site'), help='site folder (default _site)')
    a = p.parse_args()
    default = ROOT/'runs'/'quick'
    run = a.run or (Path(a.report).parent if a.report else default if (default/'report.ipynb').is_file() else None)
    if run is None: print("build_docs: no runs/quick/report.ipynb yet: the site has no Runs section (`make run` makes one).", file=sys.stderr)
    print(f"docs site: {build_site(a.out, run)}")
