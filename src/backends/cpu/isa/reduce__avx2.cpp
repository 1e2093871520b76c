// Row kernels (reductions, softmax, layer norm, RMS norm) for the avx2 tier. Compiled with only this
// tier's flags (cmake/Isa.cmake); it only instantiates the Arch-templated bodies.
#include "obol/kernels/norm.hpp"
#include "obol/kernels/reduce.hpp"
#include "obol/kernels/softmax.hpp"
#include "register.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {

namespace {
using Arch = xsimd::fma3<xsimd::avx2>;

void reduce_f32__avx2(ReduceOp op, const float* x, int64_t outer, int64_t n, int64_t inner, float* y) {
  simd::reduce_f32<Arch>(op, x, outer, n, inner, y);
}
void softmax_f32__avx2(const float* x, float* y, int64_t rows, int64_t n, bool log) {
  simd::softmax_f32<Arch>(x, y, rows, n, log);
}
void layer_norm_f32__avx2(const float* x, const float* gamma, const float* beta, float* y, int64_t rows,
                            int64_t n, float eps) {
  simd::layer_norm_f32<Arch>(x, gamma, beta, y, rows, n, eps);
}
void rms_norm_f32__avx2(const float* x, const float* gamma, float* y, int64_t rows, int64_t n, float eps) {
  simd::rms_norm_f32<Arch>(x, gamma, y, rows, n, eps);
}
}  // namespace

void register_reduce__avx2(KernelTable& t) {
  t.reduce_f32 = &reduce_f32__avx2;
  t.softmax_f32 = &softmax_f32__avx2;
  t.layer_norm_f32 = &layer_norm_f32__avx2;
  t.rms_norm_f32 = &rms_norm_f32__avx2;
}

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
