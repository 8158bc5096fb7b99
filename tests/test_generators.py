"""The generator as an axis, against a known truth: two simulated generators on loopback, one serving real texts under their own
labels and one with most labels wrong, run through `run_generators` (a whole `synthclf run` each) and set side by side."""
import json

import pandas as pd
import pytest

from synthclf.generators import run_generators
from synthclf.simulate import MODEL_ID, planted_truth, prepare_data, serve

TASKS = ['sms_spam']  # one task: the claim is per task (two whole runs of ag_news cost 3 min more)


@pytest.mark.slow
def test_worth_against_generator_ranks_a_clean_generator_above_a_noisy_one(tmp_path, real_data):
    clean = planted_truth(TASKS, low=0.0, high=0.0, pool_per_label=40)
    noisy = planted_truth(TASKS, low=0.6, high=0.6, pool_per_label=40)  # the same pools (same seed and size), most labels wrong
    prepare_data(clean, tmp_path/'data')
    with serve(clean, tmp_path/'data') as url_clean, serve(noisy, tmp_path/'data') as url_noisy:
        overrides = {'backend': 'openai', 'model': MODEL_ID, 'base_url': url_clean, 'data_dir': str(tmp_path/'data'), 'per_label': 8,
                     'seeds': 2, 'test_cap': 150, 'classifier': 'embedding-lr', 'rank_tasks': TASKS, 'judge_k': 1, 'diversity_per_label': 8,
                     'reference_size': 100, 'train.train_on': ['real_matched', 'zero_shot', 'few_shot', 'real@10', 'real@20', 'real@10+few_shot'],
                     'train.remedies': [],  # the remedies are tests/test_run.py's (they doubled these runs' fits)
                     'train.fidelity_real_per_label': 50}  # the fidelity reader on 50 real texts a label, not 500 (ag_news: 56 s of 93)
        gens = [{'name': 'clean', 'backend': 'openai', 'model': MODEL_ID, 'base_url': url_clean},
                {'name': 'noisy', 'backend': 'openai', 'model': MODEL_ID, 'base_url': url_noisy}]
        res = run_generators(gens, 'quick', tmp_path/'runs', TASKS, overrides, progress=False)
    assert all(not s.get('failed') and not s.get('interrupted') for s in res['runs'].values()), res['runs']
    table = pd.read_csv(tmp_path/'runs'/'analysis'/'worth_by_generator.csv')
    assert set(table.run) == {'clean', 'noisy'} and set(table.source) == {'zero_shot', 'few_shot', 'real@10+few_shot'}, table[['run', 'source']]
    assert (table.generator == f'{MODEL_ID} (openai)').all()
    score = table.set_index(['run', 'task', 'source']).score
    for t in TASKS:  # the planted truth: the clean generator's data trains better classifiers than data with 60% wrong labels
        assert score['clean', t, 'few_shot'] > score['noisy', t, 'few_shot'], (t, score)
    # each run is an ordinary run folder of its own, its generated sets served by its own endpoint
    for name, url in (('clean', url_clean), ('noisy', url_noisy)):
        man = json.loads((tmp_path/'runs'/name/'sms_spam'/'generate'/'few_shot'/'manifest.json').read_text())
        assert man['backend'] == 'openai' and man['model'] == MODEL_ID
    md = (tmp_path/'runs'/'analysis'/'worth_by_generator.md').read_text()
    assert '| task' in md and 'clean (' in md and 'noisy (' in md
    assert (tmp_path/'runs'/'analysis'/'figures'/'worth_by_generator.svg').is_file()
    # the verdicts side by side: every line of each run's verdict, under its run
    words = pd.read_csv(tmp_path/'runs'/'analysis'/'verdict_by_generator.csv')
    for name in ('clean', 'noisy'):
        own = pd.read_csv(tmp_path/'runs'/name/'analysis'/'verdict.csv')
        side = own.merge(words, on=['claim', 'scope'], how='left')
        assert side[name].notna().all() and (side[name].str.split(' ').str[0] == side.word.str.split(':').str[0].str.strip()).all(), (name, side)
    assert '## The verdict, by generator' in md
