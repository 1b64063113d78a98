//===- DecodePlanTest.cpp - decode attention / mamba2_step plans ----------===//
//
// The launch plans of the decode kernels (SequencePlans.h): attention's two
// grids of `_main` by rows (B * T), the split-KV grid (merged in its last block)
// up to kSplitMaxRows and the grid without split blocks above it, and the
// rows knob of mamba2_step. The kernels run in test/gpu/decode_seq_check.sh.
//
//===----------------------------------------------------------------------===//
#include "targets/common/kernels/SequencePlans.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>

using namespace braid::gpu::seq;

namespace {

/// bamba-1.5b's attention: 16 q / 8 kv heads x 128 over a bf16 cache.
AttentionShape bambaAttention(int64_t kvHeads = 8) {
  AttentionShape s;
  s.elem = s.cacheElem = kBf16;
  s.heads = 2 * kvHeads;
  s.kvHeads = kvHeads;
  s.headDim = s.valueDim = 128;
  s.scale = 1.0 / std::sqrt(128.0);
  s.cached = true;
  s.q = 0, s.k = 1, s.v = 2, s.kCache = 3, s.vCache = 4, s.pos = 5;
  s.out = 6, s.kCacheOut = 7, s.vCacheOut = 8;
  return s;
}

/// How many blocks the launches that run for (B, T) put in the grid, per
/// function name.
int64_t blocks(const Plan &p, const std::string &suffix, int64_t b, int64_t t) {
  int64_t n = 0;
  for (const Launch &l : p.launches) {
    if (!l.runsFor(b * t) || l.function.size() < suffix.size() ||
        l.function.compare(l.function.size() - suffix.size(), suffix.size(),
                           suffix))
      continue;
    n += l.grid[0].eval(b, t) * l.grid[1].eval(b, t) * l.grid[2].eval(b, t);
  }
  return n;
}

// bamba decode: 33 slots per KV head, so B = 1 splits 33 ways (33 blocks a
// KV head, the last of which merges) and B = 16 still two ways; from B * T =
// 17 on one grid without split blocks: 512 blocks at B = 64, not 16896. No
// second launch merges the splits.
TEST(DecodePlan, AttentionSplitGridOnlyWhereItSplits) {
  Plan p;
  ASSERT_EQ(planAttention(bambaAttention(), Target(), "k", p), "");
  ASSERT_EQ(p.launches.size(), 2u);
  EXPECT_NE(p.source.find("kSplits = 33;"), std::string::npos);
  EXPECT_NE(p.source.find("kSplitMaxRows = 16;"), std::string::npos);
  // The split grid runs a kernel of its own: 16 query rows a warp, 32-key
  // tiles (the prefill grid keeps 32 rows a warp, 64-key tiles).
  EXPECT_EQ(p.launches[0].function, "k_split_main");
  EXPECT_EQ(p.launches[1].function, "k_main");
  EXPECT_NE(p.source.find("BRAID_ATTENTION_ENTRIES(k_split, k_split_cfg)"),
            std::string::npos);
  const size_t split = p.source.find("struct k_split_cfg");
  ASSERT_NE(split, std::string::npos);
  EXPECT_NE(p.source.find("kRowTiles = 1;", split), std::string::npos);
  EXPECT_NE(p.source.find("kBlockN = 32;", split), std::string::npos);
  EXPECT_NE(p.source.find("kRowTiles = 2;"), std::string::npos);
  EXPECT_EQ(blocks(p, "_main", 1, 1), 33 * 8);
  // The last split block merges in the main loop's shared memory.
  EXPECT_GE(p.launches[0].sharedBytes,
            braid::seqlayout::attentionCombineSmemBytes());
  EXPECT_EQ(blocks(p, "_main", 16, 1), 33 * 8 * 16);
  EXPECT_EQ(blocks(p, "_main", 17, 1), 8 * 17);
  EXPECT_EQ(blocks(p, "_main", 64, 1), 8 * 64);
  // Prefill: 4096 tokens x 2 heads in 128-row tiles, no split blocks.
  EXPECT_EQ(blocks(p, "_main", 1, 4096), 64 * 8);
  // A tile knob keeps one kernel for both grids (the harness's variants).
  {
    AttentionShape knob = bambaAttention();
    knob.blockN = 64;
    knob.stages = 2;
    Plan q;
    ASSERT_EQ(planAttention(knob, Target(), "k", q), "");
    EXPECT_EQ(q.source.find("k_split_cfg"), std::string::npos);
    EXPECT_EQ(q.launches[0].function, "k_main");
  }
  // Exactly one _main grid runs for every size.
  for (int64_t rows : {1, 16, 17, 64, 4096}) {
    int running = 0;
    for (const Launch &l : p.launches)
      running += (l.function == "k_main" || l.function == "k_split_main") &&
                 l.runsFor(rows);
    EXPECT_EQ(running, 1) << rows << " rows";
  }
}

// With one slot per KV head (264 or more KV heads) nothing splits: the split
// grid never runs.
TEST(DecodePlan, AttentionWithoutSlotsNeverSplits) {
  Plan p;
  ASSERT_EQ(planAttention(bambaAttention(264), Target(), "k", p), "");
  EXPECT_NE(p.source.find("kSplitMaxRows = 0;"), std::string::npos);
  EXPECT_EQ(blocks(p, "_main", 1, 1), 264);
}

Mamba2StepShape bambaStep() {
  Mamba2StepShape s;
  s.elem = s.weight = kBf16;
  s.heads = 64;
  s.headDim = 64;
  s.stateSize = 128;
  s.convK = 4;
  s.gate = 1;
  s.normGroup = 4096;
  return s;
}

// 32 rows a block by default (128 blocks a sequence); the knob picks fewer,
// and the norm partials follow the block count.
TEST(DecodePlan, Mamba2StepRowsKnob) {
  Plan p;
  ASSERT_EQ(planMamba2Step(bambaStep(), Target(), "k", p), "");
  EXPECT_EQ(p.launches[0].grid[0].eval(1, 1), 128);
  EXPECT_NE(p.source.find("kRows = 32;"), std::string::npos);
  Mamba2StepShape s = bambaStep();
  s.rows = 8;
  ASSERT_EQ(planMamba2Step(s, Target(), "k", p), "");
  EXPECT_EQ(p.launches[0].grid[0].eval(1, 1), 512);
  EXPECT_EQ(p.workspace.eval(3, 1), 3 * 512 * 4);
  s.rows = 3;
  EXPECT_EQ(planMamba2Step(s, Target(), "k", p),
            "rows 3 must divide head_dim and the norm group");
  // The update's first conv pass covers the block's x channels.
  s = bambaStep();
  s.headDim = 256;
  s.normGroup = 16384;
  s.rows = 256;
  EXPECT_EQ(planMamba2Step(s, Target(), "k", p),
            "rows 256 must be at most 128 (the update block's threads)");
}

// Up to 16 rows the update that waits first, from 17 the one that copies
// its state rows into shared memory before it waits; the knob moves the
// bound (1: the tile kernel alone).
TEST(DecodePlan, Mamba2StepTileVariant) {
  Plan p;
  ASSERT_EQ(planMamba2Step(bambaStep(), Target(), "k", p), "");
  ASSERT_EQ(p.launches.size(), 3u);
  EXPECT_EQ(p.launches[0].function, "k_update");
  EXPECT_TRUE(p.launches[0].runsFor(16));
  EXPECT_FALSE(p.launches[0].runsFor(17));
  EXPECT_EQ(p.launches[1].function, "k_update_tile");
  EXPECT_FALSE(p.launches[1].runsFor(16));
  EXPECT_TRUE(p.launches[1].runsFor(17));
  EXPECT_EQ(p.launches[1].grid[0].eval(64, 1), 128);
  EXPECT_EQ(p.launches[2].function, "k_finish");
  EXPECT_TRUE(p.launches[2].runsFor(1));
  EXPECT_TRUE(p.launches[2].runsFor(64));
  Mamba2StepShape s = bambaStep();
  s.tileMinRows = 1;
  ASSERT_EQ(planMamba2Step(s, Target(), "k", p), "");
  ASSERT_EQ(p.launches.size(), 2u);
  EXPECT_EQ(p.launches[0].function, "k_update_tile");
  EXPECT_TRUE(p.launches[0].runsFor(1));
}

} // namespace
