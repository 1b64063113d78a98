//===- MoE.cpp - the `moe` family -----------------------------------------===//
//
// Route, group, compute per expert:
//   1. router logits for all tokens with one GEMM;
//   2. per token the top-k experts and their weights (ties go to the lower
//      expert index, as torch.topk does);
//   3. tokens grouped per expert: each expert gathers its tokens into a
//      dense block and runs two GEMMs (gate_up, then down) on it, so an
//      expert's weights are streamed once per call however many tokens use
//      it, and decode (one token per sequence) takes the few-rows GEMM path;
//   4. the weighted expert outputs are added to the shared expert's output
//      (or zeros) in expert order, which keeps the sum deterministic.
//
//===----------------------------------------------------------------------===//
#include "runtime/backends/cpu/Gemm.h"
#include "runtime/backends/cpu/KernelSupport.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace braid::rt::cpu {

namespace {

enum class Routing { SoftmaxTopk, TopkSoftmax, SigmoidTopk };

bool parseRouting(const std::string &name, Routing &out) {
  if (name == "softmax_topk")
    out = Routing::SoftmaxTopk;
  else if (name == "topk_softmax")
    out = Routing::TopkSoftmax;
  else if (name == "sigmoid_topk")
    out = Routing::SigmoidTopk;
  else
    return false;
  return true;
}

/// Indices of the k largest scores, largest first; equal scores keep the
/// lower index first.
void topK(const float *scores, int64_t n, int64_t k, int64_t *out) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    order[i] = i;
  std::partial_sort(
      order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) {
        return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
      });
  std::copy(order.begin(), order.begin() + k, out);
}

/// softmax over n logits in fp32 with the maximum subtracted; the sum runs
/// in double.
void softmax(const float *logits, int64_t n, float *out) {
  float top = *std::max_element(logits, logits + n);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i)
    sum += (out[i] = std::exp(logits[i] - top));
  float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i)
    out[i] *= inv;
}

/// Expert weights of one token: `experts` and `weights` get top_k entries.
void route(Routing routing, const float *logits, int64_t numExperts, int64_t k,
           bool normalize, float scaling, int64_t *experts, float *weights) {
  std::vector<float> scores(static_cast<size_t>(numExperts));
  switch (routing) {
  case Routing::SoftmaxTopk:
    softmax(logits, numExperts, scores.data());
    break;
  case Routing::SigmoidTopk:
    for (int64_t e = 0; e < numExperts; ++e)
      scores[e] = sigmoidf(logits[e]);
    break;
  case Routing::TopkSoftmax:
    std::copy(logits, logits + numExperts, scores.begin());
    break;
  }
  topK(scores.data(), numExperts, k, experts);
  for (int64_t i = 0; i < k; ++i)
    weights[i] = scores[experts[i]];
  if (routing == Routing::TopkSoftmax) {
    std::vector<float> chosen(weights, weights + k);
    softmax(chosen.data(), k, weights);
  } else if (normalize) {
    double sum = 0.0;
    for (int64_t i = 0; i < k; ++i)
      sum += weights[i];
    for (int64_t i = 0; i < k; ++i)
      weights[i] = static_cast<float>(weights[i] / sum);
  }
  for (int64_t i = 0; i < k; ++i)
    weights[i] *= scaling;
}

/// out[rows, hidden] = down @ (act(gate) * up) with [gate; up] = gateUp @ x
/// for `rows` rows of x; scratch buffers are resized as needed.
void gatedMlp(ThreadPool *pool, const float *x, int64_t rows, int64_t hidden,
              const float *gateUp, const float *down, int64_t ff,
              Activation act, std::vector<float> &mid, float *out) {
  mid.resize(static_cast<size_t>(rows * 2 * ff));
  GemmArgs a;
  a.M = rows;
  a.N = 2 * ff;
  a.K = hidden;
  a.x = x;
  a.ldx = hidden;
  a.w = gateUp;
  a.ldw = hidden;
  a.y = mid.data();
  a.ldy = 2 * ff;
  gemm(pool, a);
  // act(gate) * up, packed into the first ff columns of each row.
  parallelFor(
      pool, rows,
      [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          float *row = mid.data() + r * 2 * ff;
          activateInPlace(act, row, ff);
          for (int64_t j = 0; j < ff; ++j)
            row[j] *= row[ff + j];
        }
      },
      grainFor(2 * ff));
  GemmArgs b;
  b.M = rows;
  b.N = hidden;
  b.K = ff;
  b.x = mid.data();
  b.ldx = 2 * ff;
  b.w = down;
  b.ldw = ff;
  b.y = out;
  b.ldy = hidden;
  gemm(pool, b);
}

} // namespace

std::string moeKernel(const KernelCall &call) {
  const TensorView &x = operandAt(call, 0), &router = operandAt(call, 1),
                   &gateUp = operandAt(call, 2), &down = operandAt(call, 3);
  const TensorView &routerBias = operandAt(call, 4),
                   &sharedGateUp = operandAt(call, 5),
                   &sharedDown = operandAt(call, 6);
  const TensorView &y = resultAt(call, 0);
  const AttrMap &attrs = call.attrs;
  std::string routingName = attrs.getString("routing");
  std::string actName = attrs.getString("activation");
  int64_t numExperts = attrs.getInt("num_experts");
  int64_t k = attrs.getInt("top_k");
  bool normalize = boolOr(attrs, "normalize_topk", false);
  double scaling = attrs.getFloatOr("routed_scaling", 1.0);
  Routing routing = Routing::SoftmaxTopk;
  Activation act = Activation::Silu;
  bool knownRouting = parseRouting(routingName, routing);
  bool knownAct = parseActivation(actName, act);

  Check c(call, "moe");
  c.operandCount(4, 7)
      .resultCount(1)
      .attrsOk()
      .require(knownRouting, "attribute 'routing' is '" + routingName +
                                 "', not a routing (softmax_topk, "
                                 "topk_softmax, sigmoid_topk)")
      .require(knownAct,
               "attribute 'activation' is '" + actName + "', not an activation")
      .attrAtLeast("num_experts", numExperts, 1)
      .attrAtLeast("top_k", k, 1)
      .require(k <= numExperts, "attribute 'top_k' (" + std::to_string(k) +
                                    ") exceeds 'num_experts' (" +
                                    std::to_string(numExperts) + ")")
      .attrPositive("routed_scaling", scaling)
      .f32("input", x)
      .rank("input", x, 3)
      .f32("result", y)
      .sameShape("result", y, "input", x)
      .f32("router", router)
      .rank("router", router, 2)
      .dimIs("router", router, 0, numExperts, "num_experts")
      .dimsMatch("router", router, 1, "input", x, 2, "hidden")
      .f32("gate_up", gateUp)
      .rank("gate_up", gateUp, 3)
      .dimIs("gate_up", gateUp, 0, numExperts, "num_experts")
      .dimsMatch("gate_up", gateUp, 2, "input", x, 2, "hidden")
      .f32("down", down)
      .rank("down", down, 3)
      .dimIs("down", down, 0, numExperts, "num_experts")
      .dimsMatch("down", down, 1, "input", x, 2, "hidden");
  if (c.ok())
    c.dimIs("gate_up", gateUp, 1, 2 * down.dim(2), "2 * expert_dim");
  if (routerBias.present())
    c.f32("router_bias", routerBias)
        .rank("router_bias", routerBias, 1)
        .dimIs("router_bias", routerBias, 0, numExperts, "num_experts");
  bool shared = sharedGateUp.present() || sharedDown.present();
  if (shared) {
    c.f32("shared_gate_up", sharedGateUp)
        .rank("shared_gate_up", sharedGateUp, 2)
        .dimsMatch("shared_gate_up", sharedGateUp, 1, "input", x, 2, "hidden")
        .f32("shared_down", sharedDown)
        .rank("shared_down", sharedDown, 2)
        .dimsMatch("shared_down", sharedDown, 0, "input", x, 2, "hidden");
    if (c.ok())
      c.dimIs("shared_gate_up", sharedGateUp, 0, 2 * sharedDown.dim(1),
              "2 * shared_dim");
  }
  if (!c.ok())
    return c.message();

  int64_t tokens = x.dim(0) * x.dim(1), hidden = x.dim(2);
  int64_t ff = down.dim(2);
  float *yp = y.f32();

  // 1. Router logits.
  std::vector<float> logits(static_cast<size_t>(tokens * numExperts));
  GemmArgs r;
  r.M = tokens;
  r.N = numExperts;
  r.K = hidden;
  r.x = x.f32();
  r.ldx = hidden;
  r.w = router.f32();
  r.ldw = hidden;
  r.bias = routerBias.present() ? routerBias.f32() : nullptr;
  r.y = logits.data();
  r.ldy = numExperts;
  gemm(call.pool, r);

  // 2. Top-k experts and weights per token.
  std::vector<int64_t> chosen(static_cast<size_t>(tokens * k));
  std::vector<float> weights(static_cast<size_t>(tokens * k));
  parallelFor(
      call.pool, tokens,
      [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t)
          route(routing, logits.data() + t * numExperts, numExperts, k,
                normalize, static_cast<float>(scaling), chosen.data() + t * k,
                weights.data() + t * k);
      },
      64);

  // 3. Tokens per expert, in token order.
  std::vector<std::vector<std::pair<int64_t, float>>> assigned(
      static_cast<size_t>(numExperts));
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t i = 0; i < k; ++i)
      assigned[chosen[t * k + i]].push_back({t, weights[t * k + i]});

  // 4. Shared expert (or zeros), then each expert's weighted output.
  std::vector<float> mid, gathered, expertOut;
  if (shared)
    gatedMlp(call.pool, x.f32(), tokens, hidden, sharedGateUp.f32(),
             sharedDown.f32(), sharedDown.dim(1), act, mid, yp);
  else
    std::fill(yp, yp + tokens * hidden, 0.0f);
  for (int64_t e = 0; e < numExperts; ++e) {
    const auto &list = assigned[e];
    int64_t count = static_cast<int64_t>(list.size());
    if (count == 0)
      continue;
    gathered.resize(static_cast<size_t>(count * hidden));
    expertOut.resize(static_cast<size_t>(count * hidden));
    for (int64_t i = 0; i < count; ++i)
      std::memcpy(gathered.data() + i * hidden,
                  x.f32() + list[i].first * hidden, sizeof(float) * hidden);
    gatedMlp(call.pool, gathered.data(), count, hidden,
             gateUp.f32() + e * 2 * ff * hidden, down.f32() + e * hidden * ff,
             ff, act, mid, expertOut.data());
    // An expert holds each token at most once, so rows never collide.
    parallelFor(
        call.pool, count,
        [&](int64_t i0, int64_t i1) {
          for (int64_t i = i0; i < i1; ++i) {
            float w = list[i].second;
            float *yr = yp + list[i].first * hidden;
            const float *er = expertOut.data() + i * hidden;
            for (int64_t j = 0; j < hidden; ++j)
              yr[j] += w * er[j];
          }
        },
        grainFor(hidden));
  }
  return "";
}

} // namespace braid::rt::cpu
