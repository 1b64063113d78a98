#!/usr/bin/env bash
# The fused_elementwise family on the CUDA backend against onnxruntime and
# against the CPU reference kernel (docs/onnx.md, "Generic ops").
#
#   test/gpu/fused_elementwise_check.sh prepare [PACK]   # here: no GPU needed
#   test/gpu/fused_elementwise_check.sh run PACK[.tgz]   # on the GPU machine
#
# prepare (BUILD=build/onnx by default, nvcc needed) compiles, with the
# generic-op ONNX models of test/data/onnx (make_generic_tests.py) and the
# unraised RMSNorm / activation graphs (BRAID_ONNX_NO_RAISE=1), one bundle
# each for both cpu and cuda:sm_90a (f32, the ONNX path's dtype), copies
# braid-run and writes PACK.tgz.
#
# run, per model: the CUDA logits of the reference ids against onnxruntime's
# (rel-L2 <= 1e-3, the fp32 GPU tolerance), the CUDA logits of three rows of
# 333 ids (grid-stride loops over many blocks and warps) against the CPU
# backend's (<= 1e-3), and greedy decode
# (T = 1 launches) giving the CPU backend's tokens. Logs in $OUT (or
# PACK/fused-logs); exits 1 on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
MODE=${1:?usage: fused_elementwise_check.sh prepare|run PACK}
PACK=${2:-build/fused-gpu-pack}
MODELS=(generic_elementwise generic_reduce generic_reduce13 raise_bad_softplus
        raise_norms.unraised raise_activations.unraised)

ref_of() { echo "test/data/onnx/${1%.unraised}_ref.safetensors"; }

if [[ $MODE == prepare ]]; then
  BUILD=${BUILD:-build/onnx}
  rm -rf "$PACK" && mkdir -p "$PACK/bin" "$PACK/bundles"
  cp "$BUILD/bin/braid-run" "$PACK/bin/"
  for m in "${MODELS[@]}"; do
    src=test/data/onnx/${m%.unraised}.onnx
    env=()
    [[ $m == *.unraised ]] && env=(BRAID_ONNX_NO_RAISE=1)
    env "${env[@]}" "$BUILD/bin/braidc" "$src" --dtype=f32 \
      --target=cpu,cuda:sm_90a -o "$PACK/bundles/$m.bundle" || exit 1
  done
  # Three long rows: a fixed pseudo-random walk over ids 0..63.
  awk 'BEGIN { x = 11;
    for (r = 1; r <= 3; ++r) { s = "";
      for (i = 0; i < 333; ++i) { x = (x * 1103 + 12345) % 65536; s = s (i ? "," : "") (x % 64) }
      print s } }' > "$PACK/long.txt"
  tar -C "$(dirname "$PACK")" -czf "$PACK.tgz" "$(basename "$PACK")"
  echo "prepared $PACK.tgz ($(du -h "$PACK.tgz" | cut -f1))"
  exit 0
fi

if [[ $PACK == *.tgz ]]; then
  rm -rf /tmp/braid-fused-pack && mkdir -p /tmp/braid-fused-pack
  tar -C /tmp/braid-fused-pack -xzf "$PACK" || exit 2
  PACK=$(ls -d /tmp/braid-fused-pack/*/ | head -1)
  PACK=${PACK%/}
fi
LOG=${OUT:-$PACK}/fused-logs
mkdir -p "$LOG"
BR=$PACK/bin/braid-run
REL=test/frontends/onnx/Inputs/rel_l2.py
fails=0
check() { # name command...
  local name=$1
  shift
  if "$@" > "$LOG/$name.log" 2>&1; then
    echo "$name: PASS $(grep -h 'rel-L2' "$LOG/$name.log" | awk '{print $4}' | paste -sd' ' -)"
  else
    echo "$name: FAIL"
    tail -5 "$LOG/$name.log" | sed 's/^/    /'
    fails=$((fails + 1))
  fi
}
for m in "${MODELS[@]}"; do
  cpu=$PACK/bundles/$m.bundle gpu=$cpu # one bundle, both targets
  ref=$(ref_of "$m")
  check "$m.ref" bash -c "'$BR' run '$gpu' --backend cuda --ids-file '$ref' \
    --save-logits '$LOG/$m.cuda.logits' && python3 $REL '$LOG/$m.cuda.logits' '$ref' 1e-3"
  check "$m.long" bash -c "'$BR' run '$gpu' --backend cuda --ids-file '$PACK/long.txt' \
    --save-logits '$LOG/$m.long.cuda.logits' && '$BR' run '$cpu' --ids-file '$PACK/long.txt' \
    --save-logits '$LOG/$m.long.cpu.logits' && \
    python3 $REL '$LOG/$m.long.cuda.logits' '$LOG/$m.long.cpu.logits' 1e-3"
  check "$m.decode" bash -c "diff <('$BR' generate '$gpu' --backend cuda --ids-file '$ref' -n 6 | grep -A1 '^row') \
    <('$BR' generate '$cpu' --ids-file '$ref' -n 6 | grep -A1 '^row')"
done
echo "fused_elementwise GPU check: $fails failure(s)"
[[ $fails == 0 ]]
