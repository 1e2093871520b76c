// Tensor-level softmax / log-softmax along any axis (tensor_ops.hpp).
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

namespace {

// Columns of the inner dimension handled per task when the axis is not the last one; sized so the
// two scratch rows stay on the stack.
constexpr int64_t kColumnChunk = 512;

// Softmax along the middle axis of one [n, inner] slab, for columns [c0, c0 + w): the row kernels
// (binary, unary) walk the slab row by row, vectorised along the columns.
void softmax_columns(const KernelTable& k, const float* x, float* y, int64_t n, int64_t inner, int64_t c0, int64_t w,
                     bool log) {
  float m[kColumnChunk], s[kColumnChunk], e[kColumnChunk];
  const float* xc = x + c0;
  float* yc = y + c0;
  // Column maxima (binary max propagates NaN from either side). All of x is read before y is
  // written, so x and y may alias.
  for (int64_t i = 0; i < w; ++i) m[i] = xc[i];
  for (int64_t j = 1; j < n; ++j) k.binary_f32(BinaryOp::max, m, 1, xc + j * inner, 1, m, w);
  for (int64_t i = 0; i < w; ++i) s[i] = 0.0f;
  for (int64_t j = 0; j < n; ++j) {
    float* row = yc + j * inner;
    k.binary_f32(BinaryOp::sub, xc + j * inner, 1, m, 1, row, w);  // x - max
    if (log) {
      k.unary_f32(UnaryOp::exp, UnaryParams{}, row, e, w);  // the row keeps x - max
      k.binary_f32(BinaryOp::add, s, 1, e, 1, s, w);
    } else {
      k.unary_f32(UnaryOp::exp, UnaryParams{}, row, row, w);
      k.binary_f32(BinaryOp::add, s, 1, row, 1, s, w);
    }
  }
  if (log) {
    k.unary_f32(UnaryOp::log, UnaryParams{}, s, s, w);
    for (int64_t j = 0; j < n; ++j) k.binary_f32(BinaryOp::sub, yc + j * inner, 1, s, 1, yc + j * inner, w);
  } else {
    k.unary_f32(UnaryOp::reciprocal, UnaryParams{}, s, s, w);
    for (int64_t j = 0; j < n; ++j) k.binary_f32(BinaryOp::mul, yc + j * inner, 1, s, 1, yc + j * inner, w);
  }
}

}  // namespace

Status softmax(const KernelTable& k, const TensorView& in, int64_t axis, bool log, const TensorView& out) {
  const char* name = log ? "log_softmax" : "softmax";
  OBOL_RETURN_IF_ERROR(check_tensor(name, "input", in));
  OBOL_RETURN_IF_ERROR(check_tensor(name, "output", out));
  OBOL_RETURN_IF_ERROR(check_same_shape(name, out, in.shape()));
  const Shape& s = in.shape();
  if (s.rank() == 0)
    return make_status(StatusCode::invalid_argument, name, "input is a scalar (rank 0), expected rank >= 1");
  if (axis < -s.rank() || axis >= s.rank())
    return make_status(StatusCode::out_of_range, name, "axis ", axis, " is out of range for input of shape ",
                       s.to_string(), " (expected -", s.rank(), " <= axis < ", s.rank(), ")");
  const int ax = static_cast<int>(axis < 0 ? axis + s.rank() : axis);
  const int64_t outer = s.numel_range(0, ax), n = s[ax], inner = s.numel_range(ax + 1, s.rank());
  if (in.numel() == 0) return Status::ok();
  const float* x = in.data_as<const float>();
  float* y = out.data_as<float>();
  if (inner == 1) {
    parallel_for_range(outer, grain_for(n), [&](int64_t b, int64_t e) {
      k.softmax_f32(x + b * n, y + b * n, e - b, n, log);
    });
    return Status::ok();
  }
  const int64_t chunks = (inner + kColumnChunk - 1) / kColumnChunk;
  parallel_for_range(outer * chunks, grain_for(n * kColumnChunk), [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const int64_t o = t / chunks, c0 = (t % chunks) * kColumnChunk;
      const int64_t w = inner - c0 < kColumnChunk ? inner - c0 : kColumnChunk;
      softmax_columns(k, x + o * n * inner, y + o * n * inner, n, inner, c0, w, log);
    }
  });
  return Status::ok();
}

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
