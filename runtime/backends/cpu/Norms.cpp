//===- Norms.cpp - rms_norm, layer_norm, gated_rms_norm -------------------===//
//
// Row-wise normalizations, parallel over rows. Reductions run in double
// (cheap next to the memory traffic) and the scaling in fp32 in the order
// transformers uses: (x * rsqrt(var + eps)) * weight.
//
//===----------------------------------------------------------------------===//
#include "runtime/backends/cpu/KernelSupport.h"

#include <cmath>

namespace braid::rt::cpu {

namespace {

/// 1 / sqrt(mean + eps) as the fp32 factor the rows are scaled by.
float inverseRms(double sumSq, int64_t n, double eps) {
  return static_cast<float>(1.0 / std::sqrt(sumSq / n + eps));
}

/// Rows of the last dimension of `x` (all of it for rank 1).
int64_t rowsOf(const TensorView &x) {
  int64_t h = x.dim(-1);
  return h ? x.numel() / h : 0;
}

} // namespace

std::string rmsNormKernel(const KernelCall &call) {
  const TensorView &x = operandAt(call, 0), &w = operandAt(call, 1);
  const TensorView &y = resultAt(call, 0);
  double eps = call.attrs.getFloat("epsilon");
  Check c(call, "rms_norm");
  c.operandCount(2, 2)
      .resultCount(1)
      .attrsOk()
      .attrPositive("epsilon", eps)
      .f32("input", x)
      .minRank("input", x, 1)
      .f32("weight", w)
      .rank("weight", w, 1)
      .dimsMatch("weight", w, 0, "input", x, -1, "hidden")
      .f32("result", y)
      .sameShape("result", y, "input", x);
  if (!c.ok())
    return c.message();

  rmsNormRows(call.pool, x.f32(), w.f32(), y.f32(), rowsOf(x), x.dim(-1), eps);
  return "";
}

void rmsNormRows(ThreadPool *pool, const float *x, const float *w, float *y,
                 int64_t rows, int64_t h, double eps) {
  parallelFor(
      pool, rows,
      [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          const float *xr = x + r * h;
          float *yr = y + r * h;
          float inv = inverseRms(sumSquares(xr, h), h, eps);
          if (w)
            for (int64_t i = 0; i < h; ++i)
              yr[i] = w[i] * (xr[i] * inv);
          else
            for (int64_t i = 0; i < h; ++i)
              yr[i] = xr[i] * inv;
        }
      },
      grainFor(h));
}

std::string layerNormKernel(const KernelCall &call) {
  const TensorView &x = operandAt(call, 0), &w = operandAt(call, 1);
  const TensorView &b = operandAt(call, 2), &y = resultAt(call, 0);
  double eps = call.attrs.getFloat("epsilon");
  Check c(call, "layer_norm");
  c.operandCount(1, 3)
      .resultCount(1)
      .attrsOk()
      .attrPositive("epsilon", eps)
      .f32("input", x)
      .minRank("input", x, 1)
      .f32("result", y)
      .sameShape("result", y, "input", x);
  if (w.present())
    c.f32("weight", w)
        .rank("weight", w, 1)
        .dimsMatch("weight", w, 0, "input", x, -1, "hidden");
  if (b.present())
    c.f32("bias", b)
        .rank("bias", b, 1)
        .dimsMatch("bias", b, 0, "input", x, -1, "hidden");
  if (!c.ok())
    return c.message();

  int64_t h = x.dim(-1);
  const float *xp = x.f32();
  const float *wp = w.present() ? w.f32() : nullptr;
  const float *bp = b.present() ? b.f32() : nullptr;
  float *yp = y.f32();
  parallelFor(
      call.pool, rowsOf(x),
      [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          const float *xr = xp + r * h;
          float *yr = yp + r * h;
          // Two passes: the biased variance of the centred values, which
          // stays accurate when the mean is large.
          double sum = 0.0;
          for (int64_t i = 0; i < h; ++i)
            sum += xr[i];
          double mean = sum / h, sq = 0.0;
          for (int64_t i = 0; i < h; ++i)
            sq += (xr[i] - mean) * (xr[i] - mean);
          float inv = static_cast<float>(1.0 / std::sqrt(sq / h + eps));
          float m = static_cast<float>(mean);
          for (int64_t i = 0; i < h; ++i) {
            float v = (xr[i] - m) * inv;
            if (wp)
              v *= wp[i];
            if (bp)
              v += bp[i];
            yr[i] = v;
          }
        }
      },
      grainFor(h));
  return "";
}

std::string gatedRmsNormKernel(const KernelCall &call) {
  const TensorView &x = operandAt(call, 0), &g = operandAt(call, 1);
  const TensorView &w = operandAt(call, 2), &y = resultAt(call, 0);
  int64_t group = call.attrs.getInt("group_size");
  double eps = call.attrs.getFloat("epsilon");
  bool normFirst = boolOr(call.attrs, "norm_before_gate", false);
  Check c(call, "gated_rms_norm");
  c.operandCount(3, 3)
      .resultCount(1)
      .attrsOk()
      .attrAtLeast("group_size", group, 1)
      .attrPositive("epsilon", eps)
      .f32("input", x)
      .minRank("input", x, 1)
      .f32("gate", g)
      .sameShape("gate", g, "input", x)
      .f32("weight", w)
      .rank("weight", w, 1)
      .dimsMatch("weight", w, 0, "input", x, -1, "hidden")
      .f32("result", y)
      .sameShape("result", y, "input", x);
  if (c.ok())
    c.require(x.dim(-1) % group == 0,
              "'input' last dim (hidden) is " + std::to_string(x.dim(-1)) +
                  ", not a multiple of attribute 'group_size' (" +
                  std::to_string(group) + ")");
  if (!c.ok())
    return c.message();

  int64_t h = x.dim(-1);
  const float *xp = x.f32(), *gp = g.f32(), *wp = w.f32();
  float *yp = y.f32();
  parallelFor(
      call.pool, rowsOf(x),
      [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          const float *xr = xp + r * h, *gr = gp + r * h;
          float *yr = yp + r * h;
          for (int64_t g0 = 0; g0 < h; g0 += group) {
            if (normFirst) {
              // y = rmsnorm(x) * weight * silu(gate)
              float inv = inverseRms(sumSquares(xr + g0, group), group, eps);
              for (int64_t i = g0; i < g0 + group; ++i)
                yr[i] = wp[i] * (xr[i] * inv) * siluf(gr[i]);
            } else {
              // y = rmsnorm(x * silu(gate)) * weight; yr holds the gated
              // values between the passes.
              for (int64_t i = g0; i < g0 + group; ++i)
                yr[i] = xr[i] * siluf(gr[i]);
              float inv = inverseRms(sumSquares(yr + g0, group), group, eps);
              for (int64_t i = g0; i < g0 + group; ++i)
                yr[i] = wp[i] * (yr[i] * inv);
            }
          }
        }
      },
      grainFor(h));
  return "";
}

} // namespace braid::rt::cpu
