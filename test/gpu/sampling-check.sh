#!/usr/bin/env bash
# Sampled generation on the CUDA backend (braid-run generate --temperature,
# --top-k, --top-p, --seed: the host loop, each step's logits copied back and
# the rows drawn on the CPU) on one GPU, with the pack of
# greedy-device-check.sh (bamba-1.5b bf16, random weights, 512-token
# prompts, 64 new tokens, CUDA graph) at B = 1 and B = 64:
# - temperature 0 (with the other flags set) must give the greedy device
#   run's rows, all of them;
# - two runs of one seed must give the same rows (the GPU's logits are
#   deterministic and each row has its own stream), another seed other rows;
# - ms/step of sampled decode next to greedy on the device and the greedy
#   host loop (the cost of copying the logits back and sampling 64 rows).
# usage: sampling-check.sh BENCH[.tgz] LOGDIR
# Env: BUNDLE (default "bamba15"), RUN_TIMEOUT (s per run, default 60).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
bench_setup "$1" "$2" sampling-check
# run NAME IDS [FLAGS...]: ms/step, sampling line, rows in NAME.rows; the
# environment gets EXTRA_ENV.
EXTRA_ENV=()
run() {
  local name=$1 ids=$2
  shift 2
  local out
  out=$(env "${EXTRA_ENV[@]}" timeout "${RUN_TIMEOUT:-60}" "$BR" generate "$BENCH/${BUNDLE:-bamba15}.bundle" \
    --backend cuda --random-weights 1 --max-seq 1024 -n 64 --cuda-graph \
    --ids-file "$BENCH/$ids" "$@" 2>&1)
  local rc=$?
  echo "$out" > "$LOG/$name.log"
  grep "generated:" <<< "$out" > "$LOG/$name.rows"
  printf '%-18s rc=%s %-36s | %s\n' "$name" "$rc" \
    "$(grep -oE '[0-9.]+ ms/step, [0-9.]+ tokens/s' <<< "$out" | tail -1)" \
    "$(grep '^sampling' <<< "$out")"
}
{
  for ids in ids512.txt ids64x512.txt; do
    b=B1; [[ $ids == ids64x512.txt ]] && b=B64
    run "$b-greedy" $ids
    EXTRA_ENV=(BRAID_HOST_SAMPLING=1)
    run "$b-greedy-host" $ids
    EXTRA_ENV=()
    run "$b-zero" $ids --temperature 0 --top-k 5 --top-p 0.5 --seed 3
    run "$b-seed1" $ids --temperature 0.8 --top-p 0.95 --seed 1
    run "$b-seed1-again" $ids --temperature 0.8 --top-p 0.95 --seed 1
    run "$b-seed2" $ids --temperature 0.8 --top-p 0.95 --seed 2
    run "$b-topk" $ids --temperature 1.2 --top-k 50 --seed 1
    rows_equal "$b-greedy" "$b-zero"          # all
    rows_equal "$b-seed1" "$b-seed1-again"    # all
    rows_equal "$b-seed1" "$b-seed2"          # (nearly) none
  done
} 2>&1 | tee "$LOG/summary.txt"
