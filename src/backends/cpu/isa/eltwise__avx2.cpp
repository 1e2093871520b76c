// Elementwise kernels (unary, binary, 2-D transpose) for the avx2 tier. Compiled with only this
// tier's flags (cmake/Isa.cmake); it only instantiates the Arch-templated bodies.
#include "obol/kernels/binary.hpp"
#include "obol/kernels/transpose.hpp"
#include "obol/kernels/unary.hpp"
#include "register.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {

namespace {
using Arch = xsimd::fma3<xsimd::avx2>;

void binary_f32__avx2(BinaryOp op, const float* a, int64_t a_inc, const float* b, int64_t b_inc, float* y,
                        int64_t n) {
  simd::binary_f32<Arch>(op, a, a_inc, b, b_inc, y, n);
}
void transpose_2d_32__avx2(const void* x, int64_t ldx, void* y, int64_t ldy, int64_t rows, int64_t cols) {
  simd::transpose_2d_32<Arch>(x, ldx, y, ldy, rows, cols);
}
}  // namespace

void unary_f32__avx2(UnaryOp op, UnaryParams p, const float* x, float* y, int64_t n) {
  simd::unary_f32<Arch>(op, p, x, y, n);
}

void register_eltwise__avx2(KernelTable& t) {
  t.unary_f32 = &unary_f32__avx2;
  t.binary_f32 = &binary_f32__avx2;
  t.transpose_2d_32 = &transpose_2d_32__avx2;
}

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
