// int8 GEMM, avxvnni tier (quad16 layout): vpdpbusd on ymm (AVX-VNNI, e.g. Alder Lake and later
// client cores). Compiled with only this tier's flags (cmake/Isa.cmake).
//
// vpdpbusd adds four uint8 x int8 products to an int32 lane without intermediate saturation, so A
// is packed as uint8 (int8 A flipped by 0x80; the driver moves the zero point to match). Tile
// 6 x 16: 12 ymm accumulators + 2 B vectors + 1 broadcast.
#include <immintrin.h>

#include "qgemm_impl.hpp"
#include "qgemm_x86.hpp"

namespace obol {
inline namespace v1 {
namespace kernels::qgemm_detail {

namespace {

template <int R>
void tile_avxvnni(const Plan& p, const uint8_t* a, int64_t astride, const int32_t* rowsum, const int8_t* b,
                  int64_t m, int64_t n, int64_t cnt) {
  __m256i acc[R][2];
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
  const int64_t kq = p.Kp / 4;
  for (int64_t j = 0; j < kq; ++j) {
    const __m256i b0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + j * 64));
    const __m256i b1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + j * 64 + 32));
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      int32_t quad;
      std::memcpy(&quad, a + r * astride + 4 * j, 4);
      const __m256i av = _mm256_set1_epi32(quad);
      acc[r][0] = _mm256_dpbusd_avx_epi32(acc[r][0], av, b0);
      acc[r][1] = _mm256_dpbusd_avx_epi32(acc[r][1], av, b1);
    }
  }
  for (int r = 0; r < R; ++r) epilogue16(p, m + r, n, cnt, acc[r][0], acc[r][1], rowsum[r]);
}

}  // namespace

bool qgemm_block__avxvnni(const Plan& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  return quad16_block(p, m0, m1, n0, n1, &tile_avxvnni<6>, [](auto R, auto&&... args) {
    tile_avxvnni<decltype(R)::value>(args...);
  });
}

}  // namespace kernels::qgemm_detail
}  // inline namespace v1
}  // namespace obol
