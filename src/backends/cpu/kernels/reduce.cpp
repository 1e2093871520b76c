// CPU kernels: the reduce family. This file holds the Reduce* operators and registers the family's
// other units (reduce_index.cpp, reduce_softmax.cpp, reduce_loss.cpp).
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "obol/kernels/tensor_ops.hpp"
#include "reduce_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {
namespace {

enum class RedOp { sum, mean, max, min, prod, sum_square, l1, l2, log_sum, log_sum_exp };

// The input's dims merged into alternating groups of adjacent kept and reduced dims (size-1 dims
// dropped), and what each group contributes to the output index.
struct ReducePlan {
  int ng = 0;
  int64_t size[Shape::kMaxRank] = {};
  int64_t out_stride[Shape::kMaxRank] = {};  // 0 for a reduced group
  int64_t count = 1;                         // input elements reduced into each output element
  Shape out_shape;
};

Result<ReducePlan> plan_reduce(const graph::Node& node, const Shape& in, const kernels::AxisList& axes, bool keepdims,
                               bool noop_with_empty_axes) {
  bool reduced[Shape::kMaxRank] = {};
  const bool all = axes.empty() && !noop_with_empty_axes;
  for (int i = 0; i < in.rank(); ++i) reduced[i] = all;
  for (int64_t a : axes) {
    OBOL_ASSIGN_OR_RETURN(const int ax, node_axis(node, a, in.rank(), "axes entry"));
    reduced[ax] = true;
  }
  ReducePlan p;
  bool group_reduced[Shape::kMaxRank] = {};
  for (int i = 0; i < in.rank(); ++i) {
    if (reduced[i]) {
      p.count *= in[i];
      if (keepdims) p.out_shape.push_back(1);
    } else {
      p.out_shape.push_back(in[i]);
    }
    if (in[i] == 1) continue;
    if (p.ng > 0 && group_reduced[p.ng - 1] == reduced[i]) {
      p.size[p.ng - 1] *= in[i];
    } else {
      p.size[p.ng] = in[i];
      group_reduced[p.ng] = reduced[i];
      ++p.ng;
    }
  }
  int64_t stride = 1;
  for (int g = p.ng - 1; g >= 0; --g) {
    p.out_stride[g] = group_reduced[g] ? 0 : stride;
    if (!group_reduced[g]) stride *= p.size[g];
  }
  return p;
}

// Walks the input once, in memory order: f(in_offset, out_offset, out_inc, n) for each contiguous
// run of the last group, whose n elements go to out_offset + i * out_inc.
template <class F>
void for_each_run(const ReducePlan& p, int64_t total, F&& f) {
  if (total == 0) return;
  if (p.ng == 0) {
    f(int64_t{0}, int64_t{0}, int64_t{0}, int64_t{1});
    return;
  }
  const int64_t inner = p.size[p.ng - 1];
  const int64_t inc = p.out_stride[p.ng - 1] != 0 ? 1 : 0;
  const int64_t rows = total / inner;
  int64_t idx[Shape::kMaxRank] = {};
  int64_t out = 0;
  for (int64_t row = 0; row < rows; ++row) {
    f(row * inner, out, inc, inner);
    for (int g = p.ng - 2; g >= 0; --g) {
      out += p.out_stride[g];
      if (++idx[g] < p.size[g]) break;
      out -= p.out_stride[g] * p.size[g];
      idx[g] = 0;
    }
  }
}

// acc[o] = step(acc[o], x) for every input element x reduced into output o.
template <class T, class Acc, class Step>
void accumulate(const ReducePlan& p, const T* x, int64_t total, Acc* acc, Step step) {
  for_each_run(p, total, [&](int64_t in, int64_t out, int64_t inc, int64_t n) {
    const T* xs = x + in;
    if (inc != 0) {
      for (int64_t i = 0; i < n; ++i) step(acc[out + i], xs[i], out + i);
    } else {
      Acc a = acc[out];
      for (int64_t i = 0; i < n; ++i) step(a, xs[i], out);
      acc[out] = a;
    }
  });
}

// Any dtype, accumulating in double. Used for the real types and for the integer reductions whose
// result is not an integer operation (L2, log-sum, log-sum-exp).
template <class T>
void reduce_in_double(RedOp op, const ReducePlan& p, const T* x, int64_t total, T* y, int64_t n_out, double* acc,
                      double* shift) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  auto val = [](const T& v) { return static_cast<double>(load_value(v)); };
  double init = 0.0;
  if (op == RedOp::prod) init = 1.0;
  if (op == RedOp::max) init = -inf;
  if (op == RedOp::min) init = inf;
  for (int64_t o = 0; o < n_out; ++o) acc[o] = init;
  switch (op) {
    case RedOp::sum:
    case RedOp::mean:
    case RedOp::log_sum: accumulate(p, x, total, acc, [&](double& a, const T& v, int64_t) { a += val(v); }); break;
    case RedOp::sum_square:
    case RedOp::l2:
      accumulate(p, x, total, acc, [&](double& a, const T& v, int64_t) {
        const double d = val(v);
        a += d * d;
      });
      break;
    case RedOp::l1: accumulate(p, x, total, acc, [&](double& a, const T& v, int64_t) { a += std::fabs(val(v)); }); break;
    case RedOp::prod: accumulate(p, x, total, acc, [&](double& a, const T& v, int64_t) { a *= val(v); }); break;
    case RedOp::max:
      accumulate(p, x, total, acc, [&](double& a, const T& v, int64_t) {
        const double d = val(v);
        if (d > a || d != d) a = d;
      });
      break;
    case RedOp::min:
      accumulate(p, x, total, acc, [&](double& a, const T& v, int64_t) {
        const double d = val(v);
        if (d < a || d != d) a = d;
      });
      break;
    case RedOp::log_sum_exp:
      // Shift by the largest finite value; infinities and NaN then come out of exp() and log().
      for (int64_t o = 0; o < n_out; ++o) shift[o] = -inf;
      accumulate(p, x, total, shift, [&](double& m, const T& v, int64_t) {
        const double d = val(v);
        if (std::isfinite(d) && d > m) m = d;
      });
      for (int64_t o = 0; o < n_out; ++o)
        if (shift[o] == -inf) shift[o] = 0.0;
      accumulate(p, x, total, acc, [&](double& a, const T& v, int64_t o) { a += std::exp(val(v) - shift[o]); });
      break;
  }
  const double count = static_cast<double>(p.count);
  for (int64_t o = 0; o < n_out; ++o) {
    double r = acc[o];
    switch (op) {
      case RedOp::mean: r /= count; break;
      case RedOp::l2: r = std::sqrt(r); break;
      case RedOp::log_sum: r = std::log(r); break;
      case RedOp::log_sum_exp: r = std::log(r) + shift[o]; break;
      default: break;
    }
    y[o] = store_value<T>(r);
  }
}

// Integer types: exact, wrapping like the type itself (sums and products in uint64 arithmetic).
template <class T>
void reduce_integer(RedOp op, const ReducePlan& p, const T* x, int64_t total, T* y, int64_t n_out, uint64_t* acc) {
  if (op == RedOp::max || op == RedOp::min) {
    const bool is_max = op == RedOp::max;
    const T init = is_max ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
    for (int64_t o = 0; o < n_out; ++o) y[o] = init;
    if (is_max)
      accumulate(p, x, total, y, [](T& a, const T& v, int64_t) { a = v > a ? v : a; });
    else
      accumulate(p, x, total, y, [](T& a, const T& v, int64_t) { a = v < a ? v : a; });
    return;
  }
  if constexpr (!std::is_same_v<T, bool>) {
    using U = uint64_t;
    const U init = op == RedOp::prod ? 1 : 0;
    for (int64_t o = 0; o < n_out; ++o) acc[o] = init;
    switch (op) {
      case RedOp::sum_square:
        accumulate(p, x, total, acc, [](U& a, const T& v, int64_t) { a += static_cast<U>(v) * static_cast<U>(v); });
        break;
      case RedOp::l1:
        accumulate(p, x, total, acc, [](U& a, const T& v, int64_t) {
          const U u = static_cast<U>(v);
          if constexpr (std::is_signed_v<T>) a += v < T{0} ? U{0} - u : u;
          else a += u;
        });
        break;
      case RedOp::prod: accumulate(p, x, total, acc, [](U& a, const T& v, int64_t) { a *= static_cast<U>(v); }); break;
      default: accumulate(p, x, total, acc, [](U& a, const T& v, int64_t) { a += static_cast<U>(v); }); break;
    }
    for (int64_t o = 0; o < n_out; ++o) {
      if (op != RedOp::mean) {
        y[o] = static_cast<T>(acc[o]);
      } else if (p.count == 0) {
        y[o] = T{0};
      } else if constexpr (std::is_signed_v<T>) {
        y[o] = static_cast<T>(static_cast<int64_t>(acc[o]) / p.count);
      } else {
        y[o] = static_cast<T>(acc[o] / static_cast<U>(p.count));
      }
    }
  }
}

struct ReduceParams {
  RedOp op = RedOp::sum;
  bool keepdims = true;
  bool noop_with_empty_axes = false;
  bool axes_from_input = false;  // read at run time: the axes input is not a constant
  kernels::AxisList axes;
};

bool bool_allowed(RedOp op) { return op == RedOp::max || op == RedOp::min; }

#define OBOL_REDUCE_TYPES OBOL_CPU_NUMERIC_TYPES, F16, BF16, bool

// The f32 reductions the tensor-level kernels implement directly (L2 and log-sum finish theirs).
bool fast_f32(RedOp op, kernels::ReduceOp* kop) {
  switch (op) {
    case RedOp::sum:
    case RedOp::log_sum: *kop = kernels::ReduceOp::sum; return true;
    case RedOp::mean: *kop = kernels::ReduceOp::mean; return true;
    case RedOp::max: *kop = kernels::ReduceOp::max; return true;
    case RedOp::min: *kop = kernels::ReduceOp::min; return true;
    case RedOp::prod: *kop = kernels::ReduceOp::prod; return true;
    case RedOp::sum_square:
    case RedOp::l2: *kop = kernels::ReduceOp::sum_square; return true;
    default: return false;
  }
}

Status read_axes(const graph::Node& node, const TensorView& t, kernels::AxisList* axes) {
  if (t.rank() > 1)
    return node_error(StatusCode::invalid_argument, node, "axes must be a 1-D tensor, found shape ",
                      t.shape().to_string());
  if (t.numel() > Shape::kMaxRank)
    return node_error(StatusCode::invalid_argument, node, t.numel(), " axes given, expected at most ", Shape::kMaxRank);
  int64_t buf[Shape::kMaxRank] = {};
  const int64_t n = t.numel();
  if (t.dtype() == DType::i64) {
    for (int64_t i = 0; i < n; ++i) buf[i] = t.data_as<const int64_t>()[i];
  } else if (t.dtype() == DType::i32) {
    for (int64_t i = 0; i < n; ++i) buf[i] = t.data_as<const int32_t>()[i];
  } else {
    return node_error(StatusCode::invalid_argument, node, "axes must be int64, found ", dtype_name(t.dtype()));
  }
  *axes = kernels::AxisList(buf, static_cast<size_t>(n));
  return Status::ok();
}

Status run_reduce(const ReduceParams& rp, const graph::Node& node, backend::KernelContext& ctx) {
  const TensorView& x = ctx.input(0);
  kernels::AxisList axes = rp.axes;
  if (rp.axes_from_input && ctx.input_count() > 1 && ctx.has_input(1))
    OBOL_RETURN_IF_ERROR(read_axes(node, ctx.input(1), &axes));
  if (!dtype_in<OBOL_REDUCE_TYPES>(x.dtype()) || (x.dtype() == DType::boolean && !bool_allowed(rp.op)))
    return dtype_error(node, "input 'data'", x.dtype());
  OBOL_ASSIGN_OR_RETURN(const ReducePlan plan, plan_reduce(node, x.shape(), axes, rp.keepdims, rp.noop_with_empty_axes));
  OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, x.dtype(), plan.out_shape));
  const int64_t n_out = y.numel();
  if (n_out == 0) return Status::ok();

  kernels::ReduceOp kop{};
  if (x.dtype() == DType::f32 && fast_f32(rp.op, &kop)) {
    OBOL_RETURN_IF_ERROR(kernels::reduce(kop, x, axes, rp.keepdims, y, rp.noop_with_empty_axes));
    float* py = y.data_as<float>();
    if (rp.op == RedOp::l2)
      for (int64_t o = 0; o < n_out; ++o) py[o] = std::sqrt(py[o]);
    if (rp.op == RedOp::log_sum)
      for (int64_t o = 0; o < n_out; ++o) py[o] = std::log(py[o]);
    return Status::ok();
  }

  OBOL_ASSIGN_OR_RETURN(void* scratch, ctx.scratch(static_cast<size_t>(n_out) * 2 * sizeof(double)));
  const int64_t total = x.numel();
  return dispatch_dtype<OBOL_REDUCE_TYPES>(x.dtype(), "reduce", [&](auto tag) -> Status {
    using T = decltype(tag);
    const T* px = x.data_as<const T>();
    T* py = y.data_as<T>();
    if constexpr (std::is_integral_v<T>) {
      if (rp.op != RedOp::l2 && rp.op != RedOp::log_sum && rp.op != RedOp::log_sum_exp) {
        reduce_integer<T>(rp.op, plan, px, total, py, n_out, static_cast<uint64_t*>(scratch));
        return Status::ok();
      }
    }
    if constexpr (!std::is_same_v<T, bool>) {
      double* acc = static_cast<double*>(scratch);
      reduce_in_double<T>(rp.op, plan, px, total, py, n_out, acc, acc + n_out);
    }
    return Status::ok();
  });
}

template <RedOp Op>
Result<std::unique_ptr<backend::Kernel>> make_reduce(const graph::Graph& g, const graph::Node& node) {
  // ReduceSum took axes as an input from opset 13, the others from opset 18.
  const int axes_input_opset = Op == RedOp::sum ? 13 : 18;
  ReduceParams p;
  p.op = Op;
  OBOL_ASSIGN_OR_RETURN(const int64_t keepdims, node.attr_int("keepdims", 1));
  OBOL_ASSIGN_OR_RETURN(const int64_t noop, node.attr_int("noop_with_empty_axes", 0));
  p.keepdims = keepdims != 0;
  p.noop_with_empty_axes = noop != 0;
  if (node.opset >= axes_input_opset) {
    OBOL_RETURN_IF_ERROR(check_arity(node, 1, 2, 1, 1));
    if (node.inputs.size() > 1 && node.inputs[1] != graph::kNoValue) {
      if (const graph::ConstantData* c = constant_input(g, node, 1))
        OBOL_RETURN_IF_ERROR(read_axes(node, c->view, &p.axes));
      else
        p.axes_from_input = true;
    }
  } else {
    OBOL_RETURN_IF_ERROR(check_arity(node, 1, 1, 1, 1));
    OBOL_ASSIGN_OR_RETURN(const std::vector<int64_t> axes, node.attr_ints("axes"));
    if (axes.size() > static_cast<size_t>(Shape::kMaxRank))
      return node_error(StatusCode::invalid_argument, node, axes.size(), " axes given, expected at most ",
                        Shape::kMaxRank);
    p.axes = kernels::AxisList(axes);
  }
  const graph::ValueType in = input_type(g, node, 0);
  if (in.dtype == DType::boolean && !bool_allowed(Op)) return dtype_error(node, "input 'data'", in.dtype);
  OBOL_RETURN_IF_ERROR(check_input_dtype<OBOL_REDUCE_TYPES>(g, node, 0, "input 'data'"));
  if (in.rank_known && !p.axes_from_input)
    for (int64_t a : p.axes)
      OBOL_RETURN_IF_ERROR(node_axis(node, a, static_cast<int>(in.dims.size()), "axes entry").status());
  return make_kernel([p, label = node_label(node)](backend::KernelContext& ctx) -> Status {
    return run_reduce(p, label, ctx);
  });
}

}  // namespace

void register_reduce(CpuOpRegistry& r) {
  r.add(graph::OpKind::ReduceSum, &make_reduce<RedOp::sum>);
  r.add(graph::OpKind::ReduceMean, &make_reduce<RedOp::mean>);
  r.add(graph::OpKind::ReduceMax, &make_reduce<RedOp::max>);
  r.add(graph::OpKind::ReduceMin, &make_reduce<RedOp::min>);
  r.add(graph::OpKind::ReduceProd, &make_reduce<RedOp::prod>);
  r.add(graph::OpKind::ReduceSumSquare, &make_reduce<RedOp::sum_square>);
  r.add(graph::OpKind::ReduceL1, &make_reduce<RedOp::l1>);
  r.add(graph::OpKind::ReduceL2, &make_reduce<RedOp::l2>);
  r.add(graph::OpKind::ReduceLogSum, &make_reduce<RedOp::log_sum>);
  r.add(graph::OpKind::ReduceLogSumExp, &make_reduce<RedOp::log_sum_exp>);
  register_reduce_index(r);
  register_reduce_softmax(r);
  register_reduce_loss(r);
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
