#!/usr/bin/env bash
# The decode GEMMs' variants by rows (skinny kernel for B*T <= 16, tensor
# cores above) on a GPU, from a pack made by the lines below:
#   1. bamba-1.5b bf16 decode, CUDA graph, B = 64 and B = 1: this bundle
#      (bamba) and, when present, one from a braidc before the change
#      (bamba-base);
#   2. dense_kernels_test on the linear and merge (concat_proj) cases:
#      decode plans at B = 1, 3, 16, 17, 33, 64, 128 against the CPU reference;
#   3. its bf16 GEMM timings (decode plans at M = 1, 17, 32, 64, 128).
# Env: CASES (default "cases cases80"), DENSE_TIMEOUT, BENCH_TIMEOUT (s).
# Pack (on the build machine):
#   BUILD=build/X test/gpu/build_dense_kernels_test.sh build/X/gpu-dense
#   PACK/dense/{dense_kernels_test,cases/,cases80/} (cases.txt + sm_90a/*.cubin),
#   PACK/bin/braid-run, PACK/bamba.bundle (braidc ../shared/configs/bamba-1.5b.json
#   --target=cuda:sm_90a --dtype=bf16), optional PACK/bamba-base.bundle.
# usage: decode-rows-check.sh PACK LOGDIR
set -uo pipefail
PACK=$1
LOG=$2
mkdir -p "$LOG"
status=0
python3 - "$LOG" <<'PY'
import random, sys
random.seed(8)
for b in (64, 1):
    with open(f"{sys.argv[1]}/ids{b}.txt", "w") as f:
        for _ in range(b):
            f.write(",".join(str(random.randrange(1, 30000)) for _ in range(512)) + "\n")
PY
for bundle in bamba bamba-base; do
  [[ -f $PACK/$bundle.bundle ]] || continue
  for b in 64 1; do
    out=$("$PACK/bin/braid-run" generate "$PACK/$bundle.bundle" --backend cuda \
      --random-weights 1 --max-seq 1024 -n 64 --cuda-graph \
      --ids-file "$LOG/ids$b.txt" 2>&1)
    rc=$?
    echo "$out" > "$LOG/generate-$bundle-B$b.log"
    echo "$bundle B=$b rc=$rc: $(echo "$out" | grep -oE '[0-9.]+ ms/step' | tail -1)"
    [[ $rc == 0 ]] || status=1
  done
done
for c in ${CASES:-cases cases80}; do
  [[ -f $PACK/dense/$c/cases.txt ]] || continue
  for f in linear merge; do
    timeout "${DENSE_TIMEOUT:-150}" "$PACK/dense/dense_kernels_test" "$PACK/dense/$c" --filter "$f" \
      --no-bench > "$LOG/dense-$c-$f.log" 2>&1 || status=1
    echo "dense $c $f: $(grep -E '^[0-9]+ runs, [0-9]+ failed' "$LOG/dense-$c-$f.log" | tail -1)"
  done
done
grep -h "FAIL" "$LOG"/dense-*.log | head -20
timeout "${BENCH_TIMEOUT:-120}" "$PACK/dense/dense_kernels_test" "$PACK/dense/cases" --bench-only \
  > "$LOG/dense-bench.log" 2>&1
grep -E "^BENCH (decode|prefill)" "$LOG/dense-bench.log"
exit $status
