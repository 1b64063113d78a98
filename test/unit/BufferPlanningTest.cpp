//===- BufferPlanningTest.cpp - liveness-based arena planning -------------===//
//
// planArena on cases computed by hand (reuse, stacking, first fit into a
// gap, alignment, inclusive endpoints, definition order), then a randomized
// check of the properties every plan must have: values alive at the same
// launch never share bytes, offsets are aligned, the peak is the highest end,
// and each value sits at the lowest aligned offset free when it is placed.
//
//===----------------------------------------------------------------------===//
#include "passes/BufferPlanning.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

using braid::ArenaPlan;
using braid::LiveInterval;
using braid::planArena;

namespace {

int64_t alignedSize(int64_t bytes, int64_t alignment) {
  int64_t size = std::max<int64_t>(bytes, 1);
  return (size + alignment - 1) / alignment * alignment;
}

bool liveTogether(const LiveInterval &a, const LiveInterval &b) {
  return a.first <= b.last && b.first <= a.last;
}

//===----------------------------------------------------------------------===//
// Hand-computed plans
//===----------------------------------------------------------------------===//

TEST(BufferPlanning, EmptyPlan) {
  ArenaPlan plan = planArena({});
  EXPECT_TRUE(plan.offsets.empty());
  EXPECT_EQ(plan.peakBytes, 0);
  EXPECT_EQ(plan.naiveBytes, 0);
}

// Two values whose lifetimes do not overlap both start at offset 0; 100 bytes
// round up to 128, so the peak is 128 and the plan without reuse 256.
TEST(BufferPlanning, DisjointLifetimesReuseOffsetZero) {
  ArenaPlan plan = planArena({{100, 0, 0}, {100, 1, 1}});
  EXPECT_EQ(plan.offsets, (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(plan.peakBytes, 128);
  EXPECT_EQ(plan.naiveBytes, 256);
}

// A chain a -> b -> c -> d where each value dies at the launch that defines
// the next-but-one: a and c can share, b and d can share.
TEST(BufferPlanning, ChainAlternatesBetweenTwoSlots) {
  // a: [0,1], b: [1,2], c: [2,3], d: [3,4]; 64 bytes each.
  ArenaPlan plan = planArena({{64, 0, 1}, {64, 1, 2}, {64, 2, 3}, {64, 3, 4}});
  EXPECT_EQ(plan.offsets, (std::vector<int64_t>{0, 64, 0, 64}));
  EXPECT_EQ(plan.peakBytes, 128);
  EXPECT_EQ(plan.naiveBytes, 256);
}

// Three values all alive at launch 2 are stacked in definition order.
TEST(BufferPlanning, OverlappingLifetimesAreStacked) {
  ArenaPlan plan = planArena({{64, 0, 2}, {64, 1, 3}, {64, 2, 4}});
  EXPECT_EQ(plan.offsets, (std::vector<int64_t>{0, 64, 128}));
  EXPECT_EQ(plan.peakBytes, 192);
}

// a [0,3] at 0 (64 B), b [0,1] at 64 (128 B), c [0,3] at 192 (64 B). Once b
// has died, d [2,3] of 128 bytes fits exactly into b's hole at 64; e [2,3]
// of 64 bytes no longer fits anywhere below 256.
TEST(BufferPlanning, FirstFitIntoAGap) {
  ArenaPlan plan =
      planArena({{64, 0, 3}, {128, 0, 1}, {64, 0, 3}, {128, 2, 3}, {64, 2, 3}});
  EXPECT_EQ(plan.offsets, (std::vector<int64_t>{0, 64, 192, 64, 256}));
  EXPECT_EQ(plan.peakBytes, 320);
  EXPECT_EQ(plan.naiveBytes, 64 + 128 + 64 + 128 + 64);
}

// A gap that is too small is skipped: after b (64 B) dies between a and c, a
// 128-byte value goes above c, a 64-byte one into the gap.
TEST(BufferPlanning, GapTooSmallIsSkipped) {
  ArenaPlan plan =
      planArena({{64, 0, 3}, {64, 0, 1}, {64, 0, 3}, {128, 2, 3}, {64, 2, 3}});
  EXPECT_EQ(plan.offsets, (std::vector<int64_t>{0, 64, 128, 192, 64}));
  EXPECT_EQ(plan.peakBytes, 320);
}

// Sizes round up to the alignment: 1 -> 64, 64 -> 64, 65 -> 128, and an
// empty value still takes one aligned block.
TEST(BufferPlanning, SizesRoundUpToTheAlignment) {
  ArenaPlan plan = planArena({{1, 0, 0}, {64, 0, 0}, {65, 0, 0}, {0, 0, 0}});
  EXPECT_EQ(plan.offsets, (std::vector<int64_t>{0, 64, 128, 256}));
  EXPECT_EQ(plan.peakBytes, 320);
  EXPECT_EQ(plan.naiveBytes, 64 + 64 + 128 + 64);
}

// Another alignment: 256 rounds 100 and 10 bytes up to 256 each; alignment 1
// packs bytes tightly.
TEST(BufferPlanning, CustomAlignment) {
  ArenaPlan coarse = planArena({{100, 0, 1}, {10, 0, 1}}, 256);
  EXPECT_EQ(coarse.offsets, (std::vector<int64_t>{0, 256}));
  EXPECT_EQ(coarse.peakBytes, 512);

  ArenaPlan tight = planArena({{3, 0, 0}, {5, 0, 0}, {2, 1, 1}}, 1);
  EXPECT_EQ(tight.offsets, (std::vector<int64_t>{0, 3, 0}));
  EXPECT_EQ(tight.peakBytes, 8);
  EXPECT_EQ(tight.naiveBytes, 10);
}

// Intervals are inclusive: a value defined by the launch that last reads
// another must not share its bytes (a kernel's result never aliases its
// operand); one launch later it may.
TEST(BufferPlanning, InclusiveEndpointsDoNotShare) {
  ArenaPlan touching = planArena({{64, 0, 1}, {64, 1, 2}});
  EXPECT_EQ(touching.offsets, (std::vector<int64_t>{0, 64}));
  EXPECT_EQ(touching.peakBytes, 128);

  ArenaPlan apart = planArena({{64, 0, 1}, {64, 2, 3}});
  EXPECT_EQ(apart.offsets, (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(apart.peakBytes, 64);

  // A value that is never read lives over its defining launch only, but
  // still overlaps the operands of that launch.
  ArenaPlan unread = planArena({{64, 0, 1}, {64, 1, 1}, {64, 2, 2}});
  EXPECT_EQ(unread.offsets, (std::vector<int64_t>{0, 64, 0}));
}

// Values are placed in order of definition, not of their index: interval 1
// is defined first and gets offset 0 although it comes second.
TEST(BufferPlanning, PlacesInDefinitionOrder) {
  ArenaPlan plan = planArena({{64, 2, 3}, {64, 0, 2}});
  EXPECT_EQ(plan.offsets, (std::vector<int64_t>{64, 0}));
  EXPECT_EQ(plan.peakBytes, 128);

  // Ties (several results of one launch) keep their index order.
  ArenaPlan ties = planArena({{128, 0, 1}, {64, 0, 1}, {64, 0, 1}});
  EXPECT_EQ(ties.offsets, (std::vector<int64_t>{0, 128, 192}));
}

//===----------------------------------------------------------------------===//
// Randomized properties
//===----------------------------------------------------------------------===//

// For random sets of intervals: no two values alive at the same launch
// overlap in [offset, offset + aligned size); offsets are aligned; the peak
// is the highest end; the peak is at least the bytes alive at any one launch
// and at most the plan without reuse; and first fit holds: no lower aligned
// offset was free of the values placed before (by definition, then index).
TEST(BufferPlanning, RandomizedProperties) {
  std::mt19937_64 rng(20261126);
  for (int round = 0; round < 400; ++round) {
    const int64_t alignment =
        (round % 3 == 0) ? 1 : (round % 3 == 1 ? 64 : 256);
    const int count = 1 + static_cast<int>(rng() % 40);
    const int64_t launches = 1 + static_cast<int64_t>(rng() % 30);
    std::vector<LiveInterval> intervals;
    for (int i = 0; i < count; ++i) {
      LiveInterval v;
      v.bytes = static_cast<int64_t>(rng() % 1000);
      v.first = static_cast<int64_t>(rng() % launches);
      v.last = v.first + static_cast<int64_t>(rng() % 6);
      intervals.push_back(v);
    }
    ArenaPlan plan = planArena(intervals, alignment);
    SCOPED_TRACE("round " + std::to_string(round));
    ASSERT_EQ(plan.offsets.size(), intervals.size());

    int64_t maxEnd = 0, naive = 0;
    for (size_t i = 0; i < intervals.size(); ++i) {
      int64_t size = alignedSize(intervals[i].bytes, alignment);
      EXPECT_GE(plan.offsets[i], 0);
      EXPECT_EQ(plan.offsets[i] % alignment, 0) << "value " << i;
      maxEnd = std::max(maxEnd, plan.offsets[i] + size);
      naive += size;
      for (size_t j = i + 1; j < intervals.size(); ++j) {
        if (!liveTogether(intervals[i], intervals[j]))
          continue;
        int64_t otherSize = alignedSize(intervals[j].bytes, alignment);
        bool disjoint = plan.offsets[i] + size <= plan.offsets[j] ||
                        plan.offsets[j] + otherSize <= plan.offsets[i];
        EXPECT_TRUE(disjoint)
            << "values " << i << " and " << j << " are alive together but "
            << "share bytes: [" << plan.offsets[i] << ", "
            << plan.offsets[i] + size << ") and [" << plan.offsets[j] << ", "
            << plan.offsets[j] + otherSize << ")";
      }
    }
    EXPECT_EQ(plan.peakBytes, maxEnd);
    EXPECT_EQ(plan.naiveBytes, naive);
    EXPECT_LE(plan.peakBytes, plan.naiveBytes);

    // Lower bound: the bytes alive at the busiest launch.
    for (int64_t t = 0; t < launches + 6; ++t) {
      int64_t live = 0;
      for (const LiveInterval &v : intervals)
        if (v.first <= t && t <= v.last)
          live += alignedSize(v.bytes, alignment);
      EXPECT_GE(plan.peakBytes, live) << "launch " << t;
    }

    // First fit: no lower offset was free of the values placed earlier (by
    // definition, then index) and alive at the same time. The lowest free
    // offset is 0 or the end of such a value, so those are the candidates.
    std::vector<size_t> order(intervals.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return intervals[a].first < intervals[b].first;
    });
    for (size_t k = 0; k < order.size(); ++k) {
      size_t i = order[k];
      int64_t size = alignedSize(intervals[i].bytes, alignment);
      std::vector<size_t> earlier;
      for (size_t m = 0; m < k; ++m)
        if (liveTogether(intervals[i], intervals[order[m]]))
          earlier.push_back(order[m]);
      std::vector<int64_t> candidates = {0};
      for (size_t j : earlier)
        candidates.push_back(plan.offsets[j] +
                             alignedSize(intervals[j].bytes, alignment));
      for (int64_t lower : candidates) {
        if (lower >= plan.offsets[i])
          continue;
        bool collides = false;
        for (size_t j : earlier) {
          int64_t otherSize = alignedSize(intervals[j].bytes, alignment);
          collides |= lower < plan.offsets[j] + otherSize &&
                      plan.offsets[j] < lower + size;
        }
        EXPECT_TRUE(collides) << "value " << i << " could have gone at "
                              << lower << " instead of " << plan.offsets[i];
      }
    }
  }
}

} // namespace
