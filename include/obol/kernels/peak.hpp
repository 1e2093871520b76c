// obol/kernels/peak.hpp — measures the machine's fp32 FMA throughput, the roof that GEMM efficiency
// is reported against.
#pragma once

#include "obol/kernels/cpu.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {

// Runs a register-only FMA loop with the given tier's widest vectors on `threads` threads (through
// parallel_for) for about `seconds`, and returns GFLOP/s (2 flops per lane per FMA). The scalar tier
// measures scalar multiply-adds. Returns 0 if the tier is not available.
double measure_fma_peak_gflops(Isa isa, int threads, double seconds = 0.2);

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
