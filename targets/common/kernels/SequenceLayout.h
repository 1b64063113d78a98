//===- SequenceLayout.h - shared-memory and workspace sizes -----*- C++ -*-===//
//
// The few numbers that both sides of a sequence kernel must agree on: the
// specializer (host C++, which tells the runtime how much dynamic shared
// memory and workspace a launch needs) and the device templates (which lay
// the same bytes out). Plain constexpr C++ with no includes, usable from
// host code, device code and the tests alike.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_SEQUENCELAYOUT_H
#define BRAID_TARGETS_COMMON_KERNELS_SEQUENCELAYOUT_H

#if defined(__CUDACC__) || defined(__HIPCC__)
#define BRAID_LAYOUT_FN __host__ __device__ constexpr inline
#else
#define BRAID_LAYOUT_FN constexpr inline
#endif

namespace braid {
namespace seqlayout {

BRAID_LAYOUT_FN long long cdiv(long long a, long long b) {
  return (a + b - 1) / b;
}
BRAID_LAYOUT_FN long long rup(long long a, long long b) {
  return cdiv(a, b) * b;
}
BRAID_LAYOUT_FN long long lmax(long long a, long long b) { return a > b ? a : b; }
/// Shared rows are padded by 16 bytes (bank spread for ldmatrix and float4).
BRAID_LAYOUT_FN long long padded(long long cols, int elemBytes) {
  return cols + 16 / elemBytes;
}

//===----------------------------------------------------------------------===//
// attention
//===----------------------------------------------------------------------===//

/// Rows of a split-KV partial (splitting only happens for at most this many
/// query rows per KV head, i.e. decode and short speculative steps).
constexpr int kAttnSplitRows = 16;

/// Shared bytes of the split-KV merge that the last block of a (sequence,
/// KV head) runs (Attention.cuh AttnMergeSmem): per partial row and split
/// slot (at most 64) a weight and a sum, a scale per row, a float4 per
/// thread (at most 128).
BRAID_LAYOUT_FN long long attentionCombineSmemBytes() {
  return 2LL * kAttnSplitRows * 64 * 4 + kAttnSplitRows * 4 + 128 * 16;
}

/// Dynamic shared bytes of the attention kernel: the query tile (16 rows
/// per warp and row tile), `stages` key and value tiles, and (overlapping the
/// key/value tiles) the per-warp partial results that the key-split decode
/// mode merges; at least the split-KV merge's (after the main loop).
BRAID_LAYOUT_FN long long attentionSmemBytes(int elemBytes, int headDim,
                                             int valueDim, int warps,
                                             int rowTiles, int blockN,
                                             int stages) {
  const long long dp = rup(headDim, 16), dvp = rup(valueDim, 16);
  const long long q =
      16LL * warps * rowTiles * padded(dp, elemBytes) * elemBytes;
  const long long kv = (long long)stages * blockN *
                       (padded(dp, elemBytes) + padded(dvp, elemBytes)) *
                       elemBytes;
  const long long merge = 16LL * warps * (dvp + 2) * 4;
  return lmax(q + lmax(kv, merge), attentionCombineSmemBytes());
}

/// Dynamic shared bytes of the sm_90a (wgmma) prefill attention kernel
/// (AttentionHopper.cuh): the query tile (64 rows per warpgroup) and
/// `stages` key and value tiles of `blockN` rows, all bf16 without padding
/// (128-byte swizzle), plus 1 KiB to align them to 1024 bytes at run time,
/// then a full and an empty mbarrier per stage (8 bytes each).
BRAID_LAYOUT_FN long long attentionWgSmemBytes(int headDim, int warpgroups,
                                               int blockN, int stages) {
  return (64LL * warpgroups + 2LL * stages * blockN) * headDim * 2 + 1024 +
         16LL * stages;
}

/// Workspace of the split-KV partials: per KV head and split slot, 16 rows
/// of (value_dim rounded to 16) accumulators plus max and sum.
BRAID_LAYOUT_FN long long attentionWorkspaceBytes(int kvHeads, int splits,
                                                  int valueDim) {
  return splits <= 1 ? 0
                     : (long long)kvHeads * splits * kAttnSplitRows *
                           (rup(valueDim, 16) + 2) * 4;
}

//===----------------------------------------------------------------------===//
// ssd_scan
//===----------------------------------------------------------------------===//

/// Floats of the per-chunk statistics (dt', local cumulative sums, prefix
/// of sub-block totals, per-token weights).
BRAID_LAYOUT_FN long long ssdStatsFloats(int chunk) {
  return rup(3LL * chunk + cdiv(chunk, 16) + 4, 4);
}
/// Rows of the key tiles of the chunk-state pass.
BRAID_LAYOUT_FN int ssdStateRows(int chunk) { return chunk < 64 ? chunk : 64; }

/// Chunk-state pass: statistics, and `stages` x tiles [rows][pt] and B
/// tiles [rows][nt].
BRAID_LAYOUT_FN long long ssdStateSmemBytes(int elemBytes, int chunk, int pt,
                                            int nt, int stages = 1) {
  const long long rows = ssdStateRows(chunk);
  return ssdStatsFloats(chunk) * 4 +
         stages * rows * (padded(pt, elemBytes) + padded(nt, elemBytes)) *
             elemBytes;
}

/// Output pass: statistics, the C tile [bt][N], the entering state
/// [pt][N], and `stages` B tiles [bt][N] and x tiles [bt][pt], with
/// bt = 16 * warps.
BRAID_LAYOUT_FN long long ssdOutputSmemBytes(int elemBytes, int chunk,
                                             int state, int warps, int pt,
                                             int stages) {
  const long long bt = 16LL * warps, np = rup(state, 16);
  return ssdStatsFloats(chunk) * 4 +
         (bt * padded(np, elemBytes) + pt * padded(np, elemBytes) +
          stages * (bt * padded(np, elemBytes) + bt * padded(pt, elemBytes))) *
             elemBytes;
}

/// Grouped output pass (bf16): the statistics of `heads` heads, then the
/// larger of the C tile [bt][N] with the chunk's B rows [chunk][N] and two
/// head slots (entering state [pt][N], x [chunk][pt]).
BRAID_LAYOUT_FN long long ssdGroupedSmemBytes(int elemBytes, int chunk,
                                              int state, int warps, int pt,
                                              int heads) {
  const long long bt = 16LL * warps, np = rup(state, 16);
  const long long cb = (bt + chunk) * padded(np, elemBytes);
  const long long slot =
      pt * padded(np, elemBytes) + (long long)chunk * padded(pt, elemBytes);
  return heads * ssdStatsFloats(chunk) * 4 + lmax(cb, 2 * slot) * elemBytes;
}

/// Grouped output pass on wgmma (SSDHopper.cuh, bf16): 1024 bytes of
/// alignment slack, the C tile [128][N], the chunk's B rows [chunk][N] (later
/// C.B^T, 128 rows x chunk keys in bf16), two head slots (entering state
/// [64][N], later the staged outputs [128][64]; x [chunk][64]), then the
/// statistics of `heads` heads.
BRAID_LAYOUT_FN long long ssdWgSmemBytes(int chunk, int state, int heads) {
  const long long slot = lmax(64LL * state, 128LL * 64) + (long long)chunk * 64;
  const long long rows = lmax((long long)chunk * state, 128LL * chunk);
  return 1024 + (128LL * state + rows + 2 * slot) * 2 +
         heads * ssdStatsFloats(chunk) * 4;
}

/// Chunk-state pass on wgmma (SSDHopper.cuh, bf16): 1024 bytes of alignment
/// slack, the k-tiles of x [rows][64] and B [rows][N] (one buffer when a tile
/// is the whole chunk, else two), then the statistics.
BRAID_LAYOUT_FN long long ssdStateWgSmemBytes(int chunk, int state, int rows) {
  const long long stages = rows == chunk ? 1 : 2;
  return 1024 + stages * rows * (64 + state) * 2 + ssdStatsFloats(chunk) * 4;
}

/// Workspace bytes per (sequence, chunk): chunk states (fp32), chunk decays
/// (fp32) and the states entering each chunk (`enterBytes` per element).
BRAID_LAYOUT_FN long long ssdWorkspacePerChunk(int heads, int headDim,
                                               int state, int enterBytes) {
  return (long long)heads * headDim * state * (4 + enterBytes) + heads * 4;
}

//===----------------------------------------------------------------------===//
// selective_scan
//===----------------------------------------------------------------------===//

/// Block tile of the projections (rows x columns x k-step).
constexpr int kSelGemmM = 64, kSelGemmN = 64, kSelGemmK = 32;
/// Tokens staged per step of the scan.
constexpr int kSelTokens = 16;

BRAID_LAYOUT_FN long long selGemmSmemBytes(int elemBytes) {
  return 2LL * kSelGemmM * padded(kSelGemmK, elemBytes) * elemBytes +
         kSelGemmM * 4;
}
/// Row stride (floats) of the projection [dt_low | B | C] in the workspace.
BRAID_LAYOUT_FN long long selProjStride(int rank, int state) {
  return rup(rank + 2LL * state, 4);
}
BRAID_LAYOUT_FN long long selScanSmemBytes(int state, int channels) {
  return 4LL * kSelTokens * (2LL * state + 3LL * channels);
}

} // namespace seqlayout
} // namespace braid

#endif // BRAID_TARGETS_COMMON_KERNELS_SEQUENCELAYOUT_H
