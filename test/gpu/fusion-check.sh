#!/usr/bin/env bash
# The GPU check of the GEMM epilogue fusions (passes/EpilogueFusion.h: split
# pieces written by the GEMM, residual add, gated MLP), smaller than the full
# scripts/gpu-prepare.sh + gpu-test.sh run:
#
#   prepare (here, nvcc needed, no GPU): PACK/tests/dense = dense_kernels_test
#     with the epilogue `linear` cases of make_dense_cases.py only (several
#     results, a residual, `glu`; their sm_90a plans: wgmma, mma.sync for
#     N < 256, skinny in decode, SIMT in f32), PACK/bin/braid-run, and
#     PACK/bundles/<golden>.<f32|bf16>.bundle (braidc --target=cuda:sm_90a,
#     fusion on) for GOLDENS; then PACK.tgz.
#   run (on an NVIDIA sm_90 machine, nothing compiled): the linear cases
#     against the CPU reference, then scripts/gpu-test.sh's golden checks
#     (plain and CUDA-graph decode) on those bundles, OP_TESTS=0.
#
# usage: test/gpu/fusion-check.sh prepare [PACK]    (default build/fusion-pack)
#        test/gpu/fusion-check.sh run PACK.tgz|PACK
# Env: BUILD (default build/dedupe), GOLDENS (default "bamba_tiny
#      falconh1_tiny"), SANITIZER (default 0).
set -uo pipefail
cd "$(dirname "$0")/../.."
MODE=${1:-}
GOLDENS=${GOLDENS:-bamba_tiny falconh1_tiny}
BUILD=${BUILD:-build/dedupe}

if [[ $MODE == prepare ]]; then
  set -e
  PACK=${2:-build/fusion-pack}
  rm -rf "$PACK" && mkdir -p "$PACK/bin" "$PACK/bundles" "$PACK/tests/dense"
  ninja -C "$BUILD" braidc braid-run > /dev/null
  cp "$BUILD/bin/braid-run" "$PACK/bin/"
  echo "prepared $(date -u +%Y-%m-%dT%H:%MZ) from $(git rev-parse --short HEAD) (with uncommitted changes): fusion-check" > "$PACK/PREPARED.txt"
  for g in $GOLDENS; do
    for dt in f32 bf16; do
      "$BUILD/bin/braidc" test/data/goldens/$g/config.json \
        --weights test/data/goldens/$g/model.safetensors --target=cuda:sm_90a \
        --dtype=$dt --kernel-cache "$BUILD/kernel-cache" -o "$PACK/bundles/$g.$dt.bundle"
      echo "bundle $g $dt" >> "$PACK/PREPARED.txt"
    done
  done
  # The dense test with the linear cases only (build_dense_kernels_test.sh's
  # steps, restricted with the generator's --only).
  D=$PACK/tests/dense
  . test/gpu/dense_gen.sh
  build_dense_gen "$BUILD" "$D/../gen"
  python3 test/gpu/make_dense_cases.py "$D/../cases-src"
  # Keep the launches with a fused epilogue: more than one result, four
  # operands, or `glu` (the plain linears are dense_kernels_test's own).
  python3 - "$D"/../cases-src/*.mlir <<'PY'
import re, sys
for path in sys.argv[1:]:
    out = []
    for line in open(path):
        m = re.match(r'\s*launch.kernel "(\w+)" "\w*" \[(.*)\] -> \[(.*)\] attrs \{(.*)\}', line)
        if m and not (m.group(1) == "linear" and (
                m.group(2).count("#launch.buffer") + m.group(2).count("unit") == 4
                or m.group(3).count("#launch.buffer") > 1 or "glu" in m.group(4))):
            continue
        out.append(line)
    open(path, "w").write("".join(out))
PY
  "$D/../gen" --only linear --out "$D/cases" "$D"/../cases-src/*.mlir
  NVFLAGS="-std=c++17 -O3 -lineinfo -I$PWD -I$PWD/runtime/include"
  for sub in cases; do
    mkdir -p "$D/$sub/sm_90a"
    ls "$D/$sub"/k*.cu | xargs -P "${JOBS:-2}" -I{} sh -c \
      'b=$(basename {} .cu); nvcc '"$NVFLAGS"' -cubin -gencode=arch=compute_90a,code=sm_90a {} -o '"$D/$sub"'/sm_90a/$b.cubin || { echo "FAILED: {}"; exit 255; }'
  done
  mkdir -p "$D/../cpu"
  objs=()
  # The CPU reference kernels: every family file the registry names.
  for f in runtime/backends/cpu/*.cpp; do
    [[ $(basename "$f") == CpuBackend.cpp ]] && continue
    o=$D/../cpu/$(basename "$f" .cpp).o
    g++ -std=c++17 -O3 -fPIC -I. -c "$f" -o "$o"
    objs+=("$o")
  done
  nvcc $NVFLAGS -gencode=arch=compute_90a,code=sm_90a test/gpu/dense_kernels_test.cu \
    "${objs[@]}" -L/usr/local/cuda/lib64/stubs -lcuda -lpthread -o "$D/dense_kernels_test"
  rm -rf "$D/../gen" "$D/../cases-src" "$D/../cpu"
  tar -C "$(dirname "$PACK")" -czf "$PACK.tgz" "$(basename "$PACK")"
  echo "fusion-check: $PACK.tgz ($(du -h "$PACK.tgz" | cut -f1))"
  exit 0
fi

if [[ $MODE == run ]]; then
  PACK=${2:?usage: fusion-check.sh run PACK.tgz|PACK}
  if [[ $PACK == *.tgz ]]; then
    rm -rf /tmp/braid-fusion-pack && mkdir -p /tmp/braid-fusion-pack
    tar -C /tmp/braid-fusion-pack -xzf "$PACK" || exit 2
    PACK=$(ls -d /tmp/braid-fusion-pack/*/ | head -1)
    PACK=${PACK%/}
  fi
  LOG=${OUT:-$PACK}/fusion-check
  mkdir -p "$LOG"
  export PATH=$PATH:/usr/local/cuda/bin
  status=0
  D=$PACK/tests/dense
  for sub in cases; do
    timeout 150 "$D/dense_kernels_test" "$D/$sub" --filter linear --no-bench \
      --log "$LOG/dense-$sub.log" > /dev/null 2>&1
    rc=$?
    echo "dense linear $sub: exit $rc ($(grep -E '^[0-9]+ runs' "$LOG/dense-$sub.log" | tail -1))"
    [[ $rc == 0 ]] || status=1
  done
  GOLDENS="$GOLDENS" SANITIZER=${SANITIZER:-0} OP_TESTS=0 scripts/gpu-test.sh "$PACK" "$LOG/gpu-test" 2>&1 |
    grep -E '^(golden|memcheck|gpu-test|decode)' | tee "$LOG/goldens.txt"
  grep -q 'FAIL' "$LOG/goldens.txt" && status=1
  exit $status
fi
echo "usage: test/gpu/fusion-check.sh prepare [PACK] | run PACK.tgz" >&2
exit 2
