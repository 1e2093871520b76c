// CPU kernels that pick or reorder elements by their values: ReverseSequence, Compress, NonZero
// and Unique.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "tensor_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

KernelResult make_reverse_sequence(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 2, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const int64_t batch_axis, node.attr_int("batch_axis", 1));
  OBOL_ASSIGN_OR_RETURN(const int64_t time_axis, node.attr_int("time_axis", 0));
  if (!((batch_axis == 0 && time_axis == 1) || (batch_axis == 1 && time_axis == 0)))
    return node_error(StatusCode::invalid_argument, node, "'batch_axis' and 'time_axis' must be 0 and 1 in some order, found ",
                      batch_axis, " and ", time_axis);
  return make_kernel([tag = NodeTag(node), time_first = time_axis == 0](backend::KernelContext& ctx) -> Status {
    const TensorView& in = ctx.input(0);
    const TensorView& lens_t = ctx.input(1);
    if (in.rank() < 2)
      return tag_error(StatusCode::invalid_argument, tag, "input must have rank 2 or more, found shape ",
                       in.shape().to_string());
    OBOL_ASSIGN_OR_RETURN(const size_t es, element_size(tag, in.dtype(), "input"));
    const int64_t steps = in.shape()[time_first ? 0 : 1], batch = in.shape()[time_first ? 1 : 0];
    if (lens_t.rank() != 1 || lens_t.numel() != batch)
      return tag_error(StatusCode::invalid_argument, tag, "sequence_lens must have shape [", batch, "], found ",
                       lens_t.shape().to_string());
    if (lens_t.dtype() != DType::i64 && lens_t.dtype() != DType::i32)
      return tag_error(StatusCode::invalid_argument, tag, "sequence_lens must be int64 or int32, found ",
                       dtype_name(lens_t.dtype()));
    auto len_of = [&](int64_t b) {
      return lens_t.dtype() == DType::i64 ? load_element<int64_t>(lens_t.data(), b)
                                          : int64_t{load_element<int32_t>(lens_t.data(), b)};
    };
    for (int64_t b = 0; b < batch; ++b)
      if (len_of(b) < 0 || len_of(b) > steps)
        return tag_error(StatusCode::invalid_argument, tag, "sequence_lens[", b, "] is ", len_of(b), ", expected 0..",
                         steps);
    OBOL_ASSIGN_OR_RETURN(TensorView out, ctx.output(0, in.dtype(), in.shape()));
    const size_t inner = static_cast<size_t>(in.shape().numel_range(2, in.rank())) * es;
    auto pos = [&](int64_t t, int64_t b) {
      return static_cast<size_t>(time_first ? t * batch + b : b * steps + t) * inner;
    };
    const char* src = static_cast<const char*>(in.data());
    char* dst = static_cast<char*>(out.data());
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t len = len_of(b);
      for (int64_t t = 0; t < steps; ++t) {
        const int64_t from = t < len ? len - 1 - t : t;
        if (inner) std::memcpy(dst + pos(t, b), src + pos(from, b), inner);
      }
    }
    return Status::ok();
  });
}

KernelResult make_compress(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 2, 1, 1));
  const bool has_axis = node.find_attribute("axis") != nullptr;
  OBOL_ASSIGN_OR_RETURN(const int64_t axis, node.attr_int("axis", 0));
  return make_kernel([tag = NodeTag(node), has_axis, axis](backend::KernelContext& ctx) -> Status {
    const TensorView& in = ctx.input(0);
    const TensorView& cond = ctx.input(1);
    OBOL_ASSIGN_OR_RETURN(const size_t es, element_size(tag, in.dtype(), "input"));
    if (cond.dtype() != DType::boolean || cond.rank() != 1)
      return tag_error(StatusCode::invalid_argument, tag, "condition must be a 1-D bool tensor, found ",
                       dtype_name(cond.dtype()), cond.shape().to_string());
    int a = 0;
    if (has_axis) {
      OBOL_ASSIGN_OR_RETURN(a, normalize_axis(tag, axis, in.rank(), "axis"));
    }
    const int64_t dim = has_axis ? in.shape()[a] : in.numel();
    const int64_t outer = has_axis ? in.shape().numel_range(0, a) : 1;
    const size_t inner = (has_axis ? static_cast<size_t>(in.shape().numel_range(a + 1, in.rank())) : 1) * es;
    const unsigned char* c = static_cast<const unsigned char*>(cond.data());
    // Entries past the axis' end may only be false (numpy.compress).
    int64_t kept = 0;
    for (int64_t i = 0; i < cond.numel(); ++i) {
      if (!c[i]) continue;
      if (i >= dim)
        return tag_error(StatusCode::out_of_range, tag, "condition[", i, "] is true but the selected axis has ", dim,
                         " entries");
      ++kept;
    }
    Shape out_shape = has_axis ? in.shape() : Shape{kept};
    out_shape[has_axis ? a : 0] = kept;
    OBOL_ASSIGN_OR_RETURN(TensorView out, ctx.output(0, in.dtype(), out_shape));
    if (inner == 0 || kept == 0) return Status::ok();
    const char* src = static_cast<const char*>(in.data());
    char* dst = static_cast<char*>(out.data());
    const int64_t n = std::min(dim, cond.numel());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < n; ++i)
        if (c[i]) {
          std::memcpy(dst, src + static_cast<size_t>(o * dim + i) * inner, inner);
          dst += inner;
        }
    return Status::ok();
  });
}

namespace {

template <class T>
bool is_nonzero(T v) {
  if constexpr (std::is_same_v<T, F16> || std::is_same_v<T, BF16>) return (v.bits & 0x7fffu) != 0;
  else return v != T(0);
}

// Three-way comparison that orders NaN after every number and equal to itself (numpy.unique).
template <class T>
int compare_values(T a, T b) {
  const auto x = element_value(a), y = element_value(b);
  if constexpr (std::is_floating_point_v<decltype(x)>) {
    const bool nx = std::isnan(x), ny = std::isnan(y);
    if (nx || ny) return nx == ny ? 0 : (nx ? 1 : -1);
  }
  return x < y ? -1 : (y < x ? 1 : 0);
}

}  // namespace

KernelResult make_non_zero(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 1, 1, 1));
  return make_kernel([tag = NodeTag(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& in = ctx.input(0);
    // A scalar counts as a one-element vector (numpy.nonzero).
    const Shape shape = in.rank() == 0 ? Shape{1} : in.shape();
    const int r = shape.rank();
    const int64_t n = in.numel();
    const std::string op(graph::op_info(tag.op).op_type);
    return dispatch_dtype<OBOL_CPU_ALL_TYPES>(in.dtype(), op.c_str(), [&](auto type_tag) -> Status {
      using T = decltype(type_tag);
      int64_t nnz = 0;
      for (int64_t i = 0; i < n; ++i) nnz += is_nonzero(load_element<T>(in.data(), i)) ? 1 : 0;
      OBOL_ASSIGN_OR_RETURN(TensorView out, ctx.output(0, DType::i64, Shape{r, nnz}));
      int64_t* o = out.data_as<int64_t>();
      int64_t idx[Shape::kMaxRank] = {};
      int64_t k = 0;
      for (int64_t i = 0; i < n; ++i) {
        if (is_nonzero(load_element<T>(in.data(), i))) {
          for (int d = 0; d < r; ++d) o[d * nnz + k] = idx[d];
          ++k;
        }
        for (int d = r - 1; d >= 0; --d) {
          if (++idx[d] < shape[d]) break;
          idx[d] = 0;
        }
      }
      return Status::ok();
    });
  });
}

KernelResult make_unique(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 1, 1, 4));
  const bool has_axis = node.find_attribute("axis") != nullptr;
  OBOL_ASSIGN_OR_RETURN(const int64_t axis, node.attr_int("axis", 0));
  OBOL_ASSIGN_OR_RETURN(const int64_t sorted, node.attr_int("sorted", 1));
  return make_kernel([tag = NodeTag(node), has_axis, axis, sorted = sorted != 0](backend::KernelContext& ctx) -> Status {
    const TensorView& in = ctx.input(0);
    OBOL_ASSIGN_OR_RETURN(const size_t es, element_size(tag, in.dtype(), "input"));
    int a = 0;
    if (has_axis) {
      OBOL_ASSIGN_OR_RETURN(a, normalize_axis(tag, axis, in.rank(), "axis"));
    }
    // Slice i is elements (o, i, j) for o < outer, j < inner; without an axis, each element.
    const int64_t n = has_axis ? in.shape()[a] : in.numel();
    const int64_t outer = has_axis ? in.shape().numel_range(0, a) : 1;
    const int64_t inner = has_axis ? in.shape().numel_range(a + 1, in.rank()) : 1;
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), int64_t{0});
    std::vector<int64_t> first, counts, inverse(static_cast<size_t>(n));
    const std::string op(graph::op_info(tag.op).op_type);
    OBOL_RETURN_IF_ERROR(dispatch_dtype<OBOL_CPU_ALL_TYPES>(in.dtype(), op.c_str(), [&](auto type_tag) -> Status {
      using T = decltype(type_tag);
      auto cmp = [&](int64_t x, int64_t y) {
        for (int64_t o = 0; o < outer; ++o)
          for (int64_t j = 0; j < inner; ++j) {
            const int c = compare_values(load_element<T>(in.data(), (o * n + x) * inner + j),
                                         load_element<T>(in.data(), (o * n + y) * inner + j));
            if (c) return c;
          }
        return 0;
      };
      // Stable: each group of equal slices starts with its first occurrence.
      std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return cmp(x, y) < 0; });
      // Groups in sorted order: first occurrence and count; the group of each slice.
      for (size_t i = 0; i < order.size(); ++i) {
        const int64_t s = order[i];
        if (i == 0 || cmp(order[i - 1], s) != 0) {
          first.push_back(s);
          counts.push_back(0);
        }
        ++counts.back();
        inverse[static_cast<size_t>(s)] = static_cast<int64_t>(first.size()) - 1;
      }
      return Status::ok();
    }));
    const int64_t u = static_cast<int64_t>(first.size());
    if (!sorted) {
      // Renumber the groups by first occurrence.
      std::vector<int64_t> by_first(static_cast<size_t>(u)), rank_of(static_cast<size_t>(u));
      std::iota(by_first.begin(), by_first.end(), int64_t{0});
      std::sort(by_first.begin(), by_first.end(),
                [&](int64_t x, int64_t y) { return first[static_cast<size_t>(x)] < first[static_cast<size_t>(y)]; });
      std::vector<int64_t> f2(static_cast<size_t>(u)), c2(static_cast<size_t>(u));
      for (int64_t k = 0; k < u; ++k) {
        const size_t gk = static_cast<size_t>(by_first[static_cast<size_t>(k)]);
        rank_of[gk] = k;
        f2[static_cast<size_t>(k)] = first[gk];
        c2[static_cast<size_t>(k)] = counts[gk];
      }
      for (int64_t& v : inverse) v = rank_of[static_cast<size_t>(v)];
      first.swap(f2);
      counts.swap(c2);
    }
    Shape y_shape = has_axis ? in.shape() : Shape{u};
    y_shape[has_axis ? a : 0] = u;
    OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, in.dtype(), y_shape));
    const size_t block = static_cast<size_t>(inner) * es;
    const char* src = static_cast<const char*>(in.data());
    char* dst = static_cast<char*>(y.data());
    if (block > 0)
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t k = 0; k < u; ++k)
          std::memcpy(dst + static_cast<size_t>(o * u + k) * block,
                      src + static_cast<size_t>(o * n + first[static_cast<size_t>(k)]) * block, block);
    auto write = [&](int i, const std::vector<int64_t>& v) -> Status {
      if (!ctx.has_output(i)) return Status::ok();
      OBOL_ASSIGN_OR_RETURN(TensorView t, ctx.output(i, DType::i64, Shape{static_cast<int64_t>(v.size())}));
      if (!v.empty()) std::memcpy(t.data(), v.data(), v.size() * sizeof(int64_t));
      return Status::ok();
    };
    if (ctx.output_count() > 1) OBOL_RETURN_IF_ERROR(write(1, first));
    if (ctx.output_count() > 2) OBOL_RETURN_IF_ERROR(write(2, inverse));
    if (ctx.output_count() > 3) OBOL_RETURN_IF_ERROR(write(3, counts));
    return Status::ok();
  });
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
