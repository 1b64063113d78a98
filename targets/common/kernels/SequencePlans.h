//===- SequencePlans.h - launch plans of the sequence families --*- C++ -*-===//
//
// From a family's shapes and attributes (plain structs, no MLIR) to the
// translation unit that instantiates the device templates and the launch
// geometry of its kernels. SpecializersSequence.cpp fills the structs from
// a launch.kernel op; test/gpu/ fills them directly and compiles the very
// same sources, so what the tests run is what the bundle runs.
//
// Header-only C++17 (no CUDA, no LLVM): included by braidc and by the test
// generator.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_SEQUENCEPLANS_H
#define BRAID_TARGETS_COMMON_KERNELS_SEQUENCEPLANS_H

#include "targets/common/kernels/SequenceLayout.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace braid {
namespace gpu {
namespace seq {

/// ceil((constant + perBatch*B + perToken*T + perBatchToken*B*T) / divisor),
/// as KernelPlan.h's DimExpr.
struct Dim {
  int64_t constant = 0, perBatch = 0, perToken = 0, perBatchToken = 0;
  int64_t divisor = 1;
  static Dim fixed(int64_t v) { return {v, 0, 0, 0, 1}; }
  static Dim batch() { return {0, 1, 0, 0, 1}; }
  /// ceil(T / d) (eval takes the ceiling)
  static Dim tokensOver(int64_t d) { return {0, 0, 1, 0, d}; }
  int64_t eval(int64_t b, int64_t t) const {
    const int64_t n =
        constant + perBatch * b + perToken * t + perBatchToken * b * t;
    return (n + divisor - 1) / divisor;
  }
};

struct Launch {
  std::string function;
  Dim grid[3];
  int block[3] = {1, 1, 1};
  int64_t sharedBytes = 0;
  /// Runs only for calls of B * T rows in [minRows, maxRows] (KernelPlan.h):
  /// a kernel's grid variants by size.
  int64_t minRows = 0, maxRows = INT64_MAX;
  bool runsFor(int64_t rows) const {
    return rows >= minRows && rows <= maxRows;
  }
};

struct Plan {
  std::string source;
  std::vector<Launch> launches;
  Dim workspace;
};

struct Target {
  int sm = 90;        // 80, 90, ...
  int warpSize = 32;  // 64 on AMD (HIP)
  /// Largest dynamic shared memory a block may ask for on every
  /// architecture the code object is built for (sm_80: 163 KB).
  int64_t maxShared = 166912;
  /// sm_90a (arch-specific features): the wgmma kernels may be planned,
  /// with up to 227 KiB of shared memory for them.
  bool wgmma = false;
};

/// C++ spellings of the element types in the generated sources.
inline const char *kF32 = "float";
inline const char *kBf16 = "braid::dev::bf16";

inline int elemBytes(const std::string &type) { return type == kF32 ? 4 : 2; }
inline bool isBf16(const std::string &type) { return type == kBf16; }

namespace detail {
/// A float as an exact hexadecimal literal.
inline std::string hexFloat(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%af", static_cast<double>(static_cast<float>(v)));
  return buf;
}
inline std::string line(const char *type, const char *name, int64_t v) {
  return std::string("  static constexpr ") + type + " " + name + " = " +
         std::to_string(v) + ";\n";
}
inline std::string flag(const char *name, bool v) {
  return std::string("  static constexpr bool ") + name + " = " +
         (v ? "true" : "false") + ";\n";
}
inline std::string real(const char *name, double v) {
  return std::string("  static constexpr float ") + name + " = " + hexFloat(v) +
         ";\n";
}
inline std::string header(const char *family, const char *include) {
  return std::string("// Braid ") + family +
         " specialization (targets/common/kernels/SequencePlans.h).\n"
         "#include \"targets/common/kernels/" +
         include + "\"\n\n";
}
inline int64_t pow2Ceil(int64_t v) {
  int64_t p = 1;
  while (p < v)
    p *= 2;
  return p;
}
} // namespace detail

//===----------------------------------------------------------------------===//
// attention
//===----------------------------------------------------------------------===//

struct AttentionShape {
  std::string elem = kF32;      // q, k, v and output
  std::string cacheElem = kF32; // caches: elem, or float
  int64_t heads = 0, kvHeads = 0, headDim = 0, valueDim = 0;
  bool causal = true;
  int64_t window = 0;   // 0: none
  double scale = 1.0;
  double softcap = 0.0; // 0: none
  bool cached = false;
  int64_t kvSeq = 0;  // keys per sequence without a cache; 0: T
  int64_t maxSeq = 0; // cache rows; 0: S (run time)
  int64_t tokens = 0; // query tokens; 0: T (run time)
  /// Tuning knobs (0 / -1: the planner's choice): query rows per warp in
  /// 16s (1 or 2), keys per step of the row split, query in registers.
  int rowTiles = 0;
  int keyStep = 0;
  int qInRegs = -1;
  /// Tuning knobs of the key/value ring (0: the planner's): keys per tile
  /// and stages.
  int blockN = 0, stages = 0;
  /// The sm_90a wgmma prefill kernel (AttentionHopper.cuh) where it
  /// applies: -1 the planner's choice (on), 0 off; its schedule (-1: the
  /// default, ping-pong; 0: both warpgroups side by side) and key/value
  /// stages (0: the default, 3 for ping-pong, else 2). Ping-pong hands
  /// the ring's stages on mbarriers (-1: the default; 0: a __syncthreads
  /// per key tile, the warpgroups in lockstep).
  int wgmma = -1;
  int wgPingPong = -1;
  int wgStages = 0;
  int wgBarriers = -1;
  /// Buffer indices (operands then results); -1: absent.
  int q = 0, k = 1, v = 2, kCache = -1, vCache = -1, pos = -1, out = 3,
      kCacheOut = -1, vCacheOut = -1;
};

/// The sm_90a wgmma prefill kernel (AttentionHopper.cuh): warpgroups of
/// 64 rows per block, keys per tile, and the fewest rows (B * T) of a call
/// it runs for (below, a 128-row tile would mostly hold padding or decode
/// rows that the split-KV kernel serves better).
constexpr int kAttnWgWarpgroups = 2;
constexpr int kAttnWgBlockN = 128;
constexpr int64_t kAttnWgMinRows = 256;
/// Largest dynamic shared memory of a block on sm_90a (227 KiB).
constexpr int64_t kMaxSharedSm90 = 232448;

/// "" on success, else what is not supported.
inline std::string planAttention(const AttentionShape &s, const Target &t,
                                 const std::string &name, Plan &plan) {
  using namespace seqlayout;
  const int eb = elemBytes(s.elem);
  const int vec = 16 / eb;
  if (s.heads < 1 || s.kvHeads < 1 || s.heads % s.kvHeads)
    return "num_heads (" + std::to_string(s.heads) +
           ") must be a positive multiple of num_kv_heads (" +
           std::to_string(s.kvHeads) + ")";
  if (s.headDim % vec || s.valueDim % vec || s.headDim < 1 || s.valueDim < 1)
    return "head dims " + std::to_string(s.headDim) + "/" +
           std::to_string(s.valueDim) + " must be multiples of " +
           std::to_string(vec) + " (16-byte rows)";
  if (s.headDim > 256 || s.valueDim > 256)
    return "head dims above 256 are not supported yet";
  if (s.cached && (s.kCache < 0 || s.vCache < 0 || s.kCacheOut < 0 ||
                   s.vCacheOut < 0))
    return "a KV cache needs k_cache, v_cache and both updated caches";
  if (s.cached && s.cacheElem != s.elem && s.cacheElem != kF32)
    return "caches must have the activations' element type or f32";

  // Tiles: 4 warps, 64-key tiles in two shared stages where they fit; the
  // f32 path (validation) trades stages for size. bf16 with head dims up
  // to 128 gives each warp 32 query rows (two m16 tiles: every key/value
  // fragment read from shared memory feeds twice the tensor-core work) and
  // walks a key tile in steps of 32 keys (registers); otherwise 16 rows and
  // whole tiles.
  struct Choice {
    int warps, blockN, stages;
  };
  const bool bf16 = isBf16(s.elem);
  const int64_t dp = (s.headDim + 15) / 16 * 16;
  const int64_t dvp = (s.valueDim + 15) / 16 * 16;
  const int rowTiles =
      s.rowTiles > 0 ? s.rowTiles : (bf16 && dp <= 128 && dvp <= 128 ? 2 : 1);
  const Choice choices[] = {{4, 64, bf16 ? 2 : 1}, {4, 64, 1}, {4, 32, 1},
                            {2, 32, 1}};
  const Choice *pick = nullptr;
  const Choice asked{4, s.blockN, s.stages};
  if (s.blockN > 0 && s.stages > 0) {
    if (s.blockN % 16 ||
        attentionSmemBytes(eb, int(s.headDim), int(s.valueDim), asked.warps,
                           rowTiles, asked.blockN, asked.stages) > t.maxShared)
      return "key tiles of " + std::to_string(s.blockN) + " in " +
             std::to_string(s.stages) +
             " stages must be a multiple of 16 and fit in shared memory";
    pick = &asked;
  }
  for (const Choice &c : choices)
    if (!pick &&
        attentionSmemBytes(eb, int(s.headDim), int(s.valueDim), c.warps,
                           rowTiles, c.blockN, c.stages) <= t.maxShared)
      pick = &c;
  if (!pick)
    return "head dims " + std::to_string(s.headDim) +
           " do not fit in shared memory";
  const int keyStep =
      s.keyStep > 0 ? s.keyStep : (rowTiles == 2 ? 32 : pick->blockN);
  const bool qRegs = s.qInRegs >= 0 ? (bf16 && s.qInRegs > 0)
                                    : bf16 && dp * rowTiles <= 160;
  if (keyStep % 16 || pick->blockN % keyStep)
    return "key step " + std::to_string(keyStep) + " must divide the key tile";
  const int64_t group = s.heads / s.kvHeads;
  // Split-KV slots per KV head: enough blocks for two waves of a 132-SM
  // card at batch 1.
  const int64_t splits = std::clamp<int64_t>((264 + s.kvHeads - 1) / s.kvHeads, 1, 64);
  // Split-KV needs at least two slots per sequence (kSplits / B >= 2): up
  // to that many rows (B * T) the grid carries the split blocks (their
  // last merges); above it it does not (the split blocks would all return,
  // and at B = 64 they were 32 of every 33 blocks: they held the SMs' slots
  // longer than the real blocks held them).
  const int64_t splitMaxRows = splits / 2;
  // A kernel's tiles: query rows a warp in 16s, keys a tile, stages, keys
  // a step, query in registers.
  struct Tiles {
    int rowTiles, blockN, stages, keyStep;
    bool qRegs;
    int rows(int warps) const { return 16 * warps * rowTiles; }
    int64_t smem(const AttentionShape &s, int eb, int warps) const {
      return attentionSmemBytes(eb, int(s.headDim), int(s.valueDim), warps,
                                rowTiles, blockN, stages);
    }
  };
  const Tiles tiles{rowTiles, pick->blockN, pick->stages, keyStep, qRegs};
  // The split-KV grid (decode) gets a kernel of its own where the planner
  // chose 32 query rows a warp (bf16, head dims up to 128; no tile knob
  // set): 16 rows a warp and 32-key tiles in two stages, 9.3 against 11.4
  // us back to back at B = 1 on an H100 (docs/benchmarks.md). Measured on
  // NVIDIA only: 32-lane warps.
  const Tiles splitTiles{1, 32, 2, 32, bf16 && dp <= 160};
  const bool splitOwn = splitMaxRows > 0 && t.warpSize == 32 && bf16 &&
                        rowTiles == 2 && s.rowTiles <= 0 && s.blockN <= 0 &&
                        s.stages <= 0 && s.keyStep <= 0 && s.qInRegs < 0 &&
                        splitTiles.smem(s, eb, pick->warps) <= t.maxShared;
  const Tiles &splitUse = splitOwn ? splitTiles : tiles;
  const int bm = tiles.rows(pick->warps);

  using detail::flag;
  using detail::line;
  using detail::real;
  std::string cfg = name + "_cfg", splitCfg = name + "_split_cfg";
  // The config struct's members (without its closing brace).
  auto config = [&](const std::string &cfgName, const Tiles &tl) {
    return "struct " + cfgName + " {\n  using E = " + s.elem +
           ";\n  using EC = " + (s.cached ? s.cacheElem : s.elem) + ";\n" +
           line("int", "kHeads", s.heads) +
           line("int", "kKvHeads", s.kvHeads) +
           line("int", "kHeadDim", s.headDim) +
           line("int", "kValueDim", s.valueDim) + flag("kCausal", s.causal) +
           line("int", "kWindow", s.window) + real("kScale", s.scale) +
           real("kSoftcap", s.softcap) + flag("kCached", s.cached) +
           line("int", "kKvSeq", s.kvSeq) + line("int", "kMaxSeq", s.maxSeq) +
           line("int", "kTokens", s.tokens) +
           line("int", "kWarps", pick->warps) +
           line("int", "kRowTiles", tl.rowTiles) +
           line("int", "kKeyStep", tl.keyStep) +
           line("int", "kBlockN", tl.blockN) +
           line("int", "kStages", tl.stages) + line("int", "kSplits", splits) +
           line("int", "kSplitMaxRows", splitMaxRows) +
           flag("kQInRegs", tl.qRegs) + line("int", "kQ", s.q) +
           line("int", "kK", s.k) + line("int", "kV", s.v) +
           line("int", "kKCache", s.kCache) +
           line("int", "kVCache", s.vCache) + line("int", "kPos", s.pos) +
           line("int", "kOut", s.out) + line("int", "kKCacheOut", s.kCacheOut) +
           line("int", "kVCacheOut", s.vCacheOut);
  };
  std::string src = detail::header("attention", "Attention.cuh");
  src += "namespace {\n" + config(cfg, tiles);
  // sm_90a prefill (AttentionHopper.cuh): bf16, head dims of 128, no
  // cache or a bf16 one, no window or softcap; two warpgroups of 64 rows
  // in ping-pong, 128-key tiles in `wgStages` buffers.
  const bool wgPingPong = s.wgPingPong != 0;
  const int wgStages = s.wgStages > 0 ? s.wgStages : wgPingPong ? 3 : 2;
  if (wgPingPong && wgStages < 3)
    return "the wgmma attention's ping-pong schedule needs three stages";
  const bool wg = t.wgmma && s.wgmma != 0 && bf16 && s.headDim == 128 &&
                  s.valueDim == 128 && s.window == 0 && s.softcap == 0.0 &&
                  (!s.cached || s.cacheElem == s.elem) &&
                  attentionWgSmemBytes(128, kAttnWgWarpgroups, kAttnWgBlockN,
                                       wgStages) <= kMaxSharedSm90;
  if (wg)
    src += line("int", "kWgWarpgroups", kAttnWgWarpgroups) +
           line("int", "kWgBlockN", kAttnWgBlockN) +
           line("int", "kWgStages", wgStages) + flag("kWgPingPong", wgPingPong) +
           flag("kWgBarriers", wgPingPong && s.wgBarriers != 0);
  src += "};\n";
  if (splitOwn)
    src += config(splitCfg, splitTiles) + "};\n";
  src += "} // namespace\n\nBRAID_ATTENTION_ENTRIES(" + name + ", " + cfg +
         ")\n";
  if (splitOwn)
    src += "BRAID_ATTENTION_ENTRIES(" + name + "_split, " + splitCfg + ")\n";
  if (wg)
    src += "BRAID_ATTENTION_WG_ENTRY(" + name + ", " + cfg + ")\n";

  plan = Plan();
  plan.source = src;
  Launch main;
  main.function = name + (splitOwn ? "_split_main" : "_main");
  // ceil(T*G/BM) row tiles, plus splits-1 blocks that only work when one
  // tile holds every row of a KV head (decode).
  const int sbm = splitUse.rows(pick->warps);
  main.grid[0] = {(splits - 1) * sbm, 0, group, 0, sbm};
  main.grid[1] = Dim::fixed(s.kvHeads);
  main.grid[2] = Dim::batch();
  main.block[0] = pick->warps * t.warpSize;
  main.sharedBytes = splitUse.smem(s, eb, pick->warps);
  main.maxRows = splitMaxRows;
  // The prefill tiles without the split blocks for larger calls.
  Launch whole = main;
  whole.function = name + "_main";
  whole.grid[0] = {0, 0, group, 0, bm};
  whole.sharedBytes = tiles.smem(s, eb, pick->warps);
  whole.minRows = splitMaxRows + 1;
  whole.maxRows = INT64_MAX;
  // The split blocks of a (sequence, KV head) merge their partials in the
  // last of them to finish (Attention.cuh): no combine launch.
  plan.launches = {main, whole};
  if (wg) {
    // From kAttnWgMinRows rows (B * T) on, the wgmma kernel replaces the
    // grid without split blocks; the grid is ranked longest tiles first
    // over all (sequence, KV head) pairs by the kernel itself.
    const int wbm = 64 * kAttnWgWarpgroups;
    Launch w;
    w.function = name + "_wg";
    w.grid[0] = {0, 0, group, 0, wbm};
    w.grid[1] = Dim::fixed(s.kvHeads);
    w.grid[2] = Dim::batch();
    w.block[0] = kAttnWgWarpgroups * 128;
    w.sharedBytes =
        attentionWgSmemBytes(128, kAttnWgWarpgroups, kAttnWgBlockN, wgStages);
    w.minRows = std::max<int64_t>(kAttnWgMinRows, splitMaxRows + 1);
    plan.launches[1].maxRows = w.minRows - 1;
    plan.launches.push_back(w);
  }
  plan.workspace =
      Dim::fixed(attentionWorkspaceBytes(int(s.kvHeads), int(splits), int(s.valueDim)));
  return "";
}

//===----------------------------------------------------------------------===//
// ssd_scan
//===----------------------------------------------------------------------===//

struct SsdShape {
  std::string elem = kF32;   // x, dt, B, C, output
  std::string weight = kF32; // A, D, dt_bias
  std::string state = kF32;  // initial / final state
  int64_t heads = 0, headDim = 0, groups = 1, stateSize = 0, chunk = 0;
  bool softplus = true;
  double dtMin = 0.0;
  bool hasDtMax = false;
  double dtMax = 0.0;
  /// Longest T run token by token (decode); -1: the default (16).
  int64_t seqMax = -1;
  /// Shared buffers of the output pass's key tiles (1 or 2); 0: default.
  int outStages = 0;
  /// Heads per block of the grouped output pass (C.B^T computed once for
  /// them); 0: the per-head pass; -1: the default (grouped where it
  /// applies: bf16, at most 128 states).
  int outHeads = -1;
  /// The grouped output pass on wgmma (sm_90a, SSDHopper.cuh): -1 where it
  /// applies (bf16, head_dim a multiple of 64, 64 or 128 states, a chunk
  /// that is a multiple of 128), 0: the mma.sync grouped pass.
  int outWgmma = -1;
  /// The chunk-state pass on wgmma (sm_90a, SSDHopper.cuh): -1 where it
  /// applies (bf16, head_dim a multiple of 64, 64 or 128 states), 0: the
  /// mma.sync pass.
  int stateWgmma = -1;
  /// Rows of its k-tiles (a multiple of 16 dividing the chunk; the whole
  /// chunk: one buffer); 0: the default (the largest such divisor up to 64,
  /// in two buffers).
  int stateWgRows = 0;
  /// State columns per block of the chunk-state pass; 0: the default (128,
  /// where it fits).
  int stateTileN = 0;
  /// Tile buffers of the chunk-state pass (1 or 2); 0: the default (2,
  /// where they fit).
  int stateStages = 0;
  int x = 0, dt = 1, A = 2, B = 3, C = 4, D = -1, bias = -1, stateIn = -1,
      y = 5, stateOut = -1;
};

inline std::string planSsd(const SsdShape &s, const Target &t,
                           const std::string &name, Plan &plan) {
  using namespace seqlayout;
  const int eb = elemBytes(s.elem);
  const int vec = 16 / eb;
  if (s.heads < 1 || s.groups < 1 || s.heads % s.groups)
    return "num_heads (" + std::to_string(s.heads) +
           ") must be a positive multiple of num_groups (" +
           std::to_string(s.groups) + ")";
  // The chunked form computes the same y and final state for any chunk
  // length (only the rounding differs), so a chunk the kernels cannot tile
  // (not a multiple of 16, e.g. the 8 of some small checkpoints) runs as the
  // next multiple of 16.
  const int64_t L = (s.chunk + 15) / 16 * 16;
  if (s.chunk < 1 || L > 1024)
    return "chunk_size " + std::to_string(s.chunk) +
           " must be between 1 and 1024";
  if (s.headDim < 1 || s.headDim % vec)
    return "head_dim " + std::to_string(s.headDim) + " must be a multiple of " +
           std::to_string(vec);
  if (s.stateSize < 1 || s.stateSize % 8 || s.stateSize % vec)
    return "state_size " + std::to_string(s.stateSize) +
           " must be a multiple of 8";
  const int64_t P = s.headDim, N = s.stateSize;
  // State tile columns: whole accumulator blocks (8 columns on NVIDIA, 16
  // on AMD's wave64 MFMA placement); the tile's tail is zero-filled.
  // One block per (chunk, head) for up to 128 states: x and the statistics
  // are read once, not once per 64 states.
  const int64_t ntMax = s.stateTileN > 0 ? (s.stateTileN + 15) / 16 * 16 : 128;
  const int64_t nWhole = t.warpSize == 64 ? (N + 15) / 16 * 16 : N;
  int64_t nt1 = std::min<int64_t>(ntMax, nWhole);
  const int64_t seqMax = s.seqMax >= 0 ? std::min(s.seqMax, L) : std::min<int64_t>(16, L);

  // Output tiles: 4 warps x 64 columns where they fit; smaller for long
  // state vectors in f32.
  struct Choice {
    int warps, pt;
  };
  const Choice choices[] = {{4, 64}, {4, 32}, {2, 64}, {2, 32}, {1, 32}, {1, 16}};
  int warps = 0, pt = 0;
  const int stages = s.outStages > 0 ? s.outStages : 1;
  int stStages = s.stateStages > 0 ? s.stateStages : 2;
  // Wider or double-buffered state tiles only where they fit (f32 on a
  // 64 KiB target falls back to one buffer).
  if (ssdStateSmemBytes(eb, int(L), 64, int(nt1), stStages) > t.maxShared)
    stStages = 1;
  if (ssdStateSmemBytes(eb, int(L), 64, int(nt1), stStages) > t.maxShared)
    nt1 = std::min<int64_t>(64, nWhole);
  for (const Choice &c : choices) {
    const int w = c.warps;
    const int p3 = int(std::min<int64_t>(c.pt, (P + 7) / 8 * 8));
    if (L % (16 * w) || p3 % vec)
      continue;
    if (ssdOutputSmemBytes(eb, int(L), int(N), w, p3, stages) <= t.maxShared &&
        ssdStateSmemBytes(eb, int(L), 64, int(nt1), stStages) <= t.maxShared) {
      warps = w;
      pt = p3;
      break;
    }
  }
  if (!warps)
    return "state_size " + std::to_string(N) + " does not fit in shared memory";
  const bool cRegs = isBf16(s.elem) && (N + 15) / 16 * 16 <= 128;
  // The grouped output pass: the most warps the chunk allows (8), up to 8 heads
  // of one group per block, as many as fit.
  int outHeads = 0;
  if (s.outHeads != 0 && cRegs) {
    const int64_t hpg = s.heads / s.groups;
    const int p3 = int(std::min<int64_t>(64, (P + 7) / 8 * 8));
    for (int w : {8, 4, 2, 1}) {
      if (L % (16 * w) || outHeads)
        continue;
      for (int hb = s.outHeads > 0 ? s.outHeads : 8; hb >= 1; hb /= 2)
        if (hpg % hb == 0 &&
            ssdGroupedSmemBytes(eb, int(L), int(N), w, p3, hb) <= t.maxShared) {
          outHeads = hb;
          warps = w;
          pt = p3;
          break;
        }
    }
  }
  // On sm_90a the grouped pass runs on wgmma where its shape allows:
  // 8 warps (two warpgroups of 64 rows) and 64 head_dim columns a block.
  bool outWg = false;
  if (t.wgmma && outHeads > 0 && s.outWgmma != 0 && P % 64 == 0 &&
      (N == 64 || N == 128) && L % 128 == 0) {
    const int64_t hpg = s.heads / s.groups;
    for (int hb = s.outHeads > 0 ? s.outHeads : 8; hb >= 1 && !outWg; hb /= 2)
      if (hpg % hb == 0 &&
          ssdWgSmemBytes(int(L), int(N), hb) <= kMaxSharedSm90) {
        outWg = true;
        outHeads = hb;
        warps = 8;
        pt = 64;
      }
  }
  // Chunk states on wgmma: k-tiles of 64 rows in two buffers (53 KB, four
  // blocks an SM) measured 0.109 ms at B4 S4096 against 0.153 for the whole
  // chunk in one (H200).
  int64_t stRows = 16;
  for (int64_t r = 64; r > 16; r -= 16)
    if (L % r == 0) {
      stRows = r;
      break;
    }
  if (s.stateWgRows > 0 && s.stateWgRows % 16 == 0 && L % s.stateWgRows == 0)
    stRows = s.stateWgRows;
  const bool stateWg =
      t.wgmma && isBf16(s.elem) && s.stateWgmma != 0 && P % 64 == 0 &&
      (N == 64 || N == 128) &&
      ssdStateWgSmemBytes(int(L), int(N), int(stRows)) <= kMaxSharedSm90;
  if (stateWg)
    nt1 = N;
  const int64_t tiles1 = ((P + 63) / 64) * ((N + nt1 - 1) / nt1);
  // The sequential (decode) form's blocks per head: as many as 64-state
  // tiles give (its measured layout), whatever the chunked form's tile.
  const int64_t nt64 = std::min<int64_t>(64, nWhole);
  const int64_t seqTiles = ((P + 63) / 64) * ((N + nt64 - 1) / nt64);
  const int64_t ptiles3 = (P + pt - 1) / pt;

  using detail::flag;
  using detail::line;
  using detail::real;
  std::string cfg = name + "_cfg";
  std::string src = detail::header("ssd_scan", "SSD.cuh");
  src += "namespace {\nstruct " + cfg + " {\n  using E = " + s.elem +
         ";\n  using W = " + s.weight + ";\n  using S = " + s.state + ";\n";
  src += line("int", "kHeads", s.heads) + line("int", "kHeadDim", P) +
         line("int", "kGroups", s.groups) + line("int", "kState", N) +
         line("int", "kChunk", L) + flag("kSoftplus", s.softplus) +
         real("kDtMin", s.dtMin) + flag("kHasDtMax", s.hasDtMax) +
         real("kDtMax", s.hasDtMax ? s.dtMax : 0.0) +
         line("int", "kSeqMax", seqMax) + line("int", "kSeqTiles", seqTiles) +
         line("int", "kStateTileN", nt1) + line("int", "kOutWarps", warps) +
         line("int", "kOutTileP", pt) + line("int", "kOutStages", stages) +
         line("int", "kOutHeads", outHeads) + flag("kOutWg", outWg) +
         line("int", "kStateStages", stStages) + flag("kStateWg", stateWg) +
         line("int", "kStateWgRows", stRows) + flag("kCInRegs", cRegs) +
         line("int", "kX", s.x) + line("int", "kDt", s.dt) +
         line("int", "kA", s.A) + line("int", "kB", s.B) +
         line("int", "kC", s.C) + line("int", "kD", s.D) +
         line("int", "kBias", s.bias) + line("int", "kStateIn", s.stateIn) +
         line("int", "kY", s.y) + line("int", "kStateOut", s.stateOut);
  src += "};\n} // namespace\n\nBRAID_SSD_ENTRIES(" + name + ", " + cfg + ")\n";

  plan = Plan();
  plan.source = src;
  Launch state;
  state.function = name + "_state";
  state.grid[0] = Dim::tokensOver(L);
  state.grid[1] = Dim::fixed(s.heads * std::max(tiles1, seqTiles));
  state.grid[2] = Dim::batch();
  state.block[0] = 4 * t.warpSize;
  state.sharedBytes =
      stateWg ? ssdStateWgSmemBytes(int(L), int(N), int(stRows))
              : ssdStateSmemBytes(eb, int(L), 64, int(nt1), stStages);
  Launch pass;
  pass.function = name + "_pass";
  pass.grid[0] = Dim::fixed((P * N + 511) / 512);
  pass.grid[1] = Dim::fixed(s.heads);
  pass.grid[2] = Dim::batch();
  pass.block[0] = 4 * t.warpSize;
  Launch output;
  output.function = name + "_output";
  output.grid[0] = Dim::tokensOver(16 * warps);
  output.grid[1] = Dim::fixed(s.heads / std::max(outHeads, 1) * ptiles3);
  output.grid[2] = Dim::batch();
  output.block[0] = warps * t.warpSize;
  output.sharedBytes =
      outWg      ? ssdWgSmemBytes(int(L), int(N), outHeads)
      : outHeads ? ssdGroupedSmemBytes(eb, int(L), int(N), warps, pt, outHeads)
                 : ssdOutputSmemBytes(eb, int(L), int(N), warps, pt, stages);
  plan.launches = {state, pass, output};
  // B * ceil(T/L) chunks of per-chunk bytes X, bounded by
  // (B*T*X + B*(L-1)*X)/L, plus 16 bytes of alignment slack.
  const int64_t X = ssdWorkspacePerChunk(int(s.heads), int(P), int(N), eb);
  plan.workspace = {16 * L, X * (L - 1), 0, X, L};
  return "";
}

//===----------------------------------------------------------------------===//
// mamba2_step (Mamba2Step.cuh)
//===----------------------------------------------------------------------===//

struct Mamba2StepShape {
  std::string elem = kF32;   // xBC, dt, z, output
  std::string weight = kF32; // conv weight and bias, A, D, dt_bias, norm
  int64_t heads = 0, headDim = 0, groups = 1, stateSize = 0, convK = 0;
  bool convSilu = true, hasConvBias = false, hasD = false, hasDtBias = false;
  bool softplus = true;
  double dtMin = 0.0;
  bool hasDtMax = false;
  double dtMax = 0.0;
  int gate = 0; // 0 none, 1 norm, 2 silu (kern::StepGate)
  bool normFirst = false;
  int64_t normGroup = 0;
  double eps = 1e-6;
  /// Tuning knob: rows of head_dim per update block (0: the planner's).
  int64_t rows = 0;
  /// Tuning knob: the fewest B * T rows that run `_update_tile` (the state
  /// rows copied before the wait) rather than `_update` (0: the planner's,
  /// kStepTileMinRows).
  int64_t tileMinRows = 0;
};

/// From 17 rows (where a bf16 decode GEMM leaves the skinny kernel for the
/// tensor-core one, SpecializersDense.cpp) the update copies its state rows
/// into shared memory before it waits: bamba-1.5b decode on H100, B = 64,
/// 4.060 -> 4.004-4.015 ms/step. At B = 1 the same kernel made the step
/// slower in the graph (1.428-1.434 -> 1.464-1.466 ms), although it is
/// faster alone (test/gpu/SEQUENCE_NOTES.md); B = 1 keeps the update that
/// waits first.
constexpr int64_t kStepTileMinRows = 17;

inline std::string planMamba2Step(const Mamba2StepShape &s, const Target &t,
                                  const std::string &name, Plan &plan) {
  const int64_t P = s.headDim, N = s.stateSize, HP = s.heads * P;
  if (s.heads < 1 || s.groups < 1 || s.heads % s.groups)
    return "num_heads (" + std::to_string(s.heads) +
           ") must be a positive multiple of num_groups (" +
           std::to_string(s.groups) + ")";
  if (P < 1 || N < 4 || N % 4)
    return "state_size " + std::to_string(N) +
           " must be a positive multiple of 4 (float4 state rows)";
  if (s.convK < 1 || s.convK > 8)
    return "kernel_size " + std::to_string(s.convK) +
           " must be between 1 and 8";
  if (s.gate == 1 && (s.normGroup < 1 || HP % s.normGroup))
    return "group_size " + std::to_string(s.normGroup) +
           " must divide num_heads * head_dim (" + std::to_string(HP) + ")";
  // Rows of head_dim per update block: as many as divide head_dim (and the
  // norm group) up to 32, so that a 64-head layer has 128 blocks per
  // sequence, enough to stream its state at B = 1.
  int64_t rows = 1;
  for (int64_t r : {32, 16, 8, 4, 2})
    if (P % r == 0 && (s.gate != 1 || s.normGroup % r == 0)) {
      rows = r;
      break;
    }
  if (s.rows > 0) {
    if (P % s.rows || (s.gate == 1 && s.normGroup % s.rows))
      return "rows " + std::to_string(s.rows) +
             " must divide head_dim and the norm group";
    rows = s.rows;
  }
  // The update's first conv pass covers the x channels (Mamba2Step.cuh).
  if (rows > 4 * t.warpSize)
    return "rows " + std::to_string(rows) + " must be at most " +
           std::to_string(4 * t.warpSize) + " (the update block's threads)";
  // Lanes per state row: N / 4 float4s spread over at most a warp.
  int64_t lanes = 1;
  while (lanes * 2 <= t.warpSize && N % (4 * lanes * 2) == 0)
    lanes *= 2;

  using detail::flag;
  using detail::line;
  using detail::real;
  const std::string cfg = name + "_cfg";
  std::string src = detail::header("mamba2_step", "Mamba2Step.cuh");
  src += "namespace {\nstruct " + cfg + " {\n  using E = " + s.elem +
         ";\n  using W = " + s.weight + ";\n";
  src += line("int", "kHeads", s.heads) + line("int", "kHeadDim", P) +
         line("int", "kGroups", s.groups) + line("int", "kState", N) +
         line("int", "kConvK", s.convK) + flag("kConvSilu", s.convSilu) +
         flag("kHasConvBias", s.hasConvBias) + flag("kHasD", s.hasD) +
         flag("kHasDtBias", s.hasDtBias) + flag("kSoftplus", s.softplus) +
         real("kDtMin", s.dtMin) + flag("kHasDtMax", s.hasDtMax) +
         real("kDtMax", s.hasDtMax ? s.dtMax : 0.0) +
         line("int", "kGate", s.gate) +
         line("int", "kNormGroup", s.gate == 1 ? s.normGroup : rows) +
         (s.gate == 1 ? flag("kNormFirst", s.normFirst) + real("kEps", s.eps)
                      : std::string()) +
         line("int", "kRows", rows) + line("int", "kLanesPerRow", lanes);
  src += "};\n} // namespace\n\nBRAID_MAMBA2_STEP_ENTRIES(" + name + ", " +
         cfg + ")\n";

  plan = Plan();
  plan.source = src;
  Launch update;
  update.function = name + "_update";
  update.grid[0] = Dim::fixed(HP / rows);
  update.grid[1] = Dim::batch();
  update.grid[2] = Dim::fixed(1);
  update.block[0] = 4 * t.warpSize;
  const int64_t tileMin = s.tileMinRows > 0 ? s.tileMinRows : kStepTileMinRows;
  update.maxRows = tileMin - 1;
  Launch tile = update;
  tile.function = name + "_update_tile";
  tile.minRows = tileMin;
  tile.maxRows = INT64_MAX;
  Launch finish;
  finish.function = name + "_finish";
  const int64_t channels = std::max(s.gate == 1 ? HP : 0, 2 * s.groups * N);
  finish.grid[0] = Dim::fixed((channels + 255) / 256);
  finish.grid[1] = Dim::batch();
  finish.grid[2] = Dim::fixed(1);
  finish.block[0] = 256;
  plan.launches = {tile, finish};
  if (tileMin > 1)
    plan.launches.insert(plan.launches.begin(), update);
  // The update blocks' sums of squares, one float per block.
  if (s.gate == 1)
    plan.workspace = {0, 4 * (HP / rows), 0, 0, 1};
  return "";
}

//===----------------------------------------------------------------------===//
// selective_scan
//===----------------------------------------------------------------------===//

struct SelectiveShape {
  std::string elem = kF32, weight = kF32, state = kF32;
  int64_t inner = 0, rank = 0, stateSize = 0;
  double eps = 1e-6;
  int x = 0, xProj = 1, dtProj = 2, dtBias = 3, A = 4, gate = -1, D = -1,
      dtNorm = -1, bNorm = -1, cNorm = -1, stateIn = -1, y = 5, stateOut = -1;
};

inline std::string planSelectiveScan(const SelectiveShape &s, const Target &t,
                                     const std::string &name, Plan &plan) {
  using namespace seqlayout;
  if (s.inner < 1 || s.rank < 1 || s.stateSize < 1)
    return "d_inner, dt_rank and state_size must be positive";
  if (s.stateSize > 16 * 32)
    return "state_size above 512 is not supported";
  const int64_t tpc =
      s.stateSize <= 16 ? 1 : detail::pow2Ceil((s.stateSize + 15) / 16);
  const int64_t cpb = 4 * t.warpSize / tpc;
  const int smemElem = isBf16(s.elem) ? 2 : 4;
  (void)t;

  using detail::line;
  using detail::real;
  std::string cfg = name + "_cfg";
  std::string src = detail::header("selective_scan", "SelectiveScan.cuh");
  src += "namespace {\nstruct " + cfg + " {\n  using E = " + s.elem +
         ";\n  using W = " + s.weight + ";\n  using S = " + s.state + ";\n";
  src += line("int", "kInner", s.inner) + line("int", "kRank", s.rank) +
         line("int", "kState", s.stateSize) +
         line("int", "kLanesPerChannel", tpc) + real("kEps", s.eps) +
         line("int", "kX", s.x) + line("int", "kXProj", s.xProj) +
         line("int", "kDtProj", s.dtProj) + line("int", "kDtBias", s.dtBias) +
         line("int", "kA", s.A) + line("int", "kGate", s.gate) +
         line("int", "kD", s.D) + line("int", "kDtNorm", s.dtNorm) +
         line("int", "kBNorm", s.bNorm) + line("int", "kCNorm", s.cNorm) +
         line("int", "kStateIn", s.stateIn) + line("int", "kY", s.y) +
         line("int", "kStateOut", s.stateOut);
  src += "};\n} // namespace\n\nBRAID_SELECTIVE_SCAN_ENTRIES(" + name + ", " +
         cfg + ")\n";

  plan = Plan();
  plan.source = src;
  const int64_t width = s.rank + 2 * s.stateSize;
  Launch xproj;
  xproj.function = name + "_xproj";
  xproj.grid[0] = {0, 0, 0, 1, kSelGemmM};
  xproj.grid[1] = Dim::fixed((width + kSelGemmN - 1) / kSelGemmN);
  xproj.grid[2] = Dim::fixed(1);
  xproj.block[0] = 4 * t.warpSize;
  xproj.sharedBytes = selGemmSmemBytes(smemElem);
  Launch dt = xproj;
  dt.function = name + "_dt";
  dt.grid[1] = Dim::fixed((s.inner + kSelGemmN - 1) / kSelGemmN);
  Launch scan;
  scan.function = name + "_scan";
  scan.grid[0] = Dim::fixed((s.inner + cpb - 1) / cpb);
  scan.grid[1] = Dim::fixed(1);
  scan.grid[2] = Dim::batch();
  scan.block[0] = 4 * t.warpSize;
  scan.sharedBytes = selScanSmemBytes(int(s.stateSize), int(cpb));
  plan.launches = {xproj, dt, scan};
  plan.workspace = {16, 0, 0,
                    (selProjStride(int(s.rank), int(s.stateSize)) + s.inner) * 4, 1};
  return "";
}

} // namespace seq
} // namespace gpu
} // namespace braid

#endif // BRAID_TARGETS_COMMON_KERNELS_SEQUENCEPLANS_H
