//===- Linear.cpp - the `linear` family -----------------------------------===//
//
// y[..., n] = sum_k x[..., k] * weight[n, k] + bias[n]: every leading
// dimension is one GEMM row. With epilogue fusion (passes/EpilogueFusion.h)
// the launch may write its columns as several results, one per piece of the
// split it absorbed, add a residual (a fourth operand) into its result, or
// (attribute `glu`) write act(gate) * up of a gated MLP's [gate; up], or
// of its [up; gate] with `glu_gate = 1`. With prologue fusion
// (passes/PrologueFusion.h, attribute `norm_eps`) the input rows are first
// normalized by the fifth operand, rms_norm's arithmetic into a scratch:
// the same bits as the separate rms_norm launch. Without a fifth operand
// the norm's weight is folded into `weight`'s columns at load (the
// binding's column_scale) and the rows are only scaled; a sixth operand
// then may carry the input rows' sums of squares (below), which this
// backend checks and does not need. With `row_sumsq` the last result is
// [..., ceil(N / 128)]: the sums of the squares of each result row over
// each group of 128 columns, for the next launch's folded norm.
//
//===----------------------------------------------------------------------===//
#include "runtime/backends/cpu/Gemm.h"
#include "runtime/backends/cpu/KernelSupport.h"

#include <algorithm>
#include <vector>

namespace braid::rt::cpu {

namespace {
/// sums[m][g] = sum of y[m][n]^2 over the columns n of group g (128 each).
void rowSumsOfSquares(ThreadPool *pool, const float *y, float *sums,
                      int64_t rows, int64_t n) {
  const int64_t groups = (n + 127) / 128;
  parallelFor(
      pool, rows,
      [&](int64_t m0, int64_t m1) {
        for (int64_t m = m0; m < m1; ++m)
          for (int64_t g = 0; g < groups; ++g)
            sums[m * groups + g] = static_cast<float>(sumSquares(
                y + m * n + g * 128, std::min<int64_t>(128, n - g * 128)));
      },
      grainFor(n));
}
} // namespace

std::string linearKernel(const KernelCall &call) {
  const TensorView &x = operandAt(call, 0), &w = operandAt(call, 1);
  const TensorView &bias = operandAt(call, 2), &res = operandAt(call, 3);
  const TensorView &normW = operandAt(call, 4), &inSums = operandAt(call, 5);
  const bool normed = call.attrs.has("norm_eps");
  const bool writesSums =
      call.attrs.has("row_sumsq") && call.attrs.getBool("row_sumsq");
  const double normEps = normed ? call.attrs.getFloat("norm_eps") : 0.0;
  const bool gated = call.attrs.has("glu");
  std::string gluName = gated ? call.attrs.getString("glu") : "";
  Activation glu = Activation::Identity;
  const int64_t gateHalf = call.attrs.getIntOr("glu_gate", 0);
  Check c(call, "linear");
  c.operandCount(2, normed ? 6 : 4)
      .attrsOk()
      .require(!writesSums || call.results.size() == 2,
               "a 'row_sumsq' launch has one result and the row sums")
      .require(!gated || parseActivation(gluName, glu),
               "attribute 'glu' is '" + gluName + "', not an activation")
      .require(!gated || (call.results.size() == (writesSums ? 2u : 1u) &&
                          !res.present()),
               "a 'glu' launch has one result and no residual")
      .require(gateHalf == 0 || gateHalf == 1,
               "attribute 'glu_gate' is " + std::to_string(gateHalf) +
                   ", not 0 or 1 (the half that is the gate)")
      .require(!call.results.empty(), "the launch has no result")
      .require(!res.present() || call.results.size() == (writesSums ? 2u : 1u),
               "a residual needs exactly one result, the launch has " +
                   std::to_string(call.results.size() - (writesSums ? 1 : 0)))
      .f32("input", x)
      .minRank("input", x, 1)
      .f32("weight", w)
      .rank("weight", w, 2)
      .dimsMatch("weight", w, 1, "input", x, -1, "in_features");
  if (normed)
    c.attrPositive("norm_eps", normEps);
  if (normed && normW.present())
    c.f32("norm_weight", normW)
        .rank("norm_weight", normW, 1)
        .dimsMatch("norm_weight", normW, 0, "input", x, -1, "in_features");
  if (normed && inSums.present())
    c.require(!normW.present(), "operand 5 (row sums) needs the norm's weight "
                                "folded (no operand 4)")
        .f32("row_sums", inSums)
        .rank("row_sums", inSums, x.rank())
        .dimIs("row_sums", inSums, -1, (x.dim(-1) + 127) / 128,
               "one sum a 128 columns of 'input'");
  // The GEMM's results, without the row sums.
  const size_t outs = call.results.size() - (writesSums ? 1 : 0);
  int64_t columns = 0;
  for (size_t i = 0; i < outs && c.ok(); ++i) {
    const TensorView &y = call.results[i];
    std::string name = outs == 1 ? "result" : "result #" + std::to_string(i);
    c.f32(name, y).rank(name, y, x.rank());
    for (int64_t d = 0; c.ok() && d + 1 < x.rank(); ++d)
      c.dimsMatch(name, y, d, "input", x, d, "leading");
    if (c.ok())
      columns += y.dim(-1);
  }
  if (c.ok() && gated)
    c.dimIs("weight", w, 0, 2 * columns,
            "2 x the result's last dim (gate; up)");
  else if (c.ok() && outs == 1)
    c.dimsMatch("result", call.results[0], -1, "weight", w, 0, "out_features");
  else
    c.require(columns == w.dim(0),
              "the results' last dims add up to " + std::to_string(columns) +
                  " but 'weight' dim 0 (out_features) is " +
                  std::to_string(w.dim(0)));
  if (bias.present())
    c.f32("bias", bias)
        .rank("bias", bias, 1)
        .dimsMatch("bias", bias, 0, "weight", w, 0, "out_features");
  // The residual is added after the GEMM wrote the result: they must not
  // share bytes (the planner keeps them apart; a backend cannot assume it).
  if (writesSums && c.ok())
    c.f32("row sums", call.results[1])
        .rank("row sums", call.results[1], x.rank())
        .dimIs("row sums", call.results[1], -1, (columns + 127) / 128,
               "one sum a 128 columns of the result");
  if (res.present())
    c.f32("residual", res)
        .sameShape("residual", res, "result", resultAt(call, 0))
        .require(res.data != resultAt(call, 0).data,
                 "'residual' and the result share a buffer");
  if (!c.ok())
    return c.message();

  GemmArgs a;
  a.K = w.dim(1);
  a.M = 1;
  for (int64_t d = 0; d + 1 < x.rank(); ++d)
    a.M *= x.dim(d);
  a.x = x.f32();
  std::vector<float> normalized;
  if (normed) {
    normalized.resize(static_cast<size_t>(a.M * a.K));
    rmsNormRows(call.pool, x.f32(), normW.present() ? normW.f32() : nullptr,
                normalized.data(), a.M, a.K, normEps);
    a.x = normalized.data();
  }
  a.ldx = a.K;
  a.ldw = a.K;
  if (gated) {
    // h = [gate; up] as the unfused GEMM wrote it, then the activation and
    // mul kernels' arithmetic: the same bits.
    const int64_t I = columns;
    std::vector<float> h(static_cast<size_t>(a.M * 2 * I));
    a.N = 2 * I;
    a.w = w.f32();
    a.bias = bias.present() ? bias.f32() : nullptr;
    a.y = h.data();
    a.ldy = a.N;
    gemm(call.pool, a);
    float *yp = call.results[0].f32();
    parallelFor(
        call.pool, a.M,
        [&](int64_t m0, int64_t m1) {
          for (int64_t m = m0; m < m1; ++m) {
            float *row = h.data() + m * 2 * I;
            float *gate = row + gateHalf * I, *up = row + (1 - gateHalf) * I;
            activateInPlace(glu, gate, I);
            for (int64_t j = 0; j < I; ++j)
              yp[m * I + j] = gate[j] * up[j];
          }
        },
        grainFor(2 * I));
    if (writesSums)
      rowSumsOfSquares(call.pool, yp, call.results[1].f32(), a.M, I);
    return "";
  }
  // One GEMM per piece over its block of weight rows: each element is
  // computed exactly as in the whole GEMM (the K order does not depend on
  // the columns), so a split of the whole result gives the same bits.
  int64_t n0 = 0;
  for (size_t i = 0; i < outs; ++i) {
    const TensorView &y = call.results[i];
    a.N = y.dim(-1);
    a.w = w.f32() + n0 * a.K;
    a.bias = bias.present() ? bias.f32() + n0 : nullptr;
    a.y = y.f32();
    a.ldy = a.N;
    gemm(call.pool, a);
    n0 += a.N;
  }
  if (res.present()) {
    // After the GEMM, as the separate add did: the same bits.
    const TensorView &y = call.results[0];
    const float *r = res.f32();
    float *yp = y.f32();
    int64_t n = y.numel();
    parallelFor(
        call.pool, n,
        [&](int64_t i0, int64_t i1) {
          for (int64_t i = i0; i < i1; ++i)
            yp[i] = r[i] + yp[i];
        },
        16384);
  }
  if (writesSums)
    rowSumsOfSquares(call.pool, call.results[0].f32(), call.results[1].f32(),
                     a.M, columns);
  return "";
}

} // namespace braid::rt::cpu
