#include "obol/graph/memory_plan.hpp"

#include <algorithm>
#include <numeric>

namespace obol {
inline namespace v1 {
namespace graph {

MemoryPlan plan_memory(const std::vector<BufferRequest>& requests, size_t alignment) {
  MemoryPlan plan;
  const size_t n = requests.size();
  plan.offsets.assign(n, 0);
  auto aligned = [&](size_t b) { return (b + alignment - 1) & ~(alignment - 1); };

  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (requests[a].bytes != requests[b].bytes) return requests[a].bytes > requests[b].bytes;
    return requests[a].first_step < requests[b].first_step;
  });

  struct Placed {
    size_t offset, size;
    int32_t first, last;
  };
  std::vector<Placed> placed;  // kept sorted by offset
  placed.reserve(n);
  for (size_t idx : order) {
    const BufferRequest& r = requests[idx];
    const size_t size = aligned(r.bytes);
    if (size == 0) continue;
    // Walk the placed buffers by offset; take the first gap, among those whose lifetime overlaps
    // ours, that is big enough.
    size_t candidate = 0;
    for (const Placed& p : placed) {
      const bool overlaps_in_time = !(p.last < r.first_step || r.last_step < p.first);
      if (!overlaps_in_time) continue;
      if (p.offset >= candidate + size) break;  // the gap before p fits
      candidate = std::max(candidate, p.offset + p.size);
    }
    plan.offsets[idx] = candidate;
    plan.arena_bytes = std::max(plan.arena_bytes, candidate + size);
    const Placed np{candidate, size, r.first_step, r.last_step};
    placed.insert(std::upper_bound(placed.begin(), placed.end(), np,
                                   [](const Placed& a, const Placed& b) { return a.offset < b.offset; }),
                  np);
  }

  // Peak of live bytes, for reports and tests.
  int32_t max_step = 0;
  for (const BufferRequest& r : requests) max_step = std::max(max_step, r.last_step);
  std::vector<size_t> live(static_cast<size_t>(max_step) + 2, 0);
  for (const BufferRequest& r : requests) {
    live[static_cast<size_t>(r.first_step)] += aligned(r.bytes);
    live[static_cast<size_t>(r.last_step) + 1] -= aligned(r.bytes);
  }
  size_t cur = 0;
  for (size_t s = 0; s + 1 < live.size(); ++s) {
    cur += live[s];
    plan.peak_live_bytes = std::max(plan.peak_live_bytes, cur);
  }
  return plan;
}

}  // namespace graph
}  // inline namespace v1
}  // namespace obol
