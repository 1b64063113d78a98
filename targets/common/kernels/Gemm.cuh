//===- Gemm.cuh - the matrix engine of the dense kernel families ----------===//
//
// C[m, n] = sum_k A[m, k] * B[n, k], followed by an epilogue: rows of A times
// rows of B, the layout of every braid projection (x [M, K] row-major, weights
// [N, K] row-major). N and K are compile-time constants of the specialized
// kernel; M (B*T, or an expert's share of the tokens) comes at run time.
//
// Three engines share one operand interface (the "Ops" policy below):
//
//   * tcGemm (NVIDIA) / mfmaGemm (AMD): matrix units (mma.sync m16n8k16 or
//     v_mfma_f32_16x16x16_bf16, bf16 in, fp32 accumulate). tcGemm:
//     A block computes a BM x BN tile with WARPS_M x WARPS_N warps; A and B
//     tiles (BK deep) stream through a STAGES-deep ring of shared memory
//     filled by cp.async, with an XOR swizzle of 16-byte chunks so that the
//     ldmatrix fragment loads are free of bank conflicts. Blocks are
//     rasterized in groups of 8 row tiles so that concurrent blocks share A
//     and B in L2.
//   * tcGemmSplitK (NVIDIA sm_90+, decode): the tcGemm main loop with the
//     k-tiles of a tile split over the blocks of a thread-block cluster,
//     partial tiles summed through distributed shared memory, so that a
//     narrow output still spreads its weights over every SM (on sm_90a,
//     where A and B are plain matrices, GemmHopperSplitK.cuh's tmaSplitK
//     does the same on TMA and wgmma).
//   * simtGemm: fp32 FMA (validation mode), register-tiled TM x TN outputs per
//     thread from k-major shared tiles, double-buffered through registers.
//   * skinnyGemm (GemmSkinny.cuh, included at the end): few rows (decode,
//     M = B): one warp per COLS output columns streams its rows of B once
//     with 16-byte loads and dots them with every row of A; warp-shuffle
//     reductions; memory-bound by design.
//
// The Ops policy (one per use: linear, linear with a fused epilogue, MoE
// gather/scatter, merge concat_proj):
//   using T;                         element type of A and B
//   static constexpr int N, K;
//   static constexpr bool kVecA, kVecB;  16-byte chunks of A / B rows are
//                                    aligned and never straddle a row end
//   using ARef; ARef aRow(int m);    per-row handle of A
//   const T *aAt(ARef, int k);       address of A[m, k]
//   const T *bRow(int n);            address of B[n, 0] (B[n, k] = bRow(n)[k])
//   void store(int m, int n, float); epilogue of one element
//   void store2(int m, int n, float, float);  of n and n + 1 (n even)
// Rows m < mEnd and columns n < N only are ever passed to the epilogue.
//
// Base pointers must be 16-byte aligned (the runtime's allocations and the
// arena plan's offsets are); row strides are K elements.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_GEMM_CUH
#define BRAID_TARGETS_COMMON_KERNELS_GEMM_CUH

#include "targets/common/kernels/DenseCommon.cuh"

#include <utility>

namespace braid {
namespace dev {

//===----------------------------------------------------------------------===//
// Operand policies
//===----------------------------------------------------------------------===//

/// y[m, :] = x[m, :] @ w^T (+ bias): linear.
template <typename T_, typename TOut, typename TBias, int N_, int K_,
          bool HasBias>
struct LinearOps {
  using T = T_;
  static constexpr int N = N_, K = K_;
  static constexpr bool kVecA = (K % Vec16<T>::N) == 0;
  static constexpr bool kVecB = kVecA;
  using ARef = const T *;

  const T *x;
  const T *w;
  TOut *y;
  const TBias *bias;

  BRAID_DEVICE ARef aRow(int m) const { return x + static_cast<int64_t>(m) * K; }
  BRAID_DEVICE const T *aAt(ARef r, int k) const { return r + k; }
  BRAID_DEVICE const T *bRow(int n) const {
    return w + static_cast<int64_t>(n) * K;
  }
  BRAID_DEVICE float biasAt(int n) const {
    if constexpr (HasBias)
      return toFloat(bias[n]);
    else
      return 0.0f;
  }
  BRAID_DEVICE TOut *at(int m, int n) const {
    return y + static_cast<int64_t>(m) * N + n;
  }
  BRAID_DEVICE void store(int m, int n, float v) const {
    y[static_cast<int64_t>(m) * N + n] = fromFloat<TOut>(v + biasAt(n));
  }
  BRAID_DEVICE void store2(int m, int n, float v0, float v1) const {
    storePair(y + static_cast<int64_t>(m) * N + n, v0 + biasAt(n),
              v1 + biasAt(n + 1), N % 2 == 0);
  }
};

/// linear with its consumer's work in the epilogue (passes/EpilogueFusion.h):
/// the columns go to one buffer per piece of the split it absorbed (widths
/// W..., each buffer its own row stride), and with HasRes (one piece) the
/// residual [M, N] is added. The GEMM value is rounded to TOut before the
/// residual is added, as the separate add kernel read it: the same bits.
template <typename T_, typename TOut, typename TBias, int K_, bool HasBias,
          bool HasRes, int... W>
struct LinearEpilogueOps {
  using T = T_;
  static constexpr int kParts = sizeof...(W);
  static constexpr int N = (W + ... + 0), K = K_;
  static constexpr bool kVecA = (K % Vec16<T>::N) == 0;
  static constexpr bool kVecB = kVecA;
  /// Even widths: a pair (n, n + 1) with n even never straddles two pieces
  /// and is aligned to its size in its piece.
  static constexpr bool kEvenParts = ((W % 2 == 0) && ...);
  /// Widths of whole 16-byte chunks (8 16-bit values): a chunk of 8
  /// columns from a multiple of 8 lies in one piece.
  static constexpr bool kChunkedParts = ((W % 8 == 0) && ...);
  static_assert(!HasRes || kParts == 1, "a residual has one result");
  using ARef = const T *;

  const T *x;
  const T *w;
  const TBias *bias;
  const TOut *residual;
  TOut *y[kParts];

  BRAID_DEVICE ARef aRow(int m) const { return x + static_cast<int64_t>(m) * K; }
  BRAID_DEVICE const T *aAt(ARef r, int k) const { return r + k; }
  BRAID_DEVICE const T *bRow(int n) const {
    return w + static_cast<int64_t>(n) * K;
  }
  BRAID_DEVICE float biasAt(int n) const {
    if constexpr (HasBias)
      return toFloat(bias[n]);
    else
      return 0.0f;
  }
  /// The address of output column n of row m. The fold expands to one
  /// compare per piece with constant widths (no local-memory array).
  BRAID_DEVICE TOut *at(int m, int n) const {
    TOut *base = y[0];
    int off = n, width = N, start = 0, p = 0;
    ((n >= start ? (base = y[p], off = n - start, width = W) : 0,
      start += W, ++p),
     ...);
    return base + static_cast<int64_t>(m) * width + off;
  }
  BRAID_DEVICE float finish(int m, int n, float v) const {
    v += biasAt(n);
    if constexpr (HasRes)
      v = toFloat(fromFloat<TOut>(v)) +
          toFloat(residual[static_cast<int64_t>(m) * N + n]);
    return v;
  }
  BRAID_DEVICE void store(int m, int n, float v) const {
    *at(m, n) = fromFloat<TOut>(finish(m, n, v));
  }
  BRAID_DEVICE void store2(int m, int n, float v0, float v1) const {
    if constexpr (kEvenParts) {
      storePair(at(m, n), finish(m, n, v0), finish(m, n + 1, v1), true);
    } else {
      store(m, n, v0);
      store(m, n + 1, v1);
    }
  }
  /// The residual pair (n, n + 1) of row m (n even) read ahead of the
  /// stores, for engines that batch these reads (GemmHopper.cuh): the
  /// result may be the residual's own buffer, so the compiler cannot move a
  /// read above an earlier store, and each store2 above waits for its read.
  static constexpr bool kEpilogueLoads = HasRes && kEvenParts;
  /// The pair as stored (half the registers of floats for 16-bit types;
  /// aligned to its size, so that a staged tile reads it in one access).
  struct alignas(2 * sizeof(TOut)) Loaded {
    TOut a, b;
  };
  BRAID_DEVICE const TOut *residualAt(int m, int n) const {
    return residual + static_cast<int64_t>(m) * N + n;
  }
  BRAID_DEVICE Loaded load2(int m, int n) const {
    const TOut *p = residualAt(m, n);
    return {p[0], p[1]};
  }
  /// The output pair (n, n + 1) from its GEMM values and residual pair `r`,
  /// as store2(..., Loaded) writes it.
  BRAID_DEVICE Loaded finish2(int n, float v0, float v1, Loaded r) const {
    return {fromFloat<TOut>(toFloat(fromFloat<TOut>(v0 + biasAt(n))) +
                            toFloat(r.a)),
            fromFloat<TOut>(toFloat(fromFloat<TOut>(v1 + biasAt(n + 1))) +
                            toFloat(r.b))};
  }
  /// store2 with the residual pair `r` read by load2 (the same bits).
  BRAID_DEVICE void store2(int m, int n, float v0, float v1, Loaded r) const {
    *reinterpret_cast<Loaded *>(at(m, n)) = finish2(n, v0, v1, r);
  }
};

/// y[m, j] = act(h[m, j]) * h[m, I + j], h = x @ w^T (+ bias) with w =
/// [gate; up] ([2I, K]): a dense gated MLP's gate/up GEMM with the split,
/// activation and mul in the epilogue (GateSecond: w = [up; gate], as
/// exports that concatenate up first have it). Virtual B row 2j is gate row
/// j and 2j + 1 up row j (the engines fetch B rows by pointer, so the
/// interleave costs nothing at load), so store2 gets (gate_j, up_j) in one
/// thread. Each value is rounded to TOut where the unfused kernels stored it.
template <typename T_, typename TOut, typename TBias, int I, int K_,
          bool HasBias, Act A, bool GateSecond = false>
struct LinearGluOps {
  static constexpr int kGate = GateSecond ? I : 0, kUp = GateSecond ? 0 : I;
  using T = T_;
  static constexpr int N = 2 * I, K = K_;
  static constexpr bool kVecA = (K % Vec16<T>::N) == 0;
  static constexpr bool kVecB = kVecA;
  using ARef = const T *;

  const T *x;
  const T *w;
  const TBias *bias;
  TOut *y;

  BRAID_DEVICE ARef aRow(int m) const { return x + static_cast<int64_t>(m) * K; }
  BRAID_DEVICE const T *aAt(ARef r, int k) const { return r + k; }
  BRAID_DEVICE const T *bRow(int v) const {
    const int row = ((v & 1) ? kUp : kGate) + (v >> 1);
    return w + static_cast<int64_t>(row) * K;
  }
  BRAID_DEVICE static float round(float v) {
    return toFloat(fromFloat<TOut>(v));
  }
  BRAID_DEVICE void store(int, int, float) const {} // N is even: unused
  BRAID_DEVICE float gated(int j, float g, float u) const {
    if constexpr (HasBias) {
      g += toFloat(bias[kGate + j]);
      u += toFloat(bias[kUp + j]);
    }
    return round(activate<A>(round(g))) * round(u);
  }
  BRAID_DEVICE void store2(int m, int n, float g, float u) const {
    const int j = n >> 1;
    y[static_cast<int64_t>(m) * I + j] = fromFloat<TOut>(gated(j, g, u));
  }
  /// Outputs j and j + 1 of row m (j even) from their gate and up sums in
  /// one store where the pair is aligned (an engine whose thread holds
  /// both: tmaGemm's halves epilogue).
  BRAID_DEVICE void storeGluPair(int m, int j, float g0, float u0, float g1,
                                 float u1) const {
    storePair(y + static_cast<int64_t>(m) * I + j, gated(j, g0, u0),
              gated(j + 1, g1, u1), I % 2 == 0);
  }
};

/// y = concat(branch_0 .. branch_{NB-1}, -1) @ w^T without the concat:
/// merge concat_proj. Branches are [M, H], w is [H, NB * H].
template <typename T_, typename TOut, int H, int NB> struct ConcatProjOps {
  using T = T_;
  static constexpr int N = H, K = H * NB;
  static constexpr bool kVecA = (H % Vec16<T>::N) == 0;
  static constexpr bool kVecB = (K % Vec16<T>::N) == 0;
  using ARef = int64_t; // m * H

  const T *branch[NB];
  const T *w;
  TOut *y;

  BRAID_DEVICE ARef aRow(int m) const { return static_cast<int64_t>(m) * H; }
  BRAID_DEVICE const T *aAt(ARef r, int k) const {
    // Select the branch with constant indices only (no local-memory array).
    const T *base = branch[0];
    int off = k;
#pragma unroll
    for (int b = 1; b < NB; ++b)
      if (k >= b * H) {
        base = branch[b];
        off = k - b * H;
      }
    return base + r + off;
  }
  BRAID_DEVICE const T *bRow(int n) const {
    return w + static_cast<int64_t>(n) * K;
  }
  BRAID_DEVICE void store(int m, int n, float v) const {
    y[static_cast<int64_t>(m) * N + n] = fromFloat<TOut>(v);
  }
  BRAID_DEVICE void store2(int m, int n, float v0, float v1) const {
    storePair(y + static_cast<int64_t>(m) * N + n, v0, v1, N % 2 == 0);
  }
};

//===----------------------------------------------------------------------===//
// Block rasterization
//===----------------------------------------------------------------------===//

/// Maps the linear block id of a (tilesN x tilesM) grid to (tile m, tile n)
/// so that groups of `Group` row tiles run together (A and B reuse in L2).
template <int Group>
BRAID_DEVICE void rasterizeId(int pid, int tilesN, int tilesM, int &tm,
                              int &tn) {
  const int perGroup = Group * tilesN;
  const int group = pid / perGroup;
  const int firstM = group * Group;
  const int size = min(tilesM - firstM, Group);
  const int local = pid - group * perGroup;
  tm = firstM + local % size;
  tn = local / size;
}
template <int Group>
BRAID_DEVICE void rasterize(int tilesN, int tilesM, int &tm, int &tn) {
  rasterizeId<Group>(blockIdX() + blockIdY() * gridDimX(), tilesN, tilesM, tm,
                     tn);
}

#if defined(BRAID_HIP)
//===----------------------------------------------------------------------===//
// MFMA GEMM (AMD CDNA: bf16 / f16 in, fp32 accumulate)
//===----------------------------------------------------------------------===//
//
// A block computes a BM x BN tile with WAVES_M x WAVES_N waves of 64 lanes;
// each wave owns a (BM / WAVES_M) x (BN / WAVES_N) tile of 16 x 16 MFMA
// blocks. CDNA has no asynchronous global->LDS copy, so the next k-tile is
// fetched into registers (16-byte loads) before the MFMAs of the current
// one are issued, and written to the other LDS buffer after them: the
// global latency hides behind the matrix work. LDS rows are padded by 16
// bytes so that the 8-byte fragment reads of 16 consecutive rows spread
// over the banks. Products are issued transposed (WarpTile.cuh): lane l
// ends with row l % 16 and columns 4 * (l / 16) .. +3 of each block.

template <int BM_, int BN_, int BK_, int WAVES_M_, int WAVES_N_>
struct MfmaConfig {
  static constexpr int BM = BM_, BN = BN_, BK = BK_;
  static constexpr int WAVES_M = WAVES_M_, WAVES_N = WAVES_N_;
  static constexpr int kThreads = WAVES_M * WAVES_N * kWarpSize;
  static constexpr int WM = BM / WAVES_M, WN = BN / WAVES_N;
  static constexpr int MI = WM / MmaShape::M, NI = WN / MmaShape::N;
  static constexpr int CPR = BK / 8;  // 16-byte chunks per tile row
  static constexpr int LD = BK + 8;   // padded LDS row (elements)
  static constexpr int kSharedBytes = 2 * (BM + BN) * LD * 2;
  static constexpr int AC = ceilDiv(BM * CPR, kThreads);
  static constexpr int BC = ceilDiv(BN * CPR, kThreads);
  static_assert(BK % 16 == 0, "BK must be a multiple of the MFMA depth");
  static_assert(WM % 16 == 0 && WN % 16 == 0, "wave tile must be 16-aligned");
  static_assert(kSharedBytes <= 64 * 1024, "CDNA LDS: 64 KiB per workgroup");
};

template <typename T>
BRAID_DEVICE void mfmaAcc(float (&d)[4], const T *x, const T *y) {
  mfmaF32x4 c = {d[0], d[1], d[2], d[3]};
  if constexpr (std::is_same<T, bf16>::value)
    c = mfmaBf16_16x16x16(*reinterpret_cast<const mfmaBf16x4 *>(x),
                          *reinterpret_cast<const mfmaBf16x4 *>(y), c);
  else
    c = mfmaF16_16x16x16(*reinterpret_cast<const mfmaF16x4 *>(x),
                         *reinterpret_cast<const mfmaF16x4 *>(y), c);
  d[0] = c[0];
  d[1] = c[1];
  d[2] = c[2];
  d[3] = c[3];
}

/// The MFMAs of one k-tile: a and b point at this lane's fragment row of
/// the wave's first A and B block in LDS.
template <class Cfg, typename T>
BRAID_DEVICE void mfmaTileStep(float (&acc)[Cfg::MI][Cfg::NI][4], const T *a,
                               const T *b) {
  constexpr int LD = Cfg::LD;
#if BRAID_CDNA >= 4
  if constexpr (std::is_same<T, bf16>::value && Cfg::BK % 32 == 0) {
    // gfx950: the 16x16x32 form, half the instructions of 16x16x16.
    const int fk = 8 * (laneId() / 16);
#pragma unroll
    for (int kk = 0; kk < Cfg::BK; kk += 32)
#pragma unroll
      for (int mi = 0; mi < Cfg::MI; ++mi)
#pragma unroll
        for (int ni = 0; ni < Cfg::NI; ++ni) {
          float(&d)[4] = acc[mi][ni];
          mfmaF32x4 c = {d[0], d[1], d[2], d[3]};
          c = mfmaBf16_16x16x32(
              *reinterpret_cast<const mfmaBf16x8 *>(b + ni * 16 * LD + kk + fk),
              *reinterpret_cast<const mfmaBf16x8 *>(a + mi * 16 * LD + kk + fk),
              c);
          d[0] = c[0];
          d[1] = c[1];
          d[2] = c[2];
          d[3] = c[3];
        }
    return;
  }
#endif
  const int fk = 4 * (laneId() / 16);
#pragma unroll
  for (int kk = 0; kk < Cfg::BK; kk += 16)
#pragma unroll
    for (int mi = 0; mi < Cfg::MI; ++mi)
#pragma unroll
      for (int ni = 0; ni < Cfg::NI; ++ni)
        mfmaAcc<T>(acc[mi][ni], b + ni * 16 * LD + kk + fk,
                   a + mi * 16 * LD + kk + fk);
}

/// Rows of A for the MFMA loader: the Ops policy's row handles.
template <class Ops> struct MfmaRowsA {
  const Ops &ops;
  int m0;
  using Ref = typename Ops::ARef;
  BRAID_DEVICE Ref row(int r) const { return ops.aRow(m0 + r); }
  BRAID_DEVICE const typename Ops::T *at(const Ref &ref, int k) const {
    return ops.aAt(ref, k);
  }
};
/// Rows of B (plain row pointers).
template <class Ops> struct MfmaRowsB {
  const Ops &ops;
  int n0;
  using Ref = const typename Ops::T *;
  BRAID_DEVICE Ref row(int r) const { return ops.bRow(n0 + r); }
  BRAID_DEVICE Ref at(Ref ref, int k) const { return ref + k; }
};

/// The k-tile loads of one operand (ROWS x BK): with 16-byte rows, each
/// thread keeps CH chunk slots whose rows are fixed for the whole loop and
/// stages them through registers; otherwise element stores straight into
/// LDS (unaligned rows, rare).
template <class Cfg, int ROWS, int CH, bool VEC, class Src> struct MfmaLoader {
  using T = typename std::remove_cv<
      typename std::remove_pointer<decltype(std::declval<Src>().at(
          std::declval<typename Src::Ref>(), 0))>::type>::type;
  const Src &src;
  int rowsValid;
  typename Src::Ref ref[CH];
  uint4 reg[CH];

  BRAID_DEVICE MfmaLoader(const Src &src, int rowsValid)
      : src(src), rowsValid(rowsValid) {
#pragma unroll
    for (int i = 0; i < CH; ++i) {
      const int r = (threadId() + i * Cfg::kThreads) / Cfg::CPR;
      ref[i] = src.row(r < rowsValid ? r : 0);
    }
  }
  BRAID_DEVICE bool slot(int i, int k0, int K, int &r, int &k) const {
    const int idx = threadId() + i * Cfg::kThreads;
    r = idx / Cfg::CPR;
    k = k0 + (idx % Cfg::CPR) * 8;
    return idx < ROWS * Cfg::CPR;
  }
  BRAID_DEVICE void fetch(int k0, int K) {
    if constexpr (VEC) {
#pragma unroll
      for (int i = 0; i < CH; ++i) {
        int r, k;
        const bool ok = slot(i, k0, K, r, k) && r < rowsValid && k < K;
        reg[i] = ok ? *reinterpret_cast<const uint4 *>(src.at(ref[i], k))
                    : make_uint4(0, 0, 0, 0);
      }
    }
  }
  BRAID_DEVICE void store(T *lds, int k0, int K) {
    if constexpr (VEC) {
#pragma unroll
      for (int i = 0; i < CH; ++i) {
        int r, k;
        if (slot(i, k0, K, r, k))
          *reinterpret_cast<uint4 *>(lds + r * Cfg::LD + (k - k0)) = reg[i];
      }
    } else {
      for (int e = threadId(); e < ROWS * Cfg::BK; e += Cfg::kThreads) {
        const int r = e / Cfg::BK, kk = e % Cfg::BK, k = k0 + kk;
        lds[r * Cfg::LD + kk] = r < rowsValid && k < K
                                    ? *src.at(src.row(r), k)
                                    : fromFloat<T>(0.f);
      }
    }
  }
};

/// One BM x BN output tile at (m0, n0); rows [m0, mEnd) are valid
/// (m0 < mEnd). All threads of the block must call it.
template <class Cfg, class Ops>
BRAID_DEVICE void mfmaGemmTile(const Ops &ops, int m0, int mEnd, int n0,
                               char *smemRaw) {
  using T = typename Ops::T;
  static_assert(sizeof(T) == 2, "MFMA path takes 16-bit operands");
  constexpr int BM = Cfg::BM, BN = Cfg::BN, BK = Cfg::BK, LD = Cfg::LD;
  constexpr int MI = Cfg::MI, NI = Cfg::NI;
  constexpr int N = Ops::N, K = Ops::K;
  constexpr int KT = ceilDiv(K, BK);

  T *sA = reinterpret_cast<T *>(smemRaw);
  T *sB = sA + 2 * BM * LD;
  const MfmaRowsA<Ops> srcA{ops, m0};
  const MfmaRowsB<Ops> srcB{ops, n0};
  MfmaLoader<Cfg, BM, Cfg::AC, Ops::kVecA, MfmaRowsA<Ops>> la(srcA, mEnd - m0);
  MfmaLoader<Cfg, BN, Cfg::BC, Ops::kVecB, MfmaRowsB<Ops>> lb(srcB, N - n0);

  const int lane = laneId(), wave = warpId();
  const int wm = wave / Cfg::WAVES_N, wn = wave % Cfg::WAVES_N;
  const int fr = lane % 16, fk = 4 * (lane / 16); // fragment row / columns
  float acc[MI][NI][4];
#pragma unroll
  for (int i = 0; i < MI; ++i)
#pragma unroll
    for (int j = 0; j < NI; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        acc[i][j][e] = 0.0f;

  la.fetch(0, K);
  lb.fetch(0, K);
  la.store(sA, 0, K);
  lb.store(sB, 0, K);
  syncThreads();

#pragma unroll 1
  for (int kt = 0; kt < KT; ++kt) {
    const int cur = kt & 1;
    const bool more = kt + 1 < KT;
    if (more) { // global loads of the next k-tile fly over the MFMAs
      la.fetch((kt + 1) * BK, K);
      lb.fetch((kt + 1) * BK, K);
    }
    mfmaTileStep<Cfg, T>(acc, sA + cur * BM * LD + (wm * Cfg::WM + fr) * LD,
                         sB + cur * BN * LD + (wn * Cfg::WN + fr) * LD);
    if (more) {
      la.store(sA + (cur ^ 1) * BM * LD, (kt + 1) * BK, K);
      lb.store(sB + (cur ^ 1) * BN * LD, (kt + 1) * BK, K);
    }
    syncThreads();
  }

  // Epilogue: block (mi, ni) of this lane is row fr, columns fk .. fk + 3.
#pragma unroll
  for (int mi = 0; mi < MI; ++mi) {
    const int r = m0 + wm * Cfg::WM + mi * 16 + fr;
    if (r >= mEnd)
      continue;
#pragma unroll
    for (int ni = 0; ni < NI; ++ni)
#pragma unroll
      for (int e = 0; e < 4; e += 2) {
        const int c = n0 + wn * Cfg::WN + ni * 16 + fk + e;
        if (c + 1 < N)
          ops.store2(r, c, acc[mi][ni][e], acc[mi][ni][e + 1]);
        else if (c < N)
          ops.store(r, c, acc[mi][ni][e]);
      }
  }
}

/// The plain GEMM: grid (ceil(N / BN), ceil(M / BM)), Cfg::kThreads threads,
/// Cfg::kSharedBytes of dynamic LDS.
template <class Cfg, class Ops>
BRAID_DEVICE void mfmaGemm(const Ops &ops, int M) {
  extern __shared__ __align__(128) char braidGemmSmem[];
  const int tilesN = ceilDiv(Ops::N, Cfg::BN);
  const int tilesM = ceilDiv(M, Cfg::BM);
  int tm, tn;
  rasterize<8>(tilesN, tilesM, tm, tn);
  if (tm >= tilesM)
    return;
  mfmaGemmTile<Cfg>(ops, tm * Cfg::BM, M, tn * Cfg::BN, braidGemmSmem);
}

#else // BRAID_CUDA

//===----------------------------------------------------------------------===//
// Tensor-core GEMM (bf16 / f16 in, fp32 accumulate)
//===----------------------------------------------------------------------===//

template <int BM_, int BN_, int BK_, int WARPS_M_, int WARPS_N_, int STAGES_>
struct TcConfig {
  static constexpr int BM = BM_, BN = BN_, BK = BK_;
  static constexpr int WARPS_M = WARPS_M_, WARPS_N = WARPS_N_;
  static constexpr int STAGES = STAGES_;
  static constexpr int kThreads = WARPS_M * WARPS_N * kWarpSize;
  static constexpr int WM = BM / WARPS_M, WN = BN / WARPS_N;
  static constexpr int MI = WM / MmaShape::M, NI = WN / MmaShape::N;
  static constexpr int CPR = BK / 8; // 16-byte chunks per tile row
  static constexpr int kSharedBytes = STAGES * (BM + BN) * BK * 2;
  static_assert(BK == 32 || BK == 64, "BK must be 32 or 64");
  static_assert(WM % 16 == 0 && WN % 16 == 0, "warp tile must be 16-aligned");
  static_assert(STAGES >= 2, "at least double buffering");
  static_assert((BM * CPR) % kThreads == 0 && (BN * CPR) % kThreads == 0,
                "tile chunks must divide over the block");
};

/// Element offset of chunk `c` (8 elements) of row `r` in a swizzled tile:
/// 16-byte chunks XOR-permuted per row so that 8 consecutive rows at the
/// same logical chunk hit 8 distinct bank groups.
template <int BK> BRAID_DEVICE int swizzle(int r, int c) {
  constexpr int CPR = BK / 8;
  constexpr int shift = CPR == 4 ? 1 : 0;
  return r * BK + ((c ^ ((r >> shift) & (CPR - 1))) << 3);
}

template <typename T>
BRAID_DEVICE void mma16816(float (&d)[4], const uint32_t (&a)[4],
                           const uint32_t (&b)[2]) {
  if constexpr (std::is_same<T, bf16>::value)
    mmaBf16_16816(d, a, b);
  else
    mmaF16_16816(d, a, b);
}

/// The main loop of a BM x BN tile at (m0, n0), rows [m0, mEnd) valid:
/// acc = A[m0.., k] * B[n0.., k]^T over the k-tiles [ktBegin, ktEnd) (k in
/// [ktBegin * BK, ktEnd * BK)); an empty range leaves acc zero. All threads
/// of the block must call it; the ring is free again when it returns only
/// after a barrier. kWeightsFirst: the kernel has not waited for the
/// previous one yet (its entry only allowed dependents: see
/// waitForPrerequisiteGrids); the prologue's B tiles -- weights, which no
/// kernel writes -- are requested first, then it waits, then A's.
template <class Cfg, bool kWeightsFirst = false, class Ops>
BRAID_DEVICE void tcGemmMainloop(const Ops &ops, int m0, int mEnd, int n0,
                                 int ktBegin, int ktEnd, char *smemRaw,
                                 float (&acc)[Cfg::MI][Cfg::NI][4]) {
  using T = typename Ops::T;
  static_assert(sizeof(T) == 2, "tensor-core path takes 16-bit operands");
  constexpr int BM = Cfg::BM, BN = Cfg::BN, BK = Cfg::BK;
  constexpr int STAGES = Cfg::STAGES, THREADS = Cfg::kThreads;
  constexpr int CPR = Cfg::CPR, MI = Cfg::MI, NI = Cfg::NI;
  constexpr int N = Ops::N, K = Ops::K;
  constexpr int AC = BM * CPR / THREADS, BC = BN * CPR / THREADS;

  T *sA = reinterpret_cast<T *>(smemRaw);
  T *sB = sA + STAGES * BM * BK;
  const int tid = threadId();

  // Per-thread load slots: fixed rows and chunk columns for the whole loop.
  typename Ops::ARef aRef[AC];
  bool aOk[AC];
  int aDst[AC], aCol[AC];
#pragma unroll
  for (int i = 0; i < AC; ++i) {
    const int idx = tid + i * THREADS, r = idx / CPR, c = idx % CPR;
    aOk[i] = m0 + r < mEnd;
    aRef[i] = ops.aRow(aOk[i] ? m0 + r : m0);
    aDst[i] = swizzle<BK>(r, c);
    aCol[i] = c * 8;
  }
  const T *bPtr[BC];
  bool bOk[BC];
  int bDst[BC], bCol[BC];
#pragma unroll
  for (int i = 0; i < BC; ++i) {
    const int idx = tid + i * THREADS, r = idx / CPR, c = idx % CPR;
    bOk[i] = n0 + r < N;
    bPtr[i] = ops.bRow(bOk[i] ? n0 + r : 0);
    bDst[i] = swizzle<BK>(r, c);
    bCol[i] = c * 8;
  }

  auto loadA = [&](int stage, int k0) {
    T *a = sA + stage * BM * BK;
    if constexpr (Ops::kVecA) {
#pragma unroll
      for (int i = 0; i < AC; ++i) {
        const int k = k0 + aCol[i];
        const bool ok = aOk[i] && k < K;
        cpAsync16(a + aDst[i], ops.aAt(aRef[i], ok ? k : 0), ok);
      }
    } else {
      // Rows whose chunks are not 16-byte aligned: element loads.
#pragma unroll 4
      for (int e = tid; e < BM * BK; e += THREADS) {
        const int r = e / BK, kk = e % BK, k = k0 + kk;
        const bool ok = m0 + r < mEnd && k < K;
        a[swizzle<BK>(r, kk >> 3) + (kk & 7)] =
            ok ? *ops.aAt(ops.aRow(m0 + r), k) : T(0.0f);
      }
    }
  };
  auto loadB = [&](int stage, int k0) {
    T *b = sB + stage * BN * BK;
    if constexpr (Ops::kVecB) {
#pragma unroll
      for (int i = 0; i < BC; ++i) {
        const int k = k0 + bCol[i];
        const bool ok = bOk[i] && k < K;
        cpAsync16(b + bDst[i], bPtr[i] + (ok ? k : 0), ok);
      }
    } else {
#pragma unroll 4
      for (int e = tid; e < BN * BK; e += THREADS) {
        const int r = e / BK, kk = e % BK, k = k0 + kk;
        const bool ok = n0 + r < N && k < K;
        b[swizzle<BK>(r, kk >> 3) + (kk & 7)] =
            ok ? ops.bRow(n0 + r)[k] : T(0.0f);
      }
    }
  };
  auto loadStage = [&](int stage, int k0) {
    loadA(stage, k0);
    loadB(stage, k0);
  };

  const int lane = laneId(), warp = warpId();
  const int wm = warp / Cfg::WARPS_N, wn = warp % Cfg::WARPS_N;
#pragma unroll
  for (int i = 0; i < MI; ++i)
#pragma unroll
    for (int j = 0; j < NI; ++j)
#pragma unroll
      for (int q = 0; q < 4; ++q)
        acc[i][j][q] = 0.0f;

  // Prologue: STAGES - 1 tiles in flight. (With kWeightsFirst the first
  // commit group holds every prologue B tile: waits for it are only early.)
  if constexpr (kWeightsFirst) {
#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s)
      if (ktBegin + s < ktEnd)
        loadB(s, (ktBegin + s) * BK);
    waitForPrerequisiteGrids();
  }
#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    if (ktBegin + s < ktEnd) {
      if constexpr (kWeightsFirst)
        loadA(s, (ktBegin + s) * BK);
      else
        loadStage(s, (ktBegin + s) * BK);
    }
    cpAsyncCommit();
  }

  // Fragment source rows of this lane (see PTX ldmatrix / mma layouts):
  // A x4: matrices (rows 0-7, k 0-7), (rows 8-15, k 0-7), (0-7, 8-15),
  // (8-15, 8-15); B x4: (n 0-7, k 0-7), (n 0-7, k 8-15), (n 8-15, k 0-7),
  // (n 8-15, k 8-15).
  const int aRowL = wm * Cfg::WM + (lane & 15);
  const int aChunkL = lane >> 4;
  const int bRowL = wn * Cfg::WN + (lane & 7) + ((lane >> 4) << 3);
  const int bChunkL = (lane >> 3) & 1;

  int readStage = 0, writeStage = STAGES - 1;
#pragma unroll 1
  for (int kt = ktBegin; kt < ktEnd; ++kt) {
    cpAsyncWait<STAGES - 2>();
    syncThreads();
    // Refill the stage consumed in the previous iteration.
    if (kt + STAGES - 1 < ktEnd)
      loadStage(writeStage, (kt + STAGES - 1) * BK);
    cpAsyncCommit();

    const T *a = sA + readStage * BM * BK;
    const T *b = sB + readStage * BN * BK;
#pragma unroll
    for (int kk = 0; kk < BK / 16; ++kk) {
      uint32_t af[MI][4], bfr[NI][2];
#pragma unroll
      for (int mi = 0; mi < MI; ++mi)
        ldmatrixX4(af[mi], a + swizzle<BK>(aRowL + mi * 16, kk * 2 + aChunkL));
#pragma unroll
      for (int nj = 0; nj < NI / 2; ++nj) {
        uint32_t r[4];
        ldmatrixX4(r, b + swizzle<BK>(bRowL + nj * 16, kk * 2 + bChunkL));
        bfr[2 * nj][0] = r[0];
        bfr[2 * nj][1] = r[1];
        bfr[2 * nj + 1][0] = r[2];
        bfr[2 * nj + 1][1] = r[3];
      }
#pragma unroll
      for (int mi = 0; mi < MI; ++mi)
#pragma unroll
        for (int ni = 0; ni < NI; ++ni)
          mma16816<T>(acc[mi][ni], af[mi], bfr[ni]);
    }
    readStage = readStage + 1 == STAGES ? 0 : readStage + 1;
    writeStage = writeStage + 1 == STAGES ? 0 : writeStage + 1;
  }
  cpAsyncWait<0>();
}

/// Calls f(r, c, C[r, c], C[r, c + 1]) for each accumulator pair of this
/// thread after tcGemmMainloop, (r, c) relative to the tile: accumulator
/// (mi, ni) holds rows g and g + 8 (g = lane / 4), columns 2 * (lane % 4)
/// and + 1 of its 16 x 8 tile.
template <class Cfg, class F>
BRAID_DEVICE void tcForEachPair(const float (&acc)[Cfg::MI][Cfg::NI][4],
                                F &&f) {
  const int lane = laneId(), warp = warpId();
  const int wm = warp / Cfg::WARPS_N, wn = warp % Cfg::WARPS_N;
#pragma unroll
  for (int mi = 0; mi < Cfg::MI; ++mi)
#pragma unroll
    for (int ni = 0; ni < Cfg::NI; ++ni)
#pragma unroll
      for (int h = 0; h < 2; ++h)
        f(wm * Cfg::WM + mi * 16 + (lane >> 2) + h * 8,
          wn * Cfg::WN + ni * 8 + (lane & 3) * 2, acc[mi][ni][2 * h],
          acc[mi][ni][2 * h + 1]);
}

/// The epilogue of output columns (c, c + 1) of row r (c even): the pair
/// where both exist, rows >= mEnd and columns >= N dropped.
template <class Ops>
BRAID_DEVICE void storePairOut(const Ops &ops, int r, int c, float v0, float v1,
                               int mEnd) {
  if (r >= mEnd || c >= Ops::N)
    return;
  if (c + 1 < Ops::N)
    ops.store2(r, c, v0, v1);
  else
    ops.store(r, c, v0);
}

/// One BM x BN output tile at (m0, n0); rows [m0, mEnd) are valid
/// (m0 < mEnd). All threads of the block must call it.
template <class Cfg, class Ops>
BRAID_DEVICE void tcGemmTile(const Ops &ops, int m0, int mEnd, int n0,
                             char *smemRaw) {
  float acc[Cfg::MI][Cfg::NI][4];
  tcGemmMainloop<Cfg>(ops, m0, mEnd, n0, 0, ceilDiv(Ops::K, Cfg::BK), smemRaw,
                      acc);
  tcForEachPair<Cfg>(acc, [&](int r, int c, float v0, float v1) {
    storePairOut(ops, m0 + r, n0 + c, v0, v1, mEnd);
  });
}

/// The plain GEMM: grid (ceil(N / BN), ceil(M / BM)), Cfg::kThreads threads,
/// Cfg::kSharedBytes of dynamic shared memory.
template <class Cfg, class Ops> BRAID_DEVICE void tcGemm(const Ops &ops, int M) {
  extern __shared__ __align__(128) char braidGemmSmem[];
  const int tilesN = ceilDiv(Ops::N, Cfg::BN);
  const int tilesM = ceilDiv(M, Cfg::BM);
  int tm, tn;
  rasterize<8>(tilesN, tilesM, tm, tn);
  if (tm >= tilesM)
    return;
  tcGemmTile<Cfg>(ops, tm * Cfg::BM, M, tn * Cfg::BN, braidGemmSmem);
}

//===----------------------------------------------------------------------===//
// Split-K GEMM in one cluster per tile (decode, sm_90+)
//===----------------------------------------------------------------------===//
//
// Few rows (decode: M = B * T from 17 to a few hundred) make the weights the
// traffic, and a narrow output (N = 2048) has too few BM x BN tiles to keep
// every SM streaming them. SPLIT blocks, one thread-block cluster, share a
// tile: rank r runs the tcGemm main loop over its share of the k-tiles,
// writes its fp32 partial tile to its own shared memory and, after a
// cluster barrier, sums 1 / SPLIT of the tile's column pairs over the
// SPLIT partials through distributed shared memory (ranks in order: the
// sum does not depend on timing) and applies the epilogue to them. One
// launch; each weight byte is read once. The cluster helpers (rank,
// barrier, remote shared loads) are in Portability.cuh.

/// The sum over the S blocks of a cluster of the float pair at `p` (this
/// block's shared memory) in each of them, in rank order; every load is
/// issued before the first add.
template <int S> BRAID_DEVICE float2 clusterSumPair(const float *p) {
  float2 v[S];
#pragma unroll
  for (int q = 0; q < S; ++q)
    v[q] = loadClusterShared2(p, q);
  float2 t = make_float2(0.0f, 0.0f);
#pragma unroll
  for (int q = 0; q < S; ++q) {
    t.x += v[q].x;
    t.y += v[q].y;
  }
  return t;
}

/// A TcConfig tile computed by SPLIT blocks (the kernel's cluster size).
template <class Tc, int SPLIT_> struct SplitKConfig : Tc {
  static constexpr int SPLIT = SPLIT_;
  static constexpr int LDR = Tc::BN + 8; // partial-tile row (floats), padded
  static constexpr int kPartialBytes = Tc::BM * LDR * 4;
  static constexpr int kSharedBytes =
      Tc::kSharedBytes > kPartialBytes ? Tc::kSharedBytes : kPartialBytes;
  static_assert(SPLIT >= 2 && SPLIT <= 8, "portable cluster size is 2..8");
};

/// Grid (ceil(N / BN) * SPLIT, ceil(M / BM)) in clusters of (SPLIT, 1, 1),
/// Cfg::kThreads threads, Cfg::kSharedBytes of dynamic shared memory.
/// kWeightsFirst: as tcGemmMainloop's (the kernel waits in here).
template <class Cfg, bool kWeightsFirst = false, class Ops>
BRAID_DEVICE void tcGemmSplitK(const Ops &ops, int M) {
#if BRAID_ARCH >= 900
  extern __shared__ __align__(128) char braidGemmSmem[];
  constexpr int S = Cfg::SPLIT, BM = Cfg::BM, BN = Cfg::BN;
  constexpr int LDR = Cfg::LDR, THREADS = Cfg::kThreads;
  constexpr int KT = ceilDiv(Ops::K, Cfg::BK);
  const int tilesN = ceilDiv(Ops::N, BN), tilesM = ceilDiv(M, BM);
  // The row tiles of one column tile are consecutive clusters: at M > BM
  // they read the same weights close in time (the second read hits L2).
  const int cluster = blockIdY() * (gridDimX() / S) + blockIdX() / S;
  const int tm = cluster % tilesM, tn = cluster / tilesM;
  if (tn >= tilesN) { // the whole cluster: no barrier is left waiting
    if constexpr (kWeightsFirst)
      waitForPrerequisiteGrids();
    return;
  }
  const int rank = clusterRank(), tid = threadId();
  const int m0 = tm * BM, n0 = tn * BN, rows = min(M - m0, BM);

  float acc[Cfg::MI][Cfg::NI][4];
  tcGemmMainloop<Cfg, kWeightsFirst>(ops, m0, M, n0, rank * KT / S,
                                     (rank + 1) * KT / S, braidGemmSmem, acc);
  syncThreads(); // the ring is read by every warp before it holds partials
  float *part = reinterpret_cast<float *>(braidGemmSmem);
  tcForEachPair<Cfg>(acc, [&](int r, int c, float v0, float v1) {
    *reinterpret_cast<float2 *>(part + r * LDR + c) = make_float2(v0, v1);
  });
  clusterSync();
  // Pairs i = r * BN / 2 + c / 2 of the valid rows, THREADS consecutive
  // ones per block in turn (coalesced epilogue stores).
  constexpr int PAIRS = BN / 2;
#pragma unroll 1
  for (int i = rank * THREADS + tid; i < rows * PAIRS; i += S * THREADS) {
    const int r = i / PAIRS, c = 2 * (i % PAIRS);
    const float2 t = clusterSumPair<S>(part + r * LDR + c);
    storePairOut(ops, m0 + r, n0 + c, t.x, t.y, M);
  }
  clusterSync(); // the other blocks read this one's partials until here
#else
  __trap();
#endif
}

//===----------------------------------------------------------------------===//
// Hopper GEMM (sm_90a: wgmma, bf16 in, fp32 accumulate): GemmHopper.cuh
//===----------------------------------------------------------------------===//

} // namespace dev
} // namespace braid

#include "targets/common/kernels/GemmHopper.cuh"
#include "targets/common/kernels/GemmHopperSplitK.cuh"

namespace braid {
namespace dev {

#endif // BRAID_HIP

//===----------------------------------------------------------------------===//
// SIMT fp32 GEMM (validation mode)
//===----------------------------------------------------------------------===//

template <int BM_, int BN_, int BK_, int TM_, int TN_> struct SimtConfig {
  static constexpr int BM = BM_, BN = BN_, BK = BK_, TM = TM_, TN = TN_;
  static constexpr int TX = BN / TN, TY = BM / TM; // thread grid
  static constexpr int kThreads = TX * TY;
  static constexpr int MG = TM / 4, NG = TN / 4; // groups of 4 rows / cols
  static constexpr int PAD = 4;
  static constexpr int kSharedBytes = 2 * BK * (BM + BN + 2 * PAD) * 4;
  static_assert(TM % 4 == 0 && TN % 4 == 0, "thread tile in groups of 4");
  static_assert(BK % 4 == 0, "BK must be a multiple of 4");
};

/// One BM x BN tile at (m0, n0) with rows [m0, mEnd), exact fp32 FMAs.
template <class Cfg, class Ops>
BRAID_DEVICE void simtGemmTile(const Ops &ops, int m0, int mEnd, int n0,
                               char *smemRaw) {
  using T = typename Ops::T;
  constexpr int BM = Cfg::BM, BN = Cfg::BN, BK = Cfg::BK;
  constexpr int TM = Cfg::TM, TN = Cfg::TN, THREADS = Cfg::kThreads;
  constexpr int LDA = BM + Cfg::PAD, LDB = BN + Cfg::PAD;
  constexpr int N = Ops::N, K = Ops::K;
  constexpr int KT = ceilDiv(K, BK);
  constexpr int KC = BK / 4; // 4-element chunks per tile row
  constexpr int AL = ceilDiv(BM * KC, THREADS), BL = ceilDiv(BN * KC, THREADS);
  constexpr bool vecA = Ops::kVecA && sizeof(T) == 4;
  constexpr bool vecB = Ops::kVecB && sizeof(T) == 4;

  float *sA = reinterpret_cast<float *>(smemRaw); // [2][BK][LDA]
  float *sB = sA + 2 * BK * LDA;                  // [2][BK][LDB]
  const int tid = threadId();

  typename Ops::ARef aRef[AL];
  bool aOk[AL];
  const T *bPtr[BL];
  bool bOk[BL];
#pragma unroll
  for (int i = 0; i < AL; ++i) {
    const int idx = tid + i * THREADS, r = idx / KC;
    aOk[i] = idx < BM * KC && m0 + r < mEnd;
    aRef[i] = ops.aRow(aOk[i] ? m0 + r : m0);
  }
#pragma unroll
  for (int i = 0; i < BL; ++i) {
    const int idx = tid + i * THREADS, r = idx / KC;
    bOk[i] = idx < BN * KC && n0 + r < N;
    bPtr[i] = ops.bRow(bOk[i] ? n0 + r : 0);
  }

  float aReg[AL][4], bReg[BL][4];
  auto loadRegs = [&](int k0) {
#pragma unroll
    for (int i = 0; i < AL; ++i) {
      const int idx = tid + i * THREADS, k = k0 + (idx % KC) * 4;
      if constexpr (vecA) {
        if (aOk[i] && k < K)
          loadVec<4>(ops.aAt(aRef[i], k), aReg[i]);
        else
          aReg[i][0] = aReg[i][1] = aReg[i][2] = aReg[i][3] = 0.0f;
      } else {
#pragma unroll
        for (int j = 0; j < 4; ++j)
          aReg[i][j] = aOk[i] && k + j < K ? toFloat(*ops.aAt(aRef[i], k + j))
                                           : 0.0f;
      }
    }
#pragma unroll
    for (int i = 0; i < BL; ++i) {
      const int idx = tid + i * THREADS, k = k0 + (idx % KC) * 4;
      if constexpr (vecB) {
        if (bOk[i] && k < K)
          loadVec<4>(bPtr[i] + k, bReg[i]);
        else
          bReg[i][0] = bReg[i][1] = bReg[i][2] = bReg[i][3] = 0.0f;
      } else {
#pragma unroll
        for (int j = 0; j < 4; ++j)
          bReg[i][j] = bOk[i] && k + j < K ? toFloat(bPtr[i][k + j]) : 0.0f;
      }
    }
  };
  auto storeRegs = [&](int buf) {
    float *a = sA + buf * BK * LDA;
    float *b = sB + buf * BK * LDB;
#pragma unroll
    for (int i = 0; i < AL; ++i) {
      const int idx = tid + i * THREADS;
      if (AL * THREADS == BM * KC || idx < BM * KC) {
        const int r = idx / KC, kc = (idx % KC) * 4;
#pragma unroll
        for (int j = 0; j < 4; ++j)
          a[(kc + j) * LDA + r] = aReg[i][j];
      }
    }
#pragma unroll
    for (int i = 0; i < BL; ++i) {
      const int idx = tid + i * THREADS;
      if (BL * THREADS == BN * KC || idx < BN * KC) {
        const int r = idx / KC, kc = (idx % KC) * 4;
#pragma unroll
        for (int j = 0; j < 4; ++j)
          b[(kc + j) * LDB + r] = bReg[i][j];
      }
    }
  };

  const int tx = tid % Cfg::TX, ty = tid / Cfg::TX;
  float acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TN; ++j)
      acc[i][j] = 0.0f;

  loadRegs(0);
  storeRegs(0);
  syncThreads();
#pragma unroll 1
  for (int kt = 0; kt < KT; ++kt) {
    const int buf = kt & 1;
    if (kt + 1 < KT)
      loadRegs((kt + 1) * BK);
    const float *a = sA + buf * BK * LDA;
    const float *b = sB + buf * BK * LDB;
#pragma unroll
    for (int k = 0; k < BK; ++k) {
      float av[TM], bv[TN];
#pragma unroll
      for (int g = 0; g < Cfg::MG; ++g) {
        float4 q = *reinterpret_cast<const float4 *>(
            a + k * LDA + g * (BM / Cfg::MG) + ty * 4);
        av[4 * g] = q.x, av[4 * g + 1] = q.y, av[4 * g + 2] = q.z,
                av[4 * g + 3] = q.w;
      }
#pragma unroll
      for (int g = 0; g < Cfg::NG; ++g) {
        float4 q = *reinterpret_cast<const float4 *>(
            b + k * LDB + g * (BN / Cfg::NG) + tx * 4);
        bv[4 * g] = q.x, bv[4 * g + 1] = q.y, bv[4 * g + 2] = q.z,
                bv[4 * g + 3] = q.w;
      }
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j)
          acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    if (kt + 1 < KT)
      storeRegs(buf ^ 1);
    syncThreads();
  }

#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const int r = m0 + (i / 4) * (BM / Cfg::MG) + ty * 4 + (i % 4);
    if (r >= mEnd)
      continue;
#pragma unroll
    for (int j = 0; j < TN; j += 2) {
      const int c = n0 + (j / 4) * (BN / Cfg::NG) + tx * 4 + (j % 4);
      if (c + 1 < N)
        ops.store2(r, c, acc[i][j], acc[i][j + 1]);
      else if (c < N)
        ops.store(r, c, acc[i][j]);
    }
  }
}

/// Grid (ceil(N / BN), ceil(M / BM)), Cfg::kThreads threads,
/// Cfg::kSharedBytes of dynamic shared memory.
template <class Cfg, class Ops>
BRAID_DEVICE void simtGemm(const Ops &ops, int M) {
  extern __shared__ __align__(128) char braidGemmSmem[];
  const int tilesN = ceilDiv(Ops::N, Cfg::BN);
  const int tilesM = ceilDiv(M, Cfg::BM);
  int tm, tn;
  rasterize<8>(tilesN, tilesM, tm, tn);
  if (tm >= tilesM)
    return;
  simtGemmTile<Cfg>(ops, tm * Cfg::BM, M, tn * Cfg::BN, braidGemmSmem);
}

} // namespace dev
} // namespace braid

#include "targets/common/kernels/GemmSkinny.cuh"

#endif // BRAID_TARGETS_COMMON_KERNELS_GEMM_CUH
