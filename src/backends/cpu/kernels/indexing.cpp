// CPU kernels: Gather, GatherElements, GatherND, Scatter, ScatterElements, ScatterND.
//
// Data moves by element size, whatever the dtype; only scatter reductions look at values. Every
// index is checked against its dimension (negative indices count from the end).
#include <cstring>
#include <string>

#include "common.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

namespace {

using graph::Graph;
using graph::Node;

// Reads index i of an int32/int64 tensor, normalised against `dim`; false if out of range.
inline bool index_at(const TensorView& idx, int64_t i, int64_t dim, int64_t* out) {
  int64_t v = idx.dtype() == DType::i64 ? idx.data_as<const int64_t>()[i] : idx.data_as<const int32_t>()[i];
  if (v < 0) v += dim;
  if (v < 0 || v >= dim) return false;
  *out = v;
  return true;
}

Status check_indices(const Node& node, const TensorView& idx) {
  if (idx.dtype() != DType::i64 && idx.dtype() != DType::i32)
    return node_error(StatusCode::invalid_argument, node, "indices must be int32 or int64, found ", dtype_name(idx.dtype()));
  return Status::ok();
}

Status out_of_range(const Node& node, const TensorView& idx, int64_t i, int64_t dim) {
  const int64_t v = idx.dtype() == DType::i64 ? idx.data_as<const int64_t>()[i] : idx.data_as<const int32_t>()[i];
  return node_error(StatusCode::out_of_range, node, "index ", v, " is out of range for a dimension of size ", dim);
}

// --- Gather -------------------------------------------------------------------------------------

Result<std::unique_ptr<backend::Kernel>> make_gather(const Graph&, const Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 2, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const int64_t axis_attr, node.attr_int("axis", 0));
  return make_kernel([node, axis_attr](backend::KernelContext& ctx) -> Status {
    const TensorView& data = ctx.input(0);
    const TensorView& idx = ctx.input(1);
    OBOL_RETURN_IF_ERROR(check_indices(node, idx));
    auto axis = data.shape().normalize_axis(axis_attr);
    if (!axis.is_ok()) return node_error(StatusCode::invalid_argument, node, axis.status().message());
    const int a = *axis;
    Shape out_shape;
    for (int d = 0; d < a; ++d) out_shape.push_back(data.shape()[d]);
    for (int64_t d : idx.shape()) out_shape.push_back(d);
    for (int d = a + 1; d < data.rank(); ++d) out_shape.push_back(data.shape()[d]);
    if (data.rank() - 1 + idx.rank() > Shape::kMaxRank)
      return node_error(StatusCode::unsupported, node, "output rank exceeds ", Shape::kMaxRank);
    OBOL_ASSIGN_OR_RETURN(TensorView out, ctx.output(0, data.dtype(), out_shape));
    const size_t es = dtype_size(data.dtype());
    const int64_t outer = data.shape().numel_range(0, a);
    const int64_t dim = data.shape()[a];
    const size_t inner = static_cast<size_t>(data.shape().numel_range(a + 1, data.rank())) * es;
    const int64_t n_idx = idx.numel();
    const char* src = static_cast<const char*>(data.data());
    char* dst = static_cast<char*>(out.data());
    for (int64_t i = 0; i < n_idx; ++i) {
      int64_t k;
      if (!index_at(idx, i, dim, &k)) return out_of_range(node, idx, i, dim);
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(dst + (o * n_idx + i) * static_cast<int64_t>(inner), src + (o * dim + k) * static_cast<int64_t>(inner), inner);
    }
    return Status::ok();
  });
}

// --- GatherElements / ScatterElements -------------------------------------------------------------

// Calls f(data_offset, index_position) for each element of `idx`, where data_offset is the element
// offset in a tensor of `shape` with the index substituted along `axis`.
template <class F>
Status for_each_element_index(const Node& node, const Shape& shape, const TensorView& idx, int axis, F&& f) {
  const int r = idx.rank();
  int64_t strides[Shape::kMaxRank];
  contiguous_strides(shape, strides);
  int64_t pos[Shape::kMaxRank] = {};
  const int64_t n = idx.numel();
  for (int64_t i = 0; i < n; ++i) {
    int64_t k;
    if (!index_at(idx, i, shape[axis], &k)) return out_of_range(node, idx, i, shape[axis]);
    int64_t off = 0;
    for (int d = 0; d < r; ++d) off += (d == axis ? k : pos[d]) * strides[d];
    f(off, i);
    for (int d = r - 1; d >= 0; --d) {
      if (++pos[d] < idx.shape()[d]) break;
      pos[d] = 0;
    }
  }
  return Status::ok();
}

Status check_element_shapes(const Node& node, const Shape& data, const Shape& idx) {
  if (data.rank() != idx.rank() || data.rank() == 0)
    return node_error(StatusCode::invalid_argument, node, "data ", data.to_string(), " and indices ", idx.to_string(),
                      " must have the same non-zero rank");
  return Status::ok();
}

Result<std::unique_ptr<backend::Kernel>> make_gather_elements(const Graph&, const Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 2, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const int64_t axis_attr, node.attr_int("axis", 0));
  return make_kernel([node, axis_attr](backend::KernelContext& ctx) -> Status {
    const TensorView& data = ctx.input(0);
    const TensorView& idx = ctx.input(1);
    OBOL_RETURN_IF_ERROR(check_indices(node, idx));
    OBOL_RETURN_IF_ERROR(check_element_shapes(node, data.shape(), idx.shape()));
    auto axis = data.shape().normalize_axis(axis_attr);
    if (!axis.is_ok()) return node_error(StatusCode::invalid_argument, node, axis.status().message());
    for (int d = 0; d < data.rank(); ++d)
      if (d != *axis && idx.shape()[d] > data.shape()[d])
        return node_error(StatusCode::invalid_argument, node, "indices ", idx.shape().to_string(),
                          " exceed data ", data.shape().to_string(), " in dimension ", d);
    OBOL_ASSIGN_OR_RETURN(TensorView out, ctx.output(0, data.dtype(), idx.shape()));
    const size_t es = dtype_size(data.dtype());
    const char* src = static_cast<const char*>(data.data());
    char* dst = static_cast<char*>(out.data());
    return for_each_element_index(node, data.shape(), idx, *axis, [&](int64_t off, int64_t i) {
      std::memcpy(dst + i * static_cast<int64_t>(es), src + off * static_cast<int64_t>(es), es);
    });
  });
}

enum class Reduction { none, add, mul, max, min };

Result<Reduction> parse_reduction(const Node& node) {
  OBOL_ASSIGN_OR_RETURN(const std::string r, node.attr_string("reduction", "none"));
  if (r == "none") return Reduction::none;
  if (r == "add") return Reduction::add;
  if (r == "mul") return Reduction::mul;
  if (r == "max") return Reduction::max;
  if (r == "min") return Reduction::min;
  return node_error(StatusCode::invalid_argument, node, "reduction '", r, "' is not one of none, add, mul, max, min");
}

template <class T>
T combine(Reduction r, T a, T b) {
  switch (r) {
    case Reduction::add: return static_cast<T>(a + b);
    case Reduction::mul: return static_cast<T>(a * b);
    case Reduction::max: return a > b ? a : b;
    case Reduction::min: return a < b ? a : b;
    case Reduction::none: break;
  }
  return b;
}

// Writes element `src_i` of `updates` into element `dst_off` of `out`, combining per `r`.
struct ElementWriter {
  Reduction r;
  DType dtype;
  size_t es;
  char* out;
  const char* updates;
  void operator()(int64_t dst_off, int64_t src_i) const {
    char* d = out + dst_off * static_cast<int64_t>(es);
    const char* s = updates + src_i * static_cast<int64_t>(es);
    if (r == Reduction::none) {
      std::memcpy(d, s, es);
      return;
    }
    (void)dispatch_dtype<OBOL_CPU_NUMERIC_TYPES>(dtype, "scatter", [&](auto tag) {
      using T = decltype(tag);
      T a, b;
      std::memcpy(&a, d, sizeof(T));
      std::memcpy(&b, s, sizeof(T));
      const T c = combine(r, a, b);
      std::memcpy(d, &c, sizeof(T));
      return Status::ok();
    });
  }
};

Status check_reduction_dtype(const Node& node, Reduction r, DType t) {
  if (r == Reduction::none) return Status::ok();
  if (t == DType::boolean || t == DType::f16 || t == DType::bf16 || dtype_is_block(t))
    return node_error(StatusCode::unsupported, node, "reductions on ", dtype_name(t), " are not supported");
  return Status::ok();
}

Result<std::unique_ptr<backend::Kernel>> make_scatter_elements(const Graph&, const Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 3, 3, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const int64_t axis_attr, node.attr_int("axis", 0));
  OBOL_ASSIGN_OR_RETURN(const Reduction red, parse_reduction(node));
  return make_kernel([node, axis_attr, red](backend::KernelContext& ctx) -> Status {
    const TensorView& data = ctx.input(0);
    const TensorView& idx = ctx.input(1);
    const TensorView& upd = ctx.input(2);
    OBOL_RETURN_IF_ERROR(check_indices(node, idx));
    OBOL_RETURN_IF_ERROR(check_element_shapes(node, data.shape(), idx.shape()));
    OBOL_RETURN_IF_ERROR(check_reduction_dtype(node, red, data.dtype()));
    if (upd.shape() != idx.shape() || upd.dtype() != data.dtype())
      return node_error(StatusCode::invalid_argument, node, "updates ", dtype_name(upd.dtype()), upd.shape().to_string(),
                        " must match indices ", idx.shape().to_string(), " and data type ", dtype_name(data.dtype()));
    auto axis = data.shape().normalize_axis(axis_attr);
    if (!axis.is_ok()) return node_error(StatusCode::invalid_argument, node, axis.status().message());
    for (int d = 0; d < data.rank(); ++d)
      if (d != *axis && idx.shape()[d] > data.shape()[d])
        return node_error(StatusCode::invalid_argument, node, "indices ", idx.shape().to_string(), " exceed data ",
                          data.shape().to_string(), " in dimension ", d);
    OBOL_ASSIGN_OR_RETURN(TensorView out, ctx.output(0, data.dtype(), data.shape()));
    if (out.data() != data.data() && data.nbytes()) std::memcpy(out.data(), data.data(), data.nbytes());
    const ElementWriter w{red, data.dtype(), dtype_size(data.dtype()), static_cast<char*>(out.data()),
                          static_cast<const char*>(upd.data())};
    return for_each_element_index(node, data.shape(), idx, *axis, w);
  });
}

// --- GatherND / ScatterND -----------------------------------------------------------------------

Result<std::unique_ptr<backend::Kernel>> make_gather_nd(const Graph&, const Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 2, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const int64_t batch_dims, node.attr_int("batch_dims", 0));
  return make_kernel([node, batch_dims](backend::KernelContext& ctx) -> Status {
    const TensorView& data = ctx.input(0);
    const TensorView& idx = ctx.input(1);
    OBOL_RETURN_IF_ERROR(check_indices(node, idx));
    const int b = static_cast<int>(batch_dims);
    if (idx.rank() < 1 || b < 0 || b >= idx.rank() || b >= data.rank())
      return node_error(StatusCode::invalid_argument, node, "batch_dims ", batch_dims, " does not fit data ",
                        data.shape().to_string(), " and indices ", idx.shape().to_string());
    const int64_t k = idx.shape().back();
    if (k < 1 || b + k > data.rank())
      return node_error(StatusCode::invalid_argument, node, "the last indices dimension (", k, ") must be in [1, ",
                        data.rank() - b, "]");
    for (int d = 0; d < b; ++d)
      if (idx.shape()[d] != data.shape()[d])
        return node_error(StatusCode::invalid_argument, node, "batch dimension ", d, " differs: data ",
                          data.shape().to_string(), ", indices ", idx.shape().to_string());
    Shape out_shape;
    for (int d = 0; d < idx.rank() - 1; ++d) out_shape.push_back(idx.shape()[d]);
    for (int d = b + static_cast<int>(k); d < data.rank(); ++d)
      if (!out_shape.push_back(data.shape()[d])) return node_error(StatusCode::unsupported, node, "output rank too large");
    OBOL_ASSIGN_OR_RETURN(TensorView out, ctx.output(0, data.dtype(), out_shape));
    const size_t es = dtype_size(data.dtype());
    int64_t strides[Shape::kMaxRank];
    contiguous_strides(data.shape(), strides);
    const size_t slice = static_cast<size_t>(data.shape().numel_range(b + static_cast<int>(k), data.rank())) * es;
    const int64_t batches = idx.shape().numel_range(0, b);
    const int64_t per_batch = idx.shape().numel_range(b, idx.rank() - 1);
    const int64_t batch_stride = b > 0 ? strides[b - 1] : 0;
    const char* src = static_cast<const char*>(data.data());
    char* dst = static_cast<char*>(out.data());
    for (int64_t bi = 0; bi < batches; ++bi)
      for (int64_t j = 0; j < per_batch; ++j) {
        const int64_t tuple = bi * per_batch + j;
        int64_t off = bi * batch_stride;
        for (int64_t q = 0; q < k; ++q) {
          int64_t v;
          const int dim = b + static_cast<int>(q);
          if (!index_at(idx, tuple * k + q, data.shape()[dim], &v)) return out_of_range(node, idx, tuple * k + q, data.shape()[dim]);
          off += v * strides[dim];
        }
        std::memcpy(dst + tuple * static_cast<int64_t>(slice), src + off * static_cast<int64_t>(es), slice);
      }
    return Status::ok();
  });
}

Result<std::unique_ptr<backend::Kernel>> make_scatter_nd(const Graph&, const Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 3, 3, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const Reduction red, parse_reduction(node));
  return make_kernel([node, red](backend::KernelContext& ctx) -> Status {
    const TensorView& data = ctx.input(0);
    const TensorView& idx = ctx.input(1);
    const TensorView& upd = ctx.input(2);
    OBOL_RETURN_IF_ERROR(check_indices(node, idx));
    OBOL_RETURN_IF_ERROR(check_reduction_dtype(node, red, data.dtype()));
    if (idx.rank() < 1) return node_error(StatusCode::invalid_argument, node, "indices must have rank >= 1");
    const int64_t k = idx.shape().back();
    if (k < 1 || k > data.rank())
      return node_error(StatusCode::invalid_argument, node, "the last indices dimension (", k, ") must be in [1, ", data.rank(), "]");
    Shape want;
    for (int d = 0; d < idx.rank() - 1; ++d) want.push_back(idx.shape()[d]);
    for (int d = static_cast<int>(k); d < data.rank(); ++d) want.push_back(data.shape()[d]);
    if (upd.shape() != want || upd.dtype() != data.dtype())
      return node_error(StatusCode::invalid_argument, node, "updates must be ", dtype_name(data.dtype()), want.to_string(),
                        ", found ", dtype_name(upd.dtype()), upd.shape().to_string());
    OBOL_ASSIGN_OR_RETURN(TensorView out, ctx.output(0, data.dtype(), data.shape()));
    if (out.data() != data.data() && data.nbytes()) std::memcpy(out.data(), data.data(), data.nbytes());
    int64_t strides[Shape::kMaxRank];
    contiguous_strides(data.shape(), strides);
    const int64_t slice = data.shape().numel_range(static_cast<int>(k), data.rank());
    const int64_t tuples = idx.numel() / k;
    const ElementWriter w{red, data.dtype(), dtype_size(data.dtype()), static_cast<char*>(out.data()),
                          static_cast<const char*>(upd.data())};
    for (int64_t t = 0; t < tuples; ++t) {
      int64_t off = 0;
      for (int64_t q = 0; q < k; ++q) {
        int64_t v;
        if (!index_at(idx, t * k + q, data.shape()[static_cast<int>(q)], &v))
          return out_of_range(node, idx, t * k + q, data.shape()[static_cast<int>(q)]);
        off += v * strides[q];
      }
      for (int64_t e = 0; e < slice; ++e) w(off + e, t * slice + e);
    }
    return Status::ok();
  });
}

}  // namespace

void register_indexing(CpuOpRegistry& r) {
  r.add(graph::OpKind::Gather, &make_gather);
  r.add(graph::OpKind::GatherElements, &make_gather_elements);
  r.add(graph::OpKind::GatherND, &make_gather_nd);
  r.add(graph::OpKind::Scatter, &make_scatter_elements);
  r.add(graph::OpKind::ScatterElements, &make_scatter_elements);
  r.add(graph::OpKind::ScatterND, &make_scatter_nd);
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
