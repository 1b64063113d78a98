#!/usr/bin/env bash
# On an NVIDIA sm_90 machine: the wgmma attention prefill check of issue 8
# (AttentionHopper.cuh). Every attention case of the sequence-family test
# against the CPU reference (the attn_wg_ cases run the wgmma kernel: bf16
# cache at ragged starts then decode on the cache it appended, a prefill in
# two chunks, GQA / MHA / non-causal, every schedule), the timed prefill
# shapes in one run (checked against the CPU at S = 4096) -- B1 H32 S4096,
# B4 H16 S4096, bamba-1.5b H16/KV8 at S = 4096 (with and without the bf16
# cache) and 16384 -- on the wgmma kernel (ping-pong on mbarriers, in
# lockstep, and side by side) and the mma.sync kernel, the PyTorch SDPA
# flash / cuDNN peers at the same shapes, then compute-sanitizer memcheck
# over the small attn_wg_ cases.
#
# usage: test/gpu/attn_prefill_check.sh [LOGDIR]
#   BIN: the test binary (default build/kseq/gpu-seq/sequence_kernels_test;
#        tests/seq/sequence_kernels_test in a pack of scripts/gpu-prepare.sh)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
seq_setup "${1:-${OUT:-/tmp}/attn-prefill}"
run() { seq_run "attn_|bench_" "$@"; } # NAME LIMIT ARGS...
run attn 60 --no-primitives attn_
# Checked against the CPU at S = 4096 (bamba, no cache: every variant);
# then every timed prefill shape without the CPU (S = 16384 would take it
# longer than the GPU run).
run bench_checked 60 --no-primitives --bench bench_attn_prefill_bamba_s4096
# (about 70 s on an H100 with the lockstep cases: the table prints at the end)
run bench 180 --no-primitives --bench --no-check-bench bench_attn_prefill_
PYTHONUNBUFFERED=1 timeout 45 python3 test/gpu/bench_sdpa.py \
  > "$LOG/sdpa.log" 2>&1
cat "$LOG/sdpa.log"
timeout 40 compute-sanitizer --tool memcheck --print-limit 10 "$BIN" \
  --no-primitives attn_wg_ > "$LOG/memcheck.log" 2>&1 || status=1
tail -3 "$LOG/memcheck.log"
echo "attn_prefill_check: $([[ $status == 0 ]] && echo PASS || echo FAIL)"
exit $status
