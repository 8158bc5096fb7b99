"""Collect raw LLM answers for the cleaner's regression corpus (`tests/data/raw_answers.jsonl`), run by hand on each kind of machine.

    .venv/bin/python tools/raw_answers.py [--models smollm2-135m-instruct qwen2.5-coder-0.5b-instruct]
        [--tasks sms_spam tweet_irony ...] [--modes zero_shot few_shot] [--per-label 4] [--out tests/data/raw_answers.jsonl]
    .venv/bin/python tools/raw_answers.py --review [--accept]

Each (model, task, mode) generates with `synthclf.generate.generate` on an empty call cache, so every answer the model gave,
accepted or not, is in that cache; each new answer (by model, task and raw text) is appended with the machine kind it came
from (the kernels differ between kinds, and so do the answers) and what `clean_text` makes of it *now*: the text it keeps and
the reason it rejects, which `tests/test_cleaner.py` then holds the cleaner to. Read the new rows before committing them: an
expected text that is not the message the model wrote is a cleaner defect to fix, not a row to keep. After changing the cleaner,
`--review` prints each answer that now cleans differently (was / now), and `--review --accept` records the new outcomes.
"""
import argparse, json, sqlite3, tempfile
from pathlib import Path

from synthclf.cache import CallCache
from synthclf.core import machine_kind
from synthclf.generate import clean_text, generate
from synthclf.tasks import get_card


def answers(cache_path: Path) -> list[str]:
    "Every completion's text in a call cache."
    with sqlite3.connect(cache_path) as db:
        return [json.loads(c)['text'] for (c,) in db.execute('SELECT completion FROM calls ORDER BY created')]


def review(path: Path, accept: bool):
    "Print the answers of the corpus at `path` that clean differently now; with `accept`, record what they clean to now."
    rows, moved = [json.loads(l) for l in path.read_text().splitlines()], 0
    for r in rows:
        now = clean_text(r['raw'], get_card(r['task']))
        if now == (r['text'], r['reason']): continue
        moved += 1
        print(f"{r['model']} {r['task']}: {r['raw'][:160]!r}\n  was {r['text'] or r['reason']!r}\n  now {now[0] or now[1]!r}")
        if accept: r['text'], r['reason'] = now
    if accept: path.write_text(''.join(json.dumps(r, ensure_ascii=False) + '\n' for r in rows))
    print(f"{moved} of {len(rows)} answers clean differently now" + (' (recorded)' if accept and moved else ''))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--models', nargs='+', default=['smollm2-135m-instruct', 'qwen2.5-coder-0.5b-instruct'])
    p.add_argument('--tasks', nargs='+', default=['sms_spam', 'tweet_irony', 'humor_speech', 'sarcasm_news', 'financial_phrasebank'])
    p.add_argument('--modes', nargs='+', default=['zero_shot', 'few_shot'])
    p.add_argument('--per-label', type=int, default=4)
    p.add_argument('--out', type=Path, default=Path(__file__).parents[1] / 'tests' / 'data' / 'raw_answers.jsonl')
    p.add_argument('--review', action='store_true', help='print the answers that clean differently now; generate nothing')
    p.add_argument('--accept', action='store_true', help='with --review: record what they clean to now')
    a = p.parse_args(argv)
    if a.review: return review(a.out, a.accept)
    rows = [json.loads(l) for l in a.out.read_text().splitlines()] if a.out.exists() else []
    seen, kind, added = {(r['model'], r['task'], r['raw']) for r in rows}, machine_kind(), 0
    for model in a.models:
        for task in a.tasks:
            for mode in a.modes:
                with tempfile.TemporaryDirectory() as d:
                    generate(task, mode, per_label=a.per_label, model=model, cache=CallCache(Path(d) / 'calls.sqlite'), progress=False)
                    for raw in answers(Path(d) / 'calls.sqlite'):
                        if (model, task, raw) in seen: continue
                        text, reason = clean_text(raw, get_card(task))
                        rows.append({'machine': kind, 'model': model, 'task': task, 'mode': mode, 'raw': raw, 'text': text, 'reason': reason})
                        seen.add((model, task, raw)); added += 1
                print(f'{model} {task} {mode}: {added} new answers so far', flush=True)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(''.join(json.dumps(r, ensure_ascii=False) + '\n' for r in rows))
    print(f'{added} answers added from {kind}; {len(rows)} in {a.out}')


if __name__ == '__main__':
    main()
