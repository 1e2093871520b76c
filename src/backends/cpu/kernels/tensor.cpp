// CPU kernels: tensor operators (shape and layout). This file registers the family and holds the
// ops that only change a tensor's shape (Reshape, Flatten, Squeeze, Unsqueeze), report it (Shape,
// Size), and Transpose. The others live in tensor_layout.cpp, tensor_pad.cpp, tensor_generate.cpp
// and tensor_select.cpp.
#include "obol/kernels/tensor_ops.hpp"
#include "tensor_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

namespace {

constexpr int kMaxRank = Shape::kMaxRank;

// Shape-only ops declare input 0 in place: when the executor lets the output take over the
// input's buffer, copy_reshaped has nothing to copy.
constexpr int kInPlace = 0;

// Reshape's target: a copy of the input's dim for 0 (unless allowzero), -1 inferred.
Result<Shape> reshape_target(const NodeTag& tag, const Shape& in, const int64_t* dims, int n, bool allowzero) {
  Shape out;
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < n; ++i) {
    int64_t d = dims[i];
    if (d == 0 && !allowzero) {
      if (i >= in.rank())
        return tag_error(StatusCode::invalid_argument, tag, "shape[", i, "] is 0 (copy the input's dimension) but the input ",
                         in.to_string(), " has rank ", in.rank());
      d = in[i];
    } else if (d == -1) {
      if (infer >= 0)
        return tag_error(StatusCode::invalid_argument, tag, "shape has more than one -1 (dimensions ", infer, " and ", i, ")");
      infer = i;
      d = 1;
    } else if (d < 0) {
      return tag_error(StatusCode::invalid_argument, tag, "shape[", i, "] is ", d, ", expected -1 or a size >= 0");
    }
    if (i != infer) {
      if (d != 0 && known > INT64_MAX / d)
        return tag_error(StatusCode::invalid_argument, tag, "the element count of the target shape overflows");
      known *= d;
    }
    out.push_back(d);
  }
  const int64_t numel = in.numel();
  if (infer >= 0) {
    if (known == 0 || numel % known != 0)
      return tag_error(StatusCode::invalid_argument, tag, "cannot infer the -1 dimension: input ", in.to_string(), " has ",
                       numel, " elements, the other target dimensions multiply to ", known);
    out[infer] = numel / known;
  } else if (known != numel) {
    return tag_error(StatusCode::invalid_argument, tag, "cannot reshape input ", in.to_string(), " (", numel,
                     " elements) to ", out.to_string(), " (", known, " elements)");
  }
  return out;
}

}  // namespace

KernelResult make_reshape(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  const bool attr_shape = node.opset < 5;
  OBOL_RETURN_IF_ERROR(check_arity(node, attr_shape ? 1 : 2, attr_shape ? 1 : 2, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const std::vector<int64_t> shape_attr, node.attr_ints("shape"));
  OBOL_ASSIGN_OR_RETURN(const int64_t allowzero, node.attr_int("allowzero", 0));
  if (shape_attr.size() > static_cast<size_t>(kMaxRank))
    return node_error(StatusCode::unsupported, node, "target shape has rank ", shape_attr.size(), ", at most ", kMaxRank,
                      " is supported");
  return make_kernel(
      [tag = NodeTag(node), attr_shape, shape_attr, allowzero = allowzero != 0](backend::KernelContext& ctx) -> Status {
        int64_t dims[kMaxRank];
        int n = 0;
        if (attr_shape) {
          n = static_cast<int>(shape_attr.size());
          std::copy(shape_attr.begin(), shape_attr.end(), dims);
        } else {
          OBOL_RETURN_IF_ERROR(read_int_list(tag, ctx.input(1), "shape", dims, kMaxRank, &n));
        }
        OBOL_ASSIGN_OR_RETURN(const Shape out, reshape_target(tag, ctx.input(0).shape(), dims, n, allowzero));
        return copy_reshaped(tag, ctx, out);
      },
      kInPlace);
}

KernelResult make_shape(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 1, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const int64_t start, node.attr_int("start", 0));
  const bool has_end = node.find_attribute("end") != nullptr;
  OBOL_ASSIGN_OR_RETURN(const int64_t end, node.attr_int("end", 0));
  return make_kernel([start, end, has_end](backend::KernelContext& ctx) -> Status {
    const Shape& in = ctx.input(0).shape();
    const int64_t r = in.rank();
    auto clamp = [r](int64_t v) { return std::min(std::max(v < 0 ? v + r : v, int64_t{0}), r); };
    const int64_t b = clamp(start), e = has_end ? clamp(end) : r;
    const int64_t n = std::max<int64_t>(e - b, 0);
    OBOL_ASSIGN_OR_RETURN(TensorView out, ctx.output(0, DType::i64, Shape{n}));
    for (int64_t i = 0; i < n; ++i) out.data_as<int64_t>()[i] = in[static_cast<int>(b + i)];
    return Status::ok();
  });
}

KernelResult make_size(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 1, 1, 1));
  return make_kernel([](backend::KernelContext& ctx) -> Status {
    OBOL_ASSIGN_OR_RETURN(TensorView out, ctx.output(0, DType::i64, Shape{}));
    *out.data_as<int64_t>() = ctx.input(0).numel();
    return Status::ok();
  });
}

KernelResult make_flatten(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 1, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const int64_t axis, node.attr_int("axis", 1));
  return make_kernel(
      [tag = NodeTag(node), axis](backend::KernelContext& ctx) -> Status {
        const Shape& in = ctx.input(0).shape();
        OBOL_ASSIGN_OR_RETURN(const int a, normalize_axis(tag, axis, in.rank(), "axis", true));
        return copy_reshaped(tag, ctx, Shape{in.numel_range(0, a), in.numel_range(a, in.rank())});
      },
      kInPlace);
}

namespace {

// Axes from the attribute (before opset 13) or from input 1 (from opset 13; optional for Squeeze).
struct AxesSource {
  bool from_input = false;
  std::vector<int64_t> attr;
};

Result<AxesSource> axes_source(const graph::Node& node, bool required) {
  AxesSource a;
  a.from_input = node.opset >= 13;
  OBOL_RETURN_IF_ERROR(check_arity(node, a.from_input && required ? 2 : 1, a.from_input ? 2 : 1, 1, 1));
  if (!a.from_input) {
    if (required && node.find_attribute("axes") == nullptr)
      return node_error(StatusCode::invalid_argument, node, "attribute 'axes' is required");
    OBOL_ASSIGN_OR_RETURN(a.attr, node.attr_ints("axes"));
    if (a.attr.size() > static_cast<size_t>(kMaxRank))
      return node_error(StatusCode::invalid_argument, node, "'axes' has ", a.attr.size(), " values, at most ", kMaxRank,
                        " are supported");
  }
  return a;
}

// Reads the axes into out[0..*n); *given is false when Squeeze's optional axes are absent or empty.
Status read_axes(const NodeTag& tag, const AxesSource& src, backend::KernelContext& ctx, int64_t* out, int* n,
                 bool* given) {
  if (!src.from_input) {
    *n = static_cast<int>(src.attr.size());
    std::copy(src.attr.begin(), src.attr.end(), out);
    *given = !src.attr.empty();
    return Status::ok();
  }
  *n = 0;
  *given = false;
  if (!ctx.has_input(1)) return Status::ok();
  OBOL_RETURN_IF_ERROR(read_int_list(tag, ctx.input(1), "axes", out, kMaxRank, n));
  *given = *n > 0;
  return Status::ok();
}

}  // namespace

KernelResult make_squeeze(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  OBOL_ASSIGN_OR_RETURN(AxesSource src, axes_source(node, false));
  return make_kernel(
      [tag = NodeTag(node), src](backend::KernelContext& ctx) -> Status {
        const Shape& in = ctx.input(0).shape();
        int64_t axes[kMaxRank];
        int n = 0;
        bool given = false;
        OBOL_RETURN_IF_ERROR(read_axes(tag, src, ctx, axes, &n, &given));
        bool drop[kMaxRank] = {};
        for (int i = 0; i < n; ++i) {
          OBOL_ASSIGN_OR_RETURN(const int a, normalize_axis(tag, axes[i], in.rank(), "axis"));
          if (in[a] != 1)
            return tag_error(StatusCode::invalid_argument, tag, "cannot squeeze axis ", axes[i], " of input ",
                             in.to_string(), ": its size is ", in[a], ", not 1");
          drop[a] = true;
        }
        Shape out;
        for (int i = 0; i < in.rank(); ++i)
          if (!(given ? drop[i] : in[i] == 1)) out.push_back(in[i]);
        return copy_reshaped(tag, ctx, out);
      },
      kInPlace);
}

KernelResult make_unsqueeze(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  OBOL_ASSIGN_OR_RETURN(AxesSource src, axes_source(node, true));
  return make_kernel(
      [tag = NodeTag(node), src](backend::KernelContext& ctx) -> Status {
        const Shape& in = ctx.input(0).shape();
        int64_t axes[kMaxRank];
        int n = 0;
        bool given = false;
        OBOL_RETURN_IF_ERROR(read_axes(tag, src, ctx, axes, &n, &given));
        const int out_rank = in.rank() + n;
        if (out_rank > kMaxRank)
          return tag_error(StatusCode::unsupported, tag, "output rank ", out_rank, " exceeds the maximum of ", kMaxRank);
        bool ones[kMaxRank] = {};
        for (int i = 0; i < n; ++i) {
          OBOL_ASSIGN_OR_RETURN(const int a, normalize_axis(tag, axes[i], out_rank, "axis"));
          if (ones[a]) return tag_error(StatusCode::invalid_argument, tag, "axis ", axes[i], " is given twice");
          ones[a] = true;
        }
        Shape out;
        for (int i = 0, k = 0; i < out_rank; ++i) out.push_back(ones[i] ? 1 : in[k++]);
        return copy_reshaped(tag, ctx, out);
      },
      kInPlace);
}

KernelResult make_transpose(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 1, 1, 1));
  const bool has_perm = node.find_attribute("perm") != nullptr;
  OBOL_ASSIGN_OR_RETURN(const std::vector<int64_t> perm, node.attr_ints("perm"));
  if (perm.size() > static_cast<size_t>(kMaxRank))
    return node_error(StatusCode::unsupported, node, "'perm' has ", perm.size(), " axes, at most ", kMaxRank,
                      " are supported");
  {
    bool seen[kMaxRank] = {};
    for (int64_t p : perm) {
      if (p < 0 || p >= static_cast<int64_t>(perm.size()) || seen[p])
        return node_error(StatusCode::invalid_argument, node, "'perm' must be a permutation of 0..", perm.size() - 1,
                          ", found ", p, " out of range or repeated");
      seen[p] = true;
    }
  }
  return make_kernel([tag = NodeTag(node), has_perm, perm](backend::KernelContext& ctx) -> Status {
    const TensorView& in = ctx.input(0);
    if (has_perm && static_cast<int>(perm.size()) != in.rank())
      return tag_error(StatusCode::invalid_argument, tag, "'perm' has ", perm.size(), " axes but the input ",
                       in.shape().to_string(), " has rank ", in.rank());
    OBOL_RETURN_IF_ERROR(element_size(tag, in.dtype(), "input").status());
    const kernels::AxisList axes(perm);
    OBOL_ASSIGN_OR_RETURN(const Shape shape, kernels::transpose_output_shape(in.shape(), axes));
    OBOL_ASSIGN_OR_RETURN(TensorView out, ctx.output(0, in.dtype(), shape));
    return kernels::transpose(in, axes, out);
  });
}

void register_tensor(CpuOpRegistry& r) {
  using graph::OpKind;
  r.add(OpKind::Reshape, &make_reshape);
  r.add(OpKind::Shape, &make_shape);
  r.add(OpKind::Size, &make_size);
  r.add(OpKind::Flatten, &make_flatten);
  r.add(OpKind::Squeeze, &make_squeeze);
  r.add(OpKind::Unsqueeze, &make_unsqueeze);
  r.add(OpKind::Transpose, &make_transpose);
  r.add(OpKind::Concat, &make_concat);
  r.add(OpKind::Split, &make_split);
  r.add(OpKind::Slice, &make_slice);
  r.add(OpKind::Expand, &make_expand);
  r.add(OpKind::Tile, &make_tile);
  r.add(OpKind::DepthToSpace, &make_depth_to_space);
  r.add(OpKind::SpaceToDepth, &make_space_to_depth);
  r.add(OpKind::Pad, &make_pad);
  r.add(OpKind::ConstantOfShape, &make_constant_of_shape);
  r.add(OpKind::EyeLike, &make_eye_like);
  r.add(OpKind::Range, &make_range);
  r.add(OpKind::OneHot, &make_one_hot);
  r.add(OpKind::Trilu, &make_trilu);
  r.add(OpKind::ReverseSequence, &make_reverse_sequence);
  r.add(OpKind::Compress, &make_compress);
  r.add(OpKind::NonZero, &make_non_zero);
  r.add(OpKind::Unique, &make_unique);
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
