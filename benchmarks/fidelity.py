"""Label fidelity, its remedies and the real - synthetic gap on the simulator (run by hand; not a test)

    .venv/bin/python benchmarks/fidelity.py [--tasks ag_news sms_spam ...] [--sizes 50 150] [--replicates 3]
                                            [--test-cap 1000] [--out benchmarks/results/fidelity]

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


def task_records(task, sizes, replicates, test_cap, seed=0):
    from synthclf.data import cap_test, load_task
    from synthclf.diversity import distinct_n
    from synthclf.fidelity import confident_learning, few_shot_filter, fidelity_filter, label_fidelity, label_ids
    from synthclf.simulate import synthetic_draw
    card, dsd = load_task(task, quiet=True)
    names, L = card.label_names, len(card.label_names)
    df = dsd['train'].to_pandas()[['text', 'label']].assign(label=lambda d: [names[i] for i in d.label])
    test = cap_test(dsd['test'], test_cap, seed=0)
    gold, test_texts = np.asarray(test['label']), list(test['text'])
    rng = np.random.default_rng([seed, sum(map(ord, task))])
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--tasks', nargs='+', default=['ag_news', 'financial_phrasebank', 'sms_spam', 'tweet_irony',
                                                   'sarcasm_news', 'tweet_emotions'])
    ap.add_argument('--sizes', nargs='+', type=int, default=[50, 150])
    ap.add_argument('--replicates', type=int, default=3)
    ap.add_argument('--test-cap', type=int, default=1000)
    ap.add_argument('--out', default='benchmarks/results/fidelity')
    ap.add_argument('--markdown-only', action='store_true', help='write the .md again from the .json')
    args = ap.parse_args()
    warnings.simplefilter('ignore')
    if args.markdown_only:
        d = json.loads(Path(args.out + '.json').read_text())
        r = pd.DataFrame(d['records']); d['decomposition'] = decompositions(r)
        Path(args.out + '.json').write_text(json.dumps(d, indent=1))
        Path(args.out + '.md').write_text(markdown(r, d['decomposition'], d['meta']))
        return
    t0, records = time.time(), []
    for task in args.tasks: records += task_records(task, args.sizes, args.replicates, args.test_cap)
    r = pd.DataFrame(records)
    dec = decompositions(r)
    meta = {'date': time.strftime('%Y-%m-%d'), 'machine': f"{machine_kind()}, {os.cpu_count()} cores",
            'command': 'python benchmarks/fidelity.py ' + ' '.join(f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
                                                              for k, v in vars(args).items()),
            'seconds': time.time() - t0}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out + '.json').write_text(json.dumps({'meta': meta, 'records': records, 'decomposition': dec}, indent=1))
    Path(args.out + '.md').write_text(markdown(r, dec, meta))
    print(Path(args.out + '.md').read_text())


if __name__ == '__main__':
    main()
