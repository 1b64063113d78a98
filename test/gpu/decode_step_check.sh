#!/usr/bin/env bash
# On an NVIDIA machine: mamba2_step (issue 9) alone -- the `step_` cases
# against the CPU reference, the timed bamba-1.5b cases (B = 1 and 64, rows
# and l2Prefetch variants) of BIN and of OLD (a build of the previous tree)
# interleaved new/old/new, memcheck over the small step cases, then Nsight
# Compute over the checked launches of the two main timed cases.
#
# usage: test/gpu/decode_step_check.sh [LOGDIR]
#   BIN (default build/hssd/gpu-seq/sequence_kernels_test), OLD (optional)
set -uo pipefail
BIN=${BIN:-build/hssd/gpu-seq/sequence_kernels_test}
OLD=${OLD:-}
LOG=${1:-${OUT:-/tmp}/decode-step}
mkdir -p "$LOG"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm \
  --format=csv > "$LOG/gpu.txt" 2>&1
cat "$LOG/gpu.txt"
status=0
run() { # NAME TIMEOUT BIN ARGS...
  local name=$1 limit=$2 bin=$3
  shift 3
  timeout "$limit" "$bin" "$@" > "$LOG/$name.log" 2>&1 || status=1
  grep -E "^(step_|bench_|[0-9]+ cases)|FAIL|error" "$LOG/$name.log"
}
run step 60 "$BIN" --no-primitives step_
run bench_new 45 "$BIN" --no-primitives --bench bench_step
if [[ -n $OLD && -x $OLD ]]; then
  run bench_old 45 "$OLD" --no-primitives --bench bench_step
  run bench_new2 45 "$BIN" --no-primitives --bench bench_step
fi
timeout 60 compute-sanitizer --tool memcheck --print-limit 10 "$BIN" \
  --no-primitives --quick step_ > "$LOG/memcheck_step.log" 2>&1 || status=1
tail -2 "$LOG/memcheck_step.log"
NCU=$(command -v ncu || ls /usr/local/cuda/bin/ncu 2>/dev/null || true)
if [[ -n $NCU ]]; then
  for c in bench_step_b64_bamba bench_step_b1_bamba; do
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
        '{ printf "ncu %-4s %-28s %-28s %-26s %s\n", w, c, $5, $(NF-2), $NF }' \
        | tr -d '"' | tee -a "$LOG/ncu.txt"
      rm -f "$LOG/ncu.csv.tmp"
    done
  done
fi
echo "decode_step_check: $([[ $status == 0 ]] && echo PASS || echo FAIL)"
exit $status
