"""A run of one task reads right: no "Spearman ρ = +nan", "1 tasks" or "(0 orderings)" in its verdict, gap lines that
say how many tasks they need, and a judge that ranks no task the run does not hold (not asked when there is none)."""
import json

import numpy as np
import pandas as pd

from synthclf.analysis import analyze
from synthclf.experiments import train_and_evaluate
from synthclf.tasks import list_tasks, tasks_to_rank
from synthclf.verdict import _GAP_MIN_TASKS, paper_verdict, power_markdown, verdict_markdown, verdict_power

MISREAD = ('+nan', '1 tasks', '(0 orderings)')
NEED = f'needs at least {_GAP_MIN_TASKS} tasks, this run holds 1'


def runs_of(scores: dict, seeds: int = 5, per_label: int = 20, seed: int = 0) -> pd.DataFrame:
    "A runs table as `collect_runs` gives it: per task, macro-F1 of (real_matched, few_shot, zero_shot), `seeds` each."
    rng = np.random.default_rng(seed)
    return pd.DataFrame([{'task': t, 'source': s, 'seed': k, 'macro_f1': m + rng.normal(0, 0.01), 'accuracy': m,
                          'bar_macro_f1': 0.4, 'bar_accuracy': 0.4, 'n_train': 2 * per_label}
                         for t, means in scores.items()
                         for s, m in zip(('real_matched', 'few_shot', 'zero_shot'), means)
                         for k in range(seeds)])


def test_the_run_option_never_ranks_tasks_the_run_does_not_hold():
    assert tasks_to_rank('run', ['sms_spam']) == [] and tasks_to_rank('run', ['sms_spam', 'imdb']) == []
    assert tasks_to_rank('run', ['sms_spam', 'imdb', 'ag_news']) == ['sms_spam', 'imdb', 'ag_news']
    assert tasks_to_rank(None, ['sms_spam']) == list_tasks()  # asked for by name: all known tasks
    assert tasks_to_rank(['ag_news', 'imdb'], ['sms_spam']) == ['ag_news', 'imdb']  # asked for by name: those


def test_a_one_task_verdict_says_its_gap_lines_need_more_tasks():
    runs = runs_of({'sms_spam': (0.9, 0.8, 0.7)})
    judges = (({'reliable': True, 'source': 'a crowd'}, [0.3]),
              ({'reliable': False, 'judged': False, 'verdict': 'no ranking'}, [np.nan]))
    for judge, scores in judges:
        v = paper_verdict(runs, pd.DataFrame({'task': ['sms_spam'], 'score': scores}), judge, classifier='tfidf')
        gap = v[v.claim == 'gap']
        assert len(gap) == 2 and (gap.scope.str.endswith(', 1 task')).all(), gap.scope.tolist()
        assert gap.word.str.startswith('inconclusive').all() and gap.word.str.contains(NEED).all(), gap.word.tolist()
        assert (gap.estimate == '—').all() and (gap.interval == '—').all(), gap[['estimate', 'interval']]
        text = verdict_markdown(v, verdict_power(runs, v, sims=20))
        assert '(1 task, ' in text, text[-600:]
        for bad in MISREAD: assert bad not in text, (bad, text)


def test_gap_lines_keep_their_test_from_the_least_number_of_tasks_on():
    "At the gap line's least number of tasks it is tested as before: ρ, its interval, the permutations."
    means = [(0.9, 0.89, 0.88), (0.92, 0.9, 0.89), (0.95, 0.91, 0.9), (0.75, 0.67, 0.63), (0.65, 0.53, 0.47)]
    tasks = ['ag_news', 'relation_classification', 'sms_spam', 'financial_phrasebank', 'tweet_irony'][:_GAP_MIN_TASKS]
    runs = runs_of(dict(zip(tasks, means)))
    ranking = pd.DataFrame({'task': tasks, 'score': np.linspace(-1, 1, len(tasks))})
    v = paper_verdict(runs, ranking, {'reliable': True, 'source': 'a crowd'})
    gap = v[v.claim == 'gap']
    assert gap.scope.str.endswith(f', {_GAP_MIN_TASKS} tasks').all(), gap.scope.tolist()
    assert gap.estimate.str.startswith('Spearman ρ = ').all(), gap.estimate.tolist()
    assert gap.rests_on.str.contains(r'\(\d+ orderings\)').all(), gap.rests_on.tolist()
    assert not gap.word.str.contains('needs at least').any(), gap.word.tolist()
    assert '(1 task,' not in power_markdown(verdict_power(runs, v, sims=20))


def stand_in_generation(folder, task: str, per_label: int = 20):
    "Generate folders as `save_generated` writes them, of real train texts (a stand-in generator), for both modes."
    from datasets import Dataset, Features, Value
    from synthclf.data import load_task, subsample_per_label
    from synthclf.generate import save_generated
    card, ds = load_task(task)
    labels = ds['train'].features['label']
    for k, mode in enumerate(('zero_shot', 'few_shot')):
        part = subsample_per_label(ds['train'], per_label, seed=10 + k)
        gen = Dataset.from_dict({'text': part['text'], 'label': part['label'], 'attributes': ['{}'] * len(part)},
                                features=Features({'text': Value('string'), 'label': labels,
                                                   'attributes': Value('string')}))
        counts = {n: int(sum(1 for l in part['label'] if l == i)) for i, n in enumerate(labels.names)}
        manifest = {'task': task, 'mode': mode, 'model': 'real texts', 'backend': 'stand-in', 'per_label': per_label,
                    'counts': counts}
        save_generated(gen, manifest, folder/mode)


def test_analyze_on_one_task_asks_no_judge_and_prints_nothing_to_misread(tmp_path, real_data):
    "rank_tasks='run' on one task: no LLM is made (a model that does not exist would fail); the report says why."
    stand_in_generation(tmp_path/'generate'/'sms_spam', 'sms_spam')
    train_and_evaluate('sms_spam', ['real_matched', 'zero_shot', 'few_shot'], model='tfidf', seeds=2, test_cap=80,
                       out=tmp_path/'runs', synthetic_dir=tmp_path/'generate'/'sms_spam', progress=False)
    s = analyze(tmp_path/'runs', tmp_path/'analysis', rank_tasks='run', model='no-such-model', progress=False,
                synthetic_dir=str(tmp_path/'generate'/'{task}'), diversity_per_label=5, reference_size=10)
    assert s['tasks'] == ['sms_spam'] and s['ranking'] == {}, s['ranking']
    judge = json.loads((tmp_path/'analysis'/'judge.json').read_text())
    assert judge['judged'] is False and 'holds 1' in judge['verdict'] and 'rank_tasks' in judge['verdict'], judge
    assert not (tmp_path/'analysis'/'judgments.csv').exists() and not (tmp_path/'analysis'/'ranking.csv').exists()
    assert s['skipped']['subjectivity ranking'] == judge['verdict'], s['skipped']
    assert all(s['skipped'][f'regression gap_{m}'] == judge['verdict'] for m in ('zero_shot', 'few_shot')), s['skipped']
    gap = [v for v in s['verdict'] if v['claim'] == 'gap']
    assert len(gap) == 2 and all(v['word'].endswith(NEED) for v in gap), gap
    for f in ('analysis.md', 'verdict.md'):
        text = (tmp_path/'analysis'/f).read_text()
        for bad in MISREAD: assert bad not in text, (f, bad, text[max(0, text.find(bad) - 300):][:600])
    assert '(1 task, ' in (tmp_path/'analysis'/'verdict.md').read_text()
