#!/usr/bin/env bash
# Programmatic dependent launch (docs/cuda.md) on an sm_90+ GPU: bamba-1.5b
# bf16 timings with PDL (the default there) and with BRAID_NO_PDL=1, run
# alternately in the same process tree on the same card, then optionally the
# full acceptance run (scripts/gpu-test.sh) with PDL on, and where that fails,
# its goldens again with BRAID_NO_PDL=1 to tell PDL's failures from others.
#
#   decode  512-token prompt, 64 new tokens, CUDA graph, B = 1 and B = 64
#   prefill S = 4096 through generate (prefill_last: no 4096 x 32000 logits
#           copied to the host), -n 2
#
# Pack (on the build machine), BENCH/:
#   bin/braid-run, bamba15.bundle (braidc ../shared/configs/bamba-1.5b.json
#   --target=cuda:sm_90a --dtype=bf16; random weights are drawn on the GPU),
#   ids512.txt, ids4096.txt (build/bench).
# usage: pdl-check.sh BENCH[.tgz] LOGDIR [GPU-PACK.tgz]
# Env: REPS (alternations per shape, default 2), RUN_TIMEOUT (s per braid-run,
#      default 45), BENCH_BUDGET (s after which no timing starts, default 110),
#      TOTAL (s for the whole script, default 280: what is left after the
#      timings goes to gpu-test), GPU_TEST_TIMEOUT (s; overrides that).
set -uo pipefail
cd "$(dirname "$0")/../.."
PACK=${3:-}
. test/gpu/lib.sh
bench_setup "$1" "$2" pdl-bench
B=$BENCH/bamba15.bundle
python3 - "$BENCH" <<'PY'
import sys
rows = open(f"{sys.argv[1]}/ids512.txt").read().split()
with open(f"{sys.argv[1]}/ids512x64.txt", "w") as f:
    f.write("\n".join([rows[0]] * 64) + "\n")
PY
# generate NAME PDL(on|off) IDS MAXSEQ STEPS
run() {
  local name=$1 mode=$2 ids=$3 seq=$4 steps=$5 env=()
  if ((SECONDS > ${BENCH_BUDGET:-110})); then
    echo "$name pdl=$mode: skipped (past BENCH_BUDGET)"
    return
  fi
  [[ $mode == off ]] && env=(BRAID_NO_PDL=1)
  local out
  out=$(env "${env[@]}" timeout "${RUN_TIMEOUT:-45}" "$BR" generate "$B" --backend cuda --random-weights 1 \
    --max-seq "$seq" -n "$steps" --cuda-graph --ids-file "$BENCH/$ids" 2>&1)
  local rc=$?
  echo "$out" >> "$LOG/$name-$mode.log"
  local pdl=no
  [[ $out == *"programmatic dependent launch"* ]] && pdl=yes
  printf '%-10s pdl=%-3s (session says %s) rc=%s  %s | %s\n' "$name" "$mode" "$pdl" "$rc" \
    "$(echo "$out" | grep -oE 'prefill +[0-9]+ x [0-9]+ tokens in [0-9.]+ ms' | tail -1)" \
    "$(echo "$out" | grep -oE '[0-9.]+ ms/step, [0-9.]+ tokens/s' | tail -1)"
  # One digest of every row's tokens per run.
  grep "generated:" <<< "$out" | md5sum | cut -c1-12 >> "$LOG/tokens-$name-$mode.txt"
}
for r in $(seq "${REPS:-2}"); do
  for mode in on off; do run decode-B1 $mode ids512.txt 1024 64; done
  for mode in on off; do run decode-B64 $mode ids512x64.txt 1024 64; done
  for mode in on off; do run prefill-4096 $mode ids4096.txt 4200 2; done
done 2>&1 | tee "$LOG/summary.txt"
# Token digests per run: runs with PDL should agree with those without, and
# runs of one mode with each other (random weights have near-ties, so a
# kernel that is not deterministic shows here too, with or without PDL).
for n in decode-B1 decode-B64 prefill-4096; do
  echo "$n tokens: on $(tr '\n' ' ' < "$LOG/tokens-$n-on.txt")| off $(tr '\n' ' ' < "$LOG/tokens-$n-off.txt")" |
    tee -a "$LOG/summary.txt"
done
if [[ -n $PACK ]]; then
  left=$((${TOTAL:-280} - SECONDS))
  timeout "${GPU_TEST_TIMEOUT:-$((left > 60 ? left : 60))}" scripts/gpu-test.sh "$PACK" "$LOG/gpu-test" \
    > "$LOG/gpu-test.txt" 2>&1
  rc=$?
  echo "gpu-test rc=$rc" | tee -a "$LOG/summary.txt"
  tail -60 "$LOG/gpu-test.txt"
  if [[ $rc != 0 ]]; then
    # Whether a failure is PDL's: the goldens again without it (no op
    # tests, which launch without PDL anyway, no sanitizer).
    left=$((${TOTAL:-280} - SECONDS))
    ((left > 10)) || left=10
    BRAID_NO_PDL=1 OP_TESTS=0 SANITIZER=0 timeout "${NO_PDL_TIMEOUT:-$left}" \
      scripts/gpu-test.sh "$PACK" "$LOG/gpu-test-nopdl" > "$LOG/gpu-test-nopdl.txt" 2>&1
    echo "gpu-test with BRAID_NO_PDL=1 (goldens only) rc=$?" | tee -a "$LOG/summary.txt"
    grep -E "FAIL" "$LOG/gpu-test-nopdl.txt" | head -20
  fi
fi
