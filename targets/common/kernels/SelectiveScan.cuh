//===- SelectiveScan.cuh - Mamba1 selective scan and state update ---------===//
//
// braid.selective_scan with three kernels, for every T:
//
//   <prefix>_xproj  grid (ceil(B*T/64), ceil((R+2N)/64), 1)
//       proj = x @ x_proj^T                  (fp32, workspace [B*T, R+2N])
//   <prefix>_dt     grid (ceil(B*T/64), ceil(d_inner/64), 1)
//       delta = softplus(norm(dt_low) @ dt_proj^T + dt_bias)
//                                            (fp32, workspace [B*T, d_inner])
//   <prefix>_scan   grid (ceil(d_inner/CPB), 1, B)
//       the recurrence over T with the fp32 state in registers, B and C
//       rms-normalized on the fly, D skip and SiLU gate; decode is T = 1.
//
// The projections are one block-tile GEMM (64 x 64 tiles, 4 warps of 32 x
// 32, k-steps of 32 through shared memory, WarpTile.cuh: tensor cores in
// bf16 mode, FMAs in f32 mode). The scan gives each channel TPC lanes
// (about 16 states per lane) and stages kSelTokens tokens of B, C, delta,
// x and z in shared memory per step.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_SELECTIVESCAN_CUH
#define BRAID_TARGETS_COMMON_KERNELS_SELECTIVESCAN_CUH

#include "targets/common/kernels/SequenceLayout.h"
#include "targets/common/kernels/WarpTile.cuh"

namespace braid {
namespace kern {

template <typename Cfg> struct SelDims {
  using E = typename Cfg::E; // x, z, y
  using W = typename Cfg::W; // weights
  using S = typename Cfg::S; // state
  /// Shared element type of the projections: bf16 runs on tensor cores.
  using SE = typename std::conditional<kIsBf16<E>, dev::bf16, float>::type;
  static constexpr int DIN = Cfg::kInner, R = Cfg::kRank, N = Cfg::kState;
  static constexpr int WIDTH = R + 2 * N;
  static constexpr int LDP = int(seqlayout::selProjStride(R, N));
  static constexpr int GM = seqlayout::kSelGemmM, GN = seqlayout::kSelGemmN,
                       GK = seqlayout::kSelGemmK;
  static constexpr int LDS = GK + kRowPad<SE>;
  static constexpr int TT = seqlayout::kSelTokens;
  static constexpr int kThreads = 4 * dev::kWarpSize; // 4 warps
  static constexpr int TPC = Cfg::kLanesPerChannel, NPT = ceilDiv(N, TPC);
  static constexpr int CPB = kThreads / TPC;
  static_assert(kThreads % TPC == 0 && TPC <= dev::kWarpSize,
                "selective_scan: lanes per channel");
};

template <typename Cfg> struct SelWorkspace {
  float *proj, *delta;
  BRAID_DEVICE SelWorkspace(const BraidKernelParams &p) {
    proj = static_cast<float *>(p.workspace);
    delta = proj + int64_t(p.batch) * p.tokens * SelDims<Cfg>::LDP;
  }
};

/// One 64 x 64 output tile: acc += A[m0.., :K] @ Wt[n0.., :K]^T, both
/// staged through shared memory by loadA(k0) / loadB(k0). Warp w owns rows
/// 32 * (w % 2) and columns 32 * (w / 2) of the tile.
template <typename Cfg, int K, typename LoadA, typename LoadB>
BRAID_DEVICE void selGemmTile(Acc<2, 4> &acc, typename SelDims<Cfg>::SE *sA,
                              typename SelDims<Cfg>::SE *sB, LoadA loadA,
                              LoadB loadB) {
  using D = SelDims<Cfg>;
  const int w = dev::warpId();
  for (int k0 = 0; k0 < K; k0 += D::GK) {
    loadA(k0);
    loadB(k0);
    dev::syncThreads();
    gemmNT<2, 4, D::GK>(acc, sA + 32 * (w % 2) * D::LDS, D::LDS,
                        sB + 32 * (w / 2) * D::LDS, D::LDS);
    dev::syncThreads();
  }
}

/// Calls fn(row, col, value) for every accumulator element of the tile.
template <typename Fn>
BRAID_DEVICE void selForEach(const Acc<2, 4> &acc, Fn fn) {
  const int w = dev::warpId();
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < Acc<2, 4>::NB; ++j)
#pragma unroll
      for (int e = 0; e < kAccElems; ++e)
        fn(32 * (w % 2) + accRow(i, e / kAccCols),
           32 * (w / 2) + accCol(j, e % kAccCols), acc.v[i][j][e]);
}

/// Kernel 1: proj[m, :] = x[m, :] @ x_proj^T, m = b * T + t.
template <typename Cfg> BRAID_DEVICE void selXProj(const BraidKernelParams &p) {
  using D = SelDims<Cfg>;
  using E = typename D::E;
  using W = typename D::W;
  using SE = typename D::SE;
  extern __shared__ __align__(16) unsigned char selSmem1[];
  SE *sA = reinterpret_cast<SE *>(selSmem1), *sB = sA + D::GM * D::LDS;
  const int M = int(p.batch * p.tokens);
  const int m0 = dev::blockIdX() * D::GM, n0 = dev::blockIdY() * D::GN;
  if (m0 >= M)
    return;
  const E *x = dev::buffer<const E>(p, Cfg::kX);
  const W *wp = dev::buffer<const W>(p, Cfg::kXProj);
  Acc<2, 4> acc;
  acc.zero();
  selGemmTile<Cfg, roundUp(D::DIN, D::GK)>(
      acc, sA, sB,
      [&](int k0) {
        copyTileMapped<D::GM, D::GK, D::LDS, SE, E>(
            sA,
            [&](int r) -> const E * {
              return m0 + r < M ? x + int64_t(m0 + r) * D::DIN + k0 : nullptr;
            },
            min(D::GK, D::DIN - k0), [](int, int, float v) { return v; });
      },
      [&](int k0) {
        copyTileMapped<D::GN, D::GK, D::LDS, SE, W>(
            sB,
            [&](int r) -> const W * {
              return n0 + r < D::WIDTH ? wp + int64_t(n0 + r) * D::DIN + k0
                                       : nullptr;
            },
            min(D::GK, D::DIN - k0), [](int, int, float v) { return v; });
      });
  SelWorkspace<Cfg> ws(p);
  selForEach(acc, [&](int r, int c, float v) {
    if (m0 + r < M && n0 + c < D::WIDTH)
      ws.proj[int64_t(m0 + r) * D::LDP + n0 + c] = v;
  });
}

/// Kernel 2: delta[m, :] = softplus(norm(dt_low[m]) @ dt_proj^T + dt_bias).
template <typename Cfg> BRAID_DEVICE void selDtProj(const BraidKernelParams &p) {
  using D = SelDims<Cfg>;
  using W = typename D::W;
  using SE = typename D::SE;
  extern __shared__ __align__(16) unsigned char selSmem2[];
  SE *sA = reinterpret_cast<SE *>(selSmem2), *sB = sA + D::GM * D::LDS;
  float *sInv = reinterpret_cast<float *>(sB + D::GN * D::LDS);
  const int M = int(p.batch * p.tokens);
  const int m0 = dev::blockIdX() * D::GM, n0 = dev::blockIdY() * D::GN;
  if (m0 >= M)
    return;
  SelWorkspace<Cfg> ws(p);
  const W *dtn = Cfg::kDtNorm >= 0 ? dev::buffer<const W>(p, Cfg::kDtNorm) : nullptr;
  // Row norms of dt_low (Jamba), one warp per row.
  for (int r = dev::warpId(); r < D::GM; r += dev::warpCount()) {
    float ss = 0.f;
    if (Cfg::kDtNorm >= 0 && m0 + r < M)
      for (int k = dev::laneId(); k < D::R; k += dev::kWarpSize) {
        const float v = ws.proj[int64_t(m0 + r) * D::LDP + k];
        ss += v * v;
      }
    ss = dev::warpSum(ss);
    if (dev::laneId() == 0)
      sInv[r] = Cfg::kDtNorm >= 0 ? rsqrtf(ss / D::R + Cfg::kEps) : 1.f;
  }
  dev::syncThreads();
  const W *wd = dev::buffer<const W>(p, Cfg::kDtProj);
  Acc<2, 4> acc;
  acc.zero();
  selGemmTile<Cfg, roundUp(D::R, D::GK)>(
      acc, sA, sB,
      [&](int k0) {
        copyTileMapped<D::GM, D::GK, D::LDS, SE, float>(
            sA,
            [&](int r) -> const float * {
              return m0 + r < M ? ws.proj + int64_t(m0 + r) * D::LDP + k0
                                : nullptr;
            },
            min(D::GK, D::R - k0), [&](int r, int c, float v) {
              return dtn ? dev::toFloat(dtn[k0 + c]) * (v * sInv[r]) : v;
            });
      },
      [&](int k0) {
        copyTileMapped<D::GN, D::GK, D::LDS, SE, W>(
            sB,
            [&](int r) -> const W * {
              return n0 + r < D::DIN ? wd + int64_t(n0 + r) * D::R + k0
                                     : nullptr;
            },
            min(D::GK, D::R - k0), [](int, int, float v) { return v; });
      });
  const W *bias = dev::buffer<const W>(p, Cfg::kDtBias);
  selForEach(acc, [&](int r, int c, float v) {
    if (m0 + r < M && n0 + c < D::DIN) {
      const float d = v + dev::toFloat(bias[n0 + c]);
      ws.delta[int64_t(m0 + r) * D::DIN + n0 + c] =
          d > 20.f ? d : log1pf(expf(d));
    }
  });
}

/// Kernel 3: the scan of CPB channels of one sequence.
template <typename Cfg> BRAID_DEVICE void selScan(const BraidKernelParams &p) {
  using D = SelDims<Cfg>;
  using E = typename D::E;
  using W = typename D::W;
  using S = typename D::S;
  extern __shared__ __align__(16) unsigned char selSmem3[];
  float *sBC = reinterpret_cast<float *>(selSmem3); // [TT][2][N]
  float *sDelta = sBC + D::TT * 2 * D::N;           // [TT][CPB]
  float *sX = sDelta + D::TT * D::CPB;
  float *sZ = sX + D::TT * D::CPB;
  const int T = int(p.tokens), b = dev::blockIdZ();
  const int c0 = dev::blockIdX() * D::CPB;
  const int lc = dev::threadId() / D::TPC, sub = dev::threadId() % D::TPC;
  const int ch = c0 + lc;
  const bool valid = ch < D::DIN;
  SelWorkspace<Cfg> ws(p);
  const E *x = dev::buffer<const E>(p, Cfg::kX);
  const E *z = Cfg::kGate >= 0 ? dev::buffer<const E>(p, Cfg::kGate) : nullptr;
  E *y = dev::buffer<E>(p, Cfg::kY);
  const W *Am = dev::buffer<const W>(p, Cfg::kA);
  const float dskip =
      Cfg::kD >= 0 && valid ? dev::toFloat(dev::buffer<const W>(p, Cfg::kD)[ch])
                            : 0.f;
  const int64_t sbase = (int64_t(b) * D::DIN + ch) * D::N;

  float st[D::NPT], a[D::NPT];
#pragma unroll
  for (int k = 0; k < D::NPT; ++k) {
    const int n = sub * D::NPT + k;
    const bool in = valid && n < D::N;
    a[k] = in ? dev::toFloat(Am[int64_t(ch) * D::N + n]) : 0.f;
    st[k] = in && Cfg::kStateIn >= 0
                ? dev::toFloat(dev::buffer<const S>(p, Cfg::kStateIn)[sbase + n])
                : 0.f;
  }

  for (int t0 = 0; t0 < T; t0 += D::TT) {
    const int tt = min(D::TT, T - t0);
    // B and C rows of the step's tokens, normalized (Jamba), one warp each.
    for (int row = dev::warpId(); row < 2 * tt; row += dev::warpCount()) {
      const int i = row / 2, which = row % 2;
      const float *src =
          ws.proj + (int64_t(b) * T + t0 + i) * D::LDP + D::R + which * D::N;
      const int normIdx = which == 0 ? Cfg::kBNorm : Cfg::kCNorm;
      float inv = 1.f;
      if (normIdx >= 0) {
        float ss = 0.f;
        for (int n = dev::laneId(); n < D::N; n += dev::kWarpSize)
          ss += src[n] * src[n];
        ss = dev::warpSum(ss);
        inv = rsqrtf(ss / D::N + Cfg::kEps);
      }
      for (int n = dev::laneId(); n < D::N; n += dev::kWarpSize) {
        float v = src[n];
        if (normIdx >= 0)
          v = dev::toFloat(dev::buffer<const W>(p, normIdx)[n]) * (v * inv);
        sBC[(i * 2 + which) * D::N + n] = v;
      }
    }
    for (int idx = dev::threadId(); idx < tt * D::CPB; idx += dev::blockSize()) {
      const int i = idx / D::CPB, cc = idx % D::CPB, c = c0 + cc;
      if (c < D::DIN) {
        const int64_t at = (int64_t(b) * T + t0 + i) * D::DIN + c;
        sDelta[i * D::CPB + cc] = ws.delta[at];
        sX[i * D::CPB + cc] = dev::toFloat(x[at]);
        sZ[i * D::CPB + cc] = z ? dev::toFloat(z[at]) : 0.f;
      }
    }
    dev::syncThreads();
    for (int i = 0; i < tt; ++i) {
      const float dl = sDelta[i * D::CPB + lc], xv = sX[i * D::CPB + lc];
      const float *Bv = sBC + (i * 2) * D::N, *Cv = Bv + D::N;
      float acc = 0.f;
#pragma unroll
      for (int k = 0; k < D::NPT; ++k) {
        const int n = sub * D::NPT + k;
        if (n < D::N) {
          st[k] = expf(a[k] * dl) * st[k] + (dl * Bv[n]) * xv;
          acc += st[k] * Cv[n];
        }
      }
      acc = dev::groupSum<D::TPC>(acc);
      if (valid && sub == 0) {
        float out = acc + dskip * xv;
        if (z) {
          const float zv = sZ[i * D::CPB + lc];
          out *= zv / (1.f + expf(-zv));
        }
        y[(int64_t(b) * T + t0 + i) * D::DIN + ch] = dev::fromFloat<E>(out);
      }
    }
    dev::syncThreads();
  }
  if (Cfg::kStateOut >= 0 && valid) {
#pragma unroll
    for (int k = 0; k < D::NPT; ++k) {
      const int n = sub * D::NPT + k;
      if (n < D::N)
        dev::buffer<S>(p, Cfg::kStateOut)[sbase + n] = dev::fromFloat<S>(st[k]);
    }
  }
}

} // namespace kern
} // namespace braid

#define BRAID_SELECTIVE_SCAN_ENTRIES(PREFIX, CFG)                              \
  extern "C" __global__ void __launch_bounds__(4 * braid::dev::kWarpSize)     \
      PREFIX##_xproj(BraidKernelParams p) {                                    \
    BRAID_KERNEL_PROLOGUE();                                                   \
    braid::kern::selXProj<CFG>(p);                                             \
  }                                                                            \
  extern "C" __global__ void __launch_bounds__(4 * braid::dev::kWarpSize)     \
      PREFIX##_dt(BraidKernelParams p) {                                       \
    BRAID_KERNEL_PROLOGUE();                                                   \
    braid::kern::selDtProj<CFG>(p);                                            \
  }                                                                            \
  extern "C" __global__ void __launch_bounds__(4 * braid::dev::kWarpSize)     \
      PREFIX##_scan(BraidKernelParams p) {                                     \
    BRAID_KERNEL_PROLOGUE();                                                   \
    braid::kern::selScan<CFG>(p);                                              \
  }

#endif // BRAID_TARGETS_COMMON_KERNELS_SELECTIVESCAN_CUH
