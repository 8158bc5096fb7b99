"""The calibration's fast path against the path users run (run by hand; not a test): simulated studies end to end through
`synthclf run` against the simulated endpoint, each next to the fast path's study with the same spec, and their words compared.

    PYTHONPATH=<the package measured> .venv/bin/python benchmarks/end_to_end.py [--truth power] [--studies 24] [--from 0]
        [--json benchmarks/results/end_to_end.json] [--md benchmarks/results/end_to_end.md]

A study here is `verdict_calibration.py`'s study spec on the quick profile's six tasks at 20 texts per label and one generated
set per mode (R = 1, what `synthclf run --profile quick` trains on): the same planted truth (`make_truth`, the same split seed:
the same pool, the same real rest, so the same real_matched draws and test rows). The fast path (`run_study`) draws the sets
with `synthetic_draw`, fits its own copy of embedding-lr on cached embeddings and ranks the tasks with a simulated crowd. The
end-to-end path writes the prepared data (`synthclf.simulate.prepare_data`), serves the truth on loopback (`serve`) and runs

    synthclf run --profile quick --tasks <six> -p backend=openai -p model=simulated -p base_url=<loopback> -p data_dir=<prepared>
        -p rank_tasks=[<six>] -p generate.seed=<the study's> -p train.train_on=[real_matched,zero_shot,few_shot] -p train.remedies=[]

so generate's requests, parsing and filters (duplicates, near-copies of test texts, the label check), the package's train stage
(its own embeddings, its own real_matched draw), the LLM judge's pairwise requests and its reliability gate, and the report's
`paper_verdict` all run as a user's run does. Only the sources the compared lines read are trained (the curve, mixture and
remedy sources feed the worth lines, which the fast path does not make).

What differs by design: the generated texts (the endpoint draws from the pool with the request's seed, and generate's filters
reject some; the fast path draws with `synthetic_draw`) and the ranking (the LLM judge against 540 crowd comparisons). So the
comparison is of rates and of paired estimates, not of identical words: per kind of line, the share of each word on each path,
the share of lines whose word is the same, and the mean difference of the estimates (end to end − fast) with its 95% interval.
Where the fast path is faithful, the shares agree within their noise and the mean difference is near zero.

Each finished end-to-end run is kept (one JSON line) in .cache/verdict_calibration/end_to_end-<hash of the package>.jsonl and each
fast-path study in end_to_end_fast-<verdict_calibration.code_hash()>.jsonl, so a killed run resumes without redoing a finished one,
and a change to the study code alone reruns only the fast path.
"""
import argparse, datetime, functools, hashlib, json, os, shlex, shutil, subprocess, sys, time, warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import verdict_calibration as vc  # noqa: E402 (sets the environment: offline, the data folder)
import synthclf.simulate as sim  # noqa: E402

CELLS = {'power': 6020, 'null': 0}  # the power design's 6-task, 20-per-label cell (its pools and real draws); the null design's
WORDS = ('agrees', 'contradicts', 'inconclusive', 'undetermined')


def e2e_command(spec, url, data, out) -> list:
    "The arguments of the study's `synthclf run` (the quick profile, the compared sources only)."
    tasks = spec['tasks']
    gen_seed = vc._ss(vc.FAMILY_IDS[spec['truth']], spec['cell'], spec['study'], 3, spec['replicates'], spec.get('variant', 0))
    return ['run', '--profile', 'quick', '--tasks', ','.join(tasks), '--out', out,
            '-p', 'backend=openai', '-p', f'model={sim.MODEL_ID}', '-p', f'base_url={url}', '-p', f'data_dir={data}',
            '-p', f"rank_tasks=[{','.join(tasks)}]", '-p', f'generate.seed={gen_seed % 2**31}',
            '-p', 'train.train_on=[real_matched,zero_shot,few_shot]', '-p', 'train.remedies=[]']


def _truth(spec):
    fam, i, cell = vc.FAMILY_IDS[spec['truth']], spec['study'], spec['cell']
    return vc.make_truth(spec, vc._ss(fam, cell, i, 1)), vc._ss(fam, cell, i, 2)  # the truth, and the crowd's seed


def _synthclf(*args, what: str):
    p = subprocess.run([str(Path(sys.executable).parent/'synthclf'), *map(str, args)], capture_output=True, text=True,
                       env={**os.environ, **vc.ONE_THREAD, 'TQDM_DISABLE': '1'})
    if p.returncode != 0: raise RuntimeError(f"{what} failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-3000:]}")


def run_end_to_end(spec, where: Path) -> dict:
    """The verdict lines of `synthclf run` on the study `spec` against the simulator (and its seconds, judge, generate counts,
    macro-F1 per source), run in `where` (data/ and run/, kept for `crowd_analysis`)."""
    import pandas as pd
    truth, _ = _truth(spec)
    t0 = time.time()
    if where.exists(): shutil.rmtree(where)  # a run killed halfway: begin again (its LLM calls are the simulator's)
    sim.prepare_data(truth, where/'data', per_label=spec['per_label'], replicates=spec['replicates'])
    with sim.serve(truth, where/'data') as url:
        _synthclf(*e2e_command(spec, url, where/'data', where/'run'), what=f"study {spec['study']}: synthclf run")
    run = where/'run'
    verdict = pd.read_csv(run/'analysis'/'verdict.csv')
    judge = json.loads((run/'analysis'/'judge.json').read_text())
    ranking = pd.read_csv(run/'analysis'/'ranking.csv')
    generated, scores = {}, {}
    for task in spec['tasks']:
        for mode in vc.MODES:
            d = run/task/'generate'/mode
            rows = (d/'data.jsonl').read_text().splitlines()
            rejected = (d/'rejected.jsonl').read_text().splitlines() if (d/'rejected.jsonl').is_file() else []
            generated[f"{task}/{mode}"] = {'accepted': len(rows), 'rejected': len(rejected)}
        for source in ('real_matched', *vc.MODES):
            f1 = [json.loads(m.read_text())['macro_f1'] for m in sorted((run/task/source).glob('*/seed*/metrics.json'))]
            scores[f"{task}/{source}"] = round(float(np.mean(f1)), 4) if f1 else None
    return {'lines': vc.line_records(verdict, truth), 'seconds': round(time.time() - t0, 1), 'judge_reliable': bool(judge.get('reliable')),
            'ranking': ranking.task.tolist(), 'generated': generated, 'macro_f1': scores}


def crowd_analysis(spec, where: Path) -> dict:
    """The verdict lines of `synthclf analyze` on the end-to-end run in `where`, ranked by the fast path's own crowd (the same
    `simulate_crowd` judgments, passed as --judgments): the ranking and its gate are then the fast path's, and what differs from the
    fast path is the generated data and the train stage alone."""
    import pandas as pd
    truth, crowd_seed = _truth(spec)
    sim.simulate_crowd(truth, comparisons=540, workers=30, seed=crowd_seed).to_csv(where/'crowd.csv', index=False)
    _synthclf('analyze', where/'run', '--judgments', where/'crowd.csv', '--out', where/'analysis_crowd', '--data-dir', where/'data',
              what=f"study {spec['study']}: synthclf analyze --judgments")
    verdict = pd.read_csv(where/'analysis_crowd'/'verdict.csv')
    return {'lines': vc.line_records(verdict, truth),
            'judge_reliable': bool(json.loads((where/'analysis_crowd'/'judge.json').read_text()).get('reliable'))}


def package_hash() -> str:
    "A hash of the package's modules and task cards: what an end-to-end study's result depends on."
    return vc.hash_package(hashlib.sha256()).hexdigest()[:12]


one_thread = functools.cache(vc._init_worker)  # once per process, and only where a fast-path study is computed


def fast_path(spec) -> dict:
    "The fast path's study, as `verdict_calibration.py` computes it (in this process, one thread)."
    one_thread()
    return vc.run_study(spec)


def estimate(line) -> float | None:
    "A line's estimate as a number (the verdict writes '+0.084 macro-F1', 'Spearman ρ = +0.58'; '—' where there is none)."
    found = vc._numbers(str(line.get('estimate')))
    return found[0] if found else None


def t_half_width(x) -> float:
    "Half the width of the 95% t interval of the mean of `x` (NaN under two values)."
    from scipy.stats import t
    return float(t.ppf(0.975, len(x) - 1) * np.std(x, ddof=1) / np.sqrt(len(x))) if len(x) > 1 else float('nan')


def compare(records, side: str = 'e2e') -> list:
    """Per kind of line: the words of the fast path and of `side` (e2e: `synthclf run` with its LLM judge; e2e_crowd: the same run
    analysed with the fast path's crowd), the share of lines with the same word, and the paired estimate difference."""
    by = {}
    records = [r for r in records if r.get(side)]
    for rec in records:
        fast = {(l['kind'], l['task']): l for l in rec['fast']['lines']}
        for l in rec[side]['lines']:
            f = fast.get((l['kind'], l['task']))
            if f is not None: by.setdefault(l['kind'], []).append((f, l))
    rows = []
    for kind in [k for k in vc.KINDS if k in by]:
        pairs = by[kind]
        n = len(pairs)
        row = {'kind': kind, 'studies': len(records), 'lines': n}
        for path, j in (('fast', 0), ('e2e', 1)):
            for w in WORDS:
                k = sum(p[j]['word'] == w for p in pairs)
                row[f'{path}_{w}'], row[f'{path}_{w}_ci'] = vc.share(k, n)
        row['same_word'], row['same_word_ci'] = vc.share(sum(f['word'] == e['word'] for f, e in pairs), n)
        ests = [(estimate(f), estimate(e)) for f, e in pairs]
        diff = np.array([e - f for f, e in ests if e is not None and f is not None], float)
        if len(diff) > 1:
            half = t_half_width(diff)
            row.update(mean_difference=round(float(diff.mean()), 4),
                       mean_difference_ci=[round(float(diff.mean() - half), 4), round(float(diff.mean() + half), 4)],
                       difference_sd=round(float(diff.std(ddof=1)), 4))
        for path, j in (('fast', 0), ('e2e', 1)):
            est = np.array([x[j] for x in ests if x[j] is not None], float)
            row[f'{path}_estimate_sd'] = round(float(est.std(ddof=1)), 4) if len(est) > 1 else None
        rows.append(row)
    return rows


def compare_scores(records) -> list:
    """Per task and source: the mean macro-F1 (over seeds) on each path and the mean paired difference (end to end − fast) with its 95%
    interval. real_matched trains on the same rows on both paths (the same draw from the same rest), so its difference is the
    embeddings' rounding alone; a synthetic source's is the draw's (the endpoint's against `synthetic_draw`'s) and generate's filters'."""
    rows = []
    for task in vc.QUICK6:
        for source in ('real_matched', *vc.MODES):
            k = f"{task}/{source}"
            pairs = [(r['fast']['macro_f1'][k], r['e2e']['macro_f1'][k]) for r in records
                     if r['e2e'].get('macro_f1', {}).get(k) is not None and r['fast']['macro_f1'].get(k) is not None]
            if not pairs: continue
            f, e = np.array(pairs).T
            d = e - f
            half = t_half_width(d)
            rows.append({'task': task, 'source': source, 'studies': len(d), 'fast': round(float(f.mean()), 4), 'e2e': round(float(e.mean()), 4),
                         'difference': round(float(d.mean()), 4), 'difference_ci': [round(float(d.mean() - half), 4), round(float(d.mean() + half), 4)],
                         'largest_abs_difference': round(float(np.abs(d).max()), 4)})
    return rows


def _words_table(rows, pct) -> list:
    out = ["| kind | lines | agrees: fast / end to end | contradicts: fast / end to end | same word | estimate, end to end − fast | sd of the estimate: fast / end to end |",
           "|---|---|---|---|---|---|---|"]
    for r in rows:
        md = '—' if 'mean_difference' not in r else f"{r['mean_difference']:+.4f} [{r['mean_difference_ci'][0]:+.4f}, {r['mean_difference_ci'][1]:+.4f}]"
        out.append(f"| {r['kind']} | {r['lines']} | {pct(r['fast_agrees'])} / {pct(r['e2e_agrees'])} | "
                   f"{pct(r['fast_contradicts'])} / {pct(r['e2e_contradicts'])} | {pct(r['same_word'], r['same_word_ci'])} | {md} | "
                   f"{r['fast_estimate_sd']} / {r['e2e_estimate_sd']} |")
    return out


def write_md(res, path):
    m, rows = res['meta'], res['rows']
    pct = lambda x, ci=None: '—' if x is None else f"{100 * x:.1f}%" + (f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else '')
    out = [f"# The fast path against `synthclf run` end to end", '',
           f"{m['studies']} studies ({m['truth']} truth, the quick six, 20 texts per label, R = 1), each run twice: the calibration's fast "
           f"path and `synthclf run --profile quick` against the simulated endpoint (`benchmarks/end_to_end.py`, its docstring says what "
           f"differs by design). Commit {m['git_commit']} (code hash {m['code_hash']}), {m['cpu']}, {m['date']}; "
           f"{m['e2e_seconds']:.0f} s a study end to end against {m['fast_seconds']:.0f} s on the fast path.", '',
           "With the run's own LLM judge (what a user runs; the ranking differs from the fast path's crowd):", '']
    out += _words_table(res['rows'], pct)
    if res.get('rows_crowd'):
        out += ['', f"The same runs analysed with the fast path's crowd (`synthclf analyze --judgments`, the same 540 simulated comparisons; "
                f"{res['rows_crowd'][0]['studies']} studies): the ranking is then the fast path's, and what differs is the generated data "
                "and the train stage alone.", '']
        out += _words_table(res['rows_crowd'], pct)
    if res.get('scores'):
        out += ['', "Macro-F1 per task and source (mean over seeds, then over studies), each path, and the paired difference. real_matched "
                "trains on the same rows on both paths, so its difference is the embeddings' rounding; a synthetic source's is the draw and "
                "generate's filters.", '', "| task | source | studies | fast | end to end | end to end − fast | largest |", "|---|---|---|---|---|---|---|"]
        out += [f"| {r['task']} | {r['source']} | {r['studies']} | {r['fast']:.4f} | {r['e2e']:.4f} | {r['difference']:+.4f} "
                f"[{r['difference_ci'][0]:+.4f}, {r['difference_ci'][1]:+.4f}] | {r['largest_abs_difference']:.4f} |" for r in res['scores']]
    out += ['', f"Judge: reliable in {m['judge_reliable']} of {m['studies']} end-to-end runs (the fast path's crowd: {m['crowd_reliable']}). "
            f"Generate: {m['rejected_share']:.1%} of the end-to-end answers rejected by its filters.", '',
            f"Command: `{m['command']}`", '']
    Path(path).write_text('\n'.join(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--truth', default='power', choices=list(CELLS))
    ap.add_argument('--studies', type=int, default=24)
    ap.add_argument('--from', dest='start', type=int, default=0, help='the first study index')
    ap.add_argument('--json', default=str(vc.ROOT/'benchmarks/results/end_to_end.json'))
    ap.add_argument('--md', default=str(vc.ROOT/'benchmarks/results/end_to_end.md'))
    ap.add_argument('--runs', default=str(vc.CACHE/'end_to_end_runs'), help="where the end-to-end runs are kept (data/, run/: about 10 MB each)")
    args = ap.parse_args()
    warnings.simplefilter('ignore')
    say = lambda *a: print(*a, flush=True)
    code, package = vc.code_hash(), package_hash()
    # the end-to-end runs depend on the package only; the fast path's studies on the package and the study code
    e2e_store, fast_store = vc.Store(vc.CACHE/f"end_to_end-{package}.jsonl"), vc.Store(vc.CACHE/f"end_to_end_fast-{code}.jsonl")
    crowd_store = vc.Store(vc.CACHE/f"end_to_end_crowd-{package}.jsonl")
    vc.ensure_embeddings(vc.QUICK6, say)
    records, t0 = [], time.time()
    for i in range(args.start, args.start + args.studies):
        spec = vc.study_spec(args.truth, vc.QUICK6, 20, 1, i, CELLS[args.truth])
        key, t1 = vc.job_key(('e2e', spec)), time.time()
        fast = fast_store.get(key, lambda: fast_path(spec))
        where = Path(args.runs)/f"{args.truth}-{i}"
        e2e = e2e_store.get(key, lambda: run_end_to_end(spec, where))
        crowd = crowd_store.get(key, lambda: crowd_analysis(spec, where)) if (where/'run'/'analysis').is_dir() or key in crowd_store.done else None
        if time.time() - t1 > 1: say(f"study {i}: {time.time() - t1:.0f}s (end to end {e2e['seconds']:.0f}s), judge reliable {e2e['judge_reliable']}")
        records.append({'spec': spec, 'fast': fast, 'e2e': e2e, 'e2e_crowd': crowd})
    git = lambda *c: subprocess.run(['git', *c], cwd=vc.ROOT, capture_output=True, text=True).stdout.strip()
    import synthclf
    from synthclf.core import machine_kind
    gen = [g for r in records for g in r['e2e']['generated'].values()]
    meta = {'git_commit': git('rev-parse', '--short', 'HEAD'), 'code_hash': code, 'package_hash': package, 'package': str(Path(synthclf.__file__).parent),
            'date': datetime.datetime.now().isoformat(timespec='seconds'), 'cpu': f"{machine_kind()}, {os.cpu_count()} cores",
            'truth': args.truth, 'studies': len(records), 'command': shlex.join(['.venv/bin/python', *sys.argv]),
            'e2e_seconds': float(np.mean([r['e2e']['seconds'] for r in records])),
            'fast_seconds': float(np.mean([r['fast']['seconds']['total'] for r in records])),
            'judge_reliable': sum(r['e2e']['judge_reliable'] for r in records),
            'crowd_reliable': sum(bool(r['fast'].get('judge_reliable')) for r in records),
            'rejected_share': sum(g['rejected'] for g in gen) / max(1, sum(g['rejected'] + g['accepted'] for g in gen))}
    res = {'meta': meta, 'rows': compare(records), 'rows_crowd': compare(records, 'e2e_crowd'), 'scores': compare_scores(records)}
    Path(args.json).write_text(json.dumps(res, indent=1) + '\n')
    if args.md: write_md(res, args.md)
    say(f"{len(records)} studies in {time.time() - t0:.0f}s -> {args.json}")


if __name__ == '__main__':
    main()
