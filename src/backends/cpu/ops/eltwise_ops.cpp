// Tensor-level unary and broadcasting binary ops (tensor_ops.hpp).
#include <cstdint>

#include "backends/cpu/ops/common.hpp"
#include "obol/core/parallel.hpp"
#include "obol/kernels/tensor_ops.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {

using ops_detail::check_same_shape;
using ops_detail::check_tensor;
using ops_detail::grain_for;

Status unary(const KernelTable& k, UnaryOp op, UnaryParams params, const TensorView& in, const TensorView& out) {
  const char* name = unary_op_name(op);
  OBOL_RETURN_IF_ERROR(check_tensor(name, "input", in));
  OBOL_RETURN_IF_ERROR(check_tensor(name, "output", out));
  OBOL_RETURN_IF_ERROR(check_same_shape(name, out, in.shape()));
  const float* x = in.data_as<const float>();
  float* y = out.data_as<float>();
  parallel_for_range(in.numel(), grain_for(1),
                     [&](int64_t b, int64_t e) { k.unary_f32(op, params, x + b, y + b, e - b); });
  return Status::ok();
}

Result<Shape> binary_output_shape(BinaryOp op, const Shape& a, const Shape& b) {
  Result<Shape> s = broadcast_shapes(a, b);
  if (!s.is_ok())
    return make_status(StatusCode::invalid_argument, binary_op_name(op), "shapes ", a.to_string(), " and ",
                       b.to_string(), " are not broadcastable (each dimension pair, aligned at the right, must "
                       "be equal or contain a 1)");
  return s;
}

namespace {

// The broadcast problem reduced to as few dimensions as possible: out dims, and per input whether
// each dim is broadcast (stride 0) or walked (contiguous stride).
struct BroadcastPlan {
  int rank = 0;
  int64_t dims[Shape::kMaxRank] = {};
  int64_t a_stride[Shape::kMaxRank] = {};
  int64_t b_stride[Shape::kMaxRank] = {};
};

BroadcastPlan plan_broadcast(const Shape& as, const Shape& bs, const Shape& os) {
  const int r = os.rank();
  bool a_b[Shape::kMaxRank], b_b[Shape::kMaxRank];
  int64_t d[Shape::kMaxRank];
  int n = 0;
  for (int i = 0; i < r; ++i) {
    if (os[i] == 1) continue;  // size-1 output dims contribute nothing
    const int ia = i - (r - as.rank()), ib = i - (r - bs.rank());
    const bool ab = ia < 0 || as[ia] == 1, bb = ib < 0 || bs[ib] == 1;
    // Merge with the previous dim when both inputs broadcast (or walk) both of them alike.
    if (n > 0 && a_b[n - 1] == ab && b_b[n - 1] == bb) {
      d[n - 1] *= os[i];
    } else {
      d[n] = os[i];
      a_b[n] = ab;
      b_b[n] = bb;
      ++n;
    }
  }
  BroadcastPlan p;
  p.rank = n;
  int64_t sa = 1, sb = 1;
  for (int i = n - 1; i >= 0; --i) {
    p.dims[i] = d[i];
    p.a_stride[i] = a_b[i] ? 0 : sa;
    p.b_stride[i] = b_b[i] ? 0 : sb;
    if (!a_b[i]) sa *= d[i];
    if (!b_b[i]) sb *= d[i];
  }
  return p;
}

}  // namespace

Status binary(const KernelTable& k, BinaryOp op, const TensorView& a, const TensorView& b, const TensorView& out) {
  const char* name = binary_op_name(op);
  OBOL_RETURN_IF_ERROR(check_tensor(name, "input a", a));
  OBOL_RETURN_IF_ERROR(check_tensor(name, "input b", b));
  OBOL_RETURN_IF_ERROR(check_tensor(name, "output", out));
  OBOL_ASSIGN_OR_RETURN(const Shape os, binary_output_shape(op, a.shape(), b.shape()));
  OBOL_RETURN_IF_ERROR(check_same_shape(name, out, os));
  const int64_t total = os.numel();
  if (total == 0) return Status::ok();

  const BroadcastPlan p = plan_broadcast(a.shape(), b.shape(), os);
  const float* xa = a.data_as<const float>();
  const float* xb = b.data_as<const float>();
  float* y = out.data_as<float>();
  if (p.rank == 0) {  // every dim is 1: one element
    k.binary_f32(op, xa, 0, xb, 0, y, 1);
    return Status::ok();
  }
  // The innermost merged dim is one kernel call; the outer dims are walked with an odometer.
  const int last = p.rank - 1;
  const int64_t inner = p.dims[last];
  const int64_t a_inc = p.a_stride[last] ? 1 : 0, b_inc = p.b_stride[last] ? 1 : 0;
  const int64_t rows = total / inner;
  parallel_for_range(rows, grain_for(inner), [&](int64_t begin, int64_t end) {
    int64_t idx[Shape::kMaxRank] = {};
    int64_t rem = begin, ao = 0, bo = 0;
    for (int i = last - 1; i >= 0; --i) {
      idx[i] = rem % p.dims[i];
      rem /= p.dims[i];
      ao += idx[i] * p.a_stride[i];
      bo += idx[i] * p.b_stride[i];
    }
    for (int64_t row = begin; row < end; ++row) {
      k.binary_f32(op, xa + ao, a_inc, xb + bo, b_inc, y + row * inner, inner);
      for (int i = last - 1; i >= 0; --i) {
        ao += p.a_stride[i];
        bo += p.b_stride[i];
        if (++idx[i] < p.dims[i]) break;
        ao -= idx[i] * p.a_stride[i];
        bo -= idx[i] * p.b_stride[i];
        idx[i] = 0;
      }
    }
  });
  return Status::ok();
}

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
