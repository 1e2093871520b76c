// FMA-peak loop for the avx2 tier (256-bit vfmadd).
#include <immintrin.h>

#include "fma_peak.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {

namespace {
struct Avx2Ops {
  static __m256 set1(float x) { return _mm256_set1_ps(x); }
  static __m256 fma(__m256 a, __m256 b, __m256 c) { return _mm256_fmadd_ps(a, b, c); }
  static float first(__m256 v) { return _mm256_cvtss_f32(v); }
};
}  // namespace

float fma_peak__avx2(int64_t iters, float seed, int* lanes) {
  *lanes = 8;
  return fma_peak_loop<__m256, Avx2Ops>(iters, seed);
}

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
