// obol/kernels/norm.hpp — Arch-templated SIMD layer norm and RMS norm over contiguous rows.
//
// Same contracts as KernelTable::layer_norm_f32 / rms_norm_f32 (gamma may be null = ones, beta may be
// null = zeros; x and y may alias exactly). Statistics accumulate in float vector accumulators; the
// mean is summed relative to the row's first element and the variance in a second pass over x - mean
// (no E[x^2] - E[x]^2 cancellation), so rows with a large common offset keep their precision.
// Include only from per-ISA translation units.
#pragma once

#include <cmath>
#include <cstdint>

#include <xsimd/xsimd.hpp>

#include "obol/kernels/isa_namespace.hpp"
#include "obol/kernels/reduce.hpp"
#include "obol/kernels/unary.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {
OBOL_KERNELS_BEGIN
namespace simd {

// Sum over j of (x[j] - shift) (kSquare: of (x[j] - shift)^2). Shifting by a value near the mean
// keeps the float partial sums small, so a large common offset costs no precision.
template <class Arch, bool kSquare>
float shifted_sum(const float* x, int64_t n, float shift) {
  using B = FloatBatch<Arch>;
  constexpr int64_t W = B::size;
  const B sv(shift);
  B a0(0.0f), a1(0.0f);
  auto add = [](const B& acc, const B& d) { return kSquare ? fmadd<Arch>(d, d, acc) : acc + d; };
  int64_t j = 0;
  for (; j + 2 * W <= n; j += 2 * W) {
    a0 = add(a0, B::load_unaligned(x + j) - sv);
    a1 = add(a1, B::load_unaligned(x + j + W) - sv);
  }
  for (; j + W <= n; j += W) a0 = add(a0, B::load_unaligned(x + j) - sv);
  if (j < n) a1 = add(a1, load_tail<B>(x + j, n - j, shift) - sv);  // padding lanes give 0
  return xsimd::hadd(a0 + a1);
}

// y = (x - shift) * scale * gamma + beta over one row; gamma and beta may be null.
template <class Arch>
void scale_row(const float* x, const float* gamma, const float* beta, float* y, int64_t n, float shift, float scale) {
  using B = FloatBatch<Arch>;
  constexpr int64_t W = B::size;
  const B sv(shift), kv(scale);
  auto one = [&](const B& xv, int64_t j, int64_t count) {
    B v = (xv - sv) * kv;
    if (gamma) v = v * (count == W ? B::load_unaligned(gamma + j) : load_tail<B>(gamma + j, count));
    if (beta) v = v + (count == W ? B::load_unaligned(beta + j) : load_tail<B>(beta + j, count));
    return v;
  };
  int64_t j = 0;
  for (; j + W <= n; j += W) one(B::load_unaligned(x + j), j, W).store_unaligned(y + j);
  if (j < n) store_tail(y + j, one(load_tail<B>(x + j, n - j), j, n - j), n - j);
}

// Same contract as KernelTable::layer_norm_f32.
template <class Arch>
void layer_norm_f32(const float* x, const float* gamma, const float* beta, float* y, int64_t rows, int64_t n,
                    float eps) {
  if (n <= 0) return;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    const float mean = xr[0] + shifted_sum<Arch, false>(xr, n, xr[0]) / static_cast<float>(n);
    const float var = shifted_sum<Arch, true>(xr, n, mean) / static_cast<float>(n);
    scale_row<Arch>(xr, gamma, beta, y + r * n, n, mean, 1.0f / ::sqrtf(var + eps));
  }
}

// Same contract as KernelTable::rms_norm_f32.
template <class Arch>
void rms_norm_f32(const float* x, const float* gamma, float* y, int64_t rows, int64_t n, float eps) {
  if (n <= 0) return;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    const float ms = reduce_row<Arch, ReduceOp::sum_square>(xr, n) / static_cast<float>(n);
    scale_row<Arch>(xr, gamma, nullptr, y + r * n, n, 0.0f, 1.0f / ::sqrtf(ms + eps));
  }
}

}  // namespace simd
OBOL_KERNELS_END
}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
