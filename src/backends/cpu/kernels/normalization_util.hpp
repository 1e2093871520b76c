// Helpers shared by the normalization kernels (normalization.cpp, normalization_layer.cpp).
#pragma once

#include "pool_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

#define OBOL_NORM_TYPES float, double, F16, BF16

// Writes n values of `src` into a real tensor of any float dtype (f32, f64, f16, bf16).
template <class A>
Status store_floats(const TensorView& t, const A* src, const graph::Node& node) {
  const int64_t n = t.numel();
  return dispatch_node_dtype<OBOL_NORM_TYPES>(node, t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data_as<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = store_elem<T>(src[i]);
    return Status::ok();
  });
}

// Reads a per-element parameter (LayerNormalization's Scale or B) as `n` values of A for the
// trailing shape `target`: `p` must have n elements or broadcast (numpy rules) to `target`. dst
// holds n + p.numel() entries (the tail is working space).
template <class A>
Status expand_param(const TensorView& p, const Shape& target, A* dst, const graph::Node& node, const char* what) {
  const int64_t n = target.numel();
  if (p.numel() == n) return load_floats(p, dst, what);
  const int r = target.rank();
  bool ok = p.rank() <= r;
  for (int i = 0; ok && i < p.rank(); ++i) {
    const int64_t d = p.shape()[i], t = target[r - p.rank() + i];
    ok = d == t || d == 1;
  }
  if (!ok)
    return node_error(StatusCode::invalid_argument, node, "input ", what, " has shape ", p.shape().to_string(),
                      ", expected it to broadcast to ", target.to_string());
  // Strides of p seen with target's rank; broadcast axes get stride 0.
  int64_t ps[Shape::kMaxRank] = {};
  int64_t s = 1;
  for (int i = p.rank() - 1; i >= 0; --i) {
    ps[r - p.rank() + i] = p.shape()[i] == 1 ? 0 : s;
    s *= p.shape()[i];
  }
  A* src = dst + n;  // the caller provides n + p.numel() entries
  OBOL_RETURN_IF_ERROR(load_floats(p, src, what));
  int64_t idx[Shape::kMaxRank] = {};
  for (int64_t e = 0; e < n; ++e) {
    int64_t off = 0;
    for (int i = 0; i < r; ++i) off += idx[i] * ps[i];
    dst[e] = src[off];
    for (int i = r - 1; i >= 0; --i) {
      if (++idx[i] < target[i]) break;
      idx[i] = 0;
    }
  }
  return Status::ok();
}

// Factories defined in normalization_layer.cpp.
Result<std::unique_ptr<backend::Kernel>> make_layer_norm(const graph::Graph& g, const graph::Node& node);
Result<std::unique_ptr<backend::Kernel>> make_mean_variance_norm(const graph::Graph& g, const graph::Node& node);

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
