// Shared body of the FMA-peak loop; instantiated per tier in fma_peak__<isa>.cpp with that tier's
// vector type and fused multiply-add (intrinsics: xsimd 8.1's fma on plain avx2/avx512f archs is
// a multiply and an add, which would measure the wrong roof).
#pragma once

#include <cstdint>

namespace obol {
inline namespace v1 {
namespace kernels {

// Runs `iters` iterations of kChains independent FMA chains, two FMAs per chain per iteration;
// returns a value that depends on every result so the compiler keeps the work.
template <class V, class Ops, int kChains = 12>
float fma_peak_loop(int64_t iters, float seed) {
  V acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = Ops::set1(seed + static_cast<float>(c) * 1e-3f);
  const V a = Ops::set1(0.999999f), b = Ops::set1(1e-7f);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = Ops::fma(acc[c], a, b);
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = Ops::fma(acc[c], a, b);
  }
  float s = 0;
  for (int c = 0; c < kChains; ++c) s += Ops::first(acc[c]);
  return s;
}

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
