"""One docs builder: `make docs` (tools/build_docs.py, mkdocs; tests/test_docs.py builds and reads it). `_quarto.yml` is
kept for those who render with Quarto themselves; without Quarto here it cannot be rendered, so this checks what can go
stale in it: every file it names exists and it names the pages `make docs` builds (the home page, every API notebook,
the stage notebooks, the report), and its output folder is not the one `make docs` writes."""
import fnmatch
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
QUARTO = yaml.safe_load((ROOT/'_quarto.yml').read_text())
RUN_REPORT = 'runs/quick/report.ipynb'  # made by `make run`, not in a clone


def _matches(patterns, path: str) -> bool:
    return any(fnmatch.fnmatch(path, p) for p in patterns)


def _sidebar_entries(items) -> list[str]:
    "The file names and globs of the sidebar, sections opened."
    out = []
    for it in items if isinstance(items, list) else [items]:
        if isinstance(it, str): out.append(it)
        elif isinstance(it, dict): out += _sidebar_entries(it.get('contents', []))
    return out


def pages_of_make_docs() -> list[str]:
    "What tools/build_docs.py stages, as repository paths: the home page, nbs/NN_*.ipynb, the stage notebooks, the report."
    api = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT/'nbs').glob('[0-9][0-9]_*.ipynb'))
    stages = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT/'synth_nbs').glob('0[1-4]_*.ipynb'))
    return ['nbs/index.ipynb', *api, *stages, RUN_REPORT]


def test_quarto_config_names_the_pages_make_docs_builds():
    render, sidebar = QUARTO['project']['render'], _sidebar_entries(QUARTO['website']['sidebar']['contents'])
    pages = pages_of_make_docs()
    assert len(pages) > 30, pages
    missing = [p for p in pages if not (_matches(render, p) and _matches(sidebar, p))]
    assert not missing, f"_quarto.yml does not render or list: {missing}"
    for pattern in [*render, *sidebar]:  # every entry names something in a clone (the run's report once `make run` ran)
        assert pattern == RUN_REPORT or list(ROOT.glob(pattern)), pattern


def test_quarto_config_files_exist_and_do_not_share_make_docs_output():
    css = QUARTO['format']['html']['css']
    assert (ROOT/css).is_file(), css
    assert QUARTO['project']['output-dir'] != yaml.safe_load((ROOT/'mkdocs.yml').read_text())['site_dir']


def test_the_checker_sees_a_page_left_out():
    assert not _matches(['nbs/[0-9][0-9]_*.ipynb'], 'nbs/index.ipynb') and _matches(['synth_nbs/*.ipynb'], 'synth_nbs/02_train.ipynb')
    assert _sidebar_entries([{'section': 'API', 'contents': 'nbs/x.ipynb'}, 'a.ipynb']) == ['nbs/x.ipynb', 'a.ipynb']
