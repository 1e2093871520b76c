// FMA-peak loop for the avx512 tier (512-bit vfmadd).
#include <immintrin.h>

#include "fma_peak.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {

namespace {
struct Avx512Ops {
  static __m512 set1(float x) { return _mm512_set1_ps(x); }
  static __m512 fma(__m512 a, __m512 b, __m512 c) { return _mm512_fmadd_ps(a, b, c); }
  static float first(__m512 v) { return _mm512_cvtss_f32(v); }
};
}  // namespace

float fma_peak__avx512(int64_t iters, float seed, int* lanes) {
  *lanes = 16;
  return fma_peak_loop<__m512, Avx512Ops>(iters, seed);
}

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
