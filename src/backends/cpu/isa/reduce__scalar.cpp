// Row kernels (reductions, softmax, layer norm, RMS norm) for the scalar tier: the plain-loop references.
#include "obol/kernels/reference/norm.hpp"
#include "obol/kernels/reference/reduce.hpp"
#include "obol/kernels/reference/softmax.hpp"
#include "register.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {

namespace {
void reduce_f32__scalar(ReduceOp op, const float* x, int64_t outer, int64_t n, int64_t inner, float* y) {
  reference::reduce_f32(op, x, outer, n, inner, y);
}
void softmax_f32__scalar(const float* x, float* y, int64_t rows, int64_t n, bool log) {
  reference::softmax_f32(x, y, rows, n, log);
}
void layer_norm_f32__scalar(const float* x, const float* gamma, const float* beta, float* y, int64_t rows,
                            int64_t n, float eps) {
  reference::layer_norm_f32(x, gamma, beta, y, rows, n, eps);
}
void rms_norm_f32__scalar(const float* x, const float* gamma, float* y, int64_t rows, int64_t n, float eps) {
  reference::rms_norm_f32(x, gamma, y, rows, n, eps);
}
}  // namespace

void register_reduce__scalar(KernelTable& t) {
  t.reduce_f32 = &reduce_f32__scalar;
  t.softmax_f32 = &softmax_f32__scalar;
  t.layer_norm_f32 = &layer_norm_f32__scalar;
  t.rms_norm_f32 = &rms_norm_f32__scalar;
}

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
