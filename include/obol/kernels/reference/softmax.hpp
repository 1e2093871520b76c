// Reference (plain-loop) softmax and log-softmax: the tests' truth and the scalar tier.
//
// Numerically stable: each row is shifted by its maximum before exponentiation, so large inputs
// never overflow. The row sum accumulates in double. A row holding a NaN gives NaN everywhere; a
// row whose maximum is +inf or -inf (all -inf) gives NaN too (inf - inf), as in numpy and PyTorch.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "obol/kernels/isa_namespace.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {
OBOL_KERNELS_BEGIN
namespace reference {

// Same contract as KernelTable::softmax_f32.
inline void softmax_f32(const float* x, float* y, int64_t rows, int64_t n, bool log) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    float m = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < n; ++j)
      if (xr[j] != xr[j] || xr[j] > m) m = xr[j];  // once m is NaN nothing compares greater
    double s = 0;
    for (int64_t j = 0; j < n; ++j) s += std::exp(xr[j] - m);
    if (log) {
      const float log_s = static_cast<float>(std::log(s));
      for (int64_t j = 0; j < n; ++j) yr[j] = (xr[j] - m) - log_s;
    } else {
      const float inv = static_cast<float>(1.0 / s);
      for (int64_t j = 0; j < n; ++j) yr[j] = std::exp(xr[j] - m) * inv;
    }
  }
}

}  // namespace reference
OBOL_KERNELS_END
}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
