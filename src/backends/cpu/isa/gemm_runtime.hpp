// Out-of-line services for the GEMM kernels of every ISA tier: threads and per-thread scratch.
//
// They live in a baseline translation unit (gemm_runtime.cpp) so that the per-ISA files never
// instantiate shared inline code such as obol::max_threads() with their own ISA flags (the ODR trap
// described in obol/kernels/isa_namespace.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace obol {
inline namespace v1 {
namespace kernels {

// obol::max_threads() (1 inside a parallel task).
int gemm_max_threads();
// obol::parallel_for(n_tasks, [&](i) { task(ctx, i); }).
void gemm_parallel_run(int64_t n_tasks, void (*task)(void* ctx, int64_t i), void* ctx);
// A 64-byte aligned buffer of at least `bytes` owned by the calling thread; slot is 0..kGemmScratchSlots-1.
// The buffer grows on demand and is kept until the thread exits, so steady-state calls allocate
// nothing. Returns nullptr if the allocation fails. Valid until the next call with the same slot on
// the same thread.
inline constexpr int kGemmScratchSlots = 2;
float* gemm_scratch(int slot, size_t bytes);

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
