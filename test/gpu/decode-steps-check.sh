#!/usr/bin/env bash
# The decode entry's mamba2_step (passes/DecodeFusion.h) on one GPU:
# bamba-1.5b bf16 (random weights drawn on the GPU), greedy decode after
# 512-token prompts, 64 new tokens, CUDA graph, with the bundle built by
# default (one mamba2_step launch per mixer) and the one built with
# --no-decode-steps (conv, split, scan, gated norm), run alternately, at
# B = 1 and B = 64; then the determinism probe: 64 identical prompts in one
# batch must generate 64 identical rows, with either bundle and with
# BRAID_NO_PDL=1 (a row-dependent or racy kernel shows here first).
#
# Pack BENCH/ (on the build machine): bin/braid-run, bamba15.bundle and
# bamba15-nods.bundle (braidc ../shared/configs/bamba-1.5b.json
# --target=cuda:sm_90a --dtype=bf16 [--no-decode-steps]), ids512.txt (one
# prompt), ids512x64.txt (it 64 times), ids64x512.txt (64 random prompts).
# usage: decode-steps-check.sh BENCH[.tgz] LOGDIR
# Env: REPS (alternations, default 2), RUN_TIMEOUT (s per run, default 60).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
bench_setup "$1" "$2" steps-bench
# run NAME BUNDLE IDS [ENV...]: ms/step, and the generated rows in NAME.rows
run() {
  local name=$1 bundle=$2 ids=$3
  shift 3
  local out
  out=$(env "$@" timeout "${RUN_TIMEOUT:-60}" "$BR" generate "$BENCH/$bundle" --backend cuda \
    --random-weights 1 --max-seq 1024 -n 64 --cuda-graph --ids-file "$BENCH/$ids" 2>&1)
  local rc=$?
  echo "$out" >> "$LOG/$name.log"
  grep "generated:" <<< "$out" > "$LOG/$name.rows"
  printf '%-28s rc=%s %s | distinct rows %s\n' "$name" "$rc" \
    "$(grep -oE '[0-9.]+ ms/step, [0-9.]+ tokens/s' <<< "$out" | tail -1)" \
    "$(sort -u "$LOG/$name.rows" | wc -l)"
}
{
  for r in $(seq "${REPS:-2}"); do
    for b in bamba15 bamba15-nods; do run "B1-$b-$r" $b.bundle ids512.txt; done
    for b in bamba15 bamba15-nods; do run "B64-$b-$r" $b.bundle ids64x512.txt; done
  done
  for b in bamba15 bamba15-nods; do
    run "same64-$b" $b.bundle ids512x64.txt
    run "same64-$b-nopdl" $b.bundle ids512x64.txt BRAID_NO_PDL=1
  done
  # The fused and unfused decode should give the same tokens on distinct
  # prompts up to bf16 near-ties: count the rows that agree.
  rows_equal B64-bamba15-1 B64-bamba15-nods-1
  rows_equal B64-bamba15-1 B64-bamba15-2
} 2>&1 | tee "$LOG/summary.txt"
