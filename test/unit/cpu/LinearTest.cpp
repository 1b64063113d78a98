//===- LinearTest.cpp - linear and the GEMM engine
//-------------------------===//
#include "CpuTestUtil.h"
#include "runtime/backends/cpu/Gemm.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

using namespace braid::rt;
using namespace braid::rt::test;

namespace {

/// y[m, n] = sum_k x[m, k] w[n, k] + bias[n], in double.
std::vector<double> linearRef(const Tensor &x, const Tensor &w,
                              const Tensor *bias) {
  int64_t n = w.shape[0], k = w.shape[1], m = x.numel() / k;
  std::vector<double> y(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = bias ? bias->f[j] : 0.0;
      for (int64_t l = 0; l < k; ++l)
        s += static_cast<double>(x.f[i * k + l]) * w.f[j * k + l];
      y[i * n + j] = s;
    }
  return y;
}

/// Every GEMM variant this CPU runs.
std::vector<std::string> variants() {
  std::vector<std::string> names;
  for (const char *v : {"avx512", "avx2", "generic"})
    if (cpu::selectGemmVariant(v))
      names.push_back(v);
  cpu::selectGemmVariant("");
  return names;
}

TEST(Linear, MatchesReferenceOnOddShapesForEveryVariant) {
  Rng rng(1);
  for (const std::string &variant : variants()) {
    ASSERT_TRUE(cpu::selectGemmVariant(variant));
    for (int64_t m : {1, 3, 4, 5, 7, 33, 130})
      for (int64_t k : {1, 5, 67, 300})
        for (int64_t n : {1, 31, 33, 257})
          for (bool withBias : {false, true})
            for (ThreadPool *pool : pools()) {
              Tensor x = rng.uniform({1, m, k}), w = rng.uniform({n, k});
              Tensor b = rng.uniform({n}), y({1, m, n}, NAN);
              Launch l("linear");
              l.in(x).in(w);
              if (withBias)
                l.in(b);
              ASSERT_EQ(l.out(y).run(pool), "");
              ASSERT_LE(relL2(y.f, linearRef(x, w, withBias ? &b : nullptr)),
                        kTolerance)
                  << variant << " m=" << m << " k=" << k << " n=" << n
                  << " bias=" << withBias;
            }
  }
  cpu::selectGemmVariant("");
}

TEST(Linear, DeepReductionAndManyBlocks) {
  // K spans several KC blocks; N and M several tiles; 4-D input.
  Rng rng(2);
  Tensor x = rng.uniform({2, 3, 67, 700}), w = rng.uniform({530, 700});
  Tensor b = rng.uniform({530}), y({2, 3, 67, 530});
  ASSERT_EQ(Launch("linear").in(x).in(w).in(b).out(y).run(testPool()), "");
  EXPECT_CLOSE(y.f, linearRef(x, w, &b));
  // An explicit null bias operand reads as absent.
  ASSERT_EQ(Launch("linear").in(x).in(w).none().out(y).run(testPool()), "");
  EXPECT_CLOSE(y.f, linearRef(x, w, nullptr));
}

TEST(Gemm, StridesAndAccumulation) {
  // x and w are column windows of wider matrices; y accumulates with bias.
  Rng rng(3);
  for (int64_t m : {2, 37})
    for (bool acc : {false, true}) {
      int64_t n = 45, k = 70;
      Tensor X = rng.uniform({m, k + 9}), W = rng.uniform({n, k + 4});
      Tensor bias = rng.uniform({n}), Y = rng.uniform({m, n + 3});
      std::vector<double> want(static_cast<size_t>(m * (n + 3)));
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n + 3; ++j) {
          double s = Y.f[i * (n + 3) + j];
          if (j < n) {
            s = (acc ? s : 0.0) + bias.f[j];
            for (int64_t l = 0; l < k; ++l)
              s += static_cast<double>(X.f[i * (k + 9) + 2 + l]) *
                   W.f[j * (k + 4) + 1 + l];
          }
          want[i * (n + 3) + j] = s;
        }
      cpu::GemmArgs a;
      a.M = m;
      a.N = n;
      a.K = k;
      a.x = X.f.data() + 2;
      a.ldx = k + 9;
      a.w = W.f.data() + 1;
      a.ldw = k + 4;
      a.bias = bias.f.data();
      a.y = Y.f.data();
      a.ldy = n + 3;
      a.accumulate = acc;
      cpu::gemm(testPool(), a);
      EXPECT_CLOSE(Y.f, want);
    }
}

TEST(Linear, ReportsShapeMismatch) {
  Tensor x({2, 3, 64}), w({16, 32}), y({2, 3, 16});
  std::string msg = Launch("linear").in(x).in(w).out(y).run(nullptr);
  EXPECT_EQ(
      msg,
      "linear: 'weight' dim 1 (in_features) is 32 but 'input' dim 2 is 64");
  Tensor w2({16, 64}), bias({15}), y2({2, 3, 16});
  msg = Launch("linear").in(x).in(w2).in(bias).out(y2).run(nullptr);
  EXPECT_EQ(
      msg,
      "linear: 'bias' dim 0 (out_features) is 15 but 'weight' dim 0 is 16");
  Tensor y3({2, 3, 17});
  Launch l("linear");
  l.call.location = "layers.0.mlp";
  msg = l.in(x).in(w2).out(y3).run(nullptr);
  EXPECT_EQ(msg,
            "linear (layers.0.mlp): 'result' dim 2 (out_features) is 17 but "
            "'weight' dim 0 is 16");
}

TEST(Linear, WritesSplitPiecesWithTheBitsOfTheWholeGemm) {
  // Epilogue fusion: pieces of the columns in their own buffers are exactly
  // the columns of the whole result (the split would have copied them), for
  // the many-row and the few-row (decode) GEMM paths, with and without bias.
  Rng rng(5);
  for (int64_t m : {1, 3, 130})
    for (bool withBias : {false, true}) {
      const int64_t k = 300;
      const std::vector<int64_t> widths = {5, 1, 27, 64};
      int64_t n = 0;
      for (int64_t wd : widths)
        n += wd;
      Tensor x = rng.uniform({1, m, k}), w = rng.uniform({n, k});
      Tensor b = rng.uniform({n}), whole({1, m, n}, NAN);
      Launch ref("linear");
      ref.in(x).in(w);
      withBias ? ref.in(b) : ref.none();
      ASSERT_EQ(ref.out(whole).run(testPool()), "");
      std::vector<Tensor> pieces;
      for (int64_t wd : widths)
        pieces.emplace_back(std::vector<int64_t>{1, m, wd}, NAN);
      Launch l("linear");
      l.in(x).in(w);
      withBias ? l.in(b) : l.none();
      for (Tensor &p : pieces)
        l.out(p);
      ASSERT_EQ(l.run(testPool()), "");
      int64_t n0 = 0;
      for (size_t p = 0; p < widths.size(); ++p) {
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < widths[p]; ++j)
            ASSERT_EQ(pieces[p].f[i * widths[p] + j], whole.f[i * n + n0 + j])
                << "m=" << m << " piece " << p << " row " << i << " col " << j;
        n0 += widths[p];
      }
    }
}

TEST(Linear, AddsTheResidualWithTheBitsOfTheSeparateAdd) {
  Rng rng(6);
  for (int64_t m : {1, 67}) {
    Tensor x = rng.uniform({1, m, 70}), w = rng.uniform({45, 70});
    Tensor b = rng.uniform({45}), r = rng.uniform({1, m, 45});
    Tensor lin({1, m, 45}), sum({1, m, 45}), fused({1, m, 45}, NAN);
    ASSERT_EQ(Launch("linear").in(x).in(w).in(b).out(lin).run(testPool()), "");
    ASSERT_EQ(Launch("add").in(lin).in(r).out(sum).run(testPool()), "");
    ASSERT_EQ(
        Launch("linear").in(x).in(w).in(b).in(r).out(fused).run(testPool()),
        "");
    EXPECT_EQ(fused.f, sum.f) << "m=" << m;
    // Without a bias: the unit operand before the residual.
    ASSERT_EQ(Launch("linear").in(x).in(w).out(lin).run(testPool()), "");
    ASSERT_EQ(Launch("add").in(r).in(lin).out(sum).run(testPool()), "");
    ASSERT_EQ(
        Launch("linear").in(x).in(w).none().in(r).out(fused).run(testPool()),
        "");
    EXPECT_EQ(fused.f, sum.f) << "m=" << m;
  }
}

TEST(Linear, GatedMlpWithTheBitsOfTheSeparateKernels) {
  // glu: act(gate) * up of [gate; up] equals linear, split, activation, mul;
  // glu_gate = 1: the gate is the second half ([up; gate]).
  Rng rng(7);
  for (int64_t m : {1, 37})
    for (const char *act : {"silu", "gelu"})
      for (int64_t gate : {0, 1})
      for (bool withBias : {false, true}) {
        const int64_t k = 40, I = 33;
        Tensor x = rng.uniform({1, m, k}), w = rng.uniform({2 * I, k});
        Tensor b = rng.uniform({2 * I}), h({1, m, 2 * I});
        Tensor g({1, m, I}), u({1, m, I}), a({1, m, I}), want({1, m, I});
        Launch lin("linear");
        lin.in(x).in(w);
        withBias ? lin.in(b) : lin.none();
        ASSERT_EQ(lin.out(h).run(testPool()), "");
        ASSERT_EQ(Launch("split")
                      .in(h)
                      .attr("axis", 2)
                      .attr("sizes", AttrValue(std::vector<int64_t>{I, I}))
                      .out(gate ? u : g)
                      .out(gate ? g : u)
                      .run(testPool()),
                  "");
        ASSERT_EQ(Launch("activation")
                      .in(g)
                      .attr("kind", AttrValue(std::string(act)))
                      .out(a)
                      .run(testPool()),
                  "");
        // mul(up, act(gate)) when the gate is second, as such graphs have it.
        Launch mul("mul");
        gate ? mul.in(u).in(a) : mul.in(a).in(u);
        ASSERT_EQ(mul.out(want).run(testPool()), "");
        Tensor y({1, m, I}, NAN);
        Launch fused("linear");
        fused.in(x).in(w);
        withBias ? fused.in(b) : fused.none();
        fused.attr("glu", AttrValue(std::string(act)));
        if (gate)
          fused.attr("glu_gate", AttrValue(int64_t(1)));
        ASSERT_EQ(fused.out(y).run(testPool()), "");
        EXPECT_EQ(y.f, want.f) << act << " m=" << m << " gate=" << gate
                               << " bias=" << withBias;
      }
  Tensor x({1, 2, 8}), w({12, 8}), y({1, 2, 5});
  EXPECT_EQ(Launch("linear")
                .in(x)
                .in(w)
                .attr("glu", AttrValue(std::string("silu")))
                .out(y)
                .run(nullptr),
            "linear: 'weight' dim 0 (2 x the result's last dim (gate; up)) is "
            "12, expected 10");
  Tensor w10({10, 8});
  EXPECT_EQ(Launch("linear")
                .in(x)
                .in(w10)
                .attr("glu", AttrValue(std::string("silu")))
                .attr("glu_gate", AttrValue(int64_t(2)))
                .out(y)
                .run(nullptr),
            "linear: attribute 'glu_gate' is 2, not 0 or 1 (the half that is "
            "the gate)");
}

TEST(Linear, ReportsBadEpilogues) {
  Tensor x({2, 3, 8}), w({12, 8}), a({2, 3, 4}), b({2, 3, 7}), r({2, 3, 12});
  EXPECT_EQ(Launch("linear").in(x).in(w).none().out(a).out(b).run(nullptr),
            "linear: the results' last dims add up to 11 but 'weight' dim 0 "
            "(out_features) is 12");
  Tensor c({2, 3, 8});
  EXPECT_EQ(
      Launch("linear").in(x).in(w).none().in(r).out(a).out(c).run(nullptr),
      "linear: a residual needs exactly one result, the launch has 2");
  Tensor y({2, 3, 12}), r2({2, 3, 11});
  EXPECT_EQ(Launch("linear").in(x).in(w).none().in(r2).out(y).run(nullptr),
            "linear: 'residual' has shape [2, 3, 11] but 'result' has "
            "[2, 3, 12]");
  // The residual is read after the GEMM wrote the result: no aliasing.
  EXPECT_EQ(Launch("linear").in(x).in(w).none().in(y).out(y).run(nullptr),
            "linear: 'residual' and the result share a buffer");
}

TEST(Linear, FoldedNormWithTheBitsOfTheSeparateRmsNorm) {
  // norm_eps (passes/PrologueFusion.h): rms_norm of the input by operand 4,
  // then the GEMM and every epilogue form, as rms_norm + linear computed it.
  Rng rng(8);
  for (int64_t m : {1, 3, 17}) {
    const int64_t k = 67, n = 24;
    Tensor x = rng.uniform({1, m, k}), g = rng.uniform({k});
    Tensor w = rng.uniform({n, k}), b = rng.uniform({n});
    Tensor r = rng.uniform({1, m, n}), normed({1, m, k});
    ASSERT_EQ(Launch("rms_norm")
                  .in(x)
                  .in(g)
                  .attr("epsilon", 1e-5)
                  .out(normed)
                  .run(testPool()),
              "");
    // Plain with bias, a residual, split pieces, and a gated MLP.
    for (int form = 0; form < 4; ++form) {
      Tensor want({1, m, form == 3 ? n / 2 : n}), a({1, m, 10}),
          c({1, m, n - 10});
      Tensor got({1, m, form == 3 ? n / 2 : n}, NAN), ga({1, m, 10}, NAN),
          gc({1, m, n - 10}, NAN);
      auto launch = [&](Tensor &in, bool fold) {
        Launch l("linear");
        l.in(in).in(w);
        form == 0 ? l.in(b) : l.none();
        if (form == 1)
          l.in(r);
        else if (fold)
          l.none();
        if (fold)
          l.in(g).attr("norm_eps", 1e-5);
        if (form == 3)
          l.attr("glu", "silu");
        if (form == 2)
          fold ? l.out(ga).out(gc) : l.out(a).out(c);
        else
          l.out(fold ? got : want);
        return l.run(testPool());
      };
      ASSERT_EQ(launch(normed, false), "");
      ASSERT_EQ(launch(x, true), "");
      if (form == 2) {
        EXPECT_EQ(ga.f, a.f) << "m=" << m;
        EXPECT_EQ(gc.f, c.f) << "m=" << m;
      } else {
        EXPECT_EQ(got.f, want.f) << "m=" << m << " form=" << form;
      }
    }
  }
  Tensor x({1, 2, 8}), w({4, 8}), y({1, 2, 4}), g7({7});
  EXPECT_EQ(Launch("linear")
                .in(x)
                .in(w)
                .none()
                .none()
                .in(g7)
                .attr("norm_eps", 1e-5)
                .out(y)
                .run(nullptr),
            "linear: 'norm_weight' dim 0 (in_features) is 7 but 'input' dim 2 "
            "is 8");
  // Without operand 4 the norm's weight is folded into `weight`: the rows
  // are only scaled, the bits of rms_norm with a weight of ones.
  {
    Rng r2(9);
    Tensor xs = r2.uniform({1, 3, 8}), ws = r2.uniform({4, 8}), ones({8}, 1.0f),
           normed({1, 3, 8}), want({1, 3, 4}), got({1, 3, 4}, NAN);
    ASSERT_EQ(Launch("rms_norm")
                  .in(xs)
                  .in(ones)
                  .attr("epsilon", 1e-5)
                  .out(normed)
                  .run(testPool()),
              "");
    ASSERT_EQ(Launch("linear").in(normed).in(ws).out(want).run(testPool()), "");
    ASSERT_EQ(Launch("linear")
                  .in(xs)
                  .in(ws)
                  .none()
                  .none()
                  .attr("norm_eps", 1e-5)
                  .out(got)
                  .run(testPool()),
              "");
    EXPECT_EQ(got.f, want.f);
  }
  // Without norm_eps a fifth operand is one too many.
  Tensor g({8});
  EXPECT_EQ(
      Launch("linear").in(x).in(w).none().none().in(g).out(y).run(nullptr),
      "linear: expects 2 to 4 operands, got 5");
}

// With row_sumsq the last result holds each result row's sums of squares
// over 128 columns (the last group short), for plain, residual and gated-MLP
// launches; a folding launch given them (operand 5) gives the bits it gives
// without them.
TEST(Linear, RowSumsOfSquaresForTheNextFoldedNorm) {
  Rng rng(10);
  const int64_t m = 3, k = 40, n = 300;
  Tensor x = rng.uniform({1, m, k}), w = rng.uniform({n, k});
  Tensor w2 = rng.uniform({2 * n, k}), r = rng.uniform({1, m, n});
  for (int form = 0; form < 3; ++form) {
    Tensor y({1, m, n}, NAN), sums({1, m, 3}, NAN);
    Launch l("linear");
    l.in(x).in(form == 2 ? w2 : w).none();
    if (form == 1)
      l.in(r);
    if (form == 2)
      l.attr("glu", "silu");
    ASSERT_EQ(l.attr("row_sumsq", true).out(y).out(sums).run(testPool()), "")
        << form;
    for (int64_t row = 0; row < m; ++row)
      for (int64_t g = 0; g < 3; ++g) {
        double want = 0;
        for (int64_t j = 128 * g; j < std::min<int64_t>(n, 128 * g + 128); ++j)
          want += double(y.f[row * n + j]) * y.f[row * n + j];
        EXPECT_NEAR(sums.f[row * 3 + g], want, 1e-4 * want) << form;
      }
  }
  // The consumer: operand 5 is checked, not needed.
  Tensor w8 = rng.uniform({8, n});
  auto fold = [&](Tensor *sums, Tensor &out) {
    Launch l("linear");
    l.in(r).in(w8).none().none().none();
    if (sums)
      l.in(*sums);
    return l.attr("norm_eps", 1e-5).out(out).run(testPool());
  };
  Tensor a({1, m, 8}, NAN), b({1, m, 8}, NAN), rs({1, m, 3}), bad({1, m, 2});
  ASSERT_EQ(fold(nullptr, a), "");
  ASSERT_EQ(fold(&rs, b), "");
  EXPECT_EQ(a.f, b.f);
  EXPECT_EQ(fold(&bad, b),
            "linear: 'row_sums' dim 2 (one sum a 128 columns of 'input') is "
            "2, expected 3");
}

/// Throughput of a 512x2048 by 2048x2048 linear, one thread and all
/// threads. Run with --gtest_also_run_disabled_tests to print it.
TEST(Linear, DISABLED_Throughput) {
  Rng rng(4);
  const int64_t m = 512, k = 2048, n = 2048;
  Tensor x = rng.uniform({1, m, k}), w = rng.uniform({n, k}), y({1, m, n});
  ThreadPool one(1), all(0);
  for (const std::string &variant : variants()) {
    cpu::selectGemmVariant(variant);
    for (ThreadPool *pool : {&one, &all}) {
      Launch l("linear");
      l.in(x).in(w).out(y);
      ASSERT_EQ(l.run(pool), "");
      double best = 1e30;
      for (int rep = 0; rep < 10; ++rep) {
        auto t0 = std::chrono::steady_clock::now();
        ASSERT_EQ(l.run(pool), "");
        best = std::min(best, std::chrono::duration<double>(
                                  std::chrono::steady_clock::now() - t0)
                                  .count());
      }
      std::printf(
          "linear %lldx%lld by %lldx%lld, %s, %u thread(s): %.1f GFLOP/s "
          "(%.2f ms)\n",
          (long long)m, (long long)k, (long long)k, (long long)n,
          variant.c_str(), pool->size(), 2.0 * m * n * k / best / 1e9,
          best * 1e3);
    }
  }
  cpu::selectGemmVariant("");
}

} // namespace
