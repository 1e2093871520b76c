// Reference (plain-loop) unary functions: the tests' truth and the scalar tier.
// Semantics at special values: relu, clip, abs, neg and identity pass NaN through unchanged; relu(-0)
// is +0; exp overflows to +inf and underflows gradually to 0; log(0) = -inf, log(x < 0) = NaN.
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

inline float unary_one(UnaryOp op, UnaryParams p, float x) {
  switch (op) {
    case UnaryOp::identity: return x;
    case UnaryOp::relu: return x > 0.0f ? x : (x == x ? 0.0f : x);  // NaN stays NaN
    case UnaryOp::leaky_relu: return x >= 0.0f ? x : p.alpha * x;
    // 0.5 x (1 + erf(x / sqrt 2)) written with erfc, which keeps full relative accuracy for
    // negative x where 1 + erf(.) would cancel.
    case UnaryOp::gelu_erf: return 0.5f * x * std::erfc(x * -0.70710678118654752f);
    // 0.5 x (1 + tanh(u)) == x * sigmoid(2u): the same function without the cancellation.
    case UnaryOp::gelu_tanh: {
      const float u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
      return x / (1.0f + std::exp(-2.0f * u));
    }
    case UnaryOp::silu: return x / (1.0f + std::exp(-x));
    case UnaryOp::sigmoid: return 1.0f / (1.0f + std::exp(-x));
    case UnaryOp::tanh: return std::tanh(x);
    case UnaryOp::exp: return std::exp(x);
    case UnaryOp::log: return std::log(x);
    case UnaryOp::sqrt: return std::sqrt(x);
    case UnaryOp::reciprocal: return 1.0f / x;
    case UnaryOp::abs: return std::fabs(x);
    case UnaryOp::neg: return -x;
    case UnaryOp::clip: return x != x ? x : (x < p.alpha ? p.alpha : (x > p.beta ? p.beta : x));
    case UnaryOp::erf: return std::erf(x);
  }
  return x;
}

inline void unary_f32(UnaryOp op, UnaryParams p, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = unary_one(op, p, x[i]);
}

}  // namespace reference
OBOL_KERNELS_END
}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
