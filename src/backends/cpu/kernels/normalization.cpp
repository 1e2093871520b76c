// CPU kernels: normalization operators (BatchNormalization, InstanceNormalization, LpNormalization,
// LRN here; LayerNormalization and MeanVarianceNormalization in normalization_layer.cpp).
#include <algorithm>
#include <cmath>

#include "normalization_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

namespace {

// Inputs of the per-channel ops must give one value per channel.
Status check_per_channel(const graph::Node& node, const TensorView& t, const char* what, int64_t want) {
  if (t.numel() != want)
    return node_error(StatusCode::invalid_argument, node, "input ", what, " has shape ", t.shape().to_string(),
                      ", expected ", want, " values (one per channel)");
  return Status::ok();
}

// --- BatchNormalization -------------------------------------------------------------------------

struct BatchNormAttrs {
  float epsilon = 1e-5f;
  float momentum = 0.9f;
  bool training = false;
  bool spatial = true;
};

// y = x * a[c] + b[c] over planes [p0, p1) of `inner` elements; the channel of plane p is p % C.
template <class T, class A>
void scale_shift_planes(const T* x, T* y, const A* a, const A* b, int64_t C, int64_t inner, int64_t p0, int64_t p1) {
  for (int64_t p = p0; p < p1; ++p) {
    const A s = a[p % C], t = b[p % C];
    const T* xp = x + p * inner;
    T* yp = y + p * inner;
    for (int64_t i = 0; i < inner; ++i) yp[i] = store_elem<T>(static_cast<A>(load_elem(xp[i])) * s + t);
  }
}

Result<std::unique_ptr<backend::Kernel>> make_batch_norm(const graph::Graph& g, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 5, 5, 1, 5));
  BatchNormAttrs at;
  OBOL_ASSIGN_OR_RETURN(at.epsilon, node.attr_float("epsilon", 1e-5f));
  OBOL_ASSIGN_OR_RETURN(at.momentum, node.attr_float("momentum", 0.9f));
  OBOL_ASSIGN_OR_RETURN(const int64_t spatial, node.attr_int("spatial", 1));
  at.spatial = spatial != 0 || node.opset >= 9;
  int outputs = 0;
  for (graph::ValueId v : node.outputs) outputs += v != graph::kNoValue;
  if (node.opset >= 14) {
    OBOL_ASSIGN_OR_RETURN(const int64_t training_mode, node.attr_int("training_mode", 0));
    at.training = training_mode != 0;
    if (!at.training && outputs > 1)
      return node_error(StatusCode::invalid_argument, node, "running_mean and running_var are outputs only with training_mode=1");
    if (node.outputs.size() > 3)
      return node_error(StatusCode::invalid_argument, node, "expected at most 3 outputs, found ", node.outputs.size());
  } else if (outputs > 1) {
    return node_error(StatusCode::unsupported, node, "training outputs (mean, var, saved_mean, saved_var) of opset ",
                      node.opset, " are not supported; only inference with one output is");
  }
  const graph::ValueType xt = input_type(g, node, 0);
  if (xt.rank_known && xt.dims.size() < 2)
    return node_error(StatusCode::invalid_argument, node, "input X has rank ", xt.dims.size(), ", expected at least 2 (N, C, ...)");

  return make_kernel([at, node = node_identity(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& x = ctx.input(0);
    if (x.rank() < 2)
      return node_error(StatusCode::invalid_argument, node, "input X has shape ", x.shape().to_string(),
                        ", expected rank 2 or more (N, C, ...)");
    const int64_t N = x.shape()[0];
    const int64_t spatial = x.shape().numel_range(2, x.rank());
    // Without `spatial` (opsets before 9) every element of a sample has its own statistics.
    const int64_t C = at.spatial ? x.shape()[1] : x.shape()[1] * spatial;
    const int64_t inner = at.spatial ? spatial : 1;
    const char* names[] = {"X", "scale", "B", "input_mean", "input_var"};
    for (int i = 1; i < 5; ++i) OBOL_RETURN_IF_ERROR(check_per_channel(node, ctx.input(i), names[i], C));
    OBOL_ASSIGN_OR_RETURN(const TensorView y, ctx.output(0, x.dtype(), x.shape()));
    return dispatch_node_dtype<OBOL_NORM_TYPES>(node, x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      using A = AccOf<T>;
      OBOL_ASSIGN_OR_RETURN(void* mem, ctx.scratch(static_cast<size_t>(C) * 6 * sizeof(A)));
      A* scale = static_cast<A*>(mem);
      A* bias = scale + C;
      A* mean = bias + C;
      A* var = mean + C;
      A* a = var + C;
      A* b = a + C;
      OBOL_RETURN_IF_ERROR(load_floats(ctx.input(1), scale, "BatchNormalization scale"));
      OBOL_RETURN_IF_ERROR(load_floats(ctx.input(2), bias, "BatchNormalization B"));
      OBOL_RETURN_IF_ERROR(load_floats(ctx.input(3), mean, "BatchNormalization input_mean"));
      OBOL_RETURN_IF_ERROR(load_floats(ctx.input(4), var, "BatchNormalization input_var"));
      const T* px = x.data_as<const T>();
      if (at.training) {
        // Batch statistics (population variance) normalise Y and update the running ones.
        const int64_t count = N * inner;
        parallel_for(C, [&](int64_t c) {
          double s = 0, ss = 0;
          for (int64_t n = 0; n < N; ++n)
            for (int64_t i = 0; i < inner; ++i) s += static_cast<double>(load_elem(px[(n * C + c) * inner + i]));
          const double m = count > 0 ? s / static_cast<double>(count) : 0.0;
          for (int64_t n = 0; n < N; ++n)
            for (int64_t i = 0; i < inner; ++i) {
              const double d = static_cast<double>(load_elem(px[(n * C + c) * inner + i])) - m;
              ss += d * d;
            }
          const double v = count > 0 ? ss / static_cast<double>(count) : 0.0;
          const double inv = 1.0 / std::sqrt(v + static_cast<double>(at.epsilon));
          a[c] = static_cast<A>(static_cast<double>(scale[c]) * inv);
          b[c] = static_cast<A>(static_cast<double>(bias[c]) - m * static_cast<double>(scale[c]) * inv);
          const double mom = static_cast<double>(at.momentum);
          mean[c] = static_cast<A>(static_cast<double>(mean[c]) * mom + m * (1.0 - mom));
          var[c] = static_cast<A>(static_cast<double>(var[c]) * mom + v * (1.0 - mom));
        });
        for (int i = 1; i < 3; ++i) {
          if (ctx.output_count() <= i || !ctx.has_output(i)) continue;
          const TensorView& like = ctx.input(2 + i);
          OBOL_ASSIGN_OR_RETURN(const TensorView out, ctx.output(i, like.dtype(), like.shape()));
          OBOL_RETURN_IF_ERROR(store_floats(out, i == 1 ? mean : var, node));
        }
      } else {
        for (int64_t c = 0; c < C; ++c) {
          a[c] = scale[c] / std::sqrt(var[c] + static_cast<A>(at.epsilon));
          b[c] = bias[c] - mean[c] * a[c];
        }
      }
      T* py = y.data_as<T>();
      parallel_for_range(N * C, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, inner)),
                         [&](int64_t p0, int64_t p1) { scale_shift_planes<T, A>(px, py, a, b, C, inner, p0, p1); });
      return Status::ok();
    });
  });
}

// --- InstanceNormalization ----------------------------------------------------------------------

Result<std::unique_ptr<backend::Kernel>> make_instance_norm(const graph::Graph& g, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 3, 3, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const float eps, node.attr_float("epsilon", 1e-5f));
  const graph::ValueType xt = input_type(g, node, 0);
  if (xt.rank_known && xt.dims.size() < 3)
    return node_error(StatusCode::invalid_argument, node, "input X has rank ", xt.dims.size(),
                      ", expected at least 3 (N, C, spatial axes...)");
  return make_kernel([eps, node = node_identity(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& x = ctx.input(0);
    if (x.rank() < 3)
      return node_error(StatusCode::invalid_argument, node, "input X has shape ", x.shape().to_string(),
                        ", expected rank 3 or more (N, C, spatial axes...)");
    const int64_t C = x.shape()[1];
    const int64_t planes = x.shape()[0] * C;
    const int64_t inner = x.shape().numel_range(2, x.rank());
    OBOL_RETURN_IF_ERROR(check_per_channel(node, ctx.input(1), "scale", C));
    OBOL_RETURN_IF_ERROR(check_per_channel(node, ctx.input(2), "B", C));
    OBOL_ASSIGN_OR_RETURN(const TensorView y, ctx.output(0, x.dtype(), x.shape()));
    return dispatch_node_dtype<OBOL_NORM_TYPES>(node, x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      using A = AccOf<T>;
      OBOL_ASSIGN_OR_RETURN(void* mem, ctx.scratch(static_cast<size_t>(C * 2 + planes * 2) * sizeof(A)));
      A* scale = static_cast<A*>(mem);
      A* bias = scale + C;
      A* a = bias + C;
      A* b = a + planes;
      OBOL_RETURN_IF_ERROR(load_floats(ctx.input(1), scale, "InstanceNormalization scale"));
      OBOL_RETURN_IF_ERROR(load_floats(ctx.input(2), bias, "InstanceNormalization B"));
      const T* px = x.data_as<const T>();
      T* py = y.data_as<T>();
      parallel_for_range(planes, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, inner)), [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p) {
          const T* xp = px + p * inner;
          double s = 0, ss = 0;
          for (int64_t i = 0; i < inner; ++i) s += static_cast<double>(load_elem(xp[i]));
          const double m = inner > 0 ? s / static_cast<double>(inner) : 0.0;
          for (int64_t i = 0; i < inner; ++i) {
            const double d = static_cast<double>(load_elem(xp[i])) - m;
            ss += d * d;
          }
          const double v = inner > 0 ? ss / static_cast<double>(inner) : 0.0;
          const double k = static_cast<double>(scale[p % C]) / std::sqrt(v + static_cast<double>(eps));
          a[p] = static_cast<A>(k);
          b[p] = static_cast<A>(static_cast<double>(bias[p % C]) - m * k);
        }
        scale_shift_planes<T, A>(px, py, a, b, planes, inner, p0, p1);
      });
      return Status::ok();
    });
  });
}

// --- LpNormalization ----------------------------------------------------------------------------

Result<std::unique_ptr<backend::Kernel>> make_lp_norm(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 1, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const int64_t axis, node.attr_int("axis", -1));
  OBOL_ASSIGN_OR_RETURN(const int64_t p, node.attr_int("p", 2));
  if (p != 1 && p != 2) return node_error(StatusCode::invalid_argument, node, "attribute p must be 1 or 2, found ", p);
  return make_kernel([axis, p, node = node_identity(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& x = ctx.input(0);
    const Result<int> ax = x.shape().normalize_axis(axis);
    if (!ax.is_ok())
      return node_error(StatusCode::invalid_argument, node, "axis ", axis, " is out of range for X of shape ",
                        x.shape().to_string());
    const int64_t outer = x.shape().numel_range(0, *ax);
    const int64_t n = x.shape()[*ax];
    const int64_t inner = x.shape().numel_range(*ax + 1, x.rank());
    OBOL_ASSIGN_OR_RETURN(const TensorView y, ctx.output(0, x.dtype(), x.shape()));
    return dispatch_node_dtype<OBOL_NORM_TYPES>(node, x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      using A = AccOf<T>;
      const T* px = x.data_as<const T>();
      T* py = y.data_as<T>();
      parallel_for_range(outer * inner, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, n)), [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          const int64_t base = (r / inner) * n * inner + r % inner;
          A norm = 0;
          for (int64_t j = 0; j < n; ++j) {
            const A v = static_cast<A>(load_elem(px[base + j * inner]));
            norm += p == 1 ? std::abs(v) : v * v;
          }
          if (p == 2) norm = std::sqrt(norm);
          // A zero vector stays zero instead of becoming 0/0.
          const A inv = norm == A(0) ? A(0) : A(1) / norm;
          for (int64_t j = 0; j < n; ++j)
            py[base + j * inner] = store_elem<T>(static_cast<A>(load_elem(px[base + j * inner])) * inv);
        }
      });
      return Status::ok();
    });
  });
}

// --- LRN ----------------------------------------------------------------------------------------

struct LrnAttrs {
  int64_t size = 0;
  float alpha = 1e-4f, beta = 0.75f, bias = 1.0f;
};

Result<std::unique_ptr<backend::Kernel>> make_lrn(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 1, 1, 1));
  LrnAttrs at;
  OBOL_ASSIGN_OR_RETURN(at.size, node.attr_int("size", 0));
  if (at.size < 1) return node_error(StatusCode::invalid_argument, node, "attribute size must be positive, found ", at.size);
  OBOL_ASSIGN_OR_RETURN(at.alpha, node.attr_float("alpha", 1e-4f));
  OBOL_ASSIGN_OR_RETURN(at.beta, node.attr_float("beta", 0.75f));
  OBOL_ASSIGN_OR_RETURN(at.bias, node.attr_float("bias", 1.0f));
  return make_kernel([at, node = node_identity(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& x = ctx.input(0);
    if (x.rank() < 2)
      return node_error(StatusCode::invalid_argument, node, "input X has shape ", x.shape().to_string(),
                        ", expected rank 2 or more (N, C, ...)");
    const int64_t C = x.shape()[1];
    const int64_t inner = x.shape().numel_range(2, x.rank());
    const int64_t before = (at.size - 1) / 2, after = at.size - 1 - before;
    OBOL_ASSIGN_OR_RETURN(const TensorView y, ctx.output(0, x.dtype(), x.shape()));
    return dispatch_node_dtype<OBOL_NORM_TYPES>(node, x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      using A = AccOf<T>;
      const T* px = x.data_as<const T>();
      T* py = y.data_as<T>();
      const A k = static_cast<A>(at.alpha) / static_cast<A>(at.size);
      const A bias = static_cast<A>(at.bias), beta = static_cast<A>(at.beta);
      parallel_for(x.shape()[0] * C, [&](int64_t p) {
        constexpr int64_t kTile = 256;
        A sq[kTile];
        const int64_t n = p / C, c = p % C;
        const int64_t c0 = std::max<int64_t>(0, c - before), c1 = std::min(C - 1, c + after);
        for (int64_t i0 = 0; i0 < inner; i0 += kTile) {
          const int64_t m = std::min(kTile, inner - i0);
          for (int64_t i = 0; i < m; ++i) sq[i] = 0;
          for (int64_t cc = c0; cc <= c1; ++cc) {
            const T* xp = px + (n * C + cc) * inner + i0;
            for (int64_t i = 0; i < m; ++i) {
              const A v = static_cast<A>(load_elem(xp[i]));
              sq[i] += v * v;
            }
          }
          const T* xp = px + p * inner + i0;
          T* yp = py + p * inner + i0;
          for (int64_t i = 0; i < m; ++i)
            yp[i] = store_elem<T>(static_cast<A>(load_elem(xp[i])) / std::pow(bias + k * sq[i], beta));
        }
      });
      return Status::ok();
    });
  });
}

}  // namespace

void register_normalization(CpuOpRegistry& r) {
  r.add(graph::OpKind::BatchNormalization, &make_batch_norm);
  r.add(graph::OpKind::InstanceNormalization, &make_instance_norm);
  r.add(graph::OpKind::LpNormalization, &make_lp_norm);
  r.add(graph::OpKind::LRN, &make_lrn);
  r.add(graph::OpKind::LayerNormalization, &make_layer_norm);
  r.add(graph::OpKind::MeanVarianceNormalization, &make_mean_variance_norm);
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
