"""The self_check remedy where the truth is known, and its cost (run by hand; not a test)

    .venv/bin/python benchmarks/self_check.py [--judges smollm2-135m-instruct qwen2.5-coder-0.5b-instruct]
        [--task ag_news] [--per-label 40] [--generated RUN/ag_news/generate] [--out benchmarks/results/self_check]

Per judge, two sets of `per_label` real train texts per label drawn by the simulator's `synthetic_draw`: one with 30% of
them swapped for other labels' texts (a planted effect), one with none (no effect), each saved as a generated set and
read by `synthclf.fidelity.self_check` on a call cache of its own (so every answer is timed, none read from a cache).
Per set: the share kept of the swapped texts and of the others (95% Wilson intervals), their difference (95% bootstrap
interval over texts), the true fidelity before and after keeping; on the set without swaps the same difference for a
random 30% of its texts marked as if swapped (its interval should cover 0). `--generated`: also time each judge on a
generated folder (zero_shot/, few_shot/; copied first, so nothing is written beside it). Seconds per text are wall time
on this machine (`synthclf.core.machine_kind`).
"""
import argparse, json, os, shutil, tempfile, time, warnings
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np
import pandas as pd
from synthclf.core import machine_kind


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    "95% Wilson interval of k successes in n."
    if n == 0: return (float('nan'), float('nan'))
    p, d = k / n, 1 + z * z / n
    c, h = (p + z * z / (2 * n)) / d, z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (c - h, c + h)


def kept_gap(agree: np.ndarray, marked: np.ndarray, n_boot: int = 2000, seed: int = 0) -> dict:
    "Kept share of the unmarked texts minus that of the marked ones, with a 95% bootstrap interval (within each group)."
    rng, a, b = np.random.default_rng(seed), agree[~marked], agree[marked]
    draws = [rng.choice(a, len(a)).mean() - rng.choice(b, len(b)).mean() for _ in range(n_boot)]
    lo, hi = np.quantile(draws, [0.025, 0.975])
    return {'difference': a.mean() - b.mean(), 'diff_low': lo, 'diff_high': hi}


def planted_set(task: str, per_label: int, noise: float, folder: Path, seed: int) -> pd.DataFrame:
    "A planted set saved as a generated set in `folder` (the file generator); the drawn rows with their true labels."
    from synthclf.data import load_task
    from synthclf.generate import save_generated
    from synthclf.kinds import file_generated
    from synthclf.simulate import synthetic_draw
    card, dsd = load_task(task, quiet=True)
    pool = dsd['train'].to_pandas().sample(min(len(dsd['train']), 40 * per_label), random_state=seed)
    pool['label'] = [card.label_names[i] for i in pool.label]
    drawn = synthetic_draw(pool, card.label_names, per_label, noise, np.random.default_rng(seed))
    drawn['text'] = drawn.text.str.strip()
    folder.parent.mkdir(parents=True, exist_ok=True)
    drawn[['text', 'label']].to_json(folder.parent/f'{folder.name}.jsonl', orient='records', lines=True)
    save_generated(*file_generated(task, 'zero_shot', per_label, str(folder.parent/f'{folder.name}.jsonl')), folder)
    return drawn


def judged_rows(task: str, gen: Path, judge: str, cache_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    from synthclf.cache import CallCache
    from synthclf.fidelity import SELF_CHECK_FILE, self_check
    summary = self_check(task, gen, model=judge, cache=CallCache(cache_dir))
    return summary, pd.read_csv(gen/'zero_shot'/SELF_CHECK_FILE, keep_default_na=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--judges', nargs='+', default=['smollm2-135m-instruct', 'qwen2.5-coder-0.5b-instruct'])
    ap.add_argument('--task', default='ag_news')
    ap.add_argument('--per-label', type=int, default=40)
    ap.add_argument('--generated', default=None)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--out', default='benchmarks/results/self_check')
    args = ap.parse_args()
    warnings.simplefilter('ignore')
    from synthclf.cache import CallCache
    from synthclf.fidelity import self_check
    tmp, rows, costs = Path(tempfile.mkdtemp()), [], []
    for judge in args.judges:
        for noise in (0.3, 0.0):
            gen = tmp/judge/f'noise{noise}'/args.task/'generate'
            drawn = planted_set(args.task, args.per_label, noise, gen/'zero_shot', args.seed)
            summary, judged = judged_rows(args.task, gen, judge, tmp/judge/f'cache{noise}')
            truth = judged.merge(drawn[['text', 'true_label']].drop_duplicates('text'), on='text', how='left')
            agree = truth.agree.astype(str).str.lower().eq('true').to_numpy()
            right = (truth.label == truth.true_label).to_numpy()
            planted = (~right).any()
            m = ~right if planted else np.random.default_rng(args.seed).random(len(right)) < 0.3
            row = {'task': args.task, 'judge': judge, 'noise': noise, 'texts': len(truth),
                   'swapped': int((~right).sum()), 'marked': 'swapped' if planted else 'random 30% (none swapped)',
                   'kept': int(agree.sum()), 'kept_share': agree.mean(),
                   'kept_marked': agree[m].mean(), 'kept_marked_ci': wilson(agree[m].sum(), m.sum()),
                   'kept_others': agree[~m].mean(), 'kept_others_ci': wilson(agree[~m].sum(), (~m).sum()),
                   **kept_gap(agree, m, seed=args.seed), 'fidelity_before': right.mean(),
                   'fidelity_after': right[agree].mean() if agree.any() else float('nan'),
                   'mass': truth.mass.astype(float).mean(),
                   'seconds_per_text': summary.seconds.sum() / len(truth),
                   'calls': int(summary.calls.iat[0]), 'cached': int(summary.cached.iat[0])}
            rows.append(row); print(json.dumps(row, default=float), flush=True)
        if args.generated:
            gen = tmp/judge/'generated'/args.task/'generate'
            shutil.copytree(args.generated, gen)
            summary = self_check(args.task, gen, model=judge, cache=CallCache(tmp/judge/'cache-generated'))
            cost = {'task': args.task, 'judge': judge, 'set': args.generated, 'texts': int(summary.texts.sum()),
                    'agree': float((summary.agree * summary.texts).sum() / summary.texts.sum()),
                    'per_mode_agree': dict(zip(summary['mode'], summary.agree.round(3))),
                    'seconds': float(summary.seconds.sum()),
                    'seconds_per_text': float(summary.seconds.sum() / summary.texts.sum()),
                    'calls': int(summary.calls.iat[0])}
            costs.append(cost); print(json.dumps(cost, default=float), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out + '.json').write_text(json.dumps({'machine': machine_kind(), 'date': time.strftime('%Y-%m-%d'),
                                                    'planted': rows, 'generated': costs}, indent=1, default=float))
    print('wrote', args.out + '.json')


if __name__ == '__main__':
    main()
