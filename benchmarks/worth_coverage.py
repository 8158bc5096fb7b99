"""Coverage of the worth interval where the data break its old assumptions, and its cost on a real run (by hand)

    .venv/bin/python benchmarks/worth_coverage.py [--studies 400] [--n-boot 500] [--old 6ec6a41] [--run runs/quick]

Three intervals on the same studies: `new` (`worth` with the per-row predictions: test rows drawn again for all sources
at once, each seed's curve drawn as one), `new, no predictions` (the seeds as units only: the test rows held fixed) and
`old` (`synthclf/worth.py` at commit `--old`: test rows held fixed, curve points drawn independently). World
`simulated`: `worth.simulate_worth_study` (500 test rows from a population, a synthetic source with rows of its own,
nested curve draws, five generated sets with their own spread; true worth 20, 40 or 70 per label in turn, from the
closed form). World `nested`: `tests/test_worth.py`'s `nested_runs` (scores only; a seed's luck moves its whole curve;
true worth √1000). Coverage with a 95% Wilson interval. Then, on a finished run folder (`--run`), every task's worth
table old and new: the interval's width (high − low, in real texts per label, where the upper end lies on the curve)
and the seconds each takes.
"""
import argparse, json, os, subprocess, sys, time, types, warnings
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np
import pandas as pd
from scipy.stats import binomtest
from synthclf.core import machine_kind
from synthclf import worth as new

ROOT = Path(__file__).resolve().parents[1]


def old_worth(commit: str):
    "The `worth` module as it was at `commit`, imported beside the current one."
    src = subprocess.check_output(['git', 'show', f'{commit}:synthclf/worth.py'], text=True, cwd=ROOT)
    mod = types.ModuleType('synthclf.worth_old')
    mod.__package__ = 'synthclf'
    exec(compile(src, f'worth.py@{commit}', 'exec'), mod.__dict__)
    return mod


def coverage(hits: list) -> dict:
    "Studies whose interval held the truth, their share and its 95% Wilson interval."
    k, n = int(np.sum(hits)), len(hits)
    ci = binomtest(k, n).proportion_ci(method='wilson')
    return {'covered': k, 'studies': n, 'coverage': k / n, 'wilson_low': ci.low, 'wilson_high': ci.high}


def simulated(i: int) -> tuple:
    runs, preds, truth = new.simulate_worth_study((20.0, 40.0, 70.0)[i % 3], seed=i)
    return runs, {'t': preds}, truth


def coverage_rows(intervals: dict, studies: int) -> list:
    "Coverage and median width ln(high / low) of each interval in each world."
    sys.path.insert(0, str(ROOT/'tests'))
    from test_worth import nested_runs
    worlds = {'simulated': simulated, 'nested': lambda i: (nested_runs(i), None, float(np.sqrt(1000)))}
    rows = []
    for world, make in worlds.items():
        hits, widths = {k: [] for k in intervals}, {k: [] for k in intervals}
        for i in range(studies):
            runs, preds, truth = make(10_000 + i)
            for name, f in intervals.items():
                x = f(runs, preds, i).set_index('source').loc['few_shot']
                hits[name].append(bool(x.ci_low <= truth <= x.ci_high))
                on_curve = 0 < x.ci_low and np.isfinite(x.ci_high)
                widths[name].append(np.log(x.ci_high / x.ci_low) if on_curve else np.nan)
        for name in intervals:
            if world == 'nested' and name == 'new, no predictions': continue  # the same as new: no predictions there
            rows.append({'world': world, 'interval': name, **coverage(hits[name]),
                         'median_width_log_n': float(np.nanmedian(widths[name]))})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def real_run(path: str, old) -> tuple:
    "Old and new worth tables of the run at `path`, side by side with their widths, and the seconds each took."
    from synthclf.run import load_run
    run = load_run(path)
    preds = {t: run.predictions(t) for t in run.tasks}
    tables, seconds = {}, {}
    for name, f in (('old', lambda: old.worth(run.scores)), ('new, no predictions', lambda: new.worth(run.scores)),
                    ('new', lambda: new.worth(run.scores, predictions=preds))):
        t = time.time()
        tables[name], seconds[name] = f().set_index(['task', 'source']), round(time.time() - t, 2)
    both = tables['old'][['score', 'real_labels_equivalent', 'ci_low', 'ci_high']].copy()
    span = lambda w: (w.ci_high - w.ci_low).where(np.isfinite(w.ci_high) & (w.ci_high > 0))  # lo may be 0: "fewer than"
    for name, tag in (('new', 'new'), ('new, no predictions', 'seeds')):
        both[f'ci_low_{tag}'], both[f'ci_high_{tag}'] = tables[name].ci_low, tables[name].ci_high
    widths = (span(tables[k]) for k in ('old', 'new', 'new, no predictions'))
    both['width_old'], both['width_new'], both['width_seeds'] = widths
    return both.reset_index(), seconds, len(run.tasks)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--studies', type=int, default=400)
    ap.add_argument('--n-boot', type=int, default=500)
    ap.add_argument('--old', default='6ec6a41')
    ap.add_argument('--run', default='runs/quick')
    ap.add_argument('--out', default='benchmarks/results/worth_coverage')
    args = ap.parse_args()
    warnings.simplefilter('ignore')
    old, t0 = old_worth(args.old), time.time()
    intervals = {'new': lambda r, p, i: new.worth(r, n_boot=args.n_boot, seed=i, predictions=p),
                 'new, no predictions': lambda r, p, i: new.worth(r, n_boot=args.n_boot, seed=i),
                 'old': lambda r, p, i: old.worth(r, n_boot=args.n_boot, seed=i)}
    rows = coverage_rows(intervals, args.studies)
    sim_seconds = round(time.time() - t0)
    real, seconds, tasks = real_run(args.run, old)
    ratio = (real.width_new / real.width_old).replace([np.inf, -np.inf], np.nan).dropna()
    past = int((np.isfinite(real.ci_high) & np.isinf(real.ci_high_new)).sum()
               + ((real.ci_low > 0) & (real.ci_low_new == 0)).sum())
    meta = {'date': time.strftime('%Y-%m-%d'), 'machine': f"{machine_kind()}, {os.cpu_count()} cores",
            'command': f"python benchmarks/worth_coverage.py --studies {args.studies} --n-boot {args.n_boot} "
                       f"--old {args.old} --run {args.run}",
            'commit': subprocess.check_output(['git', 'rev-parse', '--short', 'HEAD'], text=True, cwd=ROOT).strip(),
            'simulation_seconds': sim_seconds, 'run_seconds': seconds}
    summary = {'median': float(ratio.median()), 'q25': float(ratio.quantile(.25)), 'q75': float(ratio.quantile(.75)),
               'rows': int(len(ratio)), 'ends_moved_past_the_curve': past}
    out = {'meta': meta, 'coverage': rows, 'real_run': real.to_dict('records'), 'width_ratio': summary}
    Path(args.out + '.json').write_text(json.dumps(out, indent=1, default=float))
    md = ["# Worth interval: coverage where the data break the old assumptions, and its cost on a real run", "",
          f"{meta['date']} · {meta['machine']} · `{meta['command']}` · commit {meta['commit']} · simulation "
          f"{sim_seconds} s", "", __doc__.split('\n\n', 2)[2].strip(), "",
          "| world | interval | covered | coverage [95% Wilson] | median width ln(high/low) |", "|---|---|---|---|---|"]
    md += [f"| {x['world']} | {x['interval']} | {x['covered']}/{x['studies']} | {x['coverage']:.1%} "
           f"[{x['wilson_low']:.1%}, {x['wilson_high']:.1%}] | {x['median_width_log_n']:.2f} |" for x in rows]
    md += ["", f"## The real run ({args.run})", "",
           f"worth over all {tasks} tasks: " + ', '.join(f"{k} {v:.2f} s" for k, v in seconds.items())
           + " (loading the predictions not counted). Width ratio new / old (high − low in real per label, "
           f"{len(ratio)} rows whose upper end lies on the curve): median {ratio.median():.2f} (quartiles "
           f"{ratio.quantile(.25):.2f}–{ratio.quantile(.75):.2f}); {past} interval ends moved past the curve's ends "
           "(to 'fewer than' or 'more than'). `ci_low`, `ci_high`, `width_old`: old; `*_new`: new with the test rows; "
           "`*_seeds`: new without them.", "", real.round(3).to_markdown(index=False)]
    Path(args.out + '.md').write_text('\n'.join(md) + '\n')
    print('\n'.join(md))


if __name__ == '__main__':
    main()
