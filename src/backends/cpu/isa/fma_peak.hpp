// Shared body of the FMA-peak loop; instantiated per tier in fma_peak__<isa>.cpp.
#pragma once

#include <cstdint>

#include <xsimd/xsimd.hpp>

namespace obol::kernels {

// Runs `iters` iterations of 2 * kChains independent FMAs on batches of B; returns a value that
// depends on every result so the compiler keeps the work.
template <class B, int kChains = 12>
float fma_peak_loop(int64_t iters, float seed) {
  B acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = B(seed + static_cast<float>(c) * 1e-3f);
  const B a(0.999999f), b(1e-7f);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = xsimd::fma(acc[c], a, b);
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = xsimd::fma(acc[c], a, b);
  }
  B s = acc[0];
  for (int c = 1; c < kChains; ++c) s += acc[c];
  return xsimd::hadd(s);
}

}  // namespace obol::kernels
