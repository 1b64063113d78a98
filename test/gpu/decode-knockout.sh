#!/usr/bin/env bash
# Where a decode step's time goes inside the CUDA graph, which no profiler
# on the lent machine shows (Nsight Compute times kernels one at a time,
# without programmatic dependent launch): the step is timed whole, then
# with each kernel family and each module (one specialization: a GEMM
# shape with its norm kernel, say) left out by BRAID_SKIP_KERNELS
# (runtime/README.md). A left-out run computes garbage; only its time
# means something, and the drop is what those launches cost in the graph.
# bamba-1.5b-sized bundles: 512-token prompts, 64 new tokens, greedy on the
# device, random weights, at B = 1 (ids512.txt) and B = 64 (ids64x512.txt).
# Pack BENCH/ (test/gpu/lib.sh): bin/braid-run, NAME.bundle, ids512.txt,
# ids64x512.txt.
# usage: decode-knockout.sh BENCH[.tgz] LOGDIR NAME   Env: FAMILIES (the
#   strings to leave out besides the modules; default below)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
bench_setup "$1" "$2" decode-knockout
BUNDLE=$BENCH/$3.bundle
FAMILIES=${FAMILIES:-"braid_linear mamba2_step_update mamba2_step_finish \
attention_main rope_main linear_norm greedy embedding"}
# step IDS [SKIP]: ms/step of one generate run.
step() {
  BRAID_SKIP_KERNELS=${2:-} timeout 120 "$BR" generate "$BUNDLE" --backend cuda \
    --random-weights 1 --max-seq 1024 -n 64 --cuda-graph --ids-file "$BENCH/$1" 2>&1 |
    grep -oE '[0-9.]+ ms/step' | tail -1 | cut -d' ' -f1
}
# The decode entry's launches (labels at the first call), per module:
# kernels a step, family, kernel functions, first location.
BRAID_LIST_KERNELS=1 timeout 120 "$BR" generate "$BUNDLE" --backend cuda \
  --random-weights 1 --max-seq 1024 -n 2 --cuda-graph \
  --ids-file "$BENCH/ids64x512.txt" 2> "$LOG/labels.txt" > /dev/null
grep -E '^braid cuda: decode(_greedy)?: launch ' "$LOG/labels.txt" |
  sed -E 's/^braid cuda: [a-z_]+: launch [0-9]+ \(([a-z_0-9]+)( at ([^)]*))?\), kernel .([a-z_0-9]+).* of module (k[0-9a-f]+).*/\5 \1 \4 \3/' |
  awk '{ n[$1]++; fam[$1] = $2; if (index(fn[$1] " ", " " $3 " ") == 0) fn[$1] = fn[$1] " " $3;
         if (!($1 in loc)) loc[$1] = ($4 == "" ? "model" : $4) }
       END { for (m in n) printf "%s %d %s%s (first at %s)\n", m, n[m], fam[m], fn[m], loc[m] }' |
  sort > "$LOG/modules.txt"
{
  echo "modules of the decode step (module, kernels a step, family, functions):"
  cat "$LOG/modules.txt"
  for ids in ids64x512.txt ids512.txt; do
    b=B64; [[ $ids == ids512.txt ]] && b=B1
    base=$(step "$ids")
    echo "== $b: the whole step $base ms, $(step "$ids") ms"
    printf '%-22s %10s %10s\n' "left out" "ms/step" "drop"
    for k in $FAMILIES $(cut -d' ' -f1 "$LOG/modules.txt"); do
      ms=$(step "$ids" "$k")
      printf '%-22s %10s %10s\n' "$k" "$ms" \
        "$(awk -v a="$base" -v b="$ms" 'BEGIN { if (b != "") printf "%.3f", a - b }')"
    done
    echo "the whole step again: $(step "$ids") ms"
  done
} 2>&1 | tee "$LOG/summary.txt"
