// obol/kernels/binary.hpp — Arch-templated SIMD bodies of the fp32 binary kernels.
//
// Same contract and semantics as reference::binary_f32 (obol/kernels/reference/binary.hpp):
// add/sub/mul/div/min/max give bit-identical results; pow calls the C library's powf per element
// (exact to the reference) except for a broadcast exponent of exactly 2, computed as x * x (within
// 1 ulp of powf). Include only from per-ISA translation units.
#pragma once

#include <cmath>
#include <cstdint>

#include <xsimd/xsimd.hpp>

#include "obol/kernels/isa_namespace.hpp"
#include "obol/kernels/ops.hpp"
#include "obol/kernels/unary.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {
OBOL_KERNELS_BEGIN
namespace simd {

template <class Arch, BinaryOp kOp>
inline FloatBatch<Arch> binary_apply(const FloatBatch<Arch>& a, const FloatBatch<Arch>& b) {
  if constexpr (kOp == BinaryOp::add) {
    return a + b;
  } else if constexpr (kOp == BinaryOp::sub) {
    return a - b;
  } else if constexpr (kOp == BinaryOp::mul) {
    return a * b;
  } else if constexpr (kOp == BinaryOp::div) {
    return a / b;
  } else if constexpr (kOp == BinaryOp::min) {
    // Written with selects so the NaN and equal-operand rules match the reference exactly.
    return xsimd::select(is_nan(a), a, xsimd::select(a < b, a, b));
  } else {
    static_assert(kOp == BinaryOp::max, "pow is handled element-wise");
    return xsimd::select(is_nan(a), a, xsimd::select(a > b, a, b));
  }
}

// One (a_inc, b_inc) combination; a broadcast operand is splatted once.
template <class Arch, BinaryOp kOp, bool kBcastA, bool kBcastB>
void binary_loop(const float* a, const float* b, float* y, int64_t n) {
  using B = FloatBatch<Arch>;
  constexpr int64_t W = B::size;
  const B av = kBcastA ? B(a[0]) : B(0.0f);
  const B bv = kBcastB ? B(b[0]) : B(0.0f);
  auto load_a = [&](int64_t i) { return kBcastA ? av : B::load_unaligned(a + i); };
  auto load_b = [&](int64_t i) { return kBcastB ? bv : B::load_unaligned(b + i); };
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    const B r0 = binary_apply<Arch, kOp>(load_a(i), load_b(i));
    const B r1 = binary_apply<Arch, kOp>(load_a(i + W), load_b(i + W));
    r0.store_unaligned(y + i);
    r1.store_unaligned(y + i + W);
  }
  for (; i + W <= n; i += W) binary_apply<Arch, kOp>(load_a(i), load_b(i)).store_unaligned(y + i);
  if (i < n) {
    const B ta = kBcastA ? av : load_tail<B>(a + i, n - i);
    const B tb = kBcastB ? bv : load_tail<B>(b + i, n - i);
    store_tail(y + i, binary_apply<Arch, kOp>(ta, tb), n - i);
  }
}

template <class Arch, BinaryOp kOp>
void binary_dispatch_inc(const float* a, int64_t a_inc, const float* b, int64_t b_inc, float* y, int64_t n) {
  if (a_inc == 0 && b_inc == 0) {
    // Both broadcast: one value, written n times.
    const float v = binary_apply<Arch, kOp>(FloatBatch<Arch>(a[0]), FloatBatch<Arch>(b[0])).get(0);
    for (int64_t i = 0; i < n; ++i) y[i] = v;
  } else if (a_inc == 0) {
    binary_loop<Arch, kOp, true, false>(a, b, y, n);
  } else if (b_inc == 0) {
    binary_loop<Arch, kOp, false, true>(a, b, y, n);
  } else {
    binary_loop<Arch, kOp, false, false>(a, b, y, n);
  }
}

// Same contract as KernelTable::binary_f32. y may alias a or b exactly (when its inc is 1).
template <class Arch>
void binary_f32(BinaryOp op, const float* a, int64_t a_inc, const float* b, int64_t b_inc, float* y, int64_t n) {
  if (n <= 0) return;
  switch (op) {
    case BinaryOp::add: return binary_dispatch_inc<Arch, BinaryOp::add>(a, a_inc, b, b_inc, y, n);
    case BinaryOp::sub: return binary_dispatch_inc<Arch, BinaryOp::sub>(a, a_inc, b, b_inc, y, n);
    case BinaryOp::mul: return binary_dispatch_inc<Arch, BinaryOp::mul>(a, a_inc, b, b_inc, y, n);
    case BinaryOp::div: return binary_dispatch_inc<Arch, BinaryOp::div>(a, a_inc, b, b_inc, y, n);
    case BinaryOp::min: return binary_dispatch_inc<Arch, BinaryOp::min>(a, a_inc, b, b_inc, y, n);
    case BinaryOp::max: return binary_dispatch_inc<Arch, BinaryOp::max>(a, a_inc, b, b_inc, y, n);
    case BinaryOp::pow:
      if (b_inc == 0 && b[0] == 2.0f) return binary_dispatch_inc<Arch, BinaryOp::mul>(a, a_inc, a, a_inc, y, n);
      // powf is an external C function (not inline), so calling it from a tier's unit is ODR-safe.
      for (int64_t i = 0; i < n; ++i) y[i] = ::powf(a[i * a_inc], b[i * b_inc]);
      return;
  }
}

}  // namespace simd
OBOL_KERNELS_END
}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
