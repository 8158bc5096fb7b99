"Label fidelity (synthclf.fidelity): recovered where the simulator plants the truth, and stored for the user to read."
import json
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from synthclf.fidelity import corrected_shares, fidelity_interval, label_fidelity
from synthclf.simulate import planted_fidelity


def test_planted_swap_recovered(real_data):
    "A 30% label swap: the corrected estimate lands near 0.7 and its interval covers the truth; the raw rate does not."
    r = planted_fidelity('financial_phrasebank', noise=0.3, per_label=100, real_per_label=300, seed=1, n_boot=300)
    assert abs(r['truth'] - 0.7) < 0.05
    assert r['covered'] and abs(r['fidelity'] - r['truth']) < 0.06, r
    assert r['truth'] - r['raw'] > 0.1, r  # the reader's own errors bias the raw rate down: what the correction removes


def test_coverage_over_seeds(real_data):
    "Over 10 seeds the 95% interval covers the planted truth in at least 8 (binomial: P(≤7 | 0.95) < 0.02)."
    rs = [planted_fidelity('financial_phrasebank', noise=0.3, per_label=80, real_per_label=250, seed=s, n_boot=300)
          for s in range(10)]
    assert sum(r['covered'] for r in rs) >= 8, [(round(r['fidelity'], 3), round(r['truth'], 3)) for r in rs]
    assert abs(np.mean([r['fidelity'] - r['truth'] for r in rs])) < 0.04  # little bias on average


def test_interval_counts_the_confusion_uncertainty():
    "A reader measured on 20 real rows gives a wider interval than the same reader measured on 2000."
    intended, read = np.zeros(200, int), np.r_[np.zeros(138, int), np.ones(62, int)]
    widths = []
    for n in (10, 1000):
        true = np.repeat([0, 1], n)
        pred = np.r_[np.zeros(int(0.9 * n)), np.ones(n - int(0.9 * n)), np.zeros(int(0.2 * n)), np.ones(n - int(0.2 * n))]
        est = fidelity_interval(intended, read, true, pred.astype(int), 2, n_boot=400)
        assert abs(est['fidelity'] - 0.7) < 1e-9
        widths.append(est['ci_high'] - est['ci_low'])
    assert widths[0] > 1.5 * widths[1], widths


def test_per_text_scores_and_label_errors():
    "Every synthetic text gets a score, the worst first, leaks name the labels; unknown labels are named."
    words = {'ham': 'lunch mum home later dinner tonight', 'spam': 'win prize claim cash call free'}
    rng = np.random.default_rng(0)
    say = lambda l: ' '.join(rng.choice(words[l].split(), 5))
    real = pd.DataFrame([(say(l), l) for l in words for _ in range(30)], columns=['text', 'label'])
    syn = pd.DataFrame({'text': [say('spam')] * 3 + [say('ham') for _ in range(7)] + [say('spam') for _ in range(10)],
                        'label': ['ham'] * 10 + ['spam'] * 10})
    out = label_fidelity(real, syn, ['ham', 'spam'], n_boot=100)
    t = out['texts']
    assert len(t) == 20 and t.fidelity.is_monotonic_increasing and (t.head(3).read_as == 'spam').all()
    assert out['summary'].iloc[0]['mode'] == 'all' and out['confusion'].sum() == len(real)  # every real row read out of fold
    assert out['leaks'].iloc[0][['intended', 'true_label']].tolist() == ['ham', 'spam']
    with pytest.raises(ValueError, match=r"\['eggs'\]"):
        label_fidelity(real, syn.assign(label=['eggs'] + ['ham'] * 19), ['ham', 'spam'])
    with pytest.raises(ValueError, match='at least 5 real rows'):
        label_fidelity(real.head(33), syn, ['ham', 'spam'])


def test_correction_needs_every_label_read():
    with pytest.raises(ValueError, match='no real row of labels'):
        corrected_shares(np.zeros(3, int), np.zeros(3, int), np.array([[5, 1], [0, 0]]), 2)


@pytest.fixture(scope='module')
def noisy_set(real_data):
    "A simulated financial_phrasebank set of 60 texts per label, 30% swapped for another label's; 300 other real rows per label."
    from synthclf.data import load_task
    from synthclf.simulate import synthetic_draw
    card, dsd = load_task('financial_phrasebank', data_dir=real_data, quiet=True)
    names = card.label_names
    df = dsd['train'].to_pandas().assign(label=lambda d: [names[i] for i in d.label])
    rng = np.random.default_rng(3)
    ix = {l: rng.permutation(np.flatnonzero(df.label.to_numpy() == l)) for l in names}
    pool = df.iloc[np.concatenate([v[:150] for v in ix.values()])]
    real = df.iloc[np.concatenate([v[150:450] for v in ix.values()])]
    shown = df.iloc[np.concatenate([v[450:458] for v in ix.values()])]
    return names, real, shown, synthetic_draw(pool, names, 60, 0.3, rng)


def test_remedies_raise_the_true_fidelity(noisy_set):
    "Each remedy keeps a set whose true share of right labels is higher than the unfiltered set's; the oracle most."
    from synthclf.fidelity import confident_learning, few_shot_filter, fidelity_filter
    names, real, shown, syn = noisy_set
    right = (syn.true_label == syn.label).to_numpy()
    scored = label_fidelity(real, syn[['text', 'label']], names, n_boot=50)['texts'].sort_index()
    keeps = {'fidelity_filter': fidelity_filter(scored), 'few_shot_filter': few_shot_filter(shown, syn, names),
             'confident_learning': confident_learning(syn, names)}
    share = {k: right[v].mean() for k, v in keeps.items()}
    assert all(s > right.mean() + 0.05 for s in share.values()), (right.mean(), share)
    assert share['fidelity_filter'] >= max(share['few_shot_filter'], share['confident_learning']) - 0.02, share
    assert all(0.2 < v.mean() < 0.95 for v in keeps.values()), {k: v.mean() for k, v in keeps.items()}


def test_reweighting_moves_weight_off_a_planted_shift(real_data):
    """A synthetic set of 70 sms_spam texts and 30 ag_news texts, reweighted toward 100 other sms_spam train texts: over
    five draws the news part carries less weight than its 30% (0.22 on average when measured; none above 0.30), and a
    set drawn as the real sample is keeps weights within 0.05 of 1."""
    from synthclf.data import load_task
    from synthclf.fidelity import reweight
    _, sms = load_task('sms_spam', data_dir=real_data, quiet=True)
    _, news = load_task('ag_news', data_dir=real_data, quiet=True)
    tr, nw = sms['train'].to_pandas(), news['train'].to_pandas()
    shares, off = [], np.arange(100) >= 70
    for s in range(5):
        ix = np.random.default_rng(s).permutation(len(tr))
        sample, alike, other = tr.iloc[ix[:100]], tr.iloc[ix[100:170]], tr.iloc[ix[170:200]]
        w = reweight(list(alike.text) + list(nw.sample(30, random_state=s).text), sample.text)
        assert abs(w.mean() - 1) < 1e-9 and w.min() > 0
        shares.append(w[off].sum() / w.sum())
        same = reweight(list(alike.text) + list(other.text), sample.text)
        assert np.abs(same - 1).max() < 0.05, (s, same.min(), same.max())
    assert np.mean(shares) < 0.26 and max(shares) <= 0.305, shares


def test_remedies_reach_every_replicate_and_train_with_their_weights(tmp_path, real_data):
    """Two generated replicates: every remedy writes a copy of each, the reweighted copies carry weights, and training
    the remedied folder gives seed k replicate k mod 2 (recorded in metrics.json) and fits with the weights."""
    from synthclf.data import load_task
    from synthclf.experiments import path_replicate, train_and_evaluate
    from synthclf.fidelity import REMEDIES, apply_remedies, study_fidelity
    from synthclf.generate import load_generated, replicate_dir, save_generated
    from synthclf.kinds import file_generated
    _, dsd = load_task('sms_spam', data_dir=real_data, quiet=True)
    tr = dsd['train'].to_pandas()
    gen = tmp_path/'run'/'sms_spam'/'generate'
    for r in range(2):
        rows = pd.concat([tr[tr.label == 0].iloc[40 * r:40 * r + 30].assign(label='ham'),
                          tr[tr.label == 1].iloc[40 * r:40 * r + 5].assign(label='ham'),  # spam labelled ham
                          tr[tr.label == 1].iloc[100 + 40 * r:130 + 40 * r].assign(label='spam')])
        rows[['text', 'label']].to_json(tmp_path/f'set{r}.jsonl', orient='records', lines=True)
        save_generated(*file_generated('sms_spam', 'zero_shot', per_label=35, spec=str(tmp_path/f'set{r}.jsonl')),
                       replicate_dir(gen, 'zero_shot', r))
    study_fidelity('sms_spam', gen, tmp_path/'run', real_per_label=100, n_boot=50, data_dir=real_data)
    made = apply_remedies('sms_spam', gen, tmp_path/'run', data_dir=real_data, real_sample_per_label=30)
    assert sorted(zip(made.remedy, made.replicate)) == sorted((m, r) for m in REMEDIES for r in (0, 1)), made
    first = made[(made.remedy == 'reweight') & (made.replicate == 0)].folder.iat[0]
    for r in (0, 1):
        ds = load_generated(replicate_dir(Path(first).parent, Path(first).name, r))[0]
        assert 'weight' in ds.column_names and abs(np.mean(ds['weight']) - 1) < 1e-6 and np.std(ds['weight']) > 0
    assert path_replicate(first, 3) == (replicate_dir(Path(first).parent, Path(first).name, 1), 1)
    runs = train_and_evaluate('sms_spam', [first], model='tfidf', seeds=2, out=tmp_path/'run', data_dir=real_data,
                              progress=False)
    reps = [json.loads((Path(d)/'metrics.json').read_text())['replicate'] for d in runs.dir]
    assert reps == [0, 1], reps
    # the weights reach the fit: the same rows without them train another model
    plain = tmp_path/'plain'
    ds, manifest = load_generated(first)
    save_generated(ds.remove_columns('weight'), manifest, plain)
    again = train_and_evaluate('sms_spam', [str(plain)], model='tfidf', seeds=1, out=tmp_path/'run2', data_dir=real_data,
                               progress=False)
    p1 = pd.read_parquet(Path(runs.dir.iat[0])/'predictions.parquet')
    p2 = pd.read_parquet(Path(again.dir.iat[0])/'predictions.parquet')
    prob = [c for c in p1.columns if c.startswith('p_')]
    assert not np.allclose(p1[prob].to_numpy(float), p2[prob].to_numpy(float)), prob


def test_a_set_too_small_for_a_remedy_is_left_untreated_with_its_reason(tmp_path, real_data):
    "Two texts per label: reweighting (five folds) cannot run and says why; the filters still write their copies."
    from synthclf.data import load_task
    from synthclf.fidelity import apply_remedies
    from synthclf.generate import replicate_dir, save_generated
    from synthclf.kinds import file_generated
    _, dsd = load_task('sms_spam', data_dir=real_data, quiet=True)
    tr = dsd['train'].to_pandas()
    rows = pd.concat([tr[tr.label == 0].head(2).assign(label='ham'), tr[tr.label == 1].head(2).assign(label='spam')])
    rows[['text', 'label']].to_json(tmp_path/'tiny.jsonl', orient='records', lines=True)
    gen = tmp_path/'run'/'sms_spam'/'generate'
    save_generated(*file_generated('sms_spam', 'zero_shot', per_label=2, spec=str(tmp_path/'tiny.jsonl')),
                   replicate_dir(gen, 'zero_shot', 0))
    made = apply_remedies('sms_spam', gen, tmp_path/'run', ['few_shot_filter', 'reweight'], data_dir=real_data)
    by = made.set_index('remedy')
    assert by.skipped['few_shot_filter'] == '' and Path(by.folder['few_shot_filter']).is_dir()
    assert 'at least 5 real and 5 synthetic' in by.skipped['reweight'] and by.folder['reweight'] == ''


def _planted_news_set(real_data, folder, per_label: int, noise: float, seed: int) -> pd.DataFrame:
    """An ag_news set drawn by the simulator's `synthetic_draw` (`noise` of it swapped for other labels' texts),
    saved as a generated set in `folder`."""
    from synthclf.data import load_task
    from synthclf.generate import save_generated
    from synthclf.kinds import file_generated
    from synthclf.simulate import synthetic_draw
    card, dsd = load_task('ag_news', data_dir=real_data, quiet=True)
    pool = dsd['train'].to_pandas().sample(40 * per_label, random_state=seed)
    pool['label'] = [card.label_names[i] for i in pool.label]
    drawn = synthetic_draw(pool, card.label_names, per_label, noise, np.random.default_rng(seed))
    drawn['text'] = drawn.text.str.strip()  # as the file generator reads them
    folder.parent.mkdir(parents=True, exist_ok=True)
    drawn[['text', 'label']].to_json(folder.parent/f'{folder.name}.jsonl', orient='records', lines=True)
    save_generated(*file_generated('ag_news', 'zero_shot', per_label, str(folder.parent/f'{folder.name}.jsonl'),
                                   data_dir=real_data), folder)
    return drawn


def test_self_check_keeps_what_its_judge_agrees_with_and_drops_planted_swaps(tmp_path, real_data, smollm2):
    """SmolLM2-135M reads an ag_news set with about 30% of it swapped for other labels' texts: `self_check.csv`
    holds one row per text whose `agree` is judged_as == label; the self_check remedy keeps exactly those texts, and
    they are mostly unswapped ones (kept share of the swapped texts well under the others'); the judge is in the kept
    copy's manifest; a second call asks the LLM nothing (the call cache)."""
    from synthclf.fidelity import SELF_CHECK_FILE, apply_remedies, self_check
    from synthclf.generate import load_generated, read_manifest
    gen = tmp_path/'run'/'ag_news'/'generate'
    drawn = _planted_news_set(real_data, gen/'zero_shot', per_label=15, noise=0.3, seed=0)
    with pytest.raises(ValueError, match='not generated by an LLM'):  # a set from a file: name a judge
        self_check('ag_news', gen)
    first = self_check('ag_news', gen, model='smollm2-135m-instruct', dtype='float32')
    judged = pd.read_csv(gen/'zero_shot'/SELF_CHECK_FILE)
    n = len(judged)
    assert n == first.texts.iat[0] >= 55 and first.calls.iat[0] + first.cached.iat[0] == n
    assert (judged.agree == (judged.judged_as == judged.label)).all()
    assert (judged.judge == 'smollm2-135m-instruct').all() and judged.judge_engine.str.startswith('float32').all()
    truth = judged.merge(drawn[['text', 'true_label']].drop_duplicates('text'), on='text', how='left')
    assert truth.true_label.notna().all()
    swapped = truth.label != truth.true_label
    assert swapped.sum() >= 10 and truth.agree[swapped].mean() < truth.agree[~swapped].mean() - 0.2, \
        (truth.agree[swapped].mean(), truth.agree[~swapped].mean())
    made = apply_remedies('ag_news', gen, tmp_path/'run', ['self_check'], data_dir=real_data)
    assert made.skipped.iat[0] == '' and made.kept.iat[0] == judged.agree.sum() and made.seconds.iat[0] > 0
    kept = load_generated(made.folder.iat[0])[0]
    assert sorted(kept['text']) == sorted(judged.text[judged.agree]), 'the remedy keeps the texts its judge agrees with'
    assert read_manifest(made.folder.iat[0])['remedy']['judge']['judge'] == 'smollm2-135m-instruct'
    again = self_check('ag_news', gen, model='smollm2-135m-instruct', dtype='float32')
    assert again.calls.iat[0] == 0 and again.cached.iat[0] == n  # a killed run resumes from the cache
    assert pd.read_csv(gen/'zero_shot'/SELF_CHECK_FILE).agree.tolist() == judged.agree.tolist()


def test_self_check_remedy_skips_a_set_no_judge_read_or_one_changed_since(tmp_path, real_data):
    "Without self_check.csv, or with one scoring other texts than the set holds, the remedy skips the set and says why."
    from synthclf.fidelity import SELF_CHECK_FILE, apply_remedies
    gen = tmp_path/'run'/'ag_news'/'generate'
    _planted_news_set(real_data, gen/'zero_shot', per_label=5, noise=0.0, seed=1)
    made = apply_remedies('ag_news', gen, tmp_path/'run', ['self_check'], data_dir=real_data)
    assert made.folder.iat[0] == '' and 'run synthclf.fidelity.self_check' in made.skipped.iat[0], made.skipped.iat[0]
    pd.DataFrame({'row': [0], 'text': ['another text'], 'label': ['World'], 'agree': [True], 'seconds': [0.1]}).to_csv(
        gen/'zero_shot'/SELF_CHECK_FILE, index=False)
    made = apply_remedies('ag_news', gen, tmp_path/'run', ['self_check'], data_dir=real_data)
    assert 'scores other texts' in made.skipped.iat[0], made.skipped.iat[0]
