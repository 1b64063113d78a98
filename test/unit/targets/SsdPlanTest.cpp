//===- SsdPlanTest.cpp - ssd_scan launch plans (SequencePlans.h) ----------===//
//
// The choices planSsd makes for the SSD scan's three kernels: the grouped
// output pass (C.B^T once for several heads) where it applies, the chunk
// state pass's tile and buffers, the decode form's row slices, and that
// every launch's shared memory is what the device layout (SequenceLayout.h)
// asks for and fits the target. The kernels themselves run in
// test/gpu/ssd_prefill_check.sh.
//
//===----------------------------------------------------------------------===//
#include "targets/common/kernels/SequencePlans.h"

#include <gtest/gtest.h>

#include <string>

using namespace braid::gpu::seq;
using namespace braid::seqlayout;

namespace {

SsdShape bamba(bool bf16) {
  SsdShape s;
  s.elem = s.weight = bf16 ? kBf16 : kF32;
  s.heads = 64;
  s.headDim = 64;
  s.stateSize = 128;
  s.chunk = 256;
  s.D = 5;
  s.bias = 6;
  s.stateIn = 7;
  s.y = 8;
  s.stateOut = 9;
  return s;
}

Target amd() {
  Target t;
  t.warpSize = 64;
  t.maxShared = 64 * 1024;
  return t;
}

Target hopper() {
  Target t;
  t.wgmma = true;
  return t;
}

Plan plan(const SsdShape &s, const Target &t = Target()) {
  Plan p;
  std::string err = planSsd(s, t, "k", p);
  EXPECT_EQ(err, "");
  EXPECT_EQ(p.launches.size(), 3u);
  return p;
}

bool has(const Plan &p, const std::string &line) {
  return p.source.find(line) != std::string::npos;
}

// bf16 at bamba-1.5b's shape: the grouped output pass, 8 warps of 16 rows,
// 8 heads a block; the state pass takes all 128 states a block, two buffers;
// the decode form keeps two row slices per head.
TEST(SsdPlan, Bf16BambaGroupedOutputAndWideStateTiles) {
  const Plan p = plan(bamba(true));
  EXPECT_TRUE(has(p, "kOutHeads = 8;"));
  EXPECT_TRUE(has(p, "kOutWarps = 8;"));
  EXPECT_TRUE(has(p, "kStateTileN = 128;"));
  EXPECT_TRUE(has(p, "kStateStages = 2;"));
  EXPECT_TRUE(has(p, "kSeqTiles = 2;"));
  const Launch &state = p.launches[0], &out = p.launches[2];
  EXPECT_EQ(state.grid[1].eval(1, 4096), 64 * 2);
  EXPECT_EQ(state.sharedBytes, ssdStateSmemBytes(2, 256, 64, 128, 2));
  EXPECT_EQ(out.block[0], 8 * 32);
  EXPECT_EQ(out.grid[0].eval(1, 4096), 4096 / 128);
  EXPECT_EQ(out.grid[1].eval(1, 4096), 64 / 8);
  EXPECT_EQ(out.sharedBytes, ssdGroupedSmemBytes(2, 256, 128, 8, 64, 8));
  EXPECT_LE(out.sharedBytes, Target().maxShared);
}

// f32 keeps the per-head output pass (the grouped form holds bf16 C.B^T in
// registers); outHeads = 0 asks for it in bf16 too.
TEST(SsdPlan, PerHeadOutputForF32AndOnRequest) {
  SsdShape perHead = bamba(true);
  perHead.outHeads = 0;
  for (const Plan &p : {plan(bamba(false)), plan(perHead)}) {
    EXPECT_TRUE(has(p, "kOutHeads = 0;"));
    const Launch &out = p.launches[2];
    EXPECT_EQ(out.grid[1].eval(1, 4096), 64);
    EXPECT_LE(out.sharedBytes, Target().maxShared);
  }
}

// sm_90a at bamba-1.5b's shape: the grouped pass on wgmma, two warpgroups
// of 64 rows, 8 heads a block, its own shared layout (up to 227 KiB); the
// chunk-state pass on wgmma.
TEST(SsdPlan, HopperTakesTheWgmmaGroupedPass) {
  const Plan p = plan(bamba(true), hopper());
  EXPECT_TRUE(has(p, "kOutWg = true;"));
  EXPECT_TRUE(has(p, "kOutHeads = 8;"));
  EXPECT_TRUE(has(p, "kOutWarps = 8;"));
  EXPECT_TRUE(has(p, "kOutTileP = 64;"));
  const Launch &out = p.launches[2];
  EXPECT_EQ(out.block[0], 8 * 32);
  EXPECT_EQ(out.grid[0].eval(1, 4096), 4096 / 128);
  EXPECT_EQ(out.grid[1].eval(1, 4096), 64 / 8);
  EXPECT_EQ(out.sharedBytes, ssdWgSmemBytes(256, 128, 8));
  EXPECT_LE(out.sharedBytes, kMaxSharedSm90);
  EXPECT_GT(out.sharedBytes, Target().maxShared);
  // The chunk states on wgmma: one warpgroup per (chunk, head, 64 rows of
  // head_dim), every state in the block.
  EXPECT_TRUE(has(p, "kStateWg = true;"));
  EXPECT_TRUE(has(p, "kStateTileN = 128;"));
  const Launch &state = p.launches[0];
  EXPECT_EQ(state.block[0], 128);
  EXPECT_EQ(state.grid[1].eval(1, 4096), 64 * 2); // the decode form's slices
  EXPECT_TRUE(has(p, "kStateWgRows = 64;"));
  EXPECT_EQ(state.sharedBytes, ssdStateWgSmemBytes(256, 128, 64));
  // Four blocks an SM: a quarter of the 227 KiB at most.
  EXPECT_LE(state.sharedBytes * 4, kMaxSharedSm90 + 4 * 1024);
}

// outWgmma = 0 keeps the mma.sync grouped pass on sm_90a; shapes outside
// the wgmma pass's scope keep it too: f32, a chunk that is no multiple of
// 128, 256 states, a head_dim that is no multiple of 64.
TEST(SsdPlan, WgmmaPassOnlyInItsScope) {
  SsdShape off = bamba(true);
  off.outWgmma = 0;
  SsdShape chunk96 = bamba(true);
  chunk96.chunk = 96;
  SsdShape n256 = bamba(true);
  n256.stateSize = 256;
  SsdShape p32 = bamba(true);
  p32.headDim = 32;
  for (const SsdShape &s : {off, bamba(false), chunk96, n256, p32}) {
    const Plan p = plan(s, hopper());
    EXPECT_TRUE(has(p, "kOutWg = false;")) << s.chunk << " " << s.stateSize;
    EXPECT_LE(p.launches[2].sharedBytes, Target().maxShared);
  }
  // The chunk states take wgmma for any chunk (chunk 96 too), not for f32,
  // 256 states or head_dim 32, nor when asked not to.
  EXPECT_TRUE(has(plan(chunk96, hopper()), "kStateWg = true;"));
  EXPECT_TRUE(has(plan(chunk96, hopper()), "kStateWgRows = 48;"));
  SsdShape whole = bamba(true);
  whole.stateWgRows = 256;
  EXPECT_EQ(plan(whole, hopper()).launches[0].sharedBytes,
            ssdStateWgSmemBytes(256, 128, 256));
  SsdShape stateOff = bamba(true);
  stateOff.stateWgmma = 0;
  for (const SsdShape &s : {stateOff, bamba(false), n256, p32})
    EXPECT_TRUE(has(plan(s, hopper()), "kStateWg = false;")) << s.stateSize;
  EXPECT_TRUE(has(plan(off, hopper()), "kOutHeads = 8;"));
  // sm_80 and AMD never take it.
  EXPECT_TRUE(has(plan(bamba(true)), "kOutWg = false;"));
  EXPECT_TRUE(has(plan(bamba(true), amd()), "kOutWg = false;"));
}

// Heads per block divide the heads of a group: 6 per group gives 2.
TEST(SsdPlan, GroupedHeadsDivideTheGroup) {
  SsdShape s = bamba(true);
  s.heads = 12;
  s.groups = 2;
  const Plan p = plan(s);
  EXPECT_TRUE(has(p, "kOutHeads = 2;"));
  EXPECT_EQ(p.launches[2].grid[1].eval(1, 4096), 12 / 2);
}

// The previous split stays selectable: 64-state tiles, one buffer, and
// then the decode slices equal the state tiles.
TEST(SsdPlan, PreviousStateTilesOnRequest) {
  SsdShape s = bamba(true);
  s.stateTileN = 64;
  s.stateStages = 1;
  const Plan p = plan(s);
  EXPECT_TRUE(has(p, "kStateTileN = 64;"));
  EXPECT_TRUE(has(p, "kStateStages = 1;"));
  EXPECT_EQ(p.launches[0].grid[1].eval(1, 4096), 64 * 2);
  EXPECT_EQ(p.launches[0].sharedBytes, ssdStateSmemBytes(2, 256, 64, 64, 1));
}

// AMD's 64 KiB: the grouped pass does not fit at bamba's shape (per-head
// pass), and f32 falls back to one state buffer.
TEST(SsdPlan, AmdFallsBackWhereSharedMemoryIsShort) {
  const Plan b = plan(bamba(true), amd());
  EXPECT_TRUE(has(b, "kOutHeads = 0;"));
  EXPECT_TRUE(has(b, "kStateStages = 2;"));
  const Plan f = plan(bamba(false), amd());
  EXPECT_TRUE(has(f, "kStateStages = 1;"));
  for (const Plan *p : {&b, &f})
    for (const Launch &l : p->launches)
      EXPECT_LE(l.sharedBytes, amd().maxShared) << l.function;
}

// Over many shapes, both element types and both vendors: a plan exists, its
// shared memory fits, and the grouped form only appears with whole groups.
TEST(SsdPlan, EveryShapeFits) {
  for (const Target &t : {Target(), amd(), hopper()})
    for (bool bf16 : {false, true})
      for (int n : {16, 64, 128, 256})
        for (int d : {8, 64, 640})
          for (int chunk : {16, 64, 96, 256})
            for (int groups : {1, 2}) {
              SsdShape s = bamba(bf16);
              s.stateSize = n;
              s.headDim = d;
              s.chunk = chunk;
              s.heads = 8;
              s.groups = groups;
              Plan p;
              const std::string err = planSsd(s, t, "k", p);
              const std::string what =
                  "N=" + std::to_string(n) + " P=" + std::to_string(d) +
                  " L=" + std::to_string(chunk) +
                  " G=" + std::to_string(groups) + (bf16 ? " bf16" : " f32") +
                  " warp " + std::to_string(t.warpSize);
              if (!err.empty()) {
                // Only f32 with 256 states may not fit AMD's LDS.
                EXPECT_TRUE(!bf16 && n == 256 && t.warpSize == 64)
                    << what << ": " << err;
                continue;
              }
              const bool wg = has(p, "kOutWg = true;");
              EXPECT_TRUE(!wg || (t.wgmma && bf16 && d % 64 == 0 &&
                                  (n == 64 || n == 128) && chunk % 128 == 0))
                  << what;
              for (const Launch &l : p.launches)
                EXPECT_LE(l.sharedBytes, wg && &l == &p.launches[2]
                                             ? kMaxSharedSm90
                                             : t.maxShared)
                    << what;
              if (has(p, "kOutHeads = 0;"))
                continue;
              EXPECT_TRUE(bf16 && n <= 128) << what;
              const size_t at = p.source.find("kOutHeads = ");
              ASSERT_NE(at, std::string::npos) << what;
              const int heads = std::stoi(p.source.substr(at + 12));
              EXPECT_EQ(8 / groups % heads, 0) << what;
            }
}

} // namespace
