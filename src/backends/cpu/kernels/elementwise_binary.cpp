// CPU kernels: binary elementwise operators with numpy broadcasting (arithmetic, comparison, logic,
// bit shifts, PRelu) and the variadic Min, Max, Sum and Mean.
#include <cmath>
#include <optional>
#include <vector>

#include "elementwise_util.hpp"
#include "obol/kernels/cpu.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

namespace {

using ew::KernelPtr;
using ew::NodeTag;
using kernels::BinaryOp;

// --- integer-safe scalar arithmetic ---------------------------------------------------------------

// Integer add/sub/mul wrap around (two's complement) instead of overflowing into undefined behaviour.
template <class C>
C wrap_add(C a, C b) {
  if constexpr (std::is_integral_v<C>)
    return static_cast<C>(std::make_unsigned_t<C>(a) + std::make_unsigned_t<C>(b));
  else
    return a + b;
}
template <class C>
C wrap_sub(C a, C b) {
  if constexpr (std::is_integral_v<C>)
    return static_cast<C>(std::make_unsigned_t<C>(a) - std::make_unsigned_t<C>(b));
  else
    return a - b;
}
template <class C>
C wrap_mul(C a, C b) {
  if constexpr (std::is_integral_v<C>) {
    using U = std::conditional_t<(sizeof(C) < sizeof(unsigned)), unsigned, std::make_unsigned_t<C>>;
    return static_cast<C>(static_cast<U>(static_cast<U>(a) * static_cast<U>(b)));
  } else {
    return a * b;
  }
}

// Integer division truncates toward zero like C. Division by zero gives 0 (as numpy does) and
// INT_MIN / -1 wraps, so no input can trap.
template <class C>
C safe_div(C a, C b) {
  if constexpr (std::is_integral_v<C>) {
    if (b == 0) return 0;
    if constexpr (std::is_signed_v<C>)
      if (b == C(-1)) return wrap_sub(C(0), a);
    return static_cast<C>(a / b);
  } else {
    return a / b;
  }
}

// Remainder with the sign of the dividend (C fmod / %); x % 0 gives 0.
template <class C>
C trunc_mod(C a, C b) {
  if constexpr (std::is_integral_v<C>) {
    if (b == 0) return 0;
    if constexpr (std::is_signed_v<C>)
      if (b == C(-1)) return 0;
    return static_cast<C>(a % b);
  } else {
    return std::fmod(a, b);
  }
}

// Remainder with the sign of the divisor (Python / numpy mod).
template <class C>
C floor_mod(C a, C b) {
  C r = trunc_mod(a, b);
  if constexpr (std::is_signed_v<C> || std::is_floating_point_v<C>)
    if (r != 0 && ((r < 0) != (b < 0))) r = static_cast<C>(r + b);
  return r;
}

// min/max propagating NaN like numpy.minimum / maximum.
template <class C>
C nan_min(C a, C b) {
  if constexpr (std::is_floating_point_v<C>)
    if (a != a || b != b) return a != a ? a : b;
  return b < a ? b : a;
}
template <class C>
C nan_max(C a, C b) {
  if constexpr (std::is_floating_point_v<C>)
    if (a != a || b != b) return a != a ? a : b;
  return a < b ? b : a;
}

// Shifts by a negative amount or by the bit width or more give 0 (-1 for right shifts of negative
// values), as ONNX's reference does, instead of undefined behaviour.
template <class C>
bool shift_in_range(C b) {
  if constexpr (std::is_signed_v<C>)
    if (b < 0) return false;
  return static_cast<uint64_t>(b) < sizeof(C) * 8;
}
template <class C>
C shift_left(C a, C b) {
  if (!shift_in_range(b)) return 0;
  using U = std::conditional_t<(sizeof(C) < sizeof(unsigned)), unsigned, std::make_unsigned_t<C>>;
  return static_cast<C>(static_cast<U>(static_cast<std::make_unsigned_t<C>>(a)) << b);
}
template <class C>
C shift_right(C a, C b) {
  if (!shift_in_range(b)) {
    if constexpr (std::is_signed_v<C>) return static_cast<C>(a < 0 ? -1 : 0);
    return 0;
  }
  return static_cast<C>(a >> b);
}

// Integer power by squaring, wrapping on overflow; negative exponents truncate 1 / a^-b toward 0.
template <class C>
C int_pow(C base, int64_t e) {
  if (e < 0) {
    if (base == 1) return 1;
    if constexpr (std::is_signed_v<C>)
      if (base == C(-1)) return (e & 1) ? C(-1) : C(1);
    return 0;
  }
  C r = 1;
  while (e > 0) {
    if (e & 1) r = wrap_mul(r, base);
    base = wrap_mul(base, base);
    e >>= 1;
  }
  return r;
}

// --- the broadcast binary kernel ----------------------------------------------------------------

void simd_binary(BinaryOp op, const TensorView& a, const TensorView& b, const TensorView& y) {
  const Shape* shapes[2] = {&a.shape(), &b.shape()};
  const ew::BroadcastPlan<2> p = ew::plan_broadcast<2>(y.shape(), shapes);
  const kernels::KernelTable& k = kernels::cpu_kernels();
  const float* pa = a.data_as<const float>();
  const float* pb = b.data_as<const float>();
  float* py = y.data_as<float>();
  ew::parallel_runs(p, [&](const int64_t* off, const int64_t* inc, int64_t oo, int64_t n) {
    k.binary_f32(op, pa + off[0], inc[0], pb + off[1], inc[1], py + oo, n);
  });
}

// Opset < 7 "legacy" broadcasting: with broadcast=1 and an axis, B's dimensions line up with A's
// starting at that axis. kNoAxis when the node uses numpy rules.
constexpr int64_t kNoAxis = INT64_MIN;

Result<int64_t> legacy_axis(const graph::Node& node) {
  if (node.opset <= 0 || node.opset >= 7) return kNoAxis;
  OBOL_ASSIGN_OR_RETURN(const int64_t broadcast, node.attr_int("broadcast", 0));
  if (broadcast == 0 || !node.find_attribute("axis")) return kNoAxis;
  return node.attr_int("axis", 0);
}

Result<TensorView> apply_legacy_axis(const NodeTag& tag, const TensorView& a, const TensorView& b, int64_t axis) {
  if (axis == kNoAxis) return b;
  const int64_t ra = a.rank(), rb = b.rank();
  const int64_t ax = axis < 0 ? axis + ra : axis;
  if (ax < 0 || ax + rb > ra)
    return tag.error(StatusCode::invalid_argument, "axis ", axis, " cannot align B of shape ", b.shape().to_string(),
                     " with A of shape ", a.shape().to_string());
  Shape s;
  s.resize(static_cast<int>(ra), 1);
  for (int64_t i = 0; i < rb; ++i) s[static_cast<int>(ax + i)] = b.shape()[static_cast<int>(i)];
  return TensorView(b.data(), b.dtype(), s);
}

// out = fn(a, b) on the broadcast shape. Inputs share one dtype from `set`; the output has it too,
// or is bool when BoolOut.
template <bool BoolOut, class Set, class Fn>
Result<KernelPtr> binary_kernel(const graph::Graph& g, const graph::Node& node, Set set, Fn fn,
                                std::optional<BinaryOp> simd, int inplace) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 2, 1, 1));
  OBOL_RETURN_IF_ERROR(ew::check_input_type(g, node, 0, set));
  OBOL_RETURN_IF_ERROR(ew::check_input_type(g, node, 1, set));
  const DType t0 = input_type(g, node, 0).dtype, t1 = input_type(g, node, 1).dtype;
  if (t0 != DType::invalid && t1 != DType::invalid && t0 != t1)
    return node_error(StatusCode::invalid_argument, node, "inputs have different element types: ", dtype_name(t0),
                      " and ", dtype_name(t1));
  OBOL_ASSIGN_OR_RETURN(const int64_t axis, legacy_axis(node));
  return make_kernel(
      [tag = NodeTag(node), set, fn, simd, axis](backend::KernelContext& ctx) -> Status {
        const TensorView& a = ctx.input(0);
        OBOL_RETURN_IF_ERROR(ew::check_run_type(tag, a, 0, set));
        OBOL_RETURN_IF_ERROR(ew::check_run_type(tag, ctx.input(1), 1, set));
        if (ctx.input(1).dtype() != a.dtype())
          return tag.error(StatusCode::invalid_argument, "inputs have different element types: ", dtype_name(a.dtype()),
                           " and ", dtype_name(ctx.input(1).dtype()));
        OBOL_ASSIGN_OR_RETURN(const TensorView b, apply_legacy_axis(tag, a, ctx.input(1), axis));
        const TensorView* in[2] = {&a, &b};
        OBOL_ASSIGN_OR_RETURN(const Shape shape, ew::broadcast_all(tag, in, 2));
        OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, BoolOut ? DType::boolean : a.dtype(), shape));
        if (simd && a.dtype() == DType::f32) {
          simd_binary(*simd, a, b, y);
          return Status::ok();
        }
        return ew::dispatch(set, a.dtype(), [&](auto tag_t) {
          using T = decltype(tag_t);
          if constexpr (BoolOut) {
            ew::map_binary<T, T, bool>(a, b, y,
                                       [&](T u, T v) { return static_cast<bool>(fn(ew::load(u), ew::load(v))); });
          } else {
            ew::map_binary<T, T, T>(a, b, y, [&](T u, T v) { return ew::store<T>(fn(ew::load(u), ew::load(v))); });
          }
          return Status::ok();
        });
      },
      inplace);
}

#define EW_ARITH(fname, set, simd, expr)                                            \
  Result<KernelPtr> fname(const graph::Graph& g, const graph::Node& node) {         \
    return binary_kernel<false>(                                                    \
        g, node, set, [](auto x, auto y) -> decltype(x) { return expr; }, simd, 0); \
  }
EW_ARITH(make_add, ew::NumericTypes{}, BinaryOp::add, wrap_add(x, y))
EW_ARITH(make_sub, ew::NumericTypes{}, BinaryOp::sub, wrap_sub(x, y))
EW_ARITH(make_mul, ew::NumericTypes{}, BinaryOp::mul, wrap_mul(x, y))
EW_ARITH(make_div, ew::NumericTypes{}, BinaryOp::div, safe_div(x, y))
#undef EW_ARITH

#define EW_COMPARE(fname, set, expr)                                          \
  Result<KernelPtr> fname(const graph::Graph& g, const graph::Node& node) {   \
    return binary_kernel<true>(                                               \
        g, node, set, [](auto x, auto y) { return expr; }, std::nullopt, -1); \
  }
EW_COMPARE(make_equal, ew::AllTypes{}, x == y)
EW_COMPARE(make_less, ew::NumericTypes{}, x < y)
EW_COMPARE(make_greater, ew::NumericTypes{}, x > y)
EW_COMPARE(make_less_or_equal, ew::NumericTypes{}, x <= y)
EW_COMPARE(make_greater_or_equal, ew::NumericTypes{}, x >= y)
#undef EW_COMPARE

#define EW_LOGIC(fname, expr)                                                            \
  Result<KernelPtr> fname(const graph::Graph& g, const graph::Node& node) {              \
    return binary_kernel<true>(                                                          \
        g, node, ew::BoolTypes{}, [](bool x, bool y) { return expr; }, std::nullopt, 0); \
  }
EW_LOGIC(make_and, x&& y)
EW_LOGIC(make_or, x || y)
EW_LOGIC(make_xor, x != y)
#undef EW_LOGIC

Result<KernelPtr> make_mod(const graph::Graph& g, const graph::Node& node) {
  OBOL_ASSIGN_OR_RETURN(const int64_t fmod, node.attr_int("fmod", 0));
  if (fmod != 0 && fmod != 1)
    return node_error(StatusCode::invalid_argument, node, "fmod must be 0 or 1, found ", fmod);
  if (fmod == 1)
    return binary_kernel<false>(
        g, node, ew::NumericTypes{}, [](auto x, auto y) -> decltype(x) { return trunc_mod(x, y); }, std::nullopt, 0);
  return binary_kernel<false>(
      g, node, ew::NumericTypes{}, [](auto x, auto y) -> decltype(x) { return floor_mod(x, y); }, std::nullopt, 0);
}

Result<KernelPtr> make_bit_shift(const graph::Graph& g, const graph::Node& node) {
  using IntTypes = ew::Types<uint8_t, uint16_t, uint32_t, uint64_t, int8_t, int16_t, int32_t, int64_t>;
  OBOL_ASSIGN_OR_RETURN(const std::string direction, node.attr_string("direction", ""));
  if (direction == "LEFT")
    return binary_kernel<false>(
        g, node, IntTypes{}, [](auto x, auto y) -> decltype(x) { return shift_left(x, y); }, std::nullopt, 0);
  if (direction == "RIGHT")
    return binary_kernel<false>(
        g, node, IntTypes{}, [](auto x, auto y) -> decltype(x) { return shift_right(x, y); }, std::nullopt, 0);
  return node_error(StatusCode::invalid_argument, node, "direction must be 'LEFT' or 'RIGHT', found '", direction, "'");
}

// --- Pow: the exponent may have another type than the base ----------------------------------------

using PowBaseTypes = ew::Types<float, double, F16, BF16, int32_t, int64_t>;

Result<KernelPtr> make_pow(const graph::Graph& g, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 2, 1, 1));
  OBOL_RETURN_IF_ERROR(ew::check_input_type(g, node, 0, ew::NumericTypes{}));
  OBOL_RETURN_IF_ERROR(ew::check_input_type(g, node, 1, ew::NumericTypes{}));
  OBOL_ASSIGN_OR_RETURN(const int64_t axis, legacy_axis(node));
  return make_kernel(
      [tag = NodeTag(node), axis](backend::KernelContext& ctx) -> Status {
        const TensorView& a = ctx.input(0);
        OBOL_RETURN_IF_ERROR(ew::check_run_type(tag, a, 0, ew::NumericTypes{}));
        OBOL_RETURN_IF_ERROR(ew::check_run_type(tag, ctx.input(1), 1, ew::NumericTypes{}));
        OBOL_ASSIGN_OR_RETURN(const TensorView b, apply_legacy_axis(tag, a, ctx.input(1), axis));
        const TensorView* in[2] = {&a, &b};
        OBOL_ASSIGN_OR_RETURN(const Shape shape, ew::broadcast_all(tag, in, 2));
        OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, a.dtype(), shape));
        if (a.dtype() == DType::f32 && b.dtype() == DType::f32) {
          simd_binary(BinaryOp::pow, a, b, y);
          return Status::ok();
        }
        // The exponent is read once as int64 (integer types; uint64 saturates) or double (the
        // rest), so each base type is compiled against two exponent types, not twelve.
        const bool int_exp = !dtype_info(b.dtype()).is_float;
        std::vector<int64_t> ei(int_exp ? static_cast<size_t>(b.numel()) : 0);
        std::vector<double> ed(int_exp ? 0 : static_cast<size_t>(b.numel()));
        OBOL_RETURN_IF_ERROR(ew::dispatch(ew::NumericTypes{}, b.dtype(), [&](auto tb) {
          using Tb = decltype(tb);
          const Tb* pb = b.data_as<const Tb>();
          for (size_t i = 0; i < ei.size() + ed.size(); ++i) {
            if constexpr (std::is_integral_v<Tb>) {
              if constexpr (std::is_unsigned_v<Tb>)
                ei[i] = pb[i] > Tb(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(pb[i]);
              else
                ei[i] = static_cast<int64_t>(pb[i]);
            } else {
              ed[i] = static_cast<double>(ew::load(pb[i]));
            }
          }
          return Status::ok();
        }));
        const TensorView e = int_exp ? TensorView(ei.data(), DType::i64, b.shape())
                                     : TensorView(ed.data(), DType::f64, b.shape());
        return ew::dispatch(ew::NumericTypes{}, a.dtype(), [&](auto ta) {
          using Ta = decltype(ta);
          using Ca = ew::calc_t<Ta>;
          auto run = [&](auto te) {
            using E = decltype(te);
            ew::map_binary<Ta, E, Ta>(a, e, y, [](Ta u, E v) {
              const Ca x = ew::load(u);
              if constexpr (std::is_integral_v<Ca> && std::is_integral_v<E>)
                return int_pow(x, v);
              else
                return ew::convert<Ta>(std::pow(static_cast<double>(x), static_cast<double>(v)));
            });
          };
          if (int_exp)
            run(int64_t{});
          else
            run(double{});
          return Status::ok();
        });
      },
      0);
}

// --- PRelu --------------------------------------------------------------------------------------

// The slope as seen against x: numpy broadcasting, or else (as ONNX's reference and opset < 7
// models do) a 1-D slope laid along the single dimension of x with its length.
Result<TensorView> prelu_slope(const NodeTag& tag, const TensorView& x, const TensorView& slope) {
  auto s = broadcast_shapes(x.shape(), slope.shape());
  if (s.is_ok() && *s == x.shape()) return slope;
  if (slope.rank() == 1) {
    int found = -1, count = 0;
    for (int i = 0; i < x.rank(); ++i)
      if (x.shape()[i] == slope.shape()[0]) found = i, ++count;
    if (count == 1) {
      Shape r;
      r.resize(x.rank() - found, 1);
      r[0] = slope.shape()[0];
      return TensorView(slope.data(), slope.dtype(), r);
    }
  }
  return tag.error(StatusCode::invalid_argument, "slope of shape ", slope.shape().to_string(),
                   " does not broadcast to the input's shape ", x.shape().to_string());
}

Result<KernelPtr> make_prelu(const graph::Graph& g, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 2, 1, 1));
  OBOL_RETURN_IF_ERROR(ew::check_input_type(g, node, 0, ew::SignedTypes{}));
  OBOL_RETURN_IF_ERROR(ew::check_input_type(g, node, 1, ew::SignedTypes{}));
  return make_kernel(
      [tag = NodeTag(node)](backend::KernelContext& ctx) -> Status {
        const TensorView& x = ctx.input(0);
        OBOL_RETURN_IF_ERROR(ew::check_run_type(tag, x, 0, ew::SignedTypes{}));
        if (ctx.input(1).dtype() != x.dtype())
          return tag.error(StatusCode::invalid_argument, "slope has element type ", dtype_name(ctx.input(1).dtype()),
                           ", expected ", dtype_name(x.dtype()), " like the input");
        OBOL_ASSIGN_OR_RETURN(const TensorView slope, prelu_slope(tag, x, ctx.input(1)));
        OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, x.dtype(), x.shape()));
        return ew::dispatch(ew::SignedTypes{}, x.dtype(), [&](auto t) {
          using T = decltype(t);
          ew::map_binary<T, T, T>(x, slope, y, [](T u, T v) {
            const auto a = ew::load(u);
            return a > 0 ? u : ew::store<T>(wrap_mul(a, ew::load(v)));
          });
          return Status::ok();
        });
      },
      0);
}

// --- variadic Min, Max, Sum, Mean -----------------------------------------------------------------

enum class Variadic { min, max, sum, mean };

template <class C>
C variadic_step(Variadic op, C a, C b) {
  switch (op) {
    case Variadic::min:
      return nan_min(a, b);
    case Variadic::max:
      return nan_max(a, b);
    default:
      return wrap_add(a, b);
  }
}

Result<KernelPtr> make_variadic(const graph::Graph& g, const graph::Node& node, Variadic op) {
  const int n = static_cast<int>(node.inputs.size());
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 1 << 20, 1, 1));
  for (int i = 0; i < n; ++i) OBOL_RETURN_IF_ERROR(ew::check_input_type(g, node, i, ew::NumericTypes{}));
  // Passes after the first re-read the output, so output 0 may not share input 0's buffer when input 0
  // is read again later as another input.
  int inplace = 0;
  for (int i = 2; i < n; ++i)
    if (node.inputs[static_cast<size_t>(i)] == node.inputs[0]) inplace = -1;
  return make_kernel(
      [tag = NodeTag(node), op](backend::KernelContext& ctx) -> Status {
        const int count = ctx.input_count();
        std::vector<const TensorView*> in(static_cast<size_t>(count));
        for (int i = 0; i < count; ++i) {
          if (!ctx.has_input(i)) return tag.error(StatusCode::invalid_argument, "input ", i, " is missing");
          in[static_cast<size_t>(i)] = &ctx.input(i);
          OBOL_RETURN_IF_ERROR(ew::check_run_type(tag, ctx.input(i), i, ew::NumericTypes{}));
          if (ctx.input(i).dtype() != in[0]->dtype())
            return tag.error(StatusCode::invalid_argument, "input ", i, " has element type ",
                             dtype_name(ctx.input(i).dtype()), ", expected ", dtype_name(in[0]->dtype()),
                             " like input 0");
        }
        OBOL_ASSIGN_OR_RETURN(const Shape shape, ew::broadcast_all(tag, in.data(), count));
        const DType dt = in[0]->dtype();
        OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, dt, shape));
        if (count == 1) {
          if (y.data() != in[0]->data() && y.nbytes() > 0) std::memcpy(y.data(), in[0]->data(), y.nbytes());
          return Status::ok();
        }
        if (dt == DType::f32) {
          const BinaryOp bop = op == Variadic::min   ? BinaryOp::min
                               : op == Variadic::max ? BinaryOp::max
                                                     : BinaryOp::add;
          simd_binary(bop, *in[0], *in[1], y);
          for (int i = 2; i < count; ++i) simd_binary(bop, y, *in[static_cast<size_t>(i)], y);
        } else {
          Status st = ew::dispatch(ew::NumericTypes{}, dt, [&](auto t) {
            using T = decltype(t);
            auto f = [op](T u, T v) { return ew::store<T>(variadic_step(op, ew::load(u), ew::load(v))); };
            ew::map_binary<T, T, T>(*in[0], *in[1], y, f);
            for (int i = 2; i < count; ++i) ew::map_binary<T, T, T>(y, *in[static_cast<size_t>(i)], y, f);
            return Status::ok();
          });
          if (!st.is_ok()) return st;
        }
        if (op == Variadic::mean) {
          return ew::dispatch(ew::NumericTypes{}, dt, [&](auto t) {
            using T = decltype(t);
            using C = ew::calc_t<T>;
            ew::map_unary<T, T>(y, y,
                                [count](T v) { return ew::store<T>(safe_div(ew::load(v), static_cast<C>(count))); });
            return Status::ok();
          });
        }
        return Status::ok();
      },
      inplace);
}

Result<KernelPtr> make_min(const graph::Graph& g, const graph::Node& node) {
  return make_variadic(g, node, Variadic::min);
}
Result<KernelPtr> make_max(const graph::Graph& g, const graph::Node& node) {
  return make_variadic(g, node, Variadic::max);
}
Result<KernelPtr> make_sum(const graph::Graph& g, const graph::Node& node) {
  return make_variadic(g, node, Variadic::sum);
}
Result<KernelPtr> make_mean(const graph::Graph& g, const graph::Node& node) {
  return make_variadic(g, node, Variadic::mean);
}

}  // namespace

void register_elementwise_binary(CpuOpRegistry& r) {
  using graph::OpKind;
  r.add(OpKind::Add, &make_add);
  r.add(OpKind::Sub, &make_sub);
  r.add(OpKind::Mul, &make_mul);
  r.add(OpKind::Div, &make_div);
  r.add(OpKind::Pow, &make_pow);
  r.add(OpKind::Mod, &make_mod);
  r.add(OpKind::BitShift, &make_bit_shift);
  r.add(OpKind::And, &make_and);
  r.add(OpKind::Or, &make_or);
  r.add(OpKind::Xor, &make_xor);
  r.add(OpKind::Equal, &make_equal);
  r.add(OpKind::Less, &make_less);
  r.add(OpKind::Greater, &make_greater);
  r.add(OpKind::LessOrEqual, &make_less_or_equal);
  r.add(OpKind::GreaterOrEqual, &make_greater_or_equal);
  r.add(OpKind::PRelu, &make_prelu);
  r.add(OpKind::Min, &make_min);
  r.add(OpKind::Max, &make_max);
  r.add(OpKind::Sum, &make_sum);
  r.add(OpKind::Mean, &make_mean);
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
