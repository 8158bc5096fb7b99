"""tools/cell_sizes.py: the issue's three cell-size figures (median characters of an export cell, share over 1,500, share
of code lines over 120), on notebooks whose answer is known."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]/'tools'))
from cell_sizes import export_cells, sizes  # noqa: E402


def cell(src, kind='code'): return {'cell_type': kind, 'source': src.splitlines(keepends=True)}


def test_only_export_cells_count_without_their_directives():
    nb = {'cells': [cell('#| export\nx = 1'), cell('y = 2'), cell('#| exports\nz = 3'), cell('#| export', 'markdown'),
                    cell('#| hide\nw = 4')]}
    assert export_cells(nb) == ['x = 1', 'z = 3']


def test_the_three_figures():
    cells = ['a' * 100, 'b' * 1600 + '\n' + 'c' * 10, 'd' * 50]
    got = sizes(cells)
    assert got['cells'] == 3 and got['median_chars'] == 100 and abs(got['share_over_1500'] - 1 / 3) < 1e-12
    assert got['lines'] == 4 and got['share_lines_over_120'] == 0.25  # one line of four over 120 characters
    assert sizes([])['median_chars'] == 0


def test_exported_code_lines_are_at_most_120_characters():
    "Issue 34: every line of every export cell in nbs/ fits in 120 characters (the lines nbdev writes itself aside)."
    import json
    root = Path(__file__).resolve().parents[1]
    long = [f"{nb.name}: {line[:60]}... ({len(line)})" for nb in sorted((root/'nbs').glob('*.ipynb'))
            for c in export_cells(json.loads(nb.read_text())) for line in c.splitlines() if len(line) > 120]
    assert not long, f"{len(long)} exported lines over 120 characters:\n" + '\n'.join(long[:20])
