//===- WarpTile.cuh - warp-level matrix tiles over shared memory ----------===//
//
// The building block of the sequence kernels (attention, the SSD scan, the
// selective scan's projections): one warp (wave) accumulates an fp32 tile
// of 16*MT rows x 8*NT columns from operands in shared memory (or, for the
// second product of attention-like kernels, from a previous accumulator
// held in registers: P @ V).
//
// The accumulator placement is a per-vendor constant that every consumer
// reads through accRow / accCol / Acc::at and reduces rows with
// accRowReduce, so that masks, softmax, decays and epilogues are one code:
//   * NVIDIA (warp 32): blocks of 16 x 8; lane (group g, tig t) holds rows
//     g and g + 8, columns 2t and 2t + 1 (mma.m16n8k16's C layout).
//   * AMD (wave 64): blocks of 16 x 16; lane l holds row l % 16, columns
//     4 * (l / 16) .. +3 (MFMA 16x16x16 issued transposed, see below).
// Arithmetic back ends:
//   * bf16 operands: ldmatrix + mma.m16n8k16 on NVIDIA; 8-byte LDS reads +
//     v_mfma_f32_16x16x16_bf16 on AMD (fp32 accumulate on both);
//   * fp32 operands: the same elements computed with FMAs (validation mode).
//
// Operand layouts (leading dimensions in elements; every shared row starts
// 16-byte aligned; rows padded by kRowPad so that 8 consecutive rows hit
// distinct banks):
//   gemmNT:    acc[m][n] += sum_k A[m][k] * B[n][k]   (A row-major, B "K-like")
//   gemmNN:    acc[m][n] += sum_k A[m][k] * B[k][n]   (B "V-like")
//   gemmTN:    acc[m][n] += sum_k A[k][m] * B[k][n]   (A stored transposed)
//   gemmRegNN: acc[m][n] += sum_k P[m][k] * B[k][n]   (P an accumulator tile)
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_WARPTILE_CUH
#define BRAID_TARGETS_COMMON_KERNELS_WARPTILE_CUH

#include "targets/common/kernels/Portability.cuh"

#include <type_traits>

namespace braid {
namespace kern {

using dev::bf16;

template <typename E>
constexpr bool kIsBf16 = std::is_same<E, dev::bf16>::value;

/// Elements of padding per shared-memory row: 16 bytes.
template <typename E> constexpr int kRowPad = int(16 / sizeof(E));

BRAID_HOST_DEVICE constexpr int ceilDiv(int a, int b) { return (a + b - 1) / b; }
BRAID_HOST_DEVICE constexpr int roundUp(int a, int b) { return ceilDiv(a, b) * b; }

//===----------------------------------------------------------------------===//
// Accumulator placement
//===----------------------------------------------------------------------===//

#if defined(BRAID_HIP)
constexpr int kAccBlockN = 16; // columns of one accumulator block
constexpr int kAccRows = 1;    // rows of a block per lane
constexpr int kAccCols = 4;    // consecutive columns per row per lane
constexpr int kAccRowLaneStride = 16; // lanes sharing a row are 16 apart
#else
constexpr int kAccBlockN = 8;
constexpr int kAccRows = 2;
constexpr int kAccCols = 2;
constexpr int kAccRowLaneStride = 1;
#endif
constexpr int kAccElems = kAccRows * kAccCols; // 4 on both vendors
static_assert(kAccElems * dev::kWarpSize == 16 * kAccBlockN,
              "an accumulator block is spread over the whole warp");

/// An fp32 accumulator tile of one warp: 16*MT rows x 8*NT columns, held as
/// MT x NB blocks of 16 x kAccBlockN.
template <int MT, int NT> struct Acc {
  static_assert((8 * NT) % kAccBlockN == 0,
                "Acc: tile width must be a multiple of the block width");
  static constexpr int NB = 8 * NT / kAccBlockN;
  float v[MT][NB][kAccElems];
  BRAID_DEVICE void zero() {
#pragma unroll
    for (int i = 0; i < MT; ++i)
#pragma unroll
      for (int j = 0; j < NB; ++j)
#pragma unroll
        for (int e = 0; e < kAccElems; ++e)
          v[i][j][e] = 0.f;
  }
  /// Element (row slot h, column c) of block (i, j) of this lane.
  BRAID_DEVICE float &at(int i, int j, int h, int c) {
    return v[i][j][h * kAccCols + c];
  }
  BRAID_DEVICE float at(int i, int j, int h, int c) const {
    return v[i][j][h * kAccCols + c];
  }
};

/// Row (within the warp tile) of row slot h (< kAccRows) of m-block i.
BRAID_DEVICE int accRow(int i, int h) {
#if defined(BRAID_HIP)
  return 16 * i + dev::mmaGroupId() + 0 * h;
#else
  return 16 * i + dev::mmaGroupId() + 8 * h;
#endif
}
/// Column (within the warp tile) of column c (< kAccCols) of n-block j.
BRAID_DEVICE int accCol(int j, int c) {
  return kAccBlockN * j + kAccCols * dev::mmaThreadInGroup() + c;
}
/// Combines a value over the lanes that hold parts of the same rows; every
/// such lane gets the result.
template <typename Op> BRAID_DEVICE float accRowReduce(float v, Op op) {
#pragma unroll
  for (int m = 1; m < dev::kMmaGroupLanes; m <<= 1)
    v = op(v, dev::shflXor(v, m * kAccRowLaneStride));
  return v;
}
BRAID_DEVICE float accRowMax(float v) {
  return accRowReduce(v, [](float a, float b) { return fmaxf(a, b); });
}
BRAID_DEVICE float accRowSum(float v) {
  return accRowReduce(v, [](float a, float b) { return a + b; });
}
/// One lane per row (for per-row statistics).
BRAID_DEVICE bool accRowLeader() { return dev::mmaThreadInGroup() == 0; }

#if defined(BRAID_HIP)
//===----------------------------------------------------------------------===//
// MFMA back end (AMD, bf16) and the FMA back end in the AMD placement
//===----------------------------------------------------------------------===//
//
// Each product is issued transposed, D = B * A^T: MFMA's first operand is a
// 16 x 16 block of B (lane l supplies row n = l % 16, k = 4 * (l / 16) ..
// +3), its second one of A (row m = l % 16, the same k), and lane l receives
// D[4 * (l / 16) + e][l % 16] = C[m = l % 16][n = 4 * (l / 16) + e]: one
// row and four consecutive columns. That placement equals the A-operand
// placement, so an accumulator tile feeds P @ V without any shuffle.

namespace detail {

/// Four consecutive 16-bit values of row `row` from column `col` (one
/// 8-byte LDS read; ld and col are multiples of 4).
BRAID_DEVICE dev::mfmaBf16x4 frag4(const bf16 *M, int ld, int row, int col) {
  return *reinterpret_cast<const dev::mfmaBf16x4 *>(M + row * ld + col);
}
/// Four values down column `col` from row `k0` (a K-major tile read across
/// its rows: V-like B, transposed A).
BRAID_DEVICE dev::mfmaBf16x4 frag4T(const bf16 *M, int ld, int k0, int col) {
  const short *s = reinterpret_cast<const short *>(M);
  dev::mfmaBf16x4 r;
  r[0] = s[(k0 + 0) * ld + col];
  r[1] = s[(k0 + 1) * ld + col];
  r[2] = s[(k0 + 2) * ld + col];
  r[3] = s[(k0 + 3) * ld + col];
  return r;
}
/// d += B-block(x) * A-block(y)^T (see above).
BRAID_DEVICE void mfma(float (&d)[4], dev::mfmaBf16x4 x, dev::mfmaBf16x4 y) {
  dev::mfmaF32x4 c = {d[0], d[1], d[2], d[3]};
  c = dev::mfmaBf16_16x16x16(x, y, c);
  d[0] = c[0];
  d[1] = c[1];
  d[2] = c[2];
  d[3] = c[3];
}
BRAID_DEVICE int fragRow() { return dev::laneId() % 16; }
BRAID_DEVICE int fragK() { return 4 * (dev::laneId() / 16); }

/// acc[i][*] += a[i] * B for one k-step at k0; B stored [k][n] when NN,
/// else [n][k].
template <int MT, int NT, bool NN>
BRAID_DEVICE void mfmaRow(Acc<MT, NT> &acc, const dev::mfmaBf16x4 (&a)[MT],
                          const bf16 *B, int ldb, int k0) {
#pragma unroll
  for (int j = 0; j < Acc<MT, NT>::NB; ++j) {
    const int n = 16 * j + fragRow();
    const dev::mfmaBf16x4 b = NN ? frag4T(B, ldb, k0 + fragK(), n)
                                 : frag4(B, ldb, n, k0 + fragK());
#pragma unroll
    for (int i = 0; i < MT; ++i)
      mfma(acc.v[i][j], b, a[i]);
  }
}

} // namespace detail

/// A operand fragments kept in registers across many products (the query
/// tile of attention, the C tile of the SSD output pass). Only for bf16.
template <int MT, int KT> struct AFrag {
  dev::mfmaBf16x4 r[MT][KT];
  BRAID_DEVICE void load(const bf16 *A, int lda) {
#pragma unroll
    for (int i = 0; i < MT; ++i)
#pragma unroll
      for (int kk = 0; kk < KT; ++kk)
        r[i][kk] = detail::frag4(A, lda, 16 * i + detail::fragRow(),
                                 16 * kk + detail::fragK());
  }
};

/// acc += A(regs) * B^T, B stored [n][k], K = 16 * KT.
template <int MT, int NT, int KT>
BRAID_DEVICE void gemmNT(Acc<MT, NT> &acc, const AFrag<MT, KT> &a,
                         const bf16 *B, int ldb) {
#pragma unroll
  for (int kk = 0; kk < KT; ++kk) {
    dev::mfmaBf16x4 ak[MT];
#pragma unroll
    for (int i = 0; i < MT; ++i)
      ak[i] = a.r[i][kk];
    detail::mfmaRow<MT, NT, false>(acc, ak, B, ldb, 16 * kk);
  }
}

/// acc[m][n] += sum_{k<K} A[m*lda+k] * B[n*ldb+k]; A points at the warp
/// tile's row 0, B at its column 0. K is a multiple of 16.
template <int MT, int NT, int K, typename E>
BRAID_DEVICE void gemmNT(Acc<MT, NT> &acc, const E *A, int lda, const E *B,
                         int ldb) {
  static_assert(K % 16 == 0, "gemmNT: K must be a multiple of 16");
  constexpr int NB = Acc<MT, NT>::NB;
  const int g = dev::mmaGroupId(), q = dev::mmaThreadInGroup();
  if constexpr (kIsBf16<E>) {
#pragma unroll
    for (int kk = 0; kk < K / 16; ++kk) {
      dev::mfmaBf16x4 a[MT];
#pragma unroll
      for (int i = 0; i < MT; ++i)
        a[i] = detail::frag4(A, lda, 16 * i + g, 16 * kk + 4 * q);
      detail::mfmaRow<MT, NT, false>(acc, a, B, ldb, 16 * kk);
    }
  } else {
#pragma unroll 2
    for (int k = 0; k < K; k += 4) {
      float4 a[MT];
#pragma unroll
      for (int i = 0; i < MT; ++i)
        a[i] = *reinterpret_cast<const float4 *>(A + (16 * i + g) * lda + k);
#pragma unroll
      for (int j = 0; j < NB; ++j)
#pragma unroll
        for (int c = 0; c < 4; ++c) {
          const float4 b = *reinterpret_cast<const float4 *>(
              B + (16 * j + 4 * q + c) * ldb + k);
#pragma unroll
          for (int i = 0; i < MT; ++i) {
            float s = acc.v[i][j][c];
            s = fmaf(a[i].x, b.x, s);
            s = fmaf(a[i].y, b.y, s);
            s = fmaf(a[i].z, b.z, s);
            s = fmaf(a[i].w, b.w, s);
            acc.v[i][j][c] = s;
          }
        }
    }
  }
}

/// One k step of fmaKN.
template <int MT, int NT, typename AAt>
BRAID_DEVICE void fmaK(Acc<MT, NT> &acc, AAt aAt, const float *B, int ldb,
                       int k) {
  const int q = dev::mmaThreadInGroup();
  float a[MT];
#pragma unroll
  for (int i = 0; i < MT; ++i)
    a[i] = aAt(i, k);
#pragma unroll
  for (int j = 0; j < Acc<MT, NT>::NB; ++j) {
    const float4 b =
        *reinterpret_cast<const float4 *>(B + k * ldb + 16 * j + 4 * q);
#pragma unroll
    for (int i = 0; i < MT; ++i) {
      acc.v[i][j][0] = fmaf(a[i], b.x, acc.v[i][j][0]);
      acc.v[i][j][1] = fmaf(a[i], b.y, acc.v[i][j][1]);
      acc.v[i][j][2] = fmaf(a[i], b.z, acc.v[i][j][2]);
      acc.v[i][j][3] = fmaf(a[i], b.w, acc.v[i][j][3]);
    }
  }
}

/// acc[m][n] += sum_k a(m, k) * B[k*ldb+n] for fp32 operands in the AMD
/// placement: `aAt(i, k)` gives this lane's row of m-block i at column k.
/// FULL unrolls the k loop completely: needed when aAt indexes registers
/// by k (an accumulator tile), which would otherwise live in scratch.
template <int MT, int NT, int K, bool FULL = false, typename AAt>
BRAID_DEVICE void fmaKN(Acc<MT, NT> &acc, AAt aAt, const float *B, int ldb) {
  if constexpr (FULL) {
#pragma unroll
    for (int k = 0; k < K; ++k)
      fmaK(acc, aAt, B, ldb, k);
  } else {
#pragma unroll 4
    for (int k = 0; k < K; ++k)
      fmaK(acc, aAt, B, ldb, k);
  }
}

/// acc[m][n] += sum_{k<K} A[m*lda+k] * B[k*ldb+n].
template <int MT, int NT, int K, typename E>
BRAID_DEVICE void gemmNN(Acc<MT, NT> &acc, const E *A, int lda, const E *B,
                         int ldb) {
  static_assert(K % 16 == 0, "gemmNN: K must be a multiple of 16");
  const int g = dev::mmaGroupId(), q = dev::mmaThreadInGroup();
  if constexpr (kIsBf16<E>) {
#pragma unroll
    for (int kk = 0; kk < K / 16; ++kk) {
      dev::mfmaBf16x4 a[MT];
#pragma unroll
      for (int i = 0; i < MT; ++i)
        a[i] = detail::frag4(A, lda, 16 * i + g, 16 * kk + 4 * q);
      detail::mfmaRow<MT, NT, true>(acc, a, B, ldb, 16 * kk);
    }
  } else {
    fmaKN<MT, NT, K>(
        acc, [&](int i, int k) { return A[(16 * i + g) * lda + k]; }, B, ldb);
  }
}

/// acc[m][n] += sum_{k<K} At[k*lda+m] * B[k*ldb+n] (A stored transposed).
template <int MT, int NT, int K, typename E>
BRAID_DEVICE void gemmTN(Acc<MT, NT> &acc, const E *At, int lda, const E *B,
                         int ldb) {
  static_assert(K % 16 == 0, "gemmTN: K must be a multiple of 16");
  const int g = dev::mmaGroupId(), q = dev::mmaThreadInGroup();
  if constexpr (kIsBf16<E>) {
#pragma unroll
    for (int kk = 0; kk < K / 16; ++kk) {
      dev::mfmaBf16x4 a[MT];
#pragma unroll
      for (int i = 0; i < MT; ++i)
        a[i] = detail::frag4T(At, lda, 16 * kk + 4 * q, 16 * i + g);
      detail::mfmaRow<MT, NT, true>(acc, a, B, ldb, 16 * kk);
    }
  } else {
    fmaKN<MT, NT, K>(
        acc, [&](int i, int k) { return At[k * lda + 16 * i + g]; }, B, ldb);
  }
}

/// acc[m][n] += sum_{k<16*KT} P[m][k] * B[k*ldb+n], P an accumulator tile
/// (its columns are the k index). In this placement block kk of P is
/// exactly MFMA's A fragment for k-step kk: rounded to bf16 in place.
template <int MT, int NT, int KT, typename E>
BRAID_DEVICE void gemmRegNN(Acc<MT, NT> &acc, const Acc<MT, 2 * KT> &P,
                            const E *B, int ldb) {
  if constexpr (kIsBf16<E>) {
#pragma unroll
    for (int kk = 0; kk < KT; ++kk) {
      dev::mfmaBf16x4 a[MT];
#pragma unroll
      for (int i = 0; i < MT; ++i) {
        const uint32_t lo = dev::packBf16x2(P.v[i][kk][0], P.v[i][kk][1]);
        const uint32_t hi = dev::packBf16x2(P.v[i][kk][2], P.v[i][kk][3]);
        a[i][0] = short(lo & 0xffffu);
        a[i][1] = short(lo >> 16);
        a[i][2] = short(hi & 0xffffu);
        a[i][3] = short(hi >> 16);
      }
      detail::mfmaRow<MT, NT, true>(acc, a, B, ldb, 16 * kk);
    }
  } else {
    // Column k of P lives in the lane of the same row with q = (k % 16) / 4,
    // element k % 4 of block k / 16.
    const int g = dev::mmaGroupId();
    fmaKN<MT, NT, 16 * KT, true>(
        acc,
        [&](int i, int k) {
          return dev::shflIdx(P.v[i][k / 16][k % 4], g + 16 * ((k % 16) / 4));
        },
        B, ldb);
  }
}

#else
//===----------------------------------------------------------------------===//
// Tensor-core back end (bf16)
//===----------------------------------------------------------------------===//

namespace detail {

/// A fragment of the 16x16 block of A at (row0, col0), A row-major.
BRAID_DEVICE void loadA(uint32_t (&a)[4], const bf16 *A, int lda, int row0,
                        int col0) {
  const int lane = dev::laneId();
  dev::ldmatrixX4(a, A + (row0 + (lane & 15)) * lda + col0 + (lane >> 4) * 8);
}
/// A fragment of the 16x16 block at (m0, k0) of A stored as At[k][m].
BRAID_DEVICE void loadATrans(uint32_t (&a)[4], const bf16 *At, int lda, int m0,
                             int k0) {
  const int lane = dev::laneId();
  dev::ldmatrixX4Trans(a, At + (k0 + (lane & 7) + ((lane >> 4) << 3)) * lda +
                              m0 + ((lane >> 3) & 1) * 8);
}

/// B fragments of n-blocks j and j+1 (16 columns from n0), k-step at k0, B
/// stored [n][k].
BRAID_DEVICE void loadBNT2(uint32_t (&b0)[2], uint32_t (&b1)[2],
                           const bf16 *B, int ldb, int n0, int k0) {
  const int lane = dev::laneId();
  uint32_t r[4];
  dev::ldmatrixX4(r, B + (n0 + (lane & 7) + ((lane >> 4) << 3)) * ldb + k0 +
                         ((lane >> 3) & 1) * 8);
  b0[0] = r[0];
  b0[1] = r[1];
  b1[0] = r[2];
  b1[1] = r[3];
}
BRAID_DEVICE void loadBNT1(uint32_t (&b)[2], const bf16 *B, int ldb, int n0,
                           int k0) {
  const int lane = dev::laneId();
  dev::ldmatrixX2(b, B + (n0 + (lane & 7)) * ldb + k0 + ((lane >> 3) & 1) * 8);
}
/// Same for B stored [k][n].
BRAID_DEVICE void loadBNN2(uint32_t (&b0)[2], uint32_t (&b1)[2],
                           const bf16 *B, int ldb, int n0, int k0) {
  const int lane = dev::laneId();
  uint32_t r[4];
  dev::ldmatrixX4Trans(r, B + (k0 + (lane & 15)) * ldb + n0 + (lane >> 4) * 8);
  b0[0] = r[0];
  b0[1] = r[1];
  b1[0] = r[2];
  b1[1] = r[3];
}
BRAID_DEVICE void loadBNN1(uint32_t (&b)[2], const bf16 *B, int ldb, int n0,
                           int k0) {
  const int lane = dev::laneId();
  dev::ldmatrixX2Trans(b, B + (k0 + (lane & 15)) * ldb + n0);
}

/// acc[i][*] += a[i] * B for one k-step at k0; B stored [k][n] when NN,
/// else [n][k].
template <int MT, int NT, bool NN>
BRAID_DEVICE void mmaRow(Acc<MT, NT> &acc, const uint32_t (&a)[MT][4],
                         const bf16 *B, int ldb, int k0) {
#pragma unroll
  for (int j = 0; j + 1 < NT; j += 2) {
    uint32_t b0[2], b1[2];
    if (NN)
      loadBNN2(b0, b1, B, ldb, 8 * j, k0);
    else
      loadBNT2(b0, b1, B, ldb, 8 * j, k0);
#pragma unroll
    for (int i = 0; i < MT; ++i) {
      dev::mmaBf16_16816(acc.v[i][j], a[i], b0);
      dev::mmaBf16_16816(acc.v[i][j + 1], a[i], b1);
    }
  }
  if (NT & 1) {
    uint32_t b[2];
    if (NN)
      loadBNN1(b, B, ldb, 8 * (NT - 1), k0);
    else
      loadBNT1(b, B, ldb, 8 * (NT - 1), k0);
#pragma unroll
    for (int i = 0; i < MT; ++i)
      dev::mmaBf16_16816(acc.v[i][NT - 1], a[i], b);
  }
}

} // namespace detail

/// A operand fragments kept in registers across many products (the query
/// tile of attention, the C tile of the SSD output pass). Only for bf16.
template <int MT, int KT> struct AFrag {
  uint32_t r[MT][KT][4];
  BRAID_DEVICE void load(const bf16 *A, int lda) {
#pragma unroll
    for (int i = 0; i < MT; ++i)
#pragma unroll
      for (int kk = 0; kk < KT; ++kk)
        detail::loadA(r[i][kk], A, lda, 16 * i, 16 * kk);
  }
};

/// acc += A(regs) * B^T, B stored [n][k], K = 16 * KT.
template <int MT, int NT, int KT>
BRAID_DEVICE void gemmNT(Acc<MT, NT> &acc, const AFrag<MT, KT> &a,
                         const bf16 *B, int ldb) {
#pragma unroll
  for (int kk = 0; kk < KT; ++kk) {
    uint32_t ak[MT][4];
#pragma unroll
    for (int i = 0; i < MT; ++i)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        ak[i][e] = a.r[i][kk][e];
    detail::mmaRow<MT, NT, false>(acc, ak, B, ldb, 16 * kk);
  }
}

//===----------------------------------------------------------------------===//
// Generic entry points (dispatch on the shared-memory element type)
//===----------------------------------------------------------------------===//

/// acc[m][n] += sum_{k<K} A[m*lda+k] * B[n*ldb+k]; A points at the warp
/// tile's row 0, B at its column 0. K is a multiple of 16.
template <int MT, int NT, int K, typename E>
BRAID_DEVICE void gemmNT(Acc<MT, NT> &acc, const E *A, int lda, const E *B,
                         int ldb) {
  static_assert(K % 16 == 0, "gemmNT: K must be a multiple of 16");
  if constexpr (kIsBf16<E>) {
#pragma unroll
    for (int kk = 0; kk < K / 16; ++kk) {
      uint32_t a[MT][4];
#pragma unroll
      for (int i = 0; i < MT; ++i)
        detail::loadA(a[i], A, lda, 16 * i, 16 * kk);
      detail::mmaRow<MT, NT, false>(acc, a, B, ldb, 16 * kk);
    }
  } else {
    const int g = dev::mmaGroupId(), q = dev::mmaThreadInGroup();
#pragma unroll 2
    for (int k = 0; k < K; k += 4) {
      float4 a[MT][2];
#pragma unroll
      for (int i = 0; i < MT; ++i)
#pragma unroll
        for (int h = 0; h < 2; ++h)
          a[i][h] = *reinterpret_cast<const float4 *>(
              A + (16 * i + g + 8 * h) * lda + k);
#pragma unroll
      for (int j = 0; j < NT; ++j) {
        float4 b[2];
#pragma unroll
        for (int e = 0; e < 2; ++e)
          b[e] = *reinterpret_cast<const float4 *>(B + (8 * j + 2 * q + e) * ldb +
                                                   k);
#pragma unroll
        for (int i = 0; i < MT; ++i)
#pragma unroll
          for (int h = 0; h < 2; ++h)
#pragma unroll
            for (int e = 0; e < 2; ++e) {
              float s = acc.v[i][j][2 * h + e];
              s = fmaf(a[i][h].x, b[e].x, s);
              s = fmaf(a[i][h].y, b[e].y, s);
              s = fmaf(a[i][h].z, b[e].z, s);
              s = fmaf(a[i][h].w, b[e].w, s);
              acc.v[i][j][2 * h + e] = s;
            }
      }
    }
  }
}

/// acc[m][n] += sum_{k<K} A[m*lda+k] * B[k*ldb+n].
template <int MT, int NT, int K, typename E>
BRAID_DEVICE void gemmNN(Acc<MT, NT> &acc, const E *A, int lda, const E *B,
                         int ldb) {
  static_assert(K % 16 == 0, "gemmNN: K must be a multiple of 16");
  if constexpr (kIsBf16<E>) {
#pragma unroll
    for (int kk = 0; kk < K / 16; ++kk) {
      uint32_t a[MT][4];
#pragma unroll
      for (int i = 0; i < MT; ++i)
        detail::loadA(a[i], A, lda, 16 * i, 16 * kk);
      detail::mmaRow<MT, NT, true>(acc, a, B, ldb, 16 * kk);
    }
  } else {
    const int g = dev::mmaGroupId(), q = dev::mmaThreadInGroup();
#pragma unroll 2
    for (int k = 0; k < K; k += 4) {
      float4 a[MT][2];
#pragma unroll
      for (int i = 0; i < MT; ++i)
#pragma unroll
        for (int h = 0; h < 2; ++h)
          a[i][h] = *reinterpret_cast<const float4 *>(
              A + (16 * i + g + 8 * h) * lda + k);
#pragma unroll
      for (int kk = 0; kk < 4; ++kk)
#pragma unroll
        for (int j = 0; j < NT; ++j) {
          const float2 b = *reinterpret_cast<const float2 *>(
              B + (k + kk) * ldb + 8 * j + 2 * q);
#pragma unroll
          for (int i = 0; i < MT; ++i)
#pragma unroll
            for (int h = 0; h < 2; ++h) {
              const float av = kk == 0   ? a[i][h].x
                               : kk == 1 ? a[i][h].y
                               : kk == 2 ? a[i][h].z
                                         : a[i][h].w;
              acc.v[i][j][2 * h] = fmaf(av, b.x, acc.v[i][j][2 * h]);
              acc.v[i][j][2 * h + 1] = fmaf(av, b.y, acc.v[i][j][2 * h + 1]);
            }
        }
    }
  }
}

/// acc[m][n] += sum_{k<K} At[k*lda+m] * B[k*ldb+n] (A stored transposed).
template <int MT, int NT, int K, typename E>
BRAID_DEVICE void gemmTN(Acc<MT, NT> &acc, const E *At, int lda, const E *B,
                         int ldb) {
  static_assert(K % 16 == 0, "gemmTN: K must be a multiple of 16");
  if constexpr (kIsBf16<E>) {
#pragma unroll
    for (int kk = 0; kk < K / 16; ++kk) {
      uint32_t a[MT][4];
#pragma unroll
      for (int i = 0; i < MT; ++i)
        detail::loadATrans(a[i], At, lda, 16 * i, 16 * kk);
      detail::mmaRow<MT, NT, true>(acc, a, B, ldb, 16 * kk);
    }
  } else {
    const int g = dev::mmaGroupId(), q = dev::mmaThreadInGroup();
#pragma unroll 4
    for (int k = 0; k < K; ++k) {
      float a[MT][2];
#pragma unroll
      for (int i = 0; i < MT; ++i)
#pragma unroll
        for (int h = 0; h < 2; ++h)
          a[i][h] = At[k * lda + 16 * i + g + 8 * h];
#pragma unroll
      for (int j = 0; j < NT; ++j) {
        const float2 b =
            *reinterpret_cast<const float2 *>(B + k * ldb + 8 * j + 2 * q);
#pragma unroll
        for (int i = 0; i < MT; ++i)
#pragma unroll
          for (int h = 0; h < 2; ++h) {
            acc.v[i][j][2 * h] = fmaf(a[i][h], b.x, acc.v[i][j][2 * h]);
            acc.v[i][j][2 * h + 1] = fmaf(a[i][h], b.y, acc.v[i][j][2 * h + 1]);
          }
      }
    }
  }
}

/// acc[m][n] += sum_{k<16*KT} P[m][k] * B[k*ldb+n], P an accumulator tile of
/// MT x 2*KT blocks (its columns are the k index). With bf16 operands P is
/// rounded to bf16 for the tensor cores.
template <int MT, int NT, int KT, typename E>
BRAID_DEVICE void gemmRegNN(Acc<MT, NT> &acc, const Acc<MT, 2 * KT> &P,
                            const E *B, int ldb) {
  if constexpr (kIsBf16<E>) {
#pragma unroll
    for (int kk = 0; kk < KT; ++kk) {
      uint32_t a[MT][4];
#pragma unroll
      for (int i = 0; i < MT; ++i) {
        a[i][0] = dev::packBf16x2(P.v[i][2 * kk][0], P.v[i][2 * kk][1]);
        a[i][1] = dev::packBf16x2(P.v[i][2 * kk][2], P.v[i][2 * kk][3]);
        a[i][2] = dev::packBf16x2(P.v[i][2 * kk + 1][0], P.v[i][2 * kk + 1][1]);
        a[i][3] = dev::packBf16x2(P.v[i][2 * kk + 1][2], P.v[i][2 * kk + 1][3]);
      }
      detail::mmaRow<MT, NT, true>(acc, a, B, ldb, 16 * kk);
    }
  } else {
    // Column k of P lives in lane (group, (k % 8) / 2) of the same group,
    // element k % 2 (row g) or 2 + k % 2 (row g + 8) of block k / 8.
    const int lane = dev::laneId(), q = dev::mmaThreadInGroup();
    const int base = lane - q;
#pragma unroll
    for (int k = 0; k < 16 * KT; ++k) {
      const int src = base + (k & 7) / 2;
      float top[MT], bot[MT];
#pragma unroll
      for (int i = 0; i < MT; ++i) {
        top[i] = dev::shflIdx(P.v[i][k / 8][k & 1], src);
        bot[i] = dev::shflIdx(P.v[i][k / 8][2 + (k & 1)], src);
      }
#pragma unroll
      for (int j = 0; j < NT; ++j) {
        const float2 b =
            *reinterpret_cast<const float2 *>(B + k * ldb + 8 * j + 2 * q);
#pragma unroll
        for (int i = 0; i < MT; ++i) {
          acc.v[i][j][0] = fmaf(top[i], b.x, acc.v[i][j][0]);
          acc.v[i][j][1] = fmaf(top[i], b.y, acc.v[i][j][1]);
          acc.v[i][j][2] = fmaf(bot[i], b.x, acc.v[i][j][2]);
          acc.v[i][j][3] = fmaf(bot[i], b.y, acc.v[i][j][3]);
        }
      }
    }
  }
}

#endif // BRAID_HIP

/// Stores two consecutive values (8-byte aligned for f32, 4 for bf16).
template <typename E> BRAID_DEVICE void store2(E *dst, float a, float b) {
  if constexpr (kIsBf16<E>) {
    *reinterpret_cast<uint32_t *>(dst) = dev::packBf16x2(a, b);
  } else {
    *reinterpret_cast<float2 *>(dst) = make_float2(a, b);
  }
}

//===----------------------------------------------------------------------===//
// Global -> shared tile copies
//===----------------------------------------------------------------------===//

/// Copies ROWS rows into shared rows of stride LDS: `validCols` elements of
/// each row (a multiple of 16 bytes), zeros up to COLS_P, and zero rows
/// where rowPtr(r) (the global address of row r's element 0) is null.
/// Uses cp.async; commit and wait are the caller's. `anyValid` is any
/// legal global address (cp.async wants one even when it reads nothing).
template <int ROWS, int COLS_P, int LDS, typename E, typename RowPtr>
BRAID_DEVICE void copyTileAsync(E *smem, RowPtr rowPtr, const E *anyValid,
                                int validCols) {
  constexpr int kVec = int(16 / sizeof(E));
  static_assert(COLS_P % kVec == 0, "copyTileAsync: 16-byte chunks");
  constexpr int kChunks = COLS_P / kVec;
  for (int c = dev::threadId(); c < ROWS * kChunks; c += dev::blockSize()) {
    const int r = c / kChunks, cc = c % kChunks;
    const E *src = rowPtr(r);
    const bool valid = src != nullptr && cc * kVec < validCols;
    dev::cpAsync16(smem + r * LDS + cc * kVec,
                   valid ? src + cc * kVec : anyValid, valid);
  }
}

/// Four values from global memory as fp32 (one 16- or 8-byte load).
template <typename G> BRAID_DEVICE float4 load4(const G *p) {
  if constexpr (kIsBf16<G>) {
    const uint2 raw = *reinterpret_cast<const uint2 *>(p);
    const float2 a = dev::unpackBf16x2(raw.x), b = dev::unpackBf16x2(raw.y);
    return make_float4(a.x, a.y, b.x, b.y);
  } else {
    return *reinterpret_cast<const float4 *>(p);
  }
}
/// Four fp32 values stored as E (one 16- or 8-byte store).
template <typename E> BRAID_DEVICE void store4(E *p, float4 v) {
  if constexpr (kIsBf16<E>) {
    *reinterpret_cast<uint2 *>(p) =
        make_uint2(dev::packBf16x2(v.x, v.y), dev::packBf16x2(v.z, v.w));
  } else {
    *reinterpret_cast<float4 *>(p) = v;
  }
}

/// Register-staged copy that converts from the global type G to the shared
/// type E through fp32 and maps each value: smem[r][c] = fn(r, c, src[c]).
/// Columns from `validCols` up to COLS_P are zero-filled, as are rows whose
/// pointer is null. Whole aligned groups of 4 move as one vector.
template <int ROWS, int COLS_P, int LDS, typename E, typename G,
          typename RowPtr, typename Fn>
BRAID_DEVICE void copyTileMapped(E *smem, RowPtr rowPtr, int validCols,
                                 Fn fn) {
  static_assert(COLS_P % 4 == 0, "copyTileMapped: columns in groups of 4");
  static_assert(LDS % 4 == 0, "copyTileMapped: aligned shared rows");
  constexpr int kChunks = COLS_P / 4;
  for (int c = dev::threadId(); c < ROWS * kChunks; c += dev::blockSize()) {
    const int r = c / kChunks, cc = c % kChunks;
    const G *src = rowPtr(r);
    float v[4] = {0.f, 0.f, 0.f, 0.f};
    if (src != nullptr) {
      const G *q = src + cc * 4;
      if (cc * 4 + 4 <= validCols &&
          reinterpret_cast<uintptr_t>(q) % (4 * sizeof(G)) == 0) {
        const float4 f = load4(q);
        v[0] = fn(r, cc * 4, f.x);
        v[1] = fn(r, cc * 4 + 1, f.y);
        v[2] = fn(r, cc * 4 + 2, f.z);
        v[3] = fn(r, cc * 4 + 3, f.w);
      } else {
#pragma unroll
        for (int e = 0; e < 4; ++e)
          if (cc * 4 + e < validCols)
            v[e] = fn(r, cc * 4 + e, dev::toFloat(q[e]));
      }
    }
    store4(smem + r * LDS + cc * 4, make_float4(v[0], v[1], v[2], v[3]));
  }
}

} // namespace kern
} // namespace braid

#endif // BRAID_TARGETS_COMMON_KERNELS_WARPTILE_CUH
