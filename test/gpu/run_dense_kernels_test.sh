#!/usr/bin/env bash
# Runs the dense-family GPU test on an NVIDIA machine from a tree built by
# build_dense_kernels_test.sh: each family in its own process (a fault in one
# cannot hide the others; a family that crashes is rerun under
# compute-sanitizer memcheck), then the GEMM timings next to cuBLAS (torch).
#
# usage: test/gpu/run_dense_kernels_test.sh [DIR] [LOGDIR]
#   DIR: the build output (default build/kdense/gpu-dense); LOGDIR: where the
#   logs go (default DIR/logs).
set -uo pipefail
export PATH=$PATH:/usr/local/cuda/bin
cd "$(dirname "$0")/../.."
DIR=${1:-build/kdense/gpu-dense}
LOG=${2:-$DIR/logs}
mkdir -p "$LOG"
BIN=$DIR/dense_kernels_test
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv > "$LOG/gpu.txt" 2>&1
status=0
: > "$LOG/test.log"
# cases: the sm_90a plans (wgmma GEMMs); cases80: the sm_80 plans of the
# GEMM families (mma.sync), built for sm_90a; casesws*: the wide bf16
# prefill linears on the warp-specialized engine (GemmHopper.cuh).
runs="cases:linear cases:moe cases:activation cases:add cases:mul cases:scale
cases:rms_norm cases:layer_norm cases:gated_rms_norm cases:rope cases:embedding
cases:split cases:concat cases:merge cases:causal_conv1d cases80:linear
cases80:merge cases80:moe casesws:linear caseswsp:linear caseswspp:linear"
for run in $runs; do
  sub=${run%%:*} fam=${run#*:}
  [[ -f "$DIR/$sub/cases.txt" ]] || continue
  timeout 60 "$BIN" "$DIR/$sub" --filter "$fam" --no-bench --log "$LOG/$fam.tmp" > /dev/null 2>&1
  rc=$?
  sed "s/^/[$sub] /" "$LOG/$fam.tmp" >> "$LOG/test.log"; rm -f "$LOG/$fam.tmp"
  echo "family $sub:$fam: exit $rc" | tee -a "$LOG/test.log"
  if [[ $rc -ne 0 ]]; then
    status=1
    if [[ $rc -ge 2 ]] && command -v compute-sanitizer >/dev/null; then
      echo "== $sub:$fam" >> "$LOG/sanitizer.log"
      timeout 100 compute-sanitizer --tool memcheck --print-limit 20 "$BIN" "$DIR/$sub" \
        --filter "$fam" --no-bench >> "$LOG/sanitizer.log" 2>&1
    fi
  fi
done
# The summary table of every family.
grep -E "^\[[a-z0-9]+\] ([a-z_0-9]+ (f32|bf16) |family / type)" "$LOG/test.log" > "$LOG/summary.txt"
timeout 240 "$BIN" "$DIR/cases" --bench-only --log "$LOG/bench.log" > /dev/null 2>&1 || status=1
timeout 120 python3 test/gpu/bench_torch_gemm.py > "$LOG/torch.log" 2>&1 || status=1
# compute-sanitizer memcheck over the small cases of every family (and the
# sm_80 GEMM plans): out-of-bounds or misaligned accesses that the value
# comparison cannot see. The last step, so that it cannot crowd out the rest.
if command -v compute-sanitizer >/dev/null; then
  SECONDS=0
  for run in $runs; do
    sub=${run%%:*} fam=${run#*:}
    (( SECONDS > 200 )) && { echo "memcheck: out of time before $sub:$fam" >> "$LOG/sanitizer.log"; break; }
    timeout 90 compute-sanitizer --tool memcheck --print-limit 10 "$BIN" "$DIR/$sub" \
      --filter "$fam" --no-bench --small > "$LOG/san.tmp" 2>&1
    rc=$?
    echo "memcheck $sub:$fam: exit $rc, $(grep -E 'ERROR SUMMARY' "$LOG/san.tmp" | tail -1)" >> "$LOG/sanitizer.log"
    [[ $rc -ne 0 ]] && { status=1; grep -E "=========" "$LOG/san.tmp" | head -40 >> "$LOG/sanitizer.log"; }
  done
  rm -f "$LOG/san.tmp"
fi
grep -E "^family|FAIL" "$LOG/test.log" | head -60
cat "$LOG/sanitizer.log" 2>/dev/null
cat "$LOG/summary.txt" "$LOG/bench.log" "$LOG/torch.log"
exit $status
