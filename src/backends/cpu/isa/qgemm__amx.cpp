// int8 GEMM, amx tier (quad16 layout, K padded to 64): AMX-INT8 tiles (Sapphire Rapids and later).
// Compiled with only this tier's flags (cmake/Isa.cmake). Runs only after the OS granted tile data
// (amx_tile_permission, checked by qgemm_isa_supported).
//
// Tiles: C0..C3 (tmm0-3) hold a 32 x 32 int32 output block; A0, A1 (tmm4-5) are 16 rows x 64 k of
// the packed uint8 rows; B0, B1 (tmm6-7) are 16 k-quads x 16 columns, i.e. 16 consecutive 64-byte
// rows of a quad16 panel, so packed B is loaded in place. tdpbusd is uint8 x int8 into int32, as
// vpdpbusd. Results go through a 16 x 16 int32 buffer to the shared epilogue.
#include <immintrin.h>

#include "qgemm_impl.hpp"
#include "qgemm_x86.hpp"

namespace obol {
inline namespace v1 {
namespace kernels::qgemm_detail {

namespace {

struct alignas(64) TileConfig {
  uint8_t palette_id = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};
static_assert(sizeof(TileConfig) == 64, "AMX tile configuration is 64 bytes");

void store_tile(const Plan& p, const int32_t* buf, const int32_t* rowsum, int64_t m, int64_t rows_valid, int64_t n,
                int64_t n_end) {
  const int64_t cnt = std::min<int64_t>(16, n_end - n);
  for (int64_t r = 0; r < rows_valid; ++r) {
    const __m256i r0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(buf + r * 16));
    const __m256i r1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(buf + r * 16 + 8));
    epilogue16(p, m + r, n, cnt, r0, r1, rowsum[r]);
  }
}

// One block of (16 * NM) rows x (16 * NN) columns.
template <int NM, int NN>
void block_amx(const Plan& p, const uint8_t* a, int64_t stride, const int32_t* rowsum, int64_t rows_valid,
               const int8_t* b, int64_t m, int64_t n, int64_t n_end, int32_t* buf) {
  const int64_t kb = p.Kp / 64, panel = p.Kp * 16;
  _tile_zero(0);
  if (NN > 1) _tile_zero(1);
  if (NM > 1) _tile_zero(2);
  if (NM > 1 && NN > 1) _tile_zero(3);
  for (int64_t k = 0; k < kb; ++k) {
    _tile_loadd(4, a + k * 64, stride);
    if (NM > 1) _tile_loadd(5, a + 16 * stride + k * 64, stride);
    _tile_loadd(6, b + k * 1024, 64);
    if (NN > 1) _tile_loadd(7, b + panel + k * 1024, 64);
    _tile_dpbusd(0, 4, 6);
    if (NN > 1) _tile_dpbusd(1, 4, 7);
    if (NM > 1) _tile_dpbusd(2, 5, 6);
    if (NM > 1 && NN > 1) _tile_dpbusd(3, 5, 7);
  }
  const int64_t top = std::min<int64_t>(16, rows_valid);
  _tile_stored(0, buf, 64);
  store_tile(p, buf, rowsum, m, top, n, n_end);
  if (NN > 1) {
    _tile_stored(1, buf, 64);
    store_tile(p, buf, rowsum, m, top, n + 16, n_end);
  }
  if (NM > 1) {
    const int64_t bottom = rows_valid - 16;
    _tile_stored(2, buf, 64);
    store_tile(p, buf, rowsum + 16, m + 16, bottom, n, n_end);
    if (NN > 1) {
      _tile_stored(3, buf, 64);
      store_tile(p, buf, rowsum + 16, m + 16, bottom, n + 16, n_end);
    }
  }
}

}  // namespace

bool qgemm_block__amx(const Plan& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const int64_t rows = m1 - m0;
  const int64_t rows_padded = round_up(rows, 16);
  const int64_t stride = std::max<int64_t>(p.Kp, 64);  // Kp is a multiple of 64
  const int64_t a_bytes = round_up(rows_padded * stride, 64);
  char* mem = static_cast<char*>(qgemm_scratch(0, static_cast<size_t>(a_bytes + rows_padded * 4 + 1024 + 128)));
  if (!mem) return false;
  uint8_t* a = reinterpret_cast<uint8_t*>(mem);
  int32_t* buf = reinterpret_cast<int32_t*>(mem + a_bytes);  // 16 x 16 int32, 64-byte aligned
  int32_t* rowsum = reinterpret_cast<int32_t*>(mem + a_bytes + 1024);
  pack_a_u8(p, m0, rows, rows_padded, a, stride, rowsum);
  if (p.Kp == 0) {  // K == 0: no tile work, only the epilogue
    std::memset(buf, 0, 1024);
    for (int64_t n = n0; n < n1; n += 16)
      for (int64_t r = 0; r < rows; r += 16) store_tile(p, buf, rowsum + r, m0 + r, std::min<int64_t>(16, rows - r), n, n1);
    return true;
  }

  TileConfig cfg;
  for (int t = 0; t < 8; ++t) {
    cfg.rows[t] = 16;
    cfg.colsb[t] = 64;
  }
  _tile_loadconfig(&cfg);
  for (int64_t n = n0; n < n1; n += 32) {
    const bool two_panels = n + 16 < n1;
    const int8_t* b = p.B + (n / 16) * p.Kp * 16;
    const int64_t n_end = std::min(n1, n + 32);
    for (int64_t r = 0; r < rows; r += 32) {
      const uint8_t* ar = a + r * stride;
      const int64_t valid = std::min<int64_t>(32, rows - r);
      if (valid > 16) {
        if (two_panels)
          block_amx<2, 2>(p, ar, stride, rowsum + r, valid, b, m0 + r, n, n_end, buf);
        else
          block_amx<2, 1>(p, ar, stride, rowsum + r, valid, b, m0 + r, n, n_end, buf);
      } else {
        if (two_panels)
          block_amx<1, 2>(p, ar, stride, rowsum + r, valid, b, m0 + r, n, n_end, buf);
        else
          block_amx<1, 1>(p, ar, stride, rowsum + r, valid, b, m0 + r, n, n_end, buf);
      }
    }
  }
  _tile_release();
  return true;
}

}  // namespace kernels::qgemm_detail
}  // inline namespace v1
}  // namespace obol
