// eltwise kernels for the scalar tier. Compiled with only this tier's flags (cmake/Isa.cmake).
#include "obol/kernels/reference/unary.hpp"
#include "register.hpp"

namespace obol::kernels {

void unary_f32__scalar(UnaryOp op, UnaryParams p, const float* x, float* y, int64_t n) {
  reference::unary_f32(op, p, x, y, n);
}

void register_eltwise__scalar(KernelTable& t) { t.unary_f32 = &unary_f32__scalar; }

}  // namespace obol::kernels
