#!/usr/bin/env bash
# Builds the sequence-family GPU test (attention, ssd_scan, selective_scan,
# mamba2_step; needs nvcc, no GPU):
#
#   1. sequence_test_gen (host C++) writes the device code of every case of
#      test/gpu/sequence_cases.h through SequencePlans.h -- the text the
#      specializers put in a bundle -- into OUT/gen;
#   2. nvcc compiles it for sm_90a with the test (sequence_kernels_test.cu)
#      and links the CPU reference kernels (runtime/backends/cpu).
#
# With --goldens it also runs the real specializers (sequence_kernel_gen,
# MLIR) over the launch IR of the six goldens and the bamba-1.5b config, in
# f32 and bf16, compiles every distinct specialization with nvcc -cubin for
# sm_80 and sm_90a, prints ptxas's resource report and fails on spills.
#
# usage: test/gpu/build_sequence_kernels_test.sh [--goldens] [OUT]
#   OUT defaults to build/kseq/gpu-seq.
# Env: BUILD (cmake build dir; default build/kseq), BRAIDC (for
#      --emit=launch; default $BUILD/bin/braidc), JOBS (default nproc).
# Run:  OUT/sequence_kernels_test [--quick] [--bench] [FILTER]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

GOLDENS=0
if [[ "${1:-}" == "--goldens" ]]; then GOLDENS=1; shift; fi
BUILD=${BUILD:-build/kseq}
OUT=${1:-$BUILD/gpu-seq}
JOBS=${JOBS:-$(nproc)}
NVCC=${NVCC:-nvcc}
LLVM=${LLVM:-/usr/lib/llvm-22}
if ! command -v "$NVCC" >/dev/null; then
  echo "build_sequence_kernels_test: nvcc not found; skipping" >&2
  exit 0
fi
mkdir -p "$OUT/gen"
if [[ ! -f "$BUILD/build.ninja" ]]; then
  cmake --preset release -B "$BUILD" >/dev/null
fi

NVFLAGS=(-std=c++17 -O3 -lineinfo -I"$ROOT" -I"$ROOT/runtime/include")

if [[ $GOLDENS == 1 ]]; then
  ninja -C "$BUILD" LaunchDialect >/dev/null
  BRAIDC=${BRAIDC:-$BUILD/bin/braidc}
  GEN=$OUT/sequence-kernel-gen
  g++ -std=c++17 -O1 -fno-rtti -D_GLIBCXX_USE_CXX11_ABI=1 \
    -I. -I"$BUILD" -isystem "$LLVM/include" \
    test/gpu/sequence_kernel_gen.cpp targets/common/kernels/SpecializersSequence.cpp \
    "$BUILD/dialects/Launch/libLaunchDialect.a" \
    -L"$LLVM/lib" -lMLIR -lLLVM -Wl,-rpath,"$LLVM/lib" -o "$GEN"
  G=$OUT/goldens
  rm -rf "$G" && mkdir -p "$G/ir"
  for model in test/data/goldens/*/ test/data/configs/bamba-1.5b.json; do
    base=$(basename "${model%/}" .json)
    for dt in f32 bf16; do
      "$BRAIDC" "$model" --emit=launch --dtype=$dt > "$G/ir/$base.$dt.mlir"
    done
  done
  "$GEN" --out "$G" "$G"/ir/*.mlir
  fail=0
  for arch in sm_80 sm_90a; do
    mkdir -p "$G/$arch"
    ls "$G"/k*.cu | xargs -P "$JOBS" -I{} sh -c '
      f={}; b=$(basename $f .cu)
      '"$NVCC"' '"${NVFLAGS[*]}"' -cubin -gencode=arch=compute_'"${arch#sm_}"',code='"$arch"' \
        -Xptxas -v "$f" -o '"$G/$arch"'/$b.cubin > '"$G/$arch"'/$b.log 2>&1 \
        || { echo "FAILED: $f ('"$arch"')"; cat '"$G/$arch"'/$b.log; exit 1; }' || fail=1
  done
  echo
  {
    printf '%-8s %-10s %-26s %5s %6s %6s %6s\n' arch module function regs spillS spillL stack
    for arch in sm_80 sm_90a; do
      for log in "$G/$arch"/*.log; do
        awk -v m="$(basename "$log" .log)" -v a="$arch" '
          /Compiling entry function/ { match($0, /'"'"'[^'"'"']+'"'"'/); fn = substr($0, RSTART+1, RLENGTH-2) }
          /bytes stack frame/ { st = $5; ss = $9; sl = $13 }
          /Used [0-9]+ registers/ { match($0, /Used [0-9]+ registers/); r = substr($0, RSTART+5, RLENGTH-15);
            printf "%-8s %-10s %-26s %5s %6s %6s %6s\n", a, m, fn, r, ss, sl, st }' "$log"
      done
    done
  } | tee "$G/ptxas.txt"
  if awk 'NR > 1 && ($5 > 0 || $6 > 0) { bad = 1 } END { exit !bad }' "$G/ptxas.txt"; then
    echo "build_sequence_kernels_test: SPILLS in the kernels above" >&2
    fail=1
  fi
  n=$(ls "$G"/k*.cu | wc -l)
  if [[ $fail == 0 ]]; then
    echo "build_sequence_kernels_test: $n golden/bamba-1.5b specializations compile for sm_80 and sm_90a, no spills"
  else
    exit 1
  fi
fi

# The test.
ninja -C "$BUILD" BraidCpuBackend >/dev/null
g++ -std=c++17 -O1 -I. test/gpu/sequence_test_gen.cpp -o "$OUT/sequence_test_gen"
rm -rf "$OUT/gen.new" && mkdir -p "$OUT/gen.new"
"$OUT/sequence_test_gen" "$OUT/gen.new" 8
# Keep unchanged sources (and their objects) from the last build.
for f in "$OUT"/gen.new/*; do
  cmp -s "$f" "$OUT/gen/$(basename "$f")" || cp "$f" "$OUT/gen/"
done
rm -rf "$OUT/gen.new"
ARCH=${ARCH:-sm_90a}
STAMP=$(ls -t targets/common/kernels/*.cuh targets/common/kernels/*.h runtime/include/braid/kernel_abi.h | head -1)
ls "$OUT"/gen/seq_kernels_*.cu | xargs -P "$JOBS" -I{} sh -c '
  f={}; b=$(basename $f .cu); o='"$OUT"'/gen/$b.o
  if [ "$o" -nt "$f" ] && [ "$o" -nt '"$STAMP"' ]; then exit 0; fi
  '"$NVCC"' '"${NVFLAGS[*]}"' -gencode=arch=compute_'"${ARCH#sm_}"',code='"$ARCH"' -Xptxas -v \
    -c "$f" -o "$o" > '"$OUT"'/gen/$b.log 2>&1 \
    || { echo "FAILED: $f"; cat '"$OUT"'/gen/$b.log; exit 1; }'
"$NVCC" "${NVFLAGS[@]}" -gencode=arch=compute_${ARCH#sm_},code=$ARCH -I"$OUT/gen" \
  -Xcompiler -fexceptions -c test/gpu/sequence_kernels_test.cu -o "$OUT/sequence_kernels_test.o"
"$NVCC" -o "$OUT/sequence_kernels_test" "$OUT/sequence_kernels_test.o" "$OUT"/gen/seq_kernels_*.o \
  "$BUILD/runtime/backends/cpu/libBraidCpuBackend.a" -lpthread
echo "build_sequence_kernels_test: built $OUT/sequence_kernels_test"
