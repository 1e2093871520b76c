// Helpers shared by the reduce family's kernels (reduce*.cpp): scalar conversions for the generic
// loops and axis checks that name the node.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "common.hpp"
#include "obol/core/dtype.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

// The type generic loops compute in: float for the half types, the type itself otherwise.
template <class T>
struct ComputeType {
  using type = T;
};
template <>
struct ComputeType<F16> {
  using type = float;
};
template <>
struct ComputeType<BF16> {
  using type = float;
};
template <class T>
using compute_t = typename ComputeType<T>::type;

template <class T>
inline compute_t<T> load_value(T v) noexcept {
  if constexpr (std::is_same_v<T, F16>) return f16_to_f32(v.bits);
  else if constexpr (std::is_same_v<T, BF16>) return bf16_to_f32(v.bits);
  else return v;
}

// The inverse of load_value.
template <class T>
inline T store_compute(compute_t<T> v) noexcept {
  if constexpr (std::is_same_v<T, F16>) return F16{f32_to_f16(v)};
  else if constexpr (std::is_same_v<T, BF16>) return BF16{f32_to_bf16(v)};
  else return v;
}

// a + b, wrapping for signed integers instead of overflowing (undefined behaviour).
template <class V>
inline V wrapping_add(V a, V b) noexcept {
  if constexpr (std::is_integral_v<V> && std::is_signed_v<V>) {
    using U = std::make_unsigned_t<V>;
    return static_cast<V>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
  } else {
    return static_cast<V>(a + b);
  }
}

template <class T>
inline constexpr bool is_real_v = std::is_floating_point_v<T> || std::is_same_v<T, F16> || std::is_same_v<T, BF16>;

// Converts a double to T: rounding for the half types, saturating (NaN to 0) for integers, where a
// plain cast of an out-of-range value would be undefined.
template <class T>
inline T store_value(double v) noexcept {
  if constexpr (std::is_same_v<T, F16>) return F16{f32_to_f16(static_cast<float>(v))};
  else if constexpr (std::is_same_v<T, BF16>) return BF16{f32_to_bf16(static_cast<float>(v))};
  else if constexpr (std::is_floating_point_v<T>) return static_cast<T>(v);
  else if constexpr (std::is_same_v<T, bool>) return v != 0.0;
  else {
    if (v != v) return T{0};
    if (v <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  }
}

// The op, name and opset of a node, without its attributes and edges: what a kernel keeps to name the
// node in errors at run time.
inline graph::Node node_label(const graph::Node& n) {
  graph::Node l;
  l.op = n.op;
  l.name = n.name;
  l.opset = n.opset;
  return l;
}

template <class V>
inline bool is_nan_value(V v) noexcept {
  if constexpr (std::is_floating_point_v<V>) return v != v;
  else return false;
}

// Normalises `axis` for a tensor of rank `rank`: [-rank, rank) (or [-rank, rank] with
// allow_end, for axes that may point one past the last dimension).
inline Result<int> node_axis(const graph::Node& node, int64_t axis, int rank, const char* what = "axis",
                             bool allow_end = false) {
  const int64_t hi = allow_end ? rank : rank - 1;
  if (axis < -rank || axis > hi)
    return node_error(StatusCode::out_of_range, node, what, " ", axis, " is out of range for an input of rank ", rank,
                      " (expected ", -rank, " <= ", what, " <= ", hi, ")");
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

// Reads a scalar integer input (rank 0, or one element) such as CumSum's axis or TopK's k.
inline Result<int64_t> read_scalar_int(const graph::Node& node, const TensorView& t, const char* what) {
  if (t.dtype() != DType::i64 && t.dtype() != DType::i32)
    return node_error(StatusCode::invalid_argument, node, what, " must be int32 or int64, found ",
                      dtype_name(t.dtype()));
  if (t.numel() != 1 || t.rank() > 1)
    return node_error(StatusCode::invalid_argument, node, what, " must be a scalar or a 1-element 1-D tensor, found shape ",
                      t.shape().to_string());
  return t.dtype() == DType::i64 ? t.data_as<const int64_t>()[0] : int64_t{t.data_as<const int32_t>()[0]};
}

template <class... Ts>
inline bool dtype_in(DType t) noexcept {
  return ((dtype_for<Ts>() == t) || ...);
}

// An unsupported-dtype error for input `what` of `node`.
inline Status dtype_error(const graph::Node& node, const char* what, DType t) {
  return node_error(StatusCode::unsupported, node, what, " has element type ", dtype_name(t), ", which is not supported");
}

// Checks the declared dtype of input i, when the graph knows it, against what the op accepts.
template <class... Ts>
Status check_input_dtype(const graph::Graph& g, const graph::Node& node, int i, const char* what) {
  const DType t = input_type(g, node, i).dtype;
  if (t == DType::invalid) return Status::ok();
  return dtype_in<Ts...>(t) ? Status::ok() : dtype_error(node, what, t);
}

// The family's other registration units (reduce.cpp calls them from register_reduce).
void register_reduce_index(CpuOpRegistry& r);    // ArgMax, ArgMin, TopK, CumSum
void register_reduce_softmax(CpuOpRegistry& r);  // Softmax, LogSoftmax, Hardmax
void register_reduce_loss(CpuOpRegistry& r);     // SoftmaxCrossEntropyLoss, NegativeLogLikelihoodLoss

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
