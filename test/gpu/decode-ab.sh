#!/usr/bin/env bash
# A/B of decode step time between bundles on one GPU: bamba-1.5b bf16
# (random weights drawn on the GPU), 512-token prompts, 64 new tokens,
# greedy on the device, CUDA graph, at B = 1 (ids512.txt) and B = 64
# (ids64x512.txt: 64 distinct prompts); the bundles run alternately, REPS
# times, and each run's rows are kept (LOG/<B>-<bundle>-<rep>.rows) so that
# the bundles' tokens can be compared.
# Pack BENCH/ (test/gpu/lib.sh): bin/braid-run, NAME.bundle for every NAME,
# ids512.txt, ids64x512.txt.
# usage: decode-ab.sh BENCH[.tgz] LOGDIR NAME...   Env: REPS (default 2)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
bench_setup "$1" "$2" decode-ab
shift 2
{
  for r in $(seq "${REPS:-2}"); do
    for ids in ids512.txt ids64x512.txt; do
      b=B1; [[ $ids == ids64x512.txt ]] && b=B64
      for n in "$@"; do
        out=$(timeout 60 "$BR" generate "$BENCH/$n.bundle" --backend cuda --random-weights 1 \
          --max-seq 1024 -n 64 --cuda-graph --ids-file "$BENCH/$ids" 2>&1)
        rc=$?
        echo "$out" > "$LOG/$b-$n-$r.log"
        grep "generated:" <<< "$out" > "$LOG/$b-$n-$r.rows"
        printf '%-4s %-24s rep %s rc=%s %s\n' "$b" "$n" "$r" "$rc" \
          "$(grep -oE '[0-9.]+ ms/step, [0-9.]+ tokens/s' <<< "$out" | tail -1)"
      done
    done
  done
  for b in B1 B64; do
    for n in "${@:2}"; do
      echo "$b $1 vs $n (rep 1): $(paste -d'|' "$LOG/$b-$1-1.rows" "$LOG/$b-$n-1.rows" |
        awk -F'|' '$1 == $2' | wc -l) of $(wc -l < "$LOG/$b-$1-1.rows") rows equal"
    done
  done
} 2>&1 | tee "$LOG/summary.txt"
