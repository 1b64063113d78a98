//===- SSM.cpp - ssd_scan (Mamba2) and selective_scan (Mamba1) ------------===//
//
// Both scans run the exact recurrence token by token in fp32, parallel over
// the independent (batch, head) or (batch, channel block) pairs; the state
// lives in the final-state result (updated in place, aliasing the input
// state or not) or in a zeroed scratch buffer when the op carries none.
// A token costs O(state) work either way, and a sequential scan has no
// chunking error to validate: prefill and decode share one code path.
//
// The per-state-element loops (decay, input, readout) are plain loops over
// state_size that -O3 vectorizes; the readout uses the lane-split dot.
//
//===----------------------------------------------------------------------===//
#include "runtime/backends/cpu/Gemm.h"
#include "runtime/backends/cpu/KernelSupport.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace braid::rt::cpu {

namespace {

/// One token of one head: s[p][:] = decay * s[p][:] + (dt * x[p]) * B and
/// y[p] = s[p] . C + D * x[p], for every p < headDim.
BRAID_VECTOR_CLONES void ssdStep(float *s, int64_t headDim, int64_t n,
                                 float decay, float dt, const float *x,
                                 const float *B, const float *C, float D,
                                 float *y) {
  for (int64_t p = 0; p < headDim; ++p) {
    float *row = s + p * n;
    float dx = dt * x[p];
    for (int64_t k = 0; k < n; ++k)
      row[k] = row[k] * decay + dx * B[k];
    y[p] = dot(row, C, n) + D * x[p];
  }
}

} // namespace

std::string ssdScanKernel(const KernelCall &call) {
  const TensorView &x = operandAt(call, 0), &dt = operandAt(call, 1),
                   &A = operandAt(call, 2), &B = operandAt(call, 3),
                   &C = operandAt(call, 4);
  const TensorView &D = operandAt(call, 5), &dtBias = operandAt(call, 6),
                   &init = operandAt(call, 7);
  const TensorView &y = resultAt(call, 0), &finalState = resultAt(call, 1);
  const AttrMap &attrs = call.attrs;
  int64_t heads = attrs.getInt("num_heads"), headDim = attrs.getInt("head_dim");
  int64_t groups = attrs.getInt("num_groups");
  int64_t n = attrs.getInt("state_size");
  int64_t chunk = attrs.getInt("chunk_size");
  bool softplus = boolOr(attrs, "dt_softplus", true);
  double dtMin = attrs.getFloatOr("dt_min", 0.0);
  double dtMax = attrs.getFloatOr("dt_max", INFINITY);

  Check c(call, "ssd_scan");
  c.operandCount(5, 8)
      .resultCount(init.present() ? 2 : 1)
      .attrsOk()
      .attrAtLeast("num_heads", heads, 1)
      .attrAtLeast("head_dim", headDim, 1)
      .attrAtLeast("num_groups", groups, 1)
      .attrAtLeast("state_size", n, 1)
      .attrAtLeast("chunk_size", chunk, 1)
      .require(heads % std::max<int64_t>(groups, 1) == 0,
               "attribute 'num_heads' (" + std::to_string(heads) +
                   ") must be a multiple of 'num_groups' (" +
                   std::to_string(groups) + ")")
      .require(dtMin >= 0.0 && dtMin <= dtMax,
               "dt limits must satisfy 0 <= dt_min <= dt_max, got [" +
                   std::to_string(dtMin) + ", " + std::to_string(dtMax) + "]")
      .f32("input", x)
      .rank("input", x, 4)
      .dimIs("input", x, 2, heads, "num_heads")
      .dimIs("input", x, 3, headDim, "head_dim")
      .f32("dt", dt)
      .rank("dt", dt, 3)
      .dimsMatch("dt", dt, 0, "input", x, 0, "batch")
      .dimsMatch("dt", dt, 1, "input", x, 1, "seq")
      .dimIs("dt", dt, 2, heads, "num_heads")
      .f32("A", A)
      .rank("A", A, 1)
      .dimIs("A", A, 0, heads, "num_heads");
  for (const char *name : {"B", "C"}) {
    const TensorView &bc = name[0] == 'B' ? B : C;
    c.f32(name, bc)
        .rank(name, bc, 4)
        .dimsMatch(name, bc, 0, "input", x, 0, "batch")
        .dimsMatch(name, bc, 1, "input", x, 1, "seq")
        .dimIs(name, bc, 2, groups, "num_groups")
        .dimIs(name, bc, 3, n, "state_size");
  }
  if (D.present())
    c.f32("D", D).rank("D", D, 1).dimIs("D", D, 0, heads, "num_heads");
  if (dtBias.present())
    c.f32("dt_bias", dtBias)
        .rank("dt_bias", dtBias, 1)
        .dimIs("dt_bias", dtBias, 0, heads, "num_heads");
  c.f32("output", y).sameShape("output", y, "input", x);
  if (init.present() && c.ok())
    c.f32("initial_state", init)
        .shapeIs("initial_state", init, {x.dim(0), heads, headDim, n})
        .f32("final state", finalState)
        .sameShape("final state", finalState, "initial_state", init);
  if (!c.ok())
    return c.message();

  int64_t batch = x.dim(0), seq = x.dim(1), p = headDim;
  int64_t headsPerGroup = heads / groups;
  if (init.present())
    copyStateIfDistinct(init, finalState);
  const float *xp = x.f32(), *dtp = dt.f32(), *ap = A.f32(), *bp = B.f32(),
              *cp = C.f32();
  const float *dp = D.present() ? D.f32() : nullptr;
  const float *biasp = dtBias.present() ? dtBias.f32() : nullptr;
  float *yp = y.f32();

  parallelFor(call.pool, batch * heads, [&](int64_t i0, int64_t i1) {
    std::vector<float> scratch;
    for (int64_t i = i0; i < i1; ++i) {
      int64_t b = i / heads, h = i % heads, g = h / headsPerGroup;
      float *s;
      if (init.present()) {
        s = finalState.f32() + (b * heads + h) * p * n;
      } else {
        scratch.assign(static_cast<size_t>(p * n), 0.0f);
        s = scratch.data();
      }
      for (int64_t t = 0; t < seq; ++t) {
        int64_t bt = b * seq + t;
        float d = dtp[bt * heads + h] + (biasp ? biasp[h] : 0.0f);
        if (softplus)
          d = softplusf(d);
        d = static_cast<float>(
            std::min<double>(std::max<double>(d, dtMin), dtMax));
        ssdStep(s, p, n, std::exp(d * ap[h]), d, xp + (bt * heads + h) * p,
                bp + (bt * groups + g) * n, cp + (bt * groups + g) * n,
                dp ? dp[h] : 0.0f, yp + (bt * heads + h) * p);
      }
    }
  });
  return "";
}

namespace {

/// weight * v / sqrt(mean(v^2) + eps) in place over n values (Jamba's
/// dt/B/C norms).
void rmsNormInPlace(float *v, const float *weight, int64_t n, double eps) {
  float inv = static_cast<float>(1.0 / std::sqrt(sumSquares(v, n) / n + eps));
  for (int64_t i = 0; i < n; ++i)
    v[i] = weight[i] * (v[i] * inv);
}

constexpr int64_t kChannelBlock = 16;

} // namespace

std::string selectiveScanKernel(const KernelCall &call) {
  const TensorView &x = operandAt(call, 0), &xProj = operandAt(call, 1),
                   &dtProj = operandAt(call, 2), &dtBias = operandAt(call, 3),
                   &A = operandAt(call, 4);
  const TensorView &gate = operandAt(call, 5), &D = operandAt(call, 6);
  const TensorView &dtNorm = operandAt(call, 7), &bNorm = operandAt(call, 8),
                   &cNorm = operandAt(call, 9), &state = operandAt(call, 10);
  const TensorView &y = resultAt(call, 0), &finalState = resultAt(call, 1);
  int64_t rank = call.attrs.getInt("dt_rank");
  int64_t n = call.attrs.getInt("state_size");
  double eps = call.attrs.getFloatOr("norm_epsilon", 1e-6);
  bool norms = dtNorm.present() || bNorm.present() || cNorm.present();

  Check c(call, "selective_scan");
  c.operandCount(5, 11)
      .resultCount(state.present() ? 2 : 1)
      .attrsOk()
      .attrAtLeast("dt_rank", rank, 1)
      .attrAtLeast("state_size", n, 1)
      .attrPositive("norm_epsilon", eps)
      .f32("input", x)
      .rank("input", x, 3)
      .f32("output", y)
      .sameShape("output", y, "input", x)
      .f32("x_proj", xProj)
      .rank("x_proj", xProj, 2)
      .dimIs("x_proj", xProj, 0, rank + 2 * n, "dt_rank + 2 * state_size")
      .dimsMatch("x_proj", xProj, 1, "input", x, 2, "d_inner")
      .f32("dt_proj", dtProj)
      .rank("dt_proj", dtProj, 2)
      .dimsMatch("dt_proj", dtProj, 0, "input", x, 2, "d_inner")
      .dimIs("dt_proj", dtProj, 1, rank, "dt_rank")
      .f32("dt_bias", dtBias)
      .rank("dt_bias", dtBias, 1)
      .dimsMatch("dt_bias", dtBias, 0, "input", x, 2, "d_inner")
      .f32("A", A)
      .rank("A", A, 2)
      .dimsMatch("A", A, 0, "input", x, 2, "d_inner")
      .dimIs("A", A, 1, n, "state_size");
  if (gate.present())
    c.f32("gate", gate).sameShape("gate", gate, "input", x);
  if (D.present())
    c.f32("D", D).rank("D", D, 1).dimsMatch("D", D, 0, "input", x, 2,
                                            "d_inner");
  if (norms)
    c.f32("dt_norm", dtNorm)
        .rank("dt_norm", dtNorm, 1)
        .dimIs("dt_norm", dtNorm, 0, rank, "dt_rank")
        .f32("b_norm", bNorm)
        .rank("b_norm", bNorm, 1)
        .dimIs("b_norm", bNorm, 0, n, "state_size")
        .f32("c_norm", cNorm)
        .rank("c_norm", cNorm, 1)
        .dimIs("c_norm", cNorm, 0, n, "state_size");
  if (state.present() && c.ok())
    c.f32("state", state)
        .shapeIs("state", state, {x.dim(0), x.dim(2), n})
        .f32("final state", finalState)
        .sameShape("final state", finalState, "state", state);
  if (!c.ok())
    return c.message();

  int64_t batch = x.dim(0), seq = x.dim(1), inner = x.dim(2);
  int64_t rows = batch * seq, width = rank + 2 * n;

  // 1-3: [dt_low, B, C] = x @ x_proj^T, the optional norms, then
  // dt = softplus(dt_low @ dt_proj^T + dt_bias).
  std::vector<float> proj(static_cast<size_t>(rows * width));
  GemmArgs a;
  a.M = rows;
  a.N = width;
  a.K = inner;
  a.x = x.f32();
  a.ldx = inner;
  a.w = xProj.f32();
  a.ldw = inner;
  a.y = proj.data();
  a.ldy = width;
  gemm(call.pool, a);
  if (norms)
    parallelFor(
        call.pool, rows,
        [&](int64_t r0, int64_t r1) {
          for (int64_t r = r0; r < r1; ++r) {
            float *row = proj.data() + r * width;
            rmsNormInPlace(row, dtNorm.f32(), rank, eps);
            rmsNormInPlace(row + rank, bNorm.f32(), n, eps);
            rmsNormInPlace(row + rank + n, cNorm.f32(), n, eps);
          }
        },
        grainFor(width));
  std::vector<float> delta(static_cast<size_t>(rows * inner));
  GemmArgs d;
  d.M = rows;
  d.N = inner;
  d.K = rank;
  d.x = proj.data();
  d.ldx = width;
  d.w = dtProj.f32();
  d.ldw = rank;
  d.bias = dtBias.f32();
  d.y = delta.data();
  d.ldy = inner;
  gemm(call.pool, d);
  parallelFor(
      call.pool, rows * inner,
      [&](int64_t i0, int64_t i1) {
        activateInPlace(Activation::Softplus, delta.data() + i0, i1 - i0);
      },
      16384);

  // 4-5: the scan, per (batch, block of channels).
  if (state.present())
    copyStateIfDistinct(state, finalState);
  const float *xp = x.f32(), *ap = A.f32();
  const float *gp = gate.present() ? gate.f32() : nullptr;
  const float *dp = D.present() ? D.f32() : nullptr;
  float *yp = y.f32();
  int64_t blocks = (inner + kChannelBlock - 1) / kChannelBlock;
  parallelFor(call.pool, batch * blocks, [&](int64_t i0, int64_t i1) {
    std::vector<float> scratch;
    std::vector<float> decay(static_cast<size_t>(n));
    for (int64_t i = i0; i < i1; ++i) {
      int64_t b = i / blocks, c0 = (i % blocks) * kChannelBlock;
      int64_t cb = std::min(kChannelBlock, inner - c0);
      float *h;
      if (state.present()) {
        h = finalState.f32() + (b * inner + c0) * n;
      } else {
        scratch.assign(static_cast<size_t>(cb * n), 0.0f);
        h = scratch.data();
      }
      for (int64_t t = 0; t < seq; ++t) {
        int64_t bt = b * seq + t;
        const float *Bv = proj.data() + bt * width + rank;
        const float *Cv = Bv + n;
        for (int64_t ch = c0; ch < c0 + cb; ++ch) {
          float dtv = delta[bt * inner + ch], xv = xp[bt * inner + ch];
          float *hr = h + (ch - c0) * n;
          const float *ar = ap + ch * n;
          // Same association as transformers: exp(A * dt) * h + (dt * B) * x.
          for (int64_t k = 0; k < n; ++k)
            decay[k] = std::exp(ar[k] * dtv);
          for (int64_t k = 0; k < n; ++k)
            hr[k] = decay[k] * hr[k] + (dtv * Bv[k]) * xv;
          float out = dot(hr, Cv, n) + (dp ? dp[ch] * xv : 0.0f);
          if (gp)
            out *= siluf(gp[bt * inner + ch]);
          yp[bt * inner + ch] = out;
        }
      }
    }
  });
  return "";
}

} // namespace braid::rt::cpu
