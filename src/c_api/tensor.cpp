// obol_tensor: caller memory wrapped, or memory from the env's allocator.
#include <cstring>

#include "c_api/c_api_internal.hpp"

namespace obol {
inline namespace v1 {
namespace capi {
namespace {

Result<Shape> checked_shape(const char* function, obol_dtype dtype, const int64_t* dims, size_t rank) {
  const int d = enum_value(dtype);
  OBOL_CHECK_OR_RETURN(d >= 0 && d < 255 && dtype_is_valid(static_cast<DType>(d)), invalid_argument, "tensor",
                       function, ": dtype ", d, " is not an obol_dtype");
  OBOL_CHECK_OR_RETURN(rank == 0 || dims != nullptr, invalid_argument, "tensor", function, ": dims is NULL for rank ",
                       rank);
  OBOL_ASSIGN_OR_RETURN(Shape shape, Shape::make(dims, rank));
  OBOL_ASSIGN_OR_RETURN(const int64_t n, shape.checked_numel());
  OBOL_CHECK_OR_RETURN(dtype_storage_bytes(static_cast<DType>(d), static_cast<size_t>(n)) != SIZE_MAX,
                       invalid_argument, "tensor", function, ": shape ", shape.to_string(), " cannot be stored as ",
                       dtype_name(static_cast<DType>(d)), " (block types need a last dimension that is a multiple "
                       "of the block size)");
  return shape;
}

std::unique_ptr<obol_tensor> box_of(TensorView view) {
  auto t = std::make_unique<obol_tensor>();
  t->box.view = view;
  for (int i = 0; i < view.rank(); ++i) t->box.dims[i] = view.shape()[i];
  return t;
}

}  // namespace

std::unique_ptr<obol_tensor> box_owned(Tensor tensor, std::shared_ptr<EnvState> env) {
  auto t = box_of(tensor.view());
  t->box.owned = std::move(tensor);
  t->box.env = std::move(env);
  return t;
}

}  // namespace capi
}  // inline namespace v1
}  // namespace obol

using namespace obol::capi;

extern "C" {

obol_status* obol_tensor_wrap(obol_dtype dtype, const int64_t* dims, size_t rank, void* data, size_t size,
                              obol_tensor** out) {
  return guarded("obol_tensor_wrap", [&]() -> obol_status* {
    if (!out) return null_argument("obol_tensor_wrap", "out");
    OBOL_C_ASSIGN_OR_RETURN(const obol::Shape shape, checked_shape("obol_tensor_wrap", dtype, dims, rank));
    const obol::DType dt = static_cast<obol::DType>(enum_value(dtype));
    const size_t need = obol::dtype_storage_bytes(dt, static_cast<size_t>(shape.numel()));
    if (size != need)
      return make_error(OBOL_ERROR_INVALID_ARGUMENT,
                        obol::str_cat("[tensor] obol_tensor_wrap: ", obol::dtype_name(dt), shape.to_string(), " needs ",
                                      need, " bytes, but size is ", size));
    if (!data && need > 0) return null_argument("obol_tensor_wrap", "data");
    *out = box_of(obol::TensorView(data, dt, shape)).release();
    return nullptr;
  });
}

obol_status* obol_tensor_create(obol_env* env, obol_dtype dtype, const int64_t* dims, size_t rank, obol_tensor** out) {
  return guarded("obol_tensor_create", [&]() -> obol_status* {
    if (!env) return null_argument("obol_tensor_create", "env");
    if (!out) return null_argument("obol_tensor_create", "out");
    OBOL_C_ASSIGN_OR_RETURN(const obol::Shape shape, checked_shape("obol_tensor_create", dtype, dims, rank));
    OBOL_C_ASSIGN_OR_RETURN(obol::Tensor t,
                            obol::Tensor::zeros(static_cast<obol::DType>(enum_value(dtype)), shape,
                                                env->state->allocator));
    *out = box_owned(std::move(t), env->state).release();
    return nullptr;
  });
}

void obol_tensor_free(obol_tensor* tensor) {
  try {
    delete tensor;
  } catch (...) {
  }
}

obol_status* obol_tensor_dtype(const obol_tensor* tensor, obol_dtype* out) {
  if (!tensor) return null_argument("obol_tensor_dtype", "tensor");
  if (!out) return null_argument("obol_tensor_dtype", "out");
  *out = static_cast<obol_dtype>(tensor->box.view.dtype());
  return nullptr;
}

obol_status* obol_tensor_rank(const obol_tensor* tensor, size_t* out) {
  if (!tensor) return null_argument("obol_tensor_rank", "tensor");
  if (!out) return null_argument("obol_tensor_rank", "out");
  *out = static_cast<size_t>(tensor->box.view.rank());
  return nullptr;
}

obol_status* obol_tensor_dims(const obol_tensor* tensor, const int64_t** out) {
  if (!tensor) return null_argument("obol_tensor_dims", "tensor");
  if (!out) return null_argument("obol_tensor_dims", "out");
  *out = tensor->box.dims;
  return nullptr;
}

obol_status* obol_tensor_element_count(const obol_tensor* tensor, int64_t* out) {
  if (!tensor) return null_argument("obol_tensor_element_count", "tensor");
  if (!out) return null_argument("obol_tensor_element_count", "out");
  *out = tensor->box.view.numel();
  return nullptr;
}

obol_status* obol_tensor_size_bytes(const obol_tensor* tensor, size_t* out) {
  if (!tensor) return null_argument("obol_tensor_size_bytes", "tensor");
  if (!out) return null_argument("obol_tensor_size_bytes", "out");
  *out = tensor->box.view.nbytes();
  return nullptr;
}

obol_status* obol_tensor_data(const obol_tensor* tensor, void** out) {
  if (!tensor) return null_argument("obol_tensor_data", "tensor");
  if (!out) return null_argument("obol_tensor_data", "out");
  *out = tensor->box.view.data();
  return nullptr;
}

}  // extern "C"
