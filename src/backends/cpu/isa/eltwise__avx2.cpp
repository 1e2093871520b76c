// eltwise kernels for the avx2 tier. Compiled with only this tier's flags (cmake/Isa.cmake).
#include "obol/kernels/reference/unary.hpp"
#include "register.hpp"

namespace obol::kernels {

void unary_f32__avx2(UnaryOp op, UnaryParams p, const float* x, float* y, int64_t n) {
  reference::unary_f32(op, p, x, y, n);
}

void register_eltwise__avx2(KernelTable& t) { t.unary_f32 = &unary_f32__avx2; }

}  // namespace obol::kernels
