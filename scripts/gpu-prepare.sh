#!/usr/bin/env bash
# Builds, on this machine (no GPU needed; nvcc needed for the kernels),
# everything scripts/gpu-test.sh runs on an NVIDIA machine, into one folder
# PACK and one archive PACK.tgz to carry there:
#
#   PACK/bin/braid-run                    the runtime's CLI (CUDA backend in)
#   PACK/bundles/<golden>.<f32|bf16>.bundle
#                                         braidc --target=cuda:ARCH --dtype=...
#                                         for the six goldens of test/data/goldens
#   PACK/bundles/<golden>.onnx.f32.bundle the torch.onnx exports of four goldens
#                                         (test/data/onnx/goldens), f32
#   PACK/bundles/<variant>.variant.f32.bundle
#                                         the variants of test/data/variants, f32
#   PACK/bundles/bamba_tiny.ptx.bundle    PTX only (compute_90, f32): the
#                                         driver's JIT path
#   PACK/tests/dense/                     dense_kernels_test and its cases
#   PACK/tests/seq/sequence_kernels_test  (both from test/gpu/build_*.sh,
#                                         when those build)
#   PACK/PREPARED.txt                     what was built, from which commit,
#                                         and what was skipped and why
#
# The goldens' weights and references are not copied: they are in the
# repository (test/data/goldens), which travels anyway.
#
# usage: scripts/gpu-prepare.sh [--arch sm_90a] [--no-kernel-tests] [PACK]
#   PACK defaults to build/gpu-pack.
# Env: BUILD (the CMake build folder, default build/gpu), JOBS (parallel
#      nvcc), BRAIDC_FLAGS (extra braidc flags).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

ARCH=sm_90a
KERNEL_TESTS=1
while [[ $# -gt 0 ]]; do
  case "$1" in
  --arch) ARCH=$2; shift 2 ;;
  --no-kernel-tests) KERNEL_TESTS=0; shift ;;
  -h | --help) sed -n '2,27p' "$0"; exit 0 ;;
  -*) echo "gpu-prepare: unknown option $1" >&2; exit 2 ;;
  *) break ;;
  esac
done
PACK=${1:-build/gpu-pack}
BUILD=${BUILD:-build/gpu}
GOLDENS=(bamba_tiny falconh1_tiny granitehybrid_tiny jamba_tiny nemotronh_tiny zamba2_tiny)

rm -rf "$PACK"
mkdir -p "$PACK/bin" "$PACK/bundles" "$PACK/tests"
NOTES=$PACK/PREPARED.txt
note() { echo "$*" | tee -a "$NOTES"; }
: > "$NOTES"
note "prepared $(date -u +%Y-%m-%dT%H:%MZ) from $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"

# 1. braidc and braid-run.
if [[ ! -f "$BUILD/build.ninja" ]]; then
  cmake --preset release -B "$BUILD" > /dev/null
fi
ninja -C "$BUILD" braidc braid-run
cp "$BUILD/bin/braid-run" "$PACK/bin/"
note "braid-run: $BUILD/bin/braid-run"

# 2. Bundles. Kernels are cached by braidc (--kernel-cache): a second run
# recompiles only what changed.
CACHE=$BUILD/kernel-cache
status=0
for g in "${GOLDENS[@]}"; do
  dir=test/data/goldens/$g
  for dt in f32 bf16; do
    out=$PACK/bundles/$g.$dt.bundle
    if "$BUILD/bin/braidc" "$dir/config.json" --weights "$dir/model.safetensors" \
      --target=cuda:$ARCH --dtype=$dt --kernel-cache "$CACHE" ${BRAIDC_FLAGS:-} \
      -o "$out" > "$PACK/bundles/$g.$dt.log" 2>&1; then
      note "bundle $g $dt: $(du -h "$out" | cut -f1)"
      rm -f "$PACK/bundles/$g.$dt.log"
    else
      note "bundle $g $dt: FAILED (braidc; see bundles/$g.$dt.log):"
      sed -n '1,6p' "$PACK/bundles/$g.$dt.log" | sed 's/^/    /' | tee -a "$NOTES"
      status=1
    fi
  done
done
# The torch.onnx exports of four goldens (test/data/onnx/goldens), f32: the
# ONNX route on the GPU (weights packed in the bundle).
for g in bamba_tiny falconh1_tiny nemotronh_tiny zamba2_tiny; do
  out=$PACK/bundles/$g.onnx.f32.bundle
  if "$BUILD/bin/braidc" "test/data/onnx/goldens/$g/model.onnx" --target=cuda:$ARCH \
    --dtype=f32 --kernel-cache "$CACHE" -o "$out" > "$PACK/bundles/$g.onnx.log" 2>&1; then
    note "bundle $g onnx f32: $(du -h "$out" | cut -f1)"
    rm -f "$PACK/bundles/$g.onnx.log"
  else
    note "bundle $g onnx f32: FAILED (braidc; see bundles/$g.onnx.log):"
    sed -n '1,6p' "$PACK/bundles/$g.onnx.log" | sed 's/^/    /' | tee -a "$NOTES"
    status=1
  fi
done
# The variants (test/data/variants: head counts, groups, state sizes, chunk
# sizes such as 8 that the GPU kernels run as 16, layer patterns, experts),
# f32: the configurations the six goldens do not cover.
for dir in test/data/variants/*/; do
  v=$(basename "$dir")
  [[ -f $dir/golden.safetensors ]] || continue
  out=$PACK/bundles/$v.variant.f32.bundle
  if "$BUILD/bin/braidc" "$dir/config.json" --weights "$dir/model.safetensors" \
    --target=cuda:$ARCH --dtype=f32 --kernel-cache "$CACHE" ${BRAIDC_FLAGS:-} \
    -o "$out" > "$PACK/bundles/$v.variant.log" 2>&1; then
    note "bundle variant $v f32: $(du -h "$out" | cut -f1)"
    rm -f "$PACK/bundles/$v.variant.log"
  elif grep -q 'cannot specialize' "$PACK/bundles/$v.variant.log"; then
    # A shape the GPU kernels refuse by design (e.g. an SSD state size that
    # is not a multiple of 8): reported by gpu-test as SKIP with this reason.
    note "bundle variant $v f32: REFUSED: $(grep -m1 -o 'cannot specialize.*' "$PACK/bundles/$v.variant.log")"
  else
    note "bundle variant $v f32: FAILED (braidc; see bundles/$v.variant.log):"
    sed -n '1,6p' "$PACK/bundles/$v.variant.log" | sed 's/^/    /' | tee -a "$NOTES"
    status=1
  fi
done
if "$BUILD/bin/braidc" test/data/goldens/bamba_tiny/config.json \
  --weights test/data/goldens/bamba_tiny/model.safetensors --target=cuda:compute_90 \
  --dtype=f32 --kernel-cache "$CACHE" -o "$PACK/bundles/bamba_tiny.ptx.bundle" \
  > "$PACK/bundles/bamba_tiny.ptx.log" 2>&1; then
  note "bundle bamba_tiny ptx (compute_90, f32): $(du -h "$PACK/bundles/bamba_tiny.ptx.bundle" | cut -f1)"
  rm -f "$PACK/bundles/bamba_tiny.ptx.log"
else
  note "bundle bamba_tiny ptx: FAILED (see bundles/bamba_tiny.ptx.log)"
fi

# 3. The op-level kernel tests of the kernel engineers (test/gpu), when they
# build.
if [[ $KERNEL_TESTS == 1 ]]; then
  if [[ -x test/gpu/build_dense_kernels_test.sh ]]; then
    if BUILD=$BUILD test/gpu/build_dense_kernels_test.sh "$BUILD/gpu-dense" \
      > "$PACK/tests/dense-build.log" 2>&1 && [[ -x $BUILD/gpu-dense/dense_kernels_test ]]; then
      mkdir -p "$PACK/tests/dense"
      cp "$BUILD/gpu-dense/dense_kernels_test" "$PACK/tests/dense/"
      for c in cases cases80; do
        [[ -f $BUILD/gpu-dense/$c/cases.txt ]] || continue
        mkdir -p "$PACK/tests/dense/$c/sm_90a"
        cp "$BUILD/gpu-dense/$c/cases.txt" "$PACK/tests/dense/$c/"
        cp "$BUILD/gpu-dense/$c/sm_90a/"*.cubin "$PACK/tests/dense/$c/sm_90a/"
      done
      note "op tests dense: built"
      rm -f "$PACK/tests/dense-build.log"
    else
      note "op tests dense: FAILED to build (see tests/dense-build.log)"
      status=1
    fi
  fi
  if [[ -x test/gpu/build_sequence_kernels_test.sh ]]; then
    if BUILD=$BUILD test/gpu/build_sequence_kernels_test.sh "$BUILD/gpu-seq" \
      > "$PACK/tests/seq-build.log" 2>&1 && [[ -x $BUILD/gpu-seq/sequence_kernels_test ]]; then
      mkdir -p "$PACK/tests/seq"
      cp "$BUILD/gpu-seq/sequence_kernels_test" "$PACK/tests/seq/"
      note "op tests sequence: built"
      rm -f "$PACK/tests/seq-build.log"
    else
      note "op tests sequence: FAILED to build (see tests/seq-build.log)"
      status=1
    fi
  fi
else
  note "op tests: not built (--no-kernel-tests)"
fi

# 4. One archive to carry.
tar -C "$(dirname "$PACK")" -czf "$PACK.tgz" "$(basename "$PACK")"
note "pack: $(du -sh "$PACK" | cut -f1) in $PACK, $(du -h "$PACK.tgz" | cut -f1) as $PACK.tgz"
echo "carry $PACK.tgz (device tool: carry [\"$PACK.tgz\"]) and run: scripts/gpu-test.sh $PACK.tgz"
exit $status
