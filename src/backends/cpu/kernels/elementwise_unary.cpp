// CPU kernels: unary math and activation functions.
#include <cmath>
#include <optional>

#include "elementwise_util.hpp"
#include "obol/kernels/cpu.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

namespace {

using ew::KernelPtr;
using ew::NodeTag;
using kernels::UnaryOp;
using kernels::UnaryParams;

struct SimdUnary {
  UnaryOp op;
  UnaryParams params{};
};

// y = op(x) for f32 through the ISA kernel table, in chunks across threads.
void simd_unary(const SimdUnary& s, const TensorView& x, const TensorView& y) {
  const kernels::KernelTable& k = kernels::cpu_kernels();
  const float* px = x.data_as<const float>();
  float* py = y.data_as<float>();
  parallel_for_range(x.numel(), ew::kGrain,
                     [&](int64_t b, int64_t e) { k.unary_f32(s.op, s.params, px + b, py + b, e - b); });
}

// A same-type unary kernel: y[i] = fn(x[i]) computed in calc_t<T>. `simd` serves f32 when given.
template <class Set, class Fn>
Result<KernelPtr> unary_kernel(const graph::Graph& g, const graph::Node& node, Set set, Fn fn,
                               std::optional<SimdUnary> simd = std::nullopt) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 1, 1, 1));
  OBOL_RETURN_IF_ERROR(ew::check_input_type(g, node, 0, set));
  return make_kernel(
      [tag = NodeTag(node), set, fn, simd](backend::KernelContext& ctx) -> Status {
        const TensorView& x = ctx.input(0);
        OBOL_RETURN_IF_ERROR(ew::check_run_type(tag, x, 0, set));
        OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, x.dtype(), x.shape()));
        if (simd && x.dtype() == DType::f32) {
          simd_unary(*simd, x, y);
          return Status::ok();
        }
        return ew::dispatch(set, x.dtype(), [&](auto tag_t) {
          using T = decltype(tag_t);
          ew::map_unary<T, T>(x, y, [&](T v) { return ew::store<T>(fn(ew::load(v))); });
          return Status::ok();
        });
      },
      0);
}

// A floating-point predicate: y[i] = fn(x[i]) as bool.
template <class Fn>
Result<KernelPtr> predicate_kernel(const graph::Graph& g, const graph::Node& node, Fn fn) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 1, 1, 1));
  OBOL_RETURN_IF_ERROR(ew::check_input_type(g, node, 0, ew::FloatTypes{}));
  return make_kernel(
      [tag = NodeTag(node), fn](backend::KernelContext& ctx) -> Status {
        const TensorView& x = ctx.input(0);
        OBOL_RETURN_IF_ERROR(ew::check_run_type(tag, x, 0, ew::FloatTypes{}));
        OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, DType::boolean, x.shape()));
        return ew::dispatch(ew::FloatTypes{}, x.dtype(), [&](auto tag_t) {
          using T = decltype(tag_t);
          ew::map_unary<T, bool>(x, y, [&](T v) { return fn(ew::load(v)); });
          return Status::ok();
        });
      },
      0);
}

template <class T>
T wrap_neg(T x) {
  if constexpr (std::is_integral_v<T> && std::is_signed_v<T>)
    return static_cast<T>(std::make_unsigned_t<T>(0) - static_cast<std::make_unsigned_t<T>>(x));
  else
    return -x;
}

template <class T>
T abs_value(T x) {
  if constexpr (std::is_unsigned_v<T>)
    return x;
  else
    return x < T(0) ? wrap_neg(x) : x;
}

template <class T>
T sign_of(T x) {
  if constexpr (std::is_unsigned_v<T>)
    return x > T(0) ? T(1) : T(0);
  else
    return x > T(0) ? T(1) : (x < T(0) ? T(-1) : (x == x ? T(0) : x));
}

// Reads a float attribute, failing at load on the wrong kind.
#define EW_ATTR_FLOAT(var, name, fallback) OBOL_ASSIGN_OR_RETURN(const float var, node.attr_float(name, fallback))

// --- plain math ---------------------------------------------------------------------------------

#define EW_FLOAT_UNARY(fname, expr)                                                             \
  Result<KernelPtr> fname(const graph::Graph& g, const graph::Node& node) {                     \
    return unary_kernel(g, node, ew::FloatTypes{}, [](auto x) -> decltype(x) { return expr; }); \
  }

EW_FLOAT_UNARY(make_sin, std::sin(x))
EW_FLOAT_UNARY(make_cos, std::cos(x))
EW_FLOAT_UNARY(make_tan, std::tan(x))
EW_FLOAT_UNARY(make_asin, std::asin(x))
EW_FLOAT_UNARY(make_acos, std::acos(x))
EW_FLOAT_UNARY(make_atan, std::atan(x))
EW_FLOAT_UNARY(make_sinh, std::sinh(x))
EW_FLOAT_UNARY(make_cosh, std::cosh(x))
EW_FLOAT_UNARY(make_asinh, std::asinh(x))
EW_FLOAT_UNARY(make_acosh, std::acosh(x))
EW_FLOAT_UNARY(make_atanh, std::atanh(x))
EW_FLOAT_UNARY(make_floor, std::floor(x))
EW_FLOAT_UNARY(make_ceil, std::ceil(x))
// nearbyint rounds half to even in the default rounding mode, as ONNX Round requires.
EW_FLOAT_UNARY(make_round, std::nearbyint(x))
EW_FLOAT_UNARY(make_softsign, x / (decltype(x)(1) + std::fabs(x)))
// log(1 + e^x) without overflow for large x.
EW_FLOAT_UNARY(make_softplus, x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)))
EW_FLOAT_UNARY(make_mish, x* std::tanh(x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x))))
EW_FLOAT_UNARY(make_hard_swish,
               x* std::fmax(decltype(x)(0), std::fmin(decltype(x)(1), x / decltype(x)(6) + decltype(x)(0.5))))
#undef EW_FLOAT_UNARY

#define EW_SIMD_UNARY(fname, set, simd_op, expr)                                           \
  Result<KernelPtr> fname(const graph::Graph& g, const graph::Node& node) {                \
    return unary_kernel(                                                                   \
        g, node, set, [](auto x) -> decltype(x) { return expr; }, SimdUnary{simd_op, {}}); \
  }

EW_SIMD_UNARY(make_exp, ew::FloatTypes{}, UnaryOp::exp, std::exp(x))
EW_SIMD_UNARY(make_log, ew::FloatTypes{}, UnaryOp::log, std::log(x))
EW_SIMD_UNARY(make_sqrt, ew::FloatTypes{}, UnaryOp::sqrt, std::sqrt(x))
EW_SIMD_UNARY(make_reciprocal, ew::FloatTypes{}, UnaryOp::reciprocal, decltype(x)(1) / x)
EW_SIMD_UNARY(make_tanh, ew::FloatTypes{}, UnaryOp::tanh, std::tanh(x))
// Split at 0 so exp never overflows.
EW_SIMD_UNARY(make_sigmoid, ew::FloatTypes{}, UnaryOp::sigmoid,
              x >= 0 ? decltype(x)(1) / (decltype(x)(1) + std::exp(-x)) : std::exp(x) / (decltype(x)(1) + std::exp(x)))
EW_SIMD_UNARY(make_abs, ew::NumericTypes{}, UnaryOp::abs, abs_value(x))
EW_SIMD_UNARY(make_neg, ew::SignedTypes{}, UnaryOp::neg, wrap_neg(x))
EW_SIMD_UNARY(make_relu, ew::SignedTypes{}, UnaryOp::relu, x > decltype(x)(0) ? x : (x == x ? decltype(x)(0) : x))
#undef EW_SIMD_UNARY

Result<KernelPtr> make_sign(const graph::Graph& g, const graph::Node& node) {
  return unary_kernel(g, node, ew::NumericTypes{}, [](auto x) -> decltype(x) { return sign_of(x); });
}

Result<KernelPtr> make_not(const graph::Graph& g, const graph::Node& node) {
  return unary_kernel(g, node, ew::BoolTypes{}, [](bool x) { return !x; });
}

Result<KernelPtr> make_isnan(const graph::Graph& g, const graph::Node& node) {
  return predicate_kernel(g, node, [](auto x) { return x != x; });
}

Result<KernelPtr> make_isinf(const graph::Graph& g, const graph::Node& node) {
  OBOL_ASSIGN_OR_RETURN(const int64_t pos, node.attr_int("detect_positive", 1));
  OBOL_ASSIGN_OR_RETURN(const int64_t neg, node.attr_int("detect_negative", 1));
  return predicate_kernel(g, node,
                          [pos, neg](auto x) { return std::isinf(x) && ((x > 0 && pos != 0) || (x < 0 && neg != 0)); });
}

// --- activations with attributes ----------------------------------------------------------------

Result<KernelPtr> make_leaky_relu(const graph::Graph& g, const graph::Node& node) {
  EW_ATTR_FLOAT(alpha, "alpha", 0.01f);
  return unary_kernel(
      g, node, ew::FloatTypes{},
      [alpha](auto x) -> decltype(x) { return x >= 0 ? x : static_cast<decltype(x)>(alpha) * x; },
      SimdUnary{UnaryOp::leaky_relu, {alpha, 0.0f}});
}

Result<KernelPtr> make_elu(const graph::Graph& g, const graph::Node& node) {
  EW_ATTR_FLOAT(alpha, "alpha", 1.0f);
  return unary_kernel(g, node, ew::FloatTypes{}, [alpha](auto x) -> decltype(x) {
    return x >= 0 ? x : static_cast<decltype(x)>(alpha) * std::expm1(x);
  });
}

Result<KernelPtr> make_selu(const graph::Graph& g, const graph::Node& node) {
  EW_ATTR_FLOAT(alpha, "alpha", 1.67326319217681884765625f);
  EW_ATTR_FLOAT(gamma, "gamma", 1.05070102214813232421875f);
  return unary_kernel(g, node, ew::FloatTypes{}, [alpha, gamma](auto x) -> decltype(x) {
    using C = decltype(x);
    return static_cast<C>(gamma) * (x > 0 ? x : static_cast<C>(alpha) * std::expm1(x));
  });
}

Result<KernelPtr> make_celu(const graph::Graph& g, const graph::Node& node) {
  EW_ATTR_FLOAT(alpha, "alpha", 1.0f);
  if (alpha == 0.0f) return node_error(StatusCode::invalid_argument, node, "alpha must not be 0");
  return unary_kernel(g, node, ew::FloatTypes{}, [alpha](auto x) -> decltype(x) {
    using C = decltype(x);
    const C a = static_cast<C>(alpha);
    return x > 0 ? x : a * std::expm1(x / a);
  });
}

Result<KernelPtr> make_hard_sigmoid(const graph::Graph& g, const graph::Node& node) {
  EW_ATTR_FLOAT(alpha, "alpha", 0.2f);
  EW_ATTR_FLOAT(beta, "beta", 0.5f);
  return unary_kernel(g, node, ew::FloatTypes{}, [alpha, beta](auto x) -> decltype(x) {
    using C = decltype(x);
    return std::fmax(C(0), std::fmin(C(1), static_cast<C>(alpha) * x + static_cast<C>(beta)));
  });
}

Result<KernelPtr> make_thresholded_relu(const graph::Graph& g, const graph::Node& node) {
  EW_ATTR_FLOAT(alpha, "alpha", 1.0f);
  return unary_kernel(g, node, ew::FloatTypes{}, [alpha](auto x) -> decltype(x) {
    return x > static_cast<decltype(x)>(alpha) ? x : decltype(x)(0);
  });
}

Result<KernelPtr> make_shrink(const graph::Graph& g, const graph::Node& node) {
  EW_ATTR_FLOAT(bias, "bias", 0.0f);
  EW_ATTR_FLOAT(lambd, "lambd", 0.5f);
  return unary_kernel(g, node, ew::NumericTypes{}, [bias, lambd](auto x) -> decltype(x) {
    using C = decltype(x);
    const double v = static_cast<double>(x);
    if (v < -lambd) return ew::convert<C>(v + bias);
    if (v > lambd) return ew::convert<C>(v - bias);
    return C(0);
  });
}

// f32 through the vectorised erf (obol/kernels/unary.hpp states its error bound); f64 exact.
Result<KernelPtr> make_erf(const graph::Graph& g, const graph::Node& node) {
  return unary_kernel(
      g, node, ew::FloatTypes{}, [](auto x) -> decltype(x) { return std::erf(x); }, SimdUnary{UnaryOp::erf, {}});
}

Result<KernelPtr> make_gelu(const graph::Graph& g, const graph::Node& node) {
  OBOL_ASSIGN_OR_RETURN(const std::string approximate, node.attr_string("approximate", "none"));
  if (approximate == "tanh") {
    return unary_kernel(
        g, node, ew::FloatTypes{},
        [](auto x) -> decltype(x) {
          using C = decltype(x);
          const C u = C(0.7978845608028654) * (x + C(0.044715) * x * x * x);
          return C(0.5) * x * (C(1) + std::tanh(u));
        },
        SimdUnary{UnaryOp::gelu_tanh, {}});
  }
  if (approximate != "none")
    return node_error(StatusCode::invalid_argument, node, "approximate must be 'none' or 'tanh', found '", approximate,
                      "'");
  return unary_kernel(
      g, node, ew::FloatTypes{},
      [](auto x) -> decltype(x) {
        using C = decltype(x);
        return C(0.5) * x * std::erfc(x * C(-0.70710678118654752));
      },
      SimdUnary{UnaryOp::gelu_erf, {}});
}

// --- Clip ---------------------------------------------------------------------------------------

// Clip bound from input i (opset >= 11): a scalar of x's type, or the default when omitted.
template <class T>
Status clip_bound(const NodeTag& tag, backend::KernelContext& ctx, int i, const TensorView& x, ew::calc_t<T>& bound) {
  if (i >= ctx.input_count() || !ctx.has_input(i)) return Status::ok();
  const TensorView& b = ctx.input(i);
  if (b.dtype() != x.dtype())
    return tag.error(StatusCode::invalid_argument, i == 1 ? "min" : "max", " has element type ", dtype_name(b.dtype()),
                     ", expected ", dtype_name(x.dtype()), " like the input");
  if (b.numel() != 1)
    return tag.error(StatusCode::invalid_argument, i == 1 ? "min" : "max", " must be a scalar, found shape ",
                     b.shape().to_string());
  bound = ew::load(b.data_as<const T>()[0]);
  return Status::ok();
}

Result<KernelPtr> make_clip(const graph::Graph& g, const graph::Node& node) {
  const bool attr_bounds = node.opset > 0 && node.opset < 11;
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, attr_bounds ? 1 : 3, 1, 1));
  OBOL_RETURN_IF_ERROR(ew::check_input_type(g, node, 0, ew::NumericTypes{}));
  float attr_min = -std::numeric_limits<float>::infinity(), attr_max = std::numeric_limits<float>::infinity();
  if (attr_bounds) {
    OBOL_ASSIGN_OR_RETURN(attr_min, node.attr_float("min", attr_min));
    OBOL_ASSIGN_OR_RETURN(attr_max, node.attr_float("max", attr_max));
  }
  return make_kernel(
      [tag = NodeTag(node), attr_bounds, attr_min, attr_max](backend::KernelContext& ctx) -> Status {
        const TensorView& x = ctx.input(0);
        OBOL_RETURN_IF_ERROR(ew::check_run_type(tag, x, 0, ew::NumericTypes{}));
        return ew::dispatch(ew::NumericTypes{}, x.dtype(), [&](auto tag_t) -> Status {
          using T = decltype(tag_t);
          using C = ew::calc_t<T>;
          C lo = std::numeric_limits<C>::lowest(), hi = std::numeric_limits<C>::max();
          if constexpr (std::is_floating_point_v<C>) {
            lo = -std::numeric_limits<C>::infinity();
            hi = std::numeric_limits<C>::infinity();
          }
          if (attr_bounds) {
            lo = ew::convert<C>(attr_min);
            hi = ew::convert<C>(attr_max);
          } else {
            OBOL_RETURN_IF_ERROR(clip_bound<T>(tag, ctx, 1, x, lo));
            OBOL_RETURN_IF_ERROR(clip_bound<T>(tag, ctx, 2, x, hi));
          }
          if (lo > hi) lo = hi;  // ONNX: min > max clips everything to max
          OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, x.dtype(), x.shape()));
          if constexpr (std::is_same_v<T, float>) {
            simd_unary(SimdUnary{UnaryOp::clip, {lo, hi}}, x, y);
          } else {
            ew::map_unary<T, T>(x, y, [lo, hi](T v) {
              const C c = ew::load(v);
              return ew::store<T>(c < lo ? lo : (c > hi ? hi : c));
            });
          }
          return Status::ok();
        });
      },
      0);
}

#undef EW_ATTR_FLOAT

}  // namespace

void register_elementwise_unary(CpuOpRegistry& r) {
  using graph::OpKind;
  r.add(OpKind::Abs, &make_abs);
  r.add(OpKind::Neg, &make_neg);
  r.add(OpKind::Reciprocal, &make_reciprocal);
  r.add(OpKind::Sqrt, &make_sqrt);
  r.add(OpKind::Exp, &make_exp);
  r.add(OpKind::Log, &make_log);
  r.add(OpKind::Sin, &make_sin);
  r.add(OpKind::Cos, &make_cos);
  r.add(OpKind::Tan, &make_tan);
  r.add(OpKind::Asin, &make_asin);
  r.add(OpKind::Acos, &make_acos);
  r.add(OpKind::Atan, &make_atan);
  r.add(OpKind::Sinh, &make_sinh);
  r.add(OpKind::Cosh, &make_cosh);
  r.add(OpKind::Asinh, &make_asinh);
  r.add(OpKind::Acosh, &make_acosh);
  r.add(OpKind::Atanh, &make_atanh);
  r.add(OpKind::Erf, &make_erf);
  r.add(OpKind::Sign, &make_sign);
  r.add(OpKind::Floor, &make_floor);
  r.add(OpKind::Ceil, &make_ceil);
  r.add(OpKind::Round, &make_round);
  r.add(OpKind::IsNaN, &make_isnan);
  r.add(OpKind::IsInf, &make_isinf);
  r.add(OpKind::Not, &make_not);
  r.add(OpKind::Relu, &make_relu);
  r.add(OpKind::Sigmoid, &make_sigmoid);
  r.add(OpKind::Tanh, &make_tanh);
  r.add(OpKind::LeakyRelu, &make_leaky_relu);
  r.add(OpKind::Elu, &make_elu);
  r.add(OpKind::Selu, &make_selu);
  r.add(OpKind::Celu, &make_celu);
  r.add(OpKind::HardSigmoid, &make_hard_sigmoid);
  r.add(OpKind::HardSwish, &make_hard_swish);
  r.add(OpKind::Softplus, &make_softplus);
  r.add(OpKind::Softsign, &make_softsign);
  r.add(OpKind::ThresholdedRelu, &make_thresholded_relu);
  r.add(OpKind::Shrink, &make_shrink);
  r.add(OpKind::Mish, &make_mish);
  r.add(OpKind::Gelu, &make_gelu);
  r.add(OpKind::Clip, &make_clip);
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
