// int8 GEMM, avx2 tier (pair16 layout). Compiled with only this tier's flags (cmake/Isa.cmake).
//
// Exact without VNNI: A - a_zp is packed as int16 (|.| <= 255) and each B byte is sign-extended to
// int16 on load (vpmovsxbw), so vpmaddwd forms (a0 b0 + a1 b1) with |.| <= 2 * 255 * 128 in int32
// and nothing saturates. (vpmaddubsw would add two u8 x s8 products in int16: 255 * 127 * 2
// overflows it.) Throughput matches vpmaddubsw + vpmaddwd(1): two multiply-port ops per 32 MACs.
//
// Tile 6 x 16: 12 ymm accumulators + 2 B vectors + 1 broadcast + 1 product. A rows are broadcast as int16
// pairs straight from the packed rows; the 16-column B panel (Kp * 16 bytes) stays in L1 while
// every row panel of the block passes over it.
//
// The fast kernel (qgemm_block__avx2_maddubs, quad16 layout) runs when qgemm_pack_b found that no k
// pair of B can saturate vpmaddubsw's int16 sum (for instance 7-bit weights in [-64, 63]): A is
// packed as uint8 (pack_a_u8), and per k quad and row it costs one broadcast, 2 vpmaddubsw (u8 x s8
// pairs to int16, exact under that rule), 2 vpmaddwd with ones (pairs of int16 to int32, exact) and
// 2 vpaddd for 64 multiply-adds — against 2 broadcasts, 4 vpmaddwd and 4 vpaddd (plus the B
// sign-extensions) in the fallback, with half the packed-A bytes.

#include <immintrin.h>

#include "qgemm_impl.hpp"
#include "qgemm_x86.hpp"

namespace obol {
inline namespace v1 {
namespace kernels::qgemm_detail {

namespace {

template <int R>
void tile_avx2(const Plan& p, const int16_t* a, int64_t astride, const int32_t* rowsum, const int8_t* b, int64_t m,
               int64_t n, int64_t cnt) {
  __m256i acc[R][2];
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
  const int64_t kq = p.Kp / 2;
  for (int64_t j = 0; j < kq; ++j) {
    const __m256i b0 = _mm256_cvtepi8_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(b + j * 32)));
    const __m256i b1 = _mm256_cvtepi8_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(b + j * 32 + 16)));
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      int32_t pair;
      std::memcpy(&pair, a + r * astride + 2 * j, 4);
      const __m256i av = _mm256_set1_epi32(pair);
      acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(av, b0));
      acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(av, b1));
    }
  }
  for (int r = 0; r < R; ++r) epilogue16(p, m + r, n, cnt, acc[r][0], acc[r][1], rowsum[r]);
}

// The full 6 x 16 tile. Its k loop is written in assembly: GCC schedules all twelve vpmaddwd of a
// k-pair ahead of their adds and then spills accumulators (18 live vectors for 16 registers). Here
// each product goes through one scratch register straight into its accumulator: 12 accumulators,
// 2 B vectors, 1 broadcast and 1 product = 16 ymm.
#define OBOL_QG_ROW(addr, c0, c1)              \
  "vpbroadcastd " addr ", %%ymm14\n\t"        \
  "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n\t"    \
  "vpaddd %%ymm15, %[" #c0 "], %[" #c0 "]\n\t" \
  "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n\t"    \
  "vpaddd %%ymm15, %[" #c1 "], %[" #c1 "]\n\t"

void tile_avx2_6(const Plan& p, const int16_t* a, int64_t astride, const int32_t* rowsum, const int8_t* b, int64_t m,
                 int64_t n, int64_t cnt) {
  __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256i c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  const int64_t sbytes = astride * 2;  // rows 0..2 from p0, rows 3..5 from p3, at +0, +s, +2s
  const int64_t kq = p.Kp / 2;
  for (int64_t j = 0; j < kq; ++j) {
    __asm__("vpmovsxbw (%[b]), %%ymm12\n\t"
            "vpmovsxbw 16(%[b]), %%ymm13\n\t"
            OBOL_QG_ROW("(%[p0])", c00, c01) OBOL_QG_ROW("(%[p0],%[s],1)", c10, c11)
            OBOL_QG_ROW("(%[p0],%[s],2)", c20, c21) OBOL_QG_ROW("(%[p3])", c30, c31)
            OBOL_QG_ROW("(%[p3],%[s],1)", c40, c41) OBOL_QG_ROW("(%[p3],%[s],2)", c50, c51)
            : [c00] "+x"(c00), [c01] "+x"(c01), [c10] "+x"(c10), [c11] "+x"(c11), [c20] "+x"(c20),
              [c21] "+x"(c21), [c30] "+x"(c30), [c31] "+x"(c31), [c40] "+x"(c40), [c41] "+x"(c41),
              [c50] "+x"(c50), [c51] "+x"(c51)
            : [b] "r"(b + j * 32), [p0] "r"(a + 2 * j), [p3] "r"(a + 3 * astride + 2 * j), [s] "r"(sbytes)
            : "xmm12", "xmm13", "xmm14", "xmm15", "memory");
  }
  epilogue16(p, m, n, cnt, c00, c01, rowsum[0]);
  epilogue16(p, m + 1, n, cnt, c10, c11, rowsum[1]);
  epilogue16(p, m + 2, n, cnt, c20, c21, rowsum[2]);
  epilogue16(p, m + 3, n, cnt, c30, c31, rowsum[3]);
  epilogue16(p, m + 4, n, cnt, c40, c41, rowsum[4]);
  epilogue16(p, m + 5, n, cnt, c50, c51, rowsum[5]);
}
#undef OBOL_QG_ROW

// --- vpmaddubsw kernel (quad16 B, uint8 A) ---

template <int R>
void tile_maddubs(const Plan& p, const uint8_t* a, int64_t astride, const int32_t* rowsum, const int8_t* b, int64_t m,
                  int64_t n, int64_t cnt) {
  __m256i acc[R][2];
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
  const __m256i ones = _mm256_set1_epi16(1);
  const int64_t kq = p.Kp / 4;
  for (int64_t j = 0; j < kq; ++j) {
    const __m256i b0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + j * 64));
    const __m256i b1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + j * 64 + 32));
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      int32_t quad;
      std::memcpy(&quad, a + r * astride + 4 * j, 4);
      const __m256i av = _mm256_set1_epi32(quad);
      acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(_mm256_maddubs_epi16(av, b0), ones));
      acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(_mm256_maddubs_epi16(av, b1), ones));
    }
  }
  for (int r = 0; r < R; ++r) epilogue16(p, m + r, n, cnt, acc[r][0], acc[r][1], rowsum[r]);
}

// The full 6 x 16 tile in assembly, for the same register reason as tile_avx2_6: 12 accumulators,
// 2 B vectors, 1 broadcast and 1 product = 16 ymm; the vector of int16 ones is a memory operand.
// AT&T order: vpmaddubsw B, A, dst multiplies the unsigned bytes of A by the signed bytes of B.
#define OBOL_QB_ROW(addr, c0, c1)               \
  "vpbroadcastd " addr ", %%ymm14\n\t"         \
  "vpmaddubsw %%ymm12, %%ymm14, %%ymm15\n\t"   \
  "vpmaddwd %[ones], %%ymm15, %%ymm15\n\t"     \
  "vpaddd %%ymm15, %[" #c0 "], %[" #c0 "]\n\t" \
  "vpmaddubsw %%ymm13, %%ymm14, %%ymm15\n\t"   \
  "vpmaddwd %[ones], %%ymm15, %%ymm15\n\t"     \
  "vpaddd %%ymm15, %[" #c1 "], %[" #c1 "]\n\t"

void tile_maddubs_6(const Plan& p, const uint8_t* a, int64_t astride, const int32_t* rowsum, const int8_t* b,
                    int64_t m, int64_t n, int64_t cnt) {
  alignas(32) static const int16_t kOnes[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256i c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  const __m256i ones = _mm256_load_si256(reinterpret_cast<const __m256i*>(kOnes));
  const int64_t kq = p.Kp / 4;
  // Two k quads per iteration (fewer loop instructions between the multiplies), then the odd one.
#define OBOL_QB_QUAD(bo, ao)                                                                          \
  "vmovdqa " bo "(%[b]), %%ymm12\n\t"                                                                \
  "vmovdqa " bo "+32(%[b]), %%ymm13\n\t"                                                             \
  OBOL_QB_ROW(ao "(%[p0])", c00, c01) OBOL_QB_ROW(ao "(%[p0],%[s],1)", c10, c11)                      \
  OBOL_QB_ROW(ao "(%[p0],%[s],2)", c20, c21) OBOL_QB_ROW(ao "(%[p3])", c30, c31)                      \
  OBOL_QB_ROW(ao "(%[p3],%[s],1)", c40, c41) OBOL_QB_ROW(ao "(%[p3],%[s],2)", c50, c51)
#define OBOL_QB_OPERANDS                                                                              \
  : [c00] "+x"(c00), [c01] "+x"(c01), [c10] "+x"(c10), [c11] "+x"(c11), [c20] "+x"(c20),             \
    [c21] "+x"(c21), [c30] "+x"(c30), [c31] "+x"(c31), [c40] "+x"(c40), [c41] "+x"(c41),             \
    [c50] "+x"(c50), [c51] "+x"(c51)                                                                  \
  : [b] "r"(b + j * 64), [p0] "r"(a + 4 * j), [p3] "r"(a + 3 * astride + 4 * j), [s] "r"(astride),   \
    [ones] "m"(ones)                                                                                  \
  : "xmm12", "xmm13", "xmm14", "xmm15", "memory"
  int64_t j = 0;
  for (; j + 2 <= kq; j += 2) __asm__(OBOL_QB_QUAD("0", "0") OBOL_QB_QUAD("64", "4") OBOL_QB_OPERANDS);
  if (j < kq) __asm__(OBOL_QB_QUAD("0", "0") OBOL_QB_OPERANDS);
#undef OBOL_QB_QUAD
#undef OBOL_QB_OPERANDS
  epilogue16(p, m, n, cnt, c00, c01, rowsum[0]);
  epilogue16(p, m + 1, n, cnt, c10, c11, rowsum[1]);
  epilogue16(p, m + 2, n, cnt, c20, c21, rowsum[2]);
  epilogue16(p, m + 3, n, cnt, c30, c31, rowsum[3]);
  epilogue16(p, m + 4, n, cnt, c40, c41, rowsum[4]);
  epilogue16(p, m + 5, n, cnt, c50, c51, rowsum[5]);
}
#undef OBOL_QB_ROW

}  // namespace

bool qgemm_block__avx2(const Plan& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const int64_t rows = m1 - m0;
  const int64_t stride = round_up(std::max<int64_t>(p.Kp, 16), 16);
  char* mem = static_cast<char*>(qgemm_scratch(0, static_cast<size_t>(rows * stride * 2 + rows * 4 + 64)));
  if (!mem) return false;
  int16_t* a = reinterpret_cast<int16_t*>(mem);
  int32_t* rowsum = reinterpret_cast<int32_t*>(mem + rows * stride * 2);
  pack_a_i16(p, m0, rows, a, stride, rowsum);
  for_each_tile(
      p, a, stride, rowsum, rows, m0, n0, n1, p.Kp,
      [&](const int16_t* ar, const int32_t* rs, const int8_t* b, int64_t m, int64_t n, int64_t cnt) {
        tile_avx2_6(p, ar, stride, rs, b, m, n, cnt);
      },
      [&](auto R, const int16_t* ar, const int32_t* rs, const int8_t* b, int64_t m, int64_t n, int64_t cnt) {
        tile_avx2<decltype(R)::value>(p, ar, stride, rs, b, m, n, cnt);
      });
  return true;
}

bool qgemm_block__avx2_maddubs(const Plan& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  return quad16_block(p, m0, m1, n0, n1, &tile_maddubs_6, [](auto R, auto&&... args) {
    tile_maddubs<decltype(R)::value>(args...);
  });
}

}  // namespace kernels::qgemm_detail
}  // inline namespace v1
}  // namespace obol
