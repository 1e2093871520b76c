// Internal contract between the int4 matmul driver (q4gemm.cpp) and its kernels (q4gemm__<isa>.cpp).
//
// Int8 activations (one row of X): groups of 32 along K, d_g = max|x| / 127, q = nearbyint(x / d_g)
// (0 past K), stored for Kpad = round_up(k_blocks * block_size, 64) values:
//   qn    natural order;
//   qp    nbits only: per pair of groups (64 values) [even of g0, even of g1, odd of g0, odd of g1]
//         (16 each), matching the low and high nibbles of 32 weight bytes;
//   dx    d_g per group;  dxv  per pair, [d_g0 x 4, d_g1 x 4] (the lanes of a pair's dot product);
//   xs    per weight block b: sum over k in b of d_g(k) * q_k (for the zero-point term).
// A column's result is sum_b scale_b * (sum_g d_g * sum_{k in b, g} code_k q_k) - sum_b scale_b zp_b xs_b.
#pragma once

#include <cstdint>

#include "obol/kernels/q4gemm.hpp"

namespace obol {
inline namespace v1 {
namespace kernels::q4_detail {

struct Q8Act {
  const int8_t* qn = nullptr;
  const int8_t* qp = nullptr;
  const float* dx = nullptr;
  const float* dxv = nullptr;
  const float* xs = nullptr;
};

// Rows of the int8 path for columns [n0, n1): Y[m * ldy + n] = result + bias[n].
using RowsFn = void (*)(const Q4Weights& w, const Q8Act* rows, int64_t M, int64_t n0, int64_t n1, float* Y,
                        int64_t ldy, const float* bias);
void q4_rows_int8__scalar(const Q4Weights& w, const Q8Act* rows, int64_t M, int64_t n0, int64_t n1, float* Y,
                          int64_t ldy, const float* bias);
void q4_rows_int8__avx2(const Q4Weights& w, const Q8Act* rows, int64_t M, int64_t n0, int64_t n1, float* Y,
                        int64_t ldy, const float* bias);

// Dequantizes columns [n0, n0 + count) of W into Wt (count x K, row n - n0 holds column n).
using DequantFn = void (*)(const Q4Weights& w, int64_t n0, int64_t count, float* Wt);
void q4_dequant_cols__scalar(const Q4Weights& w, int64_t n0, int64_t count, float* Wt);
void q4_dequant_cols__avx2(const Q4Weights& w, int64_t n0, int64_t count, float* Wt);

// Weight layout helpers shared by the kernels.
inline int64_t q4_k_blocks(const Q4Weights& w) {
  return w.format == Q4Format::q4_0 ? w.K / 32 : (w.K + w.block_size - 1) / w.block_size;
}
inline int64_t q4_block_size(const Q4Weights& w) { return w.format == Q4Format::q4_0 ? 32 : w.block_size; }
inline int64_t q4_kpad(const Q4Weights& w) {
  const int64_t n = q4_k_blocks(w) * q4_block_size(w);
  return (n + 63) / 64 * 64;
}

}  // namespace kernels::q4_detail
}  // inline namespace v1
}  // namespace obol
