// Internal contract between the int8 GEMM driver (qgemm.cpp) and its per-tier kernels
// (qgemm__<isa>.cpp). Not a public header.
//
// Packed B layouts (Kp = K rounded up to the tier's k_align, zero-filled; B as int8):
//   plain   (scalar)                column n at data + n * Kp, k contiguous.
//   pair16  (avx2)                  16-column panels of Kp * 16 bytes; within a panel, k-pair j at
//                                   j * 32: columns 0..7 then 8..15, each (k = 2j, 2j + 1).
//   quad16  (avxvnni, avx512vnni, amx, and avx2 when QGemmPackedB::uses_maddubs())  16-column panels of Kp * 16 bytes; k-quad j at j * 64:
//                                   columns 0..15, each (k = 4j .. 4j + 3) — one AMX B-tile row.
//
// The kernels accumulate raw dot products and the epilogue adds
//     acc[m][n] = raw[m][n] + colterm[n] - zb[n] * rowsum[m]
// where, for pair16 (A packed as int16 A - a_zp): raw = sum (A - a_zp) * B8, rowsum = sum (A - a_zp),
// colterm = bias_s32; for plain/quad16 (A packed as uint8 Au = A, or A ^ 0x80 for int8, with
// azu = a_zp or a_zp + 128): raw = sum Au * B8, rowsum = sum Au, colterm = bias_s32 - azu * colsum
// + K * azu * zb. Everything is int32 with wrap-around, so all tiers agree bit for bit.
#pragma once

#include <cstddef>
#include <cstdint>

#include "obol/kernels/qgemm.hpp"

namespace obol {
inline namespace v1 {
namespace kernels::qgemm_detail {

enum class Layout { plain, pair16, quad16 };

struct Plan {
  int64_t M = 0, N = 0, K = 0, Kp = 0;
  const uint8_t* A = nullptr;  // raw bytes of A (uint8 or int8)
  int64_t lda = 0;
  bool a_signed = false;
  int32_t a_zp = 0;  // as given
  const int8_t* B = nullptr;   // packed
  const int32_t* zb = nullptr;       // N (padded to a multiple of 16 with zeros)
  const int32_t* colterm = nullptr;  // N (padded likewise)
  const float* mult = nullptr;       // N (padded): f32 a_scale*b_scale[n]; u8/s8 that / c_scale
  const float* bias_f32 = nullptr;   // N (padded), zeros when absent (f32 only)
  QGemmOut out = QGemmOut::s32;
  void* C = nullptr;
  int64_t ldc = 0;
  int32_t c_zp = 0;
  float q_lo = 0, q_hi = 0;  // u8/s8: allowed range of nearbyint(v) before adding c_zp
};

// Computes rows [m0, m1) and columns [n0, n1) of C; n0 is a multiple of 16. Runs on one thread
// (called inside parallel_for tasks). Returns false only when scratch memory cannot be had.
using BlockFn = bool (*)(const Plan& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1);

bool qgemm_block__scalar(const Plan& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1);
bool qgemm_block__avx2(const Plan& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1);
// avx2 with quad16 B whose k pairs cannot saturate vpmaddubsw (see qgemm.hpp).
bool qgemm_block__avx2_maddubs(const Plan& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1);
bool qgemm_block__avxvnni(const Plan& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1);
bool qgemm_block__avx512vnni(const Plan& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1);
bool qgemm_block__amx(const Plan& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1);

// A 64-byte aligned per-thread buffer of at least `bytes` (slot 0..3), kept between calls; nullptr
// when the allocation fails.
void* qgemm_scratch(int slot, size_t bytes);

// Whether the OS granted AMX tile data to this process (asks once).
bool amx_permission() noexcept;

// Scalar epilogue of `count` columns of row m starting at column n (the reference the SIMD
// epilogues reproduce exactly).
void qgemm_epilogue_scalar(const Plan& p, int64_t m, int64_t n, int64_t count, const int32_t* raw, int32_t rowsum);

inline int64_t round_up(int64_t a, int64_t b) { return (a + b - 1) / b * b; }

}  // namespace kernels::qgemm_detail
}  // inline namespace v1
}  // namespace obol
