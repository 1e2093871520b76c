// Threads and per-thread scratch for the GEMM kernels (see gemm_runtime.hpp).
#include "gemm_runtime.hpp"

#include <cstdlib>

#include "obol/core/parallel.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {

namespace {

struct ScratchSlots {
  void* ptr[kGemmScratchSlots] = {};
  size_t bytes[kGemmScratchSlots] = {};
  ~ScratchSlots() {
    for (void* p : ptr) std::free(p);
  }
};

thread_local ScratchSlots t_scratch;

}  // namespace

int gemm_max_threads() { return obol::max_threads(); }

void gemm_parallel_run(int64_t n_tasks, void (*task)(void* ctx, int64_t i), void* ctx) {
  obol::parallel_for(n_tasks, [&](int64_t i) { task(ctx, i); });
}

float* gemm_scratch(int slot, size_t bytes) {
  if (slot < 0 || slot >= kGemmScratchSlots) return nullptr;
  ScratchSlots& s = t_scratch;
  if (s.bytes[slot] < bytes) {
    // Grow geometrically so a sequence of slightly larger calls does not reallocate each time.
    size_t want = s.bytes[slot] * 2 > bytes ? s.bytes[slot] * 2 : bytes;
    want = (want + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, want);
    if (!p) return nullptr;
    std::free(s.ptr[slot]);
    s.ptr[slot] = p;
    s.bytes[slot] = want;
  }
  return static_cast<float*>(s.ptr[slot]);
}

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
