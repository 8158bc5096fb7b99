"""The size of the notebooks' export cells, against fastcore's rhythm (issue 34): the median characters of an export cell,
the share of export cells over 1,500 characters, and the share of their code lines over 120 characters.

    python tools/cell_sizes.py [NOTEBOOK ...] [--rev REV] [--json]

Without notebooks: every nbs/NN_*.ipynb. With --rev, the notebooks as they were at that git revision."""
import argparse, json, re, statistics, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPORT = re.compile(r'^\s*#\|\s*(export|exports|exporti)\b', re.M)


def export_cells(nb: dict) -> list[str]:
    "The source of each export cell, its `#|` directive lines left out."
    srcs = [''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'code']
    return ['\n'.join(l for l in s.splitlines() if not l.lstrip().startswith('#|')) for s in srcs if EXPORT.search(s)]


def sizes(cells: list[str], limit: int = 1500, width: int = 120) -> dict:
    "The three figures of a list of export cells."
    lines = [l for c in cells for l in c.splitlines() if l.strip()]
    return {'cells': len(cells), 'median_chars': statistics.median(map(len, cells)) if cells else 0,
            'share_over_1500': sum(len(c) > limit for c in cells) / max(len(cells), 1),
            'lines': len(lines), 'share_lines_over_120': sum(len(l) > width for l in lines) / max(len(lines), 1)}


def _read(path: str, rev: str | None) -> dict:
    if rev is None: return json.loads((ROOT/path).read_text())
    return json.loads(subprocess.run(['git', 'show', f'{rev}:{path}'], cwd=ROOT, capture_output=True, text=True,
                                     check=True).stdout)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('notebooks', nargs='*', help='notebook paths or names (03_models or nbs/03_models.ipynb)')
    ap.add_argument('--rev', help='a git revision to read the notebooks at')
    ap.add_argument('--json', action='store_true')
    a = ap.parse_args(argv)
    names = [f"nbs/{Path(n).stem}.ipynb" for n in a.notebooks] or sorted(
        p.relative_to(ROOT).as_posix() for p in (ROOT/'nbs').glob('[0-9][0-9]_*.ipynb'))
    per = {n: export_cells(_read(n, a.rev)) for n in names}
    out = {'all': sizes([c for cs in per.values() for c in cs]), **{n: sizes(cs) for n, cs in per.items()}}
    if a.json: print(json.dumps(out, indent=1)); return
    for n, s in out.items():
        print(f"{n:<32} {s['cells']:>4} cells  median {s['median_chars']:>7.1f} chars  over 1,500 {s['share_over_1500']:6.1%}"
              f"  lines over 120 {s['share_lines_over_120']:6.1%} of {s['lines']}")


if __name__ == '__main__':
    sys.exit(main())
