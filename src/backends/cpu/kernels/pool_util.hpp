// Helpers shared by the pool and normalization kernels: element conversions for the half types,
// pooling attributes and the window geometry they imply for one input shape.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "common.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

// --- Element access ---------------------------------------------------------------------------

template <class T>
inline constexpr bool is_half_v = std::is_same_v<T, F16> || std::is_same_v<T, BF16>;

// The type arithmetic on T is done in: float for the 16-bit floats, T itself otherwise.
template <class T>
using CalcOf = std::conditional_t<is_half_v<T>, float, T>;

// The accumulator for sums of T: double for double, float for every other float type.
template <class T>
using AccOf = std::conditional_t<std::is_same_v<T, double>, double, float>;

template <class T>
inline CalcOf<T> load_elem(T v) noexcept {
  if constexpr (std::is_same_v<T, F16>) return f16_to_f32(v.bits);
  else if constexpr (std::is_same_v<T, BF16>) return bf16_to_f32(v.bits);
  else return v;
}

template <class T, class V>
inline T store_elem(V v) noexcept {
  if constexpr (std::is_same_v<T, F16>) return F16{f32_to_f16(static_cast<float>(v))};
  else if constexpr (std::is_same_v<T, BF16>) return BF16{f32_to_bf16(static_cast<float>(v))};
  else return static_cast<T>(v);
}

// Converts `n` elements of a real tensor of any float dtype (f32, f64, f16, bf16) to A.
template <class A>
Status load_floats(const TensorView& t, A* dst, const char* op) {
  const int64_t n = t.numel();
  return dispatch_dtype<float, double, F16, BF16>(t.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* p = t.data_as<const T>();
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<A>(load_elem(p[i]));
    return Status::ok();
  });
}

// The op and name of a node, all that run-time error messages need (kernels keep this copy).
inline graph::Node node_identity(const graph::Node& node) {
  graph::Node id;
  id.op = node.op;
  id.name = node.name;
  return id;
}

// dispatch_dtype with an error that names the node.
template <class... Ts, class F>
Status dispatch_node_dtype(const graph::Node& node, DType t, F&& f) {
  if (!((dtype_for<Ts>() == t) || ...))
    return node_error(StatusCode::unsupported, node, "element type ", dtype_name(t), " is not supported");
  return dispatch_dtype<Ts...>(t, "cpu", std::forward<F>(f));
}

// Floor division for a positive divisor.
inline int64_t floor_div(int64_t a, int64_t b) noexcept { return a >= 0 ? a / b : -((-a + b - 1) / b); }
inline int64_t ceil_div(int64_t a, int64_t b) noexcept { return -floor_div(-a, b); }

// --- Pooling attributes and geometry ----------------------------------------------------------

enum class AutoPad : uint8_t { notset, same_upper, same_lower, valid };

struct PoolAttrs {
  std::vector<int64_t> kernel;     // one per spatial axis
  std::vector<int64_t> strides;    // one per spatial axis
  std::vector<int64_t> dilations;  // one per spatial axis
  std::vector<int64_t> pads;       // begins then ends
  AutoPad auto_pad = AutoPad::notset;
  bool ceil_mode = false;
  bool count_include_pad = false;
  int storage_order = 0;
  float p = 2.0f;
};

// Reads kernel_shape, strides, dilations, pads, auto_pad and ceil_mode (plus count_include_pad,
// storage_order and p, used by some ops) and checks them against each other and, when known, the
// input's rank.
Result<PoolAttrs> read_pool_attrs(const graph::Graph& g, const graph::Node& node);

// Pooling spatial axes are folded into three (depth, height, width): leading ones get size 1, so
// 1-D, 2-D and 3-D pools share one loop nest.
inline constexpr int kPoolDims = 3;

struct PoolGeometry {
  int64_t planes = 0;  // N * C
  int spatial = 0;     // the op's own number of spatial axes
  int64_t in[kPoolDims] = {1, 1, 1};
  int64_t out[kPoolDims] = {1, 1, 1};
  int64_t kernel[kPoolDims] = {1, 1, 1};
  int64_t stride[kPoolDims] = {1, 1, 1};
  int64_t dilation[kPoolDims] = {1, 1, 1};
  int64_t pad_begin[kPoolDims] = {0, 0, 0};
  int64_t pad_end[kPoolDims] = {0, 0, 0};
  Shape out_shape;

  int64_t in_plane() const noexcept { return in[0] * in[1] * in[2]; }
  int64_t out_plane() const noexcept { return out[0] * out[1] * out[2]; }
  int64_t window() const noexcept { return kernel[0] * kernel[1] * kernel[2]; }
};

// Output size and padding of each spatial axis for input shape `x` (N, C, spatial...).
Result<PoolGeometry> pool_geometry(const graph::Node& node, const PoolAttrs& a, const Shape& x);

// Taps k in [0, kernel) with lo <= start + k * dilation < hi.
inline int64_t taps_within(int64_t start, int64_t kernel, int64_t dilation, int64_t lo, int64_t hi) noexcept {
  const int64_t k0 = start >= lo ? 0 : ceil_div(lo - start, dilation);
  const int64_t k1 = start + (kernel - 1) * dilation < hi ? kernel - 1 : floor_div(hi - 1 - start, dilation);
  return k1 >= k0 ? k1 - k0 + 1 : 0;
}

// Factories defined in pool_global.cpp.
Result<std::unique_ptr<backend::Kernel>> make_global_average_pool(const graph::Graph& g, const graph::Node& node);
Result<std::unique_ptr<backend::Kernel>> make_global_max_pool(const graph::Graph& g, const graph::Node& node);
Result<std::unique_ptr<backend::Kernel>> make_global_lp_pool(const graph::Graph& g, const graph::Node& node);
Result<std::unique_ptr<backend::Kernel>> make_max_unpool(const graph::Graph& g, const graph::Node& node);
Result<std::unique_ptr<backend::Kernel>> make_max_roi_pool(const graph::Graph& g, const graph::Node& node);

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
