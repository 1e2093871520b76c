// Reference (plain-loop) layer norm and RMS norm: the tests' truth and the scalar tier.
// Statistics accumulate in double (two passes for the variance) and are rounded once.
#pragma once

#include <cmath>
#include <cstdint>

#include "obol/kernels/isa_namespace.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {
OBOL_KERNELS_BEGIN
namespace reference {

// Same contract as KernelTable::layer_norm_f32; gamma may also be null (ones).
inline void layer_norm_f32(const float* x, const float* gamma, const float* beta, float* y, int64_t rows, int64_t n,
                           float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    double sum = 0;
    for (int64_t j = 0; j < n; ++j) sum += xr[j];
    const double mean = sum / static_cast<double>(n);
    double var = 0;
    for (int64_t j = 0; j < n; ++j) var += (xr[j] - mean) * (xr[j] - mean);
    var /= static_cast<double>(n);
    const float rstd = static_cast<float>(1.0 / std::sqrt(var + eps));
    const float meanf = static_cast<float>(mean);
    for (int64_t j = 0; j < n; ++j) {
      float v = (xr[j] - meanf) * rstd;
      if (gamma) v *= gamma[j];
      if (beta) v += beta[j];
      yr[j] = v;
    }
  }
}

// Same contract as KernelTable::rms_norm_f32: x / sqrt(mean(x^2) + eps) * gamma (null = ones).
inline void rms_norm_f32(const float* x, const float* gamma, float* y, int64_t rows, int64_t n, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    double ss = 0;
    for (int64_t j = 0; j < n; ++j) ss += static_cast<double>(xr[j]) * xr[j];
    const float rms_inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
    for (int64_t j = 0; j < n; ++j) yr[j] = gamma ? xr[j] * rms_inv * gamma[j] : xr[j] * rms_inv;
  }
}

}  // namespace reference
OBOL_KERNELS_END
}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
