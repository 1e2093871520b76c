// AVX2 pieces shared by the x86 int8 GEMM tiers (qgemm__avx2/avxvnni/avx512vnni/amx.cpp): packing
// rows of A and the 16-column epilogue. Everything here has internal linkage, so each tier's copy is
// compiled with that tier's flags only (no ODR sharing across tiers).
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "qgemm_impl.hpp"

namespace obol {
inline namespace v1 {
namespace kernels::qgemm_detail {
namespace {

// Rows [m0, m0 + rows) of A as int16 (A - a_zp), row stride `stride` (>= Kp, multiple of 16),
// zero past K; rowsum[r] = sum_k (A - a_zp).
inline void pack_a_i16(const Plan& p, int64_t m0, int64_t rows, int16_t* dst, int64_t stride, int32_t* rowsum) {
  const __m256i zp = _mm256_set1_epi16(static_cast<int16_t>(p.a_zp));
  const __m256i ones = _mm256_set1_epi16(1);
  const int64_t K = p.K, K16 = K / 16 * 16;
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* a = p.A + (m0 + r) * p.lda;
    int16_t* d = dst + r * stride;
    __m256i s = _mm256_setzero_si256();
    for (int64_t k = 0; k < K16; k += 16) {
      const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + k));
      __m256i v = p.a_signed ? _mm256_cvtepi8_epi16(raw) : _mm256_cvtepu8_epi16(raw);
      v = _mm256_sub_epi16(v, zp);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + k), v);
      s = _mm256_add_epi32(s, _mm256_madd_epi16(v, ones));
    }
    int32_t tail = 0;
    for (int64_t k = K16; k < stride; ++k) {
      int16_t v = 0;
      if (k < K) v = static_cast<int16_t>((p.a_signed ? static_cast<int32_t>(static_cast<int8_t>(a[k])) : a[k]) - p.a_zp);
      d[k] = v;
      tail += v;
    }
    __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
    rowsum[r] = _mm_cvtsi128_si32(h) + tail;
  }
}

// Rows [m0, m0 + rows) of A as uint8 (A, or A ^ 0x80 for int8), row stride `stride` (>= Kp, multiple
// of 32), zero past K; rows [rows, rows_padded) are zero. rowsum[r] = sum_k of the uint8 values.
inline void pack_a_u8(const Plan& p, int64_t m0, int64_t rows, int64_t rows_padded, uint8_t* dst, int64_t stride,
                      int32_t* rowsum) {
  const __m256i flip = _mm256_set1_epi8(p.a_signed ? static_cast<char>(0x80) : 0);
  const int64_t K = p.K, K32 = K / 32 * 32;
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* a = p.A + (m0 + r) * p.lda;
    uint8_t* d = dst + r * stride;
    __m256i s = _mm256_setzero_si256();
    for (int64_t k = 0; k < K32; k += 32) {
      const __m256i v = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + k)), flip);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + k), v);
      s = _mm256_add_epi64(s, _mm256_sad_epu8(v, _mm256_setzero_si256()));
    }
    int32_t tail = 0;
    const uint8_t f = p.a_signed ? 0x80 : 0x00;
    for (int64_t k = K32; k < stride; ++k) {
      const uint8_t v = k < K ? static_cast<uint8_t>(a[k] ^ f) : 0;
      d[k] = v;
      tail += v;
    }
    alignas(32) int64_t lanes[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), s);
    rowsum[r] = static_cast<int32_t>(lanes[0] + lanes[1] + lanes[2] + lanes[3]) + tail;
  }
  for (int64_t r = rows; r < rows_padded; ++r) {
    std::memset(dst + r * stride, 0, static_cast<size_t>(stride));
    rowsum[r] = 0;
  }
}

// Output row m, columns [n, n + cnt) (cnt <= 16) from the raw sums r0 (columns 0..7) and r1 (8..15).
// Full tiles run vectorised; partial ones go through the scalar epilogue, which gives the same bits.
inline void epilogue16(const Plan& p, int64_t m, int64_t n, int64_t cnt, __m256i r0, __m256i r1, int32_t rowsum) {
  if (cnt < 16) {
    alignas(32) int32_t raw[16];
    _mm256_store_si256(reinterpret_cast<__m256i*>(raw), r0);
    _mm256_store_si256(reinterpret_cast<__m256i*>(raw + 8), r1);
    qgemm_epilogue_scalar(p, m, n, cnt, raw, rowsum);
    return;
  }
  const __m256i rs = _mm256_set1_epi32(rowsum);
  auto fix = [&](__m256i r, int64_t j) {
    const __m256i ct = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.colterm + j));
    const __m256i zb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.zb + j));
    return _mm256_sub_epi32(_mm256_add_epi32(r, ct), _mm256_mullo_epi32(zb, rs));
  };
  const __m256i a0 = fix(r0, n), a1 = fix(r1, n + 8);
  switch (p.out) {
    case QGemmOut::s32: {
      int32_t* c = static_cast<int32_t*>(p.C) + m * p.ldc + n;
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(c), a0);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + 8), a1);
      return;
    }
    case QGemmOut::f32: {
      float* c = static_cast<float*>(p.C) + m * p.ldc + n;
      for (int h = 0; h < 2; ++h) {
        __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(h ? a1 : a0), _mm256_loadu_ps(p.mult + n + 8 * h));
        // Keep the product rounded on its own (GCC would contract mul + add into an FMA), so every
        // tier gives the scalar epilogue's bits.
        __asm__("" : "+x"(v));
        _mm256_storeu_ps(c + 8 * h, _mm256_add_ps(v, _mm256_loadu_ps(p.bias_f32 + n + 8 * h)));
      }
      return;
    }
    case QGemmOut::u8:
    case QGemmOut::s8: {
      const __m256 lo = _mm256_set1_ps(p.q_lo), hi = _mm256_set1_ps(p.q_hi);
      const __m256i zp = _mm256_set1_epi32(p.c_zp);
      __m256i q[2];
      for (int h = 0; h < 2; ++h) {
        __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(h ? a1 : a0), _mm256_loadu_ps(p.mult + n + 8 * h));
        v = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        v = _mm256_max_ps(lo, _mm256_min_ps(hi, v));
        q[h] = _mm256_add_epi32(_mm256_cvtps_epi32(v), zp);
      }
      const __m128i w0 = _mm_packs_epi32(_mm256_castsi256_si128(q[0]), _mm256_extracti128_si256(q[0], 1));
      const __m128i w1 = _mm_packs_epi32(_mm256_castsi256_si128(q[1]), _mm256_extracti128_si256(q[1], 1));
      const __m128i b = p.out == QGemmOut::u8 ? _mm_packus_epi16(w0, w1) : _mm_packs_epi16(w0, w1);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(static_cast<uint8_t*>(p.C) + m * p.ldc + n), b);
      return;
    }
  }
}

// Every 16-column panel of [n0, n1) over packed rows of A: full 6-row tiles (six), then one tile for
// the 1-5 rows left (rest, called with std::integral_constant<int, R>). One driver for all kernels.
template <class T, class Six, class Rest>
void for_each_tile(const Plan& p, const T* a, int64_t stride, const int32_t* rowsum, int64_t rows, int64_t m0,
                   int64_t n0, int64_t n1, int64_t panel_k, Six six, Rest rest) {
  constexpr int MR = 6;
  for (int64_t n = n0; n < n1; n += 16) {
    const int8_t* b = p.B + (n / 16) * panel_k * 16;
    const int64_t cnt = std::min<int64_t>(16, n1 - n);
    int64_t r = 0;
    for (; r + MR <= rows; r += MR) six(a + r * stride, rowsum + r, b, m0 + r, n, cnt);
    const T* ar = a + r * stride;
    switch (rows - r) {
      case 1: rest(std::integral_constant<int, 1>{}, ar, rowsum + r, b, m0 + r, n, cnt); break;
      case 2: rest(std::integral_constant<int, 2>{}, ar, rowsum + r, b, m0 + r, n, cnt); break;
      case 3: rest(std::integral_constant<int, 3>{}, ar, rowsum + r, b, m0 + r, n, cnt); break;
      case 4: rest(std::integral_constant<int, 4>{}, ar, rowsum + r, b, m0 + r, n, cnt); break;
      case 5: rest(std::integral_constant<int, 5>{}, ar, rowsum + r, b, m0 + r, n, cnt); break;
      default: break;
    }
  }
}

// Packs the block's rows of A as uint8 (pack_a_u8) and runs the quad16 tiles (six: 6 rows; rest:
// the 1-5 rows left, given std::integral_constant<int, R>) over it.
template <class Six, class Rest>
bool quad16_block(const Plan& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1, Six six, Rest rest) {
  const int64_t rows = m1 - m0;
  const int64_t stride = round_up(std::max<int64_t>(p.Kp, 32), 32);
  char* mem = static_cast<char*>(qgemm_scratch(0, static_cast<size_t>(rows * stride + rows * 4 + 64)));
  if (!mem) return false;
  uint8_t* a = reinterpret_cast<uint8_t*>(mem);
  int32_t* rowsum = reinterpret_cast<int32_t*>(mem + round_up(rows * stride, 64));
  pack_a_u8(p, m0, rows, rows, a, stride, rowsum);
  auto six_at = [&](const uint8_t* ar, const int32_t* rs, const int8_t* b, int64_t m, int64_t n, int64_t cnt) {
    six(p, ar, stride, rs, b, m, n, cnt);
  };
  auto rest_at = [&](auto R, const uint8_t* ar, const int32_t* rs, const int8_t* b, int64_t m, int64_t n,
                     int64_t cnt) { rest(R, p, ar, stride, rs, b, m, n, cnt); };
  for_each_tile(p, a, stride, rowsum, rows, m0, n0, n1, p.Kp, six_at, rest_at);
  return true;
}

}  // namespace
}  // namespace kernels::qgemm_detail
}  // inline namespace v1
}  // namespace obol
