// obol/graph/memory_plan.hpp — static memory planning: one arena, offsets from lifetimes.
//
// Given every intermediate buffer's size and lifetime (the first and last execution step that touch
// it), plan_memory() assigns each an offset in one arena so that buffers alive at the same time
// never overlap. It places the largest buffers first, each at the lowest offset that fits
// between already-placed buffers whose lifetimes intersect (greedy by size, as in TFLite's and
// ONNX Runtime's planners), which keeps the arena close to the peak of live bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace obol {
inline namespace v1 {
namespace graph {

struct BufferRequest {
  size_t bytes = 0;
  int32_t first_step = 0;  // step that writes it
  int32_t last_step = 0;   // last step that reads it (>= first_step)
};

struct MemoryPlan {
  std::vector<size_t> offsets;  // one per request, multiples of `alignment`
  size_t arena_bytes = 0;       // total arena size
  size_t peak_live_bytes = 0;   // lower bound: the most bytes alive at one step (aligned sizes)
};

// alignment must be a power of two.
MemoryPlan plan_memory(const std::vector<BufferRequest>& requests, size_t alignment = 64);

}  // namespace graph
}  // inline namespace v1
}  // namespace obol
