"The docs site: built with mkdocs from the notebooks and a run's report, opened in headless Chromium."
import functools
import http.server
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


@pytest.fixture(scope='module')
def site(tiny_run, tmp_path_factory):
    out = tmp_path_factory.mktemp('site')
    p = subprocess.run([sys.executable, str(ROOT/'tools'/'build_docs.py'), '--report', str(tiny_run['out']/'report.ipynb'), '--out', str(out)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield out, f'http://127.0.0.1:{server.server_address[1]}'
    server.shutdown()


def test_the_site_renders_in_chromium(site):
    if not Path(CHROMIUM).is_file(): pytest.fail('Chromium is missing: `make browser` (apt-get install chromium) installs it.')
    from playwright.sync_api import sync_playwright
    out, url = site
    (out/'screenshots').mkdir()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={'width': 1280, 'height': 1000})
        seen = {}
        for name, path in (('index', 'index.html'), ('api', 'api/12_analysis.html'), ('report', 'runs/report.html')):
            resp = page.goto(f'{url}/{path}')
            assert resp.ok, (path, resp.status)
            page.wait_for_load_state('load')
            seen[name] = {'title': page.title(), 'text': page.inner_text('body'),
                          'images': page.evaluate("Array.from(document.querySelectorAll('article img')).filter(i => i.complete && i.naturalWidth > 100).length")}
            page.screenshot(path=str(out/'screenshots'/f'{name}.png'), full_page=False)
        browser.close()
    assert 'synthclf' in seen['index']['title'] and 'Set-up' in seen['index']['text'] and 'Batch runs' in seen['index']['text']  # the nav
    assert seen['api']['title'].startswith('Analysis') and 'gap_regression' in seen['api']['text'] and seen['api']['images'] >= 2
    assert seen['report']['title'].startswith('Report') and 'sms_spam' in seen['report']['text'] and seen['report']['images'] >= 2
    for name in seen: assert (out/'screenshots'/f'{name}.png').stat().st_size > 10_000
