// Elementwise kernels (unary, binary, 2-D transpose) for the scalar tier: the plain-loop references.
#include "obol/kernels/reference/binary.hpp"
#include "obol/kernels/reference/quantize.hpp"
#include "obol/kernels/reference/transpose.hpp"
#include "obol/kernels/reference/unary.hpp"
#include "register.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {

void unary_f32__scalar(UnaryOp op, UnaryParams p, const float* x, float* y, int64_t n) {
  reference::unary_f32(op, p, x, y, n);
}

namespace {
void binary_f32__scalar(BinaryOp op, const float* a, int64_t a_inc, const float* b, int64_t b_inc, float* y,
                        int64_t n) {
  reference::binary_f32(op, a, a_inc, b, b_inc, y, n);
}
void transpose_2d_32__scalar(const void* x, int64_t ldx, void* y, int64_t ldy, int64_t rows, int64_t cols) {
  reference::transpose_2d_32(x, ldx, y, ldy, rows, cols);
}
void minmax_f32__scalar(const float* x, int64_t n, float* lo, float* hi) { reference::minmax_f32(x, n, lo, hi); }
void quantize_u8_f32__scalar(const float* x, int64_t n, float scale, int32_t zero_point, uint8_t* y) {
  reference::quantize_u8_f32(x, n, scale, zero_point, y);
}
}  // namespace

void register_eltwise__scalar(KernelTable& t) {
  t.unary_f32 = &unary_f32__scalar;
  t.binary_f32 = &binary_f32__scalar;
  t.transpose_2d_32 = &transpose_2d_32__scalar;
  t.minmax_f32 = &minmax_f32__scalar;
  t.quantize_u8_f32 = &quantize_u8_f32__scalar;
}

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
