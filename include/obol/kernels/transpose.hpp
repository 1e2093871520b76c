// obol/kernels/transpose.hpp — cache-blocked 2-D transpose of 32-bit elements for the SIMD tiers.
//
// Same contract as KernelTable::transpose_2d_32: y (cols x rows, leading dimension ldy) = transpose
// of x (rows x cols, leading dimension ldx); x and y must not overlap. Elements are moved as raw bits.
// The matrix is walked in kBlock x kBlock tiles that fit in L1 for both source and destination, and
// each tile in 8 x 8 register transposes (AVX) with scalar edges. Include only from per-ISA units.
#pragma once

#include <cstdint>
#include <cstring>

#include "obol/kernels/isa_namespace.hpp"

#if defined(__AVX__)
#include <immintrin.h>
#endif

namespace obol {
inline namespace v1 {
namespace kernels {
OBOL_KERNELS_BEGIN
namespace simd {

inline constexpr int64_t kTransposeBlock = 64;

// One element of 4 bytes, copied as bits.
inline void copy32(const char* from, char* to) { std::memcpy(to, from, 4); }

// y[c * ldy + r] = x[r * ldx + c] for an 8 x 8 tile.
template <class Arch>
inline void transpose_8x8_32(const float* x, int64_t ldx, float* y, int64_t ldy) {
#if defined(__AVX__)
  __m256 r0 = _mm256_loadu_ps(x + 0 * ldx), r1 = _mm256_loadu_ps(x + 1 * ldx);
  __m256 r2 = _mm256_loadu_ps(x + 2 * ldx), r3 = _mm256_loadu_ps(x + 3 * ldx);
  __m256 r4 = _mm256_loadu_ps(x + 4 * ldx), r5 = _mm256_loadu_ps(x + 5 * ldx);
  __m256 r6 = _mm256_loadu_ps(x + 6 * ldx), r7 = _mm256_loadu_ps(x + 7 * ldx);
  // Interleave pairs of rows, then pairs of pairs, then swap 128-bit halves.
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r0 = _mm256_permute2f128_ps(s0, s4, 0x20);
  r1 = _mm256_permute2f128_ps(s1, s5, 0x20);
  r2 = _mm256_permute2f128_ps(s2, s6, 0x20);
  r3 = _mm256_permute2f128_ps(s3, s7, 0x20);
  r4 = _mm256_permute2f128_ps(s0, s4, 0x31);
  r5 = _mm256_permute2f128_ps(s1, s5, 0x31);
  r6 = _mm256_permute2f128_ps(s2, s6, 0x31);
  r7 = _mm256_permute2f128_ps(s3, s7, 0x31);
  _mm256_storeu_ps(y + 0 * ldy, r0);
  _mm256_storeu_ps(y + 1 * ldy, r1);
  _mm256_storeu_ps(y + 2 * ldy, r2);
  _mm256_storeu_ps(y + 3 * ldy, r3);
  _mm256_storeu_ps(y + 4 * ldy, r4);
  _mm256_storeu_ps(y + 5 * ldy, r5);
  _mm256_storeu_ps(y + 6 * ldy, r6);
  _mm256_storeu_ps(y + 7 * ldy, r7);
#else
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c)
      copy32(reinterpret_cast<const char*>(x + r * ldx + c), reinterpret_cast<char*>(y + c * ldy + r));
#endif
}

// Same contract as KernelTable::transpose_2d_32.
template <class Arch>
void transpose_2d_32(const void* xv, int64_t ldx, void* yv, int64_t ldy, int64_t rows, int64_t cols) {
  // Shuffles move bits exactly, so the data can be handled as float whatever its dtype.
  const float* x = static_cast<const float*>(xv);
  float* y = static_cast<float*>(yv);
  const char* xb = static_cast<const char*>(xv);
  char* yb = static_cast<char*>(yv);
  auto scalar = [&](int64_t r, int64_t c) { copy32(xb + 4 * (r * ldx + c), yb + 4 * (c * ldy + r)); };
  for (int64_t rb = 0; rb < rows; rb += kTransposeBlock) {
    const int64_t re = rb + kTransposeBlock < rows ? rb + kTransposeBlock : rows;
    for (int64_t cb = 0; cb < cols; cb += kTransposeBlock) {
      const int64_t ce = cb + kTransposeBlock < cols ? cb + kTransposeBlock : cols;
      int64_t r = rb;
      for (; r + 8 <= re; r += 8) {
        int64_t c = cb;
        for (; c + 8 <= ce; c += 8) transpose_8x8_32<Arch>(x + r * ldx + c, ldx, y + c * ldy + r, ldy);
        for (; c < ce; ++c)
          for (int64_t k = r; k < r + 8; ++k) scalar(k, c);
      }
      for (; r < re; ++r)
        for (int64_t c = cb; c < ce; ++c) scalar(r, c);
    }
  }
}

}  // namespace simd
OBOL_KERNELS_END
}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
