// The int8 GEMM core on obol/kernels/qgemm.hpp.
#include "quant_gemm.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

Result<QWeights> prepare_qweights(const void* b, bool b_unsigned, int64_t K, int64_t N, int64_t ldb,
                                  const std::vector<int32_t>& zb) {
  kernels::QGemmB qb;
  qb.K = K;
  qb.N = N;
  qb.data = b;
  qb.ldb = ldb;
  qb.is_signed = !b_unsigned;
  qb.zero_point = zb.data();
  qb.zero_point_count = static_cast<int64_t>(zb.size());
  OBOL_ASSIGN_OR_RETURN(kernels::QGemmPackedB p, kernels::qgemm_pack_b(qb));
  QWeights w;
  w.K = K;
  w.N = N;
  w.packed = std::make_shared<const kernels::QGemmPackedB>(std::move(p));
  return w;
}

Status qgemm_s32(const void* a, bool a_unsigned, int64_t M, int64_t K, const std::vector<int32_t>& za,
                 const QWeights& w, int32_t* c, int64_t ldc) {
  kernels::QGemmArgs g;
  g.A = a;
  g.lda = K;
  g.a_signed = !a_unsigned;
  g.C = c;
  g.ldc = ldc;
  g.out = kernels::QGemmOut::s32;
  if (za.size() == 1) {
    g.M = M;
    g.a_zero_point = za[0];
    return kernels::qgemm(g, *w.packed);
  }
  // One zero point per row of A (MatMulInteger allows it): one row at a time.
  for (int64_t i = 0; i < M; ++i) {
    g.M = 1;
    g.A = static_cast<const uint8_t*>(a) + i * K;
    g.C = c + i * ldc;
    g.a_zero_point = za[static_cast<size_t>(i)];
    OBOL_RETURN_IF_ERROR(kernels::qgemm(g, *w.packed));
  }
  return Status::ok();
}

Status qgemm_f32(const void* a, bool a_unsigned, int64_t M, int32_t za, float a_scale, const QWeights& w,
                 const std::vector<float>& b_scale, const float* bias, float* y, int64_t ldy) {
  kernels::QGemmArgs g;
  g.M = M;
  g.A = a;
  g.lda = w.K;
  g.a_signed = !a_unsigned;
  g.a_zero_point = za;
  g.C = y;
  g.ldc = ldy;
  g.out = kernels::QGemmOut::f32;
  g.a_scale = a_scale;
  g.b_scale = b_scale.data();
  g.b_scale_count = static_cast<int64_t>(b_scale.size());
  g.bias_f32 = bias;
  return kernels::qgemm(g, *w.packed);
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
