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


def test_report_reads_a_small_run_as_an_object(tmp_path, real_data):
    """The report on a small run made without an LLM (`stand_in_run`): it reads the run back with `load_run` and shows
    the verdict, the paper's table, the new figures with their captions and example texts (rejected on request)."""
    import pandas as pd
    from synthclf.run import stand_in_run
    run = stand_in_run(tmp_path/'run', seeds=2, test_cap=150)
    out = tmp_path/'report.ipynb'
    kw = dict(rank_tasks='run', synthetic_dir=str(run/'{task}'/'generate'), diversity_per_label=5, reference_size=50)
    pm.execute_notebook(str(ROOT/'synth_nbs'/'04_report.ipynb'), str(out), progress_bar=False, kernel_name='python3',
                        parameters={'runs': str(run), 'out': str(run/'analysis'), 'examples_per_label': 2,
                                    'show_rejected': 2, **kw})
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', [])]
    shown = [o['data']['text/markdown'] for o in outputs if 'text/markdown' in o.get('data', {})]
    assert shown[0].startswith('**What was run**') and 'Real ≥ few-shot ≥ zero-shot' in shown[1], shown[:2]
    images = sum('image/png' in o.get('data', {}) for o in outputs)
    assert images == 4, images  # verdict_forest, worth, scores_by_source, diversity
    for f in ('verdict_forest', 'scores_by_source', 'worth'):  # each figure with its caption under it
        assert f"*{(run/'analysis'/'figures'/f'{f}.txt').read_text().strip()}*" in shown, f
    examples = next(m for m in shown if m.startswith('**sms_spam**'))
    assert [c.strip() for c in examples.splitlines()[2].split('|')[1:-1]] == ['Label', 'Real', 'Zero-shot', 'Few-shot']
    assert len(examples.splitlines()) == 2 + 2 + 2 * 2  # the task, a blank line, header, rule, two picks of each label
    rejected = next(m for m in shown if m.startswith('*sms_spam: rejected answers'))
    reasons = pd.read_json(run/'sms_spam'/'generate'/'few_shot'/'rejected.jsonl', lines=True).reason
    assert rejected.count('| few_shot') == 2 and any(r in rejected for r in reasons), rejected
