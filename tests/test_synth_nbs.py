"The papermill notebooks in synth_nbs/ run end to end with parameters."
from pathlib import Path

import nbformat
import papermill as pm

ROOT = Path(__file__).resolve().parents[1]


def test_task_overview_runs_with_parameters(tmp_path, real_data):
    out = tmp_path / 'overview.ipynb'
    pm.execute_notebook(str(ROOT / 'synth_nbs' / '00_task_overview.ipynb'), str(out),
                        parameters={'task': 'tweet_emotions', 'test_cap': 200}, progress_bar=False, kernel_name='python3')
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', [])]
    text = ''.join(o.get('text', '') for o in outputs)
    assert 'Tweet emotions' in text and '## optimism:' in text
    images = [o for o in outputs if 'image/png' in o.get('data', {})]
    assert len(images) == 2  # label counts and text lengths
    counts = [o['data']['text/plain'] for o in outputs if 'text/plain' in o.get('data', {}) and 'split' in o['data']['text/plain']]
    assert counts and 'anger' in counts[0]
