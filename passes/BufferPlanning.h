//===- BufferPlanning.h - liveness-based arena planning ---------*- C++ -*-===//
//
// Plans offsets for values that live over intervals of launch indices. All
// transient values of an entry are [B, T, ...], so sizes and offsets are in
// bytes per token and one plan serves every B and T.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_PASSES_BUFFERPLANNING_H
#define BRAID_PASSES_BUFFERPLANNING_H

#include <cstdint>
#include <vector>

namespace braid {

struct LiveInterval {
  int64_t bytes = 0; // per token
  int64_t first = 0; // index of the defining launch
  int64_t last = 0;  // index of the last launch that reads it (>= first)
};

struct ArenaPlan {
  std::vector<int64_t> offsets; // per interval, in bytes per token
  int64_t peakBytes = 0;        // per token
  int64_t naiveBytes = 0;       // per token, with no reuse (for --stats)
};

/// First-fit in order of definition: each value takes the lowest aligned
/// offset that does not overlap a value live at the same time. Intervals are
/// inclusive, so a launch's results never share bytes with its operands.
ArenaPlan planArena(const std::vector<LiveInterval> &intervals,
                    int64_t alignment = 64);

} // namespace braid

#endif // BRAID_PASSES_BUFFERPLANNING_H
