"""Screenshots of a built docs site's report page in headless Chromium (Debian's `chromium`, `make browser`), 1,600 px wide.

    python tools/report_screenshots.py --site _site --run runs/quick [--out benchmarks/results/screenshots]

Writes report-1600-first-screen.png (what opens), report-1600-verdict.png (the verdict's tables), one PNG per figure of the
paper (scores_by_source, verdict_forest, subjectivity_ranking: the image with its caption, found on the page by the caption
the run wrote beside it) and report-1600-example-texts.png; and measures every table of the page (`table_fit`).
"""
import argparse, functools, http.server, shutil, sys, threading
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--no-first-run']
WIDTH, HEIGHT, MAX_SHOT = 1600, 1000, 1600  # a screenshot is cut at MAX_SHOT px tall
FIGURES = ('scores_by_source', 'verdict_forest', 'subjectivity_ranking')
REPORT = 'runs/report.html'

# Every table of the article: how wide it must be at least (its min-content width), the text column's width, whether it
# or a box around it scrolls sideways (scrollWidth > clientWidth), whether it runs past the column, its tallest row in
# lines of its text.
TABLE_FIT = """() => {
  const article = document.querySelector('article') || document.body, column = article.getBoundingClientRect();
  return Array.from(article.querySelectorAll('table')).map(t => {
    const [width, max] = [t.style.width, t.style.maxWidth]; t.style.width = 'min-content'; t.style.maxWidth = 'none';
    const needs = t.getBoundingClientRect().width; t.style.width = width; t.style.maxWidth = max;
    const scrolls = [];
    for (let e = t; e && e !== article; e = e.parentElement) if (e.scrollWidth > e.clientWidth + 1) scrolls.push(e.tagName + '.' + e.className);
    const line = c => { const s = getComputedStyle(c); return parseFloat(s.lineHeight) || 1.2 * parseFloat(s.fontSize); };
    const lines = Array.from(t.rows).map(r => r.cells.length ? r.getBoundingClientRect().height / line(r.cells[0]) : 0);
    return {head: t.rows[0].textContent.trim().replace(/\\s+/g, ' ').slice(0, 80), columns: t.rows[0].cells.length,
            needs: Math.round(needs), column: Math.round(column.width), scrolls,
            past_column: Math.round(t.getBoundingClientRect().right - column.right), tallest_row_lines: Math.max(0, ...lines)};
  });
}"""

# The box around a figure with its caption (the output that shows it, then the caption's), or around a section (from its
# heading to the next one), in page coordinates; null when the page has none.
FIGURE_BOX = """caption => {
  const norm = s => s.replace(/\\s+/g, ' ').trim();
  for (const out of document.querySelectorAll('.jp-OutputArea-child')) {
    if (!norm(out.innerText).startsWith(caption)) continue;
    let prev = out.previousElementSibling;
    while (prev && !prev.querySelector('img')) prev = prev.previousElementSibling;
    if (!prev) continue;
    const img = prev.querySelector('img'), a = prev.getBoundingClientRect(), b = out.getBoundingClientRect();
    return {x: Math.min(a.left, b.left), y: a.top + scrollY, width: Math.max(a.right, b.right) - Math.min(a.left, b.left),
            height: b.bottom - a.top, decoded: img.complete && img.naturalWidth > 0};
  }
  return null;
}"""
SECTION_BOX = """heading => {
  const hs = Array.from(document.querySelectorAll('article h2'));
  const i = hs.findIndex(h => h.textContent.replace('¶', '').trim() === heading);
  if (i < 0) return null;
  const col = document.querySelector('article').getBoundingClientRect(), top = hs[i].getBoundingClientRect().top + scrollY;
  const end = i + 1 < hs.length ? hs[i + 1].getBoundingClientRect().top + scrollY : document.documentElement.scrollHeight;
  return {x: col.left, y: top, width: col.width, height: end - top};
}"""


@contextmanager
def served(folder):
    "A static server of `folder` on loopback: its URL."
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try: yield f'http://127.0.0.1:{server.server_address[1]}'
    finally: server.shutdown()


@contextmanager
def report_page(site, width=WIDTH, height=HEIGHT):
    "The site's report page, loaded in headless Chromium at `width` × `height` (a Playwright page)."
    if not Path(CHROMIUM).is_file(): raise SystemExit('report_screenshots: Chromium is missing: `make browser` installs it.')
    if not (Path(site)/REPORT).is_file():
        raise SystemExit(f'report_screenshots: {site} has no {REPORT}: build it with `make docs RUN=<run folder>`.')
    from playwright.sync_api import sync_playwright
    with served(site) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={'width': width, 'height': height})
        resp = page.goto(f'{url}/{REPORT}')
        assert resp.ok, (REPORT, resp.status)
        page.wait_for_load_state('load')
        try: yield page
        finally: browser.close()


def _shot(page, box, path):
    "A screenshot of `box` (page coordinates, cut at MAX_SHOT px tall), in 128 colours: a third of the bytes, text as sharp."
    from PIL import Image
    clip = {**box, 'height': min(box['height'], MAX_SHOT)}
    page.screenshot(path=str(path), clip={k: clip[k] for k in ('x', 'y', 'width', 'height')}, full_page=True)
    Image.open(path).convert('RGB').quantize(128).save(path, optimize=True)
    return path


def screenshots(page, run, out) -> dict:
    """Into `out`: the first screen, the verdict, each figure of FIGURES with its caption, and the example texts. Returns
    {name: path}, and the figures that were not found or did not decode under 'missing'."""
    sys.path.insert(0, str(ROOT))
    from synthclf.run import load_run
    out = Path(out); out.mkdir(parents=True, exist_ok=True)
    shots, missing = {'first-screen': _shot(page, {'x': 0, 'y': 0, **page.viewport_size}, out/'report-1600-first-screen.png')}, []
    captions = load_run(run).figures.set_index('name').caption
    for name in FIGURES:
        box = page.evaluate(FIGURE_BOX, ' '.join(captions.get(name, '').split())[:120]) if captions.get(name) else None
        if not box or not box['decoded']: missing.append(name); continue
        shots[name] = _shot(page, box, out/f'report-1600-{name.replace("_", "-")}.png')
    for key, heading in (('verdict', 'Does this run agree with the paper?'), ('example-texts', 'Example texts')):
        box = page.evaluate(SECTION_BOX, heading)
        if box: shots[key] = _shot(page, box, out/f'report-1600-{key}.png')
        else: missing.append(key)
    return {**shots, 'missing': missing}


def table_fit(page) -> list[dict]:
    "Every table of the page as TABLE_FIT measures it."
    return page.evaluate(TABLE_FIT)


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--site', default=str(ROOT/'_site'), help='a site built by tools/build_docs.py --run (default _site)')
    p.add_argument('--run', required=True, help='the run folder the site was built from (its figures\' captions)')
    p.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'screenshots'), help='where the PNGs go')
    a = p.parse_args()
    with report_page(a.site) as page:
        shots, fits = screenshots(page, a.run, a.out), table_fit(page)
    for name, path in shots.items(): print(f"{name}: {path}")
    for t in fits:
        print(f"table {t['head'][:40]!r}: {t['columns']} columns, needs {t['needs']} of {t['column']} px, "
              f"{'scrolls' if t['scrolls'] else 'fits'}, tallest row {t['tallest_row_lines']:.1f} lines")
    sys.exit(1 if shots['missing'] else 0)
