// CPU kernels of the reduce family that work along one axis: ArgMax, ArgMin, TopK and CumSum.
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "reduce_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {
namespace {

#define OBOL_INDEX_TYPES OBOL_CPU_NUMERIC_TYPES, F16, BF16

struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
};

AxisSplit split_at(const Shape& s, int axis) {
  return AxisSplit{s.numel_range(0, axis), s[axis], s.numel_range(axis + 1, s.rank())};
}

// --- ArgMax / ArgMin --------------------------------------------------------------------------------

struct ArgParams {
  bool is_max = true;
  int64_t axis = 0;
  bool keepdims = true;
  bool select_last_index = false;
};

// Whether v replaces the current best. NaN wins over numbers (as numpy's argmax/argmin); among
// equals the first index wins unless select_last_index.
template <class V>
bool arg_better(V v, V best, bool is_max, bool last) {
  if (is_nan_value(best)) return last && is_nan_value(v);
  if (is_nan_value(v)) return true;
  if (v == best) return last;
  return is_max ? v > best : v < best;
}

Status run_arg(const ArgParams& ap, const graph::Node& node, backend::KernelContext& ctx) {
  const TensorView& x = ctx.input(0);
  if (!dtype_in<OBOL_INDEX_TYPES>(x.dtype())) return dtype_error(node, "input 'data'", x.dtype());
  OBOL_ASSIGN_OR_RETURN(const int ax, node_axis(node, ap.axis, x.rank()));
  const AxisSplit sp = split_at(x.shape(), ax);
  Shape out_shape;
  for (int i = 0; i < x.rank(); ++i) {
    if (i != ax) out_shape.push_back(x.shape()[i]);
    else if (ap.keepdims) out_shape.push_back(1);
  }
  OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, DType::i64, out_shape));
  if (y.numel() == 0) return Status::ok();
  if (sp.n == 0)
    return node_error(StatusCode::invalid_argument, node, "axis ", ap.axis, " of input shape ", x.shape().to_string(),
                      " is empty: there is no element to pick");
  int64_t* py = y.data_as<int64_t>();
  return dispatch_dtype<OBOL_INDEX_TYPES>(x.dtype(), "arg", [&](auto tag) -> Status {
    using T = decltype(tag);
    const T* px = x.data_as<const T>();
    const int64_t slices = sp.outer * sp.inner;
    parallel_for_range(slices, 1 + 16384 / sp.n, [&](int64_t b, int64_t e) {
      for (int64_t s = b; s < e; ++s) {
        const T* p = px + (s / sp.inner) * sp.n * sp.inner + s % sp.inner;
        compute_t<T> best = load_value(p[0]);
        int64_t bi = 0;
        for (int64_t j = 1; j < sp.n; ++j) {
          const compute_t<T> v = load_value(p[j * sp.inner]);
          if (arg_better(v, best, ap.is_max, ap.select_last_index)) {
            best = v;
            bi = j;
          }
        }
        py[s] = bi;
      }
    });
    return Status::ok();
  });
}

template <bool IsMax>
Result<std::unique_ptr<backend::Kernel>> make_arg(const graph::Graph& g, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 1, 1, 1));
  ArgParams p;
  p.is_max = IsMax;
  OBOL_ASSIGN_OR_RETURN(p.axis, node.attr_int("axis", 0));
  OBOL_ASSIGN_OR_RETURN(const int64_t keepdims, node.attr_int("keepdims", 1));
  OBOL_ASSIGN_OR_RETURN(const int64_t last, node.attr_int("select_last_index", 0));
  p.keepdims = keepdims != 0;
  p.select_last_index = last != 0;
  OBOL_RETURN_IF_ERROR(check_input_dtype<OBOL_INDEX_TYPES>(g, node, 0, "input 'data'"));
  const graph::ValueType in = input_type(g, node, 0);
  if (in.rank_known) OBOL_RETURN_IF_ERROR(node_axis(node, p.axis, static_cast<int>(in.dims.size())).status());
  return make_kernel([p, label = node_label(node)](backend::KernelContext& ctx) -> Status {
    return run_arg(p, label, ctx);
  });
}

// --- TopK ---------------------------------------------------------------------------------------------

struct TopKParams {
  int64_t axis = -1;
  bool largest = true;
  bool k_from_input = true;
  int64_t k = 0;  // when !k_from_input (opset < 10)
};

// NaN orders above every number, so the comparison stays a strict weak order.
template <class V>
bool nan_last_less(V a, V b) {
  if (is_nan_value(a)) return false;
  if (is_nan_value(b)) return true;
  return a < b;
}

template <class V>
struct Ranked {
  V v;
  int64_t i;
};

Status run_topk(const TopKParams& tp, const graph::Node& node, backend::KernelContext& ctx) {
  const TensorView& x = ctx.input(0);
  if (!dtype_in<OBOL_INDEX_TYPES>(x.dtype())) return dtype_error(node, "input 'X'", x.dtype());
  int64_t k = tp.k;
  if (tp.k_from_input) {
    OBOL_ASSIGN_OR_RETURN(k, read_scalar_int(node, ctx.input(1), "input 'K'"));
  }
  OBOL_ASSIGN_OR_RETURN(const int ax, node_axis(node, tp.axis, x.rank()));
  const AxisSplit sp = split_at(x.shape(), ax);
  if (k < 0 || k > sp.n)
    return node_error(StatusCode::out_of_range, node, "k = ", k, " is outside [0, ", sp.n, "] for axis ", ax,
                      " of input shape ", x.shape().to_string());
  Shape out_shape = x.shape();
  out_shape[ax] = k;
  OBOL_ASSIGN_OR_RETURN(TensorView values, ctx.output(0, x.dtype(), out_shape));
  OBOL_ASSIGN_OR_RETURN(TensorView indices, ctx.output(1, DType::i64, out_shape));
  if (values.numel() == 0) return Status::ok();
  const int64_t slices = sp.outer * sp.inner;
  const int64_t chunks = std::min<int64_t>(slices, max_threads());
  return dispatch_dtype<OBOL_INDEX_TYPES>(x.dtype(), "topk", [&](auto tag) -> Status {
    using T = decltype(tag);
    using V = compute_t<T>;
    using R = Ranked<V>;
    OBOL_ASSIGN_OR_RETURN(void* scratch, ctx.scratch(static_cast<size_t>(chunks * sp.n) * sizeof(R)));
    R* base = static_cast<R*>(scratch);
    const T* px = x.data_as<const T>();
    T* pv = values.data_as<T>();
    int64_t* pi = indices.data_as<int64_t>();
    // Ties go to the lower index, as in ONNX Runtime.
    auto before = [largest = tp.largest](const R& a, const R& b) {
      const bool a_first = largest ? nan_last_less(b.v, a.v) : nan_last_less(a.v, b.v);
      const bool b_first = largest ? nan_last_less(a.v, b.v) : nan_last_less(b.v, a.v);
      return a_first || (!b_first && a.i < b.i);
    };
    parallel_for(chunks, [&](int64_t c) {
      R* buf = base + c * sp.n;
      for (int64_t s = slices * c / chunks; s < slices * (c + 1) / chunks; ++s) {
        const int64_t o = s / sp.inner, in = s % sp.inner;
        const T* p = px + o * sp.n * sp.inner + in;
        for (int64_t j = 0; j < sp.n; ++j) buf[j] = R{load_value(p[j * sp.inner]), j};
        if (k * 4 < sp.n)
          std::partial_sort(buf, buf + k, buf + sp.n, before);
        else
          std::sort(buf, buf + sp.n, before);
        const int64_t out0 = o * k * sp.inner + in;
        for (int64_t j = 0; j < k; ++j) {
          pv[out0 + j * sp.inner] = store_compute<T>(buf[j].v);
          pi[out0 + j * sp.inner] = buf[j].i;
        }
      }
    });
    return Status::ok();
  });
}

Result<std::unique_ptr<backend::Kernel>> make_topk(const graph::Graph& g, const graph::Node& node) {
  TopKParams p;
  p.k_from_input = node.opset >= 10;
  if (p.k_from_input) {
    OBOL_RETURN_IF_ERROR(check_arity(node, 2, 2, 2, 2));
    if (node.inputs[1] == graph::kNoValue) return node_error(StatusCode::invalid_argument, node, "input 'K' is missing");
  } else {
    OBOL_RETURN_IF_ERROR(check_arity(node, 1, 1, 2, 2));
    const graph::Attribute* k = node.find_attribute("k");
    if (k == nullptr) return node_error(StatusCode::invalid_argument, node, "attribute 'k' is missing");
    OBOL_ASSIGN_OR_RETURN(p.k, node.attr_int("k", 0));
  }
  OBOL_ASSIGN_OR_RETURN(p.axis, node.attr_int("axis", -1));
  OBOL_ASSIGN_OR_RETURN(const int64_t largest, node.attr_int("largest", 1));
  p.largest = largest != 0;
  // `sorted` = 0 leaves the order unspecified; sorted output satisfies it too.
  OBOL_RETURN_IF_ERROR(check_input_dtype<OBOL_INDEX_TYPES>(g, node, 0, "input 'X'"));
  const graph::ValueType in = input_type(g, node, 0);
  if (in.rank_known) OBOL_RETURN_IF_ERROR(node_axis(node, p.axis, static_cast<int>(in.dims.size())).status());
  return make_kernel([p, label = node_label(node)](backend::KernelContext& ctx) -> Status {
    return run_topk(p, label, ctx);
  });
}

// --- CumSum -------------------------------------------------------------------------------------------

struct CumSumParams {
  bool exclusive = false;
  bool reverse = false;
  bool axis_known = false;  // the axis input is a constant
  int64_t axis = 0;
};

Status run_cumsum(const CumSumParams& cp, const graph::Node& node, backend::KernelContext& ctx) {
  const TensorView& x = ctx.input(0);
  if (!dtype_in<OBOL_INDEX_TYPES>(x.dtype())) return dtype_error(node, "input 'x'", x.dtype());
  int64_t axis = cp.axis;
  if (!cp.axis_known) {
    OBOL_ASSIGN_OR_RETURN(axis, read_scalar_int(node, ctx.input(1), "input 'axis'"));
  }
  OBOL_ASSIGN_OR_RETURN(const int ax, node_axis(node, axis, x.rank()));
  const AxisSplit sp = split_at(x.shape(), ax);
  OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, x.dtype(), x.shape()));
  if (y.numel() == 0) return Status::ok();
  return dispatch_dtype<OBOL_INDEX_TYPES>(x.dtype(), "cumsum", [&](auto tag) -> Status {
    using T = decltype(tag);
    using V = compute_t<T>;
    OBOL_ASSIGN_OR_RETURN(void* scratch, ctx.scratch(static_cast<size_t>(sp.inner) * sizeof(V)));
    V* acc = static_cast<V*>(scratch);
    const T* px = x.data_as<const T>();
    T* py = y.data_as<T>();
    for (int64_t o = 0; o < sp.outer; ++o) {
      for (int64_t i = 0; i < sp.inner; ++i) acc[i] = V{};
      for (int64_t jj = 0; jj < sp.n; ++jj) {
        const int64_t j = cp.reverse ? sp.n - 1 - jj : jj;
        const int64_t row = (o * sp.n + j) * sp.inner;
        for (int64_t i = 0; i < sp.inner; ++i) {
          const V v = load_value(px[row + i]);
          if (cp.exclusive) {
            py[row + i] = store_compute<T>(acc[i]);
            acc[i] = wrapping_add(acc[i], v);
          } else {
            acc[i] = wrapping_add(acc[i], v);
            py[row + i] = store_compute<T>(acc[i]);
          }
        }
      }
    }
    return Status::ok();
  });
}

Result<std::unique_ptr<backend::Kernel>> make_cumsum(const graph::Graph& g, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 2, 1, 1));
  if (node.inputs[1] == graph::kNoValue) return node_error(StatusCode::invalid_argument, node, "input 'axis' is missing");
  CumSumParams p;
  OBOL_ASSIGN_OR_RETURN(const int64_t exclusive, node.attr_int("exclusive", 0));
  OBOL_ASSIGN_OR_RETURN(const int64_t reverse, node.attr_int("reverse", 0));
  p.exclusive = exclusive != 0;
  p.reverse = reverse != 0;
  OBOL_RETURN_IF_ERROR(check_input_dtype<OBOL_INDEX_TYPES>(g, node, 0, "input 'x'"));
  if (const graph::ConstantData* c = constant_input(g, node, 1)) {
    OBOL_ASSIGN_OR_RETURN(p.axis, read_scalar_int(node, c->view, "input 'axis'"));
    p.axis_known = true;
    const graph::ValueType in = input_type(g, node, 0);
    if (in.rank_known) OBOL_RETURN_IF_ERROR(node_axis(node, p.axis, static_cast<int>(in.dims.size())).status());
  }
  return make_kernel([p, label = node_label(node)](backend::KernelContext& ctx) -> Status {
    return run_cumsum(p, label, ctx);
  });
}

}  // namespace

void register_reduce_index(CpuOpRegistry& r) {
  r.add(graph::OpKind::ArgMax, &make_arg<true>);
  r.add(graph::OpKind::ArgMin, &make_arg<false>);
  r.add(graph::OpKind::TopK, &make_topk);
  r.add(graph::OpKind::CumSum, &make_cumsum);
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
