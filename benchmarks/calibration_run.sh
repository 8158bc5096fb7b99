#!/usr/bin/env bash
# The whole verdict calibration at one commit, design by design (run by hand; about 8 hours of two cores on a 2-core AVX2 EPYC).
#
#   benchmarks/calibration_run.sh OUT_DIR [QWEN_POOL SMOLLM_POOL]
#
# Run it from a checkout that does not change while it runs (a detached worktree of the commit measured, with .cache and .venv
# linked to the main checkout's): every study is kept in .cache/verdict_calibration/studies-<code hash>.jsonl as it finishes, so
# a killed run, started again with the same arguments at the same commit, reads the finished studies back and goes on. After each
# design, and by hand before a machine goes away (`verdict_calibration.py --save-studies`), the finished studies are written to
# benchmarks/results/studies/studies-<code hash>.jsonl.gz: commit that file, and the run resumes from it on a fresh machine.
# QWEN_POOL and SMOLLM_POOL are run folders of `synthclf generate --task ag_news --mode zero_shot --per-label 45 --model NAME --out
# RUN` for the two presets (the split-half null's real LLM output; by default the kept ones below, and their 210-per-label
# pools for R = 5). The pools of the f8e1b4e run are kept in
# benchmarks/results/split_half_pools/<preset> (generated 2026-12-07 on an AVX2 EPYC; a pool's hash is in each study's key, and so
# is its path: the carried split-half studies were keyed with /work/pools/<preset>, so copy them there to read those back). Each design merges its rows into OUT_DIR/verdict_calibration.json
# and rewrites OUT_DIR/verdict_calibration.md; copy both to benchmarks/results/ when the last design is done. A row names the commit
# it was summarised at: resumed at a later commit of the same code hash, give the run a fresh OUT_DIR (every finished study is
# read back from the cache, and every row is summarised again) so that the JSON holds one commit's rows.
set -euo pipefail
cd "$(dirname "$0")/.."
POOLS=benchmarks/results/split_half_pools
OUT=${1:?OUT_DIR}; QWEN=${2:-$POOLS/qwen2.5-coder-0.5b-instruct}; SMOL=${3:-$POOLS/smollm2-135m-instruct}
mkdir -p "$OUT"
export HF_HUB_OFFLINE=1 PYTHONPATH=$PWD
C=$(git rev-parse --short HEAD)
B=(.venv/bin/python benchmarks/verdict_calibration.py --workers 2 --json "$OUT/verdict_calibration.json" --md "$OUT/verdict_calibration.md")
S=(.venv/bin/python benchmarks/verdict_calibration.py --save-studies)
W8=uneven_sets,uneven_null,collapse,collapse_noisy,shift_short,shift_short_noisy,prototypes,prototypes_noisy
"${B[@]}" --designs null --check --note "the whole calibration at one commit ($C): null 200 studies at R = 1 and R = 5"
"${S[@]}"
"${B[@]}" --merge --designs split_half --split-pools "qwen2.5-coder-0.5b-instruct=$QWEN,smollm2-135m-instruct=$SMOL" --split-studies 100 \
    --split-replicates 1 --note 'split_half: both presets, pools of 45 per label (180 texts, synthclf generate), 100 splits each, R = 1'
"${S[@]}"
"${B[@]}" --merge --designs split_half --split-pools "qwen2.5-coder-0.5b-instruct=$POOLS/qwen2.5-coder-0.5b-instruct-210,smollm2-135m-instruct=$POOLS/smollm2-135m-instruct-210" \
    --split-studies 400 --split-replicates 5 --note 'split_half at R = 5: both presets, pools of 210 per label (840 texts), 400 splits each'
"${S[@]}"
"${B[@]}" --merge --designs worlds --worlds $W8 --world-replicates 1 --world-studies 100 \
    --note 'the eight LLM-like worlds at R = 1 (the one-set path), 100 studies each'
"${S[@]}"
"${B[@]}" --merge --designs judge,instance --note 'judge (200 draws per judge) and instance (200 + 100)'
"${S[@]}"
"${B[@]}" --merge --designs reruns --note 'reruns: 100 pairs per design'
"${S[@]}"
"${B[@]}" --merge --designs worlds --worlds $W8 --world-replicates 5 --world-studies 50 --note 'the eight LLM-like worlds at R = 5, 50 studies each'
"${S[@]}"
# the agreement lines' truth in the collapse worlds (agreement_truths pools a world's estimates over its rows), where the line
# speaks in under half the studies (the synthetic side at its baselines) and its truth, +0.04 at R = 1 over 49 lines, is not yet
# told from zero: Financial PhraseBank alone (the line's only task; no ranking, no gap lines; about 10 s a study in one process)
"${B[@]}" --merge --designs worlds --worlds collapse,collapse_noisy --world-tasks financial_phrasebank --world-replicates 1 --world-studies 200 \
    --note "the agreement lines' truth in the collapse worlds: Financial PhraseBank alone, R = 1, 200 studies each"
"${S[@]}"
"${B[@]}" --merge --designs power,power_sentence \
    --note 'power: 100 studies per cell (4, 6, 10 tasks x 20, 100, 500 per label), R = 5; power_sentence from the same studies'
"${S[@]}"
echo "calibration at $C: done -> $OUT"
