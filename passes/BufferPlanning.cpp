//===- BufferPlanning.cpp - liveness-based arena planning -----------------===//
#include "passes/BufferPlanning.h"

#include <algorithm>
#include <numeric>

namespace braid {

static int64_t alignUp(int64_t value, int64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

ArenaPlan planArena(const std::vector<LiveInterval> &intervals,
                    int64_t alignment) {
  ArenaPlan plan;
  plan.offsets.assign(intervals.size(), 0);
  std::vector<size_t> order(intervals.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return intervals[a].first < intervals[b].first;
  });

  std::vector<size_t> placed;
  for (size_t index : order) {
    const LiveInterval &value = intervals[index];
    int64_t size = alignUp(std::max<int64_t>(value.bytes, 1), alignment);
    plan.naiveBytes += size;
    // Blocks of values alive together with this one, sorted by offset.
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (size_t other : placed) {
      const LiveInterval &o = intervals[other];
      if (o.last >= value.first && o.first <= value.last)
        busy.push_back({plan.offsets[other],
                        alignUp(std::max<int64_t>(o.bytes, 1), alignment)});
    }
    std::sort(busy.begin(), busy.end());
    int64_t offset = 0;
    for (auto [start, length] : busy) {
      if (offset + size <= start)
        break;
      offset = std::max(offset, start + length);
    }
    plan.offsets[index] = offset;
    plan.peakBytes = std::max(plan.peakBytes, offset + size);
    placed.push_back(index);
  }
  return plan;
}

} // namespace braid
