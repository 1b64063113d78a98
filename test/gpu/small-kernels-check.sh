#!/usr/bin/env bash
# The prefill small kernels (causal_conv1d, rope; the norms timed only) of
# this tree against an older tree's, on one H100 / H200, from a pack:
#   1. dense_kernels_test against the CPU reference, this tree's plans:
#      causal_conv1d, rope, rms_norm, gated_rms_norm, layer_norm, f32 and
#      bf16, odd shapes (make_dense_cases.py), prefill at (B, T) = (2, 37),
#      (1, 1), (1, 300), decode at (3, 1), (1, 1); then compute-sanitizer
#      memcheck over the conv and rope cases;
#   2. the plans' memory-bound bench (--bench-only --filter F, bf16, B = 1,
#      T = 4096, the same buffers every launch) of the old tree's plans and
#      this tree's, old first, per family;
#   3. small_kernels_bench: conv and rope, old kernels against new with
#      alternatives, and the norms' team sizes, over buffers rotated past
#      L2 (DRAM times), next to the card's copy rate.
# Pack (on the build machine, nvcc, no GPU):
#   BUILD=build/X test/gpu/small-kernels-check.sh --pack BASE PACK
#   BASE: the older commit (its specializers and kernels); BUILD: a cmake
#   build with LaunchDialect and BraidCpuBackend (ninja builds them).
# usage: small-kernels-check.sh PACK[.tgz] LOGDIR   (give it 200 s)
#   The pack holds a copy of this script: on a machine with only the pack,
#   `tar xzf PACK.tgz -C DIR && bash DIR/NAME/small-kernels-check.sh
#   DIR/NAME LOGDIR` (NAME: the pack's folder).
set -uo pipefail
FAMS="causal_conv1d rope rms_norm gated_rms_norm layer_norm"
if [[ "${1:-}" == "--pack" ]]; then
  set -e
  SELF=$(realpath "$0")
  cd "$(dirname "$0")/../.."
  BASE=$2 PACK=$3
  BUILD=${BUILD:-build/kdense}
  LLVM=${LLVM:-/usr/lib/llvm-22}
  NVCC=${NVCC:-nvcc}
  JOBS=${JOBS:-2}
  ROOT=$PWD
  OLD=$PACK.old-src
  rm -rf "$PACK" "$OLD" && mkdir -p "$PACK/new" "$PACK/old" "$OLD"
  git archive "$BASE" targets test/gpu runtime/include | tar -x -C "$OLD"
  ninja -C "$BUILD" LaunchDialect BraidCpuBackend >/dev/null
  . test/gpu/dense_gen.sh
  build_dense_gen "$BUILD" "$PACK/gen-new"
  # The old generator: the old specializers (first on the include path),
  # this tree's dialect and build.
  (cd "$OLD" && g++ -std=c++17 -O1 -fno-exceptions -fno-rtti -D_GLIBCXX_USE_CXX11_ABI=1 \
    -I. -I"$ROOT" -I"$ROOT/$BUILD" -isystem "$LLVM/include" \
    test/gpu/dense_kernel_gen.cpp targets/common/kernels/SpecializersDense.cpp \
    targets/common/kernels/SpecializersGemm.cpp "$ROOT/$BUILD/dialects/Launch/libLaunchDialect.a" \
    -L"$LLVM/lib" -lMLIR -lLLVM -Wl,-rpath,"$LLVM/lib" -o "$ROOT/$PACK/gen-old")
  python3 test/gpu/make_dense_cases.py "$PACK/cases-src"
  only=$(echo $FAMS | tr ' ' ,)
  "$PACK/gen-new" --only "$only" --out "$PACK/new/cases" "$PACK"/cases-src/*.mlir
  "$PACK/gen-old" --only "$only" --out "$PACK/old/cases" "$PACK"/cases-src/*.mlir
  for side in new old; do
    inc=$ROOT
    [[ $side == old ]] && inc=$ROOT/$OLD
    mkdir -p "$PACK/$side/cases/sm_90a"
    ls "$PACK/$side/cases"/k*.cu | xargs -P "$JOBS" -I{} sh -c '
      f={}; b=$(basename $f .cu)
      '"$NVCC"' -std=c++17 -O3 -lineinfo -I'"$inc"' -I'"$ROOT"'/runtime/include -cubin \
        -gencode=arch=compute_90a,code=sm_90a "$f" -o '"$PACK/$side"'/cases/sm_90a/$b.cubin'
    rm -f "$PACK/$side/cases"/k*.cu
  done
  # The test program (host, CPU reference kernels) and the sweep.
  mkdir -p "$PACK/cpu"
  objs=()
  for f in runtime/backends/cpu/*.cpp; do
    [[ $f == */CpuBackend.cpp ]] && continue
    o=$PACK/cpu/$(basename "$f" .cpp).o
    g++ -std=c++17 -O3 -fPIC -I. -c "$f" -o "$o"
    objs+=("$o")
  done
  CUDA_HOME=${CUDA_HOME:-$(dirname "$(dirname "$(command -v "$NVCC")")")}
  "$NVCC" -std=c++17 -O3 -lineinfo -I. -Iruntime/include -gencode=arch=compute_90a,code=sm_90a \
    test/gpu/dense_kernels_test.cu "${objs[@]}" -L"$CUDA_HOME/lib64/stubs" -lcuda -lpthread \
    -o "$PACK/dense_kernels_test"
  "$NVCC" -std=c++17 -O3 -lineinfo -I. -Iruntime/include -DBRAID_OLD_CONV="\"$ROOT/$OLD/targets/common/kernels/Conv.cuh\"" \
    -DBRAID_OLD_ROPE="\"$ROOT/$OLD/targets/common/kernels/Rope.cuh\"" \
    -gencode=arch=compute_90a,code=sm_90a test/gpu/small_kernels_bench.cu -o "$PACK/small_kernels_bench"
  rm -rf "$PACK/cpu" "$PACK/cases-src" "$PACK/gen-new" "$PACK/gen-old" "$OLD"
  cp "$SELF" "$PACK/" # runs from the pack alone
  tar czf "$PACK.tgz" -C "$(dirname "$PACK")" "$(basename "$PACK")"
  echo "packed $PACK.tgz ($(du -h "$PACK.tgz" | cut -f1))"
  exit 0
fi
export PATH=$PATH:/usr/local/cuda/bin
PACK=$1
LOG=$2
mkdir -p "$LOG"
if [[ $PACK == *.tgz ]]; then
  rm -rf /tmp/braid-small && mkdir -p /tmp/braid-small
  tar -C /tmp/braid-small -xzf "$PACK" || exit 2
  PACK=$(ls -d /tmp/braid-small/*/ | head -1)
  PACK=${PACK%/}
fi
BIN=$PACK/dense_kernels_test
status=0
SECONDS=0
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw \
  --format=csv | tee "$LOG/gpu.txt"
# 1. Correctness.
for fam in $FAMS; do
  timeout 40 "$BIN" "$PACK/new/cases" --filter "$fam" --no-bench --log "$LOG/check-$fam.log" \
    > /dev/null 2>&1
  rc=$?
  [[ $rc == 0 ]] || status=1
  echo "check $fam: rc=$rc $(grep -E '^[0-9]+ runs, [0-9]+ failed' "$LOG/check-$fam.log" | tail -1) (${SECONDS}s)"
done
grep -h "FAIL" "$LOG"/check-*.log | head -20
grep -hE "^(causal_conv1d|rope|rms_norm|gated_rms_norm|layer_norm) +(f32|bf16)" "$LOG"/check-*.log
# 2. The plans' bench, old then new.
for fam in causal_conv1d rope gated_rms_norm rms_norm; do
  for side in old new; do
    timeout 30 "$BIN" "$PACK/$side/cases" --bench-only --filter "$fam" 2>&1 |
      grep -E "^BENCH" | sed "s/^/$side /" | tee -a "$LOG/plan-bench.log"
  done
done
echo "plan bench done (${SECONDS}s)"
# 3. The sweep.
timeout 90 "$PACK/small_kernels_bench" --log "$LOG/sweep.log" || status=1
echo "sweep done (${SECONDS}s)"
# 4. memcheck over the small conv and rope cases.
if command -v compute-sanitizer >/dev/null; then
  for fam in causal_conv1d rope; do
    (( SECONDS > 170 )) && { echo "memcheck: out of time before $fam"; break; }
    timeout 40 compute-sanitizer --tool memcheck --print-limit 10 "$BIN" "$PACK/new/cases" \
      --filter "$fam" --no-bench --small > "$LOG/memcheck-$fam.log" 2>&1
    rc=$?
    [[ $rc == 0 ]] || status=1
    echo "memcheck $fam: rc=$rc $(grep -E 'ERROR SUMMARY' "$LOG/memcheck-$fam.log" | tail -1) (${SECONDS}s)"
  done
fi
exit $status
