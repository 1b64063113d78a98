#!/usr/bin/env bash
# The decode linears that fold their input's rms_norm (passes/PrologueFusion.h)
# on one NVIDIA GPU, from a pack built on the build machine:
#
#   1. with bundles in the pack: a bamba-1.5b bf16 decode step at B = 1 and
#      B = 64 (512-token prompts, 64 new tokens, CUDA graph, random weights)
#      with the fold (fold.bundle) and without (nofold.bundle, braidc
#      --no-fold-norms --no-decode-norms), alternately, REPS times each, and
#      how many rows both generate alike (bf16: the folded skinny kernel does
#      not round the normalized row to bf16, and with the norm weight folded
#      into the linear's the weights round differently, so tokens may
#      differ);
#   2. the norm cases of make_dense_cases.py (every linear launch with
#      norm_eps or row_sumsq: skinny at M <= 16, the TMA tiles scaling rows
#      by the row sums of operand 5, norm kernel into the workspace + tensor
#      cores above; bf16 and f32; GLU, residual and split epilogues) against
#      the CPU reference by dense_kernels_test at B*T = 1, 3, 16, 17, 33, 64,
#      128 (prefill: 2x37, 1, 300, 4500), then compute-sanitizer memcheck on
#      the small ones;
# Pack PACK/ (build machine: test/gpu/make-norm-fold-pack.sh): cases/ (k*.cu and
# cases.txt of dense-kernel-gen over the norm cases), optionally bin/braid-run,
# fold.bundle, nofold.bundle, ids512.txt, ids64x512.txt.
# usage: decode-norm-fold-check.sh PACK LOGDIR   (from the repository root)
set -uo pipefail
export PATH=$PATH:/usr/local/cuda/bin
PACK=$1
LOG=$2
mkdir -p "$LOG"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee "$LOG/card.txt"
status=0

# The dense-case build (cubins for sm_90a, the CPU reference objects, the
# test program) runs niced in the background while the GPU times decode.
NVFLAGS=(-std=c++17 -O3 -lineinfo -I. -Iruntime/include)
build_cases() {
  mkdir -p "$PACK/cases/sm_90a" "$PACK/cpu"
  local objs=() f o
  for f in runtime/backends/cpu/*.cpp; do
    [[ $f == */CpuBackend.cpp ]] && continue
    o=$PACK/cpu/$(basename "$f" .cpp).o
    g++ -std=c++17 -O3 -fPIC -I. -c "$f" -o "$o" &
    objs+=("$o")
  done
  nvcc "${NVFLAGS[@]}" -gencode=arch=compute_90a,code=sm_90a -c test/gpu/dense_kernels_test.cu \
    -o "$PACK/dense_kernels_test.o" > "$LOG/build.log" 2>&1 &
  ls "$PACK"/cases/k*.cu | xargs -P "$(nproc)" -I{} sh -c '
    b=$(basename {} .cu)
    nvcc '"${NVFLAGS[*]}"' -cubin -gencode=arch=compute_90a,code=sm_90a {} \
      -o '"$PACK"'/cases/sm_90a/$b.cubin > '"$PACK"'/cases/sm_90a/$b.log 2>&1 ||
      { echo "FAILED: {}"; cat '"$PACK"'/cases/sm_90a/$b.log; }' > "$LOG/nvcc.log" 2>&1
  wait
  nvcc "${NVFLAGS[@]}" -gencode=arch=compute_90a,code=sm_90a "$PACK/dense_kernels_test.o" \
    "${objs[@]}" -L/usr/local/cuda/lib64/stubs -lcuda -lpthread \
    -o "$PACK/dense_kernels_test" >> "$LOG/build.log" 2>&1
}
(renice -n 19 "$BASHPID" > /dev/null; build_cases) > "$LOG/build-cases.log" 2>&1 &
builder=$!

# 1. Decode step times with and without the fold.
if [[ -f "$PACK/fold.bundle" && -x "$PACK/bin/braid-run" ]]; then
  run() { # NAME BUNDLE IDS
    local out
    out=$(timeout 60 "$PACK/bin/braid-run" generate "$PACK/$2" --backend cuda \
      --random-weights 1 --max-seq 1024 -n 64 --cuda-graph --ids-file "$PACK/$3" 2>&1)
    echo "$out" > "$LOG/$1.log"
    grep "generated:" <<< "$out" > "$LOG/$1.rows"
    printf '%-16s %s\n' "$1" "$(grep -oE '[0-9.]+ ms/step, [0-9.]+ tokens/s' <<< "$out" | tail -1)"
  }
  for r in $(seq "${REPS:-2}"); do
    for b in fold nofold; do
      run "$b-B1-$r" $b.bundle ids512.txt
      run "$b-B64-$r" $b.bundle ids64x512.txt
    done
  done | tee "$LOG/decode.txt"
  for b in B1 B64; do
    echo "$b rows fold vs nofold: $(paste -d'|' "$LOG/fold-$b-1.rows" "$LOG/nofold-$b-1.rows" |
      awk -F'|' '$1 == $2' | wc -l) of $(wc -l < "$LOG/fold-$b-1.rows") equal"
  done
fi

# 2. The norm cases against the CPU reference, then memcheck.
wait $builder
grep -q FAILED "$LOG/nvcc.log" && { status=1; head -30 "$LOG/nvcc.log"; }
[[ -x "$PACK/dense_kernels_test" ]] || { status=1; tail -20 "$LOG/build.log"; }
timeout 120 "$PACK/dense_kernels_test" "$PACK/cases" --filter linear --no-bench \
  --log "$LOG/dense.log" > /dev/null 2>&1 || status=1
grep -E "FAIL|^linear" "$LOG/dense.log" | tail -12
timeout "${MEMCHECK_S:-90}" compute-sanitizer --tool memcheck --print-limit 10 \
  "$PACK/dense_kernels_test" "$PACK/cases" --filter linear --no-bench --small \
  > "$LOG/memcheck.log" 2>&1 || status=1
echo "memcheck: $(grep -E 'ERROR SUMMARY' "$LOG/memcheck.log" | tail -1)"
exit $status

# The pack: test/gpu/make-norm-fold-pack.sh PACK (BUNDLES=1 for the bundles).
