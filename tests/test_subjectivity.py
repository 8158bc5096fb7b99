"The task-level judge: the fixed parser, reliability on simulated judges and a crowd CSV, option probabilities on a real small model."
import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from synthclf.cache import CallCache, Completion
from synthclf.llm import CallStats, LocalBackend, option_probabilities
from synthclf.subjectivity import (bradley_terry, judge_reliability, llm_pair_judgments, llm_task_judgments, pair_request, parse_choice,
                                   rank_tasks, simulate_judgments)
from synthclf.tasks import get_card

TEN = {'ag_news': -2.0, 'sms_spam': -1.4, 'relation_classification': -0.8, 'financial_phrasebank': -0.2, 'imdb': 0.3,
       'tweet_emotions': 0.7, 'reddit_emotions': 1.0, 'tweet_irony': 1.5, 'sarcasm_news': 1.8, 'humor_speech': 2.2}


@pytest.mark.parametrize('text, choice', [
    ('It is a tie', None), ('a', None), ('This is a subjective task.', None), ('A task about humour is more subjective.', None),
    ('Both A and B', None), ('Task B is more subjective than Task A', None), ('A or B', None), ('A more subjective task is B', 'B'),
    ('B', 'B'), ('Task A.', 'A'), ('Answer: B', 'B'), ('answer: b', 'B'), ('(B)', 'B'), ('**A**', 'A'), ('A is more subjective', 'A'), ('', None)])
def test_parse_choice_reads_only_the_letter(text, choice):
    assert parse_choice(text) == choice


def test_a_consistent_simulated_judge_is_reliable():
    rel = judge_reliability(simulate_judgments(TEN, per_pair=20))
    assert rel['reliable'] and rel['order_agreement'] > 0.6 and rel['split_half_ci'][0] > 0 and rel['split_half_sb'] > 0.8
    assert rel['verdict'].startswith('the ranking is determined')


def test_a_judge_that_always_picks_the_first_task_is_not_reliable():
    rel = judge_reliability(simulate_judgments(TEN, per_pair=20, first_bias=np.inf))
    assert rel['order_agreement'] == 0 and rel['position_bias'] == 1 and rel['position_bias_ci'][0] > 0.95 and not rel['reliable']
    assert rel['verdict'].startswith('the ranking is undetermined') and 'shown first' in rel['verdict']


@pytest.mark.parametrize('seed', range(5))
def test_coin_flips_are_not_reliable(seed):
    rel = judge_reliability(simulate_judgments(dict.fromkeys(TEN, 0.0), per_pair=20, seed=seed), seed=seed)
    assert not rel['reliable'] and abs(rel['position_bias'] - 0.5) < 0.1



def test_reliability_of_a_crowd_csv(tmp_path):
    j = simulate_judgments(TEN, per_pair=6, seed=4)
    j = j.assign(judge='worker' + (j.index % 9).astype(str)).drop(columns='order').sample(frac=1, random_state=1)
    j.to_csv(tmp_path / 'crowd.csv', index=False)
    rel = judge_reliability(tmp_path / 'crowd.csv')
    assert rel['reliable'] and rel['split_by'].startswith('halves of the 9 units') and rel['answers'] == len(j) == rel['parsed']


def test_probability_judgments_fit_with_a_position_term():
    pj = pd.DataFrame([{'task_a': a, 'task_b': b, 'judge': 'p', 'phrasing': 'x', 'p_first': expit(TEN[a] - TEN[b] + 2.0)}
                       for a, b in itertools.permutations(TEN, 2)])
    pj['winner'] = np.where(pj.p_first > 0.5, pj.task_a, pj.task_b)
    rel = judge_reliability(pj)
    assert rel['position_bias'] > 0.6 and rel['order_agreement_raw'] < 0.8 and rel['order_agreement'] == 1
    assert bradley_terry(pj, n_boot=20).task.tolist() == sorted(TEN, key=TEN.get, reverse=True)


class ScriptedBackend:
    "Answers from a list of texts, in turn (no model)."
    name, model_name = 'scripted', 'scripted'
    def __init__(self, texts): self.texts = texts
    def complete(self, requests, on_done=None):
        out = [Completion(self.texts[i % len(self.texts)]) for i in range(len(requests))]
        for i, c in enumerate(out): on_done and on_done(i, c)
        return out


def test_the_sampled_panel_counts_ties_and_records_order_and_sample(tmp_path):
    with pytest.warns(UserWarning, match='2 named both tasks or a tie, 1 named neither'):
        j = llm_task_judgments(['ag_news', 'imdb'], k=3, backend=ScriptedBackend(['It is a tie', 'A', 'B', 'Both', 'dunno', 'Task A']),
                               cache=CallCache(tmp_path / 'c.sqlite'), progress=False)
    assert j.attrs == {'answers': 6, 'parsed': 3, 'ties': 2, 'unparsed': 1}
    assert j[['order', 'sample']].values.tolist() == [[0, 1], [0, 2], [1, 2]] and (j.winner == ['ag_news', 'imdb', 'imdb']).all()


@pytest.fixture(scope='module')
def smol(smollm2):
    return LocalBackend('smollm2-135m-instruct', batch_size=8)


@pytest.mark.slow
def test_option_probs_on_a_real_model_are_normalised_and_cached(smol, tmp_path, monkeypatch):
    cache, stats = CallCache(tmp_path / 'calls.sqlite'), CallStats()
    reqs = [pair_request(get_card('ag_news'), get_card('tweet_irony'), 'subjective'), pair_request(get_card('tweet_irony'), get_card('ag_news'), 'objective')]
    first = option_probabilities(smol, reqs, ('A', 'B'), cache, stats)
    assert stats.calls == 2 and all(set(o.probs) == {'A', 'B'} and abs(sum(o.probs.values()) - 1) < 1e-9 and 0 < o.mass <= 1 for o in first)
    def no_model(*a, **k): raise AssertionError('the model was called')
    monkeypatch.setattr(smol.lm, 'forward', no_model)
    stats2 = CallStats()
    again = option_probabilities(smol, reqs, ('A', 'B'), cache, stats2)
    assert stats2.calls == 0 and stats2.cached == 2 and [o.probs for o in again] == [o.probs for o in first] and all(o.cached for o in again)


@pytest.mark.slow
def test_the_rating_judge_gives_one_row_per_task(smol, tmp_path):
    tasks = ['ag_news', 'imdb', 'tweet_irony', 'sms_spam']
    ranking, rel, ratings = rank_tasks(tasks, 'ratings', backend=smol, phrasings=['disagree', 'objective'], cache=CallCache(tmp_path / 'c.sqlite'),
                                       progress=False, return_judgments=True)
    assert sorted(ranking.task) == sorted(tasks) and ranking['rank'].between(1, 4).all() and len(ratings) == 8
    assert ratings.rating.between(1, 5).all() and rel['kind'] == 'ratings' and isinstance(rel['reliable'], bool) and rel['verdict']


@pytest.mark.slow
def test_the_pairwise_probability_judge_on_a_real_model(smol, tmp_path):
    tasks, cache = ['ag_news', 'imdb', 'tweet_irony'], CallCache(tmp_path / 'c.sqlite')
    ranking, rel = rank_tasks(tasks, 'pairs', backend=smol, phrasings=['subjective', 'objective'], cache=cache, progress=False, n_boot=20)
    assert sorted(ranking.task) == sorted(tasks) and list(ranking.columns[:4]) == ['task', 'score', 'ci_low', 'ci_high']
    assert rel['answers'] == rel['parsed'] == 3 * 2 * 2 and rel['order_pairs'] == 3 and 0 <= rel['position_bias'] <= 1
    j = llm_pair_judgments(tasks, phrasings=['subjective'], backend=smol, cache=cache, progress=False)
    assert j.p_first.between(0, 1).all() and sorted(j.order.unique()) == [0, 1] and len(cache) == 12
