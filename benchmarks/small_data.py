"""Which classifier learns from a few dozen texts per label? (run by hand; not a test)

    .venv/bin/python benchmarks/small_data.py [--tasks ag_news imdb] [--sizes 20 100] [--seeds 5] [--test-cap 500]
                                              [--classifiers embedding-lr all-minilm-l6-v2] [--runs runs/bench-small-data]

On every task, real training texts subsampled to `size` per label (`real_matched` with `per_label`), each
classifier trained for each seed through `synthclf.experiments.train_and_evaluate` -- the path `synthclf train`
and the train stage notebook run -- and scored on the same stratified 500 test texts, next to the majority-class
and stratified-random baselines of those rows. Finished experiments are kept under --runs, so a killed run resumes
and a rerun only writes the table again. Seeds run in two passes (0-2, then 3-4), so that a run stopped early still
covers every cell with three seeds. The table goes to benchmarks/results/small_data.md.
"""
import argparse, os, time, warnings
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TQDM_DISABLE', '1')


def main():
    from synthclf.classifiers import DEFAULT_ENCODER
    from synthclf.tasks import list_tasks
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--tasks', nargs='+', default=list_tasks())
    ap.add_argument('--sizes', nargs='+', type=int, default=[20, 100])
    ap.add_argument('--seeds', type=int, default=5)
    ap.add_argument('--test-cap', type=int, default=500)
    ap.add_argument('--classifiers', nargs='+', default=['embedding-lr', DEFAULT_ENCODER])
    ap.add_argument('--runs', default='runs/bench-small-data')
    ap.add_argument('--out', default='benchmarks/results/small_data.md')
    args = ap.parse_args()
    warnings.simplefilter('ignore')
    from synthclf.experiments import train_and_evaluate
    passes = [list(range(min(3, args.seeds))), list(range(3, args.seeds))]
    t0 = time.time()
    for seeds in [p for p in passes if p]:
        for clf in args.classifiers:  # the cheap classifier first
            for size in args.sizes:
                for task in args.tasks:
                    t = time.time()
                    res = train_and_evaluate(task, ['real_matched'], model=clf, seeds=seeds, per_label=size, test_cap=args.test_cap,
                                             out=Path(args.runs)/f'per_label{size}', progress=False)
                    print(f"[{time.time() - t0:7.0f}s] {task} {clf} {size}/label seeds {seeds}: macro-F1 "
                          f"{res.macro_f1.mean():.3f} ({time.time() - t:.0f}s)", flush=True)
                    write_table(args)


def write_table(args):
    import pandas as pd
    from synthclf.results import collect_runs
    frames = []
    for size in args.sizes:
        try: frames.append(collect_runs(Path(args.runs)/f'per_label{size}', tasks=args.tasks, classifier=None).assign(per_label=size))
        except FileNotFoundError: pass
    df = pd.concat(frames, ignore_index=True)
    df = df[df.classifier.isin([c.replace('embedding-lr:', 'embedding-lr-') for c in args.classifiers]) & (df.seed < args.seeds)]
    g = df.groupby(['task', 'per_label', 'classifier'])
    s = g.agg(macro_f1=('macro_f1', 'mean'), sd=('macro_f1', 'std'), accuracy=('accuracy', 'mean'), seeds=('seed', 'nunique'),
              bar=('bar_macro_f1', 'first'), majority_acc=('majority_accuracy', 'first'), train_s=('train_seconds', 'median')).reset_index()
    s['beats'] = (g.macro_f1.mean().values > s.bar) & (g.accuracy.mean().values > g.bar_accuracy.first().values)
    s['cell'] = [f"{m:.3f} ± {sd:.3f}{'' if b else ' †'} (n={n}, {t:.0f}s)" for m, sd, b, n, t in zip(s.macro_f1, s.sd.fillna(0), s.beats, s.seeds, s.train_s)]
    t = s.pivot_table(index='task', columns=['per_label', 'classifier'], values='cell', aggfunc='first')
    t.columns = [f"{c} @{p}/label" for p, c in t.columns]
    base = df.groupby('task')[['bar_macro_f1', 'majority_accuracy']].first().round(3)
    t = t.join(base.rename(columns={'bar_macro_f1': 'baseline bar macro-F1', 'majority_accuracy': 'majority accuracy'}))
    wins = s.pivot_table(index=['task', 'per_label'], columns='classifier', values='macro_f1')
    lines = ["# Small-data classifiers: frozen MiniLM embeddings + logistic regression vs fine-tuned MiniLM", "",
             "`.venv/bin/python benchmarks/small_data.py` (real training texts, `real_matched` at 20 and 100 per label; "
             f"{args.test_cap} stratified test texts per task; mean ± std of macro-F1 over seeds, n = seeds, median training seconds "
             "on this machine's 2 cores). † = the mean does not beat the baselines (majority class, and the 95th percentile of "
             "stratified random labelling, on the same test rows).", "", t.reset_index().to_markdown(index=False), ""]
    if wins.shape[1] == 2:
        a, b = wins.columns
        for size in sorted(s.per_label.unique()):
            w = wins.xs(size, level='per_label').dropna()
            lines.append(f"- {size}/label: {a} better on {(w[a] > w[b]).sum()} of {len(w)} tasks; mean macro-F1 {w[a].mean():.3f} vs {w[b].mean():.3f}.")
    Path(args.out).write_text('\n'.join(lines) + '\n')


if __name__ == '__main__':
    main()
