// CPU kernels that make tensors from shapes and scalars: ConstantOfShape, EyeLike, Range, OneHot,
// and Trilu (a masked copy).
#include <algorithm>
#include <array>
#include <cmath>

#include "tensor_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

namespace {

constexpr int kMaxRank = Shape::kMaxRank;

}  // namespace

KernelResult make_constant_of_shape(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 1, 1, 1));
  DType dtype = DType::f32;
  std::array<unsigned char, 8> value{};
  if (const graph::Attribute* a = node.find_attribute("value")) {
    if (a->kind != graph::Attribute::Kind::t || !a->t)
      return node_error(StatusCode::invalid_argument, node, "attribute 'value' must be a tensor, found ",
                        graph::attribute_kind_name(a->kind));
    const TensorView& v = a->t->view;
    if (v.numel() != 1)
      return node_error(StatusCode::invalid_argument, node, "'value' must hold one element, found shape ",
                        v.shape().to_string());
    OBOL_ASSIGN_OR_RETURN(const size_t es, element_size(NodeTag(node), v.dtype(), "'value'"));
    dtype = v.dtype();
    std::memcpy(value.data(), v.data(), es);
  }
  return make_kernel([tag = NodeTag(node), dtype, value](backend::KernelContext& ctx) -> Status {
    int64_t dims[kMaxRank];
    int n = 0;
    OBOL_RETURN_IF_ERROR(read_int_list(tag, ctx.input(0), "shape", dims, kMaxRank, &n));
    auto shape = Shape::make(dims, static_cast<size_t>(n));
    if (!shape.is_ok()) return tag_error(StatusCode::invalid_argument, tag, "invalid shape: ", shape.status().message());
    OBOL_ASSIGN_OR_RETURN(TensorView out, ctx.output(0, dtype, *shape));
    fill_elements(static_cast<char*>(out.data()), value.data(), out.numel(), dtype_size(dtype));
    return Status::ok();
  });
}

KernelResult make_eye_like(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 1, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const int64_t k, node.attr_int("k", 0));
  DType dtype = DType::invalid;  // the input's
  if (node.find_attribute("dtype")) {
    OBOL_ASSIGN_OR_RETURN(const int64_t dt, node.attr_int("dtype", 0));
    OBOL_ASSIGN_OR_RETURN(dtype, dtype_from_onnx(node, dt, "'dtype'"));
  }
  return make_kernel([tag = NodeTag(node), k, dtype](backend::KernelContext& ctx) -> Status {
    const TensorView& in = ctx.input(0);
    if (in.rank() != 2)
      return tag_error(StatusCode::invalid_argument, tag, "input must have rank 2, found shape ", in.shape().to_string());
    const DType t = dtype == DType::invalid ? in.dtype() : dtype;
    OBOL_ASSIGN_OR_RETURN(const size_t es, element_size(tag, t, "output"));
    unsigned char one[8] = {};
    OBOL_RETURN_IF_ERROR(encode_scalar(tag, t, 1.0, one));
    OBOL_ASSIGN_OR_RETURN(TensorView out, ctx.output(0, t, in.shape()));
    const int64_t rows = in.shape()[0], cols = in.shape()[1];
    char* o = static_cast<char*>(out.data());
    if (out.nbytes() > 0) std::memset(o, 0, out.nbytes());
    // Only |k| < max(rows, cols) can touch the matrix; clamping keeps i + k from overflowing.
    const int64_t kk = std::clamp<int64_t>(k, -rows - 1, cols + 1);
    for (int64_t i = std::max<int64_t>(0, -kk); i < rows && i + kk < cols; ++i)
      std::memcpy(o + (i * cols + i + kk) * static_cast<int64_t>(es), one, es);
    return Status::ok();
  });
}

KernelResult make_range(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  OBOL_RETURN_IF_ERROR(check_arity(node, 3, 3, 1, 1));
  return make_kernel([tag = NodeTag(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& ts = ctx.input(0);
    for (int i = 0; i < 3; ++i) {
      const TensorView& t = ctx.input(i);
      static const char* const names[] = {"start", "limit", "delta"};
      if (t.numel() != 1 || t.rank() > 1)
        return tag_error(StatusCode::invalid_argument, tag, names[i], " must be a scalar, found shape ",
                         t.shape().to_string());
      if (t.dtype() != ts.dtype())
        return tag_error(StatusCode::invalid_argument, tag, names[i], " has dtype ", dtype_name(t.dtype()),
                         ", expected ", dtype_name(ts.dtype()), " (start's)");
    }
    const std::string op(graph::op_info(tag.op).op_type);
    return dispatch_dtype<OBOL_CPU_NUMERIC_TYPES>(ts.dtype(), op.c_str(), [&](auto type_tag) -> Status {
      using T = decltype(type_tag);
      const T start = load_element<T>(ctx.input(0).data(), 0);
      const T limit = load_element<T>(ctx.input(1).data(), 0);
      const T delta = load_element<T>(ctx.input(2).data(), 0);
      int64_t n = 0;
      if constexpr (std::is_floating_point_v<T>) {
        const double c = std::ceil((static_cast<double>(limit) - static_cast<double>(start)) / static_cast<double>(delta));
        if (!std::isfinite(c))
          return tag_error(StatusCode::invalid_argument, tag, "cannot make a range from ", start, " to ", limit,
                           " by ", delta);
        if (c > static_cast<double>(int64_t{1} << 40))
          return tag_error(StatusCode::invalid_argument, tag, "range from ", start, " to ", limit, " by ", delta,
                           " has too many elements");
        n = c > 0 ? static_cast<int64_t>(c) : 0;
      } else {
        if (delta == 0) return tag_error(StatusCode::invalid_argument, tag, "delta is 0");
        // Differences in uint64: limit - start may not fit T.
        uint64_t count = 0;
        if (delta > 0 && limit > start) {
          const uint64_t diff = static_cast<uint64_t>(limit) - static_cast<uint64_t>(start);
          count = (diff - 1) / static_cast<uint64_t>(delta) + 1;
        }
        if constexpr (std::is_signed_v<T>) {
          if (delta < 0 && start > limit) {
            const uint64_t diff = static_cast<uint64_t>(start) - static_cast<uint64_t>(limit);
            const uint64_t mag = static_cast<uint64_t>(-(static_cast<int64_t>(delta) + 1)) + 1;
            count = (diff - 1) / mag + 1;
          }
        }
        if (count > (uint64_t{1} << 40)) return tag_error(StatusCode::invalid_argument, tag, "range has too many elements");
        n = static_cast<int64_t>(count);
      }
      OBOL_ASSIGN_OR_RETURN(TensorView out, ctx.output(0, ts.dtype(), Shape{n}));
      T* o = out.data_as<T>();
      for (int64_t i = 0; i < n; ++i) {
        if constexpr (std::is_floating_point_v<T>) o[i] = static_cast<T>(start + static_cast<T>(i) * delta);
        else  // in uint64: i * delta may overflow int64 even when start + i * delta fits T
          o[i] = static_cast<T>(static_cast<uint64_t>(static_cast<int64_t>(start)) +
                                static_cast<uint64_t>(i) * static_cast<uint64_t>(static_cast<int64_t>(delta)));
      }
      return Status::ok();
    });
  });
}

KernelResult make_one_hot(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  OBOL_RETURN_IF_ERROR(check_arity(node, 3, 3, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const int64_t axis, node.attr_int("axis", -1));
  return make_kernel([tag = NodeTag(node), axis](backend::KernelContext& ctx) -> Status {
    const TensorView& indices = ctx.input(0);
    const TensorView& depth_t = ctx.input(1);
    const TensorView& values = ctx.input(2);
    if (depth_t.numel() != 1)
      return tag_error(StatusCode::invalid_argument, tag, "depth must hold one value, found shape ",
                       depth_t.shape().to_string());
    if (values.numel() != 2)
      return tag_error(StatusCode::invalid_argument, tag, "values must hold two elements [off, on], found shape ",
                       values.shape().to_string());
    OBOL_ASSIGN_OR_RETURN(const size_t es, element_size(tag, values.dtype(), "values"));
    double depth_v = 0;
    const std::string op(graph::op_info(tag.op).op_type);
    OBOL_RETURN_IF_ERROR(dispatch_dtype<OBOL_CPU_NUMERIC_TYPES>(depth_t.dtype(), op.c_str(), [&](auto type_tag) {
      depth_v = static_cast<double>(load_element<decltype(type_tag)>(depth_t.data(), 0));
      return Status::ok();
    }));
    if (!(depth_v >= 1 && depth_v < static_cast<double>(int64_t{1} << 40)))
      return tag_error(StatusCode::invalid_argument, tag, "depth must be positive, found ", depth_v);
    const int64_t depth = static_cast<int64_t>(depth_v);
    const int r = indices.rank();
    if (r + 1 > kMaxRank)
      return tag_error(StatusCode::unsupported, tag, "output rank ", r + 1, " exceeds the maximum of ", kMaxRank);
    OBOL_ASSIGN_OR_RETURN(const int a, normalize_axis(tag, axis, r + 1, "axis"));
    Shape out_shape;
    for (int d = 0; d < a; ++d) out_shape.push_back(indices.shape()[d]);
    out_shape.push_back(depth);
    for (int d = a; d < r; ++d) out_shape.push_back(indices.shape()[d]);
    OBOL_ASSIGN_OR_RETURN(TensorView out, ctx.output(0, values.dtype(), out_shape));
    const char* v = static_cast<const char*>(values.data());
    char* o = static_cast<char*>(out.data());
    fill_elements(o, v, out.numel(), es);
    const int64_t outer = indices.shape().numel_range(0, a);
    const int64_t inner = indices.shape().numel_range(a, r);
    return dispatch_dtype<OBOL_CPU_NUMERIC_TYPES>(indices.dtype(), op.c_str(), [&](auto type_tag) -> Status {
      using T = decltype(type_tag);
      for (int64_t p = 0; p < outer; ++p) {
        for (int64_t i = 0; i < inner; ++i) {
          const T raw = load_element<T>(indices.data(), p * inner + i);
          if constexpr (std::is_floating_point_v<T>)
            if (!(std::fabs(raw) < static_cast<T>(depth) + 1)) continue;
          int64_t idx = static_cast<int64_t>(raw);
          if (idx < 0) idx += depth;
          if (idx < 0 || idx >= depth) continue;
          std::memcpy(o + ((p * depth + idx) * inner + i) * static_cast<int64_t>(es), v + es, es);
        }
      }
      return Status::ok();
    });
  });
}

KernelResult make_trilu(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 2, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const int64_t upper, node.attr_int("upper", 1));
  return make_kernel([tag = NodeTag(node), upper = upper != 0](backend::KernelContext& ctx) -> Status {
    const TensorView& in = ctx.input(0);
    const int r = in.rank();
    if (r < 2)
      return tag_error(StatusCode::invalid_argument, tag, "input must have rank 2 or more, found shape ",
                       in.shape().to_string());
    OBOL_ASSIGN_OR_RETURN(const size_t es, element_size(tag, in.dtype(), "input"));
    int64_t k = 0;
    if (ctx.input_count() > 1 && ctx.has_input(1)) {
      OBOL_ASSIGN_OR_RETURN(k, read_int_scalar(tag, ctx.input(1), "k"));
    }
    OBOL_ASSIGN_OR_RETURN(TensorView out, ctx.output(0, in.dtype(), in.shape()));
    const int64_t rows = in.shape()[r - 2], cols = in.shape()[r - 1];
    const int64_t mats = in.shape().numel_range(0, r - 2);
    k = std::clamp<int64_t>(k, -rows - 1, cols + 1);
    const size_t row_bytes = static_cast<size_t>(cols) * es;
    const char* src = static_cast<const char*>(in.data());
    char* dst = static_cast<char*>(out.data());
    for (int64_t m = 0; m < mats; ++m) {
      for (int64_t i = 0; i < rows; ++i) {
        const size_t off = static_cast<size_t>(m * rows + i) * row_bytes;
        // Kept columns: j >= i + k (upper) or j <= i + k (lower).
        const int64_t keep_b = upper ? std::clamp<int64_t>(i + k, 0, cols) : 0;
        const int64_t keep_e = upper ? cols : std::clamp<int64_t>(i + k + 1, 0, cols);
        std::memset(dst + off, 0, row_bytes);
        if (keep_e > keep_b)
          std::memcpy(dst + off + static_cast<size_t>(keep_b) * es, src + off + static_cast<size_t>(keep_b) * es,
                      static_cast<size_t>(keep_e - keep_b) * es);
      }
    }
    return Status::ok();
  });
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
