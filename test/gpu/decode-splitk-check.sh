#!/usr/bin/env bash
# The split-K decode GEMMs (Gemm.cuh tcGemmSplitK: the k-tiles of a 64 x 64
# tile over a thread-block cluster, SpecializersGemm.cpp
# decodeTensorCoreEngine) on an H100 / H200, from a pack made by the lines
# below:
#   1. --bench-only: bf16 GEMM timings; decode at M = 1, 17, 32, 64, 128 for
#      the plan and the alternatives ("tc 64x64x32 (unsplit)" is the plan
#      before split-K);
#   2. cuBLAS through torch at the same shapes (test/gpu/bench_torch_gemm.py);
#   3. dense_kernels_test against the CPU reference: linear, merge and moe
#      (the tcGemmTile users) of the sm_90a plans (cases: split-K above 16
#      decode rows) and of the sm_80 plans (cases80: the unsplit tiles), then
#      the other families; decode GEMMs at B = 1, 3, 16, 17, 33, 64, 128;
#   4. compute-sanitizer memcheck over the small linear and merge cases.
# Pack (on the build machine):
#   BUILD=build/X test/gpu/build_dense_kernels_test.sh build/X/gpu-dense
#   PACK/dense/{dense_kernels_test, cases/, cases80/} (cases.txt + sm_90a/*.cubin)
# usage: decode-splitk-check.sh PACK LOGDIR   (about 230 s on an H100; give it 300)
set -uo pipefail
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
# Runs one family of one case set; T: its timeout (s).
family() {
  local sub=$1 fam=$2 t=$3
  timeout "$t" "$BIN" "$PACK/dense/$sub" --filter "$fam" --no-bench \
    > "$LOG/dense-$sub-$fam.log" 2>&1
  local rc=$?
  [[ $rc == 0 ]] || status=1
  echo "dense $sub $fam: rc=$rc $(grep -E '^[0-9]+ runs, [0-9]+ failed' "$LOG/dense-$sub-$fam.log" | tail -1) (${SECONDS}s)"
}
timeout 80 "$BIN" "$PACK/dense/cases" --bench-only > "$LOG/dense-bench.log" 2>&1 || status=1
echo "bench: done (${SECONDS}s)"
timeout 45 python3 test/gpu/bench_torch_gemm.py > "$LOG/torch.log" 2>&1 || status=1
echo "torch: done (${SECONDS}s)"
family cases linear 110
# (On an H100: bench ~60 s, torch ~10 s, cases linear ~80 s, cases80 linear
# over 40 s, the rest ~20 s.)
for run in cases:merge cases:moe cases80:linear cases80:merge cases80:moe; do
  (( SECONDS > 230 )) && { echo "out of time before $run"; break; }
  family "${run%%:*}" "${run#*:}" 90
done
for fam in activation add mul scale rms_norm layer_norm gated_rms_norm rope embedding split \
  concat causal_conv1d; do
  (( SECONDS > 245 )) && { echo "out of time before $fam"; break; }
  family cases "$fam" 20
done
if command -v compute-sanitizer > /dev/null; then
  for fam in linear merge; do
    (( SECONDS > 250 )) && { echo "memcheck: out of time before $fam"; break; }
    timeout 20 compute-sanitizer --tool memcheck --print-limit 10 "$BIN" "$PACK/dense/cases" \
      --filter "$fam" --no-bench --small > "$LOG/memcheck-$fam.log" 2>&1
    echo "memcheck $fam: rc=$? $(grep -E 'ERROR SUMMARY' "$LOG/memcheck-$fam.log" | tail -1)"
  done
fi
grep -h "FAIL" "$LOG"/dense-*.log | head -20
grep -hE "^(linear|merge|moe) bf16" "$LOG"/dense-cases-*.log
# Decode timings, compact: per shape and M the plan and the alternatives
# (GB/s; "!" marks an alternative whose result differs from the plan's).
python3 - "$LOG/dense-bench.log" <<'PY'
import re, sys
cur = None
for line in open(sys.argv[1]):
    m = re.match(r"BENCH (\w+) +M=(\d+) +N=(\d+) +K=(\d+) +plan (\S+) +([\d.]+) ms .* ([\d.]+) GB/s +sampled relL2 (\S+)(.*)", line)
    if m:
        cur = m.group(1) == "decode" and int(m.group(2)) > 1
        if m.group(1) == "decode":
            print(f"\n{m.group(3)}x{m.group(4)} M={m.group(2)}: plan {m.group(5).split('_')[-1]} "
                  f"{m.group(6)} ms {m.group(7)} GB/s relL2 {m.group(8)}{m.group(9).strip()}", end="")
        continue
    a = re.match(r"  alt (.+?) +([\d.]+) ms .* ([\d.]+) GB/s +vs plan relL2 (\S+)", line)
    if a and cur:
        bad = "" if a.group(4) != "inf" and float(a.group(4)) < 1e-2 else "!"
        print(f" | {a.group(1)} {a.group(3)}{bad}", end="")
print()
PY
grep -E "^TORCH|^device" "$LOG/torch.log"
exit $status
