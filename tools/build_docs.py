"""Build the docs site without Quarto: stage the notebooks, then let mkdocs (material + mkdocs-jupyter) render them.

    python tools/build_docs.py [--report runs/quick/report.ipynb] [--out _site]

The site: Home (nbs/index.ipynb, the README), API (nbs/NN_*.ipynb, in reading order), and Runs (an executed
report of `synthclf run` and its per-task stage notebooks, when there is one).
"""
import argparse, shutil, sys, tempfile
from pathlib import Path

import yaml

from synthclf.runner import notebook_title as title

ROOT = Path(__file__).resolve().parents[1]


def stage(src: Path, report: Path | None) -> list:
    "Copy the pages into `src`; the nav."
    shutil.copy(ROOT/'nbs'/'index.ipynb', src/'index.ipynb')
    (src/'api').mkdir()
    api = []
    for nb in sorted((ROOT/'nbs').glob('[0-9][0-9]_*.ipynb')):
        shutil.copy(nb, src/'api'/nb.name); api.append({title(nb): f'api/{nb.name}'})
    nav = [{'Home': 'index.ipynb'}, {'API': api}]
    if report:
        run = report.parent
        (src/'runs').mkdir()
        shutil.copy(report, src/'runs'/'report.ipynb')
        runs = [{'Report': 'runs/report.ipynb'}]
        for nb in sorted(run.glob('*/*.ipynb')):
            dst = src/'runs'/f'{nb.parent.name}-{nb.name}'
            shutil.copy(nb, dst); runs.append({f'{nb.parent.name}: {nb.stem}': f'runs/{dst.name}'})
        nav.append({'Runs': runs})
    return nav


def build_site(out=ROOT/'_site', report=None) -> Path:
    "Render the site into `out`; return the path of its index page."
    report = Path(report) if report else None
    if report and not report.is_file():
        raise SystemExit(f"build_docs: no report at {report}: run `synthclf run --profile quick` first, or leave out --report.")
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    out = Path(out).resolve()
    with tempfile.TemporaryDirectory(prefix='synthclf-docs-') as tmp:
        src = Path(tmp)/'docs'; src.mkdir()
        nav = stage(src, report)
        cfg = yaml.safe_load((ROOT/'mkdocs.yml').read_text())
        cfg.update(docs_dir=str(src), site_dir=str(out), nav=nav)
        (Path(tmp)/'mkdocs.yml').write_text(yaml.safe_dump(cfg, sort_keys=False))
        build(load_config(str(Path(tmp)/'mkdocs.yml')))
    return out/'index.html'


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--report', help='an executed report notebook (default: runs/quick/report.ipynb when it exists)')
    p.add_argument('--out', default=str(ROOT/'_site'), help='site folder (default _site)')
    a = p.parse_args()
    default = ROOT/'runs'/'quick'/'report.ipynb'
    report = a.report or (default if default.is_file() else None)
    if report is None: print("build_docs: no runs/quick/report.ipynb yet: building without the Runs section.", file=sys.stderr)
    print(f"docs site: {build_site(a.out, report)}")
