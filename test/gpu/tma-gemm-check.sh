#!/usr/bin/env bash
# The TMA prefill GEMM (GemmHopper.cuh tmaGemm) on the lent GPU, in one call:
#   1. the dense harness's linear cases (the sm_90a plans now load through
#      tensor maps) against the CPU reference, then under compute-sanitizer
#      memcheck on the small shapes;
#   2. the prefill GEMMs at M = 4096: the plan (TMA) next to the
#      alternatives compiled into the harness (wgGemm, the plan before it;
#      wsGemm with cp.async) and cuBLAS through torch;
#   3. bamba-1.5b prefill end to end (random weights, 4000 tokens: a partial
#      last row tile) with a bundle of the code before (base) and each
#      bundle to compare: logits against base's (rel-L2 per position's
#      row, argmax agreement) and the profiled time per kernel family.
#
# usage: test/gpu/tma-gemm-check.sh DENSE_DIR BENCH_PACK OUT [NAME...]
#   DENSE_DIR: build_dense_kernels_test.sh's output (dense_kernels_test,
#   cases/); BENCH_PACK: braid-run, base.bundle, NAME.bundle for each NAME
#   (default: tma), ids4000.txt.
set -uo pipefail
export PATH=$PATH:/usr/local/cuda/bin
cd "$(dirname "$0")/../.."
DENSE=$1 PACK=$2 OUT=$3
shift 3
NAMES=("${@:-tma}")
mkdir -p "$OUT"
status=0
BIN=$DENSE/dense_kernels_test

timeout 150 "$BIN" "$DENSE/cases" --filter linear --no-bench --log "$OUT/linear.log" \
  > /dev/null 2>&1 || status=1
grep -E "^linear|runs,|FAIL" "$OUT/linear.log" | head -20
timeout 150 compute-sanitizer --tool memcheck --print-limit 10 "$BIN" "$DENSE/cases" \
  --filter linear --no-bench --small > "$OUT/memcheck.log" 2>&1 || status=1
grep -E "ERROR SUMMARY|runs," "$OUT/memcheck.log" | tail -2

timeout 200 "$BIN" "$DENSE/cases" --bench-only --prefill-gemm-only --log "$OUT/bench.log" \
  > /dev/null 2>&1 || status=1
grep -E "BENCH|^  " "$OUT/bench.log" | head -80
timeout 90 python3 test/gpu/bench_torch_gemm.py > "$OUT/torch.log" 2>&1 || status=1
cat "$OUT/torch.log"

run() { # bundle name
  "$PACK/braid-run" run "$PACK/$1" --backend cuda --random-weights 1 \
    --ids-file "$PACK/ids4000.txt" --max-seq 4096 --save-logits "$OUT/$2.safetensors" \
    > "$OUT/$2.run.log" 2>&1 || status=1
  BRAID_PROFILE="$OUT/$2.profile.json" "$PACK/braid-run" run "$PACK/$1" --backend cuda \
    --random-weights 1 --ids-file "$PACK/ids4000.txt" --max-seq 4096 --repeat 3 \
    > "$OUT/$2.repeat.log" 2>&1 || status=1
  grep -E "median|fastest" "$OUT/$2.repeat.log"
}
run base.bundle base
for n in "${NAMES[@]}"; do run "$n.bundle" "$n"; done
python3 - "$OUT" "${NAMES[@]}" <<'EOF' || status=1
import json, sys
from safetensors.torch import load_file
out, names = sys.argv[1], sys.argv[2:]
a = load_file(f"{out}/base.safetensors")["logits"].float()
worst = 0.0
for name in names:
    b = load_file(f"{out}/{name}.safetensors")["logits"].float()
    rel = ((a - b).norm(dim=-1) / a.norm(dim=-1)).flatten()
    same = (a.argmax(-1) == b.argmax(-1)).float().mean().item()
    worst = max(worst, rel.max().item())
    print(f"{name} against base, logits {tuple(a.shape)}: rel-L2 per position max "
          f"{rel.max():.3e} median {rel.median():.3e}; argmax equal at "
          f"{100 * same:.2f}% of positions")
import statistics
for name in ["base"] + names:  # per family, the median over the later calls
    p = json.load(open(f"{out}/{name}.profile.json"))
    calls = [c for c in p["calls"] if c["entry"] == "prefill" and not c["graph"]][1:]
    keep = {c["call"] for c in calls}
    fam = {}
    for k in p["kernels"]:
        if k["call"] in keep:
            t = fam.setdefault(k["family"], {})
            t[k["call"]] = t.get(k["call"], 0.0) + k["ms"]
    fam = {f: statistics.median(v.values()) for f, v in fam.items()}
    total = statistics.median(c["ms"] for c in calls)
    print(f"{name}: prefill {total:.2f} ms (profiled), linear {fam.get('linear', 0):.2f} ms, "
          + ", ".join(f"{f} {v:.2f}" for f, v in sorted(fam.items(), key=lambda x: -x[1])[:6]))
if worst > 2e-2:
    sys.exit(1)
EOF
exit $status
