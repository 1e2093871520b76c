// Elementwise kernels (unary, binary, 2-D transpose, activation quantization) for the avx2 tier. Compiled with only this
// tier's flags (cmake/Isa.cmake); it only instantiates the Arch-templated bodies.
#include <immintrin.h>

#include <limits>

#include "obol/kernels/binary.hpp"
#include "obol/kernels/reference/quantize.hpp"
#include "obol/kernels/transpose.hpp"
#include "obol/kernels/unary.hpp"
#include "register.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {

namespace {
using Arch = xsimd::fma3<xsimd::avx2>;

void binary_f32__avx2(BinaryOp op, const float* a, int64_t a_inc, const float* b, int64_t b_inc, float* y,
                        int64_t n) {
  simd::binary_f32<Arch>(op, a, a_inc, b, b_inc, y, n);
}
void transpose_2d_32__avx2(const void* x, int64_t ldx, void* y, int64_t ldy, int64_t rows, int64_t cols) {
  simd::transpose_2d_32<Arch>(x, ldx, y, ldy, rows, cols);
}

// min/max keep the accumulator when x is NaN: _mm256_min_ps(v, a) returns its second operand when
// either is NaN, as the reference's `v < a ? v : a` does.
void minmax_f32__avx2(const float* x, int64_t n, float* lo, float* hi) {
  const float inf = std::numeric_limits<float>::infinity();
  __m256 a0 = _mm256_set1_ps(inf), a1 = a0, b0 = _mm256_set1_ps(-inf), b1 = b0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
    a0 = _mm256_min_ps(v0, a0);
    b0 = _mm256_max_ps(v0, b0);
    a1 = _mm256_min_ps(v1, a1);
    b1 = _mm256_max_ps(v1, b1);
  }
  alignas(32) float la[8], lb[8];
  _mm256_store_ps(la, _mm256_min_ps(a0, a1));
  _mm256_store_ps(lb, _mm256_max_ps(b0, b1));
  float l = inf, h = -inf;
  for (int j = 0; j < 8; ++j) {
    l = la[j] < l ? la[j] : l;
    h = lb[j] > h ? lb[j] : h;
  }
  for (; i < n; ++i) {
    l = x[i] < l ? x[i] : l;
    h = x[i] > h ? x[i] : h;
  }
  *lo = l;
  *hi = h;
  if (n == 0 || l > h) *lo = *hi = 0.0f;
}

// 32 values per step: divide (exactly as the reference), clamp to [-512, 512] with NaN sent to -512
// (_mm256_max_ps returns its second operand for NaN), round half to even (the default MXCSR mode,
// as the reference's add-subtract of 1.5 * 2^23), add the zero point, and saturate to uint8 with
// two packs.
void quantize_u8_f32__avx2(const float* x, int64_t n, float scale, int32_t zero_point, uint8_t* y) {
  const __m256 vs = _mm256_set1_ps(scale), vlo = _mm256_set1_ps(-512.0f), vhi = _mm256_set1_ps(512.0f);
  const __m256i vzp = _mm256_set1_epi32(zero_point);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i q[4];
    for (int j = 0; j < 4; ++j) {
      __m256 v = _mm256_div_ps(_mm256_loadu_ps(x + i + 8 * j), vs);
      v = _mm256_min_ps(_mm256_max_ps(v, vlo), vhi);
      q[j] = _mm256_add_epi32(_mm256_cvtps_epi32(v), vzp);
    }
    // packs/packus work per 128-bit lane: the bytes come out as dwords q0[0:4] q1[0:4] q2[0:4]
    // q3[0:4] q0[4:8] q1[4:8] q2[4:8] q3[4:8]; one dword permute restores the order.
    const __m256i w = _mm256_packus_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), _mm256_permutevar8x32_epi32(w, order));
  }
  reference::quantize_u8_f32(x + i, n - i, scale, zero_point, y + i);
}
}  // namespace

void unary_f32__avx2(UnaryOp op, UnaryParams p, const float* x, float* y, int64_t n) {
  simd::unary_f32<Arch>(op, p, x, y, n);
}

void register_eltwise__avx2(KernelTable& t) {
  t.unary_f32 = &unary_f32__avx2;
  t.binary_f32 = &binary_f32__avx2;
  t.transpose_2d_32 = &transpose_2d_32__avx2;
  t.minmax_f32 = &minmax_f32__avx2;
  t.quantize_u8_f32 = &quantize_u8_f32__avx2;
}

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
