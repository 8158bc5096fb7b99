"""The docs site and the run report as a reader sees them: built with mkdocs from the notebooks and a tiny real run
(`synthclf run`), opened in headless Chromium (Debian's `chromium`, `make browser`) at 1280×900, and the report page at
1,600 px wide (tools/report_screenshots.py). Screenshots of every page land in the site's screenshots/ folder."""
import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
pytestmark = pytest.mark.slow  # builds the site from a whole `synthclf run`

FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
WIDTH, HEIGHT = 1280, 900

# What a page reports about itself once loaded: the text, where the run header and the verdict heading start, the
# images that did not decode, the tables wider than the page's text column with no scrolling box around them.
PROBE = """() => {
  const top = re => { for (const el of document.querySelectorAll('h1, h2, h3, p')) {
      if (!el.closest('nav') && el.offsetParent !== null && re.test(el.textContent.replace('¶', '').trim()))
        return el.getBoundingClientRect().top + window.scrollY; } return null; };
  const page = (document.querySelector('article') || document.body).getBoundingClientRect().right + 1;
  const scrolls = el => { for (let e = el.parentElement; e; e = e.parentElement) {
      if (['auto', 'scroll'].includes(getComputedStyle(e).overflowX) && e.getBoundingClientRect().right <= page) return true; } return false; };
  return {
    title: document.title, text: document.body.innerText,
    header: top(/^What was run/), verdict: top(/^Does this run agree with the paper\\?$/),
    images: Array.from(document.images).map(i => ({src: i.src.slice(0, 80), ok: i.complete && i.naturalWidth > 0})),
    cut_tables: Array.from(document.querySelectorAll('table')).filter(t => t.getBoundingClientRect().right > page && !scrolls(t)).length,
    links: Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href')),
  };
}"""


def _serve(folder):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f'http://127.0.0.1:{server.server_address[1]}'


@pytest.fixture(scope='session')
def site(tiny_run, tmp_path_factory):
    "The site of the tiny run (`make docs` with --run), and the run's own report.html, both served on loopback."
    out = tmp_path_factory.mktemp('site')
    p = subprocess.run([sys.executable, str(ROOT/'tools'/'build_docs.py'), '--run', str(tiny_run['out']), '--out', str(out)],
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    (site_srv, site_url), (run_srv, run_url) = _serve(out), _serve(tiny_run['out'])
    yield {'out': out, 'url': site_url, 'run': tiny_run['out'], 'run_url': run_url}
    site_srv.shutdown(); run_srv.shutdown()


@pytest.fixture(scope='session')
def pages(site):
    "Every page of the site and the run's report.html, opened in Chromium: what each showed, by name; a screenshot of each."
    if not Path(CHROMIUM).is_file(): pytest.fail('Chromium is missing: `make browser` (apt-get install chromium) installs it.')
    from playwright.sync_api import sync_playwright
    out = site['out']
    shots = out/'screenshots'; shots.mkdir()
    urls = {str(f.relative_to(out).with_suffix('')): f"{site['url']}/{f.relative_to(out)}" for f in sorted(out.rglob('*.html'))
            if f.name != '404.html' and f.parent.name != 'search'}
    urls['run-report.html'] = f"{site['run_url']}/report.html"
    seen = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={'width': WIDTH, 'height': HEIGHT})
        for name, url in urls.items():
            resp = page.goto(url)
            assert resp.ok, (url, resp.status)
            page.wait_for_load_state('load')
            seen[name] = page.evaluate(PROBE)
            page.screenshot(path=str(shots/f"{name.replace('/', '-')}.png"), full_page=False)
        browser.close()
    return seen


def test_the_site_has_every_page(pages):
    "Home, one page per API notebook, and the run: its report and each task's stage notebooks."
    api = {n for n in pages if n.startswith('api/')}
    assert api == {f'api/{nb.stem}' for nb in (ROOT/'nbs').glob('[0-9][0-9]_*.ipynb')}
    assert {'index', 'runs/report', 'runs/sms_spam-generate', 'runs/sms_spam-train', 'runs/sms_spam-subjectivity'} <= set(pages)
    assert 'synthclf' in pages['index']['title'] and 'Set-up' in pages['index']['text'] and 'Batch runs' in pages['index']['text']


def test_api_pages_show_signatures_and_docs_not_nbdev_source(pages):
    "nbdev's processors ran: directives are gone, each export is its signature and docstring, and the examples keep their outputs."
    for name, seen in pages.items():
        assert '#|' not in seen['text'], (name, seen['text'][max(0, seen['text'].find('#|') - 200):][:400])
    analysis, verdict, figures = pages['api/12_analysis'], pages['api/11_verdict'], pages['api/11_figures']
    assert analysis['title'].startswith('Analysis')
    assert 'def analyze(' in analysis['text'], 'the signature of analyze'
    assert 'default_exp' not in analysis['text']
    assert 'def gap_regression(' in verdict['text'], 'the signature of gap_regression'
    assert 'from __future__' not in analysis['text']  # the exported imports cell is not shown
    assert sum(i['ok'] for i in figures['images']) >= 2  # the example figures


def test_the_report_opens_with_what_was_run_and_the_verdict(pages):
    "On both the site's report page and the run's report.html: the run header and the verdict within the first screen, no code."
    for name in ('runs/report', 'run-report.html'):
        seen = pages[name]
        assert seen['header'] is not None and seen['header'] < HEIGHT, (name, seen['header'])
        assert seen['verdict'] is not None and seen['verdict'] < HEIGHT, (name, seen['verdict'])
        assert 'synthclf 0.' in seen['text'] and 'wall time' in seen['text'] and 'sms_spam' in seen['text']
        for code in ('injected-parameters', 'import ', 'display(', 'def figure'):
            assert code not in seen['text'], (name, code)
    for name in ('runs/sms_spam-train', 'runs/sms_spam-generate'):
        seen = pages[name]
        assert seen['header'] is not None and seen['header'] < HEIGHT, (name, seen['header'])
        assert 'import ' not in seen['text'] and 'task = "sms_spam"' not in seen['text']


def test_figures_decode_and_tables_fit_or_scroll(pages):
    for name, seen in pages.items():
        assert all(i['ok'] for i in seen['images']), (name, [i for i in seen['images'] if not i['ok']])
        assert seen['cut_tables'] == 0, name
    assert sum(i['ok'] for i in pages['run-report.html']['images']) >= 1


def test_every_figure_of_a_run_has_a_caption(site):
    "Each figure of an executed notebook has a caption right under it: a markdown or printed output after it in its cell, or the next cell's markdown (not a heading)."
    import nbformat
    for nb_path in [site['run']/'report.ipynb', *sorted(site['run'].glob('sms_spam/*.ipynb'))]:
        cells = nbformat.read(str(nb_path), as_version=4).cells
        for i, c in enumerate(cells):
            outs = c.get('outputs', [])
            for j, o in enumerate(outs):
                if 'image/png' not in o.get('data', {}): continue
                after = outs[j + 1:]
                nxt = cells[i + 1] if i + 1 < len(cells) else None
                captioned = any('text/markdown' in a.get('data', {}) or a.get('output_type') == 'stream' for a in after) or \
                            (nxt is not None and ((nxt.cell_type == 'markdown' and not nxt.source.startswith('#')) or 'text/markdown' in (nxt.get('outputs') or [{}])[0].get('data', {})))
                assert captioned, (nb_path.name, i, c.source[:200])


def test_the_home_page_shows_the_latest_results(pages, site):
    home = pages['index']
    assert 'Latest results' in home['text'] and 'real_matched' in home['text']
    assert any(i['ok'] and 'figures/' in i['src'] for i in home['images'])
    links = set(home['links'])
    assert {'runs/report.html', 'runs/sms_spam-generate.html', 'runs/sms_spam-train.html', 'runs/sms_spam-subjectivity.html'} <= links
    assert home['text'].index('Latest results') < home['text'].index('Set-up')


def test_no_page_names_this_machines_paths(pages, site):
    "No checkout path, $HOME, run folder or temporary folder of the machine that ran and built it, in any page's HTML or text."
    machine = {str(ROOT), str(site['run']), str(site['out']), str(Path(os.environ.get('SYNTHCLF_CACHE', '/nonexistent')))}
    if Path.home() != Path('/'): machine.add(str(Path.home()) + '/')
    tmp = re.compile(r'/tmp/(?:tmp|ipykernel_|pytest-of-|synthclf-docs-)')
    files = [*sorted(site['out'].rglob('*.html')), site['run']/'report.html']
    for f in files:
        html = f.read_text(errors='replace')
        for path in machine: assert path not in html, (f.name, path)
        assert not tmp.search(html), (f.name, html[max(0, tmp.search(html).start() - 100):][:250])
    for name, seen in pages.items():
        for path in machine: assert path not in seen['text'], (name, path)


@pytest.fixture(scope='session')
def wide_report(site):
    "The site's report page at 1,600 px wide: every table measured, and the screenshots of tools/report_screenshots.py."
    sys.path.insert(0, str(ROOT/'tools'))
    from report_screenshots import report_page, screenshots, table_fit
    with report_page(site['out']) as page:
        return {'tables': table_fit(page), 'shots': screenshots(page, site['run'], site['out']/'screenshots-1600')}


def test_the_reports_tables_fit_at_1600_px(wide_report):
    """No table runs past the text column; every table that can fit it (its min-content width is not wider) shows whole,
    with nothing scrolling sideways; the verdict's tables fit, each row a few lines tall (they ran off the page, rows ~15
    lines, before docs.css gave them the column). Only a table wider than the column at its narrowest (the results table,
    31 columns) scrolls, inside its own box."""
    tables = wide_report['tables']
    assert len(tables) >= 5, tables
    for t in tables:
        assert t['past_column'] <= 1, t
        if t['needs'] <= t['column']: assert not t['scrolls'], t
    verdict = [t for t in tables if t['head'].startswith('scope estimate 95% interval p (Holm) word rests on')]
    assert len(verdict) >= 2, [t['head'] for t in tables]
    for t in verdict: assert not t['scrolls'] and t['tallest_row_lines'] <= 8, t


def test_the_report_shows_the_papers_figures_and_example_texts_at_1600_px(wide_report):
    "Each of the three figures decodes and is found by its caption; the example texts section is there; the PNGs are written."
    from PIL import Image
    shots = wide_report['shots']
    assert shots.pop('missing') == []
    assert {'scores_by_source', 'verdict_forest', 'subjectivity_ranking', 'example-texts', 'verdict', 'first-screen'} <= set(shots)
    for name, path in shots.items():
        with Image.open(path) as im: assert im.width >= 400 and im.height >= 150, (name, im.size)


def test_every_example_output_of_nbs_reaches_the_site(site):
    """Each example cell of nbs/ (tools/stamp_outputs.py's is_example) that carries outputs is on its API page with an
    output area under it."""
    import nbformat
    sys.path.insert(0, str(ROOT/'tools'))
    from stamp_outputs import is_example
    for nb in sorted((ROOT/'nbs').glob('[0-9][0-9]_*.ipynb')):
        html = (site['out']/'api'/f'{nb.stem}.html').read_text()
        cells = re.split(r'id="cell-id=', html)[1:]
        shown = {c.split('"', 1)[0] for c in cells if 'jp-OutputArea-output' in c}
        for c in nbformat.read(str(nb), as_version=4).cells:
            if is_example(c) and c.get('outputs'): assert c.get('id') in shown, (nb.name, c.get('id'), c.source[:200])
