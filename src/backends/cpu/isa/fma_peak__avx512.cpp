// FMA-peak loop for the avx512 tier.
#include <xsimd/xsimd.hpp>

#include "fma_peak.hpp"

namespace obol::kernels {

float fma_peak__avx512(int64_t iters, float seed, int* lanes) {
  using B = xsimd::batch<float, xsimd::avx512f>;
  *lanes = static_cast<int>(B::size);
  return fma_peak_loop<B>(iters, seed);
}

}  // namespace obol::kernels
