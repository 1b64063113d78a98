#!/usr/bin/env bash
# The warp-specialized prefill GEMM (GemmHopper.cuh wsGemm) on an H100 /
# H200, from a pack made by the lines below:
#   1. dense_kernels_test against the CPU reference on the bf16 prefill
#      linears that the sm_90a plan runs on wgGemm 128 x 256 (plain, bias,
#      residual, split pieces, GLU both gate orders, N = 2056 and K = 136
#      tails, the six bamba-1.5b shapes; M = 74, 1, 300 and 4500 for the
#      small ones), run on the warp-specialized engine instead: one block
#      per tile (casesws), persistent (caseswsp), ping-pong (caseswspp);
#   2. --bench-only --prefill-gemm-only: the plan (wgGemm 128 x 256 s4) and
#      the alternatives (ws one block per tile, the same with setmaxnreg
#      40 / 232 as first measured, persistent, s3, 128 x 128, ping-pong
#      last) at the six shapes and M = 4096, each alternative
#      checked against the plan's result and printed when measured; then the
#      plan at M = 4095, 1000, 130 (sampled rows, the last one included,
#      against a host dot product) with the ws schedules checked against it;
#   3. cuBLAS through torch at M = 4096 (bench_torch_gemm.py --prefill);
#   4. a summary: TFLOP/s per shape, plan / best alternative / cuBLAS.
# Pack (on the build machine, no GPU needed):
#   BUILD=build/X test/gpu/build_dense_kernels_test.sh build/X/gpu-dense
#   test/gpu/gemm-ws-check.sh --pack build/X/gpu-dense PACK   (PACK.tgz too)
# usage: gemm-ws-check.sh PACK LOGDIR   (give it 300 s)
set -uo pipefail
if [[ "${1:-}" == "--pack" ]]; then
  # PACK/dense/{dense_kernels_test, cases*/{cases.txt, k*.cu, sm_90a/*.cubin}}
  set -e
  SRC=$2 PACK=$3
  rm -rf "$PACK" && mkdir -p "$PACK/dense"
  cp "$SRC/dense_kernels_test" "$PACK/dense/"
  for sub in cases casesws caseswsp caseswspp; do
    mkdir -p "$PACK/dense/$sub/sm_90a"
    cp "$SRC/$sub/cases.txt" "$SRC/$sub"/k*.cu "$PACK/dense/$sub/"
    cp "$SRC/$sub"/sm_90a/*.cubin "$PACK/dense/$sub/sm_90a/"
  done
  tar czf "$PACK.tgz" -C "$PACK" dense
  echo "packed $PACK.tgz ($(du -h "$PACK.tgz" | cut -f1))"
  exit 0
fi
export PATH=$PATH:/usr/local/cuda/bin
PACK=$1
LOG=$2
BIN=$PACK/dense/dense_kernels_test
mkdir -p "$LOG"
status=0
SECONDS=0
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv \
  > "$LOG/gpu.txt" 2>&1
cat "$LOG/gpu.txt"
for sub in casesws caseswsp caseswspp; do
  timeout 50 "$BIN" "$PACK/dense/$sub" --filter linear --no-bench \
    > "$LOG/dense-$sub-linear.log" 2>&1
  rc=$?
  [[ $rc == 0 ]] || status=1
  echo "dense $sub linear: rc=$rc $(grep -E '^[0-9]+ runs, [0-9]+ failed' "$LOG/dense-$sub-linear.log" | tail -1) (${SECONDS}s)"
done
timeout 110 "$BIN" "$PACK/dense/cases" --bench-only --prefill-gemm-only \
  > "$LOG/dense-bench.log" 2>&1 || status=1
echo "bench: done (${SECONDS}s)"
timeout 30 python3 test/gpu/bench_torch_gemm.py --prefill > "$LOG/torch.log" 2>&1 || status=1
echo "torch: done (${SECONDS}s)"
grep -h "FAIL" "$LOG"/dense-*.log | head -20
grep -hE "DIFFERS|failed the sampled|NONFINITE|^  alt check" "$LOG/dense-bench.log" | head -40
grep -HE "^linear bf16" "$LOG"/dense-cases*-linear.log
python3 - "$LOG/dense-bench.log" "$LOG/torch.log" <<'PY'
import re, sys
torch = {}
for line in open(sys.argv[2]):
    m = re.match(r"TORCH M=4096 +N=(\d+) +K=(\d+) +\S+ ms +([\d.]+) TFLOP/s", line)
    if m:
        torch[(m.group(1), m.group(2))] = float(m.group(3))
rows, cur = [], None
for line in open(sys.argv[1]):
    m = re.match(r"BENCH prefill M=(\d+) +N=(\d+) +K=(\d+) +plan (\S+) +[\d.]+ ms +([\d.]+) TFLOP/s .*sampled relL2 (\S+)(.*)", line)
    if m:
        cur = {"M": m.group(1), "N": m.group(2), "K": m.group(3), "plan": float(m.group(5)),
               "rel": m.group(6) + m.group(7).strip(), "alts": {}}
        rows.append(cur)
        continue
    a = re.match(r"  alt (.+?) +[\d.]+ ms +([\d.]+) TFLOP/s .*vs plan relL2 (\S+)", line)
    if a and cur:
        ok = a.group(3) != "inf" and float(a.group(3)) < 1e-2
        cur["alts"][a.group(1)] = (float(a.group(2)), ok)
print("M N K | plan (wgGemm) | ws 128x256 s4 | best alternative | cuBLAS | plan/cuBLAS | best/cuBLAS | sampled relL2")
for r in rows:
    old = r["alts"].get("ws 128x256 s4", (0, True))
    best = max(r["alts"].items(), key=lambda kv: kv[1][0]) if r["alts"] else ("-", (0, True))
    cb = torch.get((r["N"], r["K"]), 0)
    bad = [k for k, v in r["alts"].items() if not v[1]]
    print(f'{r["M"]} {r["N"]} {r["K"]} | {r["plan"]:.1f} | {old[0]:.1f} | {best[0]} {best[1][0]:.1f} '
          f'| {cb:.1f} | {r["plan"] / cb if cb and r["M"] == "4096" else 0:.3f} '
          f'| {best[1][0] / cb if cb and r["M"] == "4096" else 0:.3f} | {r["rel"]}'
          + (f' | differ from plan: {", ".join(bad)}' if bad else ""))
PY
grep -E "^TORCH|^device" "$LOG/torch.log"
exit $status
