//===- AttentionPlanTest.cpp - the sm_90a attention prefill plan ----------===//
//
// Where planAttention (SequencePlans.h) adds the wgmma prefill kernel
// (AttentionHopper.cuh, `_wg`): sm_90a targets, bf16, head dims of 128, no
// cache or a bf16 one, no window or softcap; from kAttnWgMinRows rows
// (B * T) on it replaces the grid of `_main` without split blocks, so that
// exactly one attention kernel runs for every call. The kernel itself runs
// in test/gpu/sequence_kernels_test.cu (attn_wg_* and bench cases).
//
//===----------------------------------------------------------------------===//
#include "targets/common/kernels/SequencePlans.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

using namespace braid::gpu::seq;

namespace {

/// bamba-1.5b's attention: 16 q / 8 kv heads x 128 over a bf16 cache.
AttentionShape bambaAttention() {
  AttentionShape s;
  s.elem = s.cacheElem = kBf16;
  s.heads = 16;
  s.kvHeads = 8;
  s.headDim = s.valueDim = 128;
  s.scale = 1.0 / std::sqrt(128.0);
  s.cached = true;
  s.q = 0, s.k = 1, s.v = 2, s.kCache = 3, s.vCache = 4, s.pos = 5;
  s.out = 6, s.kCacheOut = 7, s.vCacheOut = 8;
  return s;
}

Target sm90a() {
  Target t;
  t.wgmma = true;
  return t;
}

const Launch *find(const Plan &p, const std::string &fn) {
  for (const Launch &l : p.launches)
    if (l.function == fn)
      return &l;
  return nullptr;
}

// bamba on sm_90a: the four launches, the wgmma kernel from 256 rows on
// (prefill S = 4096: 64 row tiles of 128 per KV head, 256 threads, 224 KiB
// of key/value stages and query plus the alignment slack), and one kernel
// for every row count.
TEST(AttentionPlan, WgmmaPrefillOnSm90a) {
  Plan p;
  ASSERT_EQ(planAttention(bambaAttention(), sm90a(), "k", p), "");
  ASSERT_EQ(p.launches.size(), 3u);
  EXPECT_NE(p.source.find("BRAID_ATTENTION_WG_ENTRY(k, k_cfg)"),
            std::string::npos);
  EXPECT_NE(p.source.find("kWgPingPong = true;"), std::string::npos);
  EXPECT_NE(p.source.find("kWgStages = 3;"), std::string::npos);
  EXPECT_NE(p.source.find("kWgBarriers = true;"), std::string::npos);
  const Launch *wg = find(p, "k_wg");
  ASSERT_NE(wg, nullptr);
  EXPECT_EQ(wg->block[0], 256);
  // Query, three key/value stages, alignment slack, two mbarriers a stage.
  EXPECT_EQ(wg->sharedBytes, (128 + 2 * 3 * 128) * 128 * 2 + 1024 + 3 * 16);
  EXPECT_LE(wg->sharedBytes, kMaxSharedSm90);
  EXPECT_EQ(wg->minRows, kAttnWgMinRows);
  EXPECT_EQ(wg->grid[0].eval(1, 4096) * wg->grid[1].eval(1, 4096) *
                wg->grid[2].eval(1, 4096),
            64 * 8);
  for (int64_t rows : {1, 16, 17, 255, 256, 4096, 65536}) {
    int mains = 0, wgs = 0;
    for (const Launch &l : p.launches) {
      mains += (l.function == "k_main" || l.function == "k_split_main") &&
               l.runsFor(rows);
      wgs += l.function == "k_wg" && l.runsFor(rows);
    }
    EXPECT_EQ(mains + wgs, 1) << rows << " rows";
    EXPECT_EQ(wgs, rows >= kAttnWgMinRows ? 1 : 0) << rows << " rows";
  }
}

// The side-by-side schedule takes two stages by default; ping-pong refuses
// fewer than three.
TEST(AttentionPlan, WgmmaScheduleKnobs) {
  Plan p;
  AttentionShape s = bambaAttention();
  s.wgPingPong = 0;
  ASSERT_EQ(planAttention(s, sm90a(), "k", p), "");
  EXPECT_NE(p.source.find("kWgPingPong = false;"), std::string::npos);
  EXPECT_NE(p.source.find("kWgStages = 2;"), std::string::npos);
  // Side by side keeps its __syncthreads per tile.
  EXPECT_NE(p.source.find("kWgBarriers = false;"), std::string::npos);
  EXPECT_EQ(find(p, "k_wg")->sharedBytes,
            (128 + 2 * 2 * 128) * 128 * 2 + 1024 + 2 * 16);
  // Ping-pong in lockstep (a __syncthreads per tile) on request.
  s.wgPingPong = -1;
  s.wgBarriers = 0;
  ASSERT_EQ(planAttention(s, sm90a(), "k", p), "");
  EXPECT_NE(p.source.find("kWgPingPong = true;"), std::string::npos);
  EXPECT_NE(p.source.find("kWgBarriers = false;"), std::string::npos);
  s.wgPingPong = 1;
  s.wgStages = 2;
  EXPECT_EQ(planAttention(s, sm90a(), "k", p),
            "the wgmma attention's ping-pong schedule needs three stages");
}

// Everything the wgmma kernel does not cover keeps the three launches of
// Attention.cuh: other targets, the knob off, f32, an f32 cache, head dim
// 64, a window, a softcap.
TEST(AttentionPlan, WgmmaOnlyWhereItApplies) {
  auto plansWg = [](const AttentionShape &s, const Target &t) {
    Plan p;
    EXPECT_EQ(planAttention(s, t, "k", p), "");
    return find(p, "k_wg") != nullptr ||
           p.source.find("WG_ENTRY") != std::string::npos;
  };
  EXPECT_TRUE(plansWg(bambaAttention(), sm90a()));
  EXPECT_FALSE(plansWg(bambaAttention(), Target()));
  AttentionShape s = bambaAttention();
  s.wgmma = 0;
  EXPECT_FALSE(plansWg(s, sm90a()));
  s = bambaAttention();
  s.elem = s.cacheElem = kF32;
  EXPECT_FALSE(plansWg(s, sm90a()));
  s = bambaAttention();
  s.cacheElem = kF32;
  EXPECT_FALSE(plansWg(s, sm90a()));
  s = bambaAttention();
  s.headDim = s.valueDim = 64;
  EXPECT_FALSE(plansWg(s, sm90a()));
  s = bambaAttention();
  s.window = 512;
  EXPECT_FALSE(plansWg(s, sm90a()));
  s = bambaAttention();
  s.softcap = 50.0;
  EXPECT_FALSE(plansWg(s, sm90a()));
  s = bambaAttention();
  s.cached = false;
  s.kCache = s.vCache = s.pos = s.kCacheOut = s.vCacheOut = -1;
  s.out = 3;
  EXPECT_TRUE(plansWg(s, sm90a()));
}

// The key/value ring knobs of `_main`: bf16 bamba takes 64-key tiles in two
// stages with 32 query rows a warp by default; the knobs set the tile and
// stages (the shared memory follows) and refuse a tile that is not a
// multiple of 16 or does not fit.
TEST(AttentionPlan, KeyTileKnobs) {
  Plan p;
  AttentionShape s = bambaAttention();
  ASSERT_EQ(planAttention(s, sm90a(), "k", p), "");
  EXPECT_NE(p.source.find("kBlockN = 64;"), std::string::npos);
  EXPECT_NE(p.source.find("kStages = 2;"), std::string::npos);
  const int64_t plain = find(p, "k_main")->sharedBytes;
  s.rowTiles = 1;
  s.blockN = 32;
  s.stages = 2;
  ASSERT_EQ(planAttention(s, sm90a(), "k", p), "");
  EXPECT_NE(p.source.find("kBlockN = 32;"), std::string::npos);
  EXPECT_NE(p.source.find("kKeyStep = 32;"), std::string::npos);
  EXPECT_LT(find(p, "k_main")->sharedBytes, plain);
  s.blockN = 40;
  EXPECT_EQ(planAttention(s, sm90a(), "k", p),
            "key tiles of 40 in 2 stages must be a multiple of 16 and fit in "
            "shared memory");
  s.blockN = 512;
  s.stages = 8;
  EXPECT_EQ(planAttention(s, sm90a(), "k", p),
            "key tiles of 512 in 8 stages must be a multiple of 16 and fit in "
            "shared memory");
}

} // namespace
