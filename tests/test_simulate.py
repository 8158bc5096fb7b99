"`synthclf.simulate`: the planted truth, the pools, the simulated endpoint on loopback, the crowd, and a whole `synthclf run` against it."
import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.special import expit

from synthclf.data import DataWarning, load_task, task_folder
from synthclf.generate import request_for, clean_text
from synthclf.simulate import (MODEL_ID, SimulatedEndpoint, SimulatorError, TaskTruth, Truth, null_truth, planted_truth,
                               prepare_data, read_truth, run_command, serve, simulate_crowd, split_pool, synthetic_draw, truth_to_dict,
                               write_truth, length_third, prototype_scores)
from synthclf.subjectivity import PAIR_PHRASINGS, bradley_terry, label_request, pair_request, rating_request, read_judgments, task_judgment_request
from synthclf.tasks import get_card

SYNTHCLF = str(Path(sys.executable).parent/'synthclf')
SAMPLING = dict(temperature=1.0, top_p=0.95, max_new_tokens=80)
EXAMPLE = """
seed: 0
pool_per_label: 200
tasks:
  ag_news: {subjectivity: -1.0, noise: {zero_shot: 0.0, few_shot: 0.0}}
  humor_speech: {subjectivity: 1.0, noise: {zero_shot: 0.4, few_shot: 0.3}}
judge: {position_bias: 0.0, noise: 0.3}
crowd: {comparisons: 540}
"""
SMALL = {'seed': 0, 'pool_per_label': 40,
         'tasks': {'ag_news': {'subjectivity': -1.0},
                   'financial_phrasebank': {'subjectivity': 0.0, 'noise': {'zero_shot': 0.5, 'few_shot': 0.0}, 'noise_from': 'low_agreement'},
                   'tweet_irony': {'subjectivity': 1.0, 'noise': {'zero_shot': 0.4, 'few_shot': 0.2}}}}


def body_of(req, **kw):
    "The JSON body the openai backend sends for `req`."
    s = req.sampling
    return {'model': MODEL_ID, 'messages': req.as_openai(), 'temperature': s.temperature, 'top_p': s.top_p, 'max_tokens': s.max_new_tokens,
            'seed': s.seed, **kw}


def read(path):
    return pd.read_csv(path, keep_default_na=False)


@pytest.fixture(scope='session')
def prepared(tmp_path_factory, real_data):
    "SMALL prepared into a folder of its own (per_label 30, 2 replicates: every cell too small)."
    out = tmp_path_factory.mktemp('simulated')
    info = prepare_data(SMALL, out/'data', per_label=30, replicates=2)
    return {'dir': out/'data', 'info': info, 'truth': read_truth(SMALL)}


@pytest.fixture(scope='session')
def endpoint(prepared):
    return SimulatedEndpoint(prepared['truth'], prepared['dir'])


# The planted truth

def test_read_truth_reads_checks_and_writes_back(tmp_path):
    t = read_truth(yaml.safe_load(EXAMPLE))
    assert t.tasks['humor_speech'] == TaskTruth(1.0, {'zero_shot': 0.4, 'few_shot': 0.3}, 'any')
    assert t.tasks['ag_news'].noise_from == 'any' and t.seed == 0 and t.pool_per_label == 200
    assert t.judge == {'position_bias': 0.0, 'noise': 0.3, 'scale': 1.0} and t.crowd == {'comparisons': 540, 'workers': 30, 'position_bias': 0.0}
    (tmp_path/'t.yaml').write_text(EXAMPLE)
    assert read_truth(tmp_path/'t.yaml') == t and read_truth(str(tmp_path/'t.yaml')) == t and read_truth(t) == t
    assert read_truth(write_truth(t, tmp_path/'back.yaml')) == t
    assert list(yaml.safe_load((tmp_path/'back.yaml').read_text())) == ['seed', 'pool_per_label', 'tasks', 'judge', 'crowd']
    assert truth_to_dict(t)['tasks']['humor_speech'] == {'subjectivity': 1.0, 'noise': {'zero_shot': 0.4, 'few_shot': 0.3}, 'noise_from': 'any'}
    assert read_truth({'tasks': {'ag_news': {'subjectivity': 0, 'noise': 0.2}}}).tasks['ag_news'].noise == {'zero_shot': 0.2, 'few_shot': 0.2}


@pytest.mark.parametrize('change, message', [
    ({'tasks': {'ag_nwes': {'subjectivity': 0}}}, "tasks.ag_nwes: Unknown task 'ag_nwes'. Did you mean 'ag_news'?"),
    ({'tasks': {'ag_news': {'subjectivity': 0, 'noise': {'zero_shot': 1.5}}}}, 'tasks.ag_news.noise.zero_shot must be a number in [0, 1], got 1.5'),
    ({'tasks': {'ag_news': {'subjectivity': 0, 'noise': {'zero_shot': -0.1}}}}, 'tasks.ag_news.noise.zero_shot must be a number in [0, 1]'),
    ({'tasks': {'ag_news': {'subjectivity': 0, 'noise': {'one_shot': 0.1}}}}, 'unknown key(s) one_shot in tasks.ag_news.noise; it takes zero_shot, few_shot'),
    ({'tasks': {'ag_news': {'subjectivity': 0, 'noize': 0.1}}}, 'unknown key(s) noize in tasks.ag_news'),
    ({'tasks': {'ag_news': {'noise': 0.1}}}, 'tasks.ag_news needs subjectivity'),
    ({'tasks': {'ag_news': {'subjectivity': 'high'}}}, 'tasks.ag_news.subjectivity must be a number'),
    ({'tasks': {'ag_news': {'subjectivity': 0, 'noise_from': 'disagreement'}}}, 'tasks.ag_news.noise_from must be one of any, low_agreement'),
    ({'tasks': {}}, 'tasks must map at least one task name'),
    ({'judge': {'bias': 1}}, 'unknown key(s) bias in judge'),
    ({'judge': {'noise': -1}}, 'judge.noise must be a number of at least 0'),
    ({'crowd': {'comparisons': 0}}, 'crowd.comparisons must be an integer of at least 1'),
    ({'crowd': {'workers': 2.5}}, 'crowd.workers must be an integer'),
    ({'pool_per_label': 0}, 'pool_per_label must be an integer of at least 1'),
    ({'seeds': 1}, 'unknown key(s) seeds in the top level'),
])
def test_a_bad_truth_names_the_file_the_key_and_the_fix(tmp_path, change, message):
    f = tmp_path/'truth.yaml'
    f.write_text(yaml.safe_dump({**yaml.safe_load(EXAMPLE), **change}))
    with pytest.raises(ValueError) as e: read_truth(f)
    assert str(e.value).startswith(f'truth file {f}: ') and message in str(e.value), str(e.value)


def test_a_missing_or_broken_truth_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='No truth file at'): read_truth(tmp_path/'none.yaml')
    (tmp_path/'broken.yaml').write_text('tasks: [\n')
    with pytest.raises(ValueError, match='is not valid YAML'): read_truth(tmp_path/'broken.yaml')


def test_planted_and_null_truths():
    t = planted_truth(['ag_news', 'sms_spam', 'financial_phrasebank', 'tweet_irony', 'humor_speech'], low=0.1, high=0.5, few_shot_factor=0.5,
                      seed=3, pool_per_label=50, judge={'noise': 0.2}, noise_from='low_agreement')
    assert isinstance(t, Truth) and list(t.tasks) == ['ag_news', 'sms_spam', 'financial_phrasebank', 'tweet_irony', 'humor_speech']
    assert [x.subjectivity for x in t.tasks.values()] == [-1.5, -0.75, 0.0, 0.75, 1.5]
    assert [x.noise['zero_shot'] for x in t.tasks.values()] == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert [x.noise['few_shot'] for x in t.tasks.values()] == [0.05, 0.1, 0.15, 0.2, 0.25]
    assert t.seed == 3 and t.pool_per_label == 50 and t.judge['noise'] == 0.2 and {x.noise_from for x in t.tasks.values()} == {'low_agreement'}
    n = null_truth(['ag_news', 'tweet_irony'], seed=1)
    assert all(x.noise == {'zero_shot': 0.0, 'few_shot': 0.0} for x in n.tasks.values()) and n.seed == 1
    with pytest.raises(ValueError, match="Unknown task 'imbd'"): planted_truth(['imbd', 'ag_news'])
    with pytest.raises(ValueError, match='few_shot must be a number in'): planted_truth(['ag_news', 'sms_spam'], high=0.8, few_shot_factor=2)


# Pools

def test_split_pool_is_stratified_seeded_and_disjoint(real_data):
    rest, pool = split_pool('financial_phrasebank', 60, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DataWarning)
        test = set(load_task('financial_phrasebank')[1]['test']['text'])
    raw = read(task_folder(get_card('financial_phrasebank'))/'train.csv')
    assert list(pool.columns) == list(rest.columns) == ['text', 'label', 'agreement']
    assert pool.label.value_counts().to_dict() == {'negative': 60, 'neutral': 60, 'positive': 60}
    assert len(rest) + raw.text.isin(set(pool.text)).sum() == len(raw)  # each raw row: in the rest, or a copy of a pool text
    assert not set(pool.text) & set(rest.text) and not set(pool.text) & test
    assert pool.merge(raw, on=['text', 'label', 'agreement']).shape[0] == len(pool)  # rows as they are in the file
    assert split_pool('financial_phrasebank', 60, seed=0)[1].equals(pool) and not split_pool('financial_phrasebank', 60, seed=1)[1].equals(pool)
    big = split_pool('financial_phrasebank', 100_000)[1].label.value_counts()
    assert (big <= raw.label.value_counts()[big.index] // 2).all()  # the real data keeps at least half of every label
    with pytest.raises(ValueError, match='pool_per_label must be at least 1'): split_pool('ag_news', 0)


def test_the_pool_holds_recurring_texts_as_a_real_sample_does(real_data):
    """SMS Spam repeats stock messages (about 4% of its distinct train texts occur more than once). A real sample of a label holds
    them at their share; the pool must too (it took only texts that occur once, so simulated synthetic sets never held them)."""
    raw = read(task_folder(get_card('sms_spam'))/'train.csv')
    times = raw.text.value_counts()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DataWarning)
        real = load_task('sms_spam')[1]['train'].to_pandas()
    real = real.assign(label=real.label.map(dict(enumerate(get_card('sms_spam').label_names))))
    rest, pool = split_pool('sms_spam', 250, seed=0)
    for label, g in pool.groupby('label'):
        share, n = real[real.label == label].text.map(times).gt(1).mean(), len(g)
        got = g.text.map(times).gt(1).mean()
        assert share > 0.01 and abs(got - share) <= 4 * np.sqrt(share * (1 - share) / n), (label, got, share, n)
    assert not set(pool.text) & set(rest.text) and len(rest) + raw.text.isin(set(pool.text)).sum() == len(raw)


def test_each_split_draws_its_real_samples_afresh(real_data):
    """The train stage's real_matched for seed k is a seeded draw of row positions from the real train split, in file order
    (`subsample_per_label`). With the rest in the file's own order, seed 0 took the same stretches of the file in every split
    (the pool shifts them a little), so every simulated study shared one sample's luck: on tweet_irony, a null truth's real side
    stood 0.0096 above the pool's sets in the calibration, a lean toward "real > synthetic". The rest now comes shuffled per
    split: the seed-0 sample's mean file position varies over splits as a fresh random sample's does."""
    from datasets import ClassLabel, Dataset, Features, Value
    from synthclf.data import subsample_per_label
    card = get_card('tweet_irony')
    raw = read(task_folder(card)/'train.csv')
    position = pd.Series(np.arange(len(raw)), index=raw.text).groupby(level=0).first()
    features = Features({'text': Value('string'), 'label': ClassLabel(names=card.label_names)})
    means = []
    for split in range(40):
        rest = split_pool(card, 200, seed=split)[0].drop_duplicates('text')
        ds = Dataset.from_dict({'text': rest.text.tolist(), 'label': rest.label.map(card.label_names.index).tolist()}, features=features)
        means.append(position[subsample_per_label(ds, 20, seed=0)['text']].mean())
    fresh = position.std() / np.sqrt(20 * card.num_labels)  # a fresh random sample's sd of its mean position
    assert 0.6 < np.std(means, ddof=1) / fresh < 1.6, (np.std(means, ddof=1), fresh)


def test_prepare_data_writes_a_data_folder_without_the_pool(prepared):
    d, info = prepared['dir'], prepared['info']
    assert json.loads((d/'simulation.json').read_text()) == info and info['truth'] == truth_to_dict(SMALL)
    assert info['tasks']['ag_news']['pool'] == {'World': 40, 'Sports': 40, 'Business': 40, 'Sci/Tech': 40}
    assert len(info['too_small']) == 2 * (4 + 3 + 2) and {(c['pool'], c['needed']) for c in info['too_small']} == {(40, 60)}
    assert (d/'tweet_irony'/'test.csv').is_symlink() and (d/'tweet_irony'/'validation.csv').is_symlink()
    assert (d/'ag_news'/'test.csv').resolve() == (task_folder(get_card('ag_news'))/'test.csv').resolve()
    assert json.loads((d/'ag_news'/'labels.json').read_text())['labels'] == get_card('ag_news').label_names
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DataWarning)
        for task in SMALL['tasks']:
            sim, orig = load_task(task, data_dir=d)[1], load_task(task)[1]
            pool = read(d/task/'pool.csv')
            assert sim['test']['text'] == orig['test']['text'] and sim['train'].num_rows == orig['train'].num_rows - len(pool)
            assert not set(pool.text) & set(sim['train']['text']) and not set(pool.text) & set(sim['test']['text'])
    assert prepare_data(SMALL, d) == {**info, 'per_label': None, 'replicates': 1, 'too_small': []}  # again, in place
    with pytest.raises(ValueError, match='own'): prepare_data(SMALL, task_folder(get_card('ag_news')).parent)


def test_synthetic_draw(prepared):
    irony = read(prepared['dir']/'tweet_irony'/'pool.csv')
    names = get_card('tweet_irony').label_names
    d = synthetic_draw(irony, names, 15, 0.0, np.random.default_rng(0))
    assert list(d.columns) == ['text', 'label', 'true_label', 'copy_of']
    assert len(d) == 30 and (d.label == d.true_label).all()
    assert (d.copy_of == d.text).all() and d.attrs['noise'] == 0.0  # no collapse: every text is the pool text itself
    assert d.text.is_unique and d.text.isin(irony.text).all() and d.attrs['short'] == {}
    assert synthetic_draw(irony, names, 15, 0.0, np.random.default_rng(0)).equals(d)
    wrong = np.mean([(lambda x: (x.label != x.true_label).mean())(synthetic_draw(irony, names, 15, 0.3, np.random.default_rng(s))) for s in range(60)])
    assert abs(wrong - 0.3) < 0.03
    noisy = synthetic_draw(irony, names, 15, 1.0, np.random.default_rng(0))
    assert (noisy.label != noisy.true_label).all() and noisy.text.is_unique  # replacements are unused texts
    short = synthetic_draw(irony, names, 50, 0.2, np.random.default_rng(0))
    assert short.attrs['short'] == {'non_irony': 10, 'irony': 10} and len(short) == 80 and short.text.is_unique
    fpb = read(prepared['dir']/'financial_phrasebank'/'pool.csv')
    d = synthetic_draw(fpb, get_card('financial_phrasebank').label_names, 10, 0.6, np.random.default_rng(0), noise_from='low_agreement')
    swapped = d[d.label != d.true_label].merge(fpb, on='text')
    assert len(swapped) >= 10 and (swapped.agreement < 1).all()
    # a pool without an agreement column: low_agreement noise falls back to any text of another label, at the same rate and draws
    for s in range(5):
        fallback = synthetic_draw(irony, names, 10, 0.5, np.random.default_rng(s), noise_from='low_agreement')
        assert fallback.equals(synthetic_draw(irony, names, 10, 0.5, np.random.default_rng(s), noise_from='any')), s
    swapped = np.mean([(lambda x: (x.label != x.true_label).mean())(synthetic_draw(irony, names, 15, 0.5, np.random.default_rng(s),
                                                                                   noise_from='low_agreement')) for s in range(40)])
    assert abs(swapped - 0.5) < 0.05, swapped
    with pytest.raises(ValueError, match=r'noise must lie in \[0, 1\]'): synthetic_draw(irony, names, 5, 1.5, np.random.default_rng(0))


# The LLM-like worlds: what each does to the diversity and similarity figures, and to the spread between sets
def _wrong(d): return float((d.label != d.true_label).mean())


def test_uneven_sets_spread_a_sets_noise_share_by_what_was_asked(real_data):
    "Each set's own noise share: between sets its sd is the spread asked (0.1, 0.05), its mean the mode's noise."
    _, pool = split_pool('ag_news', 200, 0)
    names = get_card('ag_news').label_names
    for spread in (0.05, 0.1):
        sets = [synthetic_draw(pool, names, 40, 0.2, np.random.default_rng([1, s]), spread=spread) for s in range(300)]
        drawn, real = np.array([d.attrs['noise'] for d in sets]), np.array([_wrong(d) for d in sets])
        assert abs(drawn.std() - spread) < 0.15 * spread, (spread, drawn.std())
        assert abs(drawn.mean() - 0.2) < 0.015, (spread, drawn.mean())
        # the realised share of 160 texts: the spread asked plus the binomial part, E[p(1 - p)] / 160
        expected = np.sqrt(spread ** 2 + (0.2 * 0.8 - spread ** 2) / 160)
        assert abs(real.std() - expected) < 0.15 * expected, (spread, real.std(), expected)
        assert abs(real.mean() - 0.2) < 0.015, (spread, real.mean())
    even = np.array([_wrong(synthetic_draw(pool, names, 40, 0.2, np.random.default_rng([1, s]))) for s in range(300)])
    assert abs(even.std() - np.sqrt(0.16 / 160)) < 0.006, even.std()  # even sets: binomial only (0.032)
    with pytest.raises(ValueError, match='too large for noise 0.05'):
        synthetic_draw(pool, names, 5, 0.05, np.random.default_rng(0), spread=0.3)


def test_collapse_lowers_diversity_and_keeps_the_sets_near_the_real_data(real_data):
    "Collapse to 2 seed texts per label: remote-clique, Chamfer and distinct-2 fall; label noise keeps its rate."
    from synthclf.diversity import chamfer, distinct_n, nearest_similarity, remote_clique
    from synthclf.encoders import embed
    _, pool = split_pool('ag_news', 200, 0)
    names = get_card('ag_news').label_names
    free = synthetic_draw(pool, names, 10, 0.0, np.random.default_rng(0))
    two = synthetic_draw(pool, names, 10, 0.0, np.random.default_rng(0), seeds=2)
    assert len(two) == 40 and two.groupby('label').copy_of.nunique().eq(2).all() and (two.label == two.true_label).all()
    ef, et = embed(free.text.tolist()), embed(two.text.tolist())
    figures = {'remote_clique': (remote_clique(ef), remote_clique(et)), 'chamfer': (chamfer(ef), chamfer(et)),
               'distinct_2': (distinct_n(free.text, 2), distinct_n(two.text, 2))}
    # remote-clique falls by the share of pairs copying one seed (distance ~0): 4 labels x 2 seeds x C(5, 2) of C(40, 2)
    same = sum(n * (n - 1) / 2 for n in two.copy_of.value_counts()) / (40 * 39 / 2)
    assert figures['remote_clique'][1] < 0.92 * figures['remote_clique'][0], figures
    assert abs(figures['remote_clique'][1] - (1 - same) * figures['remote_clique'][0]) < 0.03, (figures, same)
    assert figures['chamfer'][1] < 0.3 * figures['chamfer'][0], figures  # every text has a near-copy beside it
    assert figures['distinct_2'][1] < 0.5 * figures['distinct_2'][0], figures
    # a near-copy sits next to its seed (one word left out): its similarity to the seeds is that of a near-duplicate
    seeds = embed(two.copy_of.drop_duplicates().tolist())
    assert nearest_similarity(et, seeds, k=1).min() > 0.8
    noisy = [_wrong(synthetic_draw(pool, names, 10, 0.3, np.random.default_rng(s), seeds=2)) for s in range(100)]
    assert abs(np.mean(noisy) - 0.3) < 0.03, np.mean(noisy)
    with pytest.raises(ValueError, match=r'seeds \(collapse\)'):
        synthetic_draw(pool, names, 5, 0.0, np.random.default_rng(0), seeds=0)


def test_shift_and_prototypes_move_the_figures_they_claim_to(real_data):
    """Shift and prototypes against plain draws on AG News, 5 sets of 20 per label each, embedded by MiniLM: *short* texts
    are shorter and further from the real data (mean top-5 similarity); *prototypes* (the surest quarter of a TF-IDF
    classifier trained on the rest) are read surer by that classifier, sit nearer the real data and closer together within
    a label (remote-clique, Chamfer). (*long*, and every world on six tasks: benchmarks/world_figures.py.)"""
    from synthclf.classifiers import embed_cached
    from synthclf.diversity import chamfer, nearest_similarity, remote_clique
    names = get_card('ag_news').label_names
    rest, pool = split_pool('ag_news', 200, 0)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DataWarning)
        train = load_task('ag_news')[1]['train'].to_pandas()
    real = train.assign(label=[names[i] for i in train.label]).loc[lambda d: ~d.text.isin(set(pool.text))]
    pool = pool.assign(sure=prototype_scores(pool, real, names))
    ref = embed_cached(real.groupby('label', group_keys=False).apply(lambda d: d.sample(100, random_state=0)).text.tolist())
    sure_of = dict(zip(pool.text, pool.sure))

    def figures(**world):
        rows = []
        for s in range(5):
            d = synthetic_draw(pool, names, 20, 0.0, np.random.default_rng([5, s]), **world)
            e = embed_cached(d.text.tolist())
            by = [(d.label == l).to_numpy() for l in names]
            rows.append({'words': d.text.str.split().str.len().mean(), 'sure': d.text.map(sure_of).mean(),
                         'similarity': nearest_similarity(e, ref, 5).mean(),
                         'remote_clique': np.mean([remote_clique(e[m]) for m in by]),
                         'chamfer': np.mean([chamfer(e[m]) for m in by])})
        return pd.DataFrame(rows).mean()

    plain, short, proto = figures(), figures(shift='short'), figures(prototypes=0.25)
    table = pd.DataFrame({'plain': plain, 'short': short, 'prototypes': proto}).round(3)
    assert short.words < 0.85 * plain.words and short.similarity < plain.similarity - 0.005, table
    assert proto.sure > plain.sure + 0.15 and proto.similarity > plain.similarity + 0.03, table
    assert proto.remote_clique < plain.remote_clique - 0.03 and proto.chamfer < plain.chamfer - 0.04, table
    assert abs(short.sure - plain.sure) < 0.1 and abs(short.remote_clique - plain.remote_clique) < 0.03, table  # one moves


def test_cli_draw_writes_shifted_and_prototypical_sets(prepared, tmp_path):
    from synthclf.cli import main
    truth = tmp_path/'truth.yaml'
    write_truth(SMALL, truth)
    main(['simulate', 'draw', '--truth', str(truth), '--data-dir', str(prepared['dir']), '--task', 'tweet_irony',
          '--per-label', '4', '--sets', '2', '--shift', 'short', '--prototypes', '0.5', '--out', str(tmp_path/'sets')])
    pool = read(prepared['dir']/'tweet_irony'/'pool.csv')
    short = pool.text[length_third(pool, get_card('tweet_irony').label_names, 'short')]
    for r in range(2):
        s = read(tmp_path/'sets'/f'tweet_irony-zero_shot-{r}.csv')
        assert len(s) == 8 and s.text.isin(short).all(), s  # wrong-label texts too: every text from the short thirds
    bad = subprocess.run([SYNTHCLF, 'simulate', 'draw', '--truth', str(truth), '--data-dir', str(prepared['dir']),
                          '--task', 'tweet_irony', '--shift', 'terse', '--out', str(tmp_path/'x')], capture_output=True,
                         text=True)
    assert bad.returncode == 2 and 'shift must be one of short, long' in bad.stderr, bad.stderr
    assert not (tmp_path/'x').exists() or not any((tmp_path/'x').iterdir())


# The endpoint

def test_generation_answers_pool_texts_with_the_planted_noise(prepared, endpoint):
    d = prepared['dir']
    irony = get_card('tweet_irony')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DataWarning)
        train = load_task(irony, data_dir=d)[1]['train']
    labels, held = read(d/'tweet_irony'/'pool.csv').set_index('text').label, set(read(d/'tweet_irony'/'train.csv').text)
    for mode, planted in prepared['truth'].tasks['tweet_irony'].noise.items():
        asked = [(l, request_for(irony, l, lid, i, mode, 0, train if mode == 'few_shot' else None, 3, SAMPLING)[0])
                 for i in range(200) for lid, l in enumerate(irony.label_names)]
        answers = [endpoint.handle(body_of(r)) for _, r in asked]
        texts = [a['choices'][0]['message']['content'] for a in answers]
        assert all(t in labels.index and t not in held for t in texts)
        wrong = np.mean([labels[t] != l for (l, _), t in zip(asked, texts)])
        assert abs(wrong - planted) < 0.07, (mode, wrong, planted)
        a = answers[0]
        assert a['object'] == 'chat.completion' and a['model'] == MODEL_ID and a['choices'][0]['finish_reason'] == 'stop'
        assert a['usage']['completion_tokens'] == len(texts[0].split()) and a['usage']['total_tokens'] > a['usage']['completion_tokens']
        assert endpoint.handle(body_of(asked[0][1])) == a  # the same request, the same answer
    ag = get_card('ag_news')
    pool = read(d/'ag_news'/'pool.csv').set_index('text').label
    for lid, l in enumerate(ag.label_names):  # no noise planted: every answer is a text of the label asked for
        assert {pool[endpoint.handle(body_of(request_for(ag, l, lid, i, 'zero_shot', 0, None, 3, SAMPLING)[0]))['choices'][0]['message']['content']]
                for i in range(20)} == {l}


def test_low_agreement_noise_serves_texts_annotators_disagreed_on(prepared, endpoint):
    fpb = get_card('financial_phrasebank')
    pool = read(prepared['dir']/'financial_phrasebank'/'pool.csv').set_index('text')
    served = [(l, pool.loc[endpoint.handle(body_of(request_for(fpb, l, lid, i, 'zero_shot', 0, None, 3, SAMPLING)[0]))['choices'][0]['message']['content']])
              for i in range(60) for lid, l in enumerate(fpb.label_names)]
    swapped = [row for l, row in served if row.label != l]
    assert 0.35 < len(swapped) / len(served) < 0.65 and all(row.agreement < 1 for row in swapped)


def test_the_judge_answers_by_bradley_terry_on_the_planted_scores(prepared):
    ag, fpb, irony = (get_card(t) for t in ('ag_news', 'financial_phrasebank', 'tweet_irony'))
    def p_a(ep, a, b, req_of=lambda a, b, ph: pair_request(a, b, ph), phrasing='subjective'):
        out = ep.handle(body_of(req_of(a, b, phrasing), logprobs=True, top_logprobs=20))
        content = out['choices'][0]['logprobs']['content']
        top = {t['token']: t['logprob'] for t in content[0]['top_logprobs']}
        assert set(top) == {'A', 'B'} and np.isclose(np.exp(top['A']) + np.exp(top['B']), 1)
        assert out['choices'][0]['message']['content'] == content[0]['token'] == max(top, key=top.get)  # temperature 0: the likelier letter
        assert list(top) == sorted(top, key=top.get, reverse=True)
        return np.exp(top['A'])
    ep = SimulatedEndpoint(prepared['truth'], prepared['dir'])
    for ph, spec in PAIR_PHRASINGS.items():
        sign = -1 if spec['invert'] else 1
        assert np.isclose(p_a(ep, irony, ag, phrasing=ph), expit(sign * 2.0)) and np.isclose(p_a(ep, ag, fpb, phrasing=ph), expit(sign * -1.0))
    assert np.isclose(p_a(ep, irony, fpb, lambda a, b, ph: task_judgment_request(a, b, temperature=0.0)), expit(1.0))  # the original question
    d = truth_to_dict(SMALL)
    biased = SimulatedEndpoint({**d, 'judge': {'position_bias': 1.0, 'scale': 2.0}}, prepared['dir'])
    assert np.isclose(p_a(biased, irony, ag), expit(2 * 2.0 + 1.0)) and np.isclose(p_a(biased, ag, irony), expit(-4.0 + 1.0))
    noisy = SimulatedEndpoint({**d, 'judge': {'noise': 1.0}}, prepared['dir'])
    logit = lambda p: np.log(p / (1 - p))
    draws = [logit(p_a(noisy, irony, ag, lambda a, b, ph, s=s: pair_request(a, b, ph, seed=s))) for s in range(300)]
    assert abs(np.mean(draws) - 2.0) < 0.2 and abs(np.std(draws) - 1.0) < 0.15  # ε ~ N(0, 1) per prompt and seed
    sampled = [ep.handle(body_of(pair_request(fpb, ag, 'subjective', temperature=1.0, seed=s)))['choices'][0]['message']['content'] for s in range(400)]
    assert abs(sampled.count('A') / 400 - expit(1.0)) < 0.07  # at temperature 1, a sample
    assert ep.handle(body_of(pair_request(fpb, ag)))['choices'][0]['logprobs'] is None  # none asked for


def test_what_the_simulator_does_not_answer(endpoint):
    ag, imdb = get_card('ag_news'), get_card('imdb')
    cases = [(rating_request(ag), 400, 'answers only generation prompts'), (label_request(ag, 'Some news.'), 400, 'answers only generation prompts'),
             (pair_request(ag, imdb), 400, "The judge was asked about task 'imdb', which the truth does not plant"),
             (request_for(get_card('sms_spam'), 'spam', 1, 0, 'zero_shot', 0, None, 3, SAMPLING)[0], 400,
              "A generation prompt for task 'sms_spam', which the truth does not plant")]
    for req, status, message in cases:
        with pytest.raises(SimulatorError) as e: endpoint.handle(body_of(req))
        assert e.value.status == status and message in str(e.value), str(e.value)
    with pytest.raises(SimulatorError) as e: endpoint.handle({**body_of(rating_request(ag)), 'model': 'gpt-4o'})
    assert e.value.status == 404 and MODEL_ID in str(e.value)
    with pytest.raises(SimulatorError, match='no messages'): endpoint.handle({'model': MODEL_ID})
    with pytest.raises(FileNotFoundError, match='synthclf simulate prepare'): SimulatedEndpoint(SMALL, '/no/such/folder')


def test_serve_on_loopback_with_the_openai_backend(prepared, tmp_path):
    from synthclf.cache import CallCache
    from synthclf.llm import EndpointError, OpenAIBackend
    from synthclf.subjectivity import rank_tasks
    ag = get_card('ag_news')
    req = request_for(ag, 'World', 0, 0, 'zero_shot', 0, None, 3, SAMPLING)[0]
    with serve(SMALL, prepared['dir']) as url:
        assert url.startswith('http://127.0.0.1:') and url.endswith('/v1')
        assert json.loads(urllib.request.urlopen(url + '/models', timeout=10).read())['data'][0]['id'] == MODEL_ID
        llm = OpenAIBackend(MODEL_ID, base_url=url)
        [c] = llm.complete([req])
        assert c.text == SimulatedEndpoint(SMALL, prepared['dir']).handle(body_of(req))['choices'][0]['message']['content'] and c.completion_tokens > 0
        ranking, rel = rank_tasks(list(SMALL['tasks']), backend=llm, cache=CallCache(tmp_path/'calls.sqlite'), progress=False, n_boot=50, n_splits=50)
        assert ranking.task.tolist() == ['tweet_irony', 'financial_phrasebank', 'ag_news'] and rel['reliable'] and rel['mass'] == pytest.approx(1.0)
        with pytest.raises(EndpointError, match='answered 400.*answers only generation prompts'): llm.complete([rating_request(ag)])
        with pytest.raises(EndpointError, match='answered 404'): OpenAIBackend('gpt-4o', base_url=url).complete([req])
        for path, data, status in (('/chat/completions', b'not json', 400), ('/embeddings', b'{}', 404)):
            with pytest.raises(urllib.error.HTTPError) as e: urllib.request.urlopen(urllib.request.Request(url + path, data=data), timeout=10)
            assert e.value.code == status and 'message' in json.loads(e.value.read())['error']
    with pytest.raises(OSError): urllib.request.urlopen(url + '/models', timeout=2)  # stopped with the block
    for host in ('0.0.0.0', '192.168.1.10', 'example.org'):
        with pytest.raises(ValueError, match='loopback only'):
            with serve(SMALL, prepared['dir'], host=host): pass
    cmd = run_command(SMALL, 'http://127.0.0.1:8765/v1', prepared['dir'])
    assert cmd.startswith('synthclf run --tasks ag_news,financial_phrasebank,tweet_irony -p backend=openai -p model=synthclf-simulator')
    assert "'rank_tasks=[ag_news,financial_phrasebank,tweet_irony]'" in cmd and f"data_dir={prepared['dir'].resolve()}" in cmd


# The crowd

def test_simulate_crowd():
    five = planted_truth(['ag_news', 'sms_spam', 'financial_phrasebank', 'tweet_irony', 'humor_speech'])
    crowd = simulate_crowd(five)
    assert list(crowd.columns) == ['task_a', 'task_b', 'winner', 'judge'] and len(crowd) == 540 and crowd.judge.nunique() == 30
    assert read_judgments(crowd).shape == (540, 4) and (crowd.task_a != crowd.task_b).all()
    assert abs((crowd.winner == crowd.task_a).mean() - 0.5) < 0.07  # no position bias planted
    fit = bradley_terry(crowd, n_boot=50)
    from scipy.stats import spearmanr
    assert spearmanr(fit.score, fit.task.map({t: x.subjectivity for t, x in five.tasks.items()}))[0] > 0.89
    assert simulate_crowd(five, seed=5).equals(simulate_crowd(five, seed=5)) and not simulate_crowd(five, seed=5).equals(crowd)
    small = simulate_crowd(five, comparisons=50, workers=3)
    assert len(small) == 50 and set(small.judge) <= {'worker0', 'worker1', 'worker2'}
    biased = simulate_crowd({**truth_to_dict(five), 'crowd': {'position_bias': 3.0}}, comparisons=300)
    assert (biased.winner == biased.task_a).mean() > 0.75
    with pytest.raises(ValueError, match='only'): simulate_crowd({'tasks': {'ag_news': {'subjectivity': 0}}})


# The command line

def test_cli_prepare_crowd_and_serve(tmp_path, real_data):
    from synthclf.cli import main
    truth = tmp_path/'truth.yaml'
    write_truth(planted_truth(['ag_news', 'sms_spam'], pool_per_label=30), truth)
    main(['simulate', 'prepare', '--truth', str(truth), '--out', str(tmp_path/'data')])
    assert (tmp_path/'data'/'sms_spam'/'pool.csv').is_file() and json.loads((tmp_path/'data'/'simulation.json').read_text())['too_small'] == []
    main(['simulate', 'crowd', '--truth', str(truth), '--out', str(tmp_path/'crowd.csv'), '--comparisons', '40'])
    assert len(read_judgments(tmp_path/'crowd.csv')) == 40
    bad = subprocess.run([SYNTHCLF, 'simulate', 'prepare', '--truth', str(tmp_path/'none.yaml'), '--out', str(tmp_path/'x')], capture_output=True, text=True)
    assert bad.returncode == 2 and 'synthclf simulate: error: No truth file at' in bad.stderr
    # serve in the foreground: it prints the URL and the run command, answers, and stops on Ctrl-C
    p = subprocess.Popen([SYNTHCLF, 'simulate', 'serve', '--truth', str(truth), '--data-dir', str(tmp_path/'data'), '--port', '0'],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = p.stdout.readline()
        assert 'synthclf simulator: 2 task(s) at http://127.0.0.1:' in first, (first, p.stderr.read() if p.poll() is not None else '')
        url = first.split(' at ')[1].split()[0]
        command = p.stdout.readline().strip()
        assert command.startswith('synthclf run --tasks ag_news,sms_spam -p backend=openai') and f'base_url={url}' in command
        assert json.loads(urllib.request.urlopen(url + '/models', timeout=10).read())['data'][0]['id'] == MODEL_ID
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=90)  # generous: under a loaded CI machine the interpreter's exit can be slow
    finally:
        if p.poll() is None: p.kill()
    assert p.returncode == 0 and 'stopped' in out, err


# A whole run against the simulator

E2E_TASKS = ['ag_news', 'sms_spam', 'tweet_irony']


@pytest.fixture(scope='session')
def simulated_run(tmp_path_factory, real_data):
    "`synthclf run` on three tasks against the simulator on loopback, with a planted truth: the run folder, the data folder, the CLI's result."
    base = tmp_path_factory.mktemp('simulated-run')
    truth = planted_truth(E2E_TASKS, low=0.0, high=0.4, pool_per_label=60)
    prepare_data(truth, base/'data')
    with serve(truth, base/'data') as url:
        cmd = [SYNTHCLF, 'run', '--tasks', ','.join(E2E_TASKS), '--out', str(base/'run'), '-p', 'backend=openai', '-p', f'model={MODEL_ID}',
               '-p', f'base_url={url}', '-p', f"data_dir={base/'data'}", '-p', 'per_label=8', '-p', 'seeds=2', '-p', 'test_cap=150',
               '-p', 'classifier=embedding-lr', '-p', f"rank_tasks=[{','.join(E2E_TASKS)}]", '-p', 'judge_k=1',
               '-p', 'diversity_per_label=8', '-p', 'reference_size=100',
               '-p', 'train.remedies=[]',  # the remedies are tests/test_run.py's (they doubled this run's fits)
               # the three sources the ordering lines compare, and one worth line (test_generators' set): the quick profile's
               # other seven curve and mixture sources are tests/test_run.py's (they were half of this run's 78 fits)
               '-p', 'train.train_on=[real_matched,zero_shot,few_shot,real@10,real@20,real@10+few_shot]',
               '-p', 'train.fidelity_real_per_label=50']  # its reader on 50 real texts a label, not 500 (tests/test_fidelity checks it)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    return {'run': base/'run', 'data': base/'data', 'truth': truth, 'returncode': p.returncode, 'stdout': p.stdout, 'stderr': p.stderr}


@pytest.mark.slow
def test_a_whole_run_against_the_simulator(simulated_run):
    run, data, truth = simulated_run['run'], simulated_run['data'], simulated_run['truth']
    wrong = {}
    assert simulated_run['returncode'] == 0, (simulated_run['stdout'][-3000:], simulated_run['stderr'][-3000:])
    for task in E2E_TASKS:
        card = get_card(task)
        pool = read(data/task/'pool.csv')
        served = {t: l for p, l in zip(pool.text, pool.label) for t in (p, clean_text(p, card)[0])}  # as served, and as generate cleans it
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DataWarning)
            test = set(load_task(task, data_dir=data)[1]['test']['text'])
        train = set(read(data/task/'train.csv').text)
        wrong[task] = 0
        for mode in ('zero_shot', 'few_shot'):
            man = json.loads((run/task/'generate'/mode/'manifest.json').read_text())
            assert man['model'] == MODEL_ID and man['backend'] == 'openai' and man['short'] == {}
            rows = [json.loads(l) for l in (run/task/'generate'/mode/'data.jsonl').read_text().splitlines()]
            assert len(rows) == 8 * card.num_labels
            assert all(r['text'] in served and r['text'] not in train and r['text'] not in test for r in rows)
            wrong[task] += sum(served[r['text']] != r['label'] for r in rows)
    assert wrong['ag_news'] == 0 and wrong['tweet_irony'] > 0, wrong  # no noise planted; 40% planted
    verdict = pd.read_csv(run/'analysis'/'verdict.csv')
    assert (verdict.claim == 'ordering').sum() == 3 * len(E2E_TASKS) and verdict.word.notna().all()
    ranking = pd.read_csv(run/'analysis'/'ranking.csv')
    assert ranking.task.tolist() == sorted(truth.tasks, key=lambda t: -truth.tasks[t].subjectivity)
    assert json.loads((run/'analysis'/'judge.json').read_text())['reliable']
    assert (run/'report.html').is_file()
