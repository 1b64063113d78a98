//===- Linear.cpp - the `linear` family -----------------------------------===//
//
// y[..., n] = sum_k x[..., k] * weight[n, k] + bias[n]: every leading
// dimension is one GEMM row.
//
//===----------------------------------------------------------------------===//
#include "runtime/backends/cpu/Gemm.h"
#include "runtime/backends/cpu/KernelSupport.h"

namespace braid::rt::cpu {

std::string linearKernel(const KernelCall &call) {
  const TensorView &x = operandAt(call, 0), &w = operandAt(call, 1);
  const TensorView &bias = operandAt(call, 2), &y = resultAt(call, 0);
  Check c(call, "linear");
  c.operandCount(2, 3)
      .resultCount(1)
      .f32("input", x)
      .minRank("input", x, 1)
      .f32("weight", w)
      .rank("weight", w, 2)
      .dimsMatch("weight", w, 1, "input", x, -1, "in_features")
      .f32("result", y)
      .rank("result", y, x.rank());
  for (int64_t d = 0; c.ok() && d + 1 < x.rank(); ++d)
    c.dimsMatch("result", y, d, "input", x, d, "leading");
  c.dimsMatch("result", y, -1, "weight", w, 0, "out_features");
  if (bias.present())
    c.f32("bias", bias)
        .rank("bias", bias, 1)
        .dimsMatch("bias", bias, 0, "weight", w, 0, "out_features");
  if (!c.ok())
    return c.message();

  GemmArgs a;
  a.K = w.dim(1);
  a.N = w.dim(0);
  a.M = 1;
  for (int64_t d = 0; d + 1 < x.rank(); ++d)
    a.M *= x.dim(d);
  a.x = x.f32();
  a.ldx = a.K;
  a.w = w.f32();
  a.ldw = a.K;
  a.bias = bias.present() ? bias.f32() : nullptr;
  a.y = y.f32();
  a.ldy = a.N;
  gemm(call.pool, a);
  return "";
}

} // namespace braid::rt::cpu
