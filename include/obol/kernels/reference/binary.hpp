// Reference (plain-loop) binary functions: the tests' truth and the scalar tier.
//
// Semantics: IEEE arithmetic for add/sub/mul/div; pow is C's powf (pow(x, 0) = 1 even for NaN x,
// pow(0, -1) = inf, negative x with a non-integer exponent = NaN). min and max propagate NaN: if
// either operand is NaN the result is NaN (the first operand's NaN when both are). When the operands
// compare equal (for example -0 and +0) the second operand is returned.
#pragma once

#include <cmath>
#include <cstdint>

#include "obol/kernels/isa_namespace.hpp"
#include "obol/kernels/ops.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {
OBOL_KERNELS_BEGIN
namespace reference {

inline float binary_one(BinaryOp op, float a, float b) {
  switch (op) {
    case BinaryOp::add: return a + b;
    case BinaryOp::sub: return a - b;
    case BinaryOp::mul: return a * b;
    case BinaryOp::div: return a / b;
    case BinaryOp::pow: return std::pow(a, b);
    case BinaryOp::min: return a != a ? a : (a < b ? a : b);
    case BinaryOp::max: return a != a ? a : (a > b ? a : b);
  }
  return a;
}

// y[i] = op(a[i * a_inc], b[i * b_inc]); a_inc and b_inc are 0 (broadcast) or 1.
inline void binary_f32(BinaryOp op, const float* a, int64_t a_inc, const float* b, int64_t b_inc, float* y,
                       int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = binary_one(op, a[i * a_inc], b[i * b_inc]);
}

}  // namespace reference
OBOL_KERNELS_END
}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
