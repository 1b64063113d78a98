# Shared by the test/gpu check scripts that run braid-run on a bench pack
# (source it: `. "$(dirname "$0")/lib.sh"`).

# bench_setup PACK[.tgz] LOGDIR TAG: makes LOGDIR, unpacks a .tgz pack under
# /tmp/braid-TAG (the pack's one top folder), and sets BENCH (the pack
# folder), BR (its braid-run) and LOG; writes the card to LOG/card.txt.
bench_setup() {
  BENCH=$1
  LOG=$2
  mkdir -p "$LOG"
  if [[ $BENCH == *.tgz ]]; then
    rm -rf "/tmp/braid-$3" && mkdir -p "/tmp/braid-$3"
    tar -C "/tmp/braid-$3" -xzf "$BENCH" || exit 2
    BENCH=$(ls -d "/tmp/braid-$3"/*/ | head -1)
    BENCH=${BENCH%/}
  fi
  BR=$BENCH/bin/braid-run
  nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader |
    tee "$LOG/card.txt"
}

# rows_equal A B: "A vs B: N of M rows equal" over LOG/A.rows and LOG/B.rows
# (one "generated:" line per sequence).
rows_equal() {
  echo "$1 vs $2: $(paste -d'|' "$LOG/$1.rows" "$LOG/$2.rows" |
    awk -F'|' '$1 == $2' | wc -l) of $(wc -l < "$LOG/$1.rows") rows equal"
}
