// obol/kernels/softmax.hpp — Arch-templated SIMD softmax and log-softmax over contiguous rows.
//
// Same contract as KernelTable::softmax_f32 and the semantics of reference::softmax_f32 (max-shifted,
// NaN rows stay NaN). Three passes per row: the NaN-propagating maximum; exp(x - max) with its sum
// (written to y for softmax); then the scale by 1/sum, or x - max - log(sum) for log-softmax.
// Include only from per-ISA translation units.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include <xsimd/xsimd.hpp>

#include "obol/kernels/isa_namespace.hpp"
#include "obol/kernels/reduce.hpp"
#include "obol/kernels/unary.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {
OBOL_KERNELS_BEGIN
namespace simd {

template <class Arch>
void softmax_row(const float* x, float* y, int64_t n, bool log) {
  using B = FloatBatch<Arch>;
  constexpr int64_t W = B::size;
  const float m = reduce_row<Arch, ReduceOp::max>(x, n);
  const B mv(m);
  // Two accumulators hide the add latency behind the exp polynomial.
  B s0(0.0f), s1(0.0f);
  int64_t j = 0;
  for (; j + 2 * W <= n; j += 2 * W) {
    const B e0 = exp<Arch>(B::load_unaligned(x + j) - mv);
    const B e1 = exp<Arch>(B::load_unaligned(x + j + W) - mv);
    if (!log) {
      e0.store_unaligned(y + j);
      e1.store_unaligned(y + j + W);
    }
    s0 += e0;
    s1 += e1;
  }
  for (; j + W <= n; j += W) {
    const B e = exp<Arch>(B::load_unaligned(x + j) - mv);
    if (!log) e.store_unaligned(y + j);
    s0 += e;
  }
  if (j < n) {
    // Padding lanes hold -inf, whose exp is 0, unless the row is NaN or all -inf (then m - m is NaN
    // anyway and the sum is NaN as in the reference).
    const B e = exp<Arch>(load_tail<B>(x + j, n - j, -std::numeric_limits<float>::infinity()) - mv);
    if (!log) store_tail(y + j, e, n - j);
    s1 += e;
  }
  const float s = xsimd::hadd(s0 + s1);
  if (log) {
    // logf is an external C function, safe to call from a tier's unit (no inline copy to merge).
    const B log_s(::logf(s));
    int64_t k = 0;
    for (; k + W <= n; k += W) ((B::load_unaligned(x + k) - mv) - log_s).store_unaligned(y + k);
    if (k < n) store_tail(y + k, (load_tail<B>(x + k, n - k) - mv) - log_s, n - k);
  } else {
    const B inv(1.0f / s);
    int64_t k = 0;
    for (; k + W <= n; k += W) (B::load_unaligned(y + k) * inv).store_unaligned(y + k);
    if (k < n) store_tail(y + k, load_tail<B>(y + k, n - k) * inv, n - k);
  }
}

// Same contract as KernelTable::softmax_f32; x and y may alias exactly.
template <class Arch>
void softmax_f32(const float* x, float* y, int64_t rows, int64_t n, bool log) {
  if (n <= 0) return;
  for (int64_t r = 0; r < rows; ++r) softmax_row<Arch>(x + r * n, y + r * n, n, log);
}

}  // namespace simd
OBOL_KERNELS_END
}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
