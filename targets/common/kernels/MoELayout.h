//===- MoELayout.h - workspace layout of the moe kernels --------*- C++ -*-===//
//
// Shared by the device kernels (MoE.cuh) and the host specializer
// (SpecializersGemm.cpp), so that both carve the launch's workspace the
// same way. Plain C++; no CUDA or LLVM headers.
//
// Segments, each starting on a 256-byte boundary (tokens = B * T):
//   logits     f32 [tokens, E]        router logits
//   topIdx     i32 [tokens * k]       chosen experts, token-major
//   topW       f32 [tokens * k]       their routing weights
//   offsets    i32 [E + 1]            first sorted row of each expert
//   tiles      i32 [1 + 2 * maxTiles] count, then (expert, first row) pairs
//   sortedTok  i32 [tokens * k]       token of each sorted row
//   sortedSlot i32 [tokens * k]       slot (t * k + i) of each sorted row
//   sortedW    f32 [tokens * k]       routing weight of each sorted row
//   mid        act [tokens * k, FF]   act(gate) * up of each sorted row
//   smid       act [tokens, SFF]      the same for the shared expert
//   slotOut    f32 [tokens * k, H]    weighted expert output per slot
//   sharedOut  f32 [tokens, H]        shared expert output
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_MOELAYOUT_H
#define BRAID_TARGETS_COMMON_KERNELS_MOELAYOUT_H

#include <stdint.h>

#if defined(__CUDACC__) || defined(__HIPCC__)
#define BRAID_MOE_HD __host__ __device__ __forceinline__
#else
#define BRAID_MOE_HD inline
#endif

namespace braid {
namespace moe {

struct Layout {
  int64_t logits, topIdx, topW, offsets, tiles, sortedTok, sortedSlot, sortedW,
      mid, smid, slotOut, sharedOut, total;
};

BRAID_MOE_HD int64_t align256(int64_t v) { return (v + 255) / 256 * 256; }

/// Upper bound of the tiles of the grouped GEMMs: sum_e ceil(c_e / BM)
/// <= tokens * k / BM + E. (tokens * k + E covers every BM >= 1.)
BRAID_MOE_HD int64_t maxTiles(int64_t tokens, int64_t experts, int64_t topK) {
  return tokens * topK + experts;
}

/// Byte offsets of the segments for `tokens` tokens. `actBytes` is the size
/// of one activation element (2 for bf16, 4 for f32); sff = 0 without a
/// shared expert.
BRAID_MOE_HD Layout layout(int64_t tokens, int64_t experts, int64_t topK,
                           int64_t hidden, int64_t ff, int64_t sff,
                           int64_t actBytes) {
  Layout l;
  int64_t at = 0;
  const int64_t rows = tokens * topK;
  l.logits = at, at = align256(at + tokens * experts * 4);
  l.topIdx = at, at = align256(at + rows * 4);
  l.topW = at, at = align256(at + rows * 4);
  l.offsets = at, at = align256(at + (experts + 1) * 4);
  l.tiles = at, at = align256(at + (1 + 2 * maxTiles(tokens, experts, topK)) * 4);
  l.sortedTok = at, at = align256(at + rows * 4);
  l.sortedSlot = at, at = align256(at + rows * 4);
  l.sortedW = at, at = align256(at + rows * 4);
  l.mid = at, at = align256(at + rows * ff * actBytes);
  l.smid = at, at = align256(at + tokens * sff * actBytes);
  l.slotOut = at, at = align256(at + rows * hidden * 4);
  l.sharedOut = at, at = align256(at + (sff ? tokens * hidden * 4 : 0));
  l.total = at;
  return l;
}

/// The workspace size as `constant + perToken * tokens` (an upper bound of
/// layout().total for every token count): the per-token bytes of each
/// segment plus 256 bytes of alignment slack per segment.
struct LinearSize {
  int64_t constant, perToken;
};
inline LinearSize linearSize(int64_t experts, int64_t topK, int64_t hidden,
                             int64_t ff, int64_t sff, int64_t actBytes) {
  LinearSize s;
  s.perToken = experts * 4 + topK * 4 * 2 + 2 * topK * 4 + topK * 4 * 3 +
               topK * ff * actBytes + sff * actBytes + topK * hidden * 4 +
               (sff ? hidden * 4 : 0);
  s.constant = (experts + 1) * 4 + (1 + 2 * experts) * 4 + 12 * 256;
  return s;
}

} // namespace moe
} // namespace braid

#endif // BRAID_TARGETS_COMMON_KERNELS_MOELAYOUT_H
