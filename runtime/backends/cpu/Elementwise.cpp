//===- Elementwise.cpp - activation, add, mul, scale, rope ----------------===//
//
// Maps over contiguous memory, parallel over chunks of rows. `rope` follows
// transformers' fp32 path bit for bit where it can: inv_freq and the angle
// are fp32 products, cos/sin are taken of the fp32 angle.
//
//===----------------------------------------------------------------------===//
#include "runtime/backends/cpu/KernelSupport.h"

#include <cmath>
#include <vector>

namespace braid::rt::cpu {

std::string activationKernel(const KernelCall &call) {
  const TensorView &x = operandAt(call, 0), &y = resultAt(call, 0);
  std::string kindName = call.attrs.getString("kind");
  Activation kind;
  Check c(call, "activation");
  c.operandCount(1, 1)
      .resultCount(1)
      .attrsOk()
      .require(parseActivation(kindName, kind),
               "attribute 'kind' is '" + kindName +
                   "', not an activation (identity, silu, gelu, gelu_tanh, "
                   "relu, relu2, sigmoid, softplus, tanh)")
      .f32("input", x)
      .f32("result", y)
      .sameShape("result", y, "input", x);
  if (!c.ok())
    return c.message();
  const float *xp = x.f32();
  float *yp = y.f32();
  parallelFor(
      call.pool, x.numel(),
      [&](int64_t i0, int64_t i1) {
        if (yp != xp)
          std::memcpy(yp + i0, xp + i0, sizeof(float) * (i1 - i0));
        activateInPlace(kind, yp + i0, i1 - i0);
      },
      16384);
  return "";
}

namespace {

/// Shared by add and mul: `rhs` equals `lhs` in shape or matches its
/// trailing dimensions (a per-channel vector), and is repeated over the
/// leading ones.
template <typename Op>
std::string broadcastBinary(const KernelCall &call, const char *family, Op op) {
  const TensorView &lhs = operandAt(call, 0), &rhs = operandAt(call, 1);
  const TensorView &y = resultAt(call, 0);
  Check c(call, family);
  c.operandCount(2, 2)
      .resultCount(1)
      .f32("lhs", lhs)
      .f32("rhs", rhs)
      .f32("result", y)
      .sameShape("result", y, "lhs", lhs)
      .require(rhs.rank() <= lhs.rank(),
               "'rhs' has rank " + std::to_string(rhs.rank()) +
                   " but 'lhs' only " + std::to_string(lhs.rank()) +
                   "; 'rhs' broadcasts over leading dims only");
  int64_t offset = lhs.rank() - rhs.rank();
  for (int64_t d = 0; c.ok() && d < rhs.rank(); ++d)
    c.dimsMatch("rhs", rhs, d, "lhs", lhs, d + offset, "broadcast");
  if (!c.ok())
    return c.message();

  const float *a = lhs.f32(), *b = rhs.f32();
  float *out = y.f32();
  int64_t inner = rhs.numel(), total = lhs.numel();
  if (inner == total || inner == 0) {
    parallelFor(
        call.pool, total,
        [&](int64_t i0, int64_t i1) {
          for (int64_t i = i0; i < i1; ++i)
            out[i] = op(a[i], b[i]);
        },
        16384);
    return "";
  }
  parallelFor(
      call.pool, total / inner,
      [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          const float *ar = a + r * inner;
          float *yr = out + r * inner;
          for (int64_t i = 0; i < inner; ++i)
            yr[i] = op(ar[i], b[i]);
        }
      },
      grainFor(inner));
  return "";
}

} // namespace

std::string addKernel(const KernelCall &call) {
  return broadcastBinary(call, "add", [](float a, float b) { return a + b; });
}

std::string mulKernel(const KernelCall &call) {
  return broadcastBinary(call, "mul", [](float a, float b) { return a * b; });
}

std::string scaleKernel(const KernelCall &call) {
  const TensorView &x = operandAt(call, 0), &y = resultAt(call, 0);
  double factor = call.attrs.getFloat("factor");
  Check c(call, "scale");
  c.operandCount(1, 1)
      .resultCount(1)
      .attrsOk()
      .f32("input", x)
      .f32("result", y)
      .sameShape("result", y, "input", x);
  if (!c.ok())
    return c.message();
  // PyTorch multiplies an fp32 tensor by a Python float in fp32.
  float f = static_cast<float>(factor);
  const float *xp = x.f32();
  float *yp = y.f32();
  parallelFor(
      call.pool, x.numel(),
      [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i)
          yp[i] = xp[i] * f;
      },
      16384);
  return "";
}

std::string ropeKernel(const KernelCall &call) {
  const TensorView &x = operandAt(call, 0), &pos = operandAt(call, 1);
  const TensorView &y = resultAt(call, 0);
  int64_t rot = call.attrs.getInt("rotary_dim");
  double theta = call.attrs.getFloat("theta");
  // A unit attribute: present means true.
  bool interleaved = boolOr(call.attrs, "interleaved", false);
  Check c(call, "rope");
  c.operandCount(2, 2)
      .resultCount(1)
      .attrsOk()
      .attrAtLeast("rotary_dim", rot, 2)
      .require(rot % 2 == 0, "attribute 'rotary_dim' is " +
                                 std::to_string(rot) +
                                 ", must be even (channels rotate in pairs)")
      .attrPositive("theta", theta)
      .f32("input", x)
      .rank("input", x, 4)
      .i64("positions", pos)
      .rank("positions", pos, 2)
      .dimsMatch("positions", pos, 0, "input", x, 0, "batch")
      .dimsMatch("positions", pos, 1, "input", x, 1, "seq")
      .f32("result", y)
      .sameShape("result", y, "input", x);
  if (c.ok())
    c.require(rot <= x.dim(3), "attribute 'rotary_dim' is " +
                                   std::to_string(rot) +
                                   " but 'input' dim 3 (head_dim) is only " +
                                   std::to_string(x.dim(3)));
  if (!c.ok())
    return c.message();

  int64_t heads = x.dim(2), headDim = x.dim(3), half = rot / 2;
  // inv_freq[i] = 1 / theta^(2i / rot), every step in fp32 as transformers
  // computes it (arange(0, rot, 2).float() / rot, then pow, then 1 / that).
  std::vector<float> invFreq(half);
  for (int64_t i = 0; i < half; ++i) {
    float exponent = static_cast<float>(2 * i) / static_cast<float>(rot);
    invFreq[i] = 1.0f / std::pow(static_cast<float>(theta), exponent);
  }
  const float *xp = x.f32();
  const int64_t *pp = pos.i64();
  float *yp = y.f32();
  parallelFor(
      call.pool, x.dim(0) * x.dim(1),
      [&](int64_t t0, int64_t t1) {
        std::vector<float> cosv(half), sinv(half);
        for (int64_t t = t0; t < t1; ++t) {
          float p = static_cast<float>(pp[t]);
          for (int64_t i = 0; i < half; ++i) {
            float angle = p * invFreq[i];
            cosv[i] = std::cos(angle);
            sinv[i] = std::sin(angle);
          }
          for (int64_t h = 0; h < heads; ++h) {
            const float *xr = xp + (t * heads + h) * headDim;
            float *yr = yp + (t * heads + h) * headDim;
            for (int64_t i = 0; i < half; ++i) {
              // Pair (a, b): the two halves (NeoX) or neighbours (GPT-J).
              int64_t ia = interleaved ? 2 * i : i;
              int64_t ib = interleaved ? 2 * i + 1 : i + half;
              float a = xr[ia], b = xr[ib];
              yr[ia] = a * cosv[i] - b * sinv[i];
              yr[ib] = b * cosv[i] + a * sinv[i];
            }
            for (int64_t i = rot; i < headDim; ++i)
              yr[i] = xr[i];
          }
        }
      },
      grainFor(heads * headDim, 4096));
  return "";
}

} // namespace braid::rt::cpu
