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

# The sequence-family checks (sequence_kernels_test on the lent GPU).
# seq_setup LOGDIR: sets BIN (default build/kseq/gpu-seq/sequence_kernels_test;
# tests/seq/sequence_kernels_test in a pack of scripts/gpu-prepare.sh), LOG
# and status=0, and writes the card to LOG/gpu.txt.
seq_setup() {
  BIN=${BIN:-build/kseq/gpu-seq/sequence_kernels_test}
  LOG=$1
  mkdir -p "$LOG"
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm \
    --format=csv > "$LOG/gpu.txt" 2>&1
  cat "$LOG/gpu.txt"
  status=0
}
# seq_run PREFIXES NAME LIMIT ARGS...: runs BIN ARGS with a time limit into
# LOG/NAME.log (a failure sets status=1) and prints its summary lines: those
# of the cases whose names start with PREFIXES ("attn_|bench_", an ERE
# alternation), the timed table and any failure.
seq_run() {
  local prefixes=$1 name=$2 limit=$3
  shift 3
  timeout "$limit" "$BIN" "$@" > "$LOG/$name.log" 2>&1 || status=1
  grep -E "^($prefixes|timed|case|device|[0-9]+ cases)|FAIL|error" "$LOG/$name.log"
}
