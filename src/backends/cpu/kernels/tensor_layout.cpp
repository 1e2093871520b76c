// CPU kernels: Concat, Split, Slice, Expand, Tile, DepthToSpace, SpaceToDepth. Each is a copy of
// blocks or of a strided view of its input, on element sizes rather than dtypes.
#include <algorithm>
#include <climits>

#include "tensor_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

namespace {

constexpr int kMaxRank = Shape::kMaxRank;

}  // namespace

KernelResult make_concat(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, INT_MAX, 1, 1));
  if (node.opset >= 4 && node.find_attribute("axis") == nullptr)
    return node_error(StatusCode::invalid_argument, node, "attribute 'axis' is required");
  OBOL_ASSIGN_OR_RETURN(const int64_t axis, node.attr_int("axis", 1));
  return make_kernel([tag = NodeTag(node), axis](backend::KernelContext& ctx) -> Status {
    const int n = ctx.input_count();
    for (int i = 0; i < n; ++i)
      if (!ctx.has_input(i)) return tag_error(StatusCode::invalid_argument, tag, "input ", i, " is missing");
    const TensorView& first = ctx.input(0);
    const int r = first.rank();
    if (r == 0) return tag_error(StatusCode::invalid_argument, tag, "cannot concatenate scalars (rank 0)");
    OBOL_ASSIGN_OR_RETURN(const int a, normalize_axis(tag, axis, r, "axis"));
    OBOL_ASSIGN_OR_RETURN(const size_t es, element_size(tag, first.dtype(), "input 0"));
    Shape out_shape = first.shape();
    out_shape[a] = 0;
    for (int i = 0; i < n; ++i) {
      const TensorView& t = ctx.input(i);
      if (t.dtype() != first.dtype())
        return tag_error(StatusCode::invalid_argument, tag, "input ", i, " has dtype ", dtype_name(t.dtype()),
                         ", expected ", dtype_name(first.dtype()), " (input 0's)");
      bool same = t.rank() == r;
      for (int d = 0; same && d < r; ++d) same = d == a || t.shape()[d] == first.shape()[d];
      if (!same)
        return tag_error(StatusCode::invalid_argument, tag, "input ", i, " has shape ", t.shape().to_string(),
                         ", which does not match input 0's ", first.shape().to_string(), " outside axis ", a);
      out_shape[a] += t.shape()[a];
    }
    OBOL_ASSIGN_OR_RETURN(TensorView out, ctx.output(0, first.dtype(), out_shape));
    const int64_t outer = out_shape.numel_range(0, a);
    const size_t out_block = static_cast<size_t>(out_shape.numel_range(a, r)) * es;
    size_t offset = 0;
    for (int i = 0; i < n; ++i) {
      const TensorView& t = ctx.input(i);
      const size_t block = static_cast<size_t>(t.shape().numel_range(a, r)) * es;
      if (block == 0) continue;
      const char* src = static_cast<const char*>(t.data());
      char* dst = static_cast<char*>(out.data()) + offset;
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(dst + static_cast<size_t>(o) * out_block, src + static_cast<size_t>(o) * block, block);
      offset += block;
    }
    return Status::ok();
  });
}

KernelResult make_split(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  // Split-1 and Split-13+ may take the sizes as input 1; Split-2..12 only as an attribute.
  const bool input_split = node.opset >= 13 || node.opset < 2;
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, input_split ? 2 : 1, 1, INT_MAX));
  OBOL_ASSIGN_OR_RETURN(const int64_t axis, node.attr_int("axis", 0));
  OBOL_ASSIGN_OR_RETURN(const std::vector<int64_t> split_attr, node.attr_ints("split"));
  const bool has_split_attr = node.opset < 13 && node.find_attribute("split") != nullptr;
  const bool has_num_outputs = node.opset >= 18 && node.find_attribute("num_outputs") != nullptr;
  OBOL_ASSIGN_OR_RETURN(const int64_t num_outputs, node.attr_int("num_outputs", 0));
  const int n_out = static_cast<int>(node.outputs.size());
  if (has_num_outputs && num_outputs != n_out)
    return node_error(StatusCode::invalid_argument, node, "'num_outputs' is ", num_outputs, " but the node has ", n_out,
                      " outputs");
  if (has_split_attr && static_cast<int64_t>(split_attr.size()) != n_out)
    return node_error(StatusCode::invalid_argument, node, "'split' has ", split_attr.size(), " sizes but the node has ",
                      n_out, " outputs");
  return make_kernel([tag = NodeTag(node), axis, split_attr, has_split_attr, has_num_outputs,
                      n_out](backend::KernelContext& ctx) -> Status {
    const TensorView& in = ctx.input(0);
    const int r = in.rank();
    OBOL_ASSIGN_OR_RETURN(const int a, normalize_axis(tag, axis, r, "axis"));
    OBOL_ASSIGN_OR_RETURN(const size_t es, element_size(tag, in.dtype(), "input"));
    const int64_t dim = in.shape()[a];
    // The size of output k, from the attribute, input 1, num_outputs or an equal split.
    const bool from_input = !has_split_attr && ctx.input_count() > 1 && ctx.has_input(1);
    const TensorView& split_in = from_input ? ctx.input(1) : in;
    if (from_input) {
      if (split_in.rank() > 1 || (split_in.dtype() != DType::i64 && split_in.dtype() != DType::i32))
        return tag_error(StatusCode::invalid_argument, tag, "'split' must be a 1-D int64 or int32 tensor, found ",
                         dtype_name(split_in.dtype()), split_in.shape().to_string());
      if (split_in.numel() != n_out)
        return tag_error(StatusCode::invalid_argument, tag, "'split' has ", split_in.numel(), " sizes but the node has ",
                         n_out, " outputs");
    }
    const int64_t chunk = has_num_outputs ? (dim + n_out - 1) / n_out : dim / n_out;
    auto size_of = [&](int k) -> int64_t {
      if (has_split_attr) return split_attr[static_cast<size_t>(k)];
      if (from_input)
        return split_in.dtype() == DType::i64 ? load_element<int64_t>(split_in.data(), k)
                                              : load_element<int32_t>(split_in.data(), k);
      // num_outputs: chunks of ceil(dim / n), the last one takes what is left.
      if (has_num_outputs && k == n_out - 1) return dim - chunk * (n_out - 1);
      return chunk;
    };
    if (!has_split_attr && !from_input && !has_num_outputs && dim % n_out != 0)
      return tag_error(StatusCode::invalid_argument, tag, "cannot split dimension ", a, " of size ", dim, " into ", n_out,
                       " equal parts");
    int64_t total = 0;
    for (int k = 0; k < n_out; ++k) {
      const int64_t s = size_of(k);
      if (s < 0 || s > dim)
        return tag_error(StatusCode::invalid_argument, tag, "split size ", s, " of output ", k, " is out of range for dimension ",
                         a, " of size ", dim);
      total += s;
    }
    if (total != dim)
      return tag_error(StatusCode::invalid_argument, tag, "split sizes add up to ", total, " but dimension ", a,
                       " of input ", in.shape().to_string(), " is ", dim);
    const int64_t outer = in.shape().numel_range(0, a);
    const size_t inner = static_cast<size_t>(in.shape().numel_range(a + 1, r)) * es;
    const char* src = static_cast<const char*>(in.data());
    int64_t offset = 0;
    for (int k = 0; k < n_out; ++k) {
      const int64_t s = size_of(k);
      if (ctx.has_output(k)) {
        Shape shape = in.shape();
        shape[a] = s;
        OBOL_ASSIGN_OR_RETURN(TensorView out, ctx.output(k, in.dtype(), shape));
        const size_t block = static_cast<size_t>(s) * inner;
        if (block > 0) {
          char* dst = static_cast<char*>(out.data());
          for (int64_t o = 0; o < outer; ++o)
            std::memcpy(dst + static_cast<size_t>(o) * block,
                        src + (static_cast<size_t>(o * dim + offset)) * inner, block);
        }
      }
      offset += s;
    }
    return Status::ok();
  });
}

namespace {

// The ONNX Slice clamping rules for one axis: returns the output length and adjusts start.
int64_t slice_axis(int64_t dim, int64_t& start, int64_t end, int64_t step) {
  if (dim == 0) {
    start = 0;
    return 0;
  }
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    return end > start ? (end - start - 1) / step + 1 : 0;
  }
  start = std::clamp<int64_t>(start, 0, dim - 1);
  end = std::clamp<int64_t>(end, -1, dim - 1);
  const int64_t mag = step == INT64_MIN ? INT64_MAX : -step;
  return start > end ? (start - end - 1) / mag + 1 : 0;
}

}  // namespace

KernelResult make_slice(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  const bool attrs = node.opset < 10;
  OBOL_RETURN_IF_ERROR(check_arity(node, attrs ? 1 : 3, attrs ? 1 : 5, 1, 1));
  struct Attrs {
    std::vector<int64_t> starts, ends, axes;
    bool has_axes = false;
  } at;
  if (attrs) {
    if (!node.find_attribute("starts") || !node.find_attribute("ends"))
      return node_error(StatusCode::invalid_argument, node, "attributes 'starts' and 'ends' are required");
    OBOL_ASSIGN_OR_RETURN(at.starts, node.attr_ints("starts"));
    OBOL_ASSIGN_OR_RETURN(at.ends, node.attr_ints("ends"));
    OBOL_ASSIGN_OR_RETURN(at.axes, node.attr_ints("axes"));
    at.has_axes = node.find_attribute("axes") != nullptr;
    if (at.starts.size() > static_cast<size_t>(kMaxRank) || at.ends.size() > static_cast<size_t>(kMaxRank) ||
        at.axes.size() > static_cast<size_t>(kMaxRank))
      return node_error(StatusCode::invalid_argument, node, "'starts', 'ends' and 'axes' may have at most ", kMaxRank,
                        " values");
  }
  return make_kernel([tag = NodeTag(node), attrs, at](backend::KernelContext& ctx) -> Status {
    const TensorView& in = ctx.input(0);
    const int r = in.rank();
    OBOL_ASSIGN_OR_RETURN(const size_t es, element_size(tag, in.dtype(), "input"));
    int64_t starts[kMaxRank], ends[kMaxRank], axes[kMaxRank], steps[kMaxRank];
    int ns = 0, ne = 0, na = 0, nst = 0;
    bool has_axes = false, has_steps = false;
    if (attrs) {
      ns = static_cast<int>(at.starts.size());
      ne = static_cast<int>(at.ends.size());
      na = static_cast<int>(at.axes.size());
      std::copy(at.starts.begin(), at.starts.end(), starts);
      std::copy(at.ends.begin(), at.ends.end(), ends);
      std::copy(at.axes.begin(), at.axes.end(), axes);
      has_axes = at.has_axes;
    } else {
      OBOL_RETURN_IF_ERROR(read_int_list(tag, ctx.input(1), "starts", starts, kMaxRank, &ns));
      OBOL_RETURN_IF_ERROR(read_int_list(tag, ctx.input(2), "ends", ends, kMaxRank, &ne));
      has_axes = ctx.input_count() > 3 && ctx.has_input(3);
      has_steps = ctx.input_count() > 4 && ctx.has_input(4);
      if (has_axes) OBOL_RETURN_IF_ERROR(read_int_list(tag, ctx.input(3), "axes", axes, kMaxRank, &na));
      if (has_steps) OBOL_RETURN_IF_ERROR(read_int_list(tag, ctx.input(4), "steps", steps, kMaxRank, &nst));
    }
    if (ne != ns || (has_axes && na != ns) || (has_steps && nst != ns))
      return tag_error(StatusCode::invalid_argument, tag, "'starts', 'ends', 'axes' and 'steps' must have equal lengths, found ",
                       ns, ", ", ne, has_axes ? str_cat(", ", na) : std::string(", -"),
                       has_steps ? str_cat(", ", nst) : std::string(", -"));
    int64_t begin[kMaxRank], step[kMaxRank];
    Shape out_shape = in.shape();
    for (int d = 0; d < r; ++d) {
      begin[d] = 0;
      step[d] = 1;
    }
    bool seen[kMaxRank] = {};
    for (int i = 0; i < ns; ++i) {
      OBOL_ASSIGN_OR_RETURN(const int a, normalize_axis(tag, has_axes ? axes[i] : i, r, "axis"));
      if (seen[a]) return tag_error(StatusCode::invalid_argument, tag, "axis ", a, " is sliced twice");
      seen[a] = true;
      const int64_t st = has_steps ? steps[i] : 1;
      if (st == 0) return tag_error(StatusCode::invalid_argument, tag, "step for axis ", a, " is 0");
      begin[a] = starts[i];
      step[a] = st;
      out_shape[a] = slice_axis(in.shape()[a], begin[a], ends[i], st);
    }
    OBOL_ASSIGN_OR_RETURN(TensorView out, ctx.output(0, in.dtype(), out_shape));
    int64_t in_stride[kMaxRank];
    contiguous_strides(in.shape(), in_stride);
    StridedCopy v;
    for (int d = 0; d < r; ++d) {
      if (out_shape[d] == 0) return Status::ok();
      v.base += begin[d] * in_stride[d];
      // A single-element axis never advances, so a huge step cannot overflow the stride.
      v.push(out_shape[d], out_shape[d] > 1 ? step[d] * in_stride[d] : 0);
    }
    strided_copy(in.data(), out.data(), v, es);
    return Status::ok();
  });
}

KernelResult make_expand(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 2, 1, 1));
  return make_kernel([tag = NodeTag(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& in = ctx.input(0);
    OBOL_ASSIGN_OR_RETURN(const size_t es, element_size(tag, in.dtype(), "input"));
    int64_t dims[kMaxRank];
    int n = 0;
    OBOL_RETURN_IF_ERROR(read_int_list(tag, ctx.input(1), "shape", dims, kMaxRank, &n));
    auto target = Shape::make(dims, static_cast<size_t>(n));
    if (!target.is_ok())
      return tag_error(StatusCode::invalid_argument, tag, "invalid target shape: ", target.status().message());
    auto shape = broadcast_shapes(in.shape(), *target);
    if (!shape.is_ok())
      return tag_error(StatusCode::invalid_argument, tag, "cannot expand input ", in.shape().to_string(), " to ",
                       target->to_string(), ": ", shape.status().message());
    OBOL_ASSIGN_OR_RETURN(TensorView out, ctx.output(0, in.dtype(), *shape));
    int64_t in_stride[kMaxRank];
    contiguous_strides(in.shape(), in_stride);
    StridedCopy v;
    const int lead = shape->rank() - in.rank();
    for (int d = 0; d < shape->rank(); ++d) {
      const int id = d - lead;
      v.push((*shape)[d], id >= 0 && in.shape()[id] != 1 ? in_stride[id] : 0);
    }
    strided_copy(in.data(), out.data(), v, es);
    return Status::ok();
  });
}

KernelResult make_tile(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  if (node.opset < 6)
    return node_error(StatusCode::unsupported, node, "Tile-", node.opset, " (tiles and axis inputs) is not supported; "
                      "re-export the model with opset 6 or later");
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 2, 1, 1));
  return make_kernel([tag = NodeTag(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& in = ctx.input(0);
    const int r = in.rank();
    OBOL_ASSIGN_OR_RETURN(const size_t es, element_size(tag, in.dtype(), "input"));
    int64_t reps[kMaxRank];
    int n = 0;
    OBOL_RETURN_IF_ERROR(read_int_list(tag, ctx.input(1), "repeats", reps, kMaxRank, &n));
    if (n != r)
      return tag_error(StatusCode::invalid_argument, tag, "'repeats' has ", n, " values but the input ",
                       in.shape().to_string(), " has rank ", r);
    Shape out_shape = in.shape();
    for (int d = 0; d < r; ++d) {
      if (reps[d] < 0) return tag_error(StatusCode::invalid_argument, tag, "repeats[", d, "] is negative (", reps[d], ")");
      if (in.shape()[d] != 0 && reps[d] > INT64_MAX / in.shape()[d])
        return tag_error(StatusCode::invalid_argument, tag, "the output dimension ", d, " overflows");
      out_shape[d] = in.shape()[d] * reps[d];
    }
    OBOL_ASSIGN_OR_RETURN(TensorView out, ctx.output(0, in.dtype(), out_shape));
    int64_t in_stride[kMaxRank];
    contiguous_strides(in.shape(), in_stride);
    // Each output axis splits into (repeat, input index): the repeat part does not move the source.
    StridedCopy v;
    for (int d = 0; d < r; ++d) {
      v.push(reps[d], 0);
      v.push(in.shape()[d], in_stride[d]);
    }
    strided_copy(in.data(), out.data(), v, es);
    return Status::ok();
  });
}

namespace {

enum class D2SMode { dcr, crd };

Result<int64_t> read_blocksize(const graph::Node& node) {
  if (node.find_attribute("blocksize") == nullptr)
    return node_error(StatusCode::invalid_argument, node, "attribute 'blocksize' is required");
  OBOL_ASSIGN_OR_RETURN(const int64_t b, node.attr_int("blocksize", 0));
  if (b <= 0 || b > (int64_t{1} << 20))
    return node_error(StatusCode::invalid_argument, node, "'blocksize' must be positive, found ", b);
  return b;
}

Status check_rank4(const NodeTag& tag, const TensorView& in) {
  if (in.rank() != 4)
    return tag_error(StatusCode::invalid_argument, tag, "input must have rank 4 (N, C, H, W), found shape ",
                     in.shape().to_string());
  return Status::ok();
}

}  // namespace

KernelResult make_depth_to_space(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 1, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const int64_t b, read_blocksize(node));
  OBOL_ASSIGN_OR_RETURN(const std::string mode_name, node.attr_string("mode", "DCR"));
  if (mode_name != "DCR" && mode_name != "CRD")
    return node_error(StatusCode::invalid_argument, node, "'mode' must be DCR or CRD, found '", mode_name, "'");
  const D2SMode mode = mode_name == "DCR" ? D2SMode::dcr : D2SMode::crd;
  return make_kernel([tag = NodeTag(node), b, mode](backend::KernelContext& ctx) -> Status {
    const TensorView& in = ctx.input(0);
    OBOL_RETURN_IF_ERROR(check_rank4(tag, in));
    OBOL_ASSIGN_OR_RETURN(const size_t es, element_size(tag, in.dtype(), "input"));
    const int64_t n = in.shape()[0], c = in.shape()[1], h = in.shape()[2], w = in.shape()[3];
    if (c % (b * b) != 0)
      return tag_error(StatusCode::invalid_argument, tag, "channels (", c, ") must be a multiple of blocksize^2 (",
                       b * b, ")");
    const int64_t oc = c / (b * b);
    OBOL_ASSIGN_OR_RETURN(TensorView out, ctx.output(0, in.dtype(), Shape{n, oc, h * b, w * b}));
    // DCR reads channel (b1 * b + b2) * oc + c', CRD reads c' * b * b + b1 * b + b2.
    const int64_t hw = h * w;
    const int64_t s_c = mode == D2SMode::dcr ? hw : b * b * hw;
    const int64_t s_b1 = mode == D2SMode::dcr ? b * oc * hw : b * hw;
    const int64_t s_b2 = mode == D2SMode::dcr ? oc * hw : hw;
    StridedCopy v;
    v.push(n, c * hw);
    v.push(oc, s_c);
    v.push(h, w);
    v.push(b, s_b1);
    v.push(w, 1);
    v.push(b, s_b2);
    strided_copy(in.data(), out.data(), v, es);
    return Status::ok();
  });
}

KernelResult make_space_to_depth(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 1, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const int64_t b, read_blocksize(node));
  return make_kernel([tag = NodeTag(node), b](backend::KernelContext& ctx) -> Status {
    const TensorView& in = ctx.input(0);
    OBOL_RETURN_IF_ERROR(check_rank4(tag, in));
    OBOL_ASSIGN_OR_RETURN(const size_t es, element_size(tag, in.dtype(), "input"));
    const int64_t n = in.shape()[0], c = in.shape()[1], h = in.shape()[2], w = in.shape()[3];
    if (h % b != 0 || w % b != 0)
      return tag_error(StatusCode::invalid_argument, tag, "height (", h, ") and width (", w,
                       ") must be multiples of blocksize (", b, ")");
    const int64_t oh = h / b, ow = w / b;
    OBOL_ASSIGN_OR_RETURN(TensorView out, ctx.output(0, in.dtype(), Shape{n, c * b * b, oh, ow}));
    // Output channel (b1 * b + b2) * c + c' reads input (c', oh * b + b1, ow * b + b2).
    StridedCopy v;
    v.push(n, c * h * w);
    v.push(b, w);
    v.push(b, 1);
    v.push(c, h * w);
    v.push(oh, b * w);
    v.push(ow, b);
    strided_copy(in.data(), out.data(), v, es);
    return Status::ok();
  });
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
