"""How long `judge_reliability` takes on ten tasks (run by hand; not a test: a busy machine is slower).

    .venv/bin/python benchmarks/reliability_speed.py [--per-pair 20] [--repeats 7]

Simulated judgments of the ten built-in tasks (every pair in both orders, `--per-pair` each), then `--repeats` timed calls
of `judge_reliability` (its split-half bootstrap included). Prints min / median / max seconds. The target is well under
two seconds on 2 cores: the report runs it once per ranking, and the subjectivity notebook three times in its example.
The line also goes to --md (default benchmarks/results/reliability_speed.md), with the date and the CPU.
"""
import argparse, os, statistics, sys, time
from pathlib import Path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--per-pair', type=int, default=20)
    ap.add_argument('--repeats', type=int, default=7)
    ap.add_argument('--md', default=str(Path(__file__).parent/'results'/'reliability_speed.md'))
    ap.add_argument('--note', default='', help='what else ran on the machine meanwhile, for the record')
    args = ap.parse_args()
    from synthclf.core import command_line, machine_kind
    from synthclf.subjectivity import judge_reliability, simulate_judgments
    ten = {'ag_news': -2.0, 'sms_spam': -1.4, 'relation_classification': -0.8, 'financial_phrasebank': -0.2, 'imdb': 0.3,
           'tweet_emotions': 0.7, 'reddit_emotions': 1.0, 'tweet_irony': 1.5, 'sarcasm_news': 1.8, 'humor_speech': 2.2}
    j = simulate_judgments(ten, per_pair=args.per_pair)
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter(); judge_reliability(j); times.append(time.perf_counter() - t)
    line = (f"judge_reliability, {len(j)} judgments of 10 tasks: min {min(times):.3f} s, median {statistics.median(times):.3f} s, "
            f"max {max(times):.3f} s over {args.repeats} calls")
    print(line)
    cpu = machine_kind()
    command = command_line(sys.argv)
    Path(args.md).write_text(f"# judge_reliability's time on ten tasks (target: well under 2 s on 2 cores)\n\n"
                             f"{time.strftime('%Y-%m-%d')}, {cpu}, {os.cpu_count()} cores{'; ' + args.note if args.note else ''}. "
                             f"`{command}`\n\n{line}\n")


if __name__ == '__main__':
    main()
