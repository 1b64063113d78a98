//===- FusedElementwiseTest.cpp - the fused_elementwise family ------------===//
//
// The interpreter against double references written from the program's
// definition (targets/common/kernels/ElementwiseProgram.h): broadcasts,
// permuted maps, every reduction kind over middle and trailing loops, one
// and many threads, and the messages for malformed launches.
//
//===----------------------------------------------------------------------===//
#include "CpuTestUtil.h"

#include <limits>

using namespace braid::rt;
using namespace braid::rt::test;

namespace {

using Ints = std::vector<int64_t>;

TEST(FusedElementwise, BroadcastChain) {
  // y = select(x > w, exp(x - m) * w, tanh(x) + erf(m)), x [B, T, 4, 8],
  // m [B, T, 1, 8] (map -1 on loop 2), w [8].
  Rng rng(40);
  for (ThreadPool *pool : pools()) {
    Tensor x = rng.uniform({2, 3, 4, 8}, -2, 2);
    Tensor m = rng.uniform({2, 3, 1, 8}, -1, 1);
    Tensor w = rng.uniform({8}, -1, 1);
    Tensor y({2, 3, 4, 8});
    ASSERT_EQ(Launch("fused_elementwise")
                  .in(x)
                  .in(m)
                  .in(w)
                  .out(y)
                  .attr("program",
                        "in 0; in 1; in 2; gt %0 %2; sub %0 %1; exp %4; "
                        "mul %5 %2; tanh %0; erf %1; add %7 %8; "
                        "select %3 %6 %9")
                  .attr("loop_sizes", Ints{-1, -1, 4, 8})
                  .attr("input_maps", Ints{0, 1, 2, 3, 0, 1, -1, 3, 3})
                  .attr("reduction_dims", Ints{})
                  .attr("reduce", "none")
                  .attr("init", 0.0)
                  .run(pool),
              "");
    std::vector<double> want(y.f.size());
    for (int64_t r = 0; r < 6; ++r)
      for (int64_t i = 0; i < 4; ++i)
        for (int64_t j = 0; j < 8; ++j) {
          double xv = x[(r * 4 + i) * 8 + j], mv = m[r * 8 + j], wv = w[j];
          want[(r * 4 + i) * 8 + j] =
              xv > wv ? std::exp(xv - mv) * wv : std::tanh(xv) + std::erf(mv);
        }
    EXPECT_CLOSE(y.f, want);
  }
}

TEST(FusedElementwise, PermutedMap) {
  // A transpose of the feature dims: y[b, t, j, i] = x[b, t, i, j].
  Rng rng(41);
  Tensor x = rng.uniform({1, 5, 3, 7}), y({1, 5, 7, 3});
  ASSERT_EQ(Launch("fused_elementwise")
                .in(x)
                .out(y)
                .attr("program", "in 0")
                .attr("loop_sizes", Ints{-1, -1, 7, 3})
                .attr("input_maps", Ints{0, 1, 3, 2})
                .attr("reduction_dims", Ints{})
                .attr("reduce", "none")
                .run(testPool()),
            "");
  for (int64_t t = 0; t < 5; ++t)
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 7; ++j)
        EXPECT_EQ(y[(t * 7 + j) * 3 + i], x[(t * 3 + i) * 7 + j]);
}

TEST(FusedElementwise, EveryReductionOverMiddleAndTrailingLoops) {
  Rng rng(42);
  struct Case {
    const char *reduce;
    double init;
  };
  const double inf = std::numeric_limits<double>::infinity();
  for (Case c : {Case{"sum", 0.0}, Case{"max", -inf}, Case{"min", inf},
                 Case{"prod", 1.0}})
    for (Ints dims : {Ints{2}, Ints{3}, Ints{2, 3}})
      for (ThreadPool *pool : pools()) {
        // r = reduce over `dims` of x * 0.5 + 1 (kept near 1 for prod).
        Tensor x = rng.uniform({2, 5, 6, 9}, -1, 1);
        Ints outShape = {2, 5};
        for (int64_t d : {2, 3})
          if (std::find(dims.begin(), dims.end(), d) == dims.end())
            outShape.push_back(d == 2 ? 6 : 9);
        Tensor y(outShape);
        ASSERT_EQ(Launch("fused_elementwise")
                      .in(x)
                      .out(y)
                      .attr("program", "in 0; cst 0.5; mul %0 %1; cst 1; "
                                       "add %2 %3")
                      .attr("loop_sizes", Ints{-1, -1, 6, 9})
                      .attr("input_maps", Ints{0, 1, 2, 3})
                      .attr("reduction_dims", dims)
                      .attr("reduce", c.reduce)
                      .attr("init", c.init)
                      .run(pool),
                  "");
        std::vector<double> want(y.f.size(), c.init);
        bool r2 = std::find(dims.begin(), dims.end(), 2) != dims.end();
        bool r3 = std::find(dims.begin(), dims.end(), 3) != dims.end();
        for (int64_t bt = 0; bt < 10; ++bt)
          for (int64_t i = 0; i < 6; ++i)
            for (int64_t j = 0; j < 9; ++j) {
              double v = x[(bt * 6 + i) * 9 + j] * 0.5 + 1.0;
              int64_t o = bt;
              if (!r2)
                o = o * 6 + i;
              if (!r3)
                o = o * 9 + j;
              double &a = want[o];
              std::string k = c.reduce;
              a = k == "sum"   ? a + v
                  : k == "max" ? std::max(a, v)
                  : k == "min" ? std::min(a, v)
                               : a * v;
            }
        EXPECT_CLOSE(y.f, want) << c.reduce << " dims " << dims.size();
      }
}

TEST(FusedElementwise, NaNPropagatesThroughMaxAndIsNaN) {
  // max propagates NaN (ONNX Max), maxnum does not; isnan gives 1 / 0.
  Tensor x({1, 1, 3}), y({1, 1, 3}), z({1, 1, 3}), n({1, 1, 3});
  x[0] = std::nanf("");
  x[1] = 2.0f;
  x[2] = -3.0f;
  auto run = [&](const char *program, Tensor &out) {
    return Launch("fused_elementwise")
        .in(x)
        .out(out)
        .attr("program", program)
        .attr("loop_sizes", Ints{-1, -1, 3})
        .attr("input_maps", Ints{0, 1, 2})
        .attr("reduction_dims", Ints{})
        .attr("reduce", "none")
        .run(testPool());
  };
  ASSERT_EQ(run("in 0; cst 0; max %0 %1", y), "");
  ASSERT_EQ(run("in 0; cst 0; maxnum %0 %1", z), "");
  ASSERT_EQ(run("in 0; isnan %0", n), "");
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(y[1], 2.0f);
  EXPECT_EQ(y[2], 0.0f);
  EXPECT_EQ(z[0], 0.0f);
  EXPECT_EQ(n.f, (std::vector<float>{1.0f, 0.0f, 0.0f}));
}

TEST(FusedElementwise, ReportsMalformedLaunches) {
  Tensor x({1, 2, 8}), w({4}), y({1, 2, 8});
  auto launch = [&](const char *program, Ints maps) {
    return Launch("fused_elementwise")
        .in(x)
        .in(w)
        .out(y)
        .attr("program", program)
        .attr("loop_sizes", Ints{-1, -1, 8})
        .attr("input_maps", maps)
        .attr("reduction_dims", Ints{})
        .attr("reduce", "none")
        .run(testPool());
  };
  EXPECT_EQ(launch("in 0; sin %0", {0, 1, 2, 2}),
            "fused_elementwise: 'program': instruction 1: unknown operation "
            "'sin'");
  EXPECT_EQ(launch("in 0; in 1; add %0 %1", {0, 1, 2, 2}),
            "fused_elementwise: 'input 1' dim 0 (loop 2) is 4, expected 8");
  EXPECT_EQ(launch("in 0; in 2; add %0 %1", {0, 1, 2, -1}),
            "fused_elementwise: 'program' reads input 2 but 2 operands were "
            "passed");
}

} // namespace
