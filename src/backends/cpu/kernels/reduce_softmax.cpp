// CPU kernels of the reduce family that normalise along an axis: Softmax, LogSoftmax and Hardmax.
#include <cmath>
#include <cstdint>
#include <limits>

#include "obol/kernels/tensor_ops.hpp"
#include "reduce_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {
namespace {

#define OBOL_SOFTMAX_TYPES float, double, F16, BF16

enum class SoftKind { softmax, log_softmax, hardmax };

struct SoftParams {
  SoftKind kind = SoftKind::softmax;
  int64_t axis = -1;
  // Before opset 13 the input is coerced to 2-D [prod(shape[:axis]), prod(shape[axis:])] and each
  // row is normalised as a whole; from 13 only `axis` is.
  bool coerce_2d = false;
};

// One slice of n values spaced `stride` apart. y may be x itself: each y[j] is written after the
// last read of x[j].
template <class T>
void soft_slice(SoftKind kind, const T* x, T* y, int64_t n, int64_t stride) {
  double m = -std::numeric_limits<double>::infinity();
  int64_t arg = 0;
  for (int64_t j = 0; j < n; ++j) {
    const double v = static_cast<double>(load_value(x[j * stride]));
    if (v > m || (v != v && m == m)) {
      m = v;
      arg = j;
    }
  }
  if (kind == SoftKind::hardmax) {
    for (int64_t j = 0; j < n; ++j) y[j * stride] = store_value<T>(j == arg ? 1.0 : 0.0);
    return;
  }
  double s = 0.0;
  for (int64_t j = 0; j < n; ++j) s += std::exp(static_cast<double>(load_value(x[j * stride])) - m);
  const double log_s = std::log(s);
  for (int64_t j = 0; j < n; ++j) {
    const double d = static_cast<double>(load_value(x[j * stride])) - m;
    y[j * stride] = store_value<T>(kind == SoftKind::softmax ? std::exp(d) / s : d - log_s);
  }
}

Status run_soft(const SoftParams& sp, const graph::Node& node, backend::KernelContext& ctx) {
  const TensorView& x = ctx.input(0);
  if (!dtype_in<OBOL_SOFTMAX_TYPES>(x.dtype())) return dtype_error(node, "input", x.dtype());
  if (x.rank() == 0)
    return node_error(StatusCode::invalid_argument, node, "input is a scalar (rank 0), expected rank >= 1");
  OBOL_ASSIGN_OR_RETURN(const int ax, node_axis(node, sp.axis, x.rank(), "axis", sp.coerce_2d));
  const Shape& s = x.shape();
  const int64_t outer = s.numel_range(0, ax);
  const int64_t n = sp.coerce_2d ? s.numel_range(ax, s.rank()) : s[ax];
  const int64_t inner = sp.coerce_2d ? 1 : s.numel_range(ax + 1, s.rank());
  OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, x.dtype(), s));
  if (y.numel() == 0) return Status::ok();
  if (x.dtype() == DType::f32 && sp.kind != SoftKind::hardmax) {
    const Shape s3{outer, n, inner};
    return kernels::softmax(TensorView(x.data(), DType::f32, s3), 1, sp.kind == SoftKind::log_softmax,
                            TensorView(y.data(), DType::f32, s3));
  }
  return dispatch_dtype<OBOL_SOFTMAX_TYPES>(x.dtype(), "softmax", [&](auto tag) -> Status {
    using T = decltype(tag);
    const T* px = x.data_as<const T>();
    T* py = y.data_as<T>();
    parallel_for_range(outer * inner, 1 + 16384 / (n > 0 ? n : 1), [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        const int64_t off = (t / inner) * n * inner + t % inner;
        soft_slice<T>(sp.kind, px + off, py + off, n, inner);
      }
    });
    return Status::ok();
  });
}

template <SoftKind K>
Result<std::unique_ptr<backend::Kernel>> make_soft(const graph::Graph& g, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 1, 1, 1));
  SoftParams p;
  p.kind = K;
  p.coerce_2d = node.opset < 13;
  OBOL_ASSIGN_OR_RETURN(p.axis, node.attr_int("axis", p.coerce_2d ? 1 : -1));
  OBOL_RETURN_IF_ERROR(check_input_dtype<OBOL_SOFTMAX_TYPES>(g, node, 0, "input"));
  const graph::ValueType in = input_type(g, node, 0);
  if (in.rank_known && !in.dims.empty())
    OBOL_RETURN_IF_ERROR(node_axis(node, p.axis, static_cast<int>(in.dims.size()), "axis", p.coerce_2d).status());
  return make_kernel(
      [p, label = node_label(node)](backend::KernelContext& ctx) -> Status { return run_soft(p, label, ctx); },
      /*inplace_input0=*/0);
}

}  // namespace

void register_reduce_softmax(CpuOpRegistry& r) {
  r.add(graph::OpKind::Softmax, &make_soft<SoftKind::softmax>);
  r.add(graph::OpKind::LogSoftmax, &make_soft<SoftKind::log_softmax>);
  r.add(graph::OpKind::Hardmax, &make_soft<SoftKind::hardmax>);
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
