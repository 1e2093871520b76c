// The int8 GEMM core of the CPU integer matmuls, on obol/kernels/qgemm.hpp: weights packed once,
// C = (A - za)(B - zb) in int32, or dequantized to f32 in the GEMM's epilogue.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "obol/kernels/qgemm.hpp"
#include "quant_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

// B (K x N, uint8 or int8) with its zero points, packed for the default qgemm tier. Immutable once
// prepared; shared by every session of a model.
struct QWeights {
  int64_t K = 0, N = 0;
  std::shared_ptr<const kernels::QGemmPackedB> packed;
};

// Prepares B (row-major, leading dimension ldb >= N). zb: one zero point or N of them.
Result<QWeights> prepare_qweights(const void* b, bool b_unsigned, int64_t K, int64_t N, int64_t ldb,
                                  const std::vector<int32_t>& zb);

// C (M x N, leading dimension ldc) = (A - za) x (B - zb) in int32. A is M x K row-major (uint8 when
// a_unsigned, else int8); za has one entry or M.
Status qgemm_s32(const void* a, bool a_unsigned, int64_t M, int64_t K, const std::vector<int32_t>& za,
                 const QWeights& w, int32_t* c, int64_t ldc);

// Y (M x N, leading dimension ldy) = (A - za)(B - zb) * a_scale * b_scale[n] + bias[n] (bias may be
// null); b_scale has 1 or N entries.
Status qgemm_f32(const void* a, bool a_unsigned, int64_t M, int32_t za, float a_scale, const QWeights& w,
                 const std::vector<float>& b_scale, const float* bias, float* y, int64_t ldy);

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
