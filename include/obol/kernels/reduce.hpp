// obol/kernels/reduce.hpp — Arch-templated SIMD bodies of the fp32 reductions.
//
// Same contract as KernelTable::reduce_f32 and the semantics of reference::reduce_f32, except that
// sums and products accumulate in float (several independent vector accumulators, combined
// pairwise), so they differ from the double-accumulating reference by rounding: the tests bound
// |y - ref| by 1e-6 * n * sum |x| terms (see tests/kernels/test_reduce.cpp). max and min are exact.
// Include only from per-ISA translation units.
#pragma once

#include <cstdint>
#include <limits>

#include <xsimd/xsimd.hpp>

#include "obol/kernels/isa_namespace.hpp"
#include "obol/kernels/ops.hpp"
#include "obol/kernels/unary.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {
OBOL_KERNELS_BEGIN
namespace simd {

// The accumulation rule of one ReduceOp, for batches and for single floats.
template <class Arch, ReduceOp kOp>
struct Reducer {
  using B = FloatBatch<Arch>;

  static float identity() {
    if constexpr (kOp == ReduceOp::prod) return 1.0f;
    if constexpr (kOp == ReduceOp::max) return -std::numeric_limits<float>::infinity();
    if constexpr (kOp == ReduceOp::min) return std::numeric_limits<float>::infinity();
    return 0.0f;
  }
  static B step(const B& acc, const B& x) {
    if constexpr (kOp == ReduceOp::sum || kOp == ReduceOp::mean) return acc + x;
    if constexpr (kOp == ReduceOp::sum_square) return fmadd<Arch>(x, x, acc);
    if constexpr (kOp == ReduceOp::prod) return acc * x;
    // Once acc holds a NaN no comparison is true, so it stays NaN.
    if constexpr (kOp == ReduceOp::max) return xsimd::select(is_nan(x) | (x > acc), x, acc);
    if constexpr (kOp == ReduceOp::min) return xsimd::select(is_nan(x) | (x < acc), x, acc);
  }
  // Merging two partial accumulators (for sum_square both already hold squares).
  static B merge(const B& a, const B& b) {
    if constexpr (kOp == ReduceOp::sum_square) return a + b;
    return step(a, b);
  }
  static float merge_one(float a, float b) {
    if constexpr (kOp == ReduceOp::sum || kOp == ReduceOp::mean || kOp == ReduceOp::sum_square) return a + b;
    if constexpr (kOp == ReduceOp::prod) return a * b;
    if constexpr (kOp == ReduceOp::max) return a != a ? a : ((b != b || b > a) ? b : a);
    if constexpr (kOp == ReduceOp::min) return a != a ? a : ((b != b || b < a) ? b : a);
  }
  static float horizontal(const B& v) {
    alignas(64) float buf[B::size];
    v.store_aligned(buf);
    // Pairwise, so sums keep the accuracy of a tree.
    for (size_t w = B::size / 2; w >= 1; w /= 2)
      for (size_t k = 0; k < w; ++k) buf[k] = merge_one(buf[k], buf[k + w]);
    return buf[0];
  }
  static float finish(float v, int64_t n) {
    if constexpr (kOp == ReduceOp::mean) return v / static_cast<float>(n);
    return v;
  }
  static B finish(const B& v, int64_t n) {
    if constexpr (kOp == ReduceOp::mean) return v / B(static_cast<float>(n));
    return v;
  }
};

// Reduces one contiguous row of n floats.
template <class Arch, ReduceOp kOp>
float reduce_row(const float* x, int64_t n) {
  using R = Reducer<Arch, kOp>;
  using B = FloatBatch<Arch>;
  constexpr int64_t W = B::size;
  const B id(R::identity());
  B a0 = id, a1 = id, a2 = id, a3 = id;
  int64_t j = 0;
  for (; j + 4 * W <= n; j += 4 * W) {
    a0 = R::step(a0, B::load_unaligned(x + j));
    a1 = R::step(a1, B::load_unaligned(x + j + W));
    a2 = R::step(a2, B::load_unaligned(x + j + 2 * W));
    a3 = R::step(a3, B::load_unaligned(x + j + 3 * W));
  }
  for (; j + W <= n; j += W) a0 = R::step(a0, B::load_unaligned(x + j));
  if (j < n) a1 = R::step(a1, load_tail<B>(x + j, n - j, R::identity()));
  return R::finish(R::horizontal(R::merge(R::merge(a0, a1), R::merge(a2, a3))), n);
}

// Reduces the middle axis of one [n, inner] slab into y[0, inner), vectorised along inner.
template <class Arch, ReduceOp kOp>
void reduce_columns(const float* x, int64_t n, int64_t inner, float* y) {
  using R = Reducer<Arch, kOp>;
  using B = FloatBatch<Arch>;
  constexpr int64_t W = B::size;
  const B id(R::identity());
  int64_t i = 0;
  for (; i + 4 * W <= inner; i += 4 * W) {
    B a0 = id, a1 = id, a2 = id, a3 = id;
    for (int64_t j = 0; j < n; ++j) {
      const float* row = x + j * inner + i;
      a0 = R::step(a0, B::load_unaligned(row));
      a1 = R::step(a1, B::load_unaligned(row + W));
      a2 = R::step(a2, B::load_unaligned(row + 2 * W));
      a3 = R::step(a3, B::load_unaligned(row + 3 * W));
    }
    R::finish(a0, n).store_unaligned(y + i);
    R::finish(a1, n).store_unaligned(y + i + W);
    R::finish(a2, n).store_unaligned(y + i + 2 * W);
    R::finish(a3, n).store_unaligned(y + i + 3 * W);
  }
  for (; i + W <= inner; i += W) {
    B a = id;
    for (int64_t j = 0; j < n; ++j) a = R::step(a, B::load_unaligned(x + j * inner + i));
    R::finish(a, n).store_unaligned(y + i);
  }
  if (i < inner) {
    B a = id;
    for (int64_t j = 0; j < n; ++j) a = R::step(a, load_tail<B>(x + j * inner + i, inner - i, R::identity()));
    store_tail(y + i, R::finish(a, n), inner - i);
  }
}

template <class Arch, ReduceOp kOp>
void reduce_op(const float* x, int64_t outer, int64_t n, int64_t inner, float* y) {
  for (int64_t o = 0; o < outer; ++o) {
    const float* xo = x + o * n * inner;
    if (inner == 1)
      y[o] = reduce_row<Arch, kOp>(xo, n);
    else
      reduce_columns<Arch, kOp>(xo, n, inner, y + o * inner);
  }
}

// Same contract as KernelTable::reduce_f32.
template <class Arch>
void reduce_f32(ReduceOp op, const float* x, int64_t outer, int64_t n, int64_t inner, float* y) {
  if (outer <= 0 || inner <= 0) return;
  switch (op) {
    case ReduceOp::sum: return reduce_op<Arch, ReduceOp::sum>(x, outer, n, inner, y);
    case ReduceOp::mean: return reduce_op<Arch, ReduceOp::mean>(x, outer, n, inner, y);
    case ReduceOp::max: return reduce_op<Arch, ReduceOp::max>(x, outer, n, inner, y);
    case ReduceOp::min: return reduce_op<Arch, ReduceOp::min>(x, outer, n, inner, y);
    case ReduceOp::prod: return reduce_op<Arch, ReduceOp::prod>(x, outer, n, inner, y);
    case ReduceOp::sum_square: return reduce_op<Arch, ReduceOp::sum_square>(x, outer, n, inner, y);
  }
}

}  // namespace simd
OBOL_KERNELS_END
}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
