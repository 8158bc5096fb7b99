"""How much the reader's own errors and plain distribution shift bias the label-fidelity estimate (run by hand; not a test)

    .venv/bin/python benchmarks/fidelity_bias.py [--tasks ...] [--seeds 5] [--out benchmarks/results/fidelity_bias]

`synthclf.simulate.planted_fidelity` per task, planted noise (0 and 0.3), shift (none; 'short': the synthetic texts from each
label's shortest third, a distribution the reader's confusion on real rows does not describe) and seed: the truth, the raw
share read as meant and the corrected estimate with its 95% interval (TF-IDF reader, 300 real rows per label, 100 synthetic
texts per label). Per cell: mean bias of each (estimate − truth) with its standard error over seeds, and the coverage.
"""
import argparse, json, os, time, warnings
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np
import pandas as pd
from synthclf.core import machine_kind


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--tasks', nargs='+', default=['ag_news', 'financial_phrasebank', 'sms_spam', 'tweet_irony'])
    ap.add_argument('--seeds', type=int, default=5)
    ap.add_argument('--out', default='benchmarks/results/fidelity_bias')
    args = ap.parse_args()
    warnings.simplefilter('ignore')
    from synthclf.simulate import planted_fidelity
    t0, rows = time.time(), []
    for task in args.tasks:
        for noise in (0.0, 0.3):
            for shift in (None, 'short'):
                for seed in range(args.seeds):
                    rows.append(planted_fidelity(task, noise=noise, per_label=100, real_per_label=300, shift=shift,
                                                 seed=seed, n_boot=500))
                    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in rows[-1].items()}), flush=True)
    r = pd.DataFrame(rows)
    r['raw_bias'], r['bias'] = r.raw - r.truth, r.fidelity - r.truth
    se = lambda x: x.std(ddof=1) / np.sqrt(len(x))
    g = r.groupby(['task', 'noise', 'shift'], sort=False)
    table = pd.DataFrame({'reader_recall': g.reader_recall.mean(), 'truth': g.truth.mean(),
                          'raw_bias': g.raw_bias.mean(), 'raw_bias_se': g.raw_bias.agg(se),
                          'bias': g.bias.mean(), 'bias_se': g.bias.agg(se), 'coverage': g.covered.mean()}).reset_index()
    meta = {'date': time.strftime('%Y-%m-%d'), 'machine': f"{machine_kind()}, {os.cpu_count()} cores",
            'command': f"python benchmarks/fidelity_bias.py --tasks {' '.join(args.tasks)} --seeds {args.seeds}",
            'seconds': round(time.time() - t0)}
    Path(args.out + '.json').write_text(json.dumps({'meta': meta, 'runs': rows}, indent=1, default=float))
    f = lambda m, s: f"{m:+.3f} ± {1.96 * s:.3f}"
    md = ["# Bias of the label-fidelity estimate (simulator)", "", f"{meta['date']} · {meta['machine']} · `{meta['command']}` · "
          f"{meta['seconds']} s", "", __doc__.split('\n\n', 2)[2].strip(), "",
          "| task | planted noise | shift | reader recall | truth | raw − truth | corrected − truth | coverage |", "|---|---|---|---|---|---|---|---|"]
    md += [f"| {x.task} | {x.noise} | {x.shift} | {x.reader_recall:.2f} | {x.truth:.3f} | {f(x.raw_bias, x.raw_bias_se)} | "
           f"{f(x.bias, x.bias_se)} | {x.coverage:.0%} |" for x in table.itertuples()]
    md += ["", "(± 1.96 standard errors over the seeds.)"]
    Path(args.out + '.md').write_text('\n'.join(md) + '\n')
    print('\n'.join(md))


if __name__ == '__main__':
    main()
