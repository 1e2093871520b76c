// Tensor-level reductions over any set of axes (tensor_ops.hpp).
#include <cstdint>
#include <cstring>

#include "backends/cpu/ops/common.hpp"
#include "obol/core/parallel.hpp"
#include "obol/kernels/tensor_ops.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {

using ops_detail::check_same_shape;
using ops_detail::check_tensor;
using ops_detail::grain_for;

namespace {

const char* reduce_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum: return "reduce_sum";
    case ReduceOp::mean: return "reduce_mean";
    case ReduceOp::max: return "reduce_max";
    case ReduceOp::min: return "reduce_min";
    case ReduceOp::prod: return "reduce_prod";
    case ReduceOp::sum_square: return "reduce_sum_square";
  }
  return "reduce";
}

// Marks the reduced axes; all of them when `axes` is empty (unless noop_with_empty_axes).
Status reduced_axes(const char* name, const Shape& in, const AxisList& axes, bool noop_with_empty_axes,
                    bool reduced[Shape::kMaxRank]) {
  if (axes.too_long())
    return make_status(StatusCode::invalid_argument, name, axes.given(), " axes given, expected at most ",
                       Shape::kMaxRank);
  for (int i = 0; i < Shape::kMaxRank; ++i) reduced[i] = axes.empty() && !noop_with_empty_axes && i < in.rank();
  for (int64_t a : axes) {
    if (a < -in.rank() || a >= in.rank())
      return make_status(StatusCode::out_of_range, name, "axis ", a, " is out of range for input of shape ",
                         in.to_string(), " (expected -", in.rank(), " <= axis < ", in.rank(), ")");
    reduced[a < 0 ? a + in.rank() : a] = true;  // duplicates just mark twice
  }
  return Status::ok();
}

}  // namespace

Result<Shape> reduce_output_shape(const Shape& in, const AxisList& axes, bool keepdims, bool noop_with_empty_axes) {
  bool reduced[Shape::kMaxRank];
  OBOL_RETURN_IF_ERROR(reduced_axes("reduce", in, axes, noop_with_empty_axes, reduced));
  Shape out;
  for (int i = 0; i < in.rank(); ++i) {
    if (!reduced[i])
      out.push_back(in[i]);
    else if (keepdims)
      out.push_back(1);
  }
  return out;
}

Status reduce(const KernelTable& k, ReduceOp op, const TensorView& in, const AxisList& axes, bool keepdims,
              const TensorView& out, bool noop_with_empty_axes) {
  const char* name = reduce_name(op);
  OBOL_RETURN_IF_ERROR(check_tensor(name, "input", in));
  OBOL_RETURN_IF_ERROR(check_tensor(name, "output", out));
  bool reduced[Shape::kMaxRank];
  OBOL_RETURN_IF_ERROR(reduced_axes(name, in.shape(), axes, noop_with_empty_axes, reduced));
  OBOL_ASSIGN_OR_RETURN(const Shape expected, reduce_output_shape(in.shape(), axes, keepdims, noop_with_empty_axes));
  OBOL_RETURN_IF_ERROR(check_same_shape(name, out, expected));
  if (out.numel() == 0) return Status::ok();

  // Merge runs of adjacent kept or reduced dims into groups. Size-1 dims are dropped, except a
  // reduced one under sum_square, which still has to square its element.
  int64_t group[Shape::kMaxRank + 2];
  bool group_reduced[Shape::kMaxRank + 2];
  int ng = 0;
  for (int i = 0; i < in.rank(); ++i) {
    const int64_t d = in.shape()[i];
    if (d == 1 && !(reduced[i] && op == ReduceOp::sum_square)) continue;
    if (ng > 0 && group_reduced[ng - 1] == reduced[i]) {
      group[ng - 1] *= d;
    } else {
      group[ng] = d;
      group_reduced[ng] = reduced[i];
      ++ng;
    }
  }
  int n_reduced = 0;
  for (int g = 0; g < ng; ++g) n_reduced += group_reduced[g] ? 1 : 0;
  const float* src = in.data_as<const float>();
  float* dst = out.data_as<float>();
  if (n_reduced == 0) {  // nothing to reduce: each value is its own group (sum_square squares it)
    const int64_t total = out.numel();
    if (op == ReduceOp::sum_square) {
      parallel_for_range(total, grain_for(1), [&](int64_t b, int64_t e) {
        k.binary_f32(BinaryOp::mul, src + b, 1, src + b, 1, dst + b, e - b);
      });
    } else if (dst != src) {
      std::memcpy(dst, src, static_cast<size_t>(total) * sizeof(float));
    }
    return Status::ok();
  }

  // One kernel pass per reduced group, innermost first; intermediate results go to scratch
  // tensors. Later passes combine partial results: sums of squares are then summed, means of equal
  // sized groups averaged, and the other ops reapplied as they are.
  Tensor scratch[2];
  ReduceOp pass_op = op;
  int pass = 0;
  for (int g = ng - 1; g >= 0; --g) {
    if (!group_reduced[g]) continue;
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < g; ++i) outer *= group[i];
    for (int i = g + 1; i < ng; ++i) inner *= group[i];
    const int64_t n = group[g];
    const bool last_pass = pass == n_reduced - 1;
    float* y = dst;
    if (!last_pass) {
      OBOL_ASSIGN_OR_RETURN(scratch[pass % 2], Tensor::empty(DType::f32, Shape{outer * inner}));
      y = scratch[pass % 2].data_as<float>();
    }
    const float* x = src;
    parallel_for_range(outer, grain_for(n * inner), [&](int64_t b, int64_t e) {
      k.reduce_f32(pass_op, x + b * n * inner, e - b, n, inner, y + b * inner);
    });
    group[g] = 1;
    src = y;
    if (pass_op == ReduceOp::sum_square) pass_op = ReduceOp::sum;
    ++pass;
  }
  return Status::ok();
}

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
