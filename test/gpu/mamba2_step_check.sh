#!/usr/bin/env bash
# On an NVIDIA machine: the mamba2_step cases of the sequence-family test
# (both kernels against the CPU reference, three or more decode steps each),
# the ssd_scan cases beside them, the timed decode steps (mamba2_step and
# the ssd_scan decode it replaces, bamba-1.5b), then compute-sanitizer
# memcheck and racecheck over the quick mamba2_step cases.
#
# usage: test/gpu/mamba2_step_check.sh [LOGDIR]
#   BIN: the test binary (default build/kseq/gpu-seq/sequence_kernels_test;
#        tests/seq/sequence_kernels_test in a pack of scripts/gpu-prepare.sh)
set -uo pipefail
BIN=${BIN:-build/kseq/gpu-seq/sequence_kernels_test}
LOG=${1:-${OUT:-/tmp}/mamba2-step}
mkdir -p "$LOG"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm \
  --format=csv > "$LOG/gpu.txt" 2>&1
cat "$LOG/gpu.txt"
status=0
run() { # NAME ARGS...
  local name=$1
  shift
  timeout 90 "$BIN" "$@" > "$LOG/$name.log" 2>&1 || status=1
  grep -E "^(step_|ssd_|bench_|timed|case|[0-9]+ cases)|FAIL|error" "$LOG/$name.log"
}
run step --no-primitives step_
run bench_step --no-primitives --bench bench_step
run bench_ssd --no-primitives --bench bench_ssd_decode
run ssd --no-primitives ssd_
timeout 60 compute-sanitizer --tool memcheck --print-limit 10 "$BIN" \
  --no-primitives --quick step_ > "$LOG/memcheck.log" 2>&1 || status=1
tail -3 "$LOG/memcheck.log"
timeout 60 compute-sanitizer --tool racecheck --print-limit 10 "$BIN" \
  --no-primitives --quick step_ > "$LOG/racecheck.log" 2>&1 || status=1
tail -3 "$LOG/racecheck.log"
echo "mamba2_step_check: $([[ $status == 0 ]] && echo PASS || echo FAIL)"
exit $status
