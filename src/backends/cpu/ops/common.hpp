// Validation helpers shared by the tensor-level CPU ops (tensor_ops.hpp).
#pragma once

#include <cstdint>

#include "obol/core/status.hpp"
#include "obol/core/tensor.hpp"

namespace obol {
inline namespace v1 {
namespace kernels::ops_detail {

// Elements per parallel task below which splitting costs more than it saves.
inline constexpr int64_t kMinElemsPerTask = 1 << 14;

// Items per task so that each task gets at least kMinElemsPerTask elements.
inline int64_t grain_for(int64_t elems_per_item) {
  if (elems_per_item < 1) elems_per_item = 1;
  const int64_t g = kMinElemsPerTask / elems_per_item;
  return g < 1 ? 1 : g;
}

// A tensor argument is usable: a valid scalar dtype (f32 when require_f32), and data unless empty.
inline Status check_tensor(const char* op, const char* name, const TensorView& t, bool require_f32 = true) {
  if (require_f32 && t.dtype() != DType::f32)
    return make_status(StatusCode::unsupported, op, name, " has dtype ", dtype_name(t.dtype()), ", expected f32");
  if (!dtype_is_valid(t.dtype()))
    return make_status(StatusCode::invalid_argument, op, name, " has an invalid dtype");
  for (int i = 0; i < t.rank(); ++i)
    if (t.shape()[i] < 0)
      return make_status(StatusCode::invalid_argument, op, name, " has a negative dimension: ", t.shape().to_string());
  if (t.data() == nullptr && t.numel() != 0)
    return make_status(StatusCode::invalid_argument, op, name, " of shape ", t.shape().to_string(),
                       " has no data (null pointer)");
  return Status::ok();
}

inline Status check_same_shape(const char* op, const TensorView& out, const Shape& expected) {
  if (out.shape() != expected)
    return make_status(StatusCode::invalid_argument, op, "output has shape ", out.shape().to_string(), ", expected ",
                       expected.to_string());
  return Status::ok();
}

}  // namespace kernels::ops_detail
}  // inline namespace v1
}  // namespace obol
