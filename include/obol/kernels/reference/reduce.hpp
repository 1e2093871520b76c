// Reference (plain-loop) reductions: the tests' truth and the scalar tier.
//
// x is viewed as [outer, n, inner] and reduced over the middle axis:
//   y[o * inner + i] = reduce over j in [0, n) of x[(o * n + j) * inner + i].
// sum, mean, prod and sum_square accumulate in double and round once. max and min propagate NaN
// (any NaN in the reduced set gives NaN). For n == 0 the result is the identity: sum 0, prod 1,
// sum_square 0, max -inf, min +inf, and mean NaN (0 / 0).
#pragma once

#include <cstdint>
#include <limits>

#include "obol/kernels/isa_namespace.hpp"
#include "obol/kernels/ops.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {
OBOL_KERNELS_BEGIN
namespace reference {

// Reduces n values spaced `stride` apart.
inline float reduce_strided(ReduceOp op, const float* x, int64_t n, int64_t stride) {
  const float inf = std::numeric_limits<float>::infinity();
  switch (op) {
    case ReduceOp::sum:
    case ReduceOp::mean: {
      double s = 0;
      for (int64_t j = 0; j < n; ++j) s += x[j * stride];
      return op == ReduceOp::mean ? static_cast<float>(s / static_cast<double>(n)) : static_cast<float>(s);
    }
    case ReduceOp::sum_square: {
      double s = 0;
      for (int64_t j = 0; j < n; ++j) s += static_cast<double>(x[j * stride]) * x[j * stride];
      return static_cast<float>(s);
    }
    case ReduceOp::prod: {
      double p = 1;
      for (int64_t j = 0; j < n; ++j) p *= x[j * stride];
      return static_cast<float>(p);
    }
    case ReduceOp::max: {
      float m = -inf;
      for (int64_t j = 0; j < n; ++j) {
        const float v = x[j * stride];
        if (v != v || v > m) m = v;
        if (m != m) break;
      }
      return m;
    }
    case ReduceOp::min: {
      float m = inf;
      for (int64_t j = 0; j < n; ++j) {
        const float v = x[j * stride];
        if (v != v || v < m) m = v;
        if (m != m) break;
      }
      return m;
    }
  }
  return 0.0f;
}

// Same contract as KernelTable::reduce_f32.
inline void reduce_f32(ReduceOp op, const float* x, int64_t outer, int64_t n, int64_t inner, float* y) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) y[o * inner + i] = reduce_strided(op, x + o * n * inner + i, n, inner);
}

}  // namespace reference
OBOL_KERNELS_END
}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
