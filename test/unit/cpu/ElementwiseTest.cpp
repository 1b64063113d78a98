//===- ElementwiseTest.cpp - activation, add, mul, scale, rope ------------===//
#include "CpuTestUtil.h"

using namespace braid::rt;
using namespace braid::rt::test;

namespace {

double activationRef(const std::string &kind, double x) {
  if (kind == "identity")
    return x;
  if (kind == "silu")
    return siluRef(x);
  if (kind == "gelu")
    return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
  if (kind == "gelu_tanh")
    return 0.5 * x *
           (1.0 +
            std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
  if (kind == "relu")
    return x > 0 ? x : 0;
  if (kind == "relu2")
    return x > 0 ? x * x : 0;
  if (kind == "sigmoid")
    return sigmoidRef(x);
  if (kind == "softplus")
    return softplusRef(x);
  if (kind == "tanh")
    return std::tanh(x);
  ADD_FAILURE() << "unknown activation " << kind;
  return 0;
}

TEST(Activation, EveryKindMatchesReference) {
  Rng rng(20);
  for (const char *kind : {"identity", "silu", "gelu", "gelu_tanh", "relu",
                           "relu2", "sigmoid", "softplus", "tanh"})
    for (int64_t n : {1, 33, 40000})
      for (ThreadPool *pool : pools()) {
        // Wide range: softplus's threshold at 20, saturated sigmoid/tanh.
        Tensor x = rng.uniform({1, n}, -25, 25), y({1, n});
        ASSERT_EQ(
            Launch("activation").in(x).out(y).attr("kind", kind).run(pool), "");
        std::vector<double> want(x.f.size());
        for (size_t i = 0; i < want.size(); ++i)
          want[i] = activationRef(kind, x.f[i]);
        EXPECT_CLOSE(y.f, want) << kind << " n=" << n;
        // And on small values, where relative errors show.
        Tensor s = rng.uniform({1, n}, -2, 2);
        ASSERT_EQ(
            Launch("activation").in(s).out(y).attr("kind", kind).run(pool), "");
        for (size_t i = 0; i < want.size(); ++i)
          want[i] = activationRef(kind, s.f[i]);
        EXPECT_CLOSE(y.f, want) << kind << " n=" << n;
      }
}

TEST(AddMul, SameShapeAndTrailingBroadcast) {
  Rng rng(21);
  std::vector<std::vector<int64_t>> rhsShapes = {{2, 7, 33}, {7, 33}, {33}, {}};
  for (const char *family : {"add", "mul"})
    for (const auto &rhsShape : rhsShapes)
      for (ThreadPool *pool : pools()) {
        Tensor a = rng.uniform({2, 7, 33}), b = rng.uniform(rhsShape),
               y({2, 7, 33});
        ASSERT_EQ(Launch(family).in(a).in(b).out(y).run(pool), "");
        int64_t inner = b.numel();
        std::vector<double> want(a.f.size());
        for (size_t i = 0; i < want.size(); ++i) {
          double bv = b.f[i % inner];
          want[i] = family[0] == 'a' ? a.f[i] + bv : double(a.f[i]) * bv;
        }
        EXPECT_CLOSE(y.f, want) << family << " rhs rank " << rhsShape.size();
      }
}

TEST(Scale, MultipliesByTheFactor) {
  Rng rng(22);
  for (ThreadPool *pool : pools()) {
    Tensor x = rng.uniform({3, 5, 17}), y({3, 5, 17});
    ASSERT_EQ(Launch("scale").in(x).out(y).attr("factor", 0.125).run(pool), "");
    std::vector<double> want(x.f.size());
    for (size_t i = 0; i < want.size(); ++i)
      want[i] = x.f[i] * 0.125;
    EXPECT_CLOSE(y.f, want);
    // An integer factor from JSON is accepted.
    ASSERT_EQ(Launch("scale").in(x).out(y).attr("factor", 12).run(pool), "");
    for (size_t i = 0; i < want.size(); ++i)
      want[i] = x.f[i] * 12.0;
    EXPECT_CLOSE(y.f, want);
  }
}

/// Rotary embedding in double, straight from the op description.
std::vector<double> ropeRef(const Tensor &x, const Tensor &pos, int64_t rot,
                            double theta, bool interleaved) {
  int64_t b = x.shape[0], t = x.shape[1], h = x.shape[2], d = x.shape[3];
  std::vector<double> y(x.f.begin(), x.f.end());
  for (int64_t bt = 0; bt < b * t; ++bt)
    for (int64_t hh = 0; hh < h; ++hh)
      for (int64_t i = 0; i < rot / 2; ++i) {
        double angle = pos.i[bt] * std::pow(theta, -2.0 * i / rot);
        int64_t ia = interleaved ? 2 * i : i,
                ib = interleaved ? 2 * i + 1 : i + rot / 2;
        int64_t base = (bt * h + hh) * d;
        double xa = x.f[base + ia], xb = x.f[base + ib];
        y[base + ia] = xa * std::cos(angle) - xb * std::sin(angle);
        y[base + ib] = xb * std::cos(angle) + xa * std::sin(angle);
      }
  return y;
}

TEST(Rope, MatchesReferenceFullPartialAndInterleaved) {
  Rng rng(23);
  for (int64_t t : {1, 7, 33})
    for (int64_t rot : {2, 16, 32})
      for (bool interleaved : {false, true})
        for (ThreadPool *pool : pools()) {
          Tensor x = rng.uniform({2, t, 3, 32}), y({2, t, 3, 32});
          std::vector<int64_t> p;
          for (int64_t i = 0; i < 2 * t; ++i)
            p.push_back(rng.integer(0, 40));
          Tensor pos = Tensor::ints({2, t}, p);
          Launch l("rope");
          l.in(x).in(pos).out(y).attr("rotary_dim", rot).attr("theta", 10000.0);
          if (interleaved)
            l.attr("interleaved", true);
          ASSERT_EQ(l.run(pool), "");
          EXPECT_CLOSE(y.f, ropeRef(x, pos, rot, 10000.0, interleaved))
              << "t=" << t << " rot=" << rot << " interleaved=" << interleaved;
        }
}

TEST(Rope, PositionZeroIsIdentity) {
  Rng rng(24);
  Tensor x = rng.uniform({1, 2, 2, 8}), y({1, 2, 2, 8});
  Tensor pos = Tensor::ints({1, 2}, {0, 0});
  ASSERT_EQ(Launch("rope")
                .in(x)
                .in(pos)
                .out(y)
                .attr("rotary_dim", 8)
                .attr("theta", 1e4)
                .run(nullptr),
            "");
  EXPECT_EQ(y.f, x.f);
}

TEST(Elementwise, ReportShapeMismatches) {
  Tensor a({2, 3, 8}), b({4}), y({2, 3, 8});
  EXPECT_EQ(Launch("add").in(a).in(b).out(y).run(nullptr),
            "add: 'rhs' dim 0 (broadcast) is 4 but 'lhs' dim 2 is 8");
  Tensor big({1, 2, 3, 8});
  EXPECT_EQ(Launch("mul").in(a).in(big).out(y).run(nullptr),
            "mul: 'rhs' has rank 4 but 'lhs' only 3; 'rhs' broadcasts over "
            "leading dims only");
  Tensor y2({2, 3, 9});
  EXPECT_EQ(Launch("scale").in(a).out(y2).attr("factor", 2.0).run(nullptr),
            "scale: 'result' has shape [2, 3, 9] but 'input' has [2, 3, 8]");
  EXPECT_EQ(
      Launch("activation").in(a).out(y).attr("kind", "swish").run(nullptr),
      "activation: attribute 'kind' is 'swish', not an activation (identity, "
      "silu, gelu, "
      "gelu_tanh, relu, relu2, sigmoid, softplus, tanh)");
  Tensor q({1, 2, 2, 8}), pos = Tensor::ints({1, 3}, {0, 1, 2}),
                          qy({1, 2, 2, 8});
  EXPECT_EQ(Launch("rope")
                .in(q)
                .in(pos)
                .out(qy)
                .attr("rotary_dim", 8)
                .attr("theta", 1e4)
                .run(nullptr),
            "rope: 'positions' dim 1 (seq) is 3 but 'input' dim 1 is 2");
  Tensor pos2 = Tensor::ints({1, 2}, {0, 1});
  EXPECT_EQ(Launch("rope")
                .in(q)
                .in(pos2)
                .out(qy)
                .attr("rotary_dim", 10)
                .attr("theta", 1e4)
                .run(nullptr),
            "rope: attribute 'rotary_dim' is 10 but 'input' dim 3 (head_dim) "
            "is only 8");
}

} // namespace
