#!/usr/bin/env bash
# Greedy generation on the device (the decode_greedy entry: greedy_next picks
# each token on the GPU, no host work between steps) against the host loop
# (BRAID_HOST_SAMPLING=1: logits copied back, argmax on the CPU, ids
# uploaded), on one GPU: bamba-1.5b bf16 (random weights drawn on the GPU),
# 512-token prompts, 64 new tokens, CUDA graph, at B = 1 and B = 64, each
# bundle of BUNDLES run both ways, alternately, REPS times. Both ways must
# generate identical rows (same kernels; only where the argmax is taken
# differs), and 64 identical prompts must give 64 identical rows.
#
# Pack BENCH/ (on the build machine): bin/braid-run, the bundles
# (`braidc ../shared/configs/bamba-1.5b.json --target=cuda:sm_90a
# --dtype=bf16 -o NAME.bundle`), ids512.txt (one prompt), ids512x64.txt (it
# 64 times), ids64x512.txt (64 random prompts).
# usage: greedy-device-check.sh BENCH[.tgz] LOGDIR
# Env: BUNDLES (names, default "bamba15"), REPS (default 2), RUN_TIMEOUT (s
# per run, default 60).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
bench_setup "$1" "$2" greedy-bench
# run NAME BUNDLE IDS [ENV...]: ms/step, sampling path, rows in NAME.rows
run() {
  local name=$1 bundle=$2 ids=$3
  shift 3
  local out
  out=$(env "$@" timeout "${RUN_TIMEOUT:-60}" "$BR" generate "$BENCH/$bundle" --backend cuda \
    --random-weights 1 --max-seq 1024 -n 64 --cuda-graph --ids-file "$BENCH/$ids" 2>&1)
  local rc=$?
  echo "$out" > "$LOG/$name.log"
  grep "generated:" <<< "$out" > "$LOG/$name.rows"
  printf '%-26s rc=%s %-36s %-14s | distinct rows %s\n' "$name" "$rc" \
    "$(grep -oE '[0-9.]+ ms/step, [0-9.]+ tokens/s' <<< "$out" | tail -1)" \
    "$(grep -oE 'on the (device|host)' <<< "$out" | tail -1)" \
    "$(sort -u "$LOG/$name.rows" | wc -l)"
}
BUNDLES=${BUNDLES:-bamba15}
{
  for r in $(seq "${REPS:-2}"); do
    for ids in ids512.txt ids64x512.txt; do
      b=B1; [[ $ids == ids64x512.txt ]] && b=B64
      for n in $BUNDLES; do
        run "$b-$n-host-$r" "$n.bundle" $ids BRAID_HOST_SAMPLING=1
        run "$b-$n-device-$r" "$n.bundle" $ids
      done
    done
  done
  for n in $BUNDLES; do
    for b in B1 B64; do rows_equal "$b-$n-host-1" "$b-$n-device-1"; done
  done
  set -- $BUNDLES
  run "same64-$1-device" "$1.bundle" ids512x64.txt
} 2>&1 | tee "$LOG/summary.txt"
