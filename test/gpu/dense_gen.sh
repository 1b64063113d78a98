# The dense-kernel generator (test/gpu/dense_kernel_gen.cpp over the dense
# and GEMM specializers, host C++ and MLIR) that build_dense_kernels_test.sh,
# fusion-check.sh and make-norm-fold-pack.sh run. Source it from the
# repository root: `. test/gpu/dense_gen.sh`.

# build_dense_gen BUILD OUT: compiles the generator into OUT against the
# LaunchDialect library of the cmake build BUILD (LLVM: the LLVM prefix,
# default /usr/lib/llvm-22).
build_dense_gen() {
  local build=$1 out=$2 llvm=${LLVM:-/usr/lib/llvm-22}
  mkdir -p "$(dirname "$out")"
  g++ -std=c++17 -O1 -fno-exceptions -fno-rtti -D_GLIBCXX_USE_CXX11_ABI=1 \
    -I. -I"$build" -isystem "$llvm/include" \
    test/gpu/dense_kernel_gen.cpp targets/common/kernels/SpecializersDense.cpp \
    targets/common/kernels/SpecializersGemm.cpp \
    "$build/dialects/Launch/libLaunchDialect.a" \
    -L"$llvm/lib" -lMLIR -lLLVM -Wl,-rpath,"$llvm/lib" -o "$out"
}

# dense_gen_stale GEN: whether GEN is missing or older than a source it
# compiles.
dense_gen_stale() {
  local gen=$1 src
  [[ -x "$gen" ]] || return 0
  for src in test/gpu/dense_kernel_gen.cpp \
    targets/common/kernels/SpecializersDense.cpp \
    targets/common/kernels/SpecializersGemm.cpp \
    targets/common/kernels/SpecializersDenseSupport.h; do
    [[ "$src" -nt "$gen" ]] && return 0
  done
  return 1
}
