#!/usr/bin/env bash
# Builds the dense-family GPU test (no GPU needed to build; nvcc needed):
#
#   1. dense-kernel-gen (host, MLIR): runs the dense specializers over
#      test/gpu/dense_cases*.mlir (written by make_dense_cases.py) and, with
#      --goldens, over the launch IR of the six goldens and the bamba-1.5b
#      config in f32 and bf16, writing one translation unit per distinct
#      specialization and a case list;
#   2. nvcc -cubin for sm_90a (the test's kernels; cases80: the sm_80 plans;
#      casesws*: the wide bf16 prefill linears on the warp-specialized
#      engine) and, with --goldens, for
#      sm_80 and sm_90a with ptxas -v: fails on spills in hot kernels;
#   3. dense_kernels_test (nvcc, host + bench kernels) linked with the CPU
#      reference kernels (runtime/backends/cpu, host-compiled) and libcuda.
#
# usage: test/gpu/build_dense_kernels_test.sh [--goldens] [OUT]
#   OUT defaults to build/kdense/gpu-dense (the test reads OUT/cases).
# Env: BUILD (cmake build dir with LaunchDialect; default build/kdense),
#      BRAIDC (braidc for --emit=launch; default $BUILD/bin/braidc or
#      build/lead/bin/braidc), JOBS (parallel nvcc; default nproc).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

GOLDENS=0
if [[ "${1:-}" == "--goldens" ]]; then GOLDENS=1; shift; fi
BUILD=${BUILD:-build/kdense}
OUT=${1:-$BUILD/gpu-dense}
JOBS=${JOBS:-$(nproc)}
NVCC=${NVCC:-nvcc}
if ! command -v "$NVCC" >/dev/null; then
  echo "build_dense_kernels_test: nvcc not found; skipping (needs the CUDA toolkit)" >&2
  exit 0
fi
LLVM=${LLVM:-/usr/lib/llvm-22}
mkdir -p "$OUT"

# 1. The generator.
if [[ ! -f "$BUILD/build.ninja" ]]; then
  cmake --preset release -B "$BUILD" >/dev/null
fi
ninja -C "$BUILD" LaunchDialect BraidCpuBackend >/dev/null
GEN=$OUT/dense-kernel-gen
. test/gpu/dense_gen.sh
build_dense_gen "$BUILD" "$GEN"

NVFLAGS=(-std=c++17 -O3 -lineinfo -I"$ROOT" -I"$ROOT/runtime/include")

# Compiles every k*.cu of $1 for arch $2 into cubins with a ptxas report
# (a cubin newer than its source and the templates is kept). Cubins of
# sources that are gone are removed.
compile_dir() {
  local dir=$1 arch=$2
  mkdir -p "$dir/$arch"
  local newest
  newest=$(cd targets/common/kernels && ls -t Portability.cuh DenseCommon.cuh Gemm.cuh GemmHopper.cuh GemmHopperEpilogue.cuh GemmHopperSplitK.cuh GemmSkinny.cuh MoE.cuh MoELayout.h \
    Norms.cuh Elementwise.cuh Rope.cuh Embedding.cuh Structure.cuh Conv.cuh | head -1)
  newest=targets/common/kernels/$newest
  for c in "$dir/$arch"/*.cubin; do
    [[ -e "$c" && ! -e "$dir/$(basename "$c" .cubin).cu" ]] && rm -f "$c" "${c%.cubin}.log"
  done
  ls "$dir"/k*.cu | xargs -P "$JOBS" -I{} sh -c '
    f={}; b=$(basename $f .cu); o='"$dir/$arch"'/$b.cubin
    if [ -f "$o" ] && [ "$o" -nt "$f" ] && [ "$o" -nt '"$newest"' ]; then exit 0; fi
    '"$NVCC"' '"${NVFLAGS[*]}"' -cubin -gencode=arch=compute_'"${arch#sm_}"',code='"$arch"' \
      -Xptxas -v "$f" -o "$o" > '"$dir/$arch"'/$b.log 2>&1 \
      || { echo "FAILED: $f ('"$arch"')"; cat '"$dir/$arch"'/$b.log; exit 1; }'
}

# Prints "module function regs spill_stores spill_loads stack" per kernel.
ptxas_report() {
  local dir=$1
  for log in "$dir"/*.log; do
    awk -v m="$(basename "$log" .log)" '
      /Compiling entry function/ { match($0, /'"'"'[^'"'"']+'"'"'/); fn = substr($0, RSTART+1, RLENGTH-2) }
      /bytes stack frame/ { st = $1; ss = $5; sl = $9 }
      /Used [0-9]+ registers/ { match($0, /Used [0-9]+ registers/); r = substr($0, RSTART+5, RLENGTH-15); print m, fn, r, ss, sl, st }' "$log"
  done
}

# 2a. Test cases.
python3 test/gpu/make_dense_cases.py "$OUT/cases-src"
mkdir -p "$OUT/cases" "$OUT/cases80"
"$GEN" --out "$OUT/cases" "$OUT"/cases-src/*.mlir
compile_dir "$OUT/cases" sm_90a
# The sm_80 plans of the GEMM families (mma.sync instead of wgmma), compiled
# for sm_90a so that they run on the H100 too.
"$GEN" --arch sm_80 --only linear,merge,moe --out "$OUT/cases80" "$OUT"/cases-src/*.mlir
compile_dir "$OUT/cases80" sm_90a
# The bf16 prefill linears of the 128 x 256 wgmma engine, run instead by the
# warp-specialized engine (GemmHopper.cuh wsGemm): one block per tile,
# persistent, ping-pong (dense_kernel_gen --sm90-gemm).
for ws in "casesws:WsConfig<128, 256, 4>:0" "caseswsp:WsConfig<128, 256, 4>:132" \
  "caseswspp:WsConfig<128, 128, 6, true>:132"; do
  "$GEN" --only linear --sm90-gemm "${ws#*:}" --out "$OUT/${ws%%:*}" "$OUT"/cases-src/*.mlir
  compile_dir "$OUT/${ws%%:*}" sm_90a
done
echo "build_dense_kernels_test: test kernels compiled for sm_90a"

# 2b. Goldens and bamba-1.5b: every dense specialization, sm_80 and sm_90a.
if [[ $GOLDENS == 1 ]]; then
  BRAIDC=${BRAIDC:-}
  for c in "$BUILD/bin/braidc" build/cuda-emit/bin/braidc build/lead/bin/braidc; do
    [[ -z "$BRAIDC" && -x "$c" ]] && BRAIDC=$c
  done
  mkdir -p "$OUT/goldens/ir"
  for g in test/data/goldens/*/ test/data/configs/bamba-1.5b.json; do
    n=$(basename "$g" .json)
    "$BRAIDC" "$g" --emit=launch > "$OUT/goldens/ir/$n-f32.mlir"
    "$BRAIDC" "$g" --dtype=bf16 --emit=launch > "$OUT/goldens/ir/$n-bf16.mlir"
  done
  status=0
  for arch in sm_80 sm_90a; do
    # The plans differ by architecture (wgmma on sm_90a).
    "$GEN" --arch $arch --out "$OUT/goldens/$arch-src" "$OUT"/goldens/ir/*.mlir
    compile_dir "$OUT/goldens/$arch-src" $arch
    rm -rf "$OUT/goldens/$arch" && cp -r "$OUT/goldens/$arch-src/$arch" "$OUT/goldens/$arch"
    ptxas_report "$OUT/goldens/$arch" > "$OUT/goldens/$arch.report"
    n=$(ls "$OUT"/goldens/$arch/*.cubin | wc -l)
    spills=$(awk 'NR==FNR { hot[$1] = 1; next } ($1 in hot) && ($4 > 0 || $5 > 0 || $6 > 0)' \
      "$OUT/goldens/$arch-src/hot.txt" "$OUT/goldens/$arch.report")
    echo "build_dense_kernels_test: goldens $arch: $n modules compiled;" \
      "hot kernels with spills or stack: $(echo -n "$spills" | grep -c . || true)"
    if [[ -n "$spills" ]]; then echo "$spills"; status=1; fi
  done
  [[ $status == 0 ]] || { echo "spills in hot kernels" >&2; exit 1; }
fi

# 3. The test program.
CPU_OBJS=()
mkdir -p "$OUT/cpu"
# Every CPU kernel file (the registry names them all) but the backend itself.
for f in runtime/backends/cpu/*.cpp; do
  [[ $f == */CpuBackend.cpp ]] && continue
  o=$OUT/cpu/$(basename "$f" .cpp).o
  if [[ ! -f "$o" || "$f" -nt "$o" || runtime/backends/cpu/KernelSupport.h -nt "$o" ]]; then
    g++ -std=c++17 -O3 -fPIC -I. -c "$f" -o "$o" &
  fi
  CPU_OBJS+=("$o")
done
wait
CUDA_HOME=${CUDA_HOME:-$(dirname "$(dirname "$(command -v "$NVCC")")")}
"$NVCC" "${NVFLAGS[@]}" -gencode=arch=compute_90a,code=sm_90a \
  test/gpu/dense_kernels_test.cu "${CPU_OBJS[@]}" \
  -L"$CUDA_HOME/lib64/stubs" -lcuda -lpthread -o "$OUT/dense_kernels_test"
echo "build_dense_kernels_test: built $OUT/dense_kernels_test"
