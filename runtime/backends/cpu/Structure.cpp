//===- Structure.cpp - data movement, merges, greedy_next -----------------===//
//
// Data movement and the merges of parallel branches. Copies run as memcpy
// of the contiguous runs that a row-major axis split leaves. greedy_next
// (the end of decode_greedy) picks each sequence's next token.
//
//===----------------------------------------------------------------------===//
#include "runtime/backends/cpu/Gemm.h"
#include "runtime/backends/cpu/KernelSupport.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace braid::rt::cpu {

std::string embeddingKernel(const KernelCall &call) {
  const TensorView &ids = operandAt(call, 0), &table = operandAt(call, 1);
  const TensorView &y = resultAt(call, 0);
  Check c(call, "embedding");
  c.operandCount(2, 2)
      .resultCount(1)
      .i64("ids", ids)
      .rank("ids", ids, 2)
      .f32("table", table)
      .rank("table", table, 2)
      .f32("result", y)
      .rank("result", y, 3)
      .dimsMatch("result", y, 0, "ids", ids, 0, "batch")
      .dimsMatch("result", y, 1, "ids", ids, 1, "seq")
      .dimsMatch("result", y, 2, "table", table, 1, "hidden");
  if (!c.ok())
    return c.message();
  int64_t vocab = table.dim(0), hidden = table.dim(1), n = ids.numel();
  const int64_t *idp = ids.i64();
  // Every id is checked before anything is written.
  for (int64_t i = 0; i < n; ++i)
    if (idp[i] < 0 || idp[i] >= vocab)
      return c
          .require(false, "'ids' value " + std::to_string(idp[i]) + " at [" +
                              std::to_string(i / ids.dim(1)) + ", " +
                              std::to_string(i % ids.dim(1)) +
                              "] is outside the vocabulary [0, " +
                              std::to_string(vocab) + ")")
          .message();
  const float *tp = table.f32();
  float *yp = y.f32();
  parallelFor(
      call.pool, n,
      [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i)
          std::memcpy(yp + i * hidden, tp + idp[i] * hidden,
                      sizeof(float) * hidden);
      },
      grainFor(hidden));
  return "";
}

namespace {

/// Product of the dims before `axis` and after it.
void outerInner(const std::vector<int64_t> &shape, int64_t axis, int64_t &outer,
                int64_t &inner) {
  outer = inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= shape[d];
  for (int64_t d = axis + 1; d < static_cast<int64_t>(shape.size()); ++d)
    inner *= shape[d];
}

} // namespace

std::string gatherLastKernel(const KernelCall &call) {
  const TensorView &x = operandAt(call, 0), &y = resultAt(call, 0);
  Check c(call, "gather_last");
  c.operandCount(1, 1)
      .resultCount(1)
      .f32("input", x)
      .rank("input", x, 3)
      .f32("result", y)
      .rank("result", y, 3)
      .dimsMatch("result", y, 0, "input", x, 0, "batch")
      .dimIs("result", y, 1, 1, "one row per sequence")
      .dimsMatch("result", y, 2, "input", x, 2, "hidden");
  if (!c.ok())
    return c.message();
  c.require(x.dim(1) >= 1, "'input' has no tokens");
  if (!c.ok())
    return c.message();
  int64_t tokens = x.dim(1), hidden = x.dim(2);
  const float *xp = x.f32();
  float *yp = y.f32();
  // B rows of H floats: too little to be worth the pool.
  for (int64_t b = 0; b < x.dim(0); ++b)
    std::memcpy(yp + b * hidden, xp + (b * tokens + tokens - 1) * hidden,
                sizeof(float) * hidden);
  return "";
}

std::string greedyNextKernel(const KernelCall &call) {
  const TensorView &logits = operandAt(call, 0);
  const TensorView &ids = resultAt(call, 0), &positions = resultAt(call, 1),
                   &cache = resultAt(call, 2);
  Check c(call, "greedy_next");
  c.operandCount(1, 1)
      .resultCount(3)
      .f32("logits", logits)
      .rank("logits", logits, 3)
      .i64("input_ids", ids)
      .rank("input_ids", ids, 2)
      .i64("positions", positions)
      .sameShape("positions", positions, "input_ids", ids)
      .i64("cache_position", cache)
      .rank("cache_position", cache, 1)
      .dimsMatch("input_ids", ids, 0, "logits", logits, 0, "batch")
      .dimsMatch("cache_position", cache, 0, "logits", logits, 0, "batch")
      .dimIs("logits", logits, 1, 1, "one token per sequence")
      .dimIs("input_ids", ids, 1, 1, "one token per sequence");
  if (!c.ok())
    return c.message();
  const int64_t V = logits.dim(2);
  for (int64_t b = 0; b < logits.dim(0); ++b) {
    // The host's greedy choice (Session.cpp's argmax), bit for bit.
    const float *row = logits.f32() + b * V;
    int64_t best = 0;
    for (int64_t v = 1; v < V; ++v)
      if (row[v] > row[best])
        best = v;
    ids.i64()[b] = best;
    positions.i64()[b] += 1;
    cache.i64()[b] += 1;
  }
  return "";
}

std::string concatKernel(const KernelCall &call) {
  const TensorView &y = resultAt(call, 0);
  int64_t axis = call.attrs.getInt("axis");
  size_t n = call.operands.size();
  Check c(call, "concat");
  c.resultCount(1)
      .attrsOk()
      .require(n >= 1, "needs at least one input")
      .f32("result", y);
  c.require(axis >= 0 && axis < y.rank(),
            "attribute 'axis' is " + std::to_string(axis) +
                ", must be in [0, " + std::to_string(y.rank()) + ")");
  int64_t total = 0;
  for (size_t i = 0; i < n && c.ok(); ++i) {
    std::string name = "input #" + std::to_string(i);
    const TensorView &in = call.operands[i];
    c.f32(name, in).rank(name, in, y.rank());
    for (int64_t d = 0; c.ok() && d < y.rank(); ++d)
      if (d != axis)
        c.dimsMatch(name, in, d, "result", y, d, "non-axis");
    if (c.ok())
      total += in.dim(axis);
  }
  c.dimIs("result", y, axis, total, "sum of input sizes on axis");
  if (!c.ok())
    return c.message();

  int64_t outer, inner;
  outerInner(y.shape, axis, outer, inner);
  int64_t outRow = y.dim(axis) * inner;
  float *yp = y.f32();
  parallelFor(
      call.pool, outer,
      [&](int64_t o0, int64_t o1) {
        for (int64_t o = o0; o < o1; ++o) {
          int64_t offset = 0;
          for (const TensorView &in : call.operands) {
            int64_t run = in.dim(axis) * inner;
            std::memcpy(yp + o * outRow + offset, in.f32() + o * run,
                        sizeof(float) * run);
            offset += run;
          }
        }
      },
      grainFor(outRow));
  return "";
}

std::string splitKernel(const KernelCall &call) {
  const TensorView &x = operandAt(call, 0);
  int64_t axis = call.attrs.getInt("axis");
  std::vector<int64_t> sizes = call.attrs.getInts("sizes");
  Check c(call, "split");
  c.operandCount(1, 1).attrsOk().f32("input", x);
  c.require(axis >= 0 && axis < x.rank(),
            "attribute 'axis' is " + std::to_string(axis) +
                ", must be in [0, " + std::to_string(x.rank()) + ")")
      .require(sizes.size() == call.results.size(),
               "attribute 'sizes' has " + std::to_string(sizes.size()) +
                   " entries but the launch has " +
                   std::to_string(call.results.size()) + " results");
  int64_t total = 0;
  for (size_t i = 0; i < sizes.size() && c.ok(); ++i) {
    c.require(sizes[i] > 0, "attribute 'sizes' entry " + std::to_string(i) +
                                " is " + std::to_string(sizes[i]) +
                                ", must be positive");
    total += sizes[i];
  }
  c.dimIs("input", x, axis, total, "sum of 'sizes'");
  for (size_t i = 0; i < call.results.size() && c.ok(); ++i) {
    std::vector<int64_t> shape = x.shape;
    shape[axis] = sizes[i];
    std::string name = "result #" + std::to_string(i);
    c.f32(name, call.results[i]).shapeIs(name, call.results[i], shape);
  }
  if (!c.ok())
    return c.message();

  int64_t outer, inner;
  outerInner(x.shape, axis, outer, inner);
  int64_t inRow = x.dim(axis) * inner;
  const float *xp = x.f32();
  parallelFor(
      call.pool, outer,
      [&](int64_t o0, int64_t o1) {
        for (int64_t o = o0; o < o1; ++o) {
          int64_t offset = 0;
          for (size_t i = 0; i < sizes.size(); ++i) {
            int64_t run = sizes[i] * inner;
            std::memcpy(call.results[i].f32() + o * run,
                        xp + o * inRow + offset, sizeof(float) * run);
            offset += run;
          }
        }
      },
      grainFor(inRow));
  return "";
}

std::string mergeKernel(const KernelCall &call) {
  const TensorView &y = resultAt(call, 0);
  std::string mode = call.attrs.getString("mode");
  bool hasMultipliers = call.attrs.has("multipliers");
  std::vector<double> multipliers = hasMultipliers
                                        ? call.attrs.getFloats("multipliers")
                                        : std::vector<double>();
  // Operands are the branches, then the optional weight. Trailing absent
  // operands are dropped; the weight is the last operand of the modes that
  // take one.
  size_t count = call.operands.size();
  while (count > 0 && !call.operands[count - 1].present())
    --count;
  bool weighted = mode == "concat_proj" || mode == "attention";
  const TensorView &w =
      weighted && count ? call.operands[count - 1] : operandAt(call, SIZE_MAX);
  size_t branches = weighted && count ? count - 1 : count;

  Check c(call, "merge");
  c.resultCount(1).attrsOk().require(
      mode == "sum" || mode == "mean" || weighted,
      "attribute 'mode' is '" + mode +
          "', not a merge mode (sum, mean, concat_proj, attention)");
  c.require(branches >= 1, "needs at least one branch")
      .f32("result", y)
      .minRank("result", y, 1);
  for (size_t i = 0; i < branches && c.ok(); ++i) {
    std::string name = "branch #" + std::to_string(i);
    c.f32(name, call.operands[i])
        .sameShape(name, call.operands[i], "result", y);
  }
  if (hasMultipliers)
    c.require(!weighted, "attribute 'multipliers' applies only to sum and "
                         "mean merges, not '" +
                             mode + "'")
        .require(multipliers.size() == branches,
                 "attribute 'multipliers' has " +
                     std::to_string(multipliers.size()) + " entries for " +
                     std::to_string(branches) + " branches");
  if (!c.ok())
    return c.message();
  int64_t hidden = y.dim(-1);
  int64_t rows = hidden ? y.numel() / hidden : 0;
  if (mode == "concat_proj")
    c.f32("weight", w)
        .rank("weight", w, 2)
        .dimIs("weight", w, 0, hidden, "hidden")
        .dimIs("weight", w, 1, static_cast<int64_t>(branches) * hidden,
               "branches * hidden");
  if (mode == "attention")
    c.f32("weight", w)
        .rank("weight", w, 1)
        .dimIs("weight", w, 0, hidden, "hidden");
  if (!c.ok())
    return c.message();

  float *yp = y.f32();
  auto branch = [&](size_t i) { return call.operands[i].f32(); };
  if (mode == "concat_proj") {
    // concat(b_0..b_n) @ W^T = sum_i b_i @ W[:, i*h:(i+1)*h]^T: one
    // accumulating GEMM per branch on a column slice of W, no concat buffer.
    for (size_t i = 0; i < branches; ++i) {
      GemmArgs a;
      a.M = rows;
      a.N = hidden;
      a.K = hidden;
      a.x = branch(i);
      a.ldx = hidden;
      a.w = w.f32() + i * hidden;
      a.ldw = static_cast<int64_t>(branches) * hidden;
      a.y = yp;
      a.ldy = hidden;
      a.accumulate = i > 0;
      gemm(call.pool, a);
    }
    return "";
  }
  if (mode == "attention") {
    const float *wp = w.f32();
    parallelFor(
        call.pool, rows,
        [&](int64_t r0, int64_t r1) {
          std::vector<double> p(branches);
          for (int64_t r = r0; r < r1; ++r) {
            // Softmax over the branches' scores s_i = b_i . w.
            double top = -INFINITY, sum = 0.0;
            for (size_t i = 0; i < branches; ++i) {
              p[i] = dot(branch(i) + r * hidden, wp, hidden);
              top = std::max(top, p[i]);
            }
            for (size_t i = 0; i < branches; ++i)
              sum += (p[i] = std::exp(p[i] - top));
            float *yr = yp + r * hidden;
            for (int64_t j = 0; j < hidden; ++j)
              yr[j] = 0.0f;
            for (size_t i = 0; i < branches; ++i) {
              float pi = static_cast<float>(p[i] / sum);
              const float *br = branch(i) + r * hidden;
              for (int64_t j = 0; j < hidden; ++j)
                yr[j] += pi * br[j];
            }
          }
        },
        grainFor(hidden * branches));
    return "";
  }
  // sum / mean with multipliers (default 1).
  std::vector<float> m(branches, 1.0f);
  for (size_t i = 0; i < branches && hasMultipliers; ++i)
    m[i] = static_cast<float>(multipliers[i]);
  float meanScale = mode == "mean" ? 1.0f / static_cast<float>(branches) : 1.0f;
  int64_t total = y.numel();
  parallelFor(
      call.pool, total,
      [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
          float s = 0.0f;
          for (size_t b = 0; b < branches; ++b)
            s += m[b] * branch(b)[i];
          yp[i] = s * meanScale;
        }
      },
      16384);
  return "";
}

} // namespace braid::rt::cpu
