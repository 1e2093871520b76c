// obol/kernels/ops.hpp — the operation enums shared by kernels, references and the graph layer.
#pragma once

#include <cstdint>

namespace obol {
inline namespace v1 {
namespace kernels {

// Elementwise unary functions. Also used as fused GEMM epilogue activations.
enum class UnaryOp : uint8_t {
  identity,
  relu,
  leaky_relu,  // x >= 0 ? x : alpha * x
  gelu_erf,    // 0.5 x (1 + erf(x / sqrt 2))
  gelu_tanh,   // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  silu,        // x * sigmoid(x)
  sigmoid,
  tanh,
  exp,
  log,
  sqrt,
  reciprocal,
  abs,
  neg,
  clip,  // min(max(x, alpha), beta)
  erf,   // the error function
};

// Parameters of a UnaryOp: leaky_relu uses alpha; clip uses [alpha, beta].
struct UnaryParams {
  float alpha = 0.0f;
  float beta = 0.0f;
};

enum class BinaryOp : uint8_t { add, sub, mul, div, pow, min, max };

enum class ReduceOp : uint8_t { sum, mean, max, min, prod, sum_square };

const char* unary_op_name(UnaryOp op) noexcept;
const char* binary_op_name(BinaryOp op) noexcept;
const char* reduce_op_name(ReduceOp op) noexcept;

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
