// Tensor-level layer norm and RMS norm over trailing dimensions (tensor_ops.hpp).
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

struct NormRows {
  int64_t rows = 0, n = 0;
};

// Splits in into [rows, n] at `axis` and checks an optional per-element parameter tensor.
Result<NormRows> norm_rows(const char* name, const TensorView& in, int64_t axis, const TensorView& out) {
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
  return NormRows{s.numel_range(0, ax), s.numel_range(ax, s.rank())};
}

// gamma / beta: absent (null data), or f32 with one value per normalised element.
Status check_param(const char* name, const char* what, const TensorView& p, const TensorView& in, int64_t n,
                   int64_t axis) {
  if (p.data() == nullptr) return Status::ok();
  OBOL_RETURN_IF_ERROR(check_tensor(name, what, p));
  if (p.numel() != n) {
    const int ax = static_cast<int>(axis < 0 ? axis + in.rank() : axis);
    Shape trailing;
    for (int i = ax; i < in.rank(); ++i) trailing.push_back(in.shape()[i]);
    return make_status(StatusCode::invalid_argument, name, what, " has shape ", p.shape().to_string(), " (", p.numel(),
                       " elements), expected ", trailing.to_string(), " (", n, " elements) for input of shape ",
                       in.shape().to_string(), " normalised from axis ", axis);
  }
  return Status::ok();
}

}  // namespace

Status layer_norm(const KernelTable& k, const TensorView& in, const TensorView& gamma, const TensorView& beta,
                  int64_t axis, float eps, const TensorView& out) {
  const char* name = "layer_norm";
  OBOL_ASSIGN_OR_RETURN(const NormRows r, norm_rows(name, in, axis, out));
  OBOL_RETURN_IF_ERROR(check_param(name, "gamma", gamma, in, r.n, axis));
  OBOL_RETURN_IF_ERROR(check_param(name, "beta", beta, in, r.n, axis));
  if (in.numel() == 0) return Status::ok();
  const float* x = in.data_as<const float>();
  float* y = out.data_as<float>();
  const float* g = gamma.data_as<const float>();
  const float* b = beta.data_as<const float>();
  parallel_for_range(r.rows, grain_for(r.n), [&](int64_t begin, int64_t end) {
    k.layer_norm_f32(x + begin * r.n, g, b, y + begin * r.n, end - begin, r.n, eps);
  });
  return Status::ok();
}

Status rms_norm(const KernelTable& k, const TensorView& in, const TensorView& gamma, int64_t axis, float eps,
                const TensorView& out) {
  const char* name = "rms_norm";
  OBOL_ASSIGN_OR_RETURN(const NormRows r, norm_rows(name, in, axis, out));
  OBOL_RETURN_IF_ERROR(check_param(name, "gamma", gamma, in, r.n, axis));
  if (in.numel() == 0) return Status::ok();
  const float* x = in.data_as<const float>();
  float* y = out.data_as<float>();
  const float* g = gamma.data_as<const float>();
  parallel_for_range(r.rows, grain_for(r.n), [&](int64_t begin, int64_t end) {
    k.rms_norm_f32(x + begin * r.n, g, y + begin * r.n, end - begin, r.n, eps);
  });
  return Status::ok();
}

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
