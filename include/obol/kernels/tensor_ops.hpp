// obol/kernels/tensor_ops.hpp — validated, tensor-level fp32 CPU operations.
//
// These wrap the raw KernelTable kernels (obol/kernels/cpu.hpp) with what a graph executor needs:
// dtype and shape checks, numpy broadcasting, arbitrary axes, and threading through parallel_for
// (obol/core/parallel.hpp). Every function
//   - takes dense row-major TensorViews; the caller allocates `out` with the expected shape (the
//     *_output_shape helpers compute it);
//   - returns a Status instead of crashing on bad input: "[op] what was expected, what was found";
//   - uses cpu_kernels() unless a KernelTable is passed explicitly (tests pass each tier's table);
//   - is thread-safe for distinct outputs, and writes nothing to `out` when it returns an error.
// Inputs and the output must not overlap, except where a function says it may run in place.
// A view with data() == nullptr and zero elements is fine; with elements it is an error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "obol/core/shape.hpp"
#include "obol/core/status.hpp"
#include "obol/core/tensor.hpp"
#include "obol/kernels/cpu.hpp"
#include "obol/kernels/ops.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {

// A short list of axes (or a permutation), held by value: build it from a braced list, a
// std::vector, or a pointer and a count. It holds at most Shape::kMaxRank entries (no tensor has more
// axes); a longer list is remembered as too long and rejected by every function with a Status.
class AxisList {
 public:
  AxisList() noexcept = default;
  AxisList(std::initializer_list<int64_t> axes) noexcept { assign(axes.begin(), axes.size()); }  // NOLINT
  AxisList(const std::vector<int64_t>& axes) noexcept { assign(axes.data(), axes.size()); }      // NOLINT
  AxisList(const int64_t* data, size_t size) noexcept { assign(data, size); }
  const int64_t* begin() const noexcept { return v_; }
  const int64_t* end() const noexcept { return v_ + size_; }
  size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  bool too_long() const noexcept { return given_ > static_cast<size_t>(Shape::kMaxRank); }
  size_t given() const noexcept { return given_; }  // the length asked for, even when too long
  int64_t operator[](size_t i) const noexcept { return v_[i]; }

 private:
  void assign(const int64_t* data, size_t n) noexcept {
    given_ = n;
    size_ = n < static_cast<size_t>(Shape::kMaxRank) ? n : static_cast<size_t>(Shape::kMaxRank);
    for (size_t i = 0; i < size_; ++i) v_[i] = data[i];
  }
  int64_t v_[Shape::kMaxRank] = {};
  size_t size_ = 0;
  size_t given_ = 0;
};

// --- Elementwise ---------------------------------------------------------------------------------

// out = op(in), elementwise. in and out are f32 with the same shape; out may be in itself.
Status unary(const KernelTable& k, UnaryOp op, UnaryParams params, const TensorView& in, const TensorView& out);
inline Status unary(UnaryOp op, UnaryParams params, const TensorView& in, const TensorView& out) {
  return unary(cpu_kernels(), op, params, in, out);
}

// out = op(a, b) with numpy broadcasting: shapes are aligned at the right, and each dimension pair
// must be equal or contain a 1. out must have the broadcast shape. out may be a or b itself when
// that input already has the output's shape. Non-broadcastable shapes are an invalid_argument
// Status naming both shapes.
Status binary(const KernelTable& k, BinaryOp op, const TensorView& a, const TensorView& b, const TensorView& out);
inline Status binary(BinaryOp op, const TensorView& a, const TensorView& b, const TensorView& out) {
  return binary(cpu_kernels(), op, a, b, out);
}
// The shape binary() expects for `out`.
Result<Shape> binary_output_shape(BinaryOp op, const Shape& a, const Shape& b);

// --- Reductions ----------------------------------------------------------------------------------

// out = reduction of in over `axes` (negative axes count from the end; duplicates are ignored). With
// keepdims the reduced dimensions stay as 1s, otherwise they are removed. An empty `axes` list
// reduces over every axis, or, with noop_with_empty_axes (ONNX ReduceSum-13 semantics), copies in
// to out unchanged. Reducing over an empty dimension gives the identity (see reference/reduce.hpp:
// sum 0, prod 1, max -inf, min +inf, mean NaN).
Status reduce(const KernelTable& k, ReduceOp op, const TensorView& in, const AxisList& axes, bool keepdims,
              const TensorView& out, bool noop_with_empty_axes = false);
inline Status reduce(ReduceOp op, const TensorView& in, const AxisList& axes, bool keepdims, const TensorView& out,
                     bool noop_with_empty_axes = false) {
  return reduce(cpu_kernels(), op, in, axes, keepdims, out, noop_with_empty_axes);
}
// The shape reduce() expects for `out`; fails on out-of-range axes.
Result<Shape> reduce_output_shape(const Shape& in, const AxisList& axes, bool keepdims, bool noop_with_empty_axes = false);

// --- Softmax and normalisation ---------------------------------------------------------------------

// Softmax (or log-softmax) of `in` along `axis` (negative counts from the end). out has in's shape
// and may be in itself. Numerically stable (max-shifted); NaN propagates along the axis.
Status softmax(const KernelTable& k, const TensorView& in, int64_t axis, bool log, const TensorView& out);
inline Status softmax(const TensorView& in, int64_t axis, bool log, const TensorView& out) {
  return softmax(cpu_kernels(), in, axis, log, out);
}

// Layer normalisation over the trailing dimensions [axis, rank) (ONNX LayerNormalization):
// out = (in - mean) / sqrt(var + eps) * gamma + beta. gamma and beta hold one value per normalised
// element (their shape is in.shape[axis:], or any shape with that many elements); either may be an
// absent view (data() == nullptr: ones / zeros). out has in's shape and may be in itself.
Status layer_norm(const KernelTable& k, const TensorView& in, const TensorView& gamma, const TensorView& beta,
                  int64_t axis, float eps, const TensorView& out);
inline Status layer_norm(const TensorView& in, const TensorView& gamma, const TensorView& beta, int64_t axis,
                         float eps, const TensorView& out) {
  return layer_norm(cpu_kernels(), in, gamma, beta, axis, eps, out);
}

// RMS normalisation over the trailing dimensions [axis, rank): out = in / sqrt(mean(in^2) + eps) *
// gamma, gamma as for layer_norm (absent: ones). out has in's shape and may be in itself.
Status rms_norm(const KernelTable& k, const TensorView& in, const TensorView& gamma, int64_t axis, float eps,
                const TensorView& out);
inline Status rms_norm(const TensorView& in, const TensorView& gamma, int64_t axis, float eps, const TensorView& out) {
  return rms_norm(cpu_kernels(), in, gamma, axis, eps, out);
}

// --- Layout --------------------------------------------------------------------------------------

// out = in with its axes permuted: out.shape[i] = in.shape[perm[i]] (numpy.transpose). Any dtype
// with a fixed element size of 1, 2, 4 or 8 bytes; bytes are moved unchanged. An empty perm means
// reversing the axes. in and out must not overlap.
Status transpose(const KernelTable& k, const TensorView& in, const AxisList& perm, const TensorView& out);
inline Status transpose(const TensorView& in, const AxisList& perm, const TensorView& out) {
  return transpose(cpu_kernels(), in, perm, out);
}
// The shape transpose() expects for `out`; fails if perm is not a permutation of [0, rank).
Result<Shape> transpose_output_shape(const Shape& in, const AxisList& perm);

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
