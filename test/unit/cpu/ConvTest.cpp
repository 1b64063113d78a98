//===- ConvTest.cpp - causal_conv1d ---------------------------------------===//
#include "CpuTestUtil.h"

using namespace braid::rt;
using namespace braid::rt::test;

namespace {

/// y[b, t, c] = act(bias[c] + sum_j w[c, j] * xs[b, t + j, c]) where xs is
/// [state (K - 1 steps, or zeros), x]. Also returns the new state.
std::vector<double> convRef(const Tensor &x, const Tensor &w,
                            const Tensor *bias, const Tensor *state, bool silu,
                            std::vector<double> *newState) {
  int64_t B = x.shape[0], T = x.shape[1], C = x.shape[2], K = w.shape[1];
  std::vector<double> y(x.f.size());
  if (newState)
    newState->assign(static_cast<size_t>(B * C * (K - 1)), 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c) {
      std::vector<double> xs; // K - 1 history values, then x
      for (int64_t i = 0; i < K - 1; ++i)
        xs.push_back(state ? state->f[(b * C + c) * (K - 1) + i] : 0.0);
      for (int64_t t = 0; t < T; ++t)
        xs.push_back(x.f[(b * T + t) * C + c]);
      for (int64_t t = 0; t < T; ++t) {
        double s = bias ? bias->f[c] : 0.0;
        for (int64_t j = 0; j < K; ++j)
          s += double(w.f[c * K + j]) * xs[t + j];
        y[(b * T + t) * C + c] = silu ? siluRef(s) : s;
      }
      if (newState)
        for (int64_t i = 0; i < K - 1; ++i)
          (*newState)[(b * C + c) * (K - 1) + i] = xs[T + i];
    }
  return y;
}

Launch convLaunch(Tensor &x, Tensor &w, Tensor *bias, Tensor *state, Tensor &y,
                  Tensor *newState, bool silu) {
  Launch l("causal_conv1d");
  l.in(x).in(w);
  bias ? l.in(*bias) : l.none();
  state ? l.in(*state) : l.none();
  l.out(y);
  if (newState)
    l.out(*newState);
  l.attr("kernel_size", w.shape[1])
      .attr("activation", silu ? "silu" : "identity");
  return l;
}

TEST(CausalConv1d, MatchesReferenceWithAndWithoutBiasAndState) {
  Rng rng(50);
  for (int64_t K : {1, 2, 4})
    for (int64_t T : {1, 3, 7, 33})
      for (int64_t C : {5, 64, 130})
        for (int mask = 0; mask < 8; ++mask)
          for (ThreadPool *pool : pools()) {
            bool withBias = mask & 1, withState = mask & 2, silu = mask & 4;
            Tensor x = rng.uniform({2, T, C}), w = rng.uniform({C, K}),
                   b = rng.uniform({C});
            Tensor st = rng.uniform({2, C, K - 1}), y({2, T, C}, NAN);
            Tensor before = st;
            std::vector<double> wantState;
            std::vector<double> want =
                convRef(x, w, withBias ? &b : nullptr,
                        withState ? &before : nullptr, silu, &wantState);
            // The state result aliases the operand, as the runtime passes it.
            ASSERT_EQ(convLaunch(x, w, withBias ? &b : nullptr,
                                 withState ? &st : nullptr, y,
                                 withState ? &st : nullptr, silu)
                          .run(pool),
                      "");
            EXPECT_CLOSE(y.f, want)
                << "K=" << K << " T=" << T << " C=" << C << " mask=" << mask;
            if (withState && K > 1) {
              EXPECT_CLOSE(st.f, wantState) << "K=" << K << " T=" << T;
            }
          }
}

TEST(CausalConv1d, PiecesCarriedByTheStateMatchOneCall) {
  Rng rng(51);
  int64_t K = 4, C = 37, T = 20;
  for (bool alias : {true, false}) {
    Tensor x = rng.uniform({2, T, C}), w = rng.uniform({C, K}),
           b = rng.uniform({C});
    Tensor y({2, T, C});
    // One call without a state (zeros before the first token).
    ASSERT_EQ(convLaunch(x, w, &b, nullptr, y, nullptr, true).run(testPool()),
              "");
    EXPECT_CLOSE(y.f, convRef(x, w, &b, nullptr, true, nullptr));
    // Prefill 6, decode single tokens, pieces shorter than K - 1, a chunk.
    Tensor st({2, C, K - 1}, 0.0f), st2 = st;
    std::vector<float> got(y.f.size());
    int64_t done = 0;
    for (int64_t n : {6, 1, 1, 2, 1, 5, 1, 3}) {
      Tensor xs({2, n, C}), ys({2, n, C});
      for (int64_t bb = 0; bb < 2; ++bb)
        std::copy_n(x.f.begin() + (bb * T + done) * C, n * C,
                    xs.f.begin() + bb * n * C);
      ASSERT_EQ(convLaunch(xs, w, &b, &st, ys, alias ? &st : &st2, true)
                    .run(testPool()),
                "");
      if (!alias)
        st = st2;
      for (int64_t bb = 0; bb < 2; ++bb)
        std::copy_n(ys.f.begin() + bb * n * C, n * C,
                    got.begin() + (bb * T + done) * C);
      done += n;
    }
    ASSERT_EQ(done, T);
    EXPECT_CLOSE(got, y.f) << "alias=" << alias;
  }
}

TEST(CausalConv1d, ReportsMismatches) {
  Tensor x({1, 3, 8}), w({8, 4}), y({1, 3, 8}), st({1, 8, 4});
  EXPECT_EQ(
      convLaunch(x, w, nullptr, &st, y, &st, false).run(nullptr),
      "causal_conv1d: 'conv_state' dim 2 (kernel_size - 1) is 4, expected 3");
  Tensor w2({7, 4});
  EXPECT_EQ(
      convLaunch(x, w2, nullptr, nullptr, y, nullptr, false).run(nullptr),
      "causal_conv1d: 'weight' dim 0 (channels) is 7 but 'input' dim 2 is 8");
  Launch l = convLaunch(x, w, nullptr, nullptr, y, nullptr, false);
  l.attr("activation", "gelu");
  EXPECT_EQ(l.run(nullptr), "causal_conv1d: activation 'gelu' is not "
                            "supported; use identity or silu");
  Tensor st3({1, 8, 3});
  EXPECT_EQ(convLaunch(x, w, nullptr, &st3, y, nullptr, false).run(nullptr),
            "causal_conv1d: expects at least 2 results (the output or its "
            "pieces, then the updated state), got 1");
  // Pieces whose widths do not add up to the channels.
  Tensor p0({1, 3, 4}), p1({1, 3, 3});
  Launch pieces("causal_conv1d");
  pieces.in(x).in(w).none().none().out(p0).out(p1);
  pieces.attr("kernel_size", int64_t(4)).attr("activation", "identity");
  EXPECT_EQ(pieces.run(nullptr),
            "causal_conv1d: the output pieces' last dims add up to 7 but the "
            "input has 8 channels");
}

TEST(CausalConv1d, WritesTheSplitPiecesOfItsOutput) {
  // passes/EpilogueFusion.h: one buffer per column piece, then the state;
  // the pieces hold exactly the columns of the whole output.
  Rng rng(52);
  int64_t K = 4, C = 8, T = 5;
  Tensor x = rng.uniform({2, T, C}), w = rng.uniform({C, K}),
         b = rng.uniform({C}), st = rng.uniform({2, C, K - 1});
  Tensor wholeState = st, y({2, T, C});
  ASSERT_EQ(
      convLaunch(x, w, &b, &wholeState, y, &wholeState, true).run(testPool()),
      "");
  Tensor p0({2, T, 4}, NAN), p1({2, T, 2}, NAN), p2({2, T, 2}, NAN);
  Launch l("causal_conv1d");
  l.in(x).in(w).in(b).in(st).out(p0).out(p1).out(p2).out(st);
  l.attr("kernel_size", K).attr("activation", "silu");
  ASSERT_EQ(l.run(testPool()), "");
  const Tensor *parts[] = {&p0, &p1, &p2};
  for (int64_t row = 0; row < 2 * T; ++row) {
    int64_t col = 0;
    for (const Tensor *p : parts) {
      const int64_t width = p->shape[2];
      for (int64_t j = 0; j < width; ++j, ++col)
        EXPECT_EQ(p->f[row * width + j], y.f[row * C + col])
            << "row " << row << " column " << col;
    }
  }
  EXPECT_EQ(st.f, wholeState.f); // the same new state
}

} // namespace
