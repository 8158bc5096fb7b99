"""How long does `load_task` take, from the CSVs and from its Arrow cache? (run by hand; not a test)

    .venv/bin/python benchmarks/data_load.py [--tasks imdb ag_news] [--repeats 5]

For each task: one cold load (the CSVs read, checked and written to a fresh cache) and then `--repeats` loads
served from that cache, each timed with `time.perf_counter`. Prints min / median / max seconds of the cached
loads beside the cold one. The cache is a temporary folder ($SYNTHCLF_CACHE is pointed there), so the user's
cache is neither used nor touched. tests/test_data.py checks that the second load comes from the cache; the
times are here because a test must not depend on how busy the machine is. The table also goes to --md
(default benchmarks/results/data_load.md), with the date and the CPU.
"""
import argparse, os, statistics, sys, tempfile, time, warnings
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--tasks', nargs='+', default=['imdb', 'reddit_emotions', 'ag_news'])
    ap.add_argument('--repeats', type=int, default=5)
    ap.add_argument('--md', default=str(Path(__file__).parent/'results'/'data_load.md'))
    ap.add_argument('--note', default='', help='what else ran on the machine meanwhile, for the record')
    args = ap.parse_args()
    lines = []
    warnings.simplefilter('ignore')
    with tempfile.TemporaryDirectory() as cache:
        os.environ['SYNTHCLF_CACHE'] = cache
        from synthclf.data import load_task
        lines.append(f"{'task':<18} {'rows':>8} {'cold s':>8} {'cached min':>11} {'median':>8} {'max':>8}"); print(lines[-1])
        for task in args.tasks:
            t = time.perf_counter(); card, ds = load_task(task); cold = time.perf_counter() - t
            times = []
            for _ in range(args.repeats):
                t = time.perf_counter(); load_task(task); times.append(time.perf_counter() - t)
            rows = sum(d.num_rows for d in ds.values())
            lines.append(f"{task:<18} {rows:>8,} {cold:>8.2f} {min(times):>11.3f} {statistics.median(times):>8.3f} {max(times):>8.3f}")
            print(lines[-1], flush=True)
    from synthclf.core import command_line, machine_kind
    cpu = machine_kind()
    command = command_line(sys.argv)
    Path(args.md).write_text(f"# load_task: cold (CSVs read, checked, cached) against cached loads, seconds\n\n"
                             f"{time.strftime('%Y-%m-%d')}, {cpu}, {os.cpu_count()} cores{'; ' + args.note if args.note else ''}. "
                             f"`{command}`; {args.repeats} cached loads each.\n\n```\n"
                             + '\n'.join(lines) + "\n```\n")


if __name__ == '__main__':
    main()
