#!/usr/bin/env bash
# On an NVIDIA machine, from a built test (build_sequence_kernels_test.sh):
# the correctness table with timings, the PyTorch SDPA peers and floors,
# then compute-sanitizer memcheck and racecheck over the small cases.
# Logs go to LOGDIR (default $OUT/seq or /tmp/seq).
#
# usage: test/gpu/run_sequence_gpu.sh [LOGDIR]
set -uo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-build/kseq/gpu-seq/sequence_kernels_test}
LOG=${1:-${OUT:-/tmp}/seq}
mkdir -p "$LOG"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,temperature.gpu,power.draw \
  --format=csv > "$LOG/gpu.txt" 2>&1
cat "$LOG/gpu.txt"
status=0
timeout 300 "$BIN" --bench 2>&1 | tee "$LOG/test.log"
rc=${PIPESTATUS[0]}
if [[ $rc != 0 ]]; then
  status=1
  if [[ $rc != 1 ]]; then
    # A CUDA error (sticky) or a timeout stopped the run: each case alone.
    echo "== case by case (the full run stopped with status $rc)" | tee -a "$LOG/test.log"
    "$BIN" --list | while read -r name dtype; do
      [[ $name == bench_* ]] && continue
      timeout 60 "$BIN" --no-primitives "=$name:$dtype" 2>&1 | grep -E "^  |error|FAIL" \
        | tee -a "$LOG/test.log"
    done
  fi
fi
PYTHONUNBUFFERED=1 timeout 100 python3 test/gpu/bench_sdpa.py 2>&1 | tee "$LOG/sdpa.log"
timeout 100 compute-sanitizer --tool memcheck --print-limit 10 "$BIN" --quick \
  > "$LOG/memcheck.log" 2>&1 || status=1
tail -5 "$LOG/memcheck.log"
timeout 80 compute-sanitizer --tool racecheck --print-limit 10 "$BIN" --quick \
  > "$LOG/racecheck.log" 2>&1 || status=1
tail -5 "$LOG/racecheck.log"
exit $status
