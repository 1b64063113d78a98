#!/usr/bin/env bash
# Per-kernel time and DRAM traffic of one decode step of bamba-1.5b under
# Nsight Compute (kernels serialized, one at a time, clocks left alone,
# caches not flushed), to find which kernels run below the copy rate.
# The pack is a bench pack (test/gpu/lib.sh): bin/braid-run, NAME.bundle,
# ids512.txt and ids64x512.txt (as decode-ab.sh's; a B other than 1 and 64
# takes its first B prompts; an older pack's ids512x64.txt is taken too).
# usage: decode-kernel-times.sh PACK[.tgz] LOGDIR [BATCH ...]   (default 1 64)
# Env: NAME (the bundle, default bamba15).
# Writes LOGDIR/ncu-B<batch>.csv (ncu's raw page) and prints the table of
# test/gpu/ncu_step_table.py for the last decode step.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
bench_setup "$1" "$2" ktimes
shift 2
export PATH=$PATH:/usr/local/cuda/bin
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | tail -1)
[[ -n $NCU ]] || { echo "no ncu on this machine"; exit 2; }
status=0
for B in "${@:-1 64}"; do
  for b in $B; do
    ids=$BENCH/ids512.txt
    if [[ $b != 1 ]]; then
      many=$BENCH/ids64x512.txt
      [[ -f $many ]] || many=$BENCH/ids512x64.txt
      ids=$LOG/ids$b.txt
      head -n "$b" "$many" > "$ids"
    fi
    timeout 300 "$NCU" --clock-control none --cache-control none \
      --graph-profiling node --csv --page raw --print-units base \
      --metrics gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum,launch__grid_size,launch__block_size \
      --log-file "$LOG/ncu-B$b.csv" \
      "$BR" generate "$BENCH/${NAME:-bamba15}.bundle" --backend cuda --random-weights 1 \
      --max-seq 1024 -n 3 --ids-file "$ids" > "$LOG/generate-B$b.log" 2>&1 ||
      status=1
    echo "== B = $b"
    python3 "$HERE/ncu_step_table.py" "$LOG/ncu-B$b.csv" || status=1
  done
done
exit $status
