// int4 weight-only matmul, avx2 tier. Compiled with only this tier's flags (cmake/Isa.cmake).
//
// Decode streams each weight column once: 32 weight bytes (64 codes) -> low and high nibbles with
// one mask and one shift (no byte shuffles: the activations were permuted to match, see
// q4gemm_impl.hpp) -> vpmaddubsw against int8 activations (codes 0..15, so |sum| <= 2 * 15 * 127
// and nothing saturates) -> vpmaddwd by ones -> f32 lanes scaled by the activation group scales;
// the weight block scale is applied once per block, and the zero points through one dot product
// of (scale * zp) with the per-block activation sums.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "obol/core/dtype.hpp"
#include "obol/quant/blocks.hpp"
#include "q4gemm_impl.hpp"

namespace obol {
inline namespace v1 {
namespace kernels::q4_detail {

namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// The int32 lanes of one pair of groups: 32 weight bytes against the permuted activations.
inline __m256i pair_dot(const uint8_t* w, const int8_t* qp) {
  const __m256i mask = _mm256_set1_epi8(0x0F);
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
  const __m256i lo = _mm256_and_si256(v, mask);
  const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), mask);
  const __m256i s = _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qp))),
                                     _mm256_maddubs_epi16(hi, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qp + 32))));
  return _mm256_madd_epi16(s, _mm256_set1_epi16(1));
}

// One column n of nbits weights against one activation row.
float column_nbits(const Q4Weights& w, const quant::NBitsLayout& l, int64_t n, const Q8Act& a) {
  const int64_t kb = l.k_blocks(), bs = w.block_size;
  const uint8_t* row = w.data + n * l.row_bytes();
  const float* sc = w.scales + n * kb;
  const uint8_t* zrow = w.zero_points ? w.zero_points + n * l.zp_row_bytes() : nullptr;
  __m256 y = _mm256_setzero_ps();
  int64_t main_blocks;
  if (bs >= 64) {
    const int64_t ppb = bs / 64;
    for (int64_t b = 0; b < kb; ++b) {
      __m256 acc = _mm256_setzero_ps();
      for (int64_t p = b * ppb; p < (b + 1) * ppb; ++p)
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(pair_dot(row + p * 32, a.qp + p * 64)), _mm256_loadu_ps(a.dxv + p * 8),
                              acc);
      y = _mm256_fmadd_ps(acc, _mm256_set1_ps(sc[b]), y);
    }
    main_blocks = kb;
  } else {
    // Blocks of 32 (16): a pair of groups spans 2 (4) blocks; spread their scales over the lanes.
    const int64_t per_pair = 64 / bs;
    const __m256i idx = bs == 32 ? _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1) : _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    const int64_t pairs = kb / per_pair;
    for (int64_t p = 0; p < pairs; ++p) {
      __m128 s4;
      if (bs == 32) {
        s4 = _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sc + 2 * p)));
      } else {
        s4 = _mm_loadu_ps(sc + 4 * p);
      }
      const __m256 svec = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(s4), idx);
      const __m256 d = _mm256_mul_ps(_mm256_cvtepi32_ps(pair_dot(row + p * 32, a.qp + p * 64)), _mm256_loadu_ps(a.dxv + p * 8));
      y = _mm256_fmadd_ps(d, svec, y);
    }
    main_blocks = pairs * per_pair;
  }
  float result = hsum(y);

  // Zero points of the main blocks: sum_b scale_b * zp_b * xs_b.
  __m256 z = _mm256_setzero_ps();
  int64_t b = 0;
  if (zrow) {
    const __m256i shifts = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28);
    for (; b + 8 <= main_blocks; b += 8) {
      uint32_t z4;
      std::memcpy(&z4, zrow + b / 2, 4);
      const __m256i zi = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(z4)), shifts),
                                          _mm256_set1_epi32(15));
      z = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_loadu_ps(sc + b), _mm256_cvtepi32_ps(zi)), _mm256_loadu_ps(a.xs + b), z);
    }
  } else {
    for (; b + 8 <= main_blocks; b += 8)
      z = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_loadu_ps(sc + b), _mm256_set1_ps(8.0f)), _mm256_loadu_ps(a.xs + b), z);
  }
  float zterm = hsum(z);
  for (; b < main_blocks; ++b) zterm += sc[b] * static_cast<float>(quant::nbits_zero_point(l, w.zero_points, n, b)) * a.xs[b];
  result -= zterm;

  // Tail blocks (block size 16 or 32 with an odd number of groups): plain loops.
  for (b = main_blocks; b < kb; ++b) {
    const int zp = quant::nbits_zero_point(l, w.zero_points, n, b);
    int32_t dot = 0;
    for (int64_t k = b * bs; k < (b + 1) * bs; ++k) dot += (((row[k / 2] >> (4 * (k & 1))) & 15) - zp) * a.qn[k];
    result += sc[b] * a.dx[b * bs / 32] * static_cast<float>(dot);
  }
  return result;
}

inline __m256i unpack_q4_0(const uint8_t* qs) {
  const __m128i m = _mm_set1_epi8(0x0F);
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m), _mm_and_si128(v, m));
}

float column_q4_0(const Q4Weights& w, int64_t n, const Q8Act& a) {
  const int64_t kb = w.K / 32;
  const auto* blk = reinterpret_cast<const quant::block_q4_0*>(w.data) + n * kb;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 y = _mm256_setzero_ps();
  float zterm = 0.0f;
  for (int64_t b = 0; b < kb; ++b) {
    const float d = _cvtsh_ss(blk[b].d);
    const __m256i s = _mm256_madd_epi16(
        _mm256_maddubs_epi16(unpack_q4_0(blk[b].qs), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.qn + b * 32))),
        ones);
    y = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(d * a.dx[b]), y);
    zterm += d * a.xs[b];
  }
  return hsum(y) - 8.0f * zterm;
}

}  // namespace

void q4_rows_int8__avx2(const Q4Weights& w, const Q8Act* rows, int64_t M, int64_t n0, int64_t n1, float* Y,
                        int64_t ldy, const float* bias) {
  const quant::NBitsLayout l{w.K, w.N, w.block_size};
  for (int64_t n = n0; n < n1; ++n) {
    if (n + 4 < n1) {  // the next columns' bytes, ahead of the hardware prefetcher's ramp-up
      const uint8_t* next = w.format == Q4Format::q4_0 ? w.data + (n + 4) * (w.K / 32) * 18 : w.data + (n + 4) * l.row_bytes();
      _mm_prefetch(reinterpret_cast<const char*>(next), _MM_HINT_T0);
    }
    for (int64_t m = 0; m < M; ++m) {
      const float r = w.format == Q4Format::q4_0 ? column_q4_0(w, n, rows[m]) : column_nbits(w, l, n, rows[m]);
      Y[m * ldy + n] = r + (bias ? bias[n] : 0.0f);
    }
  }
}

void q4_dequant_cols__avx2(const Q4Weights& w, int64_t n0, int64_t count, float* Wt) {
  const int64_t K = w.K;
  if (w.format == Q4Format::q4_0) {
    const int64_t kb = K / 32;
    for (int64_t n = n0; n < n0 + count; ++n) {
      const auto* blk = reinterpret_cast<const quant::block_q4_0*>(w.data) + n * kb;
      float* out = Wt + (n - n0) * K;
      for (int64_t b = 0; b < kb; ++b) {
        const __m256 d = _mm256_set1_ps(_cvtsh_ss(blk[b].d));
        const __m256i c = _mm256_sub_epi8(unpack_q4_0(blk[b].qs), _mm256_set1_epi8(8));
        for (int j = 0; j < 4; ++j) {
          const __m128i c8 = j < 2 ? _mm256_castsi256_si128(c) : _mm256_extracti128_si256(c, 1);
          const __m256i c32 = _mm256_cvtepi8_epi32(j % 2 == 0 ? c8 : _mm_srli_si128(c8, 8));
          _mm256_storeu_ps(out + b * 32 + j * 8, _mm256_mul_ps(_mm256_cvtepi32_ps(c32), d));
        }
      }
    }
    return;
  }
  const quant::NBitsLayout l{w.K, w.N, w.block_size};
  const int64_t kb = l.k_blocks(), bs = w.block_size;
  const __m128i mask = _mm_set1_epi8(0x0F);
  for (int64_t n = n0; n < n0 + count; ++n) {
    const uint8_t* row = w.data + n * l.row_bytes();
    float* out = Wt + (n - n0) * K;
    for (int64_t b = 0; b < kb; ++b) {
      const float s = w.scales[n * kb + b];
      const int zp = quant::nbits_zero_point(l, w.zero_points, n, b);
      const int64_t k0 = b * bs, k1 = std::min(K, k0 + bs);
      int64_t k = k0;
      const __m256 sv = _mm256_set1_ps(s);
      const __m256i zv = _mm256_set1_epi32(zp);
      for (; k + 32 <= k1; k += 32) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + k / 2));
        const __m128i lo = _mm_and_si128(v, mask), hi = _mm_and_si128(_mm_srli_epi16(v, 4), mask);
        const __m128i e0 = _mm_unpacklo_epi8(lo, hi), e1 = _mm_unpackhi_epi8(lo, hi);  // elements 0..15, 16..31
        const __m128i parts[4] = {e0, _mm_srli_si128(e0, 8), e1, _mm_srli_si128(e1, 8)};
        for (int j = 0; j < 4; ++j) {
          const __m256i c = _mm256_sub_epi32(_mm256_cvtepu8_epi32(parts[j]), zv);
          _mm256_storeu_ps(out + k + 8 * j, _mm256_mul_ps(_mm256_cvtepi32_ps(c), sv));
        }
      }
      for (; k < k1; ++k) out[k] = static_cast<float>(((row[k / 2] >> (4 * (k & 1))) & 15) - zp) * s;
    }
  }
}

}  // namespace kernels::q4_detail
}  // inline namespace v1
}  // namespace obol
