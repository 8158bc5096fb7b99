"""What each LLM-like world does to the diversity and similarity figures (run by hand; not a test)

    .venv/bin/python benchmarks/world_figures.py [--tasks ...] [--draws 5] [--per-label 20] [--out benchmarks/results/world_figures]

Issue 33 asks the simulator's worlds to be measured: does each do to the figures what it claims? Per task (the quick
profile's six), the pool `synthclf.simulate.split_pool` sets aside (200 texts a label, seed 0), its `sure` column read by
`prototype_scores` (TF-IDF trained on the cleaned train split less the pool), and `--draws` sets of `--per-label` texts a
label drawn by `synthetic_draw` in each world: plain (no label noise), uneven_sets (noise 0.15, spread 0.12), collapse
(4 seed texts a label), shift short / long (each label's shortest / longest third by words) and prototypes (the surest
quarter). Each set is measured as a run measures a generated set: `synthclf.diversity.diversity_table` (MiniLM embeddings;
remote-clique, Chamfer, distinct-2 and words over the whole set and within each label; the mean cosine similarity of each
text to its 5 nearest texts of a stratified real reference sample of the same split less the pool), plus the real-data
reader's probability of the served label (*surety*, over the texts whose label is right) and the share of wrong labels.
Per task and world: the mean over draws and its standard error; the md shows each world's mean over tasks of the change
from plain (world − plain, per task first) and the number of tasks where it moves the way the world claims.
"""
import argparse, json, os, time, warnings
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np
import pandas as pd
from synthclf.core import machine_kind

WORLDS = {'plain': {}, 'uneven_sets': {'noise': 0.15, 'spread': 0.12}, 'collapse': {'seeds': 4},
          'shift_short': {'shift': 'short'}, 'shift_long': {'shift': 'long'}, 'prototypes': {'prototypes': 0.25}}
FIGURES = ['remote_clique', 'remote_clique_within', 'chamfer_within', 'distinct_2', 'words_mean', 'similarity_to_real',
           'surety', 'wrong_label']
# what each world claims to move, and which way (+1 up, -1 down), against plain draws
CLAIMS = {'uneven_sets': {'wrong_label': +1},
          'collapse': {'remote_clique_within': -1, 'chamfer_within': -1, 'distinct_2': -1},
          'shift_short': {'words_mean': -1, 'similarity_to_real': -1},
          'shift_long': {'words_mean': +1},
          'prototypes': {'surety': +1, 'remote_clique_within': -1, 'similarity_to_real': +1}}


def as_dataset(texts, labels, names):
    from datasets import ClassLabel, Dataset, Features, Value
    return Dataset.from_dict({'text': list(texts), 'label': [names.index(l) for l in labels]},
                             features=Features({'text': Value('string'), 'label': ClassLabel(names=list(names))}))


def task_figures(task, draws, per_label, reference_size):
    from synthclf.data import DataWarning, load_task
    from synthclf.diversity import diversity_table
    from synthclf.simulate import prototype_scores, split_pool, synthetic_draw
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DataWarning)
        card, dsd = load_task(task, quiet=True)
    names = card.label_names
    _, pool = split_pool(task, 200, 0)
    train = dsd['train'].to_pandas()
    real = train.assign(label=[names[i] for i in train.label]).loc[lambda d: ~d.text.isin(set(pool.text))]
    pool = pool.assign(sure=prototype_scores(pool, real, names))
    sure_of = dict(zip(pool.text, pool.sure))
    reference = as_dataset(real.text, real.label, names)
    rows = []
    for world, kw in WORLDS.items():
        kw = dict(kw); noise = kw.pop('noise', 0.0)
        for s in range(draws):
            d = synthetic_draw(pool, names, per_label, noise, np.random.default_rng([7, s]), **kw)
            t = diversity_table({world: as_dataset(d.text, d.label, names)}, by_label=True, reference=reference,
                                reference_size=reference_size, seed=0)
            right = d[d.label == d.true_label]
            rows.append({'task': task, 'world': world, 'draw': s,
                         **{k: float(t.loc[t.label == 'all', k].iloc[0]) for k in
                            ('remote_clique', 'distinct_2', 'words_mean', 'similarity_to_real')},
                         'remote_clique_within': float(t.loc[t.label != 'all', 'remote_clique'].mean()),
                         'chamfer_within': float(t.loc[t.label != 'all', 'chamfer'].mean()),
                         'surety': float(right.copy_of.map(sure_of).mean()),
                         'wrong_label': float((d.label != d.true_label).mean())})
    return rows


def se(x): return x.std(ddof=1) / np.sqrt(len(x))


def summarize(r):
    per = r.groupby(['task', 'world'], sort=False)[FIGURES].agg(['mean', se])
    change = []
    for task, g in r.groupby('task', sort=False):
        base = g[g.world == 'plain'][FIGURES].mean()
        for world in WORLDS:
            if world == 'plain': continue
            w = g[g.world == world][FIGURES]
            change.append({'task': task, 'world': world, **(w.mean() - base).to_dict(),
                           **{f'{k}_se': float(np.hypot(se(w[k]), se(g[g.world == 'plain'][k]))) for k in FIGURES}})
    return per, pd.DataFrame(change)


def main():
    from synthclf.parameters import PROFILES
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--tasks', nargs='+', default=list(PROFILES['quick']['tasks']))
    ap.add_argument('--draws', type=int, default=5)
    ap.add_argument('--per-label', type=int, default=20)
    ap.add_argument('--reference-size', type=int, default=600)
    ap.add_argument('--out', default='benchmarks/results/world_figures')
    args = ap.parse_args()
    warnings.simplefilter('ignore')
    t0, rows = time.time(), []
    for task in args.tasks:
        rows += task_figures(task, args.draws, args.per_label, args.reference_size)
        print(f"{task}: done, {time.time() - t0:.0f} s", flush=True)
    r = pd.DataFrame(rows)
    per, change = summarize(r)
    import subprocess
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()
    meta = {'date': time.strftime('%Y-%m-%d'), 'machine': f"{machine_kind()}, {os.cpu_count()} cores", 'commit': commit,
            'command': 'benchmarks/world_figures.py ' + ' '.join(f'--{k.replace("_", "-")} {v}' for k, v in vars(args).items()
                                                                if k != 'tasks') + ' --tasks ' + ' '.join(args.tasks),
            'seconds': round(time.time() - t0), 'worlds': WORLDS, 'claims': CLAIMS}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out + '.json').write_text(json.dumps({'meta': meta, 'draws': rows, 'change': change.to_dict('records')},
                                                   indent=1) + '\n')
    lines = [f"# What each LLM-like world does to the figures ({meta['date']}, {meta['machine']}, commit {commit})", '',
             __doc__.split('\n\n', 2)[2].strip(), '', f"Command: `{meta['command']}` ({meta['seconds']} s).", '',
             "## Change from plain draws, mean over tasks (± its standard error over tasks); *claimed*: tasks moved the "
             "claimed way by more than twice the change's standard error / tasks", '',
             '| world | ' + ' | '.join(FIGURES) + ' | claimed |', '|---' * (len(FIGURES) + 2) + '|']
    for world, g in change.groupby('world', sort=False):
        cells = [f"{g[k].mean():+.3f} ± {g[k].std(ddof=1) / np.sqrt(len(g)):.3f}" for k in FIGURES]
        moved = [f"{k} {'↑' if way > 0 else '↓'} {int(((g[k] * way) > 2 * g[k + '_se']).sum())}/{len(g)}"
                 for k, way in CLAIMS.get(world, {}).items()]
        lines.append(f"| {world} | " + ' | '.join(cells) + f" | {'; '.join(moved)} |")
    lines += ['', '## Per task: mean over draws (± standard error)', '',
              '| task | world | ' + ' | '.join(FIGURES) + ' |', '|---' * (len(FIGURES) + 2) + '|']
    for (task, world), x in per.iterrows():
        lines.append(f"| {task} | {world} | " + ' | '.join(f"{x[(k, 'mean')]:.3f} ± {x[(k, 'se')]:.3f}"
                                                          for k in FIGURES) + ' |')
    Path(args.out + '.md').write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines[:16]))


if __name__ == '__main__':
    main()
