// Reference (plain-loop) activation quantization: the tests' truth and the scalar tier of
// KernelTable::minmax_f32 and KernelTable::quantize_u8_f32.
#pragma once

#include <cstdint>
#include <limits>

#include "obol/kernels/isa_namespace.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {
OBOL_KERNELS_BEGIN
namespace reference {

// Same as KernelTable::minmax_f32.
inline void minmax_f32(const float* x, int64_t n, float* lo, float* hi) {
  // Eight independent lanes (vectorizable compares and selects); a NaN compares false and is skipped.
  constexpr int kLanes = 8;
  float a[kLanes], b[kLanes];
  for (int j = 0; j < kLanes; ++j) {
    a[j] = std::numeric_limits<float>::infinity();
    b[j] = -std::numeric_limits<float>::infinity();
  }
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const float v = x[i + j];
      a[j] = v < a[j] ? v : a[j];
      b[j] = v > b[j] ? v : b[j];
    }
  for (; i < n; ++i) {
    a[0] = x[i] < a[0] ? x[i] : a[0];
    b[0] = x[i] > b[0] ? x[i] : b[0];
  }
  for (int j = 1; j < kLanes; ++j) {
    a[0] = a[j] < a[0] ? a[j] : a[0];
    b[0] = b[j] > b[0] ? b[j] : b[0];
  }
  *lo = a[0];
  *hi = b[0];
  if (n == 0 || *lo > *hi) *lo = *hi = 0.0f;  // nothing, or every value NaN
}

// Same as KernelTable::quantize_u8_f32.
inline void quantize_u8_f32(const float* x, int64_t n, float scale, int32_t zero_point, uint8_t* y) {
  const float zp = static_cast<float>(zero_point);
  for (int64_t i = 0; i < n; ++i) {
    // Clamped to [-512, 512] first (no result changes: zero_point is in [0, 255]); NaN goes to -512
    // and so saturates to 0.
    const float q = x[i] / scale;
    const float v = q != q ? -512.0f : q < -512.0f ? -512.0f : q > 512.0f ? 512.0f : q;
    // (v + 1.5 * 2^23) - 1.5 * 2^23 rounds to the nearest integer, ties to even, for |v| < 2^22.
    const float r = ((v + 12582912.0f) - 12582912.0f) + zp;
    y[i] = static_cast<uint8_t>(r > 0.0f ? (r < 255.0f ? r : 255.0f) : 0.0f);
  }
}

}  // namespace reference
OBOL_KERNELS_END
}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
