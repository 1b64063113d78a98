//===- sequence_cases.h - the sequence-family GPU test cases ----*- C++ -*-===//
//
// One list, read by two programs: sequence_test_gen (host C++) writes the
// device code of every case through SequencePlans.h -- the same text the
// specializers put in a bundle -- and sequence_kernels_test (nvcc) runs the
// cases against the CPU reference kernels, recomputing the same plans for
// the launch geometry. A case is a family, shapes and attributes, an
// element type, and phases of T tokens whose states (KV cache, SSM state)
// carry over: a prefill, then decode steps (mamba2_step: decode steps of
// T = 1 only, its conv and SSM states carried).
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TEST_GPU_SEQUENCE_CASES_H
#define BRAID_TEST_GPU_SEQUENCE_CASES_H

#include "targets/common/kernels/SequencePlans.h"

#include <array>
#include <cmath>
#include <string>
#include <vector>

namespace braid::test {

enum class Family { Attention, Ssd, Selective, Mamba2Step };

struct SeqCase {
  std::string name;
  Family family = Family::Attention;
  bool bf16 = false;
  int batch = 1;
  std::vector<int> tokens;   // T of each phase; states carry over
  std::vector<int> startPos; // attention with a cache: positions of phase 0
  int maxSeq = 0;            // attention cache rows
  gpu::seq::AttentionShape attn;
  gpu::seq::SsdShape ssd;
  gpu::seq::SelectiveShape sel;
  gpu::seq::Mamba2StepShape step;
  bool randomState = true; // SSM cases: random initial state
  bool bench = false;      // timed (and large)
  bool quick = false;      // in the compute-sanitizer subset
  /// Launch every kernel's first grid variant whatever B * T (attention:
  /// the split-KV grid, as before the plans had row ranges).
  bool splitGrid = false;

  /// Kernel prefix of the case's generated code.
  std::string prefix(size_t index) const { return "sq" + std::to_string(index); }
};

/// The cases are compiled for sm_90a (build_sequence_kernels_test.sh):
/// the attention plans take the wgmma prefill kernel where it applies,
/// unless the build targets another architecture (BRAID_TEST_NO_WGMMA).
inline gpu::seq::Target testTarget() {
  gpu::seq::Target t;
#if !defined(BRAID_TEST_NO_WGMMA)
  t.wgmma = true;
#endif
  return t;
}

/// Plans the case's kernels (what the specializer would for its launch).
inline std::string planCase(const SeqCase &c, const std::string &prefix,
                            gpu::seq::Plan &plan) {
  switch (c.family) {
  case Family::Attention:
    return gpu::seq::planAttention(c.attn, testTarget(), prefix, plan);
  case Family::Ssd:
    return gpu::seq::planSsd(c.ssd, testTarget(), prefix, plan);
  case Family::Selective:
    return gpu::seq::planSelectiveScan(c.sel, testTarget(), prefix, plan);
  case Family::Mamba2Step:
    return gpu::seq::planMamba2Step(c.step, testTarget(), prefix, plan);
  }
  return "unknown family";
}

namespace detail {

inline SeqCase attention(std::string name, bool bf16, int batch, int heads,
                         int kvHeads, int dim, bool cached,
                         std::vector<int> tokens, std::vector<int> startPos = {},
                         bool causal = true, int window = 0,
                         double softcap = 0.0, bool bf16Cache = false) {
  SeqCase c;
  c.name = std::move(name);
  c.family = Family::Attention;
  c.bf16 = bf16;
  c.batch = batch;
  c.tokens = std::move(tokens);
  auto &a = c.attn;
  a.elem = bf16 ? gpu::seq::kBf16 : gpu::seq::kF32;
  a.cacheElem = bf16 && bf16Cache ? gpu::seq::kBf16 : gpu::seq::kF32;
  a.heads = heads;
  a.kvHeads = kvHeads;
  a.headDim = a.valueDim = dim;
  a.causal = causal;
  a.window = window;
  a.softcap = softcap;
  a.scale = 1.0 / std::sqrt(double(dim));
  a.cached = cached;
  if (cached) {
    c.startPos = startPos.empty() ? std::vector<int>(batch, 0) : startPos;
    int total = 0;
    for (int t : c.tokens)
      total += t;
    int maxStart = 0;
    for (int p : c.startPos)
      maxStart = std::max(maxStart, p);
    c.maxSeq = maxStart + total + 5;
    // operands q k v k_cache v_cache cache_position; results out k' v'
    a.q = 0, a.k = 1, a.v = 2, a.kCache = 3, a.vCache = 4, a.pos = 5;
    a.out = 6, a.kCacheOut = 7, a.vCacheOut = 8;
  } else {
    a.q = 0, a.k = 1, a.v = 2, a.out = 3;
  }
  return c;
}

inline SeqCase ssd(std::string name, bool bf16, int batch, int heads, int dim,
                   int groups, int state, int chunk, std::vector<int> tokens) {
  SeqCase c;
  c.name = std::move(name);
  c.family = Family::Ssd;
  c.bf16 = bf16;
  c.batch = batch;
  c.tokens = std::move(tokens);
  auto &s = c.ssd;
  s.elem = s.weight = bf16 ? gpu::seq::kBf16 : gpu::seq::kF32;
  s.state = gpu::seq::kF32;
  s.heads = heads;
  s.headDim = dim;
  s.groups = groups;
  s.stateSize = state;
  s.chunk = chunk;
  // operands x dt A B C D dt_bias state; results y state'
  s.x = 0, s.dt = 1, s.A = 2, s.B = 3, s.C = 4, s.D = 5, s.bias = 6;
  s.stateIn = 7, s.y = 8, s.stateOut = 9;
  return c;
}

inline SeqCase selective(std::string name, bool bf16, int batch, int inner,
                         int rank, int state, std::vector<int> tokens,
                         bool norms, bool gate, bool skip, bool hasState) {
  SeqCase c;
  c.name = std::move(name);
  c.family = Family::Selective;
  c.bf16 = bf16;
  c.batch = batch;
  c.tokens = std::move(tokens);
  auto &s = c.sel;
  s.elem = s.weight = bf16 ? gpu::seq::kBf16 : gpu::seq::kF32;
  s.state = gpu::seq::kF32;
  s.inner = inner;
  s.rank = rank;
  s.stateSize = state;
  // operands x x_proj dt_proj dt_bias A gate D dt_norm b_norm c_norm state
  s.x = 0, s.xProj = 1, s.dtProj = 2, s.dtBias = 3, s.A = 4;
  s.gate = gate ? 5 : -1;
  s.D = skip ? 6 : -1;
  s.dtNorm = norms ? 7 : -1;
  s.bNorm = norms ? 8 : -1;
  s.cNorm = norms ? 9 : -1;
  s.stateIn = hasState ? 10 : -1;
  s.y = 11;
  s.stateOut = hasState ? 12 : -1;
  return c;
}

/// mamba2_step with a conv bias, D and dt_bias (drop them per case);
/// gate 0 none, 1 norm (over `normGroup` channels), 2 SiLU.
inline SeqCase mamba2Step(std::string name, bool bf16, int batch, int heads,
                          int dim, int groups, int state, int convK, int gate,
                          int normGroup, std::vector<int> tokens) {
  SeqCase c;
  c.name = std::move(name);
  c.family = Family::Mamba2Step;
  c.bf16 = bf16;
  c.batch = batch;
  c.tokens = std::move(tokens);
  auto &s = c.step;
  s.elem = s.weight = bf16 ? gpu::seq::kBf16 : gpu::seq::kF32;
  s.heads = heads;
  s.headDim = dim;
  s.groups = groups;
  s.stateSize = state;
  s.convK = convK;
  s.hasConvBias = s.hasD = s.hasDtBias = true;
  s.gate = gate;
  s.normGroup = gate == 1 ? normGroup : 0;
  s.eps = 1e-5;
  return c;
}

} // namespace detail

inline std::vector<SeqCase> sequenceCases() {
  using namespace detail;
  std::vector<SeqCase> all;
  for (bool bf16 : {false, true}) {
    // attention: GQA/MQA, windows, softcap, caches, odd T, head dims.
    all.push_back(attention("attn_gqa_d16", bf16, 2, 4, 2, 16, true,
                            {37, 1, 1, 1}));
    all.back().quick = true;
    all.push_back(attention("attn_bamba_d128", bf16, 2, 16, 8, 128, true,
                            {300, 1, 1, 7, 1}, {0, 17}));
    all.push_back(attention("attn_mqa_window_softcap", bf16, 2, 8, 1, 64, true,
                            {300, 1, 1}, {}, true, 50, 30.0));
    all.back().quick = true;
    all.push_back(attention("attn_g3_nocache", bf16, 3, 6, 2, 64, false, {37}));
    all.back().quick = true;
    all.push_back(attention("attn_noncausal_nocache", bf16, 2, 4, 4, 32, false,
                            {7}, {}, false));
    all.push_back(attention("attn_long_decode_splitkv", bf16, 2, 32, 8, 128,
                            true, {1, 1, 1}, {1000, 3001}));
    all.back().quick = true;
    all.push_back(attention("attn_d160", bf16, 1, 8, 8, 160, true, {37, 1}));
    all.push_back(attention("attn_t1_fresh", bf16, 1, 4, 2, 64, true, {1, 1}));
    all.push_back(attention("attn_window_decode", bf16, 1, 4, 2, 64, true,
                            {1, 1, 7}, {200}, true, 16));
    all.push_back(attention("attn_g8_nocache_t300", bf16, 1, 16, 2, 128, false,
                            {300}));
    if (bf16) {
      all.push_back(attention("attn_bf16cache", bf16, 2, 16, 8, 128, true,
                              {37, 1, 1}, {0, 100}, true, 0, 0.0, true));
      all.back().quick = true;
      // Ragged decode on the bf16 cache bf16 bundles now use: three
      // sequences at their own lengths, short (no split) to long (split-KV).
      all.push_back(attention("attn_bf16cache_ragged_splitkv", bf16, 3, 32, 8,
                              128, true, {1, 1, 1}, {5, 1500, 4000}, true, 0,
                              0.0, true));
    }
    // Decode around the split-KV threshold (bamba: 33 slots, split up to
    // B * T = 16): B = 16 splits two ways, B = 20 takes the grid without
    // split blocks; ragged lengths, T = 1 then a T = 3 step.
    {
      std::vector<int> pos16, pos20;
      for (int b = 0; b < 16; ++b)
        pos16.push_back(37 * b + 3);
      for (int b = 0; b < 20; ++b)
        pos20.push_back(61 * b + 1);
      all.push_back(attention("attn_decode_b16_split2", bf16, 16, 16, 8, 128,
                              true, {1, 1}, pos16, true, 0, 0.0, bf16));
      all.push_back(attention("attn_decode_b20_nosplit", bf16, 20, 16, 8, 128,
                              true, {1, 3}, pos20, true, 0, 0.0, bf16));
    }
    // The tuning variants that are not the planner's default here: 16 rows
    // per warp in bf16, 32 rows per warp in f32, 16-key steps with the
    // query in registers.
    {
      SeqCase c = attention("attn_variant_rows16", bf16, 2, 16, 8, 128, true,
                            {300, 1, 7}, {0, 17});
      c.attn.rowTiles = 1;
      all.push_back(c);
      c = attention("attn_variant_rows32", bf16, 2, 8, 2, 64, true, {300, 1, 7},
                    {0, 5}, true, 100, 20.0);
      c.attn.rowTiles = 2;
      c.quick = true;
      all.push_back(c);
      c = attention("attn_variant_rows32_step16_qregs", bf16, 3, 12, 4, 128,
                    false, {300}, {}, true, 70);
      c.attn.rowTiles = 2;
      c.attn.keyStep = 16;
      c.attn.qInRegs = 1;
      all.push_back(c);
    }

    // The sm_90a wgmma prefill kernel (AttentionHopper.cuh; bf16, head
    // dims 128, B * T >= 256): bamba's heads with a bf16 cache at ragged
    // starts, then decode steps on the cache it appended; a prefill in two
    // chunks (the second reads 300 keys from the cache); GQA and MHA
    // without a cache at T with a partial last tile; non-causal (the mask
    // on the last tile only); and the old kernel at the same shape.
    if (bf16) {
      all.push_back(attention("attn_wg_bamba_bf16cache", bf16, 2, 16, 8, 128,
                              true, {300, 1, 1, 7, 1}, {0, 17}, true, 0, 0.0,
                              true));
      all.push_back(attention("attn_wg_two_chunks_bf16cache", bf16, 1, 16, 8,
                              128, true, {300, 300, 1}, {5}, true, 0, 0.0,
                              true));
      all.push_back(attention("attn_wg_gqa_nocache_t1000", bf16, 1, 16, 8, 128,
                              false, {1000}));
      all.push_back(
          attention("attn_wg_mha_b3_t333", bf16, 3, 4, 4, 128, false, {333}));
      all.push_back(attention("attn_wg_noncausal_t700", bf16, 1, 8, 2, 128,
                              false, {700}, {}, false));
      SeqCase c = attention("attn_wg_gqa_nocache_t1000_old", bf16, 1, 16, 8,
                            128, false, {1000});
      c.attn.wgmma = 0;
      all.push_back(c);
      // The side-by-side schedule (not the default) in two and three stages.
      c = attention("attn_wg_sidebyside_bf16cache", bf16, 2, 16, 8, 128, true,
                    {300, 1, 7}, {0, 17}, true, 0, 0.0, true);
      c.attn.wgPingPong = 0;
      all.push_back(c);
      c = attention("attn_wg_sidebyside_st3_t1000", bf16, 1, 16, 8, 128, false,
                    {1000});
      c.attn.wgPingPong = 0;
      c.attn.wgStages = 3;
      all.push_back(c);
      // Ping-pong with a __syncthreads per key tile (not the default).
      c = attention("attn_wg_lockstep_bf16cache", bf16, 2, 16, 8, 128, true,
                    {300, 1, 7}, {0, 17}, true, 0, 0.0, true);
      c.attn.wgBarriers = 0;
      all.push_back(c);
    }

    // ssd_scan: goldens' shapes, bamba-1.5b, groups + dt clamp, forced
    // chunked path for tiny T, head_dim 8, no optional operands, long
    // head_dim, 256 states.
    all.push_back(ssd("ssd_golden", bf16, 2, 8, 16, 1, 16, 16, {37, 1, 1, 1, 7}));
    all.back().quick = true;
    all.push_back(ssd("ssd_bamba", bf16, 2, 64, 64, 1, 128, 256, {300, 1, 1}));
    {
      SeqCase c = ssd("ssd_groups_dtclamp", bf16, 2, 8, 16, 2, 16, 16, {37, 1});
      c.ssd.dtMin = 0.001;
      c.ssd.hasDtMax = true;
      c.ssd.dtMax = 0.1;
      all.push_back(c);
    }
    {
      SeqCase c = ssd("ssd_forced_chunked", bf16, 2, 8, 16, 1, 16, 16, {1, 7, 37});
      c.ssd.seqMax = 0;
      c.quick = true;
      all.push_back(c);
    }
    all.push_back(ssd("ssd_p8_n32", bf16, 1, 16, 8, 1, 32, 64, {300, 1}));
    {
      SeqCase c = ssd("ssd_stateless", bf16, 2, 8, 32, 1, 64, 32, {300});
      c.ssd.D = c.ssd.bias = c.ssd.stateIn = c.ssd.stateOut = -1;
      c.ssd.softplus = false;
      all.push_back(c);
    }
    all.push_back(ssd("ssd_p640", bf16, 1, 8, 640, 1, 64, 256, {37, 1}));
    all.push_back(ssd("ssd_n256", bf16, 1, 4, 64, 1, 256, 64, {100, 1}));
    {
      SeqCase c = ssd("ssd_variant_stages2_bamba", bf16, 2, 64, 64, 1, 128, 256,
                      {600, 1});
      c.ssd.outStages = 2;
      c.ssd.outHeads = 0;
      all.push_back(c);
      c = ssd("ssd_variant_stages2_golden", bf16, 2, 8, 16, 2, 16, 16, {37, 1, 100});
      c.ssd.outStages = 2;
      c.ssd.outHeads = 0;
      c.quick = true;
      all.push_back(c);
      // The defaults: the grouped output pass (bf16) and a double-buffered
      // chunk-state pass with up to 128 states a block. The "old" variants
      // keep the previous split checked (per-head output, 64-state tiles,
      // one buffer). Then two groups at chunk 256 with a ragged T (grouped:
      // 8 heads a block, each group's own C.B^T), 4 heads a block, and the
      // single-buffered 128-state tile.
      c = ssd("ssd_variant_old_bamba", bf16, 2, 64, 64, 1, 128, 256, {600, 1});
      c.ssd.outHeads = 0;
      c.ssd.stateTileN = 64;
      c.ssd.stateStages = 1;
      c.ssd.stateWgmma = 0;
      all.push_back(c);
      c = ssd("ssd_variant_old_groups", bf16, 2, 8, 16, 2, 16, 16, {37, 1});
      c.ssd.outHeads = 0;
      c.ssd.stateTileN = 64;
      c.ssd.stateStages = 1;
      c.ssd.stateWgmma = 0;
      all.push_back(c);
      all.push_back(
          ssd("ssd_g2_l256", bf16, 2, 16, 64, 2, 128, 256, {1000, 1}));
      c = ssd("ssd_variant_heads4_g2", bf16, 1, 16, 64, 2, 128, 256, {700, 1});
      c.ssd.outHeads = 4;
      c.ssd.stateTileN = 128;
      c.ssd.stateStages = 2;
      c.quick = true; // racecheck: 8-warp slots, two state buffers
      all.push_back(c);
      // A chunk that is no multiple of the state pass's 64-row tiles.
      all.push_back(ssd("ssd_chunk96", bf16, 2, 8, 32, 1, 32, 96, {300, 1}));
      c = ssd("ssd_variant_st1_bamba", bf16, 2, 64, 64, 1, 128, 256, {600, 1});
      c.ssd.stateStages = 1;
      c.ssd.stateWgmma = 0;
      all.push_back(c);
      c = ssd("ssd_variant_old_p640", bf16, 1, 8, 640, 1, 64, 256, {300, 1});
      c.ssd.outHeads = 0;
      c.ssd.stateTileN = 64;
      c.ssd.stateStages = 1;
      c.ssd.stateWgmma = 0;
      all.push_back(c);
      c = ssd("ssd_variant_old_golden", bf16, 2, 8, 16, 2, 16, 16, {37, 1});
      c.ssd.outHeads = 0;
      c.ssd.stateTileN = 64;
      c.ssd.stateStages = 1;
      c.ssd.stateWgmma = 0;
      c.quick = true;
      all.push_back(c);
      // bf16 on sm_90a takes the wgmma passes (SSDHopper.cuh) where they
      // apply: the mma.sync passes they replace stay checked, and the wgmma
      // passes at 64 states, chunk 128, two head_dim tiles and 4 heads a
      // block.
      c = ssd("ssd_variant_mma_bamba", bf16, 2, 64, 64, 1, 128, 256, {600, 1});
      c.ssd.outWgmma = 0;
      c.ssd.stateWgmma = 0;
      all.push_back(c);
      c = ssd("ssd_variant_mma_g2", bf16, 1, 16, 64, 2, 128, 256, {700, 1});
      c.ssd.outWgmma = 0;
      c.ssd.stateWgmma = 0;
      all.push_back(c);
      c = ssd("ssd_n64_l128", bf16, 2, 16, 128, 1, 64, 128, {300, 1});
      c.ssd.outHeads = 4;
      c.quick = true;
      all.push_back(c);
      // The wgmma chunk states with the whole chunk in one buffer (the
      // default takes 64-row k-tiles in two).
      c = ssd("ssd_variant_stchunk_bamba", bf16, 2, 64, 64, 1, 128, 256,
              {600, 1});
      c.ssd.stateWgRows = 256;
      c.quick = true;
      all.push_back(c);
      // 64 states at chunk 256, chunk 96 (wgmma chunk states, mma.sync
      // output), and chunk 128 (one token tile a chunk) on both output
      // passes.
      all.push_back(ssd("ssd_n64_l256", bf16, 2, 16, 64, 1, 64, 256, {300, 1}));
      all.push_back(ssd("ssd_l96_p64", bf16, 2, 8, 64, 1, 64, 96, {300, 1}));
      all.push_back(ssd("ssd_l128", bf16, 2, 16, 64, 1, 128, 128, {300, 1}));
      c = ssd("ssd_variant_mma_l128", bf16, 2, 16, 64, 1, 128, 128, {300, 1});
      c.ssd.outWgmma = 0;
      c.ssd.stateWgmma = 0;
      all.push_back(c);
    }

    // mamba2_step (decode, T = 1 per phase): bamba-1.5b at B = 1 and 5,
    // nemotron-like groups, falcon-like SiLU gate without D, no gate,
    // norm before gate, K = 2 without a conv bias with a dt clamp, 24
    // states (two lanes per row, three float4s each: 64 rows per pass for
    // 32 rows, half the lanes idle), head_dim 48 (16 rows per block), and
    // norm groups of 96 that straddle the finishing blocks' 1024 channels.
    const size_t firstStep = all.size();
    all.push_back(mamba2Step("step_bamba_b1", bf16, 1, 64, 64, 1, 128, 4, 1,
                             4096, {1, 1, 1}));
    all.push_back(mamba2Step("step_bamba_b5", bf16, 5, 64, 64, 1, 128, 4, 1,
                             4096, {1, 1, 1, 1}));
    all.push_back(mamba2Step("step_nemotron_g2", bf16, 3, 8, 16, 2, 16, 4, 1,
                             64, {1, 1, 1}));
    all.back().quick = true;
    {
      SeqCase c = mamba2Step("step_falcon_silu_noD", bf16, 2, 8, 16, 1, 16, 4,
                             2, 0, {1, 1, 1});
      c.step.hasD = false;
      all.push_back(c);
      c = mamba2Step("step_gate_none", bf16, 2, 8, 16, 1, 32, 4, 0, 0,
                     {1, 1, 1});
      all.push_back(c);
      c = mamba2Step("step_norm_first", bf16, 2, 8, 16, 2, 16, 4, 1, 32,
                     {1, 1, 1});
      c.step.normFirst = true;
      c.quick = true;
      all.push_back(c);
      c = mamba2Step("step_k2_nobias_dtclamp", bf16, 2, 8, 16, 1, 16, 2, 1, 128,
                     {1, 1, 1});
      c.step.hasConvBias = false;
      c.step.dtMin = 0.001;
      c.step.hasDtMax = true;
      c.step.dtMax = 0.1;
      all.push_back(c);
      c = mamba2Step("step_n24", bf16, 2, 4, 32, 1, 24, 4, 1, 64, {1, 1, 1});
      all.push_back(c);
      c = mamba2Step("step_p48", bf16, 2, 4, 48, 2, 32, 4, 1, 48, {1, 1, 1});
      all.push_back(c);
      c = mamba2Step("step_h24_group96_straddle", bf16, 2, 24, 64, 4, 64, 4, 1,
                     96, {1, 1, 1});
      all.push_back(c);
      // bamba-1.5b with 8 rows a block (the rows knob).
      c = mamba2Step("step_bamba_b3_rows8", bf16, 3, 64, 64, 1, 128, 4, 1, 4096,
                     {1, 1, 1});
      c.step.rows = 8;
      all.push_back(c);
    }
    // Each again with the update that copies its state rows into shared
    // memory before it waits (the plan's choice from 17 rows).
    for (size_t i = firstStep, n = all.size(); i < n; ++i) {
      SeqCase c = all[i];
      c.name += "_tile";
      c.step.tileMinRows = 1;
      all.push_back(c);
    }

    // selective_scan (Mamba1).
    all.push_back(selective("sel_jamba_golden", bf16, 2, 128, 8, 8,
                            {37, 1, 1, 1}, true, true, true, true));
    all.back().quick = true;
    all.push_back(selective("sel_plain", bf16, 2, 256, 16, 16, {300, 1}, false,
                            true, true, true));
    all.push_back(selective("sel_odd", bf16, 1, 96, 6, 64, {7, 1}, false, false,
                            false, true));
    all.push_back(selective("sel_stateless", bf16, 1, 64, 4, 16, {37}, true,
                            true, true, false));
  }

  // Timed shapes (bf16), also checked against the CPU.
  {
    SeqCase c = attention("bench_attn_prefill_b1_h32_s4096", true, 1, 32, 32,
                          128, false, {4096});
    c.bench = true;
    all.push_back(c); // the wgmma kernel (sm_90a)
    c.attn.wgmma = 0; // the mma.sync kernels (Attention.cuh) from here on
    c.name = "bench_attn_prefill_b1_h32_s4096_old";
    all.push_back(c);
    c.name = "bench_attn_prefill_b1_h32_s4096_rows16";
    c.attn.rowTiles = 1;
    all.push_back(c);
    c.name = "bench_attn_prefill_b1_h32_s4096_rows32_step16_qregs";
    c.attn.rowTiles = 2;
    c.attn.keyStep = 16;
    c.attn.qInRegs = 1;
    all.push_back(c);
    // bamba-1.5b prefill attention (16 q / 8 kv heads x 128): the layer as
    // the bundle runs it (bf16 cache appended) and without a cache, S =
    // 4096 and 16384; each on the wgmma kernel, its stage variant, and the
    // old kernel.
    for (int S : {4096, 16384})
      for (bool cached : {true, false}) {
        if (S == 16384 && cached)
          continue;
        const std::string base = std::string("bench_attn_prefill_bamba_") +
                                 (cached ? "bf16cache_" : "") + "s" +
                                 std::to_string(S);
        c = attention(base, true, 1, 16, 8, 128, cached, {S}, {}, true, 0, 0.0,
                      true);
        c.bench = true;
        all.push_back(c);
        c.name = base + "_lockstep"; // a __syncthreads per key tile
        c.attn.wgBarriers = 0;
        all.push_back(c);
        c.attn.wgBarriers = -1;
        c.name = base + "_sidebyside";
        c.attn.wgPingPong = 0;
        all.push_back(c);
        c.name = base + "_sidebyside_st3";
        c.attn.wgStages = 3;
        all.push_back(c);
        c.name = base + "_old";
        c.attn.wgStages = 0;
        c.attn.wgmma = 0;
        all.push_back(c);
      }
    c = attention("bench_attn_prefill_cached_b1_h32_s4096", true, 1, 32, 32,
                  128, true, {4096});
    c.bench = true;
    all.push_back(c);
    c = attention("bench_attn_prefill_b4_h16_s4096", true, 4, 16, 16, 128,
                  false, {4096});
    c.bench = true;
    all.push_back(c);
    c = attention("bench_attn_decode_b1_h16kv8_pos4095_f32cache", true, 1, 16,
                  8, 128, true, {1}, {4095});
    c.bench = true;
    all.push_back(c);
    c = attention("bench_attn_decode_b1_h16kv8_pos4095_bf16cache", true, 1, 16,
                  8, 128, true, {1}, {4095}, true, 0, 0.0, true);
    c.bench = true;
    all.push_back(c);
    c = ssd("bench_ssd_b4_s4096_h64_p64_n128", true, 4, 64, 64, 1, 128, 256,
            {4096});
    c.randomState = false;
    c.bench = true;
    all.push_back(c);
    // The mma.sync passes (the default before wgmma), the wgmma output pass
    // with the mma.sync chunk states, the wgmma output pass with 4 heads a
    // block.
    c.name = "bench_ssd_b4_s4096_h64_p64_n128_mma";
    c.ssd.outWgmma = 0;
    c.ssd.stateWgmma = 0;
    all.push_back(c);
    c.name = "bench_ssd_b4_s4096_h64_p64_n128_wgout";
    c.ssd.outWgmma = -1;
    all.push_back(c);
    c.name = "bench_ssd_b4_s4096_h64_p64_n128_stchunk";
    c.ssd.stateWgmma = -1;
    c.ssd.stateWgRows = 256;
    all.push_back(c);
    c.ssd.stateWgRows = 0;
    c.name = "bench_ssd_b4_s4096_h64_p64_n128_wg4";
    c.ssd.stateWgmma = -1;
    c.ssd.outHeads = 4;
    all.push_back(c);
    c.ssd.outHeads = -1;
    // The previous split (per-head output, 64-state tiles, one buffer) in
    // the same run, then one change at a time back to it.
    c.name = "bench_ssd_b4_s4096_h64_p64_n128_old";
    c.ssd.outHeads = 0;
    c.ssd.stateTileN = 64;
    c.ssd.stateStages = 1;
    c.ssd.stateWgmma = 0;
    all.push_back(c);
    c.name = "bench_ssd_b4_s4096_h64_p64_n128_perhead";
    c.ssd.stateTileN = c.ssd.stateStages = 0;
    all.push_back(c);
    c.name = "bench_ssd_b4_s4096_h64_p64_n128_heads4";
    c.ssd.outHeads = 4;
    all.push_back(c);
    c.name = "bench_ssd_b4_s4096_h64_p64_n128_st1";
    c.ssd.outHeads = -1;
    c.ssd.stateStages = 1;
    c.ssd.stateWgmma = 0;
    all.push_back(c);
    c.name = "bench_ssd_b4_s4096_h64_p64_n128_nt64";
    c.ssd.stateStages = 0;
    c.ssd.stateTileN = 64;
    all.push_back(c);
    c = ssd("bench_ssd_b1_s16384_h64_p64_n128", true, 1, 64, 64, 1, 128, 256,
            {16384});
    c.randomState = false;
    c.bench = true;
    all.push_back(c);
    c.name = "bench_ssd_b1_s16384_h64_p64_n128_stchunk";
    c.ssd.stateWgRows = 256;
    all.push_back(c);
    c.ssd.stateWgRows = 0;
    c.name = "bench_ssd_b1_s16384_h64_p64_n128_mma";
    c.ssd.outWgmma = 0;
    c.ssd.stateWgmma = 0;
    all.push_back(c);
    c.ssd.outWgmma = -1;
    c.name = "bench_ssd_b1_s16384_h64_p64_n128_old";
    c.ssd.outHeads = 0;
    c.ssd.stateTileN = 64;
    c.ssd.stateStages = 1;
    c.ssd.stateWgmma = 0;
    all.push_back(c);
    c = ssd("bench_ssd_b1_s4096_bamba", true, 1, 64, 64, 1, 128, 256, {4096});
    c.bench = true;
    all.push_back(c);
    c.name = "bench_ssd_b1_s4096_bamba_stchunk";
    c.ssd.stateWgRows = 256;
    all.push_back(c);
    c.ssd.stateWgRows = 0;
    c.name = "bench_ssd_b1_s4096_bamba_mma";
    c.ssd.outWgmma = 0;
    c.ssd.stateWgmma = 0;
    all.push_back(c);
    c.ssd.outWgmma = -1;
    c.name = "bench_ssd_b1_s4096_bamba_old";
    c.ssd.outHeads = 0;
    c.ssd.stateTileN = 64;
    c.ssd.stateStages = 1;
    c.ssd.stateWgmma = 0;
    all.push_back(c);
    c = ssd("bench_ssd_decode_b1_bamba", true, 1, 64, 64, 1, 128, 256, {1});
    c.bench = true;
    all.push_back(c);
    // bamba-1.5b decode attention (16 q / 8 kv heads x 128, bf16 cache)
    // at 560 cached keys: split-KV at B = 1; at B = 64 the grid without
    // split blocks, and the split grid it replaces (its 32 extra blocks a
    // KV head return at once).
    c = attention("bench_attn_decode_b1_bamba_pos560", true, 1, 16, 8, 128,
                  true, {1}, {560}, true, 0, 0.0, true);
    c.bench = true;
    all.push_back(c);
    c = attention("bench_attn_decode_b64_bamba_pos560", true, 64, 16, 8, 128,
                  true, {1}, std::vector<int>(64, 560), true, 0, 0.0, true);
    c.bench = true;
    all.push_back(c);
    c.name = "bench_attn_decode_b64_bamba_pos560_splitgrid";
    c.splitGrid = true;
    all.push_back(c);
    // Decode's rings at B = 1 and 64: query rows a warp (rowTiles: 2 is
    // the plan's for bf16, whose 32 rows a warp serve 2 query heads in
    // decode) and keys a tile x stages (the shared memory, and so the
    // blocks an SM).
    for (int b : {1, 64})
      for (auto [rt, bn, st] : std::initializer_list<std::array<int, 3>>{
               {1, 64, 2}, {1, 32, 2}, {1, 64, 1}, {2, 64, 1}, {1, 32, 4}}) {
        c = attention("bench_attn_decode_b" + std::to_string(b) +
                          "_bamba_pos560_rt" + std::to_string(rt) + "_n" +
                          std::to_string(bn) + "x" + std::to_string(st),
                      true, b, 16, 8, 128, true, {1}, std::vector<int>(b, 560),
                      true, 0, 0.0, true);
        c.attn.rowTiles = rt;
        c.attn.blockN = bn;
        c.attn.stages = st;
        c.bench = true;
        all.push_back(c);
      }
    // mamba2_step of bamba-1.5b (timed at the last phase).
    c = mamba2Step("bench_step_b1_bamba", true, 1, 64, 64, 1, 128, 4, 1, 4096,
                   {1, 1, 1});
    c.bench = true;
    all.push_back(c);
    c = mamba2Step("bench_step_b64_bamba", true, 64, 64, 64, 1, 128, 4, 1, 4096,
                   {1, 1, 1});
    c.bench = true;
    all.push_back(c);
    // Each with the other update kernel: B = 1 with the state tile, B = 64
    // waiting first.
    c = all[all.size() - 2];
    c.name += "_tile";
    c.step.tileMinRows = 1;
    all.push_back(c);
    c = all[all.size() - 2];
    c.name += "_notile";
    c.step.tileMinRows = 65;
    all.push_back(c);
    // Other rows per update block: fewer (more blocks: B = 1 parallelism,
    // more redundant B/C conv per block at B = 64) and a whole head (64:
    // half the blocks, 32 KB of state each).
    for (int rows : {64, 16, 8})
      for (int b : {1, 64}) {
        c = mamba2Step("bench_step_b" + std::to_string(b) + "_bamba_rows" +
                           std::to_string(rows),
                       true, b, 64, 64, 1, 128, 4, 1, 4096, {1, 1, 1});
        c.step.rows = rows;
        c.bench = true;
        all.push_back(c);
      }
  }
  return all;
}

} // namespace braid::test

#endif // BRAID_TEST_GPU_SEQUENCE_CASES_H
