//===- NormsTest.cpp - rms_norm, layer_norm, gated_rms_norm ---------------===//
#include "CpuTestUtil.h"

using namespace braid::rt;
using namespace braid::rt::test;

namespace {

std::vector<double> rmsNormRef(const Tensor &x, const Tensor &w, double eps) {
  int64_t h = x.shape.back(), rows = x.numel() / h;
  std::vector<double> y(x.f.size());
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < h; ++i)
      ss += double(x.f[r * h + i]) * x.f[r * h + i];
    double inv = 1.0 / std::sqrt(ss / h + eps);
    for (int64_t i = 0; i < h; ++i)
      y[r * h + i] = x.f[r * h + i] * inv * w.f[i];
  }
  return y;
}

std::vector<double> layerNormRef(const Tensor &x, const Tensor *w,
                                 const Tensor *b, double eps) {
  int64_t h = x.shape.back(), rows = x.numel() / h;
  std::vector<double> y(x.f.size());
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < h; ++i)
      mean += x.f[r * h + i];
    mean /= h;
    for (int64_t i = 0; i < h; ++i)
      var += (x.f[r * h + i] - mean) * (x.f[r * h + i] - mean);
    var /= h;
    for (int64_t i = 0; i < h; ++i) {
      double v = (x.f[r * h + i] - mean) / std::sqrt(var + eps);
      y[r * h + i] = v * (w ? w->f[i] : 1.0) + (b ? b->f[i] : 0.0);
    }
  }
  return y;
}

std::vector<double> gatedRef(const Tensor &x, const Tensor &g, const Tensor &w,
                             int64_t group, double eps, bool normFirst) {
  int64_t h = x.shape.back(), rows = x.numel() / h;
  std::vector<double> y(x.f.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t g0 = 0; g0 < h; g0 += group) {
      std::vector<double> v(group);
      for (int64_t i = 0; i < group; ++i) {
        double xv = x.f[r * h + g0 + i];
        v[i] = normFirst ? xv : xv * siluRef(g.f[r * h + g0 + i]);
      }
      double ss = 0;
      for (double e : v)
        ss += e * e;
      double inv = 1.0 / std::sqrt(ss / group + eps);
      for (int64_t i = 0; i < group; ++i) {
        double out = v[i] * inv * w.f[g0 + i];
        if (normFirst)
          out *= siluRef(g.f[r * h + g0 + i]);
        y[r * h + g0 + i] = out;
      }
    }
  return y;
}

TEST(RmsNorm, MatchesReference) {
  Rng rng(10);
  for (int64_t t : {1, 3, 7, 33})
    for (int64_t h : {1, 5, 64, 130})
      for (ThreadPool *pool : pools()) {
        Tensor x = rng.uniform({2, t, h}, -3, 3), w = rng.uniform({h}),
               y({2, t, h});
        ASSERT_EQ(Launch("rms_norm")
                      .in(x)
                      .in(w)
                      .out(y)
                      .attr("epsilon", 1e-5)
                      .run(pool),
                  "");
        EXPECT_CLOSE(y.f, rmsNormRef(x, w, 1e-5)) << "t=" << t << " h=" << h;
      }
  // Rank 1 input (one row).
  Tensor x = rng.uniform({9}), w = rng.uniform({9}), y({9});
  ASSERT_EQ(
      Launch("rms_norm").in(x).in(w).out(y).attr("epsilon", 1e-6).run(nullptr),
      "");
  EXPECT_CLOSE(y.f, rmsNormRef(x, w, 1e-6));
}

TEST(LayerNorm, MatchesReferenceWithAndWithoutWeightAndBias) {
  Rng rng(11);
  for (int64_t h : {1, 7, 96})
    for (int mask = 0; mask < 4; ++mask)
      for (ThreadPool *pool : pools()) {
        // A large offset checks the centred (two-pass) variance.
        Tensor x = rng.uniform({3, 5, h}, 9, 11), w = rng.uniform({h}),
               b = rng.uniform({h});
        Tensor y({3, 5, h});
        bool hasW = mask & 1, hasB = mask & 2;
        Launch l("layer_norm");
        l.in(x);
        hasW ? l.in(w) : l.none();
        hasB ? l.in(b) : l.none();
        ASSERT_EQ(l.out(y).attr("epsilon", 1e-5).run(pool), "");
        EXPECT_CLOSE(y.f, layerNormRef(x, hasW ? &w : nullptr,
                                       hasB ? &b : nullptr, 1e-5))
            << "h=" << h << " mask=" << mask;
      }
}

TEST(GatedRmsNorm, MatchesReferenceForGroupsAndBothOrders) {
  Rng rng(12);
  for (int64_t t : {1, 7, 33})
    for (int64_t group : {1, 8, 24, 48})
      for (bool normFirst : {false, true})
        for (ThreadPool *pool : pools()) {
          int64_t h = 48;
          Tensor x = rng.uniform({2, t, h}, -2, 2),
                 g = rng.uniform({2, t, h}, -3, 3);
          Tensor w = rng.uniform({h}), y({2, t, h});
          ASSERT_EQ(Launch("gated_rms_norm")
                        .in(x)
                        .in(g)
                        .in(w)
                        .out(y)
                        .attr("group_size", group)
                        .attr("epsilon", 1e-6)
                        .attr("norm_before_gate", normFirst)
                        .run(pool),
                    "");
          EXPECT_CLOSE(y.f, gatedRef(x, g, w, group, 1e-6, normFirst))
              << "group=" << group << " normFirst=" << normFirst;
        }
}

TEST(Norms, ReportShapeMismatches) {
  Tensor x({2, 3, 8}), w({7}), y({2, 3, 8});
  EXPECT_EQ(
      Launch("rms_norm").in(x).in(w).out(y).attr("epsilon", 1e-5).run(nullptr),
      "rms_norm: 'weight' dim 0 (hidden) is 7 but 'input' dim 2 is 8");
  EXPECT_EQ(Launch("rms_norm").in(x).in(w).out(y).run(nullptr),
            "rms_norm: attribute 'epsilon' is missing (expected a float)");
  EXPECT_EQ(Launch("layer_norm")
                .in(x)
                .none()
                .in(w)
                .out(y)
                .attr("epsilon", 1e-5)
                .run(nullptr),
            "layer_norm: 'bias' dim 0 (hidden) is 7 but 'input' dim 2 is 8");
  Tensor g({2, 3, 8}), w8({8});
  EXPECT_EQ(Launch("gated_rms_norm")
                .in(x)
                .in(g)
                .in(w8)
                .out(y)
                .attr("group_size", 3)
                .attr("epsilon", 1e-5)
                .attr("norm_before_gate", false)
                .run(nullptr),
            "gated_rms_norm: 'input' last dim (hidden) is 8, not a multiple of "
            "attribute "
            "'group_size' (3)");
  Tensor g2({2, 4, 8});
  EXPECT_EQ(
      Launch("gated_rms_norm")
          .in(x)
          .in(g2)
          .in(w8)
          .out(y)
          .attr("group_size", 4)
          .attr("epsilon", 1e-5)
          .attr("norm_before_gate", false)
          .run(nullptr),
      "gated_rms_norm: 'gate' has shape [2, 4, 8] but 'input' has [2, 3, 8]");
}

} // namespace
