//===- SSD.cuh - Mamba2 SSD chunked scan and single-token update ----------===//
//
// braid.ssd_scan with three kernels, for every T:
//
//   <prefix>_state   grid (ceil(T/L), H * GRID1, B)    chunk states
//   <prefix>_pass    grid (ceil(P*N/512), H, B)        state passing
//   <prefix>_output  grid (ceil(T/BT), H * tiles3, B)  chunk outputs
//   (GRID1 = max(state tiles, decode row slices); tiles3: head_dim column
//   tiles, over kOutHeads in the grouped form)
//
// The output pass has three forms: per head (one block per token tile and
// head), grouped (bf16: one block per token tile and kOutHeads heads of
// one group, C.B^T computed once for them; see ssdChunkOutputGrouped), and
// the grouped form on wgmma (sm_90a, kOutWg: SSDHopper.cuh). On sm_90a the
// chunk states run on wgmma too (kStateWg).
//
// For T <= kSeqMax (decode, short steps) _state runs the exact recurrence
// token by token instead (state in registers, one block per head and slice
// of head_dim rows) and the other two return at once.
//
// Chunked form (chunk L = chunk_size, head h, group g of h): with
// dt'[s] = clamp(softplus(dt + dt_bias)), a[s] = dt'[s] * A[h] and cum the
// inclusive prefix of a within the chunk,
//   y[t] = sum_{s<=t} exp(cum[t]-cum[s]) dt'[s] (C[t].B[s]) x[s]   (intra)
//        + exp(cum[t]) C[t] . H_in                                  (inter)
//        + D x[t]
//   S_c  = sum_s exp(cum[L-1]-cum[s]) dt'[s] x[s] (outer) B[s]      (local)
//   H_out = exp(cum[L-1]) H_in + S_c                                 (pass)
// The products run on tensor cores in bf16 mode (fp32 accumulate) and as
// FMAs in f32 mode (WarpTile.cuh); states are fp32.
//
// Decay accuracy: exponents are never formed as differences of chunk-long
// cumulative sums (whose rounding grows with |cum|). The chunk is cut in
// sub-blocks of 16 tokens with local inclusive sums cl and a prefix Pfx of
// sub-block totals; for t in sub-block u and s in sub-block v < u,
//   cum[t] - cum[s] = cl[t] + (Pfx[u-1] - Pfx[v]) + (tot[v] - cl[s]),
// every term either small or, when large, multiplying a negligible weight;
// within a sub-block cl[t] - cl[s] is used directly.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_SSD_CUH
#define BRAID_TARGETS_COMMON_KERNELS_SSD_CUH

#include "targets/common/kernels/SequenceLayout.h"
#include "targets/common/kernels/WarpTile.cuh"

namespace braid {
namespace kern {

template <typename Cfg> struct SsdDims {
  using E = typename Cfg::E; // x, dt, B, C, y
  using W = typename Cfg::W; // A, D, dt_bias
  using S = typename Cfg::S; // initial / final state
  static constexpr int H = Cfg::kHeads, P = Cfg::kHeadDim, G = Cfg::kGroups;
  static constexpr int N = Cfg::kState, L = Cfg::kChunk, HPG = H / G;
  static constexpr int Np = roundUp(N, 16);
  static constexpr int SB = 16;     // decay sub-block
  static constexpr int NSB = L / SB; // sub-blocks per chunk
  static constexpr int kThreads = 4 * dev::kWarpSize; // 4 warps
  // Chunk-state pass: output tiles of PT1 rows of head_dim x NT1 states.
  static constexpr int PT1 = 64, NT1 = Cfg::kStateTileN;
  static constexpr int KS = seqlayout::ssdStateRows(L);
  static constexpr int PTILES1 = ceilDiv(P, PT1), NTILES1 = ceilDiv(N, NT1);
  static constexpr int TILES1 = PTILES1 * NTILES1;
  // Blocks per head of the first kernel: the chunked form uses TILES1 of
  // them, the sequential form (T <= kSeqMax) kSeqTiles (slices of head_dim
  // rows, as many as 64-state tiles would give, so decode keeps its
  // parallelism when the chunked form takes all states in one tile).
  static constexpr int SEQTILES = Cfg::kSeqTiles;
  static constexpr int GRID1 = TILES1 > SEQTILES ? TILES1 : SEQTILES;
  static constexpr int LDX1 = PT1 + kRowPad<E>, LDB1 = NT1 + kRowPad<E>;
  // Output pass: BT rows of tokens x PT3 columns of head_dim.
  static constexpr int NW3 = Cfg::kOutWarps, BT = 16 * NW3, PT3 = Cfg::kOutTileP;
  static constexpr int PTILES3 = ceilDiv(P, PT3);
  static constexpr int LDN = Np + kRowPad<E>, LDX3 = PT3 + kRowPad<E>;
  static constexpr int kStats = int(seqlayout::ssdStatsFloats(L));
  static_assert(H % G == 0, "ssd_scan: heads must be a multiple of groups");
  static_assert(L % 16 == 0, "ssd_scan: chunk must be a multiple of 16");
  static_assert(L % BT == 0, "ssd_scan: output tile must divide the chunk");
  static_assert(NT1 % 8 == 0 && PT3 % 8 == 0, "ssd_scan: tile widths");
  static_assert(Cfg::kSeqMax <= L, "ssd_scan: sequential limit above chunk");
  static_assert(Cfg::kOutStages == 1 || Cfg::kOutStages == 2,
                "ssd_scan: one or two key-tile buffers");
  static_assert(Cfg::kStateStages == 1 || Cfg::kStateStages == 2,
                "ssd_scan: one or two chunk-state tile buffers");
};

/// The workspace: chunk states (fp32), chunk decays, entering states (E).
template <typename Cfg> struct SsdWorkspace {
  float *states, *decay;
  typename Cfg::E *enter;
  BRAID_DEVICE SsdWorkspace(const BraidKernelParams &p, int chunks) {
    using D = SsdDims<Cfg>;
    const int64_t cells = int64_t(p.batch) * chunks * D::H;
    states = static_cast<float *>(p.workspace);
    decay = states + cells * D::P * D::N;
    enter = reinterpret_cast<typename Cfg::E *>(decay + ((cells + 3) & ~int64_t(3)));
  }
  /// Element 0 of the [P, N] state of (b, chunk, h).
  BRAID_DEVICE static int64_t cell(int b, int chunks, int c, int h) {
    return (int64_t(b) * chunks + c) * SsdDims<Cfg>::H + h;
  }
};

/// dt + dt_bias -> dt': softplus (when on), then clamped to [dt_min,
/// dt_max]. Shared with the decode step (Mamba2Step.cuh).
template <typename Cfg> BRAID_DEVICE float ssdDtLimits(float d) {
  if (Cfg::kSoftplus)
    d = d > 20.f ? d : log1pf(expf(d));
  d = fmaxf(d, Cfg::kDtMin);
  if (Cfg::kHasDtMax)
    d = fminf(d, Cfg::kDtMax);
  return d;
}

/// dt of token t of sequence b, head h, plus the bias: dt' before the limits.
template <typename Cfg>
BRAID_DEVICE float ssdDtBiased(const BraidKernelParams &p, int b, int t, int h,
                               int T) {
  using D = SsdDims<Cfg>;
  float d = dev::toFloat(dev::buffer<const typename D::E>(
      p, Cfg::kDt)[(int64_t(b) * T + t) * D::H + h]);
  if (Cfg::kBias >= 0)
    d += dev::toFloat(dev::buffer<const typename D::W>(p, Cfg::kBias)[h]);
  return d;
}

/// dt' of token t of sequence b, head h.
template <typename Cfg>
BRAID_DEVICE float ssdDt(const BraidKernelParams &p, int b, int t, int h,
                         int T) {
  return ssdDtLimits<Cfg>(ssdDtBiased<Cfg>(p, b, t, h, T));
}

/// Statistics of chunk c (tokens cL .. cL+L-1, zero past T) in shared
/// memory: sDt = dt', sCl = local inclusive sums of a = dt' * A per
/// 16-token sub-block, sPfx[u] = total of sub-blocks 0..u. Shuffle scans:
/// a sub-block is half a warp's lanes, the sub-block totals one warp's.
/// Deterministic, so every kernel of a chunk computes the same values.
/// THREADS: the block size. Every dt load of a thread is issued before the
/// first is used.
template <typename Cfg, int THREADS>
BRAID_DEVICE void ssdChunkStats(const BraidKernelParams &p, int b, int h,
                                int cL, int T, float *sDt, float *sCl,
                                float *sPfx) {
  using D = SsdDims<Cfg>;
  static_assert(D::SB == 16 && dev::kWarpSize % 16 == 0,
                "ssd_scan: sub-blocks are half warps");
  static_assert(THREADS % dev::kWarpSize == 0, "ssd_scan: whole warps");
  const float a = dev::toFloat(dev::buffer<const typename D::W>(p, Cfg::kA)[h]);
  const int lane = dev::laneId();
  constexpr int kPer = ceilDiv(D::L, THREADS);
  float raw[kPer];
#pragma unroll
  for (int k = 0; k < kPer; ++k) {
    const int s = k * THREADS + dev::threadId();
    const bool ok = s < D::L && cL + s < T;
    raw[k] = ssdDtBiased<Cfg>(p, b, ok ? cL + s : 0, h, T);
  }
#pragma unroll
  for (int k = 0; k < kPer; ++k) {
    const int s = k * THREADS + dev::threadId();
    const float d = s < D::L && cL + s < T ? ssdDtLimits<Cfg>(raw[k]) : 0.f;
    float v = d * a;
#pragma unroll
    for (int off = 1; off < D::SB; off <<= 1) {
      const float n = dev::shflUp(v, off);
      if ((lane % D::SB) >= off)
        v += n;
    }
    if (s < D::L) {
      sDt[s] = d;
      sCl[s] = v;
    }
  }
  dev::syncThreads();
  if (dev::warpId() == 0) {
    float carry = 0.f;
    for (int u0 = 0; u0 < D::NSB; u0 += dev::kWarpSize) {
      const int u = u0 + lane;
      float t = u < D::NSB ? sCl[u * D::SB + D::SB - 1] : 0.f;
#pragma unroll
      for (int off = 1; off < dev::kWarpSize; off <<= 1) {
        const float n = dev::shflUp(t, off);
        if (lane >= off)
          t += n;
      }
      t += carry;
      if (u < D::NSB)
        sPfx[u] = t;
      carry = dev::shflIdx(t, dev::kWarpSize - 1);
    }
  }
  dev::syncThreads();
}

/// The statistics of chunk c for heads h0 .. h0+HB-1 at once (stats + i *
/// kStats: sDt, sCl, sW, sPfx of head i; sW[s] = dt'[s] exp(tot - cl[s])
/// within s's sub-block): every dt load is issued before any scan, and the
/// block synchronizes twice in all instead of twice per head. The same
/// arithmetic as ssdChunkStats, so the values match the chunk-state pass.
/// Ends without a barrier (the caller's next one publishes sW).
template <typename Cfg, int HB, int THREADS>
BRAID_DEVICE void ssdChunkStatsHeads(const BraidKernelParams &p, int b, int h0,
                                     int cL, int T, float *stats) {
  using D = SsdDims<Cfg>;
  using E = typename D::E;
  using W = typename D::W;
  static_assert(THREADS % D::SB == 0 && D::L % D::SB == 0,
                "ssd_scan: a sub-block lies in one head of one warp");
  constexpr int kPer = ceilDiv(HB * D::L, THREADS);
  const int lane = dev::laneId(), tid = dev::threadId();
  // Every load is issued before the first is used (a load under a condition
  // would wait for its value before the next one goes out): indices are
  // clamped into the tensors, values masked afterwards.
  float d[kPer], a[kPer];
  // Where the block has a thread per token of the chunk, idx = k THREADS +
  // tid is head k of token tid: the HB heads of a token are adjacent in dt,
  // so one 16-byte load brings them all (a warp's loads of one head, H
  // elements apart, read a 32-byte sector for every 2 bytes).
  constexpr bool kRowLoad = D::L == THREADS && HB * sizeof(E) == 16 &&
                            D::H % HB == 0 && std::is_same<E, bf16>::value;
  if constexpr (kRowLoad) {
    const int s = tid;
    const bool ok = cL + s < T;
    const uint4 raw = *reinterpret_cast<const uint4 *>(
        dev::buffer<const E>(p, Cfg::kDt) +
        (int64_t(b) * T + (ok ? cL + s : 0)) * D::H + h0);
    const uint32_t w[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
    for (int k = 0; k < HB; ++k) {
      const float2 pair = dev::unpackBf16x2(w[k / 2]);
      d[k] = k % 2 ? pair.y : pair.x;
      if (Cfg::kBias >= 0)
        d[k] += dev::toFloat(dev::buffer<const W>(p, Cfg::kBias)[h0 + k]);
      a[k] = dev::toFloat(dev::buffer<const W>(p, Cfg::kA)[h0 + k]);
    }
  } else {
#pragma unroll
    for (int k = 0; k < kPer; ++k) {
      const int idx = k * THREADS + tid, i = idx / D::L, s = idx % D::L;
      const bool ok = idx < HB * D::L && cL + s < T;
      const int h = idx < HB * D::L ? h0 + i : h0;
      d[k] = ssdDtBiased<Cfg>(p, b, ok ? cL + s : 0, h, T);
      a[k] = dev::toFloat(dev::buffer<const W>(p, Cfg::kA)[h]);
    }
  }
#pragma unroll
  for (int k = 0; k < kPer; ++k) {
    const int idx = k * THREADS + tid, i = idx / D::L, s = idx % D::L;
    const bool ok = idx < HB * D::L;
    d[k] = ok && cL + s < T ? ssdDtLimits<Cfg>(d[k]) : 0.f;
    float v = d[k] * (ok ? a[k] : 0.f);
#pragma unroll
    for (int off = 1; off < D::SB; off <<= 1) {
      const float n = dev::shflUp(v, off);
      if ((lane % D::SB) >= off)
        v += n;
    }
    if (ok) {
      stats[i * D::kStats + s] = d[k];
      stats[i * D::kStats + D::L + s] = v;
    }
  }
  dev::syncThreads();
  for (int i = dev::warpId(); i < HB; i += THREADS / dev::kWarpSize) {
    const float *sCl = stats + i * D::kStats + D::L;
    float *sPfx = stats + i * D::kStats + 3 * D::L;
    float carry = 0.f;
    for (int u0 = 0; u0 < D::NSB; u0 += dev::kWarpSize) {
      const int u = u0 + lane;
      float t = u < D::NSB ? sCl[u * D::SB + D::SB - 1] : 0.f;
#pragma unroll
      for (int off = 1; off < dev::kWarpSize; off <<= 1) {
        const float n = dev::shflUp(t, off);
        if (lane >= off)
          t += n;
      }
      t += carry;
      if (u < D::NSB)
        sPfx[u] = t;
      carry = dev::shflIdx(t, dev::kWarpSize - 1);
    }
  }
  for (int idx = tid; idx < HB * D::L; idx += THREADS) {
    const int i = idx / D::L, s = idx % D::L, u = s / D::SB;
    const float *sDt = stats + i * D::kStats, *sCl = sDt + D::L;
    stats[i * D::kStats + 2 * D::L + s] =
        sDt[s] * expf(sCl[u * D::SB + D::SB - 1] - sCl[s]);
  }
}

/// T <= kSeqMax: the recurrence token by token for head h, rows
/// [tile * ROWS, tile * ROWS + ROWS) of head_dim.
template <typename Cfg>
BRAID_DEVICE void ssdSequential(const BraidKernelParams &p, int b, int h,
                                int tile, int T) {
  using D = SsdDims<Cfg>;
  using E = typename D::E;
  using W = typename D::W;
  using S = typename D::S;
  // Lanes per head_dim row: about 4 states each, at most a warp.
  constexpr int kWant = D::N >= 128 ? 32 : D::N >= 64 ? 16 : D::N >= 32 ? 8 : 4;
  constexpr int TPR = kWant < dev::kWarpSize ? kWant : dev::kWarpSize;
  constexpr int EPT = ceilDiv(D::N, TPR);
  constexpr int RPP = D::kThreads / TPR;
  constexpr int ROWS = ceilDiv(D::P, D::SEQTILES);
  constexpr int PASSES = ceilDiv(ROWS, RPP);
  const int sub = dev::threadId() % TPR, rip = dev::threadId() / TPR;
  const int rowEnd = min(D::P, (tile + 1) * ROWS);
  const int g = h / D::HPG;
  const E *x = dev::buffer<const E>(p, Cfg::kX);
  const E *Bm = dev::buffer<const E>(p, Cfg::kB);
  const E *Cm = dev::buffer<const E>(p, Cfg::kC);
  E *y = dev::buffer<E>(p, Cfg::kY);
  const float a = dev::toFloat(dev::buffer<const W>(p, Cfg::kA)[h]);
  const float dskip =
      Cfg::kD >= 0 ? dev::toFloat(dev::buffer<const W>(p, Cfg::kD)[h]) : 0.f;
  const int64_t stateBase = (int64_t(b) * D::H + h) * D::P * D::N;

  float st[PASSES][EPT];
#pragma unroll
  for (int ps = 0; ps < PASSES; ++ps) {
    const int row = tile * ROWS + ps * RPP + rip;
#pragma unroll
    for (int i = 0; i < EPT; ++i) {
      const int n = sub + TPR * i;
      st[ps][i] = 0.f;
      if (Cfg::kStateIn >= 0 && row < rowEnd && n < D::N)
        st[ps][i] = dev::toFloat(dev::buffer<const S>(
            p, Cfg::kStateIn)[stateBase + int64_t(row) * D::N + n]);
    }
  }
  for (int t = 0; t < T; ++t) {
    const int64_t bt = int64_t(b) * T + t;
    const float dt = ssdDt<Cfg>(p, b, t, h, T);
    const float decay = expf(dt * a);
    float bv[EPT], cv[EPT];
#pragma unroll
    for (int i = 0; i < EPT; ++i) {
      const int n = sub + TPR * i;
      bv[i] = n < D::N ? dev::toFloat(Bm[(bt * D::G + g) * D::N + n]) : 0.f;
      cv[i] = n < D::N ? dev::toFloat(Cm[(bt * D::G + g) * D::N + n]) : 0.f;
    }
#pragma unroll
    for (int ps = 0; ps < PASSES; ++ps) {
      const int row = tile * ROWS + ps * RPP + rip;
      const bool valid = row < rowEnd;
      const float xv =
          valid ? dev::toFloat(x[(bt * D::H + h) * D::P + row]) : 0.f;
      const float dx = dt * xv;
      float acc = 0.f;
#pragma unroll
      for (int i = 0; i < EPT; ++i) {
        st[ps][i] = st[ps][i] * decay + dx * bv[i];
        acc += st[ps][i] * cv[i];
      }
      acc = dev::groupSum<TPR>(acc);
      if (valid && sub == 0)
        y[(bt * D::H + h) * D::P + row] = dev::fromFloat<E>(acc + dskip * xv);
    }
  }
  if (Cfg::kStateOut >= 0) {
#pragma unroll
    for (int ps = 0; ps < PASSES; ++ps) {
      const int row = tile * ROWS + ps * RPP + rip;
#pragma unroll
      for (int i = 0; i < EPT; ++i) {
        const int n = sub + TPR * i;
        if (row < rowEnd && n < D::N)
          dev::buffer<S>(p, Cfg::kStateOut)[stateBase + int64_t(row) * D::N +
                                            n] = dev::fromFloat<S>(st[ps][i]);
      }
    }
  }
}

/// Rows r < rows of a shared tile (COLS columns, LDS apart) times w[r].
template <int COLS, int LDS, typename E>
BRAID_DEVICE void ssdScaleRows(E *t, int rows, const float *w) {
  static_assert(COLS % 2 == 0, "ssdScaleRows: column pairs");
  constexpr int kPairs = COLS / 2;
  for (int i = dev::threadId(); i < rows * kPairs; i += dev::blockSize()) {
    const int r = i / kPairs, c = 2 * (i % kPairs);
    E *q = t + r * LDS + c;
    if constexpr (kIsBf16<E>) {
      uint32_t *u = reinterpret_cast<uint32_t *>(q);
      const float2 v = dev::unpackBf16x2(*u);
      *u = dev::packBf16x2(v.x * w[r], v.y * w[r]);
    } else {
      q[0] *= w[r];
      q[1] *= w[r];
    }
  }
}

#if !defined(BRAID_HIP)
// The sm_90a forms (SSDHopper.cuh, included below).
template <typename Cfg>
BRAID_DEVICE void ssdChunkStateWg(const BraidKernelParams &p);
#endif

/// Kernel 1: S_c[p][n] = sum_s w[s] x[s][p] B[s][n] for one chunk, head and
/// (head_dim, state) tile; or the whole recurrence when T <= kSeqMax.
template <typename Cfg>
BRAID_DEVICE void ssdChunkState(const BraidKernelParams &p) {
  using D = SsdDims<Cfg>;
  using E = typename D::E;
  extern __shared__ __align__(16) unsigned char ssdSmem1[];
  const int T = int(p.tokens), b = dev::blockIdZ(), c = dev::blockIdX();
  const int h = dev::blockIdY() / D::GRID1, tile = dev::blockIdY() % D::GRID1;
  if (T <= Cfg::kSeqMax) {
    if (c == 0 && tile < D::SEQTILES)
      ssdSequential<Cfg>(p, b, h, tile, T);
    return;
  }
#if !defined(BRAID_HIP)
  if constexpr (Cfg::kStateWg) {
    ssdChunkStateWg<Cfg>(p);
    return;
  }
#endif
  const int chunks = ceilDiv(T, D::L), cL = c * D::L, n = min(D::L, T - cL);
  if (c >= chunks || tile >= D::TILES1)
    return;
  const int g = h / D::HPG;
  const int p0 = (tile / D::NTILES1) * D::PT1, n0 = (tile % D::NTILES1) * D::NT1;
  float *sDt = reinterpret_cast<float *>(ssdSmem1);
  float *sCl = sDt + D::L, *sW = sCl + D::L, *sPfx = sW + D::L;
  E *sX = reinterpret_cast<E *>(reinterpret_cast<float *>(ssdSmem1) + D::kStats);
  E *sB = sX + D::KS * D::LDX1;

  ssdChunkStats<Cfg, 4 * dev::kWarpSize>(p, b, h, cL, T, sDt, sCl, sPfx);
  for (int s = dev::threadId(); s < D::L; s += dev::blockSize()) {
    const int u = s / D::SB;
    const float tot = sCl[u * D::SB + D::SB - 1];
    sW[s] = sDt[s] * expf((sPfx[D::NSB - 1] - sPfx[u]) + (tot - sCl[s]));
  }
  dev::syncThreads();

  const E *x = dev::buffer<const E>(p, Cfg::kX);
  const E *Bm = dev::buffer<const E>(p, Cfg::kB);
  const int warp = dev::warpId();
  const bool active = 16 * warp < D::P - p0;
  Acc<1, D::NT1 / 8> acc;
  acc.zero();
  // This tile's part of the rows of x and B at chunk token s (null past
  // the chunk's end: zero-filled).
  auto xRow = [&](int s) -> const E * {
    return s < n ? x + ((int64_t(b) * T + cL + s) * D::H + h) * D::P + p0
                 : nullptr;
  };
  auto bRow = [&](int s) -> const E * {
    return s < n ? Bm + ((int64_t(b) * T + cL + s) * D::G + g) * D::N + n0
                 : nullptr;
  };
  if constexpr (Cfg::kStateStages == 2) {
    // Both tiles stream raw through two buffers (the next pair loads while
    // this one computes); the weights scale the x rows in place.
    constexpr int kTile = D::KS * (D::LDX1 + D::LDB1);
    auto load = [&](int s0, int buf) {
      E *bx = sX + buf * kTile, *bb = bx + D::KS * D::LDX1;
      copyTileAsync<D::KS, D::PT1, D::LDX1>(
          bx, [&](int r) { return xRow(s0 + r); }, x, min(D::PT1, D::P - p0));
      copyTileAsync<D::KS, D::NT1, D::LDB1>(
          bb, [&](int r) { return bRow(s0 + r); }, Bm, min(D::NT1, D::N - n0));
    };
    load(0, 0);
    dev::cpAsyncCommit();
    for (int s0 = 0, buf = 0; s0 < n; s0 += D::KS, buf ^= 1) {
      if (s0 + D::KS < n)
        load(s0 + D::KS, buf ^ 1);
      dev::cpAsyncCommit();
      dev::cpAsyncWait<1>();
      dev::syncThreads();
      E *bx = sX + buf * kTile;
      // Only rows before the chunk's end: sW ends at L, which need not be
      // a multiple of KS, and the zero rows past n must stay zero.
      ssdScaleRows<D::PT1, D::LDX1>(bx, min(D::KS, n - s0), sW + s0);
      dev::syncThreads();
      if (active)
        gemmTN<1, D::NT1 / 8, D::KS>(acc, bx + 16 * warp, D::LDX1,
                                     bx + D::KS * D::LDX1, D::LDB1);
      dev::syncThreads();
    }
  } else {
    for (int s0 = 0; s0 < n; s0 += D::KS) {
      copyTileAsync<D::KS, D::PT1, D::LDX1>(
          sX, [&](int r) { return xRow(s0 + r); }, x, min(D::PT1, D::P - p0));
      dev::cpAsyncCommit();
      copyTileMapped<D::KS, D::NT1, D::LDB1, E, E>(
          sB, [&](int r) { return bRow(s0 + r); }, min(D::NT1, D::N - n0),
          [&](int r, int, float v) { return v * sW[s0 + r]; });
      dev::cpAsyncWait<0>();
      dev::syncThreads();
      if (active)
        gemmTN<1, D::NT1 / 8, D::KS>(acc, sX + 16 * warp, D::LDX1, sB, D::LDB1);
      dev::syncThreads();
    }
  }

  SsdWorkspace<Cfg> ws(p, chunks);
  float *out = ws.states + SsdWorkspace<Cfg>::cell(b, chunks, c, h) * D::P * D::N;
  if (active) {
#pragma unroll
    for (int j = 0; j < decltype(acc)::NB; ++j)
#pragma unroll
      for (int hh = 0; hh < kAccRows; ++hh)
#pragma unroll
        for (int c = 0; c < kAccCols; c += 2) {
          const int row = p0 + 16 * warp + accRow(0, hh);
          const int col = n0 + accCol(j, c);
          if (row < D::P && col < D::N)
            *reinterpret_cast<float2 *>(out + int64_t(row) * D::N + col) =
                make_float2(acc.at(0, j, hh, c), acc.at(0, j, hh, c + 1));
        }
  }
  if (tile == 0 && dev::threadId() == 0)
    ws.decay[SsdWorkspace<Cfg>::cell(b, chunks, c, h)] =
        expf(sPfx[D::NSB - 1]);
}

/// Kernel 2: walks the chunks of one head in order, storing the state that
/// enters each chunk and the final state.
template <typename Cfg>
BRAID_DEVICE void ssdStatePass(const BraidKernelParams &p) {
  using D = SsdDims<Cfg>;
  using E = typename D::E;
  using S = typename D::S;
  const int T = int(p.tokens);
  if (T <= Cfg::kSeqMax)
    return;
  const int b = dev::blockIdZ(), h = dev::blockIdY();
  const int e0 = (dev::blockIdX() * dev::blockSize() + dev::threadId()) * 4;
  if (e0 >= D::P * D::N)
    return;
  const int chunks = ceilDiv(T, D::L);
  SsdWorkspace<Cfg> ws(p, chunks);
  const int64_t sbase = (int64_t(b) * D::H + h) * D::P * D::N + e0;
  float hs[4] = {0.f, 0.f, 0.f, 0.f};
  if (Cfg::kStateIn >= 0) {
    const S *si = dev::buffer<const S>(p, Cfg::kStateIn) + sbase;
#pragma unroll
    for (int e = 0; e < 4; ++e)
      hs[e] = dev::toFloat(si[e]);
  }
#pragma unroll 2
  for (int c = 0; c < chunks; ++c) {
    const int64_t cell = SsdWorkspace<Cfg>::cell(b, chunks, c, h);
    const int64_t base = cell * D::P * D::N + e0;
    const float4 sc = *reinterpret_cast<const float4 *>(ws.states + base);
    const float dA = ws.decay[cell];
    E *en = ws.enter + base;
    store2(en, hs[0], hs[1]);
    store2(en + 2, hs[2], hs[3]);
    hs[0] = fmaf(dA, hs[0], sc.x);
    hs[1] = fmaf(dA, hs[1], sc.y);
    hs[2] = fmaf(dA, hs[2], sc.z);
    hs[3] = fmaf(dA, hs[3], sc.w);
  }
  if (Cfg::kStateOut >= 0) {
    S *so = dev::buffer<S>(p, Cfg::kStateOut) + sbase;
#pragma unroll
    for (int e = 0; e < 4; ++e)
      so[e] = dev::fromFloat<S>(hs[e]);
  }
}

/// Kernel 3: outputs of BT tokens x PT3 head_dim columns of one head. The
/// B and x tiles of the intra-chunk part stream through kOutStages shared
/// buffers (2: the next tile loads while this one computes).
template <typename Cfg>
BRAID_DEVICE void ssdChunkOutput(const BraidKernelParams &p) {
  using D = SsdDims<Cfg>;
  using E = typename D::E;
  using W = typename D::W;
  constexpr int ST = Cfg::kOutStages;
  extern __shared__ __align__(16) unsigned char ssdSmem3[];
  const int T = int(p.tokens);
  if (T <= Cfg::kSeqMax)
    return;
  const int b = dev::blockIdZ();
  const int h = dev::blockIdY() / D::PTILES3, p0 = (dev::blockIdY() % D::PTILES3) * D::PT3;
  const int t0 = dev::blockIdX() * D::BT;
  if (t0 >= T)
    return;
  const int chunks = ceilDiv(T, D::L), c = t0 / D::L, cL = c * D::L;
  const int tl0 = t0 - cL, g = h / D::HPG;
  const int pValid = min(D::PT3, D::P - p0);

  float *sDt = reinterpret_cast<float *>(ssdSmem3);
  float *sCl = sDt + D::L, *sW = sCl + D::L, *sPfx = sW + D::L;
  E *sC = reinterpret_cast<E *>(reinterpret_cast<float *>(ssdSmem3) + D::kStats);
  E *sH = sC + D::BT * D::LDN;
  E *sB = sH + D::PT3 * D::LDN;     // [ST][BT][LDN]
  E *sX = sB + ST * D::BT * D::LDN; // [ST][BT][LDX3]

  const E *x = dev::buffer<const E>(p, Cfg::kX);
  const E *Bm = dev::buffer<const E>(p, Cfg::kB);
  const E *Cm = dev::buffer<const E>(p, Cfg::kC);
  SsdWorkspace<Cfg> ws(p, chunks);
  const E *enter = ws.enter + SsdWorkspace<Cfg>::cell(b, chunks, c, h) * D::P * D::N;

  copyTileAsync<D::BT, D::Np, D::LDN>(
      sC,
      [&](int r) -> const E * {
        return t0 + r < T ? Cm + ((int64_t(b) * T + t0 + r) * D::G + g) * D::N
                          : nullptr;
      },
      Cm, D::N);
  copyTileAsync<D::PT3, D::Np, D::LDN>(
      sH,
      [&](int r) -> const E * {
        return p0 + r < D::P ? enter + int64_t(p0 + r) * D::N : nullptr;
      },
      Cm, D::N);
  dev::cpAsyncCommit();
  auto loadKeys = [&](int st, int buf) {
    const int s0 = st * D::BT;
    copyTileAsync<D::BT, D::Np, D::LDN>(
        sB + buf * D::BT * D::LDN,
        [&](int r) -> const E * {
          const int t = cL + s0 + r;
          return t < T ? Bm + ((int64_t(b) * T + t) * D::G + g) * D::N : nullptr;
        },
        Bm, D::N);
    copyTileAsync<D::BT, D::PT3, D::LDX3>(
        sX + buf * D::BT * D::LDX3,
        [&](int r) -> const E * {
          const int t = cL + s0 + r;
          return t < T ? x + ((int64_t(b) * T + t) * D::H + h) * D::P + p0
                       : nullptr;
        },
        x, pValid);
  };
  const int nKeyTiles = tl0 / D::BT + 1; // up to the diagonal tile
  if (ST == 2)
    loadKeys(0, 0);
  dev::cpAsyncCommit();

  ssdChunkStats<Cfg, D::NW3 * dev::kWarpSize>(p, b, h, cL, T, sDt, sCl, sPfx);
  for (int s = dev::threadId(); s < D::L; s += dev::blockSize()) {
    const int u = s / D::SB;
    sW[s] = sDt[s] * expf(sCl[u * D::SB + D::SB - 1] - sCl[s]);
  }
  dev::cpAsyncWait<1>(); // C and the entering state (key tile 0 may fly)
  dev::syncThreads();

  const int warp = dev::warpId();
  const int tw = tl0 + 16 * warp; // first local row of this warp
  const int u = tw / D::SB;       // its sub-block
  const float pfxBefore = u > 0 ? sPfx[u - 1] : 0.f;
  float rowCl[kAccRows], rowF[kAccRows];
#pragma unroll
  for (int hh = 0; hh < kAccRows; ++hh) {
    rowCl[hh] = sCl[tw + accRow(0, hh)];
    rowF[hh] = expf(rowCl[hh]);
  }

  constexpr bool kCRegs = Cfg::kCInRegs && kIsBf16<E>;
  AFrag<1, (kCRegs ? D::Np / 16 : 1)> cf;
  if constexpr (kCRegs)
    cf.load(reinterpret_cast<const bf16 *>(sC + 16 * warp * D::LDN), D::LDN);

  // Inter-chunk part: exp(cum[t]) * C[t] . H_in.
  Acc<1, D::PT3 / 8> acc;
  acc.zero();
  if constexpr (kCRegs)
    gemmNT<1, D::PT3 / 8, D::Np / 16>(acc, cf, reinterpret_cast<const bf16 *>(sH),
                                      D::LDN);
  else
    gemmNT<1, D::PT3 / 8, D::Np>(acc, sC + 16 * warp * D::LDN, D::LDN, sH,
                                 D::LDN);
#pragma unroll
  for (int j = 0; j < decltype(acc)::NB; ++j)
#pragma unroll
    for (int e = 0; e < kAccElems; ++e)
      acc.v[0][j][e] *= expf(pfxBefore + rowCl[e / kAccCols]);

  // Intra-chunk part, key tiles of BT tokens up to the diagonal one.
  for (int st = 0; st < nKeyTiles; ++st) {
    int buf = 0;
    if (ST == 2) {
      buf = st & 1;
      if (st + 1 < nKeyTiles)
        loadKeys(st + 1, buf ^ 1);
      dev::cpAsyncCommit();
      dev::cpAsyncWait<1>();
    } else {
      loadKeys(st, 0);
      dev::cpAsyncCommit();
      dev::cpAsyncWait<0>();
    }
    dev::syncThreads();
    const int s0 = st * D::BT;
    const E *kB = sB + buf * D::BT * D::LDN;
    const E *kX = sX + buf * D::BT * D::LDX3;
    if (s0 <= tw + 15) {
      Acc<1, D::BT / 8> sc;
      sc.zero();
      if constexpr (kCRegs)
        gemmNT<1, D::BT / 8, D::Np / 16>(sc, cf, reinterpret_cast<const bf16 *>(kB),
                                         D::LDN);
      else
        gemmNT<1, D::BT / 8, D::Np>(sc, sC + 16 * warp * D::LDN, D::LDN, kB,
                                    D::LDN);
#pragma unroll
      for (int jp = 0; jp < D::BT / 16; ++jp) {
        const int v = (s0 + 16 * jp) / D::SB; // sub-block of these columns
        const float blk = v < u ? expf(pfxBefore - sPfx[v]) : 0.f;
#pragma unroll
        for (int jj = 0; jj < 16 / kAccBlockN; ++jj)
#pragma unroll
          for (int e = 0; e < kAccElems; ++e) {
            const int j = (16 / kAccBlockN) * jp + jj;
            const int hh = e / kAccCols;
            const int sIdx = s0 + accCol(j, e % kAccCols),
                      t = tw + accRow(0, hh);
            float w;
            if (sIdx > t)
              w = 0.f;
            else if (v == u)
              w = expf(rowCl[hh] - sCl[sIdx]) * sDt[sIdx];
            else
              w = rowF[hh] * blk * sW[sIdx];
            sc.v[0][j][e] *= w;
          }
      }
      gemmRegNN<1, D::PT3 / 8, D::BT / 16>(acc, sc, kX, D::LDX3);
    }
    dev::syncThreads();
  }
  dev::cpAsyncWait<0>();

  // y = acc + D x.
  E *y = dev::buffer<E>(p, Cfg::kY);
  const float dskip =
      Cfg::kD >= 0 ? dev::toFloat(dev::buffer<const W>(p, Cfg::kD)[h]) : 0.f;
#pragma unroll
  for (int hh = 0; hh < kAccRows; ++hh) {
    const int t = t0 + 16 * warp + accRow(0, hh);
    if (t >= T)
      continue;
    const int64_t row = (int64_t(b) * T + t) * D::H + h;
#pragma unroll
    for (int j = 0; j < decltype(acc)::NB; ++j)
#pragma unroll
      for (int c = 0; c < kAccCols; c += 2) {
        const int col = accCol(j, c);
        if (col < pValid) {
          const E *xr = x + row * D::P + p0 + col;
          store2(y + row * D::P + p0 + col,
                 acc.at(0, j, hh, c) + dskip * dev::toFloat(xr[0]),
                 acc.at(0, j, hh, c + 1) + dskip * dev::toFloat(xr[1]));
        }
      }
  }
}

/// Copies `rows` rows (a runtime count) of COLS_P elements into shared rows
/// of LDS elements; a null row or a column at or past validCols reads 0.
template <int COLS_P, int LDS, typename E, typename RowPtr>
BRAID_DEVICE void ssdCopyRowsAsync(E *smem, int rows, RowPtr rowPtr,
                                   const E *anyValid, int validCols) {
  constexpr int kVec = int(16 / sizeof(E));
  static_assert(COLS_P % kVec == 0, "ssdCopyRowsAsync: 16-byte chunks");
  constexpr int kChunks = COLS_P / kVec;
  for (int i = dev::threadId(); i < rows * kChunks; i += dev::blockSize()) {
    const int r = i / kChunks, cc = i % kChunks;
    const E *src = rowPtr(r);
    const bool valid = src != nullptr && cc * kVec < validCols;
    dev::cpAsync16(smem + r * LDS + cc * kVec,
                   valid ? src + cc * kVec : anyValid, valid);
  }
}

/// Kernel 3, grouped form (bf16, kOutHeads > 0): the outputs of BT tokens x
/// PT3 head_dim columns for kOutHeads heads of one group. With one group
/// C.B^T is the same for every head, so each warp computes its 16 rows x
/// (keys up to its diagonal) once, keeps them in registers as bf16 pairs
/// and reuses them for every head; only the decay weights, x and the
/// entering state change per head. x and the entering state of the next
/// head load (two shared slots) while this head computes.
///
/// Shared memory: the statistics of every head, then a region that first
/// holds the C tile and the chunk's B rows, later the two head slots
/// (entering state [PT3][N], x [L][PT3]).
template <typename Cfg>
BRAID_DEVICE void ssdChunkOutputGrouped(const BraidKernelParams &p) {
  using D = SsdDims<Cfg>;
  using E = typename D::E;
  using W = typename D::W;
  static_assert(kIsBf16<E> && Cfg::kCInRegs,
                "ssd_scan: the grouped output pass keeps bf16 C in registers");
  constexpr int HB = Cfg::kOutHeads, KB = D::L / 16;
  constexpr int kNB16 = 16 / kAccBlockN; // accumulator blocks per 16 keys
  constexpr int kSlot = D::PT3 * D::LDN + D::L * D::LDX3;
  static_assert(D::HPG % HB == 0, "ssd_scan: head groups straddle a group");
  extern __shared__ __align__(16) unsigned char ssdSmemG[];
  const int T = int(p.tokens);
  if (T <= Cfg::kSeqMax)
    return;
  const int b = dev::blockIdZ();
  const int h0 = (dev::blockIdY() / D::PTILES3) * HB;
  const int p0 = (dev::blockIdY() % D::PTILES3) * D::PT3;
  const int t0 = dev::blockIdX() * D::BT;
  if (t0 >= T)
    return;
  const int chunks = ceilDiv(T, D::L), c = t0 / D::L, cL = c * D::L;
  const int tl0 = t0 - cL, g = h0 / D::HPG;
  const int pValid = min(D::PT3, D::P - p0);
  const int kRows = tl0 + D::BT; // chunk rows up to this tile's last one

  float *stats = reinterpret_cast<float *>(ssdSmemG);
  E *region = reinterpret_cast<E *>(stats + HB * D::kStats);
  E *sC = region, *sB = region + D::BT * D::LDN;

  const E *x = dev::buffer<const E>(p, Cfg::kX);
  const E *Bm = dev::buffer<const E>(p, Cfg::kB);
  const E *Cm = dev::buffer<const E>(p, Cfg::kC);
  E *y = dev::buffer<E>(p, Cfg::kY);
  SsdWorkspace<Cfg> ws(p, chunks);

  // Rows past T read as zeros: a zero weight times stale shared memory
  // could be NaN.
  ssdCopyRowsAsync<D::Np, D::LDN>(
      sC, D::BT,
      [&](int r) -> const E * {
        return t0 + r < T ? Cm + ((int64_t(b) * T + t0 + r) * D::G + g) * D::N
                          : nullptr;
      },
      Cm, D::N);
  ssdCopyRowsAsync<D::Np, D::LDN>(
      sB, kRows,
      [&](int r) -> const E * {
        return cL + r < T ? Bm + ((int64_t(b) * T + cL + r) * D::G + g) * D::N
                          : nullptr;
      },
      Bm, D::N);
  dev::cpAsyncCommit();
  ssdChunkStatsHeads<Cfg, HB, D::NW3 * dev::kWarpSize>(p, b, h0, cL, T, stats);
  dev::cpAsyncWait<0>();
  dev::syncThreads();

  const int warp = dev::warpId();
  const int tw = tl0 + 16 * warp; // first chunk row of this warp
  const int u = tw / D::SB;       // its sub-block = its last key block
  AFrag<1, D::Np / 16> cf;
  cf.load(reinterpret_cast<const bf16 *>(sC + 16 * warp * D::LDN), D::LDN);
  uint32_t cb[KB][kNB16][2];
#pragma unroll
  for (int kb = 0; kb < KB; ++kb) {
    if (kb <= u) {
      Acc<1, 2> s;
      s.zero();
      gemmNT<1, 2, D::Np / 16>(
          s, cf, reinterpret_cast<const bf16 *>(sB + 16 * kb * D::LDN), D::LDN);
#pragma unroll
      for (int j = 0; j < kNB16; ++j) {
        cb[kb][j][0] = dev::packBf16x2(s.v[0][j][0], s.v[0][j][1]);
        cb[kb][j][1] = dev::packBf16x2(s.v[0][j][2], s.v[0][j][3]);
      }
    }
  }
  dev::syncThreads(); // C and B make room for the head slots

  auto loadHead = [&](int i) {
    E *sH = region + (i & 1) * kSlot, *sX = sH + D::PT3 * D::LDN;
    const int h = h0 + i;
    const E *enter =
        ws.enter + SsdWorkspace<Cfg>::cell(b, chunks, c, h) * D::P * D::N;
    ssdCopyRowsAsync<D::Np, D::LDN>(
        sH, D::PT3,
        [&](int r) -> const E * {
          return p0 + r < D::P ? enter + int64_t(p0 + r) * D::N : nullptr;
        },
        Cm, D::N);
    ssdCopyRowsAsync<D::PT3, D::LDX3>(
        sX, kRows,
        [&](int r) -> const E * {
          return cL + r < T
                     ? x + ((int64_t(b) * T + cL + r) * D::H + h) * D::P + p0
                     : nullptr;
        },
        x, pValid);
  };
  loadHead(0);
  dev::cpAsyncCommit();
  if (HB > 1)
    loadHead(1);
  dev::cpAsyncCommit();

  for (int i = 0; i < HB; ++i) {
    dev::cpAsyncWait<1>(); // head i landed (head i + 1 may fly)
    dev::syncThreads();
    const int h = h0 + i;
    const E *sH = region + (i & 1) * kSlot, *sX = sH + D::PT3 * D::LDN;
    const float *sDt = stats + i * D::kStats;
    const float *sCl = sDt + D::L, *sW = sCl + D::L, *sPfx = sW + D::L;
    const float pfxBefore = u > 0 ? sPfx[u - 1] : 0.f;
    float rowCl[kAccRows], rowF[kAccRows];
#pragma unroll
    for (int hh = 0; hh < kAccRows; ++hh) {
      rowCl[hh] = sCl[tw + accRow(0, hh)];
      rowF[hh] = expf(rowCl[hh]);
    }

    // Inter-chunk part: exp(cum[t]) * C[t] . H_in.
    Acc<1, D::PT3 / 8> acc;
    acc.zero();
    gemmNT<1, D::PT3 / 8, D::Np / 16>(
        acc, cf, reinterpret_cast<const bf16 *>(sH), D::LDN);
#pragma unroll
    for (int j = 0; j < decltype(acc)::NB; ++j) {
#pragma unroll
      for (int e = 0; e < kAccElems; ++e)
        acc.v[0][j][e] *= expf(pfxBefore + rowCl[e / kAccCols]);
    }

    // Intra-chunk part: the stored C.B^T times this head's decays.
#pragma unroll
    for (int kb = 0; kb < KB; ++kb) {
      if (kb <= u) {
        const float blk = kb < u ? expf(pfxBefore - sPfx[kb]) : 0.f;
        Acc<1, 2> s;
#pragma unroll
        for (int j = 0; j < kNB16; ++j) {
          const float2 lo = dev::unpackBf16x2(cb[kb][j][0]);
          const float2 hi = dev::unpackBf16x2(cb[kb][j][1]);
          const float v[4] = {lo.x, lo.y, hi.x, hi.y};
#pragma unroll
          for (int e = 0; e < kAccElems; ++e) {
            const int hh = e / kAccCols;
            const int sIdx = 16 * kb + accCol(j, e % kAccCols);
            float w;
            if (kb < u)
              w = rowF[hh] * blk * sW[sIdx];
            else if (sIdx > tw + accRow(0, hh))
              w = 0.f;
            else
              w = expf(rowCl[hh] - sCl[sIdx]) * sDt[sIdx];
            s.v[0][j][e] = v[e] * w;
          }
        }
        gemmRegNN<1, D::PT3 / 8, 1>(acc, s, sX + 16 * kb * D::LDX3, D::LDX3);
      }
    }

    // y = acc + D x (x of these rows is in the slot).
    const float dskip =
        Cfg::kD >= 0 ? dev::toFloat(dev::buffer<const W>(p, Cfg::kD)[h]) : 0.f;
#pragma unroll
    for (int hh = 0; hh < kAccRows; ++hh) {
      const int tr = tw + accRow(0, hh), t = cL + tr;
      if (t >= T)
        continue;
      const int64_t row = (int64_t(b) * T + t) * D::H + h;
#pragma unroll
      for (int j = 0; j < decltype(acc)::NB; ++j)
#pragma unroll
        for (int cc = 0; cc < kAccCols; cc += 2) {
          const int col = accCol(j, cc);
          if (col < pValid) {
            const E *xr = sX + tr * D::LDX3 + col;
            store2(y + row * D::P + p0 + col,
                   acc.at(0, j, hh, cc) + dskip * dev::toFloat(xr[0]),
                   acc.at(0, j, hh, cc + 1) + dskip * dev::toFloat(xr[1]));
          }
        }
    }
    dev::syncThreads(); // every warp is done with slot i & 1
    if (i + 2 < HB)
      loadHead(i + 2);
    dev::cpAsyncCommit();
  }
}

} // namespace kern
} // namespace braid

#if !defined(BRAID_HIP)
#include "targets/common/kernels/SSDHopper.cuh"
#endif

namespace braid {
namespace kern {

/// Kernel 3 entry: the form the plan chose (wgmma grouped on sm_90a,
/// grouped, per head).
template <typename Cfg>
BRAID_DEVICE void ssdChunkOutputEntry(const BraidKernelParams &p) {
  if constexpr (Cfg::kOutWg) {
#if !defined(BRAID_HIP)
    ssdChunkOutputWg<Cfg>(p);
#endif
  } else if constexpr (Cfg::kOutHeads > 0) {
    ssdChunkOutputGrouped<Cfg>(p);
  } else {
    ssdChunkOutput<Cfg>(p);
  }
}

} // namespace kern
} // namespace braid

#define BRAID_SSD_ENTRIES(PREFIX, CFG)                                         \
  extern "C" __global__ void __launch_bounds__(4 * braid::dev::kWarpSize)     \
      PREFIX##_state(BraidKernelParams p) {                                    \
    BRAID_KERNEL_PROLOGUE();                                                   \
    braid::kern::ssdChunkState<CFG>(p);                                        \
  }                                                                            \
  extern "C" __global__ void __launch_bounds__(4 * braid::dev::kWarpSize)     \
      PREFIX##_pass(BraidKernelParams p) {                                     \
    BRAID_KERNEL_PROLOGUE();                                                   \
    braid::kern::ssdStatePass<CFG>(p);                                         \
  }                                                                            \
  /* The wgmma output pass reads its inputs before it waits (SSDHopper.cuh \
     says why that is safe); the output passes of other plans wait at once. */\
  extern "C" __global__ void __launch_bounds__(                                \
      CFG::kOutWarps * braid::dev::kWarpSize, 1)                              \
      PREFIX##_output(BraidKernelParams p) {                                   \
    BRAID_KERNEL_PROLOGUE_READS_FIRST();                                       \
    if constexpr (!CFG::kOutWg)                                                \
      braid::dev::waitForPrerequisiteGrids();                                  \
    braid::kern::ssdChunkOutputEntry<CFG>(p);                                  \
  }

#endif // BRAID_TARGETS_COMMON_KERNELS_SSD_CUH
