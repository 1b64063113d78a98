//===- MoETest.cpp - moe
//---------------------------------------------------===//
#include "CpuTestUtil.h"

#include <algorithm>
#include <numeric>

using namespace braid::rt;
using namespace braid::rt::test;

namespace {

struct MoECase {
  int64_t B = 2, T = 7, H = 13, E = 5, K = 2, F = 9, S = 6;
  std::string routing = "softmax_topk", act = "silu";
  bool normalize = false, bias = false, shared = false;
  double scaling = 1.0;
};

struct MoEData {
  Tensor x, router, gateUp, down, bias, sharedGateUp, sharedDown;
  MoEData(const MoECase &c, Rng &rng)
      : x(rng.uniform({c.B, c.T, c.H})), router(rng.uniform({c.E, c.H})),
        gateUp(rng.uniform({c.E, 2 * c.F, c.H})),
        down(rng.uniform({c.E, c.H, c.F})), bias(rng.uniform({c.E})),
        sharedGateUp(rng.uniform({2 * c.S, c.H})),
        sharedDown(rng.uniform({c.H, c.S})) {}
};

double actRef(const std::string &a, double x) {
  if (a == "silu")
    return siluRef(x);
  if (a == "gelu")
    return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
  if (a == "relu2")
    return x > 0 ? x * x : 0;
  ADD_FAILURE() << a;
  return 0;
}

/// down @ (act(gate) * up) with [gate; up] = gateUp @ x, in double.
std::vector<double> mlpRef(const float *x, const float *gateUp,
                           const float *down, int64_t H, int64_t F,
                           const std::string &act) {
  std::vector<double> mid(F), out(H, 0.0);
  for (int64_t f = 0; f < F; ++f) {
    double g = 0, u = 0;
    for (int64_t k = 0; k < H; ++k) {
      g += double(gateUp[f * H + k]) * x[k];
      u += double(gateUp[(F + f) * H + k]) * x[k];
    }
    mid[f] = actRef(act, g) * u;
  }
  for (int64_t h = 0; h < H; ++h)
    for (int64_t f = 0; f < F; ++f)
      out[h] += double(down[h * F + f]) * mid[f];
  return out;
}

std::vector<double> moeRef(const MoECase &c, const MoEData &d) {
  std::vector<double> y;
  for (int64_t t = 0; t < c.B * c.T; ++t) {
    const float *x = d.x.f.data() + t * c.H;
    std::vector<double> logit(c.E), score(c.E);
    for (int64_t e = 0; e < c.E; ++e) {
      logit[e] = c.bias ? d.bias.f[e] : 0.0;
      for (int64_t k = 0; k < c.H; ++k)
        logit[e] += double(d.router.f[e * c.H + k]) * x[k];
    }
    double mx = *std::max_element(logit.begin(), logit.end()), sum = 0;
    for (int64_t e = 0; e < c.E; ++e) {
      if (c.routing == "softmax_topk")
        sum += (score[e] = std::exp(logit[e] - mx));
      else if (c.routing == "sigmoid_topk")
        score[e] = sigmoidRef(logit[e]);
      else
        score[e] = logit[e];
    }
    if (c.routing == "softmax_topk")
      for (double &s : score)
        s /= sum;
    std::vector<int64_t> order(c.E);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return score[a] > score[b]; });
    order.resize(c.K);
    std::vector<double> w;
    for (int64_t e : order)
      w.push_back(score[e]);
    if (c.routing == "topk_softmax") {
      double m2 = *std::max_element(w.begin(), w.end()), s2 = 0;
      for (double &v : w)
        s2 += (v = std::exp(v - m2));
      for (double &v : w)
        v /= s2;
    } else if (c.normalize) {
      double s2 = std::accumulate(w.begin(), w.end(), 0.0);
      for (double &v : w)
        v /= s2;
    }
    std::vector<double> out(c.H, 0.0);
    if (c.shared)
      out = mlpRef(x, d.sharedGateUp.f.data(), d.sharedDown.f.data(), c.H, c.S,
                   c.act);
    for (int64_t i = 0; i < c.K; ++i) {
      int64_t e = order[i];
      auto o = mlpRef(x, d.gateUp.f.data() + e * 2 * c.F * c.H,
                      d.down.f.data() + e * c.H * c.F, c.H, c.F, c.act);
      for (int64_t h = 0; h < c.H; ++h)
        out[h] += w[i] * c.scaling * o[h];
    }
    y.insert(y.end(), out.begin(), out.end());
  }
  return y;
}

Launch moeLaunch(const MoECase &c, MoEData &d, Tensor &y) {
  Launch l("moe");
  l.in(d.x).in(d.router).in(d.gateUp).in(d.down);
  c.bias ? l.in(d.bias) : l.none();
  if (c.shared)
    l.in(d.sharedGateUp).in(d.sharedDown);
  else
    l.none().none();
  l.out(y);
  l.attr("routing", c.routing.c_str()).attr("activation", c.act.c_str());
  l.attr("num_experts", c.E)
      .attr("top_k", c.K)
      .attr("normalize_topk", c.normalize);
  l.attr("routed_scaling", c.scaling);
  return l;
}

TEST(MoE, EveryRoutingAndOption) {
  Rng rng(70);
  for (const char *routing : {"softmax_topk", "topk_softmax", "sigmoid_topk"})
    for (int64_t T : {1, 3, 33})
      for (int mask = 0; mask < 8; ++mask)
        for (ThreadPool *pool : pools()) {
          MoECase c;
          c.routing = routing;
          c.T = T;
          c.normalize = mask & 1;
          c.bias = mask & 2;
          c.shared = mask & 4;
          c.scaling = mask == 5 ? 2.5 : 1.0;
          c.act = mask == 6 ? "gelu" : mask == 3 ? "relu2" : "silu";
          c.K = mask == 7 ? c.E : 2; // top_k = num_experts
          MoEData d(c, rng);
          Tensor y({c.B, c.T, c.H}, NAN);
          ASSERT_EQ(moeLaunch(c, d, y).run(pool), "");
          EXPECT_CLOSE(y.f, moeRef(c, d))
              << routing << " T=" << T << " mask=" << mask;
        }
}

TEST(MoE, TiesGoToTheLowerExpertIndex) {
  Rng rng(71);
  MoECase c;
  c.E = 4;
  c.K = 2;
  c.T = 3;
  MoEData d(c, rng);
  // Experts 1, 2 and 3 have identical router rows, expert 0 a lower score.
  for (int64_t k = 0; k < c.H; ++k) {
    d.router.f[0 * c.H + k] = 0.0f;
    d.router.f[2 * c.H + k] = d.router.f[1 * c.H + k];
    d.router.f[3 * c.H + k] = d.router.f[1 * c.H + k];
  }
  for (float &v : d.x.f)
    v = std::abs(v);
  for (int64_t k = 0; k < c.H; ++k)
    d.router.f[1 * c.H + k] = d.router.f[2 * c.H + k] =
        d.router.f[3 * c.H + k] = std::abs(d.router.f[1 * c.H + k]);
  Tensor y({c.B, c.T, c.H});
  ASSERT_EQ(moeLaunch(c, d, y).run(testPool()), "");
  EXPECT_CLOSE(y.f, moeRef(c, d)); // the reference picks experts 1 and 2
}

TEST(MoE, ReportsMismatches) {
  MoECase c;
  Rng rng(72);
  MoEData d(c, rng);
  Tensor y({c.B, c.T, c.H});
  MoECase k = c;
  k.K = 6;
  EXPECT_EQ(moeLaunch(k, d, y).run(nullptr),
            "moe: attribute 'top_k' (6) exceeds 'num_experts' (5)");
  d.down = Tensor({c.E, c.H, c.F + 1});
  EXPECT_EQ(moeLaunch(c, d, y).run(nullptr),
            "moe: 'gate_up' dim 1 (2 * expert_dim) is 18, expected 20");
  MoECase r = c;
  r.routing = "softmax";
  EXPECT_EQ(moeLaunch(r, d, y).run(nullptr),
            "moe: attribute 'routing' is 'softmax', not a routing "
            "(softmax_topk, topk_softmax, "
            "sigmoid_topk)");
}

} // namespace
