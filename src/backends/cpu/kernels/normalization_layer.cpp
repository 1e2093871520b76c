// CPU kernels: LayerNormalization and MeanVarianceNormalization.
#include <algorithm>
#include <cmath>

#include "normalization_util.hpp"
#include "obol/kernels/tensor_ops.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

namespace {

// --- LayerNormalization -------------------------------------------------------------------------

struct LayerNormAttrs {
  int64_t axis = -1;
  float epsilon = 1e-5f;
  DType stats_dtype = DType::f32;  // Mean and InvStdDev
};

// Normalises rows [r0, r1) of n elements; writes the statistics where mean/inv_std are non-null.
template <class T, class A>
void layer_norm_rows(const T* x, T* y, const A* gamma, const A* beta, A* mean, A* inv_std, int64_t n, float eps,
                     int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) {
    const T* xr = x + r * n;
    T* yr = y + r * n;
    double s = 0, ss = 0;
    for (int64_t i = 0; i < n; ++i) s += static_cast<double>(load_elem(xr[i]));
    const double m = n > 0 ? s / static_cast<double>(n) : 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const double d = static_cast<double>(load_elem(xr[i])) - m;
      ss += d * d;
    }
    const double inv = 1.0 / std::sqrt((n > 0 ? ss / static_cast<double>(n) : 0.0) + static_cast<double>(eps));
    const A am = static_cast<A>(m), ainv = static_cast<A>(inv);
    for (int64_t i = 0; i < n; ++i) {
      A v = (static_cast<A>(load_elem(xr[i])) - am) * ainv * gamma[i];
      if (beta) v += beta[i];
      yr[i] = store_elem<T>(v);
    }
    if (mean) mean[r] = am;
    if (inv_std) inv_std[r] = ainv;
  }
}

Result<std::unique_ptr<backend::Kernel>> make_layer_norm_impl(const graph::Graph& g, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 3, 1, 3));
  LayerNormAttrs at;
  OBOL_ASSIGN_OR_RETURN(at.axis, node.attr_int("axis", -1));
  OBOL_ASSIGN_OR_RETURN(at.epsilon, node.attr_float("epsilon", 1e-5f));
  OBOL_ASSIGN_OR_RETURN(const int64_t stash_type, node.attr_int("stash_type", 1));
  // Statistics are computed in at least float whatever stash_type says; it only picks their dtype
  // when the graph does not declare one.
  at.stats_dtype = stash_type == 11 ? DType::f64 : stash_type == 16 ? DType::bf16 : DType::f32;
  for (size_t i = 1; i < node.outputs.size() && i < 3; ++i) {
    if (node.outputs[i] == graph::kNoValue) continue;
    const DType d = g.value(node.outputs[i]).type.dtype;
    if (d == DType::f32 || d == DType::f64 || d == DType::f16 || d == DType::bf16) at.stats_dtype = d;
  }
  return make_kernel([at, node = node_identity(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& x = ctx.input(0);
    const TensorView& scale = ctx.input(1);
    const bool has_bias = ctx.input_count() > 2 && ctx.has_input(2);
    const Result<int> axr = x.shape().normalize_axis(at.axis);
    if (!axr.is_ok())
      return node_error(StatusCode::invalid_argument, node, "axis ", at.axis, " is out of range for X of shape ",
                        x.shape().to_string());
    const int ax = *axr;
    const int64_t rows = x.shape().numel_range(0, ax);
    const int64_t n = x.shape().numel_range(ax, x.rank());
    Shape norm_shape;
    for (int i = ax; i < x.rank(); ++i) norm_shape.push_back(x.shape()[i]);
    Shape stats_shape = x.shape();
    for (int i = ax; i < x.rank(); ++i) stats_shape[i] = 1;
    const bool want_mean = ctx.output_count() > 1 && ctx.has_output(1);
    const bool want_inv = ctx.output_count() > 2 && ctx.has_output(2);

    OBOL_ASSIGN_OR_RETURN(const TensorView y, ctx.output(0, x.dtype(), x.shape()));
    TensorView mean_out, inv_out;
    if (want_mean) {
      OBOL_ASSIGN_OR_RETURN(mean_out, ctx.output(1, at.stats_dtype, stats_shape));
    }
    if (want_inv) {
      OBOL_ASSIGN_OR_RETURN(inv_out, ctx.output(2, at.stats_dtype, stats_shape));
    }
    const bool exact = scale.numel() == n && (!has_bias || ctx.input(2).numel() == n);
    if (x.dtype() == DType::f32 && !want_mean && !want_inv && exact && scale.dtype() == DType::f32 &&
        (!has_bias || ctx.input(2).dtype() == DType::f32)) {
      const Status st = kernels::layer_norm(x, scale, has_bias ? ctx.input(2) : TensorView(), ax, at.epsilon, y);
      if (!st.is_ok()) return node_error(st.code(), node, st.message());
      return Status::ok();
    }
    return dispatch_node_dtype<OBOL_NORM_TYPES>(node, x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      using A = AccOf<T>;
      const int64_t extra = std::max<int64_t>(scale.numel(), has_bias ? ctx.input(2).numel() : 0);
      const size_t count = static_cast<size_t>(2 * n + extra + 2 * rows);
      OBOL_ASSIGN_OR_RETURN(void* mem, ctx.scratch(count * sizeof(A)));
      A* gamma = static_cast<A*>(mem);
      A* beta = gamma + n;
      A* mean = beta + n + extra;
      A* inv_std = mean + rows;
      OBOL_RETURN_IF_ERROR(expand_param(scale, norm_shape, gamma, node, "Scale"));
      if (has_bias) OBOL_RETURN_IF_ERROR(expand_param(ctx.input(2), norm_shape, beta, node, "B"));
      const T* px = x.data_as<const T>();
      T* py = y.data_as<T>();
      A* pm = want_mean ? mean : nullptr;
      A* pi = want_inv ? inv_std : nullptr;
      const A* pb = has_bias ? beta : nullptr;
      parallel_for_range(rows, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, n)), [&](int64_t r0, int64_t r1) {
        layer_norm_rows<T, A>(px, py, gamma, pb, pm, pi, n, at.epsilon, r0, r1);
      });
      if (want_mean) OBOL_RETURN_IF_ERROR(store_floats(mean_out, mean, node));
      if (want_inv) OBOL_RETURN_IF_ERROR(store_floats(inv_out, inv_std, node));
      return Status::ok();
    });
  });
}

// --- MeanVarianceNormalization ------------------------------------------------------------------

Result<std::unique_ptr<backend::Kernel>> make_mean_variance_norm_impl(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 1, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const std::vector<int64_t> axes, node.attr_ints("axes", {0, 2, 3}));
  if (axes.size() > static_cast<size_t>(Shape::kMaxRank))
    return node_error(StatusCode::invalid_argument, node, "attribute axes has ", axes.size(), " entries, more than any rank");
  return make_kernel([axes, node = node_identity(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& x = ctx.input(0);
    const int r = x.rank();
    bool reduced[Shape::kMaxRank] = {};
    for (int64_t a : axes) {
      const Result<int> ax = x.shape().normalize_axis(a);
      if (!ax.is_ok())
        return node_error(StatusCode::invalid_argument, node, "axis ", a, " is out of range for X of shape ",
                          x.shape().to_string());
      reduced[*ax] = true;
    }
    // Each element belongs to the group given by its indices along the kept axes.
    int64_t gstride[Shape::kMaxRank] = {};
    int64_t groups = 1;
    for (int i = r - 1; i >= 0; --i) {
      if (reduced[i]) continue;
      gstride[i] = groups;
      groups *= x.shape()[i];
    }
    const int64_t total = x.numel();
    const int64_t per_group = groups > 0 ? total / groups : 0;
    OBOL_ASSIGN_OR_RETURN(const TensorView y, ctx.output(0, x.dtype(), x.shape()));
    OBOL_ASSIGN_OR_RETURN(void* mem, ctx.scratch(static_cast<size_t>(groups) * 2 * sizeof(double)));
    double* mean = static_cast<double*>(mem);
    double* scale = mean + groups;
    return dispatch_node_dtype<OBOL_NORM_TYPES>(node, x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      using A = AccOf<T>;
      const T* px = x.data_as<const T>();
      T* py = y.data_as<T>();
      // Walks every element in order, calling f(element, group).
      auto walk = [&](auto&& f) {
        int64_t idx[Shape::kMaxRank] = {};
        int64_t grp = 0;
        for (int64_t e = 0; e < total; ++e) {
          f(e, grp);
          for (int i = r - 1; i >= 0; --i) {
            grp += gstride[i];
            if (++idx[i] < x.shape()[i]) break;
            grp -= gstride[i] * idx[i];
            idx[i] = 0;
          }
        }
      };
      for (int64_t gi = 0; gi < groups; ++gi) mean[gi] = scale[gi] = 0.0;
      walk([&](int64_t e, int64_t grp) { mean[grp] += static_cast<double>(load_elem(px[e])); });
      for (int64_t gi = 0; gi < groups; ++gi) mean[gi] /= static_cast<double>(per_group);
      walk([&](int64_t e, int64_t grp) {
        const double d = static_cast<double>(load_elem(px[e])) - mean[grp];
        scale[grp] += d * d;
      });
      // As the ONNX function: (x - mean) / (sqrt(var) + 1e-9).
      for (int64_t gi = 0; gi < groups; ++gi)
        scale[gi] = 1.0 / (std::sqrt(scale[gi] / static_cast<double>(per_group)) + 1e-9);
      walk([&](int64_t e, int64_t grp) {
        py[e] = store_elem<T>(static_cast<A>((static_cast<double>(load_elem(px[e])) - mean[grp]) * scale[grp]));
      });
      return Status::ok();
    });
  });
}

}  // namespace

Result<std::unique_ptr<backend::Kernel>> make_layer_norm(const graph::Graph& g, const graph::Node& node) {
  return make_layer_norm_impl(g, node);
}
Result<std::unique_ptr<backend::Kernel>> make_mean_variance_norm(const graph::Graph& g, const graph::Node& node) {
  return make_mean_variance_norm_impl(g, node);
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
