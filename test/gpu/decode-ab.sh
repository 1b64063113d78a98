#!/usr/bin/env bash
# A/B of decode step time between bundles on one GPU: bamba-1.5b bf16
# (random weights drawn on the GPU), 512-token prompts, 64 new tokens,
# greedy on the device, CUDA graph, at each batch of BATCHES (default
# "1 64": ids512.txt and ids64x512.txt, 64 distinct prompts; another B <= 64
# takes the first B prompts of ids64x512.txt); the bundles run alternately,
# REPS times, and each run's rows are kept (LOG/B<b>-<bundle>-<rep>.rows) so
# that the bundles' tokens can be compared. Mid-size batches matter: the
# skinny decode GEMM once made B = 16 slower a step than B = 64
# (docs/benchmarks.md, session 14).
# Pack BENCH/ (test/gpu/lib.sh): bin/braid-run, NAME.bundle for every NAME,
# ids512.txt, ids64x512.txt.
# usage: decode-ab.sh BENCH[.tgz] LOGDIR NAME...
# Env: REPS (default 2), BATCHES (default "1 64").
set -uo pipefail
. "$(dirname "$0")/lib.sh"
bench_setup "$1" "$2" decode-ab
shift 2
BATCHES=${BATCHES:-1 64}
# The prompt file of batch $1.
idsFor() {
  case $1 in
  1) echo "$BENCH/ids512.txt" ;;
  64) echo "$BENCH/ids64x512.txt" ;;
  *)
    head -n "$1" "$BENCH/ids64x512.txt" > "$LOG/ids$1.txt"
    echo "$LOG/ids$1.txt"
    ;;
  esac
}
for batch in $BATCHES; do
  if ! [[ $batch =~ ^[0-9]+$ ]] || ((batch < 1 || batch > 64)); then
    echo "decode-ab: BATCHES: '$batch' is not a batch of 1 to 64 prompts" >&2
    exit 2
  fi
done
{
  for r in $(seq "${REPS:-2}"); do
    for batch in $BATCHES; do
      b=B$batch
      ids=$(idsFor "$batch")
      for n in "$@"; do
        out=$(timeout 60 "$BR" generate "$BENCH/$n.bundle" --backend cuda --random-weights 1 \
          --max-seq 1024 -n 64 --cuda-graph --ids-file "$ids" 2>&1)
        rc=$?
        echo "$out" > "$LOG/$b-$n-$r.log"
        grep "generated:" <<< "$out" > "$LOG/$b-$n-$r.rows"
        printf '%-4s %-24s rep %s rc=%s %s\n' "$b" "$n" "$r" "$rc" \
          "$(grep -oE '[0-9.]+ ms/step, [0-9.]+ tokens/s' <<< "$out" | tail -1)"
      done
    done
  done
  for batch in $BATCHES; do
    b=B$batch
    for n in "${@:2}"; do
      echo "$b $1 vs $n (rep 1): $(paste -d'|' "$LOG/$b-$1-1.rows" "$LOG/$b-$n-1.rows" |
        awk -F'|' '$1 == $2' | wc -l) of $(wc -l < "$LOG/$b-$1-1.rows") rows equal"
    done
  done
} 2>&1 | tee "$LOG/summary.txt"
