#!/bin/bash
# Run a command as if on the AVX2-only kind of machine, on an AVX-512 one (run by hand; needs root for the mount):
#   sudo benchmarks/as_avx2.sh make run
# In a private mount namespace /proc/cpuinfo loses its AVX-512, AMX, AVX-VNNI, VAES, VPCLMULQDQ and GFNI flags (so
# `synthclf.core.bf16_ok` says no: the default preset runs its int8 engine, the encoder float32), and torch, oneDNN, fbgemm, MKL
# and OpenBLAS are capped at AVX2 kernels. The instructions are capped, not the core: the same command took 1.72x (float32) to
# 1.90x (int8) longer on a real AVX2-only EPYC (Zen 3) than under this script on an AVX-512 one (benchmarks/results/avx2_emulation.md).
set -euo pipefail
info=$(mktemp)
sed -E 's/ (avx512[a-z0-9_]*|amx[a-z0-9_]*|avx_vnni|vaes|vpclmulqdq|gfni)\b//g' /proc/cpuinfo > "$info"
export ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 DNNL_MAX_CPU_ISA=AVX2 FBGEMM_ENABLE_INSTRUCTIONS=AVX2 \
       MKL_ENABLE_INSTRUCTIONS=AVX2 OPENBLAS_CORETYPE=Haswell
exec unshare -m bash -c 'mount --bind "$0" /proc/cpuinfo && exec "$@"' "$info" "$@"
