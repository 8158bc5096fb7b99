"""Label fidelity, its remedies and the real - synthetic gap: on real generated texts and on the simulator (run by hand;
not a test)

    nice -n 10 env OMP_NUM_THREADS=1 .venv/bin/python benchmarks/fidelity.py --real-run runs/quick [--sizes 20 10]
    .venv/bin/python benchmarks/fidelity.py [--tasks ag_news sms_spam ...] [--sizes 50 150] [--replicates 3]
                                            [--test-cap 1000] [--out benchmarks/results/fidelity]

With `--real-run`, the generated sets of a finished run (its first set per task and mode; a size below the set's own is a
seeded stratified subsample of it) go through each remedy (`REAL_REMEDIES`: none, the three keep-masks of
`synthclf.fidelity` and the oracle relabelled by the real-data reader, `synthclf.decompose`); gap = macro-F1(real_matched)
- macro-F1(kept set), TF-IDF, `synthclf.decompose.paired_difference`'s interval over test rows and `--real-draws` real
samples; the decomposition is `synthclf.decompose.decompose_gap` over the unfiltered sets. fidelity.json holds these
records (and the simulator's under 'simulator', kept from the file); fidelity.md shows both, the real texts first.

Without it, the simulator:

The synthetic sets are the simulator's (`synthclf.simulate.synthetic_draw`): real train texts of the task, a planted share
of them swapped for another label's text (zero_shot 0.30, few_shot 0.10), so that the true fidelity of every set is known.
No LLM runs here and no text comes from the call cache (it holds too few generated texts for six tasks at two sizes).

Per task, mode and size (texts per label): `--replicates` sets are drawn; each remedy of `synthclf.fidelity` (none,
fidelity filter -- the oracle, it reads with the real train data --, few-shot filter on 3 real examples per label,
confident learning) keeps some of each set's texts; a TF-IDF classifier trained on the kept texts and one trained on
as many real texts per label (real_matched, a fresh sample per replicate) are scored on the same stratified test rows.
gap = macro-F1(real_matched) - macro-F1(kept set), mean over replicates, with a 95% bootstrap interval that resamples the
replicates and the test rows. fidelity: `label_fidelity`'s corrected estimate on the replicates' kept texts pooled (a TF-IDF
reader on 300 other real train rows per label), with its interval; true_fidelity: the simulator's truth.
The decomposition: an OLS over the records of gap on (1 - fidelity), distinct-1 (diversity) and the task, and the
share of the gap's variance (within task) that fidelity explains, with a bootstrap interval over the records.
"""
import argparse, json, os, time, warnings
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TQDM_DISABLE', '1')
import numpy as np
import pandas as pd
from synthclf.core import machine_kind

NOISE = {'zero_shot': 0.30, 'few_shot': 0.10}
REMEDIES = ('none', 'fidelity_filter', 'few_shot_filter', 'confident_learning')


def macro_f1(gold: np.ndarray, pred: np.ndarray, L: int) -> float:
    "Macro-F1 over the labels present in gold or pred (as sklearn's with labels=None)."
    tp = np.bincount(gold[gold == pred], minlength=L)
    g, p = np.bincount(gold, minlength=L), np.bincount(pred, minlength=L)
    present = (g + p) > 0
    f1 = np.divide(2 * tp, g + p, out=np.zeros(L), where=(g + p) > 0)
    return float(f1[present].mean())


def gap_interval(gold, real_preds, set_preds, L, n_boot=500, seed=0):
    "Mean gap over replicates and its 95% bootstrap interval over replicates and test rows."
    R, n, rng = len(real_preds), len(gold), np.random.default_rng(seed)
    point = np.mean([macro_f1(gold, a, L) - macro_f1(gold, b, L) for a, b in zip(real_preds, set_preds)])
    draws = []
    for _ in range(n_boot):
        reps, rows = rng.integers(R, size=R), rng.integers(n, size=n)
        draws.append(np.mean([macro_f1(gold[rows], real_preds[r][rows], L) - macro_f1(gold[rows], set_preds[r][rows], L)
                              for r in reps]))
    return float(point), [float(x) for x in np.quantile(draws, [0.025, 0.975])]


def fit_predict(texts, y, L, test_texts):
    from synthclf.classifiers import TfidfClassifier
    return TfidfClassifier().fit(list(texts), np.asarray(y), L).predict_proba(list(test_texts)).argmax(1)


def task_frames(task, test_cap, seed):
    """A task's card and splits, its label names and their count, its train split (label names), the capped test set's gold ids and texts, and
    the task's seeded generator: what the simulator's and the real run's records both start from."""
    from synthclf.data import cap_test, load_task
    card, dsd = load_task(task, quiet=True)
    names = card.label_names
    df = dsd['train'].to_pandas()[['text', 'label']].assign(label=lambda d: [names[i] for i in d.label])
    test = cap_test(dsd['test'], test_cap, seed=0)
    return (card, dsd, names, len(names), df, np.asarray(test['label']), list(test['text']),
            np.random.default_rng([seed, sum(map(ord, task))]))

def task_records(task, sizes, replicates, test_cap, seed=0):
    from synthclf.diversity import distinct_n
    from synthclf.fidelity import confident_learning, few_shot_filter, fidelity_filter, label_fidelity, label_ids
    from synthclf.simulate import synthetic_draw
    card, dsd, names, L, df, gold, test_texts, rng = task_frames(task, test_cap, seed)
    parts = {'pool': [], 'reader': [], 'shown': [], 'rest': []}
    need = 2 * max(sizes)
    for l in names:
        ix = rng.permutation(np.flatnonzero(df.label.to_numpy() == l))
        take = min(need, len(ix) // 3)
        parts['pool'].append(ix[:take]); parts['reader'].append(ix[take:take + 300])
        parts['shown'].append(ix[take + 300:take + 303]); parts['rest'].append(ix[take + 303:])
    pool, reader, shown = (df.iloc[np.concatenate(parts[k])] for k in ('pool', 'reader', 'shown'))
    rest = df.iloc[np.concatenate(parts['rest'])]
    out = []
    for size in sizes:
        for mode, noise in NOISE.items():
            sets = [synthetic_draw(pool, names, size, noise, np.random.default_rng([seed, size, list(NOISE).index(mode), r]))
                    for r in range(replicates)]
            t0 = time.time()
            scored = label_fidelity(reader, pd.concat([s[['text', 'label']].assign(mode=f"r{r}") for r, s in enumerate(sets)]),
                                    names, 'tfidf', n_boot=200, seed=seed)['texts'].sort_index()
            offsets = np.cumsum([0] + [len(s) for s in sets])
            keeps = {'none': [np.ones(len(s), bool) for s in sets]}
            keeps['fidelity_filter'] = [fidelity_filter(scored.iloc[a:b]) for a, b in zip(offsets, offsets[1:])]
            seconds = {'none': 0.0, 'fidelity_filter': time.time() - t0}  # the reader's cross-fitting included
            t = time.time(); keeps['few_shot_filter'] = [few_shot_filter(shown, s, names) for s in sets]
            seconds['few_shot_filter'] = time.time() - t
            t = time.time(); keeps['confident_learning'] = [confident_learning(s, names, seed=seed) for s in sets]
            seconds['confident_learning'] = time.time() - t
            real_preds = []
            for r in range(replicates):
                sample = pd.concat([g.sample(min(size, len(g)), random_state=r) for _, g in rest.groupby('label')])
                real_preds.append(fit_predict(sample.text, label_ids(sample, names, 'real'), L, test_texts))
            for remedy in REMEDIES:
                kept = [s[k] for s, k in zip(sets, keeps[remedy])]
                preds = [fit_predict(k.text, label_ids(k, names, 'kept'), L, test_texts) for k in kept]
                gap, gap_ci = gap_interval(gold, real_preds, preds, L, seed=seed)
                both = pd.concat(kept, ignore_index=True)
                est = label_fidelity(reader, both[['text', 'label']], names, 'tfidf', n_boot=300, seed=seed)['summary'].iloc[0]
                out.append({'task': card.name, 'mode': mode, 'per_label': size, 'remedy': remedy, 'planted_noise': noise,
                            'kept': round(float(np.mean([k.mean() for k in keeps[remedy]])), 3),
                            'fidelity': round(est.fidelity, 3), 'fidelity_ci': [round(est.ci_low, 3), round(est.ci_high, 3)],
                            'read_as_meant': round(est.raw, 3),
                            'true_fidelity': round(float((both.true_label == both.label).mean()), 3),
                            'gap': round(gap, 4), 'gap_ci': [round(x, 4) for x in gap_ci],
                            'distinct_1': round(distinct_n(both.text.tolist(), 1), 4),
                            'remedy_seconds_per_set': round(seconds[remedy] / replicates, 2)})
                print(json.dumps(out[-1]), flush=True)
    return out


def decomposition(records: pd.DataFrame, column: str = 'fidelity', n_boot: int = 1000, seed: int = 0) -> dict:
    """OLS of gap on (1 - `column`) and distinct-1 within task (task means removed): the coefficients, and the share of
    the within-task variance of the gap that fidelity alone explains and that distinct-1 adds, each with a bootstrap
    interval over the records."""
    d = records.copy()
    cols = {'infidelity': 1 - d[column], 'distinct_1': d.distinct_1, 'gap': d.gap}
    w = pd.DataFrame({k: v - v.groupby(d.task).transform('mean') for k, v in cols.items()})
    def fit(x):
        X1 = x[['infidelity']].to_numpy(); X2 = x[['infidelity', 'distinct_1']].to_numpy(); y = x.gap.to_numpy()
        tot = (y ** 2).sum()
        b1 = np.linalg.lstsq(X1, y, rcond=None)[0]; b2 = np.linalg.lstsq(X2, y, rcond=None)[0]
        r1 = 1 - ((y - X1 @ b1) ** 2).sum() / tot; r2 = 1 - ((y - X2 @ b2) ** 2).sum() / tot
        return np.array([b2[0], b2[1], r1, r2 - r1])
    point, rng = fit(w), np.random.default_rng(seed)
    draws = np.array([fit(w.iloc[rng.integers(len(w), size=len(w))]) for _ in range(n_boot)])
    lo, hi = np.quantile(draws, [0.025, 0.975], axis=0)
    names = ['gap_per_unit_infidelity', 'gap_per_unit_distinct_1', 'r2_fidelity', 'r2_added_by_distinct_1']
    return {'records': len(d), 'fidelity': column,
            **{n: {'estimate': round(float(p), 4), 'ci': [round(float(a), 4), round(float(b), 4)]}
               for n, p, a, b in zip(names, point, lo, hi)}}


def decompositions(r: pd.DataFrame) -> dict:
    "The decomposition over every record with the simulator's true fidelity, and over the unfiltered sets with the estimate."
    return {'all records, true fidelity': decomposition(r, 'true_fidelity'),
            'unfiltered sets, estimated fidelity': decomposition(r[r.remedy == 'none'], 'fidelity')}


def markdown(records: pd.DataFrame, dec: dict, meta: dict) -> str:
    r = records
    span = lambda a, ci: f"{a:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"
    lines = ["# Label fidelity, remedies and the gap (simulator)", "",
             f"{meta['date']} · {meta['machine']} · `{meta['command']}` · {meta['seconds']:.0f} s in all", "",
             "Synthetic sets from the simulator (`synthetic_draw`: real train texts, a planted share swapped for another "
             "label's: zero_shot 0.30, few_shot 0.10), so `true` is known. TF-IDF classifiers; gap = macro-F1(real_matched) − "
             "macro-F1(set) on the same stratified test rows, mean over replicates, 95% bootstrap over replicates and test rows. "
             "fidelity: the confusion-corrected estimate with its 95% interval; read: the uncorrected share read as meant. "
             "fidelity_filter is an oracle (it reads with the task's real train data). Seconds: wall time of the remedy per "
             "set (the oracle's includes its cross-fitted reader), on a 2-core machine shared with other jobs: indicative.", "",
             "| task | mode | n/label | remedy | kept | fidelity [95%] | read | true | gap [95%] | s/set |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for x in r.itertuples():
        lines.append(f"| {x.task} | {x.mode} | {x.per_label} | {x.remedy} | {x.kept:.2f} | {span(x.fidelity, x.fidelity_ci)} | "
                     f"{x.read_as_meant:.3f} | {x.true_fidelity:.3f} | {span(x.gap, x.gap_ci)} | {x.remedy_seconds_per_set:.2f} |")
    cov = lambda x: np.mean([a <= t <= b for (a, b), t in zip(x.fidelity_ci, x.true_fidelity)])
    plain, kept = r[r.remedy == 'none'], r[r.remedy != 'none']
    lines += ["", "## The estimate against the truth", "",
              f"On the {len(plain)} unfiltered sets (remedy none) the corrected estimate's interval covers the true fidelity in "
              f"{cov(plain):.0%}; mean bias {(plain.fidelity - plain.true_fidelity).mean():+.3f}, against "
              f"{(plain.read_as_meant - plain.true_fidelity).mean():+.3f} for the uncorrected share read as meant (the reader's "
              "own errors). The cells share their reader, so this describes, it does not count independent trials "
              "(tests/test_fidelity.py runs a coverage simulation over seeds).", "",
              f"On the {len(kept)} filtered sets the estimate is **not valid** (coverage {cov(kept):.0%}, mean bias "
              f"{(kept.fidelity - kept.true_fidelity).mean():+.3f}): a filter keeps the texts that a reader like this one reads "
              "as meant, so the reader's confusion on real rows no longer describes its errors on them (for the fidelity "
              "filter, which keeps exactly what this reader reads as meant, the estimate is 1 by construction). The `true` "
              "column is what the remedies achieved.", "",
              "## Remedies, averaged over tasks, modes and sizes", "",
              "| remedy | kept | true fidelity | gap | gap change vs none | s/set |", "|---|---|---|---|---|---|"]
    base = r[r.remedy == 'none'].set_index(['task', 'mode', 'per_label']).gap
    for rem, g in r.groupby('remedy', sort=False):
        change = (g.set_index(['task', 'mode', 'per_label']).gap - base)
        se = change.std(ddof=1) / np.sqrt(len(change)) if len(change) > 1 else np.nan
        lines.append(f"| {rem} | {g.kept.mean():.2f} | {g.true_fidelity.mean():.3f} | {g.gap.mean():+.3f} | "
                     f"{change.mean():+.3f} ± {1.96 * se:.3f} | {g.remedy_seconds_per_set.mean():.2f} |")
    lines += ["", "(± is 1.96 standard errors over the task × mode × size cells.)", "",
              "## How much of the gap fidelity explains", "",
              "OLS within task (task means removed) of the gap on (1 − fidelity) and distinct-1 (diversity); r2_fidelity is the "
              "share of the gap's within-task variance that fidelity alone explains, r2_added_by_distinct_1 what diversity adds. "
              "95% bootstrap intervals over the records. Two fits: every record with the simulator's true fidelity (the "
              "filtered sets' estimates are not valid, above), and the unfiltered sets with the estimate a user has.", ""]
    for name, dec_ in dec.items():
        lines.append(f"**{name}** ({dec_['records']} records):")
        lines += [f"- {k}: {v['estimate']:+.4f} [{v['ci'][0]:+.4f}, {v['ci'][1]:+.4f}]" for k, v in dec_.items()
                  if isinstance(v, dict)]
        lines.append("")
    lines += ["In the simulator the synthetic texts are real texts, so similarity to real data is the same for every set "
              "and is not a term here; diversity (distinct-1) varies only with which texts a remedy keeps, and distinct-1 "
              "rises as a set shrinks, so its term partly stands for the texts kept.", "", "## Closing note", ""]
    for rem, g in r[r.remedy != 'none'].groupby('remedy', sort=False):
        change = g.set_index(['task', 'mode', 'per_label']).gap - base
        half = 1.96 * change.std(ddof=1) / np.sqrt(len(change))
        word = ('narrows the gap' if change.mean() + half < 0 else 'widens the gap' if change.mean() - half > 0
                else 'changes the gap too little to call')
        lines.append(f"- {rem}{' (oracle: needs real train data)' if rem == 'fidelity_filter' else ''}: keeps "
                     f"{g.kept.mean():.0%} of the texts, true fidelity {g.true_fidelity.mean():.3f} (unfiltered "
                     f"{r[r.remedy == 'none'].true_fidelity.mean():.3f}), {word}: {change.mean():+.3f} ± {half:.3f} macro-F1; "
                     f"{g.remedy_seconds_per_set.mean():.2f} s per set on this machine.")
    return '\n'.join(lines) + '\n'


# ---- real generated texts (--real-run) -------------------------------------------------------------------------------
REAL_REMEDIES = ('none', 'fidelity_filter', 'few_shot_filter', 'confident_learning', 'oracle_relabelled')


def real_task_records(run, task, sizes, real_draws, test_cap, seed=0):
    """Per mode of the run's generated sets of `task` and size (texts per label; below the set's own size, a seeded
    stratified subsample of it), each remedy and none: kept share, fidelity with its interval, gap with its interval,
    remote-clique and similarity to real (MiniLM embeddings), seconds."""
    from synthclf.classifiers import TfidfClassifier
    from synthclf.data import few_shot_examples
    from synthclf.decompose import paired_difference
    from synthclf.diversity import nearest_similarity, remote_clique
    from synthclf.encoders import embed
    from synthclf.sources import SYNTHETIC_MODES
    from synthclf.labelled import read_labelled
    from synthclf.fidelity import confident_learning, few_shot_filter, fidelity_filter, label_fidelity, label_ids
    from synthclf.generate import replicate_dir
    card, dsd, names, L, df, gold, test_texts, rng = task_frames(task, test_cap, seed)
    reader_ix, rest_ix = [], []
    for l in names:
        ix = rng.permutation(np.flatnonzero(df.label.to_numpy() == l))
        take = min(300, len(ix) // 2)
        reader_ix.append(ix[:take]); rest_ix.append(ix[take:])
    reader, rest = df.iloc[np.concatenate(reader_ix)], df.iloc[np.concatenate(rest_ix)]
    shown = pd.DataFrame([(t, l) for l in names for t in few_shot_examples(dsd['train'], l, k=3, seed=seed)],
                         columns=['text', 'label'])
    ref = rest.groupby('label').sample(frac=1, random_state=seed).groupby('label').head(1000 // L)
    ref_emb = embed(list(ref.text))
    fit = lambda texts, y: TfidfClassifier().fit(list(map(str, texts)), np.asarray(y), L).predict_proba(test_texts).argmax(1)
    out = []
    for mode in SYNTHETIC_MODES:
        folder = replicate_dir(Path(run)/task/'generate', mode, 0)
        if not (folder/'manifest.json').is_file(): continue
        ds = read_labelled(folder, card)
        full = pd.DataFrame({'text': ds['text'], 'label': [names[i] for i in ds['label']]})
        for size in sizes:
            have = int(full.label.value_counts().min())
            s = full if size >= have else full.groupby('label').sample(size, random_state=seed).reset_index(drop=True)
            per = {l: int((s.label == l).sum()) for l in names}
            real_preds = []
            for r in range(real_draws):
                sample = pd.concat([g.sample(min(per[l], len(g)), random_state=r) for l, g in rest.groupby('label')])
                real_preds.append(fit(sample.text, label_ids(sample, names, 'real')))
            real_emb = embed(list(pd.concat([g.sample(min(per[l], len(g)), random_state=0)
                                             for l, g in rest.groupby('label')]).text))
            t0 = time.time()
            first = label_fidelity(reader, s.assign(mode='none'), names, 'tfidf', n_boot=300, seed=seed)
            scored = first['texts'].sort_index()
            kept = {'none': s.assign(keep=True)}
            seconds = {'none': 0.0}
            kept['fidelity_filter'] = s.assign(keep=fidelity_filter(scored)); seconds['fidelity_filter'] = time.time() - t0
            t = time.time(); kept['few_shot_filter'] = s.assign(keep=few_shot_filter(shown, s, names))
            seconds['few_shot_filter'] = time.time() - t
            t = time.time(); kept['confident_learning'] = s.assign(keep=confident_learning(s, names, seed=seed))
            seconds['confident_learning'] = time.time() - t
            kept['oracle_relabelled'] = s.assign(label=scored.read_as.astype(str).to_numpy(), keep=True)
            seconds['oracle_relabelled'] = seconds['fidelity_filter']
            rest_sets = pd.concat([k[k.keep][['text', 'label']].assign(mode=r) for r, k in kept.items() if r != 'none'])
            summary = pd.concat([first['summary'], label_fidelity(reader, rest_sets, names, 'tfidf', n_boot=300,
                                                                 seed=seed)['summary']]).set_index('mode')
            emb_all = embed(list(s.text))
            for remedy in REAL_REMEDIES:
                k = kept[remedy][kept[remedy].keep]
                if k.label.nunique() < 2:
                    print(f"{task} {mode} {size} {remedy}: one label left, skipped", flush=True); continue
                pred = fit(k.text, label_ids(k, names, 'kept'))
                gap, lo, hi = paired_difference(gold, real_preds, [pred], L, n_boot=500, seed=seed)
                est = summary.loc[remedy]
                emb = emb_all[kept[remedy].keep.to_numpy()]
                out.append({'task': card.name, 'mode': mode, 'per_label': size,
                            'subsample': bool(size < have), 'remedy': remedy, 'kept': round(float(k.shape[0] / len(s)), 3),
                            'texts': int(len(k)), 'fidelity': round(est.fidelity, 3),
                            'fidelity_ci': [round(est.ci_low, 3), round(est.ci_high, 3)], 'read_as_meant': round(est.raw, 3),
                            'gap': round(gap, 4), 'gap_ci': [round(lo, 4), round(hi, 4)],
                            'remote_clique': round(remote_clique(emb), 4), 'real_remote_clique': round(remote_clique(real_emb), 4),
                            'similarity_to_real': round(float(nearest_similarity(emb, ref_emb, 5).mean()), 4),
                            'seconds': round(seconds[remedy], 2)})
                print(json.dumps(out[-1]), flush=True)
    return out


def real_decomposition(r: pd.DataFrame) -> dict:
    "`synthclf.decompose.decompose_gap` over the unfiltered sets of each size (one point per task and mode)."
    from synthclf.decompose import decompose_gap
    res = {}
    for size, g in r[r.remedy == 'none'].groupby('per_label'):
        pts = g.assign(infidelity=1 - g.fidelity, diversity_loss=g.real_remote_clique - g.remote_clique,
                       dissimilarity=1 - g.similarity_to_real)
        try: d = decompose_gap(pts, n_boot=2000)
        except ValueError as e: res[str(size)] = {'error': str(e)}; continue
        res[str(size)] = {'points': d['points'], 'r2': round(d['r2'], 3), 'r2_ci': [round(x, 3) for x in d['r2_ci']],
                          'table': d['table'].round(4).to_dict('records')}
    return res


def real_markdown(records: pd.DataFrame, dec: dict, meta: dict) -> str:
    r = records
    span = lambda a, ci, f='.3f': f"{a:{f}} [{ci[0]:{f}}, {ci[1]:{f}}]"
    lines = ["# Label fidelity, remedies and the gap on real generated texts", "",
             f"{meta['date']} · {meta['machine']} · commit {meta['commit']} · `{meta['command']}` · {meta['seconds']:.0f} s in all",
             "", f"The generated sets of a finished quick run ({meta['generator']}; zero-shot and few-shot, 20 texts per label "
             "asked, after generate's cleaning). **per_label 10 is a seeded stratified subsample of the same sets** (`subsample` "
             "true), not a second generation: its rows are not independent of the 20-per-label rows. TF-IDF classifiers; gap = "
             "macro-F1(real_matched) − macro-F1(set) on the same stratified test rows (at most "
             f"{meta['test_cap']}), real_matched drawn {meta['real_draws']} times as large per label as the set, 95% bootstrap "
             "over the test rows and those draws (one generated set: how much another generation would differ is not in it). "
             "fidelity: `label_fidelity`'s confusion-corrected estimate (a TF-IDF reader cross-fitted on 300 other real train "
             "rows per label) with its 95% interval; after a filter it is **not valid** (the simulator below: the filter keeps "
             "what a reader like this one reads as meant). fidelity_filter and oracle_relabelled are oracles: they need the "
             "task's real train data. Seconds: the remedy's own wall time per set (the oracles' include the cross-fitted "
             "reader), on a shared 2-core machine: indicative.", "",
             "| task | mode | n/label | remedy | kept | fidelity [95%] | read | gap [95%] | remote-clique (real) | sim. to real | s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for x in r.itertuples():
        lines.append(f"| {x.task} | {x.mode} | {x.per_label}{'*' if x.subsample else ''} | {x.remedy} | {x.kept:.2f} | "
                     f"{span(x.fidelity, x.fidelity_ci)} | {x.read_as_meant:.3f} | {span(x.gap, x.gap_ci, '+.3f')} | "
                     f"{x.remote_clique:.3f} ({x.real_remote_clique:.3f}) | {x.similarity_to_real:.3f} | {x.seconds:.2f} |")
    lines += ["", "\\* a seeded stratified subsample of the 20-per-label set.", "",
              "## Remedies against the set as generated", "",
              "Change in the gap (remedy − none; < 0: the remedy narrows it), mean over the task × mode cells of each size, "
              "± 1.96 standard errors over the cells (they share a generator, so this describes, it does not test).", "",
              "| remedy | n/label | cells | kept | gap change vs none | narrower / wider (95% intervals apart) | s/set |",
              "|---|---|---|---|---|---|---|"]
    base = r[r.remedy == 'none'].set_index(['task', 'mode', 'per_label'])
    notes = []
    for (rem, size), g in r[r.remedy != 'none'].groupby(['remedy', 'per_label'], sort=False):
        g = g.set_index(['task', 'mode', 'per_label'])
        change = (g.gap - base.gap).dropna()
        half = 1.96 * change.std(ddof=1) / np.sqrt(len(change)) if len(change) > 1 else np.nan
        narrower = sum(g.gap_ci[i][1] < base.gap_ci[i][0] for i in change.index)
        wider = sum(g.gap_ci[i][0] > base.gap_ci[i][1] for i in change.index)
        lines.append(f"| {rem} | {size} | {len(change)} | {g.kept.mean():.2f} | {change.mean():+.3f} ± {half:.3f} | "
                     f"{narrower} / {wider} | {g.seconds.mean():.2f} |")
        word = ('narrows the gap' if change.mean() + half < 0 else 'widens the gap' if change.mean() - half > 0
                else 'too weak to call')
        notes.append(f"- {rem}{' (oracle: needs real train data)' if rem in ('fidelity_filter', 'oracle_relabelled') else ''}, "
                     f"{size} per label: keeps {g.kept.mean():.0%}, {word} ({change.mean():+.3f} ± {half:.3f} macro-F1), "
                     f"{g.seconds.mean():.2f} s per set.")
    lines += ["", "## How much of the gap fidelity explains (unfiltered sets)", "",
              "`synthclf.decompose.decompose_gap`: OLS of the gap on 1 − fidelity, the real set's remote-clique minus the "
              "set's (diversity loss) and 1 − similarity to real, one point per task and mode (12 points, 8 residual degrees "
              "of freedom); t intervals for the coefficients, bootstrap intervals for each factor's share of R². The factors' "
              "own uncertainty (fidelity intervals ±0.1 to ±0.5 at these sizes) is not in the intervals and pulls the "
              "coefficients toward 0. The fidelity reader and the gap's classifier are both TF-IDF here, so texts that "
              "TF-IDF finds hard can lower both at once: a shared blind spot, not only wrong labels, may earn fidelity its "
              "credit. The report's decomposition uses the run's own classifier for the gap (`synthclf.decompose`).", ""]
    for size, d in dec.items():
        if 'error' in d: lines += [f"**{size} per label**: {d['error']}", '']; continue
        lines += [f"**{size} per label** ({d['points']} points): R² {d['r2']:.2f} [{d['r2_ci'][0]:.2f}, {d['r2_ci'][1]:.2f}]", "",
                  "| factor | coefficient [95%] | share of R² [95%] | VIF | call |", "|---|---|---|---|---|"]
        lines += [f"| {t['factor']} | {t['coefficient']:+.3f} [{t['ci_low']:+.3f}, {t['ci_high']:+.3f}] | "
                  f"{t['r2_share']:.2f} [{t['share_low']:.2f}, {t['share_high']:.2f}] | {t['vif']:.1f} | {t['call']} |"
                  for t in d['table']]
        lines.append("")
    lines += ["## Closing note", ""] + notes
    return '\n'.join(lines) + '\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--tasks', nargs='+', default=None, help='simulator default: ag_news financial_phrasebank sms_spam '
                    'tweet_irony sarcasm_news tweet_emotions; with --real-run: the run\'s tasks')
    ap.add_argument('--sizes', nargs='+', type=int, default=None, help='texts per label (simulator 50 150; real 20 10)')
    ap.add_argument('--replicates', type=int, default=3)
    ap.add_argument('--test-cap', type=int, default=1000)
    ap.add_argument('--real-run', default=None, help='a finished run folder: benchmark its generated sets instead of the '
                    'simulator\'s (the simulator table already in --out is kept beside them)')
    ap.add_argument('--real-draws', type=int, default=5, help='real_matched draws per set (--real-run)')
    ap.add_argument('--out', default='benchmarks/results/fidelity')
    ap.add_argument('--markdown-only', action='store_true', help='write the .md again from the .json')
    ap.add_argument('--merge', nargs='+', default=None, help='--real-run outputs (their --out) of parts of the tasks run side '
                    'by side: one table of their records in --out, the simulator there kept')
    args = ap.parse_args()
    warnings.simplefilter('ignore')
    out_json = Path(args.out + '.json')
    if args.markdown_only:
        d = json.loads(out_json.read_text())
        sim = d.get('simulator', d if 'planted_noise' in (d['records'] or [{}])[0] else None)
        if sim: sim['decomposition'] = decompositions(pd.DataFrame(sim['records']))
        real = d if 'simulator' in d else None
        if real: real['decomposition'] = real_decomposition(pd.DataFrame(real['records']))
        write(args.out, real, sim)
        return
    if args.merge:
        parts = [json.loads(Path(m + '.json').read_text()) for m in args.merge]
        records = [x for d in parts for x in d['records']]
        meta = {**parts[0]['meta'], 'seconds': max(d['meta']['seconds'] for d in parts),
                'tasks': [t for d in parts for t in d['meta'].get('tasks', [])],
                'command': ' & '.join(d['meta']['command'] for d in parts) + f" (side by side), then --merge"}
        old = json.loads(out_json.read_text()) if out_json.is_file() else {}
        sim = old.get('simulator', old if old.get('records') and 'planted_noise' in old['records'][0] else None)
        write(args.out, {'meta': meta, 'records': records, 'decomposition': real_decomposition(pd.DataFrame(records))}, sim)
        print(Path(args.out + '.md').read_text())
        return
    t0 = time.time()
    if args.real_run:
        import subprocess
        summary = json.loads((Path(args.real_run)/'summary.json').read_text())
        tasks = args.tasks or summary['tasks']
        sizes = args.sizes or [20, 10]
        records = []
        for task in tasks: records += real_task_records(args.real_run, task, sizes, args.real_draws, args.test_cap)
        r = pd.DataFrame(records)
        gen = sorted({json.loads(m.read_text())['model'] for m in Path(args.real_run).glob('*/generate/*/manifest.json')})
        meta = {'date': time.strftime('%Y-%m-%d'), 'machine': f"{machine_kind()}, {os.cpu_count()} cores",
                'commit': subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip(),
                'command': f"nice -n 10 OMP_NUM_THREADS=1 python benchmarks/fidelity.py --real-run <a quick run> --tasks "
                           f"{' '.join(tasks)} --sizes {' '.join(map(str, sizes))} --real-draws {args.real_draws} "
                           f"--test-cap {args.test_cap}",
                'generator': ', '.join(gen), 'real_draws': args.real_draws, 'tasks': tasks, 'test_cap': args.test_cap,
                'seconds': time.time() - t0}
        old = json.loads(out_json.read_text()) if out_json.is_file() else {}
        sim = old.get('simulator', old if old.get('records') and 'planted_noise' in old['records'][0] else None)
        write(args.out, {'meta': meta, 'records': records, 'decomposition': real_decomposition(r)}, sim)
        print(Path(args.out + '.md').read_text())
        return
    records = []
    for task in args.tasks or SIM_TASKS: records += task_records(task, args.sizes or [50, 150], args.replicates, args.test_cap)
    r = pd.DataFrame(records)
    dec = decompositions(r)
    meta = {'date': time.strftime('%Y-%m-%d'), 'machine': f"{machine_kind()}, {os.cpu_count()} cores",
            'command': 'python benchmarks/fidelity.py ' + ' '.join(f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
                                                              for k, v in vars(args).items() if v not in (None, False)),
            'seconds': time.time() - t0}
    old = json.loads(out_json.read_text()) if out_json.is_file() else {}
    write(args.out, old if 'simulator' in old else None, {'meta': meta, 'records': records, 'decomposition': dec})
    print(Path(args.out + '.md').read_text())


SIM_TASKS = ['ag_news', 'financial_phrasebank', 'sms_spam', 'tweet_irony', 'sarcasm_news', 'tweet_emotions']


def write(out: str, real: dict | None, sim: dict | None):
    "fidelity.json: the real texts' meta, records and decomposition, the simulator's under 'simulator'; fidelity.md: both."
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    body = {**(real or {'meta': None, 'records': [], 'decomposition': {}}), **({'simulator': sim} if sim else {})}
    Path(out + '.json').write_text(json.dumps(body, indent=1))
    parts = []
    if real: parts.append(real_markdown(pd.DataFrame(real['records']), real['decomposition'], real['meta']))
    if sim: parts.append(markdown(pd.DataFrame(sim['records']), sim['decomposition'], sim['meta']))
    Path(out + '.md').write_text('\n---\n\n'.join(parts))


if __name__ == '__main__':
    main()
