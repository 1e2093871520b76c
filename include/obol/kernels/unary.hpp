// obol/kernels/unary.hpp — Arch-templated SIMD bodies of the fp32 unary kernels, plus the small
// vector helpers the other kernel families share (tail loads, fused multiply-add, exp).
//
// Include only from per-ISA translation units (<family>__<isa>.cpp): the templates are meant to be
// instantiated with the xsimd Arch matching that unit's compiler flags. Everything here sits in the
// tier's inline namespace (isa_namespace.hpp), so the same template built for two tiers never merges.
//
// Semantics match obol/kernels/reference/unary.hpp (the truth), with these documented differences:
//   - exp, sigmoid, silu, gelu_erf, gelu_tanh, tanh, log: within a few ulp of the reference (the
//     tests state the bound per function); results in the denormal range may differ by one
//     denormal step.
//   - erf: within 2 ulp of std::erf for |x| >= 2^-60 (tests/kernels/test_erf.cpp sweeps every
//     float exponent); gelu_erf uses the same polynomials except in its negative tail.
//   - NaN inputs give NaN outputs for every op except clip/relu/identity/abs/neg, which return the
//     input NaN unchanged, as the reference does.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "obol/kernels/isa_namespace.hpp"
#include "obol/kernels/ops.hpp"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace obol {
inline namespace v1 {
namespace kernels {
OBOL_KERNELS_BEGIN
namespace simd {

template <class Arch>
using FloatBatch = xsimd::batch<float, Arch>;

// Loads the first n (< size) floats of p into a batch, the rest of the lanes being `fill`.
template <class B>
inline B load_tail(const float* p, int64_t n, float fill = 0.0f) {
  alignas(64) float buf[B::size];
  for (int64_t i = 0; i < static_cast<int64_t>(B::size); ++i) buf[i] = i < n ? p[i] : fill;
  return B::load_aligned(buf);
}

// Stores the first n (< size) lanes of v to p.
template <class B>
inline void store_tail(float* p, const B& v, int64_t n) {
  alignas(64) float buf[B::size];
  v.store_aligned(buf);
  for (int64_t i = 0; i < n; ++i) p[i] = buf[i];
}

// a * b + c with one rounding. xsimd 8.1 has no native fma for avx512f; use the intrinsic there.
template <class Arch>
inline FloatBatch<Arch> fmadd(const FloatBatch<Arch>& a, const FloatBatch<Arch>& b, const FloatBatch<Arch>& c) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<Arch, xsimd::avx512f> || std::is_base_of_v<xsimd::avx512f, Arch>)
    return FloatBatch<Arch>(_mm512_fmadd_ps(a, b, c));
  else
#endif
    return xsimd::fma(a, b, c);
}

// Lane-wise NaN test. Not x != x: xsimd's operator!= is an ordered compare, false for NaN.
template <class B>
inline auto is_nan(const B& x) {
  return xsimd::isnan(x);
}

// exp(x) with full range: overflow to +inf above ~88.72, gradual underflow through the denormals
// down to 0 below ~-103.97, NaN in -> NaN out. Cephes polynomial on [-ln2/2, ln2/2]; max error
// about 1 ulp for normal results.
template <class Arch>
inline FloatBatch<Arch> exp(const FloatBatch<Arch>& x) {
  using B = FloatBatch<Arch>;
  using I = xsimd::batch<int32_t, Arch>;
  // Clamp so that n stays in [-151, 129]; the two-step scaling below then overflows or underflows
  // exactly as the true result would.
  B xc = xsimd::select(x > B(89.0f), B(89.0f), x);
  xc = xsimd::select(xc < B(-104.0f), B(-104.0f), xc);
  const B n = xsimd::nearbyint(xc * B(1.44269504088896341f));
  // r = x - n ln2 in two steps (ln2 split in a high part exact in float and a low part).
  B r = fmadd<Arch>(n, B(-0.693359375f), xc);
  r = fmadd<Arch>(n, B(2.12194440e-4f), r);
  B p = B(1.9875691500e-4f);
  p = fmadd<Arch>(p, r, B(1.3981999507e-3f));
  p = fmadd<Arch>(p, r, B(8.3334519073e-3f));
  p = fmadd<Arch>(p, r, B(4.1665795894e-2f));
  p = fmadd<Arch>(p, r, B(1.6666665459e-1f));
  p = fmadd<Arch>(p, r, B(5.0000001201e-1f));
  p = fmadd<Arch>(p, r * r, r + B(1.0f));
  // 2^n as two factors 2^(n/2) and 2^(n - n/2): each is a normal float for every clamped n.
  const I ni = xsimd::to_int(n);
  const I n1 = ni >> 1;
  const I n2 = ni - n1;
  const B s1 = xsimd::bitwise_cast<B>((n1 + I(127)) << 23);
  const B s2 = xsimd::bitwise_cast<B>((n2 + I(127)) << 23);
  const B y = (p * s1) * s2;
  return xsimd::select(is_nan(x), x, y);
}

// 1 / (1 + exp(-x)); saturates to exactly 0 and 1.
template <class Arch>
inline FloatBatch<Arch> sigmoid(const FloatBatch<Arch>& x) {
  using B = FloatBatch<Arch>;
  return B(1.0f) / (B(1.0f) + exp<Arch>(-x));
}

// erf in two pieces, after N. Juffa's single-precision erff: for |x| < 0.927734375,
// erf(x) = x + x * P(x^2) (degree 5); above, erf(|x|) = 1 - exp(Q(|x|)) (Q of degree 7 with
// Q(t) ~ log erfc(t)), which saturates to exactly 1 from |x| ~ 3.92. Polynomial error < 3e-8
// relative; with float rounding the result is within 2 ulp of std::erf.
template <class Arch>
struct ErfParts {
  FloatBatch<Arch> small;  // x + x P(x^2): erf(x) where |x| < 0.927734375
  FloatBatch<Arch> tail;   // exp(Q(|x|)) = erfc(|x|) where |x| >= 0.927734375
  xsimd::batch_bool<float, Arch> is_tail;
};

template <class Arch>
inline ErfParts<Arch> erf_parts(const FloatBatch<Arch>& x) {
  using B = FloatBatch<Arch>;
  const B t = xsimd::abs(x);
  const B s = x * x;
  B r = B(-5.96761703e-4f);
  r = fmadd<Arch>(r, s, B(4.99119423e-3f));
  r = fmadd<Arch>(r, s, B(-2.67681349e-2f));
  r = fmadd<Arch>(r, s, B(1.12819925e-1f));
  r = fmadd<Arch>(r, s, B(-3.76125336e-1f));
  r = fmadd<Arch>(r, s, B(1.28379166e-1f));
  const B small = fmadd<Arch>(r, x, x);
  B p = fmadd<Arch>(B(-1.72853470e-5f), t, B(3.83197126e-4f));
  const B u = fmadd<Arch>(B(-3.88396438e-3f), t, B(2.42546219e-2f));
  p = fmadd<Arch>(p, s, u);
  p = fmadd<Arch>(p, t, B(-1.06777877e-1f));
  p = fmadd<Arch>(p, t, B(-6.34846687e-1f));
  p = fmadd<Arch>(p, t, B(-1.28717512e-1f));
  p = fmadd<Arch>(p, t, -t);
  return {small, exp<Arch>(p), t >= B(0.927734375f)};
}

// erf(x); NaN in -> NaN out, erf(+-inf) = +-1, erf(-0) = -0.
template <class Arch>
inline FloatBatch<Arch> erf(const FloatBatch<Arch>& x) {
  using B = FloatBatch<Arch>;
  const ErfParts<Arch> e = erf_parts<Arch>(x);
  const B big = xsimd::bitwise_or(B(1.0f) - e.tail, xsimd::bitwise_and(x, B(-0.0f)));
  return xsimd::select(e.is_tail, big, e.small);
}

// 0.5 x (1 + erf(x / sqrt 2)). The polynomials serve |x / sqrt 2| < 0.9277 (1 + x P) and the
// positive tail (2 - erfc); their erfc is accurate relative to 1, not to itself, so lanes in the
// negative tail (x < -1.312, where 1 + erf(z) = erfc(-z) is small) take xsimd's erfc, and only
// batches that have such a lane pay for it.
template <class Arch>
inline FloatBatch<Arch> gelu_erf(const FloatBatch<Arch>& x) {
  using B = FloatBatch<Arch>;
  const ErfParts<Arch> e = erf_parts<Arch>(x * B(0.70710678118654752f));
  const B one_plus = xsimd::select(e.is_tail, B(2.0f) - e.tail, B(1.0f) + e.small);
  const B y = B(0.5f) * x * one_plus;
  const auto neg_tail = e.is_tail && (x < B(0.0f));
  if (!xsimd::any(neg_tail)) return y;
  return xsimd::select(neg_tail, B(0.5f) * x * xsimd::erfc(x * B(-0.70710678118654752f)), y);
}

// The per-op vector functions. Each has the reference's NaN/inf/-0 behaviour (see the header).
template <class Arch>
struct UnaryFn {
  using B = FloatBatch<Arch>;

  template <UnaryOp kOp>
  static B apply(const B& x, const UnaryParams& p) {
    if constexpr (kOp == UnaryOp::identity) {
      return x;
    } else if constexpr (kOp == UnaryOp::relu) {
      // !(x <= 0) keeps positives and NaN; -0 and negatives become +0.
      return xsimd::select(x <= B(0.0f), B(0.0f), x);
    } else if constexpr (kOp == UnaryOp::leaky_relu) {
      return xsimd::select(x >= B(0.0f), x, B(p.alpha) * x);
    } else if constexpr (kOp == UnaryOp::gelu_erf) {
      return simd::gelu_erf<Arch>(x);
    } else if constexpr (kOp == UnaryOp::gelu_tanh) {
      const B u = B(0.7978845608028654f) * (x + B(0.044715f) * x * x * x);
      return x / (B(1.0f) + exp<Arch>(B(-2.0f) * u));
    } else if constexpr (kOp == UnaryOp::silu) {
      return x / (B(1.0f) + exp<Arch>(-x));
    } else if constexpr (kOp == UnaryOp::sigmoid) {
      return sigmoid<Arch>(x);
    } else if constexpr (kOp == UnaryOp::tanh) {
      return xsimd::tanh(x);
    } else if constexpr (kOp == UnaryOp::exp) {
      return exp<Arch>(x);
    } else if constexpr (kOp == UnaryOp::log) {
      return xsimd::log(x);
    } else if constexpr (kOp == UnaryOp::sqrt) {
      return xsimd::sqrt(x);
    } else if constexpr (kOp == UnaryOp::reciprocal) {
      return B(1.0f) / x;
    } else if constexpr (kOp == UnaryOp::abs) {
      return xsimd::abs(x);
    } else if constexpr (kOp == UnaryOp::neg) {
      return -x;
    } else if constexpr (kOp == UnaryOp::erf) {
      return simd::erf<Arch>(x);
    } else {  // clip: comparisons with NaN are false, so NaN passes through
      B r = xsimd::select(x < B(p.alpha), B(p.alpha), x);
      return xsimd::select(r > B(p.beta), B(p.beta), r);
    }
  }
};

// y[i] = op(x[i]); x and y may alias exactly. Two batches per iteration, then one, then a padded tail.
template <class Arch, UnaryOp kOp>
void unary_loop(UnaryParams p, const float* x, float* y, int64_t n) {
  using B = FloatBatch<Arch>;
  using F = UnaryFn<Arch>;
  constexpr int64_t W = B::size;
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    const B a = B::load_unaligned(x + i);
    const B b = B::load_unaligned(x + i + W);
    F::template apply<kOp>(a, p).store_unaligned(y + i);
    F::template apply<kOp>(b, p).store_unaligned(y + i + W);
  }
  for (; i + W <= n; i += W) F::template apply<kOp>(B::load_unaligned(x + i), p).store_unaligned(y + i);
  if (i < n) store_tail(y + i, F::template apply<kOp>(load_tail<B>(x + i, n - i, 1.0f), p), n - i);
}

// Same contract as KernelTable::unary_f32.
template <class Arch>
void unary_f32(UnaryOp op, UnaryParams p, const float* x, float* y, int64_t n) {
  if (n <= 0) return;
  switch (op) {
    case UnaryOp::identity:
      if (x != y) std::memmove(y, x, static_cast<size_t>(n) * sizeof(float));
      return;
    case UnaryOp::relu: return unary_loop<Arch, UnaryOp::relu>(p, x, y, n);
    case UnaryOp::leaky_relu: return unary_loop<Arch, UnaryOp::leaky_relu>(p, x, y, n);
    case UnaryOp::gelu_erf: return unary_loop<Arch, UnaryOp::gelu_erf>(p, x, y, n);
    case UnaryOp::gelu_tanh: return unary_loop<Arch, UnaryOp::gelu_tanh>(p, x, y, n);
    case UnaryOp::silu: return unary_loop<Arch, UnaryOp::silu>(p, x, y, n);
    case UnaryOp::sigmoid: return unary_loop<Arch, UnaryOp::sigmoid>(p, x, y, n);
    case UnaryOp::tanh: return unary_loop<Arch, UnaryOp::tanh>(p, x, y, n);
    case UnaryOp::exp: return unary_loop<Arch, UnaryOp::exp>(p, x, y, n);
    case UnaryOp::log: return unary_loop<Arch, UnaryOp::log>(p, x, y, n);
    case UnaryOp::sqrt: return unary_loop<Arch, UnaryOp::sqrt>(p, x, y, n);
    case UnaryOp::reciprocal: return unary_loop<Arch, UnaryOp::reciprocal>(p, x, y, n);
    case UnaryOp::abs: return unary_loop<Arch, UnaryOp::abs>(p, x, y, n);
    case UnaryOp::neg: return unary_loop<Arch, UnaryOp::neg>(p, x, y, n);
    case UnaryOp::clip: return unary_loop<Arch, UnaryOp::clip>(p, x, y, n);
    case UnaryOp::erf: return unary_loop<Arch, UnaryOp::erf>(p, x, y, n);
  }
}

}  // namespace simd
OBOL_KERNELS_END
}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
