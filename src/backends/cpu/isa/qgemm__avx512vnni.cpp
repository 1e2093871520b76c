// int8 GEMM, avx512vnni tier (quad16 layout): vpdpbusd on zmm (Cascade Lake and later). Compiled
// with only this tier's flags (cmake/Isa.cmake).
//
// One zmm holds a 16-column k-quad row of a B panel; the tile is 8 rows x 32 columns (two panels):
// 16 zmm accumulators + 2 B vectors + 1 broadcast. A is packed as uint8 as for avxvnni.
#include <immintrin.h>

#include "qgemm_impl.hpp"
#include "qgemm_x86.hpp"

namespace obol {
inline namespace v1 {
namespace kernels::qgemm_detail {

namespace {

template <int R, int NP>
void tile_avx512vnni(const Plan& p, const uint8_t* a, int64_t astride, const int32_t* rowsum, const int8_t* b,
                     int64_t m, int64_t n, int64_t n_end) {
  __m512i acc[R][NP];
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < NP; ++q) acc[r][q] = _mm512_setzero_si512();
  const int64_t kq = p.Kp / 4, panel = p.Kp * 16;
  for (int64_t j = 0; j < kq; ++j) {
    __m512i bv[NP];
    for (int q = 0; q < NP; ++q) bv[q] = _mm512_load_si512(b + q * panel + j * 64);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      int32_t quad;
      std::memcpy(&quad, a + r * astride + 4 * j, 4);
      const __m512i av = _mm512_set1_epi32(quad);
      for (int q = 0; q < NP; ++q) acc[r][q] = _mm512_dpbusd_epi32(acc[r][q], av, bv[q]);
    }
  }
  // Through memory: GCC 12 flags the zmm-to-ymm cast intrinsics as reading an uninitialised value.
  alignas(64) int32_t lanes[16];
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < NP; ++q) {
      const int64_t nq = n + 16 * q;
      _mm512_store_si512(lanes, acc[r][q]);
      epilogue16(p, m + r, nq, std::min<int64_t>(16, n_end - nq),
                 _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes)),
                 _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes + 8)), rowsum[r]);
    }
}

template <int NP>
void rows_avx512vnni(const Plan& p, const uint8_t* a, int64_t stride, const int32_t* rowsum, int64_t rows,
                     const int8_t* b, int64_t m0, int64_t n, int64_t n_end) {
  constexpr int MR = 8;
  int64_t r = 0;
  for (; r + MR <= rows; r += MR)
    tile_avx512vnni<MR, NP>(p, a + r * stride, stride, rowsum + r, b, m0 + r, n, n_end);
  const uint8_t* ar = a + r * stride;
  switch (rows - r) {
    case 1: tile_avx512vnni<1, NP>(p, ar, stride, rowsum + r, b, m0 + r, n, n_end); break;
    case 2: tile_avx512vnni<2, NP>(p, ar, stride, rowsum + r, b, m0 + r, n, n_end); break;
    case 3: tile_avx512vnni<3, NP>(p, ar, stride, rowsum + r, b, m0 + r, n, n_end); break;
    case 4: tile_avx512vnni<4, NP>(p, ar, stride, rowsum + r, b, m0 + r, n, n_end); break;
    case 5: tile_avx512vnni<5, NP>(p, ar, stride, rowsum + r, b, m0 + r, n, n_end); break;
    case 6: tile_avx512vnni<6, NP>(p, ar, stride, rowsum + r, b, m0 + r, n, n_end); break;
    case 7: tile_avx512vnni<7, NP>(p, ar, stride, rowsum + r, b, m0 + r, n, n_end); break;
    default: break;
  }
}

}  // namespace

bool qgemm_block__avx512vnni(const Plan& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const int64_t rows = m1 - m0;
  const int64_t stride = round_up(std::max<int64_t>(p.Kp, 32), 32);
  char* mem = static_cast<char*>(qgemm_scratch(0, static_cast<size_t>(round_up(rows * stride, 64) + rows * 4 + 64)));
  if (!mem) return false;
  uint8_t* a = reinterpret_cast<uint8_t*>(mem);
  int32_t* rowsum = reinterpret_cast<int32_t*>(mem + round_up(rows * stride, 64));
  pack_a_u8(p, m0, rows, rows, a, stride, rowsum);
  int64_t n = n0;
  for (; n + 16 < n1; n += 32)
    rows_avx512vnni<2>(p, a, stride, rowsum, rows, p.B + (n / 16) * p.Kp * 16, m0, n, std::min(n1, n + 32));
  if (n < n1) rows_avx512vnni<1>(p, a, stride, rowsum, rows, p.B + (n / 16) * p.Kp * 16, m0, n, n1);
  return true;
}

}  // namespace kernels::qgemm_detail
}  // inline namespace v1
}  // namespace obol
