#!/usr/bin/env bash
# On an NVIDIA machine: the decode-step sequence kernels of issue 9
# (mamba2_step, decode attention split-KV / combine) against the CPU
# reference, then their timings at the bamba-1.5b decode shapes (B = 1 and
# 64) beside the same cases built from the previous tree, then
# compute-sanitizer over small cases.
#
# usage: test/gpu/decode_seq_check.sh [LOGDIR]
#   BIN: the test binary (default build/hssd/gpu-seq/sequence_kernels_test)
#   OLD: the same test built from the previous tree (optional; its timed
#        cases are the baseline: build it with build_sequence_kernels_test.sh
#        from a `git archive` of the previous commit)
#   ONLY: step (mamba2_step alone) or attn (decode attention alone); both
#        when unset
set -uo pipefail
BIN=${BIN:-build/hssd/gpu-seq/sequence_kernels_test}
OLD=${OLD:-}
ONLY=${ONLY:-}
# want FAMILY: whether this run covers FAMILY (step or attn).
want() { [[ -z $ONLY || $ONLY == "$1" ]]; }
LOG=${1:-${OUT:-/tmp}/decode-seq}
mkdir -p "$LOG"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm \
  --format=csv > "$LOG/gpu.txt" 2>&1
cat "$LOG/gpu.txt"
status=0
run() { # NAME TIMEOUT BIN ARGS...
  local name=$1 limit=$2 bin=$3
  shift 3
  timeout "$limit" "$bin" "$@" > "$LOG/$name.log" 2>&1 || status=1
  grep -E "^(attn_|step_|warptile|bench_|timed|[0-9]+ cases)|FAIL|error" "$LOG/$name.log"
}
# Timed cases of the families run, as a --bench filter.
bench=bench_
[[ -n $ONLY ]] && bench=bench_$ONLY
[[ $ONLY == attn ]] && bench=bench_attn_decode
want step && run step 60 "$BIN" step_
want attn && run attn 90 "$BIN" --no-primitives attn_
want step && run bench_new 60 "$BIN" --no-primitives --bench bench_step
want attn && run bench_new_attn 60 "$BIN" --no-primitives --bench bench_attn_decode
if [[ -n $OLD && -x $OLD ]]; then
  run bench_old 60 "$OLD" --no-primitives --bench "$bench"
  # The new build again: the card's state drifts between runs.
  run bench_new2 60 "$BIN" --no-primitives --bench "$bench"
fi
# Nsight Compute over the checked (untimed) launches of the timed cases,
# caches not flushed (as test/gpu/decode-kernel-times.sh): duration and
# DRAM bytes per kernel.
NCU=$(command -v ncu || ls /usr/local/cuda/bin/ncu 2>/dev/null || true)
if [[ -n $NCU ]]; then
  cases=()
  want step && cases+=(bench_step_b1_bamba bench_step_b64_bamba)
  want attn && cases+=(bench_attn_decode_b1_bamba_pos560 bench_attn_decode_b64_bamba_pos560)
  for c in "${cases[@]}"; do
    for which in new old; do
      bin=$BIN
      if [[ $which == old ]]; then
        [[ -n $OLD && -x $OLD ]] || continue
        bin=$OLD
      fi
      timeout 25 "$NCU" --cache-control none --clock-control base \
        --metrics gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum \
        --launch-count 6 --csv "$bin" --no-primitives --bench "=$c" \
        > "$LOG/ncu.csv.tmp" 2>> "$LOG/ncu.err"
      grep -E '^"[0-9]' "$LOG/ncu.csv.tmp" | awk -F'","' -v w="$which" -v c="$c" \
        '{ printf "ncu %-4s %-40s %-28s %-26s %s\n", w, c, $5, $(NF-2), $NF }' \
        | tr -d '"' | tee -a "$LOG/ncu.txt"
      rm -f "$LOG/ncu.csv.tmp"
    done
  done
fi
if want step; then
  timeout 60 compute-sanitizer --tool memcheck --print-limit 10 "$BIN" \
    --no-primitives --quick step_ > "$LOG/memcheck_step.log" 2>&1 || status=1
  tail -2 "$LOG/memcheck_step.log"
fi
if want attn; then
  timeout 60 compute-sanitizer --tool memcheck --print-limit 10 "$BIN" \
    --no-primitives attn_decode_b > "$LOG/memcheck_attn.log" 2>&1 || status=1
  tail -2 "$LOG/memcheck_attn.log"
  timeout 60 compute-sanitizer --tool racecheck --print-limit 10 "$BIN" \
    --no-primitives attn_long_decode_splitkv > "$LOG/racecheck_attn.log" 2>&1 || status=1
  tail -2 "$LOG/racecheck_attn.log"
fi
echo "decode_seq_check: $([[ $status == 0 ]] && echo PASS || echo FAIL)"
exit $status
