#!/usr/bin/env bash
# On an NVIDIA machine: the ssd_scan prefill check of issue 8. Every ssd_
# case of the sequence-family test against the CPU reference (f32 and bf16,
# ragged T, two groups, initial states, the grouped output pass and the
# per-head one it replaces, the chunk-state variants), the timed shapes
# (B=4 S=4096 and B=1 S=16384 at H64 P64 N128 L256, old and new splits in
# the same run, per kernel), the mamba_ssm Triton peer when it is
# installed, the mamba2_step cases (the decode step shares ssdDtLimits),
# then compute-sanitizer memcheck and racecheck over the quick ssd_ cases.
#
# usage: test/gpu/ssd_prefill_check.sh [LOGDIR]
#   BIN: the test binary (default build/kseq/gpu-seq/sequence_kernels_test;
#        tests/seq/sequence_kernels_test in a pack of scripts/gpu-prepare.sh)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
seq_setup "${1:-${OUT:-/tmp}/ssd-prefill}"
run() { seq_run "ssd_|step_|bench_" "$@"; } # NAME LIMIT ARGS...
run bench_ssd 100 --no-primitives --bench bench_ssd_
run ssd 60 ssd_
run step 30 --no-primitives step_
PYTHONUNBUFFERED=1 timeout 30 python3 test/gpu/bench_mamba_ssd.py \
  > "$LOG/mamba_ssm.log" 2>&1
tail -4 "$LOG/mamba_ssm.log"
timeout 40 compute-sanitizer --tool memcheck --print-limit 10 "$BIN" \
  --no-primitives --quick ssd_ > "$LOG/memcheck.log" 2>&1 || status=1
tail -3 "$LOG/memcheck.log"
timeout 60 compute-sanitizer --tool racecheck --print-limit 10 "$BIN" \
  --no-primitives --quick ssd_ > "$LOG/racecheck.log" 2>&1 || status=1
tail -3 "$LOG/racecheck.log"
echo "ssd_prefill_check: $([[ $status == 0 ]] && echo PASS || echo FAIL)"
exit $status
