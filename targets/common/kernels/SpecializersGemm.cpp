//===- SpecializersGemm.cpp - GPU plans of the GEMM families -------------===//
//
// linear, moe, merge: the kernels of Gemm.cuh / GemmHopper.cuh / MoE.cuh
// and the engine each launch gets (tensor-core tiles, wgmma, split-K
// clusters for decode above a few rows, the skinny kernel for decode up to
// them (skinnyMaxRows), exact fp32 FMA in validation mode). The conventions
// of every dense specializer (buffer contract, storage types) are in
// SpecializersDense.cpp's header.
//
//===----------------------------------------------------------------------===//
#include "targets/common/kernels/MoELayout.h"
#include "targets/common/kernels/SpecializersDenseSupport.h"

namespace braid::gpu::dense {

namespace {

//===----------------------------------------------------------------------===//
// GEMM engines
//===----------------------------------------------------------------------===//

/// One of the engines of Gemm.cuh with its tile constants.
struct Engine {
  enum Kind { Tc, Wg, Tma, TmaSplitK, Mf, Simt, Skinny } kind = Tc;
  int bm = 0, bn = 0, bk = 0, wm = 0, wn = 0, stages = 0; // Tc
  int tm = 0, tn = 0;                                     // Simt
  int warps = 0, cols = 0, rows = 0;                      // Skinny
  int split = 1;  // Tc, TmaSplitK: blocks (one cluster) sharing a tile's
                  // k-tiles
  int burst = 1;  // TmaSplitK: stages refilled together
  int lanes = 32; // warp (NVIDIA) or wave (AMD: 64) size
  // Tma: ping-pong on a persistent grid of perSm blocks a multiprocessor
  // (0: cooperative, a block a tile).
  int perSm = 0;
  // Tma ping-pong: each consumer finishes its tile into a slot of its own
  // (16-bit outputs in 16-byte chunks, no gated MLP), past the ring and its
  // barriers, that a producer warp stores (WsConfig's SLOTS).
  bool slots = false;

  /// The same engine for a target: on AMD (HIP) the tensor-core tiles run
  /// on MFMA with waves of 64 lanes (no cp.async ring: two LDS buffers).
  Engine on(const Target &target) const {
    Engine e = *this;
    e.lanes = target.warpSize();
    if (target.isHip() && e.kind == Tc) {
      e.kind = Mf;
      e.split = 1;
    }
    return e;
  }

  static Engine tc(int bm, int bn, int bk, int wm, int wn, int stages) {
    Engine e;
    e.kind = Tc;
    e.bm = bm, e.bn = bn, e.bk = bk, e.wm = wm, e.wn = wn, e.stages = stages;
    return e;
  }
  /// tc tiles whose k-tiles `split` blocks of a cluster share (sm_90+).
  static Engine tcSplitK(int bm, int bn, int bk, int wm, int wn, int stages,
                         int split) {
    Engine e = tc(bm, bn, bk, wm, wn, stages);
    e.split = split;
    return e;
  }
  static Engine mf(int bm, int bn, int bk, int wm, int wn) {
    Engine e = tc(bm, bn, bk, wm, wn, 2);
    e.kind = Mf;
    return e;
  }
  static Engine wg(int bm, int bn, int stages) {
    Engine e;
    e.kind = Wg;
    e.bm = bm, e.bn = bn, e.bk = 64, e.stages = stages;
    return e;
  }
  /// The warp-specialized wgmma engine with a TMA producer (GemmHopper.cuh
  /// tmaGemm): a producer warpgroup and two consumer warpgroups on 128 x bn
  /// tiles, one per block; the launch passes tensor maps of A and B.
  static Engine tma(int bn, int stages) {
    Engine e = wg(128, bn, stages);
    e.kind = Tma;
    return e;
  }
  /// tma with 128 x 128 tiles that the two consumers take in turn, one's
  /// epilogue under the other's main loop (ping-pong), on a persistent grid
  /// of `perSm` blocks a multiprocessor (the runtime caps the grid by the
  /// device's SM count) that walks the tiles with the grid's stride.
  static Engine tmaPingPong(int stages, int perSm) {
    Engine e = tma(128, stages);
    e.perSm = perSm;
    return e;
  }
  /// Decode's split-K tiles of 64 x bn on TMA and wgmma (GemmHopperSplitK.cuh
  /// tmaSplitK): a producer warp and a consumer warpgroup, `split` blocks
  /// (one cluster) a tile; the launch passes tensor maps of A and B.
  static Engine tmaSplitK(int bn, int stages, int split, int burst = 1) {
    Engine e = wg(64, bn, stages);
    e.kind = TmaSplitK;
    e.split = split;
    e.burst = burst;
    return e;
  }
  static Engine simt(int bm, int bn, int bk, int tm, int tn) {
    Engine e;
    e.kind = Simt;
    e.bm = bm, e.bn = bn, e.bk = bk, e.tm = tm, e.tn = tn;
    return e;
  }
  static Engine skinny(int warps, int cols, int rows) {
    Engine e;
    e.kind = Skinny;
    e.warps = warps, e.cols = cols, e.rows = rows;
    return e;
  }

  std::string config() const {
    auto s = [](int v) { return std::to_string(v); };
    switch (kind) {
    case Tc: {
      std::string tc = "TcConfig<" + s(bm) + ", " + s(bn) + ", " + s(bk) +
                       ", " + s(wm) + ", " + s(wn) + ", " + s(stages) + ">";
      return split > 1 ? "SplitKConfig<" + tc + ", " + s(split) + ">" : tc;
    }
    case Wg:
      return "WgConfig<" + s(bm) + ", " + s(bn) + ", " + s(stages) + ">";
    case Tma:
      if (perSm) // WsConfig<BM, BN, STAGES, PINGPONG, SETMAXNREG, TMA,
                 // CLUSTER_M, PERSISTENT, SLOTS>
        return "WsConfig<128, " + s(bn) + ", " + s(stages) +
               ", true, false, true" + (slots ? ", 1, false, true" : "") + ">";
      return "TmaConfig<" + s(bn) + ", " + s(stages) + ">";
    case TmaSplitK:
      return "TmaSplitKConfig<" + s(bn) + ", " + s(stages) + ", " + s(split) +
             (burst > 1 ? ", " + s(burst) : "") + ">";
    case Mf:
      return "MfmaConfig<" + s(bm) + ", " + s(bn) + ", " + s(bk) + ", " +
             s(wm) + ", " + s(wn) + ">";
    case Simt:
      return "SimtConfig<" + s(bm) + ", " + s(bn) + ", " + s(bk) + ", " +
             s(tm) + ", " + s(tn) + ">";
    case Skinny:
      return "SkinnyConfig<" + s(warps) + ", " + s(cols) + ", " + s(rows) + ">";
    }
    return "";
  }
  /// The whole-GEMM entry of Gemm.cuh.
  const char *gemmFn() const {
    return kind == Tc          ? (split > 1 ? "tcGemmSplitK" : "tcGemm")
           : kind == Mf        ? "mfmaGemm"
           : kind == Wg        ? "wgGemm"
           : kind == Tma       ? "tmaGemm"
           : kind == TmaSplitK ? "tmaSplitK"
           : kind == Simt      ? "simtGemm"
                               : "skinnyGemm";
  }
  int threads() const {
    switch (kind) {
    case Tc:
    case Mf:
      return wm * wn * lanes;
    case Wg:
      return bm / 64 * 128;
    case Tma: // + the producer warpgroup
      return (bm / 64 + 1) * 128;
    case TmaSplitK: // + the producer warp
      return 128 + lanes;
    case Simt:
      return (bm / tm) * (bn / tn);
    case Skinny:
      return warps * lanes;
    }
    return 0;
  }
  int64_t sharedBytes() const {
    switch (kind) {
    case Tc: { // split: the ring, later the fp32 partial tile (padded rows)
      const int64_t ring = static_cast<int64_t>(stages) * (bm + bn) * bk * 2;
      return split > 1 ? std::max<int64_t>(ring, 4LL * bm * (bn + 8)) : ring;
    }
    case Mf: // two LDS buffers, rows padded by 8 elements
      return 2LL * (bm + bn) * (bk + 8) * 2;
    case Wg: // + 1 KiB to align the ring to 1024 bytes
      return static_cast<int64_t>(stages) * (bm + bn) * bk * 2 + 1024;
    case Tma: // as Wg, + a full and an empty mbarrier per stage, 2 turns
      if (slots) // the barriers in a 1 KiB block, then two 128 x bn slots
        return static_cast<int64_t>(stages) * (bm + bn) * bk * 2 + 1024 + 1024 +
               2LL * bm * bn * 2;
      return static_cast<int64_t>(stages) * (bm + bn) * bk * 2 + 1024 +
             16 * stages + 16;
    case TmaSplitK: // the ring or the fp32 partial tile, + 1 KiB, barriers
      return std::max<int64_t>(static_cast<int64_t>(stages) * (bm + bn) * bk *
                                   2,
                               4LL * bm * (bn + 8)) +
             1024 + 16 * stages;
    case Simt:
      return 2LL * bk * (bm + bn + 2 * 4) * 4;
    case Skinny:
      return 0;
    }
    return 0;
  }
  int minBlocks() const { return 1; }
  /// Blocks of a thread-block cluster along x (1: no cluster).
  int cluster() const { return kind == Tc || kind == TmaSplitK ? split : 1; }
  /// Blocks along x (output columns) of N outputs for `m` rows. A
  /// persistent grid, along x alone: ceil((m + bm - 1) * tilesN / bm),
  /// at least the ceil(m / bm) * tilesN tiles and fewer than tilesN more
  /// (one DimExpr cannot hold the product of two ceilings; the blocks past
  /// the last tile leave at once), at most perSm blocks a multiprocessor.
  DimExpr gridX(int64_t n, const Count &m) const {
    int64_t per = kind == Skinny ? warps * cols : bn;
    const int64_t tilesN = (n + per - 1) / per;
    if (perSm) {
      DimExpr d = m.dim(bm, tilesN);
      d.constant += (bm - 1) * tilesN;
      return d.perMultiprocessor(perSm);
    }
    return DimExpr::fixed(tilesN * cluster());
  }
  /// Blocks along y (rows) for `m` rows.
  DimExpr gridY(const Count &m) const {
    if (kind == Skinny || perSm)
      return DimExpr::fixed(1);
    return m.dim(bm);
  }
};

/// The engine of a dense GEMM with N outputs for the launch's mode:
/// decode (T = 1) streams the weights with the skinny kernel; f32 runs the
/// exact SIMT kernel; bf16 takes wgmma on sm_90a (16-byte rows), loaded by
/// TMA where the caller can describe A and B as plain row-major matrices
/// (`tmaRows`: linear), mma.sync elsewhere on NVIDIA and MFMA on AMD, with
/// tiles by N.
Engine pickGemmEngine(const Launch &l, int64_t n, bool vecRows,
                      bool tmaRows = false, bool slots = false) {
  if (l.decode)
    return Engine::skinny(4, 2, 4);
  if (!l.bf16())
    return n >= 128 ? Engine::simt(128, 128, 8, 8, 8)
                    : Engine::simt(64, 64, 8, 4, 4);
  // sm_90a without TMA: one tile per block (persistent wgmma grids with
  // cp.async were 3-10% slower on an H100: test/gpu/dense_kernels_notes.md).
  // AMD: 256 threads (2 x 2 waves of 64 x 64, 16 MFMA blocks each) for
  // wide outputs; 40 KiB of LDS leaves room for two workgroups per CU.
  if (l.target.isHip())
    return n >= 256 ? Engine::mf(128, 128, 32, 2, 2)
                    : Engine::mf(64, 64, 32, 2, 2);
  // TMA: one thread requests whole tiles, so the 128 threads that issued
  // wsGemm's cp.async copies (430 TFLOP/s at 4096 x 8512 x 2048 on an H100,
  // below wgGemm's ~470, where every thread copies) are free, and the
  // consumers' registers hold the accumulators only (1.24-1.41x wgGemm).
  // Outputs of 4096 and more: a persistent grid of one block an SM whose
  // two consumers take 128 x 128 tiles in turn (ping-pong, 5 stages), one
  // storing from its registers while the other multiplies: in the
  // bamba-1.5b prefill (H200, 4000 tokens, per launch) qkv 111.6 -> 106.5
  // us, in_proj 239.6 -> 229.4, the gated MLP 283.6 -> 266.6, lm_head 805
  // -> 778; the 2048-wide outputs (their residual through the staged
  // epilogue of one tile a block) 118.9 -> 129.2, so they keep it (with
  // the residual in output slots too: 113 -> 123 us). Six stages, or the
  // persistent grid on cooperative 128 x 256 tiles, were slower
  // (docs/benchmarks.md). `slots`: the consumers finish into output slots
  // that producer warps store as whole rows (in_proj and qkv 225 -> 213
  // us a launch, H200, bamba-1.5b prefill).
  if (l.target.arch == "sm_90a" && vecRows && n >= 4096 && tmaRows) {
    Engine e = Engine::tmaPingPong(5, /*perSm=*/1);
    e.slots = slots;
    return e;
  }
  if (l.target.arch == "sm_90a" && vecRows && n >= 256 && tmaRows)
    return n >= 2048 ? Engine::tma(256, 4) : Engine::tma(128, 4);
  if (l.target.arch == "sm_90a" && vecRows && n >= 256)
    return n >= 2048 ? Engine::wg(128, 256, 4) : Engine::wg(128, 128, 4);
  if (n >= 2048)
    return Engine::tc(128, 256, 32, 2, 4, 4);
  if (n >= 256)
    return Engine::tc(128, 128, 32, 2, 4, 4);
  return Engine::tc(64, 64, 32, 2, 2, 4);
}
Engine pickGemm(const Launch &l, int64_t n, bool vecRows, bool tmaRows = false,
                bool slots = false) {
  return pickGemmEngine(l, n, vecRows, tmaRows, slots).on(l.target);
}

/// Decode GEMMs have M = B rows, known only at run time. Up to
/// skinnyMaxRows(target, tma) of them the skinny kernel streams the weights;
/// above, tensor-core tiles read them once and do the math on tensor cores.
/// The skinny kernel takes the rows 4 at a time and re-reads the weights
/// for each pass (at B = 64 ~10x slower than the tiles). On sm_90a, whose
/// decode tiles are tmaSplitK's, the whole bamba-1.5b step measured (H100,
/// CUDA graph, ms/step, docs/benchmarks.md): skinny up to 16 rows -> up to
/// 4 rows: B = 2 1.59 -> 1.59, B = 4 1.86 -> 1.86, B = 5 2.23 -> 2.04,
/// B = 8 2.84 -> 2.17, B = 16 5.00 -> 2.50; the tiles at B = 2 and 4 took
/// 2.0 ms. Elsewhere (other targets, or operands TMA cannot describe, whose
/// tiles are tcGemmSplitK's) the crossover was not measured and stays at 16
/// rows. `tma`: A and B are plain row-major matrices.
int64_t skinnyMaxRows(const Target &target, bool tma) {
  return target.arch == "sm_90a" && tma ? 4 : 16;
}

/// Whether the target runs thread-block clusters (NVIDIA sm_90 and later).
bool hasClusters(const Target &target) {
  llvm::StringRef arch = target.arch; // "sm_90a": 90
  unsigned sm = 0;
  return !target.isHip() && arch.consume_front("sm_") &&
         !arch.consumeInteger(10, sm) && sm >= 90;
}

/// Decode tensor-core tiles have this many rows: batches up to it are one
/// row of tiles, larger ones have twice the blocks or more.
constexpr int64_t kDecodeTileRows = 64;

/// Decode above skinnyMaxRows on sm_90a where A and B are plain row-major
/// matrices: tmaSplitK (GemmHopperSplitK.cuh). By the output's tiles (times the
/// row tiles, 1 up to 64 rows, 2 above): more than 256 of 64 columns
/// (lm_head; in_proj and the gated MLP at two row tiles) take unsplit
/// 64 x 128 tiles, 4 stages; more than 64 of 128 columns (in_proj's 8512,
/// the gated MLP's 11264) unsplit 64 x 64 tiles, 6 stages (a block on about
/// every SM, two fit); from 64 of 64 columns (qkv; 2048 wide at two row tiles)
/// unsplit 64 x 64 tiles with 12 stages refilled 4 at a time; 2048 wide at
/// one row tile 64 x 64 tiles, 6 stages, the k-tiles split over clusters of
/// 4 blocks (128 blocks). Above 512 tiles of 64 (lm_head at two row tiles)
/// tcGemmSplitK measured faster. Chosen from the tile shapes, splits, rings
/// and bursts dense_kernels_test times at 17 .. 128 rows, then in the model
/// (H100, docs/benchmarks.md): B = 64 decode 4.05 -> 3.97 ms a step, and
/// 3.95 -> 3.89 with the 2048-wide outputs of K >= 4096 (out_proj, down) on
/// 64 x 64 tiles rather than 64 x 128 (64 blocks: the faster alone, the
/// slower in the graph).
std::optional<Engine> decodeTmaEngine(int64_t n, int64_t k, int64_t rowTiles) {
  const int64_t tiles64 = (n + 63) / 64 * rowTiles;
  const int64_t tiles128 = (n + 127) / 128 * rowTiles, kTiles = (k + 63) / 64;
  if (tiles64 > 512)
    return std::nullopt;
  if (tiles64 > 256)
    return Engine::tmaSplitK(128, 4, 1);
  if (tiles128 > 64)
    return Engine::tmaSplitK(64, 6, 1);
  if (tiles64 >= 64 || kTiles < 16)
    return Engine::tmaSplitK(64, 12, 1, 4);
  return Engine::tmaSplitK(64, 6, 4);
}

/// The tensor-core engine of decode above skinnyMaxRows for N outputs of K
/// inputs and `rowTiles` row tiles of 64 (1: up to 64 rows, 2: above). The
/// prefill's 128 x 256 wgmma tiles would leave a 2048-wide output 8 blocks
/// to stream all the weights, and even 64 x 64 tiles are only 32 blocks for
/// 132 SMs (460-500 GB/s on an H100). With clusters (sm_90+) the k-tiles of
/// each tile are split over up to 8 blocks until the grid has about two
/// blocks per SM (>= 240), each block keeping >= 2 k-tiles of 64; outputs
/// so wide that 64 x 128 tiles split in 2 still give >= 480 blocks
/// (lm_head) take those (fewer re-reads of x per weight byte). Chosen from
/// the alternatives dense_kernels_test times at M = 17 .. 128 (H100: each
/// choice within about 1 % of the best measured for the bamba-1.5b shapes).
/// sm_80 and AMD keep the plain 64 x 64 tiles (no clusters). On sm_90a,
/// where A and B are plain matrices (`tmaRows`), decodeTmaEngine's choice
/// comes first.
Engine decodeTensorCoreEngine(const Launch &l, int64_t n, int64_t k,
                              int64_t rowTiles, bool tmaRows) {
  if (tmaRows && l.target.arch == "sm_90a")
    if (std::optional<Engine> e = decodeTmaEngine(n, k, rowTiles))
      return *e;
  if (hasClusters(l.target)) {
    const int64_t kTiles = (k + 63) / 64;
    if (kTiles >= 4 && (n + 127) / 128 * 2 * rowTiles >= 480)
      return Engine::tcSplitK(64, 128, 64, 2, 4, 4, 2);
    const int64_t tiles = (n + 63) / 64 * rowTiles;
    int split = 1;
    while (split < 8 && tiles * split < 240 && kTiles >= 4 * split)
      split *= 2;
    if (split > 1)
      return Engine::tcSplitK(64, 64, 64, 2, 2, 4, split);
  }
  return (l.target.isHip() ? Engine::mf(64, 64, 32, 2, 2)
                           : Engine::tc(64, 64, 32, 2, 2, 4))
      .on(l.target);
}

/// One kernel variant of a GEMM launch: its engine, the suffix of its
/// function name and the rows (B * T) it runs for.
struct GemmVariant {
  Engine engine;
  const char *suffix;
  int64_t minRows = 0, maxRows = INT64_MAX;
};

/// The variants of a dense GEMM with N outputs of K inputs: one engine, or
/// for bf16 decode the skinny kernel for <= skinnyMaxRows rows and tensor
/// cores above, chosen by the runtime per call (f32 decode stays skinny);
/// the tensor cores in two variants (one row tile, more) where their
/// engines differ.
llvm::SmallVector<GemmVariant, 3> gemmVariants(const Launch &l, int64_t n,
                                               int64_t k, bool vecRows,
                                               bool tmaRows = false,
                                               bool slots = false) {
  if (!l.decode || !l.bf16())
    return {{pickGemm(l, n, vecRows, tmaRows, slots), "main"}};
  const bool tma = tmaRows && vecRows;
  const Engine one = decodeTensorCoreEngine(l, n, k, 1, tma);
  const Engine more = decodeTensorCoreEngine(l, n, k, 2, tma);
  const int64_t skinnyMax = skinnyMaxRows(l.target, tma);
  const GemmVariant skinny{pickGemm(l, n, vecRows), "main", 1, skinnyMax};
  if (one.config() == more.config())
    return {skinny, {one, "tc", skinnyMax + 1, INT64_MAX}};
  return {skinny,
          {one, "tc", skinnyMax + 1, kDecodeTileRows},
          {more, "tc2", kDecodeTileRows + 1, INT64_MAX}};
}

/// Where a TMA engine finds its operands: A = buffers[a] (-1: the
/// workspace) as [M, k] rows, B = buffers[b] as [bRows, k]; a gated MLP's
/// B tile is two boxes of half the tile's columns (gate and up rows).
struct TmaOperands {
  int a = -1, b = -1;
  int64_t k = 0, bRows = 0;
  bool glu = false;
};

/// The tensor maps of tmaGemm (GemmHopper.cuh): maps[0] A in 64 x 128
/// boxes, maps[1] B in 64 x bn boxes (64 x bn / 2 for a gated MLP).
std::vector<TensorMapSpec> tmaMaps(const Engine &e, const TmaOperands &t,
                                   const Count &m) {
  TensorMapSpec a, b;
  a.buffer = t.a;
  a.rows = m.dim(1);
  a.cols = b.cols = t.k;
  a.box = {64, e.bm};
  b.buffer = t.b;
  b.rows = DimExpr::fixed(t.bRows);
  b.box = {64, t.glu ? e.bn / 2 : e.bn};
  return {a, b};
}

/// Adds the kernels of `variants` computing `ops` (a statement declaring
/// `ops`) for M = `m` rows and N = `n` outputs to `src` and `plan`.
/// `skinnyNorm`: the arguments after (ops, M) of a skinny variant that
/// normalizes its input (skinnyNormGemm), empty for the plain GEMM.
/// `tma`: the operands of a TMA engine (required when a variant has one).
void addGemmKernels(const Launch &l, Source &src, KernelPlan &plan,
                    llvm::ArrayRef<GemmVariant> variants, const Count &m,
                    int64_t n, const std::string &ops,
                    const std::string &skinnyNorm = "",
                    const TmaOperands *tma = nullptr) {
  for (const GemmVariant &v : variants) {
    const Engine &e = v.engine;
    const bool maps = e.kind == Engine::Tma || e.kind == Engine::TmaSplitK;
    assert((!maps || tma) && "a TMA engine needs its operands");
    // Decode's split-K tiles request their first weight tiles before
    // waiting for the previous kernel (programmatic dependent launch).
    const bool weightsFirst =
        l.decode &&
        ((e.kind == Engine::Tc && e.split > 1) || e.kind == Engine::TmaSplitK);
    const bool normed = e.kind == Engine::Skinny && !skinnyNorm.empty();
    std::string body =
        "  const int M = static_cast<int>(" + m.expr() + ");\n  " + ops +
        "\n  " + (normed ? "skinnyNormGemm" : e.gemmFn()) + "<" + e.config() +
        (weightsFirst && e.kind == Engine::Tc ? ", true" : "") + ">(ops, M" +
        (normed ? ", " + skinnyNorm : "") + (maps ? ", maps" : "") + ");\n";
    src.kernel(l.fn(v.suffix), e.threads(), e.minBlocks(), body, e.cluster(),
               weightsFirst, maps);
    KernelInvocation k =
        invocation(l.fn(v.suffix), e.gridX(n, m), e.gridY(m), DimExpr::fixed(1),
                   e.threads(), e.sharedBytes());
    k.minRows = v.minRows;
    k.maxRows = v.maxRows;
    if (maps)
      k.tensorMaps = tmaMaps(e, *tma, m);
    plan.invocations.push_back(std::move(k));
  }
}

/// The engine of the grouped expert GEMMs (rows per expert are few).
Engine pickGrouped(const Launch &l) {
  if (!l.bf16())
    return (l.decode ? Engine::simt(16, 64, 8, 4, 4)
                     : Engine::simt(64, 64, 8, 4, 4))
        .on(l.target);
  return (l.decode ? Engine::tc(16, 64, 32, 1, 2, 4)
                   : Engine::tc(64, 128, 32, 2, 2, 4))
      .on(l.target);
}

} // namespace

//===----------------------------------------------------------------------===//
// linear
//===----------------------------------------------------------------------===//

llvm::Expected<KernelPlan> specializeLinear(launch::KernelOp op,
                                            const Target &target,
                                            llvm::StringRef name) {
  Launch l(op, target, name);
  const Buf &x = l.in(0), &w = l.in(1), &bias = l.in(2), &y = l.out(0);
  // Epilogue fusion (passes/EpilogueFusion.h): several results are the
  // pieces of an absorbed split, a fourth operand is a residual to add.
  // With `glu`, a gated MLP: y = act(gate) * up of w = [gate; up].
  const Buf &res = l.in(3);
  // Prologue fusion (passes/PrologueFusion.h): with `norm_eps` the rows of
  // `input` are rms-normalized by a fifth operand first.
  const Buf &normW = l.in(4);
  const bool normed = static_cast<bool>(l.attr("norm_eps"));
  const float normEps =
      normed ? static_cast<float>(l.getFloat("norm_eps").value_or(0)) : 0.0f;
  // Row sums of squares (RowSumSqOps, GemmHopper.cuh): with `row_sumsq` the
  // last result is [..., ceil(N / 128)] f32, the sums of the squares of
  // each output row's stored values over each group of 128 columns, for
  // the next launch; operand 5 is such a result of the launch that wrote
  // `input`, read by a launch that folds a weightless norm.
  const bool writesSums = static_cast<bool>(l.attr("row_sumsq"));
  const Buf &inSums = l.in(5);
  llvm::SmallVector<Buf> ys(l.outs.begin(), l.outs.end());
  Buf sums;
  if (writesSums && !ys.empty()) {
    sums = ys.back();
    ys.pop_back();
  }
  const bool parts = ys.size() > 1;
  const std::string gluName = l.attr("glu") ? l.getString("glu") : "";
  const std::optional<std::string> glu =
      gluName.empty() ? std::nullopt : activationEnum(gluName);
  const int64_t gluGate =
      l.attr("glu_gate") ? l.getInt("glu_gate").value_or(-1) : 0;
  l.require(gluName.empty() || glu.has_value(),
            "attribute 'glu' is '" + gluName + "', not an activation") &&
      l.require(gluGate == 0 || gluGate == 1,
                "attribute 'glu_gate' must be 0 or 1 (the half that is the "
                "gate)") &&
      l.require(gluName.empty() || (!parts && !l.in(3).present()),
                "a 'glu' launch has one result and no residual") &&
      l.require(!writesSums || l.outs.size() == 2,
                "a 'row_sumsq' launch has one result and the row sums");
  int64_t columns = 0;
  if (l.floatBuf(x, "input") && l.floatBuf(w, "weight") &&
      l.require(!ys.empty(), "the launch has no result") &&
      l.require(w.rank() == 2, "'weight' must have rank 2") &&
      l.require(x.rank() >= 1 && x.dim(-1) == w.dim(1),
                "'input' last dim must equal 'weight' dim 1 (in_features)") &&
      l.require(x.type == w.type, "'input' and 'weight' must share a type") &&
      l.staticDims(w, w.shape(), "weight")) {
    for (auto [i, out] : llvm::enumerate(ys)) {
      std::string what = parts ? "result #" + std::to_string(i) : "result";
      if (!l.floatBuf(out, what) ||
          !l.require(out.type == y.type && out.rank() == x.rank() &&
                         out.shape().drop_back() == x.shape().drop_back(),
                     "'" + what + "' must have the type of result #0 and " +
                         "the leading dims of 'input'"))
        break;
      columns += out.dim(-1);
    }
    l.require(columns * (glu ? 2 : 1) == w.dim(0),
              glu     ? "'weight' dim 0 must be 2 x the result's last dim"
              : parts ? "the results' last dims must add up to 'weight' dim 0"
                      : "'result' last dim must equal 'weight' dim 0");
    if (bias.present())
      l.floatBuf(bias, "bias") &&
          l.require(bias.rank() == 1 && bias.dim(0) == w.dim(0),
                    "'bias' must be [out_features]");
    if (res.present())
      l.floatBuf(res, "residual") &&
          l.require(!parts, "a residual needs exactly one result") &&
          l.require(res.type == y.type && res.shape() == y.shape(),
                    "'residual' must have the type and shape of 'result'");
    // Without operand 4 the norm's weight is folded into `weight`'s
    // columns (the binding's column_scale).
    if (normed)
      l.require(normEps > 0, "attribute 'norm_eps' must be positive") &&
          (!normW.present() ||
           (l.floatBuf(normW, "norm_weight") &&
            l.require(normW.rank() == 1 && normW.dim(0) == w.dim(1),
                      "'norm_weight' must be [in_features]")));
    else
      l.require(!normW.present() && !inSums.present() && l.ins.size() <= 4,
                "operands 4 and 5 (a norm's weight, row sums) need attribute "
                "'norm_eps'");
    auto sumsShape = [&](const Buf &b, int64_t width, const std::string &what) {
      return l.floatBuf(b, what) &&
             l.require(b.type == "float" && b.rank() == x.rank() &&
                           b.shape().drop_back() == x.shape().drop_back() &&
                           b.dim(-1) == (width + 127) / 128,
                       "'" + what + "' must be f32 [leading dims of 'input', " +
                           std::to_string((width + 127) / 128) +
                           "] (one sum a 128 columns)");
    };
    if (inSums.present())
      l.require(!normW.present(), "operand 5 (row sums) needs the norm's "
                                  "weight folded (no operand 4)") &&
          sumsShape(inSums, w.dim(1), "row_sums");
    if (writesSums && sums.present())
      sumsShape(sums, columns, "row sums result");
  }
  Count m = x.present() ? countOf(x.shape().drop_back()) : Count();
  l.countOk(m, "input");
  if (!l.ok())
    return l.error();

  const int64_t N = w.dim(0), K = w.dim(1);
  Source src(l, {"Gemm.cuh"});
  std::string tb = bias.present() ? bias.type : x.type;
  std::string biasPtr =
      bias.present() ? bias.ptr() : "static_cast<const " + tb + " *>(nullptr)";
  // The operand policy with A at `a` (the input, or a normalized copy):
  // its type and its initializer's fields.
  auto opsParts =
      [&](const std::string &a) -> std::pair<std::string, std::string> {
    if (glu)
      return {"LinearGluOps<" + x.type + ", " + y.type + ", " + tb + ", " +
                  std::to_string(N / 2) + ", " + std::to_string(K) + ", " +
                  boolLit(bias.present()) + ", " + *glu + ", " +
                  boolLit(gluGate == 1) + ">",
              a + ", " + w.ptr() + ", " + biasPtr + ", " + y.ptr(false)};
    if (!parts && !res.present())
      return {"LinearOps<" + x.type + ", " + y.type + ", " + tb + ", " +
                  std::to_string(N) + ", " + std::to_string(K) + ", " +
                  boolLit(bias.present()) + ">",
              a + ", " + w.ptr() + ", " + y.ptr(false) + ", " + biasPtr};
    std::string widths, outs;
    for (const Buf &out : ys) {
      widths += ", " + std::to_string(out.dim(-1));
      outs += (outs.empty() ? "" : ", ") + out.ptr(false);
    }
    return {"LinearEpilogueOps<" + x.type + ", " + y.type + ", " + tb + ", " +
                std::to_string(K) + ", " + boolLit(bias.present()) + ", " +
                boolLit(res.present()) + widths + ">",
            a + ", " + w.ptr() + ", " + biasPtr + ", " +
                (res.present()
                     ? res.ptr()
                     : "static_cast<const " + y.type + " *>(nullptr)") +
                ", {" + outs + "}"};
  };
  // The policy's declaration, wrapped for row sums: RowNormOps reads the
  // input's (normalizing its rows in the epilogue), RowSumSqOps writes the
  // result's (GemmHopper.cuh).
  auto declare = [&](const std::string &a, bool rowNorm, bool writeSums) {
    auto [type, fields] = opsParts(a);
    if (rowNorm) {
      type = "RowNormOps<" + type + ">";
      fields = "{" + fields + "}, " + inSums.ptr() + ", " + floatLit(normEps);
    }
    if (writeSums) {
      type = "RowSumSqOps<" + type + ">";
      fields = "{" + fields + "}, " + sums.ptr(false);
    }
    return type + " ops{" + fields + "};";
  };
  KernelPlan plan;
  // A (the input, or its normalized copy in the workspace) and the weight
  // are plain row-major matrices: TMA can load them on sm_90a.
  TmaOperands tma{x.index, w.index, K, N, glu.has_value()};
  // Ping-pong tiles may finish into output slots: bf16 results whose
  // every piece is whole 16-byte chunks, not a gated MLP.
  bool slots = !glu && y.type == kBf16Type;
  for (const Buf &out : ys)
    slots = slots && out.dim(-1) % 8 == 0;
  const auto variants =
      gemmVariants(l, N, K, K % 8 == 0, /*tmaRows=*/true, slots);
  // The engines that write the row sums in their epilogue: cooperative TMA
  // tiles staging a residual (kStagesResidual, GemmHopperEpilogue.cuh),
  // bf16 results. The others run rowSumSqKernel after the GEMM.
  auto fusesSums = [&](const Engine &e) {
    return writesSums && e.kind == Engine::Tma && e.perSm == 0 &&
           res.present() && !parts && !glu && y.type == kBf16Type &&
           N % 8 == 0 && e.stages >= 3 && (K + 63) / 64 >= e.stages;
  };
  bool sumsKernel = false;
  auto addSumsAfter = [&](const GemmVariant &v) {
    if (!writesSums || fusesSums(v.engine))
      return;
    if (!sumsKernel) {
      src.text += "#include \"targets/common/kernels/Norms.cuh\"\n\n";
      src.kernel(l.fn("row_sums"), 256, 1,
                 "  rowSumSq<" + y.type + ", " + std::to_string(columns) +
                     ">(" + y.ptr() + ", " + sums.ptr(false) + ", " + m.expr() +
                     ");\n");
      sumsKernel = true;
    }
    // A (row, group) item a 16 lanes: 16 a block of 256 threads.
    KernelInvocation k =
        invocation(l.fn("row_sums"), m.dim(16, (columns + 127) / 128),
                   DimExpr::fixed(1), DimExpr::fixed(1), 256, 0);
    k.minRows = v.minRows;
    k.maxRows = v.maxRows;
    plan.invocations.push_back(std::move(k));
  };
  if (!normed) {
    for (const GemmVariant &v : variants) {
      addGemmKernels(l, src, plan, {v}, m, N,
                     declare(x.ptr(), false, fusesSums(v.engine)), "", &tma);
      addSumsAfter(v);
    }
  } else {
    // The skinny engine normalizes as it streams the rows
    // (skinnyNormGemm); the TMA engine scales its rows by the row sums of
    // operand 5 when the norm's weight is folded into the GEMM's
    // (RowNormOps). The other tile engines read rows that an rms_norm
    // kernel (Norms.cuh, as the rms_norm launch) wrote into the workspace
    // just before them, for the same rows.
    src.text += "#include \"targets/common/kernels/Norms.cuh\"\n\n";
    const bool weighted = normW.present();
    const std::string tw = weighted ? normW.type : x.type;
    const std::string gPtr =
        weighted ? normW.ptr() : "static_cast<const " + tw + " *>(nullptr)";
    const RowShape s = rowShape(
        K, std::min<int64_t>(16 / x.bytes(),
                             weighted ? 16 / normW.bytes() : 16 / x.bytes()));
    bool normKernel = false;
    for (const GemmVariant &v : variants) {
      const bool fused = fusesSums(v.engine);
      if (v.engine.kind == Engine::Skinny) {
        addGemmKernels(l, src, plan, {v}, m, N, declare(x.ptr(), false, false),
                       (weighted ? normW.ptr() : std::string("nullptr")) +
                           ", " + floatLit(normEps));
        addSumsAfter(v);
        continue;
      }
      if (v.engine.kind == Engine::Tma && inSums.present()) {
        addGemmKernels(l, src, plan, {v}, m, N, declare(x.ptr(), true, fused),
                       "", &tma);
        addSumsAfter(v);
        continue;
      }
      if (!normKernel) {
        src.kernel(
            l.fn("norm"), s.threads, 1,
            "  rowNorm<NormKind::Rms, " + x.type + ", " + tw + ", " + x.type +
                ", " + std::to_string(K) + ", 1, " + std::to_string(s.team) +
                ", " + std::to_string(s.v) + ", " + boolLit(weighted) +
                ", false>(" + x.ptr() + ", static_cast<const " + x.type +
                " *>(nullptr), " + gPtr + ", static_cast<const " + tw +
                " *>(nullptr), static_cast<" + x.type + " *>(p.workspace), " +
                m.expr() + ", " + floatLit(normEps) + ");\n");
        normKernel = true;
      }
      KernelInvocation k =
          invocation(l.fn("norm"), m.dim(s.teams()), DimExpr::fixed(1),
                     DimExpr::fixed(1), s.threads, 0);
      k.minRows = v.minRows;
      k.maxRows = v.maxRows;
      plan.invocations.push_back(std::move(k));
      TmaOperands normedTma = tma;
      normedTma.a = -1;
      addGemmKernels(l, src, plan, {v}, m, N,
                     declare("static_cast<const " + x.type + " *>(p.workspace)",
                             false, fused),
                     "", &normedTma);
      addSumsAfter(v);
    }
    if (normKernel) // the normalized rows of the tile engines
      plan.workspaceBytes = m.dim(1, K * x.bytes());
  }
  plan.source = std::move(src.text);
  plan.hot = true;
  return plan;
}

//===----------------------------------------------------------------------===//
// moe
//===----------------------------------------------------------------------===//

llvm::Expected<KernelPlan> specializeMoE(launch::KernelOp op,
                                         const Target &target,
                                         llvm::StringRef name) {
  Launch l(op, target, name);
  const Buf &x = l.in(0), &router = l.in(1), &gateUp = l.in(2),
            &down = l.in(3), &rbias = l.in(4), &sgu = l.in(5), &sdown = l.in(6);
  const Buf &y = l.out(0);
  std::string routing = l.getString("routing");
  std::string actName = l.getString("activation");
  std::optional<int64_t> E = l.getInt("num_experts"), topK = l.getInt("top_k");
  bool normalize = l.getBool("normalize_topk");
  std::optional<double> scaling = l.getFloat("routed_scaling", 1.0);
  std::optional<std::string> act = activationEnum(actName);
  bool shared = sgu.present() || sdown.present();
  if (!l.ok())
    return l.error();
  l.require(routing == "softmax_topk" || routing == "topk_softmax" ||
                routing == "sigmoid_topk",
            "routing '" + routing + "' is not supported") &&
      l.require(act.has_value(), "activation '" + actName + "' is unknown") &&
      l.floatBuf(x, "input") && l.floatBuf(router, "router") &&
      l.floatBuf(gateUp, "gate_up") && l.floatBuf(down, "down") &&
      l.floatBuf(y, "result") &&
      l.require(x.rank() == 3, "'input' must be [batch, seq, hidden]") &&
      l.require(router.rank() == 2 && gateUp.rank() == 3 && down.rank() == 3,
                "'router' must have rank 2, 'gate_up' and 'down' rank 3") &&
      l.require(*topK >= 1 && *topK <= *E && *topK <= 32,
                "top_k must be in [1, min(num_experts, 32)]") &&
      l.require(router.dim(0) == *E && gateUp.dim(0) == *E &&
                    down.dim(0) == *E,
                "expert dims must equal num_experts") &&
      l.require(router.dim(1) == x.dim(2) && gateUp.dim(2) == x.dim(2) &&
                    down.dim(1) == x.dim(2),
                "hidden dims of router / gate_up / down must match 'input'") &&
      l.require(gateUp.dim(1) == 2 * down.dim(2),
                "'gate_up' dim 1 must be 2 * expert_dim") &&
      l.require(x.type == gateUp.type && x.type == down.type &&
                    x.type == router.type,
                "'input' and the expert weights must share a type");
  if (l.ok() && rbias.present())
    l.floatBuf(rbias, "router_bias") &&
        l.require(rbias.rank() == 1 && rbias.dim(0) == *E,
                  "'router_bias' must be [num_experts]");
  if (l.ok() && shared)
    l.floatBuf(sgu, "shared_gate_up") && l.floatBuf(sdown, "shared_down") &&
        l.require(sgu.rank() == 2 && sdown.rank() == 2 &&
                      sgu.dim(1) == x.dim(2) && sdown.dim(0) == x.dim(2) &&
                      sgu.dim(0) == 2 * sdown.dim(1),
                  "shared expert must be [2 * shared_dim, hidden] and "
                  "[hidden, shared_dim]");
  Count tokens = x.present() ? countOf(x.shape().drop_back()) : Count();
  l.countOk(tokens, "input");
  if (l.ok())
    l.staticDims(gateUp, gateUp.shape(), "gate_up") &&
        l.staticDims(down, down.shape(), "down") &&
        l.require(x.dim(2) >= 0, "'input' hidden must be static");
  if (!l.ok())
    return l.error();

  const int64_t H = x.dim(2), FF = down.dim(2), SFF = shared ? sdown.dim(1) : 0;
  const int64_t k = *topK, nE = *E;
  const std::string T = x.type;
  const std::string S = [](int64_t v) { return std::to_string(v); }(0);
  auto str = [](int64_t v) { return std::to_string(v); };
  const std::string routingEnum =
      routing == "softmax_topk"   ? "Routing::SoftmaxTopk"
      : routing == "topk_softmax" ? "Routing::TopkSoftmax"
                                  : "Routing::SigmoidTopk";

  Engine rEng = (l.decode ? Engine::skinny(4, 2, 4)
                          : (l.bf16() ? Engine::tc(64, 64, 32, 2, 2, 4)
                                      : Engine::simt(64, 64, 8, 4, 4)))
                     .on(l.target);
  Engine gEng = pickGrouped(l);
  // Shared expert: the plain engines (GatedUpOps / LinearOps), not wgmma.
  Engine sEng = pickGemm(l, 2 * SFF, false);
  Engine sdEng = pickGemm(l, H, false);

  Source src(l, {"MoE.cuh"});
  const std::string prologue =
      "  const int tokens = static_cast<int>(" + tokens.expr() + ");\n" +
      "  const braid::moe::Layout L = braid::moe::layout(tokens, " + str(nE) +
      ", " + str(k) + ", " + str(H) + ", " + str(FF) + ", " + str(SFF) +
      ", sizeof(" + T + "));\n  void *ws = p.workspace;\n  (void)L; (void)ws;\n";
  auto wsp = [](const std::string &type, const char *seg) {
    return "wsAt<" + type + ">(ws, L." + seg + ")";
  };

  KernelPlan plan;
  plan.hot = true;

  // 1. Router logits (fp32).
  {
    std::string ops = "LinearOps<" + T + ", float, " +
                      (rbias.present() ? rbias.type : T) + ", " + str(nE) +
                      ", " + str(H) + ", " + boolLit(rbias.present()) + "> ops{" +
                      x.ptr() + ", " + router.ptr() + ", " +
                      wsp("float", "logits") + ", " +
                      (rbias.present() ? rbias.ptr()
                                       : "static_cast<const " + T +
                                             " *>(nullptr)") +
                      "};\n";
    std::string call = rEng.kind == Engine::Skinny
                           ? "  skinnyGemm<" + rEng.config() + ">(ops, tokens);\n"
                           : "  gemmGrid<" + rEng.config() + ">(ops, tokens);\n";
    src.kernel(l.fn("router"), rEng.threads(), 1, prologue + "  " + ops + call);
    plan.invocations.push_back(
        invocation(l.fn("router"), rEng.gridX(nE, tokens), rEng.gridY(tokens),
                   DimExpr::fixed(1), rEng.threads(), rEng.sharedBytes()));
  }
  // 2. Top-k.
  {
    std::string body = prologue + "  moeTopK<" + str(nE) + ", " + str(k) + ", " +
                       routingEnum + ", " + boolLit(normalize) + ">(" +
                       wsp("float", "logits") + ", " + wsp("int", "topIdx") +
                       ", " + wsp("float", "topW") + ", tokens, " +
                       floatLit(static_cast<float>(*scaling)) + ");\n";
    src.kernel(l.fn("topk"), 256, 1, body);
    plan.invocations.push_back(invocation(l.fn("topk"), tokens.dim(8),
                                          DimExpr::fixed(1), DimExpr::fixed(1),
                                          256, 0));
  }
  // 3. Plan.
  {
    std::string body = prologue + "  moePlan<" + str(nE) + ", " + str(k) + ", " +
                       str(gEng.bm) + ">(" + wsp("const int", "topIdx") + ", " +
                       wsp("const float", "topW") + ", tokens, " +
                       wsp("int", "offsets") + ", " + wsp("int", "tiles") + ", " +
                       wsp("int", "sortedTok") + ", " + wsp("int", "sortedSlot") +
                       ", " + wsp("float", "sortedW") + ");\n";
    src.kernel(l.fn("plan"), 1024, 1, body);
    plan.invocations.push_back(invocation(l.fn("plan"), DimExpr::fixed(1),
                                          DimExpr::fixed(1), DimExpr::fixed(1),
                                          1024, 0));
  }
  // Tiles of the grouped GEMMs: ceil((tokens * k + E * BM) / BM).
  DimExpr tilesY = tokens.dim(gEng.bm, k);
  tilesY.constant += nE * gEng.bm;
  // 4. Grouped gate_up with act(gate) * up.
  {
    std::string body = prologue + "  moeGateUp<" + gEng.config() + ", " + T +
                       ", " + str(H) + ", " + str(FF) + ", " + *act + ">(" +
                       x.ptr() + ", " + gateUp.ptr() + ", " +
                       wsp("const int", "offsets") + ", " +
                       wsp("const int", "tiles") + ", " +
                       wsp("const int", "sortedTok") + ", " + wsp(T, "mid") +
                       ");\n";
    src.kernel(l.fn("gateup"), gEng.threads(), 1, body);
    plan.invocations.push_back(invocation(
        l.fn("gateup"), DimExpr::fixed((2 * FF + gEng.bn - 1) / gEng.bn),
        tilesY, DimExpr::fixed(1), gEng.threads(), gEng.sharedBytes()));
  }
  // 5. Grouped down, weighted, into the slots.
  {
    std::string body = prologue + "  moeDown<" + gEng.config() + ", " + T +
                       ", " + str(H) + ", " + str(FF) + ">(" +
                       wsp("const " + T, "mid") + ", " + down.ptr() + ", " +
                       wsp("const int", "offsets") + ", " +
                       wsp("const int", "tiles") + ", " +
                       wsp("const int", "sortedSlot") + ", " +
                       wsp("const float", "sortedW") + ", " +
                       wsp("float", "slotOut") + ");\n";
    src.kernel(l.fn("down"), gEng.threads(), 1, body);
    plan.invocations.push_back(invocation(
        l.fn("down"), DimExpr::fixed((H + gEng.bn - 1) / gEng.bn), tilesY,
        DimExpr::fixed(1), gEng.threads(), gEng.sharedBytes()));
  }
  // 6.-7. Shared expert.
  if (shared) {
    std::string ops1 = "GatedUpOps<" + T + ", " + str(H) + ", " + str(SFF) +
                       ", " + *act + ", false> ops{" + x.ptr() +
                       ", nullptr, " + sgu.ptr() + ", " + wsp(T, "smid") +
                       "};\n";
    std::string call1 =
        sEng.kind == Engine::Skinny
            ? "  skinnyGemm<" + sEng.config() + ">(ops, tokens);\n"
            : "  gemmGrid<" + sEng.config() + ">(ops, tokens);\n";
    src.kernel(l.fn("sgateup"), sEng.threads(), 1, prologue + "  " + ops1 + call1);
    plan.invocations.push_back(invocation(
        l.fn("sgateup"), sEng.gridX(2 * SFF, tokens), sEng.gridY(tokens),
        DimExpr::fixed(1), sEng.threads(), sEng.sharedBytes()));

    std::string ops2 = "LinearOps<" + T + ", float, " + T + ", " + str(H) +
                       ", " + str(SFF) + ", false> ops{" +
                       wsp("const " + T, "smid") + ", " + sdown.ptr() + ", " +
                       wsp("float", "sharedOut") + ", static_cast<const " + T +
                       " *>(nullptr)};\n";
    std::string call2 =
        sdEng.kind == Engine::Skinny
            ? "  skinnyGemm<" + sdEng.config() + ">(ops, tokens);\n"
            : "  gemmGrid<" + sdEng.config() + ">(ops, tokens);\n";
    src.kernel(l.fn("sdown"), sdEng.threads(), 1, prologue + "  " + ops2 + call2);
    plan.invocations.push_back(
        invocation(l.fn("sdown"), sdEng.gridX(H, tokens), sdEng.gridY(tokens),
                   DimExpr::fixed(1), sdEng.threads(), sdEng.sharedBytes()));
  }
  // 8. Combine.
  {
    std::string body = prologue + "  moeCombine<" + y.type + ", " + str(H) +
                       ", " + str(k) + ", " + boolLit(shared) + ">(" +
                       wsp("const float", "slotOut") + ", " +
                       wsp("const float", "sharedOut") + ", " + y.ptr(false) +
                       ", tokens);\n";
    src.kernel(l.fn("combine"), 256, 1, body);
    int64_t v = H % 4 == 0 ? 4 : 1;
    plan.invocations.push_back(invocation(l.fn("combine"),
                                          tokens.dim(256 * 4, H / v),
                                          DimExpr::fixed(1), DimExpr::fixed(1),
                                          256, 0));
  }
  (void)S;
  moe::LinearSize ws = moe::linearSize(nE, k, H, FF, SFF, x.bytes());
  plan.workspaceBytes = tokens.dim(1, ws.perToken);
  plan.workspaceBytes.constant += ws.constant;
  plan.source = std::move(src.text);
  return plan;
}

//===----------------------------------------------------------------------===//
// merge
//===----------------------------------------------------------------------===//

llvm::Expected<KernelPlan> specializeMerge(launch::KernelOp op,
                                           const Target &target,
                                           llvm::StringRef name) {
  Launch l(op, target, name);
  const Buf &y = l.out(0);
  std::string mode = l.getString("mode");
  bool weighted = mode == "concat_proj" || mode == "attention";
  l.require(mode == "sum" || mode == "mean" || weighted,
            "mode '" + mode + "' is not a merge mode");
  // Branches, then the weight (last operand; trailing absent ones dropped).
  size_t count = l.ins.size();
  while (count > 0 && !l.ins[count - 1].present())
    --count;
  Buf w;
  if (weighted && count > 0)
    w = l.ins[--count];
  llvm::SmallVector<Buf> branches(l.ins.begin(), l.ins.begin() + count);
  std::vector<double> mult(branches.size(), 1.0);
  if (auto m = llvm::dyn_cast_or_null<mlir::DenseF64ArrayAttr>(
          l.attr("multipliers"))) {
    l.require(!weighted, "'multipliers' apply to sum and mean only") &&
        l.require(m.size() == static_cast<int64_t>(branches.size()),
                  "'multipliers' must have one entry per branch");
    if (l.ok())
      mult.assign(m.asArrayRef().begin(), m.asArrayRef().end());
  }
  l.require(!branches.empty(), "needs at least one branch") &&
      l.floatBuf(y, "result") &&
      l.require(y.rank() >= 1 && y.dim(-1) >= 0, "'result' last dim must be static");
  for (size_t i = 0; i < branches.size() && l.ok(); ++i)
    l.floatBuf(branches[i], "branch #" + std::to_string(i)) &&
        l.require(branches[i].shape() == y.shape() &&
                      branches[i].type == branches[0].type,
                  "branch #" + std::to_string(i) +
                      " must have the result's shape and the first branch's "
                      "type");
  const int64_t H = l.ok() ? y.dim(-1) : 0;
  const int64_t nb = static_cast<int64_t>(branches.size());
  if (l.ok() && mode == "concat_proj")
    l.floatBuf(w, "weight") &&
        l.require(w.rank() == 2 && w.dim(0) == H && w.dim(1) == nb * H,
                  "'weight' must be [hidden, branches * hidden]") &&
        l.require(w.type == branches[0].type, "'weight' must share the branches' type");
  if (l.ok() && mode == "attention")
    l.floatBuf(w, "weight") &&
        l.require(w.rank() == 1 && w.dim(0) == H, "'weight' must be [hidden]");
  Count n = y.present() ? countOf(y.shape()) : Count();
  Count rows = y.present() ? countOf(y.shape().drop_back()) : Count();
  l.countOk(n, "result");
  if (!l.ok())
    return l.error();
  auto str = [](int64_t x) { return std::to_string(x); };
  const std::string T = branches[0].type;

  KernelPlan plan;
  std::string brDecl = "  const " + T + " *br[" + str(nb) + "] = {";
  for (int64_t i = 0; i < nb; ++i)
    brDecl += (i ? ", " : "") + branches[i].ptr();
  brDecl += "};\n";

  if (mode == "concat_proj") {
    Source src(l, {"Gemm.cuh"});
    std::string ops = "ConcatProjOps<" + T + ", " + y.type + ", " + str(H) +
                      ", " + str(nb) + "> ops{{";
    for (int64_t i = 0; i < nb; ++i)
      ops += (i ? ", " : "") + branches[i].ptr();
    ops += "}, " + w.ptr() + ", " + y.ptr(false) + "};";
    addGemmKernels(l, src, plan, gemmVariants(l, H, H * nb, H % 8 == 0), rows,
                   H, ops);
    plan.source = std::move(src.text);
    plan.hot = true;
    return plan;
  }
  int64_t limit = std::min<int64_t>(16 / y.bytes(), 16 / branches[0].bytes());
  if (w.present())
    limit = std::min<int64_t>(limit, 16 / w.bytes());
  if (mode == "attention") {
    RowShape s = rowShape(H, limit);
    Source src(l, {"Structure.cuh"});
    std::string body = brDecl + "  mergeAttention<" + str(nb) + ", " + str(H) +
                       ", " + str(s.team) + ", " + str(s.v) + ">(br, " +
                       w.ptr() + ", " + y.ptr(false) + ", " + rows.expr() +
                       ");\n";
    src.kernel(l.fn("main"), s.threads, 1, body);
    plan.source = std::move(src.text);
    plan.invocations.push_back(invocation(l.fn("main"), rows.dim(s.teams()),
                                          DimExpr::fixed(1), DimExpr::fixed(1),
                                          s.threads, 0));
    return plan;
  }
  // sum / mean.
  int64_t v = vecWidth(n.factor, limit);
  float meanScale = mode == "mean" ? 1.0f / static_cast<float>(nb) : 1.0f;
  std::string body = brDecl + "  " + y.type + " *y = " + y.ptr(false) +
                     ";\n  elementMap<" + str(v) + ">(" + n.expr() +
                     ", [&](int64_t i) {\n    float s[" + str(v) + "] = {};\n";
  for (int64_t i = 0; i < nb; ++i)
    body += "    addScaled<" + str(v) + ">(s, br[" + str(i) + "] + i, " +
            floatLit(static_cast<float>(mult[i])) + ");\n";
  body += "    for (int j = 0; j < " + str(v) + "; ++j)\n      s[j] = s[j] * " +
          floatLit(meanScale) + ";\n    storeVec<" + str(v) +
          ">(y + i, s);\n  });\n";
  Source src(l, {"Structure.cuh"});
  src.kernel(l.fn("main"), kMapThreads, 1, body);
  plan.source = std::move(src.text);
  plan.invocations.push_back(
      invocation(l.fn("main"), mapBlocks(n, kMapThreads * v * kMapItems),
                 DimExpr::fixed(1), DimExpr::fixed(1), kMapThreads, 0));
  return plan;
}

} // namespace braid::gpu::dense
