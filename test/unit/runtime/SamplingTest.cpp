//===- SamplingTest.cpp - temperature, top-k, top-p sampling --------------===//
//
// The sampler against greedy's argmax and against the distributions the
// options define, computed here independently (softmax in double, the top-k
// and top-p sets by sorting), over 20000 draws of fixed seeds.
//
//===----------------------------------------------------------------------===//

#include "runtime/src/Sampling.h"
#include "runtime/src/Error.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

using namespace braid::rt;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

/// softmax(logits / T) over the non-NaN values, then the top-k (ties with
/// the k-th kept) and top-p (smallest most-likely set reaching p) filters,
/// renormalized: the distribution the sampler must follow.
std::vector<double> expected(const std::vector<float> &logits,
                             const SamplingOptions &o) {
  const size_t n = logits.size();
  std::vector<double> scaled(n, -INFINITY);
  for (size_t i = 0; i < n; ++i)
    if (!std::isnan(logits[i]))
      scaled[i] = double(logits[i]) / o.temperature;
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return scaled[a] > scaled[b]; });
  std::vector<bool> kept(n, true);
  if (o.topK > 0 && size_t(o.topK) < n)
    for (size_t i = 0; i < n; ++i)
      kept[i] = scaled[i] >= scaled[order[size_t(o.topK) - 1]];
  auto normalized = [&] {
    double top = scaled[order[0]], sum = 0;
    std::vector<double> p(n, 0);
    for (size_t i = 0; i < n; ++i)
      if (kept[i] && scaled[i] > -INFINITY)
        sum += p[i] = std::exp(scaled[i] - top);
    for (double &v : p)
      v /= sum;
    return p;
  };
  if (o.topP < 1) {
    std::vector<double> p = normalized();
    double before = 0;
    for (size_t r = 0; r < n; ++r) {
      size_t i = order[r];
      if (!kept[i])
        continue;
      if (before >= o.topP)
        kept[i] = false;
      before += p[i];
    }
  }
  return normalized();
}

/// Frequencies of `draws` tokens from one stream.
std::vector<double> frequencies(const std::vector<float> &logits,
                                const SamplingOptions &o, int draws) {
  Sampler sampler(o);
  RandomStream stream(o.seed, 0);
  std::vector<double> f(logits.size(), 0);
  for (int i = 0; i < draws; ++i) {
    int64_t t = sampler.sample(logits.data(), int64_t(logits.size()), stream);
    EXPECT_GE(t, 0);
    EXPECT_LT(t, int64_t(logits.size()));
    f[size_t(t)] += 1.0 / draws;
  }
  return f;
}

/// Every frequency within 4.5 standard deviations of its probability (a
/// token of probability 0 never drawn).
void expectFrequencies(const std::vector<double> &got,
                       const std::vector<double> &want, int draws) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    double sigma = std::sqrt(want[i] * (1 - want[i]) / draws);
    EXPECT_NEAR(got[i], want[i], 4.5 * sigma + 1e-12) << "token " << i;
  }
}

std::string errorOf(const SamplingOptions &o) {
  try {
    Sampler s(o);
    return "";
  } catch (const Error &e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    return e.what();
  }
}

// Temperature 0 is greedy: argmax's rule exactly (first maximum, NaN only
// at index 0, index 0 for rows of -inf or NaN), and no random number used.
TEST(Sampling, TemperatureZeroIsTheArgmax) {
  std::vector<std::vector<float>> rows{
      {1, 3, 3, 2},          {kNaN, 5, 7, 1}, {2, kNaN, 9, 9},
      {-kInf, -kInf, -kInf}, {kNaN, kNaN},    {-kInf, kNaN, -kInf},
      {-1, -kInf, -0.5f},    {kInf, 2, kInf}, {-7}};
  std::vector<int64_t> want{1, 0, 2, 0, 0, 0, 2, 0, 0};
  Sampler greedy(SamplingOptions{0, 3, 0.5, 11});
  RandomStream used(11, 0), fresh(11, 0);
  for (size_t r = 0; r < rows.size(); ++r) {
    int64_t n = int64_t(rows[r].size());
    EXPECT_EQ(argmax(rows[r].data(), n), want[r]) << "row " << r;
    EXPECT_EQ(greedy.sample(rows[r].data(), n, used), want[r]) << "row " << r;
  }
  EXPECT_EQ(used.uniform(), fresh.uniform());
}

// With sampling on, a row with nothing to draw from (all NaN or -inf) gets
// the argmax rule too; a NaN is never drawn.
TEST(Sampling, RowsWithoutFiniteValuesFallBackToTheArgmax) {
  Sampler s(SamplingOptions{1});
  RandomStream stream(3, 0);
  std::vector<float> nan{kNaN, kNaN, kNaN}, ninf{-kInf, -kInf},
      mixed{-kInf, kNaN, -kInf}, oneFinite{kNaN, -kInf, 4, kNaN};
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(s.sample(nan.data(), 3, stream), 0);
    EXPECT_EQ(s.sample(ninf.data(), 2, stream), 0);
    EXPECT_EQ(s.sample(mixed.data(), 3, stream), 0);
    EXPECT_EQ(s.sample(oneFinite.data(), 4, stream), 2);
  }
}

// Top-k 1 and a tiny top-p keep only the most likely token: the argmax, for
// random rows at any temperature and seed (top-p also on ties: the first).
TEST(Sampling, TopKOneAndTinyTopPAreTheArgmax) {
  RandomStream values(99, 0);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<float> row(37);
    for (float &v : row)
      v = float(values.uniform() * 20 - 10);
    if (trial % 3 == 0) // not at index 0, where argmax would pick it
      row[size_t(1 + trial % 36)] = kNaN;
    if (trial % 5 == 0) // a tie for the maximum
      row[3] = row[30] = 50;
    int64_t want = argmax(row.data(), 37);
    double t = 0.1 + 3 * values.uniform();
    RandomStream stream(uint64_t(trial), 0);
    if (trial % 5 != 0) {
      Sampler topK(SamplingOptions{t, 1, 1, uint64_t(trial)});
      EXPECT_EQ(topK.sample(row.data(), 37, stream), want) << trial;
    }
    Sampler topP(SamplingOptions{t, 0, 1e-9, uint64_t(trial)});
    EXPECT_EQ(topP.sample(row.data(), 37, stream), want) << trial;
  }
}

// A very small temperature divides the differences to the maximum, not the
// logits: no overflow, the argmax.
TEST(Sampling, TinyTemperatureIsTheArgmax) {
  std::vector<float> row{3e38f, 1, -3e38f, 3.1e38f, 0};
  Sampler s(SamplingOptions{1e-300});
  RandomStream stream(1, 0);
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(s.sample(row.data(), 5, stream), 3);
}

// Draws follow softmax(logits / T): 20000 draws of a fixed seed, each
// token's frequency within 4.5 sigma of its probability; NaN and -inf never.
TEST(Sampling, FrequenciesFollowTheSoftmax) {
  const int draws = 20000;
  std::vector<float> logits{1.0f, 2.0f, 0.5f, -1.0f, 3.0f, kNaN, -kInf, 2.5f};
  for (double t : {0.7, 1.0, 2.5}) {
    SCOPED_TRACE(t);
    SamplingOptions o = SamplingOptions{t, 0, 1, 1234};
    std::vector<double> got = frequencies(logits, o, draws);
    std::vector<double> want = expected(logits, o);
    EXPECT_EQ(got[5], 0);
    EXPECT_EQ(got[6], 0);
    expectFrequencies(got, want, draws);
  }
  // The test's own softmax, checked by hand at T = 1.
  std::vector<double> p = expected({0, std::log(3.0f)}, SamplingOptions{1});
  EXPECT_NEAR(p[0], 0.25, 1e-7);
  EXPECT_NEAR(p[1], 0.75, 1e-7);
}

// Top-k keeps the k largest, renormalized; top-p the smallest most-likely
// set reaching p; both together apply top-k first.
TEST(Sampling, TopKAndTopPRenormalizeTheKeptTokens) {
  const int draws = 20000;
  std::vector<float> logits{1.0f, 2.0f, 0.5f, -1.0f, 3.0f, kNaN, 2.5f, 0.0f};
  struct Case {
    SamplingOptions o;
    size_t keptCount;
  };
  for (Case c :
       {Case{SamplingOptions{1, 3, 1, 5}, 3}, Case{SamplingOptions{1, 0, 0.8, 6}, 3},
        Case{SamplingOptions{0.5, 0, 0.9, 7}, 3}, Case{SamplingOptions{1, 4, 0.95, 8}, 4},
        Case{SamplingOptions{1.5, 2, 0.99, 9}, 2}}) {
    SCOPED_TRACE(describeSampling(c.o));
    std::vector<double> want = expected(logits, c.o);
    EXPECT_EQ(size_t(std::count_if(want.begin(), want.end(),
                                   [](double v) { return v > 0; })),
              c.keptCount);
    expectFrequencies(frequencies(logits, c.o, draws), want, draws);
  }
}

// Top-p over a long row selects without sorting: the same set as the
// sorted definition, for random rows of 500 tokens (every frequency within
// 4.5 sigma), and for equal logits the lowest tokens first (100 tokens of
// mass 0.01: top-p 0.5 keeps tokens 0..49, each drawn).
TEST(Sampling, TopPOnLongRowsAndTies) {
  const int draws = 20000;
  RandomStream values(5, 0);
  std::vector<float> row(500);
  for (float &v : row)
    v = float(values.uniform() * 8);
  for (SamplingOptions o : {SamplingOptions{1, 0, 0.3, 1}, SamplingOptions{0.5, 0, 0.9, 2},
                            SamplingOptions{2, 200, 0.8, 3}}) {
    SCOPED_TRACE(describeSampling(o));
    expectFrequencies(frequencies(row, o, draws), expected(row, o), draws);
  }
  std::vector<float> flat(100, 0.25f);
  std::vector<double> got = frequencies(flat, SamplingOptions{1, 0, 0.5, 4}, draws);
  for (size_t i = 0; i < 100; ++i) {
    if (i < 50)
      EXPECT_GT(got[i], 0) << i;
    else
      EXPECT_EQ(got[i], 0) << i;
  }
}

// Tokens tied with the k-th largest stay (transformers' threshold), and
// +inf logits share all the mass.
TEST(Sampling, TiesAtTheKthAndInfinitiesAreKept) {
  const int draws = 20000;
  std::vector<float> tied{5, 3, 3, 1};
  SamplingOptions o = SamplingOptions{1, 2, 1, 17};
  std::vector<double> want = expected(tied, o);
  EXPECT_GT(want[2], 0);
  expectFrequencies(frequencies(tied, o, draws), want, draws);
  std::vector<float> inf{1, kInf, 2, kInf, kNaN};
  std::vector<double> got = frequencies(inf, SamplingOptions{0.8, 0, 1, 3}, draws);
  expectFrequencies(got, {0, 0.5, 0, 0.5, 0}, draws);
}

// The same seed gives the same tokens; another sequence index or another
// seed gives another stream. uniform() stays in [0, 1).
TEST(Sampling, StreamsAreSeededBySeedAndSequence) {
  std::vector<float> flat(16, 0.0f);
  auto tokens = [&](uint64_t seed, uint64_t sequence) {
    Sampler s(SamplingOptions{1, 0, 1, seed});
    RandomStream stream(seed, sequence);
    std::vector<int64_t> t;
    for (int i = 0; i < 64; ++i)
      t.push_back(s.sample(flat.data(), 16, stream));
    return t;
  };
  EXPECT_EQ(tokens(42, 0), tokens(42, 0));
  EXPECT_EQ(tokens(42, 3), tokens(42, 3));
  EXPECT_NE(tokens(42, 0), tokens(42, 1));
  EXPECT_NE(tokens(42, 0), tokens(43, 0));
  // The halves of the seed both count: (2^32, 0) is not (0, 1) or (0, 0).
  EXPECT_NE(tokens(uint64_t(1) << 32, 0), tokens(0, 0));
  EXPECT_NE(tokens(0, 1), tokens(uint64_t(1) << 32, 0));
  RandomStream r(7, 0);
  double sum = 0;
  for (int i = 0; i < 100000; ++i) {
    double u = r.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  EXPECT_NEAR(sum / 100000, 0.5, 0.005);
}

// Bad options are refused with the value named.
TEST(Sampling, InvalidOptionsAreRejected) {
  EXPECT_EQ(errorOf(SamplingOptions{-1}),
            "temperature must be a finite number >= 0 (0: greedy), got -1");
  EXPECT_EQ(errorOf(SamplingOptions{NAN}),
            "temperature must be a finite number >= 0 (0: greedy), got nan");
  EXPECT_EQ(errorOf(SamplingOptions{INFINITY}),
            "temperature must be a finite number >= 0 (0: greedy), got inf");
  EXPECT_EQ(errorOf(SamplingOptions{1, -2}), "top_k must be >= 0 (0: off), got -2");
  EXPECT_EQ(errorOf(SamplingOptions{1, 0, 0}),
            "top_p must be in (0, 1] (1: off), got 0");
  EXPECT_EQ(errorOf(SamplingOptions{1, 0, 1.5}),
            "top_p must be in (0, 1] (1: off), got 1.5");
  EXPECT_EQ(errorOf(SamplingOptions{1, 0, NAN}),
            "top_p must be in (0, 1] (1: off), got nan");
  // Greedy options are checked too.
  EXPECT_EQ(errorOf(SamplingOptions{0, -1}), "top_k must be >= 0 (0: off), got -1");
  EXPECT_EQ(errorOf(SamplingOptions{0.5, 3, 0.9, 1}), "");
  try {
    checkSamplingOptions(SamplingOptions{1, 0, 2}, "braid_generate: ");
    ADD_FAILURE() << "top_p 2 accepted";
  } catch (const Error &e) {
    EXPECT_STREQ(e.what(),
                 "braid_generate: top_p must be in (0, 1] (1: off), got 2");
  }
}

TEST(Sampling, Description) {
  EXPECT_EQ(describeSampling(SamplingOptions{0, 5, 0.5, 3}), "greedy");
  EXPECT_EQ(describeSampling(SamplingOptions{0.8, 0, 1, 7}), "temperature 0.8, seed 7");
  EXPECT_EQ(describeSampling(SamplingOptions{1, 40, 0.95, 0}),
            "temperature 1, top-k 40, top-p 0.95, seed 0");
}

} // namespace
