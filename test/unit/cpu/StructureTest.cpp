//===- StructureTest.cpp - data movement, merges, greedy_next -------------===//
#include "CpuTestUtil.h"

using namespace braid::rt;
using namespace braid::rt::test;

namespace {

TEST(Embedding, GathersRows) {
  Rng rng(30);
  for (int64_t t : {1, 3, 37})
    for (ThreadPool *pool : pools()) {
      Tensor table = rng.uniform({11, 5});
      std::vector<int64_t> ids;
      for (int64_t i = 0; i < 2 * t; ++i)
        ids.push_back(rng.integer(0, 10));
      Tensor idT = Tensor::ints({2, t}, ids), y({2, t, 5});
      ASSERT_EQ(Launch("embedding").in(idT).in(table).out(y).run(pool), "");
      for (int64_t i = 0; i < 2 * t; ++i)
        for (int64_t j = 0; j < 5; ++j)
          ASSERT_EQ(y.f[i * 5 + j], table.f[ids[i] * 5 + j]);
    }
}

TEST(Embedding, RejectsIdsOutsideTheVocabulary) {
  Tensor table({11, 5}), y({1, 3, 5});
  Tensor ids = Tensor::ints({1, 3}, {0, 11, 2});
  EXPECT_EQ(
      Launch("embedding").in(ids).in(table).out(y).run(nullptr),
      "embedding: 'ids' value 11 at [0, 1] is outside the vocabulary [0, 11)");
  Tensor neg = Tensor::ints({1, 3}, {0, 1, -1});
  EXPECT_EQ(
      Launch("embedding").in(neg).in(table).out(y).run(nullptr),
      "embedding: 'ids' value -1 at [0, 2] is outside the vocabulary [0, 11)");
  Tensor floats({1, 3});
  EXPECT_EQ(Launch("embedding").in(floats).in(table).out(y).run(nullptr),
            "embedding: 'ids' must be i64, got f32");
}

/// Element of a row-major tensor by multi-index.
int64_t flat(const std::vector<int64_t> &shape,
             const std::vector<int64_t> &idx) {
  int64_t f = 0;
  for (size_t d = 0; d < shape.size(); ++d)
    f = f * shape[d] + idx[d];
  return f;
}

TEST(ConcatSplit, EveryAxisRoundTrips) {
  Rng rng(31);
  for (int64_t axis : {0, 1, 2})
    for (ThreadPool *pool : pools()) {
      std::vector<int64_t> sizes = {3, 1, 5};
      std::vector<Tensor> parts;
      std::vector<int64_t> outShape = {2, 4, 6};
      outShape[axis] = 9;
      for (int64_t s : sizes) {
        std::vector<int64_t> shape = {2, 4, 6};
        shape[axis] = s;
        parts.push_back(rng.uniform(shape));
      }
      Tensor y(outShape);
      Launch l("concat");
      for (Tensor &p : parts)
        l.in(p);
      ASSERT_EQ(l.out(y).attr("axis", axis).run(pool), "");
      // Reference: element by element.
      int64_t offset = 0;
      for (size_t p = 0; p < parts.size(); ++p) {
        const std::vector<int64_t> &s = parts[p].shape;
        for (int64_t i = 0; i < s[0]; ++i)
          for (int64_t j = 0; j < s[1]; ++j)
            for (int64_t k = 0; k < s[2]; ++k) {
              std::vector<int64_t> o = {i, j, k};
              o[axis] += offset;
              ASSERT_EQ(y.f[flat(outShape, o)], parts[p].f[flat(s, {i, j, k})]);
            }
        offset += sizes[p];
      }
      // Split undoes it.
      std::vector<Tensor> back;
      for (Tensor &p : parts)
        back.emplace_back(p.shape, NAN);
      Launch s("split");
      s.in(y).attr("axis", axis).attr("sizes", AttrValue(sizes));
      for (Tensor &b : back)
        s.out(b);
      ASSERT_EQ(s.run(pool), "");
      for (size_t p = 0; p < parts.size(); ++p)
        EXPECT_EQ(back[p].f, parts[p].f);
    }
}

TEST(ConcatSplit, ReportMismatches) {
  Tensor a({2, 3}), b({3, 3}), y({2, 6});
  EXPECT_EQ(Launch("concat").in(a).in(b).out(y).attr("axis", 1).run(nullptr),
            "concat: 'input #1' dim 0 (non-axis) is 3 but 'result' dim 0 is 2");
  Tensor y2({5, 4});
  EXPECT_EQ(Launch("concat").in(a).in(b).out(y2).attr("axis", 0).run(nullptr),
            "concat: 'input #0' dim 1 (non-axis) is 3 but 'result' dim 1 is 4");
  Tensor x({2, 7}), p({2, 3}), q({2, 3});
  EXPECT_EQ(Launch("split")
                .in(x)
                .out(p)
                .out(q)
                .attr("axis", 1)
                .attr("sizes", AttrValue(std::vector<int64_t>{3, 3}))
                .run(nullptr),
            "split: 'input' dim 1 (sum of 'sizes') is 7, expected 6");
  EXPECT_EQ(
      Launch("split")
          .in(x)
          .out(p)
          .attr("axis", 1)
          .attr("sizes", AttrValue(std::vector<int64_t>{3, 4}))
          .run(nullptr),
      "split: attribute 'sizes' has 2 entries but the launch has 1 results");
}

TEST(GatherLast, CopiesEachSequencesLastRow) {
  Rng rng(31);
  for (int64_t t : {1, 4})
    for (ThreadPool *pool : pools()) {
      Tensor x = rng.uniform({3, t, 5}), y({3, 1, 5});
      ASSERT_EQ(Launch("gather_last").in(x).out(y).run(pool), "");
      for (int64_t b = 0; b < 3; ++b)
        for (int64_t j = 0; j < 5; ++j)
          ASSERT_EQ(y.f[b * 5 + j], x.f[(b * t + t - 1) * 5 + j]);
    }
  Tensor x({2, 3, 5}), wide({2, 2, 5});
  EXPECT_EQ(Launch("gather_last").in(x).out(wide).run(nullptr),
            "gather_last: 'result' dim 1 (one row per sequence) is 2, expected "
            "1");
}

TEST(GreedyNext, PicksEachRowsFirstMaximumAndAdvancesPositions) {
  // Row 0: a tie between 2 and 5 (the first wins); row 1: NaN entries are
  // skipped; row 2: a NaN at index 0 wins (nothing compares greater, as in
  // the host's argmax); row 3: every entry -inf gives index 0.
  const float nan = std::nanf(""), inf = INFINITY;
  Tensor logits({4, 1, 6});
  logits.f = {0.5f, 1.0f, 3.0f, -2.0f, 0.0f, 3.0f, //
              0.0f, 1.0f, nan,  7.0f,  nan,  6.5f, //
              nan,  1.0f, 2.0f, 3.0f,  4.0f, 5.0f, //
              -inf, -inf, -inf, -inf,  -inf, -inf};
  Tensor ids = Tensor::ints({4, 1}, {9, 9, 9, 9});
  Tensor positions = Tensor::ints({4, 1}, {3, 10, 0, 7});
  Tensor cache = Tensor::ints({4}, {3, 10, 0, 7});
  ASSERT_EQ(Launch("greedy_next")
                .in(logits)
                .out(ids)
                .out(positions)
                .out(cache)
                .run(nullptr),
            "");
  EXPECT_EQ(ids.i, (std::vector<int64_t>{2, 3, 0, 0}));
  EXPECT_EQ(positions.i, (std::vector<int64_t>{4, 11, 1, 8}));
  EXPECT_EQ(cache.i, (std::vector<int64_t>{4, 11, 1, 8}));
  // The host's choice on the same rows (runtime/src/Session.cpp's argmax:
  // the first index greater than every earlier one).
  for (int64_t b = 0; b < 4; ++b) {
    const float *row = logits.f.data() + b * 6;
    int64_t best = 0;
    for (int64_t v = 1; v < 6; ++v)
      if (row[v] > row[best])
        best = v;
    EXPECT_EQ(ids.i[size_t(b)], best);
  }
}

TEST(GreedyNext, NamesTheWrongOperand) {
  Tensor logits({2, 1, 6}), ids = Tensor::ints({2, 1}, {0, 0});
  Tensor positions = Tensor::ints({2, 1}, {0, 0});
  Tensor cache = Tensor::ints({3}, {0, 0, 0});
  EXPECT_EQ(Launch("greedy_next")
                .in(logits)
                .out(ids)
                .out(positions)
                .out(cache)
                .run(nullptr),
            "greedy_next: 'cache_position' dim 0 (batch) is 3 but 'logits' "
            "dim 0 is 2");
  Tensor wide({2, 2, 6});
  Tensor cache2 = Tensor::ints({2}, {0, 0});
  EXPECT_EQ(Launch("greedy_next")
                .in(wide)
                .out(ids)
                .out(positions)
                .out(cache2)
                .run(nullptr),
            "greedy_next: 'logits' dim 1 (one token per sequence) is 2, "
            "expected 1");
}

TEST(Merge, SumAndMeanWithMultipliers) {
  Rng rng(32);
  for (const char *mode : {"sum", "mean"})
    for (bool multipliers : {false, true})
      for (ThreadPool *pool : pools()) {
        Tensor a = rng.uniform({2, 7, 9}), b = rng.uniform({2, 7, 9}),
               c = rng.uniform({2, 7, 9});
        Tensor y({2, 7, 9});
        std::vector<double> m = {0.5, -2.0, 3.0};
        Launch l("merge");
        // A trailing absent weight operand, as the launch writes it.
        l.in(a).in(b).in(c).none().out(y).attr("mode", mode);
        if (multipliers)
          l.attr("multipliers", AttrValue(m));
        ASSERT_EQ(l.run(pool), "");
        std::vector<double> want(a.f.size());
        for (size_t i = 0; i < want.size(); ++i) {
          double s = multipliers ? m[0] * a.f[i] + m[1] * b.f[i] + m[2] * c.f[i]
                                 : double(a.f[i]) + b.f[i] + c.f[i];
          want[i] = mode[0] == 'm' ? s / 3.0 : s;
        }
        EXPECT_CLOSE(y.f, want) << mode << " multipliers=" << multipliers;
      }
}

TEST(Merge, ConcatProjection) {
  Rng rng(33);
  for (int64_t t : {1, 7, 33})
    for (ThreadPool *pool : pools()) {
      int64_t h = 19;
      Tensor a = rng.uniform({2, t, h}), b = rng.uniform({2, t, h}),
             w = rng.uniform({h, 2 * h});
      Tensor y({2, t, h});
      ASSERT_EQ(Launch("merge")
                    .in(a)
                    .in(b)
                    .in(w)
                    .out(y)
                    .attr("mode", "concat_proj")
                    .run(pool),
                "");
      std::vector<double> want(y.f.size());
      for (int64_t r = 0; r < 2 * t; ++r)
        for (int64_t n = 0; n < h; ++n) {
          double s = 0;
          for (int64_t k = 0; k < h; ++k)
            s += double(a.f[r * h + k]) * w.f[n * 2 * h + k] +
                 double(b.f[r * h + k]) * w.f[n * 2 * h + h + k];
          want[r * h + n] = s;
        }
      EXPECT_CLOSE(y.f, want) << "t=" << t;
    }
}

TEST(Merge, AttentionOverBranches) {
  Rng rng(34);
  for (ThreadPool *pool : pools()) {
    int64_t h = 13;
    Tensor a = rng.uniform({2, 5, h}), b = rng.uniform({2, 5, h}),
           c = rng.uniform({2, 5, h});
    Tensor w = rng.uniform({h}, -2, 2), y({2, 5, h});
    ASSERT_EQ(Launch("merge")
                  .in(a)
                  .in(b)
                  .in(c)
                  .in(w)
                  .out(y)
                  .attr("mode", "attention")
                  .run(pool),
              "");
    std::vector<double> want(y.f.size());
    const Tensor *br[3] = {&a, &b, &c};
    for (int64_t r = 0; r < 10; ++r) {
      double s[3], mx = -1e300, sum = 0;
      for (int i = 0; i < 3; ++i) {
        s[i] = 0;
        for (int64_t k = 0; k < h; ++k)
          s[i] += double(br[i]->f[r * h + k]) * w.f[k];
        mx = std::max(mx, s[i]);
      }
      for (double &v : s)
        sum += (v = std::exp(v - mx));
      for (int64_t k = 0; k < h; ++k) {
        double o = 0;
        for (int i = 0; i < 3; ++i)
          o += s[i] / sum * br[i]->f[r * h + k];
        want[r * h + k] = o;
      }
    }
    EXPECT_CLOSE(y.f, want);
  }
}

TEST(Merge, ReportsMismatches) {
  Tensor a({2, 3, 4}), b({2, 3, 5}), y({2, 3, 4});
  EXPECT_EQ(
      Launch("merge").in(a).in(b).out(y).attr("mode", "sum").run(nullptr),
      "merge: 'branch #1' has shape [2, 3, 5] but 'result' has [2, 3, 4]");
  Tensor w({4, 7});
  EXPECT_EQ(Launch("merge")
                .in(a)
                .in(a)
                .in(w)
                .out(y)
                .attr("mode", "concat_proj")
                .run(nullptr),
            "merge: 'weight' dim 1 (branches * hidden) is 7, expected 8");
  EXPECT_EQ(Launch("merge")
                .in(a)
                .in(a)
                .out(y)
                .attr("mode", "sum")
                .attr("multipliers", AttrValue(std::vector<double>{1.0}))
                .run(nullptr),
            "merge: attribute 'multipliers' has 1 entries for 2 branches");
  EXPECT_EQ(Launch("merge").in(a).out(y).attr("mode", "attention").run(nullptr),
            "merge: needs at least one branch");
}

} // namespace
