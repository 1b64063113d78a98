#!/usr/bin/env bash
# The CUDA acceptance run, on an NVIDIA machine, from what
# scripts/gpu-prepare.sh built elsewhere (nothing is compiled here):
#
#   1. op-level tests: test/gpu's dense_kernels_test (every dense family
#      against the CPU reference) and sequence_kernels_test (attention,
#      scans), when the pack has them;
#   2. the six goldens in fp32 and bf16 on the CUDA backend: braid-run check
#      with the numerics contract of DESIGN.md (logits rel-L2 <= 1e-3 for
#      f32, <= 3e-2 for bf16 or 1.5x the golden's bf16 floor where that is
#      higher (see bf16_tolerance below); greedy tokens equal except where the top-2
#      margin is below the tolerance: --margin), once launching kernels one
#      by one and once with decode as a CUDA graph, whose logits must equal
#      the first run's;
#   2c. greedy generation on the device (the decode_greedy entry) against
#      the host loop (BRAID_HOST_SAMPLING=1) on every golden bundle: the
#      same tokens for a ragged batch of four prompts;
#   3. compute-sanitizer memcheck over the goldens (both dtypes);
#   4. the PTX bundle (JIT by the driver) against its golden, the
#      ONNX-imported goldens (f32) and the variants of test/data/variants
#      (f32) against theirs;
#
# (the op-level tests run last, as they take the longest), then prints one
# table and exits 1 if anything failed. Also for information: decode
# ms/step of one tiny golden with kernels launched one by one and as a graph.
#
# usage: scripts/gpu-test.sh [PACK | PACK.tgz] [LOGDIR]
#   PACK defaults to build/gpu-pack (a .tgz is unpacked under /tmp first);
#   LOGDIR defaults to $OUT/gpu-test when OUT is set, else PACK/logs.
# Env: GOLDENS="bamba_tiny jamba_tiny" to run fewer; SANITIZER=0 skips
#      step 3; OP_TESTS=0 skips step 1; TIMEOUT (seconds per op-test
#      binary, default 240).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

PACK=${1:-build/gpu-pack}
if [[ $PACK == *.tgz || $PACK == *.tar.gz ]]; then
  rm -rf /tmp/braid-gpu-pack && mkdir -p /tmp/braid-gpu-pack
  tar -C /tmp/braid-gpu-pack -xzf "$PACK" || { echo "gpu-test: cannot unpack $PACK" >&2; exit 2; }
  PACK=$(ls -d /tmp/braid-gpu-pack/*/ | head -1)
  PACK=${PACK%/}
fi
[[ -d $PACK ]] || { echo "gpu-test: no pack at $PACK (run scripts/gpu-prepare.sh)" >&2; exit 2; }
if [[ -n ${2:-} ]]; then LOG=$2
elif [[ -n ${OUT:-} ]]; then LOG=$OUT/gpu-test
else LOG=$PACK/logs; fi
mkdir -p "$LOG"
BR=$PACK/bin/braid-run
GOLDENS=(${GOLDENS:-bamba_tiny falconh1_tiny granitehybrid_tiny jamba_tiny nemotronh_tiny zamba2_tiny})
TIMEOUT=${TIMEOUT:-240}
SAN=${SANITIZER:-1}
export PATH=$PATH:/usr/local/cuda/bin

ROWS=()   # "what|result|detail"
FAILS=0
row() {
  ROWS+=("$1|$2|$3")
  [[ $2 == FAIL ]] && FAILS=$((FAILS + 1))
  printf '%-34s %-5s %s\n' "$1" "$2" "$3"
}

GPU=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
echo "gpu-test: ${GPU:-no nvidia-smi}; pack $PACK; logs $LOG"
[[ -f $PACK/PREPARED.txt ]] && cp "$PACK/PREPARED.txt" "$LOG/" && head -1 "$PACK/PREPARED.txt"

# Prints "worst-rel-L2 tokens" of a braid-run check log (its table rows).
check_summary() {
  awk '$1 ~ /^[0-9]+$/ && $5 ~ /\// { if ($2 + 0 > w) w = $2 + 0; t = t (t ? "," : "") $5;
         if ($0 ~ /margin rule/) m = " (margin rule)" }
       END { printf "rel-L2 %.2e, tokens %s%s", w, t, m }' "$1"
}
first_error() { grep -m1 -E 'error:|FAIL' "$1" | cut -c1-160; }

# Compares the logits two check runs saved: "identical" or the max |diff|.
compare_logits() {
  python3 - "$1" "$2" <<'EOF'
import json, struct, sys
def load(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        a, b = v['data_offsets']
        out[k] = (v['dtype'], data[a:b])
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
diff = []
for k in sorted(a):
    if k not in b:
        diff.append(k + ' missing'); continue
    if a[k] == b[k]:
        continue
    if a[k][0] == 'F32':
        n = len(a[k][1]) // 4
        x = struct.unpack('<%df' % n, a[k][1]); y = struct.unpack('<%df' % n, b[k][1])
        diff.append('%s max|d| %.3g' % (k, max(abs(p - q) for p, q in zip(x, y))))
    else:
        diff.append(k + ' differ')
print('identical' if not diff else '; '.join(diff))
EOF
}

# The bf16 logits bound of a golden. DESIGN.md's numerics contract says
# 3e-2; on three of the six tiny random goldens no bf16 implementation can
# meet it (docs/testing.md, "bf16 and the goldens"): rounding the weights to
# bf16 alone, activations fp32, costs up to 1.8e-1 (granitehybrid: an MoE
# routing flip), 4.4e-2 (zamba2), 3.4e-2 (jamba), and transformers' own bf16
# misses it on four. test/data/goldens/bf16_floors.json holds each golden's
# ideal_bf16 error: transformers with the bundle's bf16 weights and every
# module output rounded to bf16. The bound is max(3e-2, 1.5 x that floor).
FLOORS=test/data/goldens/bf16_floors.json
bf16_floor() {
  python3 -c 'import json,sys; print("%.2e" % max(json.load(open(sys.argv[1]))["floors"][sys.argv[2]]["ideal_bf16"]))' "$FLOORS" "$1" 2>/dev/null || echo "?"
}
bf16_tolerance() {
  python3 -c 'import json,sys; f=max(json.load(open(sys.argv[1]))["floors"][sys.argv[2]]["ideal_bf16"]); print("%.2e" % max(3e-2, 1.5 * f))' "$FLOORS" "$1" 2>/dev/null || echo 3e-2
}

# 2 and 3. Goldens.
for g in "${GOLDENS[@]}"; do
  gd=test/data/goldens/$g
  for dt in f32 bf16; do
    b=$PACK/bundles/$g.$dt.bundle
    name="golden $g $dt"
    if [[ ! -f $b ]]; then row "$name" FAIL "no bundle (gpu-prepare could not build it)"; continue; fi
    if [[ $dt == f32 ]]; then tol=1e-3 margin=1e-3 floor=""
    else
      margin=3e-2
      tol=$(bf16_tolerance "$g")
      floor=", bf16 floor $(bf16_floor "$g")"
    fi
    args=(check "$b" --backend cuda --weights "$gd/model.safetensors"
      --golden "$gd/golden.safetensors" --tolerance "$tol" --margin "$margin")
    l=$LOG/$g.$dt
    "$BR" "${args[@]}" --save-logits "$l.plain.safetensors" > "$l.plain.log" 2>&1
    rc=$?
    BRAID_CUDA_STATS=1 "$BR" "${args[@]}" --cuda-graph --save-logits "$l.graph.safetensors" \
      > "$l.graph.log" 2>&1
    rcg=$?
    if [[ $rc != 0 ]] && ! grep -q '^row ' "$l.plain.log"; then
      row "$name" FAIL "$(first_error "$l.plain.log")"
    else
      same=$( [[ -f $l.plain.safetensors && -f $l.graph.safetensors ]] &&
        compare_logits "$l.plain.safetensors" "$l.graph.safetensors" || echo "graph run failed")
      [[ $rc == 0 && $rcg == 0 && $same == identical ]] && res=PASS || res=FAIL
      row "$name" $res "$(check_summary "$l.plain.log") (<= $tol$floor); graph: $same$([[ $rcg != 0 ]] && echo ", graph check exit $rcg")"
    fi
    rm -f "$l.plain.safetensors" "$l.graph.safetensors"
    if [[ $SAN != 0 ]]; then
      if command -v compute-sanitizer > /dev/null; then
        timeout 300 compute-sanitizer --tool memcheck --print-limit 20 --error-exitcode 86 \
          "$BR" "${args[@]}" > "$l.memcheck.log" 2>&1
        rc=$?
        errors=$(grep -oE 'ERROR SUMMARY: [0-9]+ error' "$l.memcheck.log" | grep -oE '[0-9]+' | tail -1)
        # Memory errors only: a numerical difference (exit 1 after the
        # comparison ran) is the golden row's business.
        if [[ ${errors:-x} == 0 && $rc != 86 ]] && grep -q '^row ' "$l.memcheck.log"; then
          row "memcheck $g $dt" PASS "0 errors$([[ $rc != 0 ]] && echo " (the check itself: see the golden row)")"
        else row "memcheck $g $dt" FAIL "exit $rc, ${errors:-?} errors; see $g.$dt.memcheck.log"; fi
      else
        row "memcheck $g $dt" FAIL "compute-sanitizer not found"
      fi
    fi
  done
done

# 2c. Greedy generation on the device (decode_greedy: greedy_next picks each
# token on the GPU, the steps run without the host) against the host loop
# (BRAID_HOST_SAMPLING=1), same bundle: identical tokens for a ragged batch
# of four prompts, 12 new tokens, as a CUDA graph.
for g in "${GOLDENS[@]}"; do
  gd=test/data/goldens/$g
  for dt in f32 bf16; do
    b=$PACK/bundles/$g.$dt.bundle
    [[ -f $b ]] || continue
    l=$LOG/$g.$dt.greedy
    args=(generate "$b" --backend cuda --weights "$gd/model.safetensors" --cuda-graph
      --ids "5,9,3,7,2;4,4,8;1,6,2,2,9,3,3;8,1,4" -n 12)
    "$BR" "${args[@]}" > "$l.device.log" 2>&1
    rc=$?
    BRAID_HOST_SAMPLING=1 "$BR" "${args[@]}" > "$l.host.log" 2>&1
    rch=$?
    dev=$(grep "generated:" "$l.device.log")
    host=$(grep "generated:" "$l.host.log")
    if [[ $rc == 0 && $rch == 0 && -n $dev && $dev == "$host" ]] &&
      grep -q "on the device" "$l.device.log"; then
      row "greedy on device $g $dt" PASS "4 rows x 12 tokens = the host loop's; $(grep -oE '[0-9.]+ ms/step' "$l.device.log") vs $(grep -oE '[0-9.]+ ms/step' "$l.host.log")"
    else
      row "greedy on device $g $dt" FAIL "exit $rc/$rch; $(first_error "$l.device.log")$( [[ $dev != "$host" ]] && echo " tokens differ")"
    fi
  done
done

# 2b. The ONNX route: torch.onnx exports imported and raised by braidc, f32,
# weights packed in the bundle; the same golden logits and tokens.
for g in "${GOLDENS[@]}"; do
  b=$PACK/bundles/$g.onnx.f32.bundle
  [[ -f $b ]] || continue
  l=$LOG/$g.onnx.f32.log
  "$BR" check "$b" --backend cuda --golden "test/data/goldens/$g/golden.safetensors" \
    --tolerance 1e-3 --margin 1e-3 > "$l" 2>&1
  if [[ $? == 0 ]]; then row "onnx $g f32" PASS "$(check_summary "$l") (<= 1e-3)"
  elif grep -q '^row ' "$l"; then row "onnx $g f32" FAIL "$(check_summary "$l") (<= 1e-3)"
  else row "onnx $g f32" FAIL "$(first_error "$l")"; fi
done

# 2c. The variants (test/data/variants), f32, against transformers: the same
# check as their CPU integration tests, at the GPU's f32 bound.
for vd in test/data/variants/*/; do
  vd=${vd%/}
  v=$(basename "$vd")
  [[ -f $vd/golden.safetensors ]] || continue
  b=$PACK/bundles/$v.variant.f32.bundle
  if [[ ! -f $b ]]; then
    why=$(grep -m1 "bundle variant $v f32" "$PACK/PREPARED.txt" 2>/dev/null | sed 's/^bundle variant [^:]*: //')
    [[ $why == REFUSED* ]] && row "variant $v f32" SKIP "$why" || row "variant $v f32" FAIL "no bundle: ${why:-not prepared}"
    continue
  fi
  l=$LOG/$v.variant.f32.log
  # Where transformers' cached generation disagrees with its own uncached
  # one (report.json: cache_consistent false), the tokens to match are the
  # uncached, prefix-consistent ones, as in the CPU integration tests.
  tokens=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["report"].get(sys.argv[2],{}); print("generated" if r.get("cache_consistent", True) else "generated_nocache")' \
    test/data/variants/report.json "$v" 2>/dev/null || echo generated)
  "$BR" check "$b" --backend cuda --weights "$vd/model.safetensors" \
    --golden "$vd/golden.safetensors" --golden-tokens "$tokens" \
    --tolerance 1e-3 --margin 1e-3 > "$l" 2>&1
  if [[ $? == 0 ]]; then row "variant $v f32" PASS "$(check_summary "$l") (<= 1e-3)"
  elif grep -q '^row ' "$l"; then row "variant $v f32" FAIL "$(check_summary "$l") (<= 1e-3)"
  else row "variant $v f32" FAIL "$(first_error "$l")"; fi
done

# 4. PTX, compiled by the driver.
p=$PACK/bundles/bamba_tiny.ptx.bundle
if [[ -f $p ]]; then
  gd=test/data/goldens/bamba_tiny
  "$BR" check "$p" --backend cuda --weights "$gd/model.safetensors" \
    --golden "$gd/golden.safetensors" --tolerance 1e-3 --margin 1e-3 > "$LOG/ptx.log" 2>&1
  rc=$?
  jit=$(grep -oE 'code code\.[a-z_0-9]+( \(PTX, JIT\))?' "$LOG/ptx.log" | head -1)
  [[ $rc == 0 ]] && row "ptx bamba_tiny f32" PASS "$(check_summary "$LOG/ptx.log"); $jit" ||
    row "ptx bamba_tiny f32" FAIL "$(first_error "$LOG/ptx.log")"
fi

# Decode speed of one tiny golden, kernels one by one and as a graph (for
# information: tiny models are launch-bound).
b=$PACK/bundles/bamba_tiny.bf16.bundle
if [[ -f $b ]]; then
  for mode in plain graph; do
    "$BR" generate "$b" --backend cuda --random-weights 1 --ids "1,2,3,4,5,6,7,8" -n 129 \
      $([[ $mode == graph ]] && echo --cuda-graph) > "$LOG/speed-$mode.log" 2>&1
    ms=$(grep -oE '[0-9.]+ ms/step' "$LOG/speed-$mode.log")
    row "decode speed bamba_tiny bf16 $mode" INFO "${ms:-$(first_error "$LOG/speed-$mode.log")} (128 steps, batch 1)"
  done
fi

# 1. Op-level tests (last: they take the longest).
if [[ ${OP_TESTS:-1} != 0 ]]; then
  D=$PACK/tests/dense
  if [[ -x $D/dense_kernels_test ]]; then
    for c in cases cases80; do
      [[ -f $D/$c/cases.txt ]] || continue
      timeout "$TIMEOUT" "$D/dense_kernels_test" "$D/$c" --no-bench \
        > "$LOG/op-dense-$c.log" 2>&1
      rc=$?
      summary=$(grep -E '^[0-9]+ runs, [0-9]+ failed' "$LOG/op-dense-$c.log" | tail -1)
      worst=$(awk '/^family \/ type/ {on=1; next} on && NF==5 {if ($5+0 > w) w=$5+0} END {if (w) printf "worst rel-L2 %.2e", w}' "$LOG/op-dense-$c.log")
      if [[ $rc == 0 ]]; then row "op dense ($c)" PASS "$summary, $worst"
      else row "op dense ($c)" FAIL "exit $rc${summary:+, $summary}; see op-dense-$c.log"; fi
    done
  else
    row "op dense" SKIP "not in the pack"
  fi
  S=$PACK/tests/seq/sequence_kernels_test
  if [[ -x $S ]]; then
    timeout "$TIMEOUT" "$S" > "$LOG/op-sequence.log" 2>&1
    rc=$?
    ok=$(grep -cE '^  .* ok \(' "$LOG/op-sequence.log")
    bad=$(grep -cE '^  .* FAILED \(' "$LOG/op-sequence.log")
    if [[ $rc == 0 ]]; then row "op sequence" PASS "$ok cases ok"
    else row "op sequence" FAIL "exit $rc, $ok ok, $bad failed; see op-sequence.log"; fi
  else
    row "op sequence" SKIP "not in the pack"
  fi
fi

{
  echo
  echo "Braid CUDA test on ${GPU:-unknown GPU}, $(date -u +%Y-%m-%dT%H:%MZ)"
  printf '%-34s %-5s %s\n' "what" "result" "detail"
  for r in "${ROWS[@]}"; do
    IFS='|' read -r w s d <<< "$r"
    printf '%-34s %-5s %s\n' "$w" "$s" "$d"
  done
  echo
  [[ $FAILS == 0 ]] && echo "gpu-test: PASS" || echo "gpu-test: FAIL ($FAILS failed)"
} | tee "$LOG/table.txt"
[[ $FAILS == 0 ]]
