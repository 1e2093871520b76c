// Reference (plain-loop) fp32 GEMM: the tests' truth and the scalar tier.
//
// Same contract as KernelTable::sgemm (obol/kernels/cpu.hpp). The "packed" B of this tier is simply
// op(B) copied into a dense K x N row-major matrix.
#pragma once

#include <cstddef>
#include <cstdint>

#include "obol/kernels/cpu.hpp"
#include "obol/kernels/isa_namespace.hpp"
#include "obol/kernels/reference/unary.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {
OBOL_KERNELS_BEGIN
namespace reference {

// Element (i, k) of op(A) and (k, j) of op(B).
inline float gemm_a_at(const SgemmArgs& g, int64_t i, int64_t k) {
  return g.trans_a ? g.A[k * g.lda + i] : g.A[i * g.lda + k];
}
inline float gemm_b_at(const float* B, int64_t ldb, bool trans_b, int64_t k, int64_t j) {
  return trans_b ? B[j * ldb + k] : B[k * ldb + j];
}

// C = act(alpha * op(A) * B' + beta * C + bias), where B' is read with (ldb, trans_b).
inline void sgemm_with_b(const SgemmArgs& g, const float* B, int64_t ldb, bool trans_b) {
  for (int64_t i = 0; i < g.M; ++i) {
    for (int64_t j = 0; j < g.N; ++j) {
      float acc = 0.0f;
      for (int64_t k = 0; k < g.K; ++k) acc += gemm_a_at(g, i, k) * gemm_b_at(B, ldb, trans_b, k, j);
      float& c = g.C[i * g.ldc + j];
      float v = g.alpha * acc;
      if (g.beta != 0.0f) v += g.beta * c;  // beta == 0: C is not read
      if (g.bias) v += g.bias[j];
      c = unary_one(g.act, g.act_params, v);
    }
  }
}

inline void sgemm(const SgemmArgs& g) { sgemm_with_b(g, g.B, g.ldb, g.trans_b); }

inline size_t sgemm_packed_b_bytes(int64_t K, int64_t N) {
  return static_cast<size_t>(K) * static_cast<size_t>(N) * sizeof(float);
}

inline void sgemm_pack_b(int64_t K, int64_t N, const float* B, int64_t ldb, bool trans_b, float* packed) {
  for (int64_t k = 0; k < K; ++k)
    for (int64_t j = 0; j < N; ++j) packed[k * N + j] = gemm_b_at(B, ldb, trans_b, k, j);
}

inline void sgemm_packed(const SgemmArgs& g, const float* packed_b) { sgemm_with_b(g, packed_b, g.N, false); }

}  // namespace reference
OBOL_KERNELS_END
}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
