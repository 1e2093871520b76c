// Helpers for the CPU quantization kernels: ONNX rounding and saturation, quantization parameters
// (per-tensor, per-axis, blocked) and reading scales and zero points of any supported dtype.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "matmul_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

// Integer range of a quantized dtype (u8, i8, u16, i16); false for other types.
inline bool quant_range(DType t, int32_t& lo, int32_t& hi) {
  switch (t) {
    case DType::u8: lo = 0, hi = 255; return true;
    case DType::i8: lo = -128, hi = 127; return true;
    case DType::u16: lo = 0, hi = 65535; return true;
    case DType::i16: lo = -32768, hi = 32767; return true;
    default: return false;
  }
}

// Round half to even for |v| <= 2^22 under the default rounding mode: adding and subtracting
// 1.5 * 2^23 leaves the integer part. Unlike std::nearbyint (a library call without SSE4.1) it
// vectorizes. Callers clamp v first.
inline float round_half_even_small(float v) { return (v + 12582912.0f) - 12582912.0f; }

// ONNX QuantizeLinear's arithmetic: rint(v) (half to even) plus the zero point, saturated to
// [lo, hi]. NaN saturates to lo, like numpy's cast then clip.
inline int32_t quantize_value(float v, int32_t zero_point, int32_t lo, int32_t hi) {
  // Clamping to one past the range first changes no result and keeps |v| small for the rounding.
  const float vlo = static_cast<float>(lo - zero_point - 1), vhi = static_cast<float>(hi - zero_point + 1);
  v = std::max(std::min(v, vhi), vlo);  // NaN stays NaN (and saturates to lo below)
  const float r = round_half_even_small(v) + static_cast<float>(zero_point);
  if (!(r > static_cast<float>(lo))) return lo;
  if (r >= static_cast<float>(hi)) return hi;
  return static_cast<int32_t>(r);
}

// Reads element i of a tensor of u8/i8/u16/i16/i32 as int32 (the caller checked the dtype).
inline int32_t int_at(const TensorView& t, int64_t i) {
  switch (t.dtype()) {
    case DType::u8: return t.data_as<const uint8_t>()[i];
    case DType::i8: return t.data_as<const int8_t>()[i];
    case DType::u16: return t.data_as<const uint16_t>()[i];
    case DType::i16: return t.data_as<const int16_t>()[i];
    case DType::i32: return t.data_as<const int32_t>()[i];
    default: return 0;
  }
}

// Reads element i of a float tensor (f32, f16, bf16, f64) as float.
inline float float_at(const TensorView& t, int64_t i) {
  switch (t.dtype()) {
    case DType::f32: return t.data_as<const float>()[i];
    case DType::f16: return f16_to_f32(t.data_as<const uint16_t>()[i]);
    case DType::bf16: return bf16_to_f32(t.data_as<const uint16_t>()[i]);
    case DType::f64: return static_cast<float>(t.data_as<const double>()[i]);
    default: return 0.0f;
  }
}

inline bool is_float_dtype(DType t) {
  return t == DType::f32 || t == DType::f16 || t == DType::bf16 || t == DType::f64;
}

// How QuantizeLinear/DequantizeLinear parameters map onto x, viewed as [outer, D, inner] around
// `axis`: one value, one per index along the axis, or one per block of `block` indices along it.
struct QuantParamLayout {
  enum class Kind { tensor, axis, blocked } kind = Kind::tensor;
  int64_t outer = 1, D = 1, inner = 1, block = 0, blocks = 1;

  // Index into the parameter tensors of x's element (o, d, i).
  int64_t index(int64_t o, int64_t d, int64_t i) const {
    switch (kind) {
      case Kind::tensor: return 0;
      case Kind::axis: return d;
      case Kind::blocked: return (o * blocks + d / block) * inner + i;
    }
    return 0;
  }
};

// Works out the layout from x's shape, the scale's shape, `axis` and `block_size` (0: none), as ONNX
// opsets 10 to 21 define them. Errors name the node.
inline Result<QuantParamLayout> quant_param_layout(const graph::Node& node, const Shape& x, const Shape& scale,
                                                   int64_t axis, int64_t block_size) {
  QuantParamLayout l;
  const int64_t n = scale.numel();
  if (block_size <= 0 && (scale.rank() == 0 || (scale.rank() == 1 && n == 1))) {  // per-tensor
    l.inner = x.numel();
    return l;
  }
  if (x.rank() == 0)
    return node_error(StatusCode::invalid_argument, node, "a scalar input needs a scalar scale, found ",
                      scale.to_string());
  if (axis < -x.rank() || axis >= x.rank())
    return node_error(StatusCode::invalid_argument, node, "axis ", axis, " is out of range for rank ", x.rank());
  if (axis < 0) axis += x.rank();
  for (int d = 0; d < axis; ++d) l.outer *= x[d];
  l.D = x[static_cast<int>(axis)];
  for (int d = static_cast<int>(axis) + 1; d < x.rank(); ++d) l.inner *= x[d];
  if (block_size <= 0) {
    if (scale.rank() != 1 || n != l.D)
      return node_error(StatusCode::invalid_argument, node, "a per-axis scale must be 1-D with ", l.D,
                        " elements (axis ", axis, " of ", x.to_string(), "), found ", scale.to_string());
    l.kind = QuantParamLayout::Kind::axis;
    return l;
  }
  l.kind = QuantParamLayout::Kind::blocked;
  l.block = block_size;
  l.blocks = (l.D + block_size - 1) / block_size;
  bool ok = scale.rank() == x.rank();
  for (int d = 0; ok && d < x.rank(); ++d) ok = scale[d] == (d == axis ? l.blocks : x[d]);
  if (!ok)
    return node_error(StatusCode::invalid_argument, node, "a blocked scale (block_size ", block_size,
                      ") for x of shape ", x.to_string(), " must have shape ", x.to_string(), " with dimension ", axis,
                      " = ", l.blocks, ", found ", scale.to_string());
  return l;
}

// A float scale or scales of one value, or `per` values, as float.
inline Result<std::vector<float>> read_float_param(const graph::Node& node, const TensorView& t, int64_t per,
                                                   const char* what) {
  if (!is_float_dtype(t.dtype()))
    return node_error(StatusCode::invalid_argument, node, what, " must be a float tensor, found ", dtype_name(t.dtype()));
  if (t.numel() != 1 && t.numel() != per)
    return node_error(StatusCode::invalid_argument, node, what, " must have 1 or ", per, " elements, found shape ",
                      t.shape().to_string());
  std::vector<float> r(static_cast<size_t>(t.numel()));
  for (size_t i = 0; i < r.size(); ++i) r[i] = float_at(t, static_cast<int64_t>(i));
  return r;
}

// An integer zero point of dtype `want` with one value or `per` values; absent: {0}.
inline Result<std::vector<int32_t>> read_int_param(const graph::Node& node, const backend::KernelContext& ctx, int i,
                                                   DType want, int64_t per, const char* what) {
  if (ctx.input_count() <= i || !ctx.has_input(i)) return std::vector<int32_t>{0};
  const TensorView& z = ctx.input(i);
  if (z.dtype() != want)
    return node_error(StatusCode::invalid_argument, node, what, " must be ", dtype_name(want), ", found ",
                      dtype_name(z.dtype()));
  if (z.numel() != 1 && z.numel() != per)
    return node_error(StatusCode::invalid_argument, node, what, " must have 1 or ", per, " elements, found shape ",
                      z.shape().to_string());
  std::vector<int32_t> r(static_cast<size_t>(z.numel()));
  for (size_t k = 0; k < r.size(); ++k) r[k] = int_at(z, static_cast<int64_t>(k));
  return r;
}

// DynamicQuantizeLinear's parameters for values in [lo, hi] (the ONNX reference, in float32):
// the range is widened to include 0, scale = (max - min) / 255 (1/255 when max == min), and the zero
// point is rint(clamp(-min / scale, 0, 255)).
inline void dynamic_uint8_params(float lo, float hi, float& scale, uint8_t& zero_point) {
  const float mx = std::max(0.0f, hi), mn = std::min(0.0f, lo);
  scale = (mx == mn ? 1.0f : mx - mn) / 255.0f;
  const float zp = std::min(255.0f, std::max(0.0f, 0.0f - mn / scale));
  zero_point = static_cast<uint8_t>(std::nearbyint(zp));
}

// Minimum and maximum of n floats (NaN ignored; 0, 0 for n == 0), using all threads for large n.
void minmax_f32(const float* x, int64_t n, float& lo, float& hi);

// y[i] = saturate(rint(x[i] / scale) + zero_point) to uint8, using all threads for large n.
void quantize_u8_f32(const float* x, int64_t n, float scale, uint8_t zero_point, uint8_t* y);

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
