// CPU kernels: GlobalAveragePool, GlobalMaxPool, GlobalLpPool, MaxUnpool and MaxRoiPool.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "obol/kernels/cpu.hpp"
#include "pool_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

namespace {

enum class GlobalKind : uint8_t { avg, max, lp };

#define OBOL_POOL_NUMERIC_TYPES float, double, F16, BF16, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t

// Reduces each of `planes` contiguous runs of n elements to one value.
template <GlobalKind K, class T>
void global_pool_planes(float p, const T* x, T* y, int64_t n, int64_t p0, int64_t p1) {
  using C = CalcOf<T>;
  using A = std::conditional_t<std::is_floating_point_v<C>, AccOf<T>, C>;
  for (int64_t pl = p0; pl < p1; ++pl) {
    const T* xp = x + pl * n;
    if constexpr (K == GlobalKind::max) {
      C best = std::numeric_limits<C>::has_infinity ? -std::numeric_limits<C>::infinity() : std::numeric_limits<C>::lowest();
      for (int64_t i = 0; i < n; ++i) {
        const C v = load_elem(xp[i]);
        if (v > best || v != v) best = v;
        if (best != best) break;
      }
      y[pl] = store_elem<T>(best);
    } else {
      A sum = 0;
      for (int64_t i = 0; i < n; ++i) {
        const A v = static_cast<A>(load_elem(xp[i]));
        if constexpr (K == GlobalKind::avg) sum += v;
        else sum += p == 2.0f ? v * v : static_cast<A>(std::pow(std::abs(v), static_cast<A>(p)));
      }
      if constexpr (K == GlobalKind::avg)
        y[pl] = store_elem<T>(n > 0 ? sum / static_cast<A>(n) : std::numeric_limits<A>::quiet_NaN());
      else
        y[pl] = store_elem<T>(p == 2.0f ? std::sqrt(sum) : std::pow(sum, static_cast<A>(1) / static_cast<A>(p)));
    }
  }
}

template <GlobalKind K>
Result<std::unique_ptr<backend::Kernel>> make_global_pool(const graph::Graph& g, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 1, 1, 1));
  const graph::ValueType xt = input_type(g, node, 0);
  if (xt.rank_known && xt.dims.size() < 2)
    return node_error(StatusCode::invalid_argument, node, "input X has rank ", xt.dims.size(),
                      ", expected at least 2 (N, C, spatial axes...)");
  float p = 2.0f;
  if (const graph::Attribute* a = node.find_attribute("p")) {
    if (a->kind == graph::Attribute::Kind::i) p = static_cast<float>(a->i);
    else if (a->kind == graph::Attribute::Kind::f) p = a->f;
    else return node_error(StatusCode::invalid_argument, node, "attribute p must be an int or a float");
    if (!(p > 0.0f)) return node_error(StatusCode::invalid_argument, node, "attribute p must be positive, found ", p);
  }
  return make_kernel([p, node = node_identity(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& x = ctx.input(0);
    if (x.rank() < 2)
      return node_error(StatusCode::invalid_argument, node, "input X has shape ", x.shape().to_string(),
                        ", expected rank 2 or more (N, C, spatial axes...)");
    Shape out = x.shape();
    for (int i = 2; i < out.rank(); ++i) out[i] = 1;
    OBOL_ASSIGN_OR_RETURN(const TensorView y, ctx.output(0, x.dtype(), out));
    const int64_t planes = x.shape()[0] * x.shape()[1];
    const int64_t n = x.shape().numel_range(2, x.rank());
    const int64_t grain = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, n));
    if (x.dtype() == DType::f32 && K != GlobalKind::lp) {
      const kernels::KernelTable& kt = kernels::cpu_kernels();
      const float* px = x.data_as<const float>();
      float* py = y.data_as<float>();
      const kernels::ReduceOp op = K == GlobalKind::avg ? kernels::ReduceOp::mean : kernels::ReduceOp::max;
      parallel_for_range(planes, grain, [&](int64_t p0, int64_t p1) {
        kt.reduce_f32(op, px + p0 * n, p1 - p0, n, 1, py + p0);
      });
      return Status::ok();
    }
    auto run = [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.data_as<const T>();
      T* py = y.data_as<T>();
      parallel_for_range(planes, grain, [&](int64_t p0, int64_t p1) { global_pool_planes<K, T>(p, px, py, n, p0, p1); });
      return Status::ok();
    };
    if constexpr (K == GlobalKind::max) return dispatch_node_dtype<OBOL_POOL_NUMERIC_TYPES>(node, x.dtype(), run);
    else return dispatch_node_dtype<OBOL_CPU_FLOAT_TYPES, F16, BF16>(node, x.dtype(), run);
  });
}

Result<std::unique_ptr<backend::Kernel>> make_max_unpool_impl(const graph::Graph& g, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 3, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const PoolAttrs attrs, read_pool_attrs(g, node));
  return make_kernel([attrs, node = node_identity(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& x = ctx.input(0);
    const TensorView& ind = ctx.input(1);
    const int k = static_cast<int>(attrs.kernel.size());
    if (x.rank() != k + 2)
      return node_error(StatusCode::invalid_argument, node, "input X has shape ", x.shape().to_string(), ", expected rank ",
                        k + 2, " (N, C and ", k, " spatial axes of kernel_shape)");
    if (ind.shape() != x.shape())
      return node_error(StatusCode::invalid_argument, node, "input I has shape ", ind.shape().to_string(),
                        ", expected X's shape ", x.shape().to_string());
    if (ind.dtype() != DType::i64 && ind.dtype() != DType::i32)
      return node_error(StatusCode::invalid_argument, node, "input I must be int64, found ", dtype_name(ind.dtype()));
    const int64_t count = ind.numel();
    auto index_at = [&ind](int64_t e) -> int64_t {
      return ind.dtype() == DType::i64 ? ind.data_as<const int64_t>()[e] : ind.data_as<const int32_t>()[e];
    };
    // Indices address a tensor of the shape MaxPool would have been given.
    Shape inferred = x.shape();
    for (int i = 0; i < k; ++i) {
      const size_t u = static_cast<size_t>(i);
      inferred[2 + i] = (x.shape()[2 + i] - 1) * attrs.strides[u] - (attrs.pads[u] + attrs.pads[u + static_cast<size_t>(k)]) +
                        attrs.kernel[u];
      if (inferred[2 + i] < 0)
        return node_error(StatusCode::invalid_argument, node, "X ", x.shape().to_string(),
                          " with these kernel_shape, strides and pads gives a negative output size");
    }
    Shape out = inferred;
    if (ctx.input_count() > 2 && ctx.has_input(2)) {
      OBOL_ASSIGN_OR_RETURN(const std::vector<int64_t> os, read_ints(ctx.input(2), "MaxUnpool input output_shape"));
      if (static_cast<int>(os.size()) != x.rank())
        return node_error(StatusCode::invalid_argument, node, "output_shape has ", os.size(), " values, expected ", x.rank());
      OBOL_ASSIGN_OR_RETURN(out, Shape::make(os.data(), os.size()));
    }
    const int64_t inferred_n = inferred.numel();
    for (int64_t e = 0; e < count; ++e) {
      const int64_t v = index_at(e);
      if (v < 0 || v >= inferred_n)
        return node_error(StatusCode::out_of_range, node, "index ", v, " in I is outside [0, ", inferred_n,
                          ") for the unpooled shape ", inferred.to_string());
    }
    const bool same = out == inferred;
    if (!same) {
      // Only the corner of `out` that the unpooled shape covers is written.
      for (int64_t e = 0; e < count; ++e) {
        const int64_t v = index_at(e);
        int64_t rem = v;
        for (int d = inferred.rank() - 1; d >= 0; --d) {
          if (rem % inferred[d] >= out[d])
            return node_error(StatusCode::out_of_range, node, "index ", v, " in I falls outside output_shape ",
                              out.to_string());
          rem /= inferred[d];
        }
      }
    }
    OBOL_ASSIGN_OR_RETURN(const TensorView y, ctx.output(0, x.dtype(), out));
    if (y.nbytes()) std::memset(y.data(), 0, y.nbytes());
    return dispatch_node_dtype<OBOL_POOL_NUMERIC_TYPES>(node, x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.data_as<const T>();
      T* py = y.data_as<T>();
      int64_t out_strides[Shape::kMaxRank];
      contiguous_strides(out, out_strides);
      for (int64_t e = 0; e < count; ++e) {
        int64_t o = index_at(e);
        if (!same) {
          int64_t rem = o;
          o = 0;
          for (int d = inferred.rank() - 1; d >= 0; --d) {
            o += (rem % inferred[d]) * out_strides[d];
            rem /= inferred[d];
          }
        }
        py[o] = px[e];
      }
      return Status::ok();
    });
  });
}

Result<std::unique_ptr<backend::Kernel>> make_max_roi_pool_impl(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 2, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const std::vector<int64_t> pooled, node.attr_ints("pooled_shape"));
  if (pooled.size() != 2 || pooled[0] < 1 || pooled[1] < 1)
    return node_error(StatusCode::invalid_argument, node, "attribute pooled_shape must hold two positive sizes");
  OBOL_ASSIGN_OR_RETURN(const float scale, node.attr_float("spatial_scale", 1.0f));
  const int64_t PH = pooled[0], PW = pooled[1];
  return make_kernel([PH, PW, scale, node = node_identity(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& x = ctx.input(0);
    const TensorView& rois = ctx.input(1);
    if (x.rank() != 4)
      return node_error(StatusCode::invalid_argument, node, "input X has shape ", x.shape().to_string(),
                        ", expected rank 4 (N, C, H, W)");
    if (rois.rank() != 2 || rois.shape()[1] != 5)
      return node_error(StatusCode::invalid_argument, node, "input rois has shape ", rois.shape().to_string(),
                        ", expected [num_rois, 5]");
    const int64_t N = x.shape()[0], C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
    const int64_t R = rois.shape()[0];
    OBOL_ASSIGN_OR_RETURN(void* mem, ctx.scratch(static_cast<size_t>(R * 5) * sizeof(float)));
    float* roi = static_cast<float*>(mem);
    OBOL_RETURN_IF_ERROR(load_floats(rois, roi, "MaxRoiPool"));
    for (int64_t r = 0; r < R; ++r) {
      const float b = roi[r * 5];
      if (!(b >= 0.0f && b < static_cast<float>(N)))
        return node_error(StatusCode::out_of_range, node, "roi ", r, " has batch index ", b, ", expected [0, ", N, ")");
      for (int i = 1; i < 5; ++i)
        if (!(std::abs(roi[r * 5 + i] * scale) < 1e9f))
          return node_error(StatusCode::invalid_argument, node, "roi ", r, " has coordinate ", roi[r * 5 + i],
                            ", expected a finite value within the image scale");
    }
    OBOL_ASSIGN_OR_RETURN(const TensorView y, ctx.output(0, x.dtype(), Shape{R, C, PH, PW}));
    return dispatch_node_dtype<OBOL_CPU_FLOAT_TYPES, F16, BF16>(node, x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      using A = CalcOf<T>;
      const T* px = x.data_as<const T>();
      T* py = y.data_as<T>();
      parallel_for(R * C, [&](int64_t rc) {
        const int64_t r = rc / C, c = rc % C;
        const float* q = roi + r * 5;
        const int64_t batch = static_cast<int64_t>(q[0]);
        const int64_t x0 = static_cast<int64_t>(std::round(q[1] * scale));
        const int64_t y0 = static_cast<int64_t>(std::round(q[2] * scale));
        const int64_t x1 = static_cast<int64_t>(std::round(q[3] * scale));
        const int64_t y1 = static_cast<int64_t>(std::round(q[4] * scale));
        const float bin_h = static_cast<float>(std::max<int64_t>(y1 - y0 + 1, 1)) / static_cast<float>(PH);
        const float bin_w = static_cast<float>(std::max<int64_t>(x1 - x0 + 1, 1)) / static_cast<float>(PW);
        const T* plane = px + (batch * C + c) * H * W;
        T* out = py + rc * PH * PW;
        for (int64_t ph = 0; ph < PH; ++ph) {
          const int64_t hs = std::clamp<int64_t>(static_cast<int64_t>(std::floor(ph * bin_h)) + y0, 0, H);
          const int64_t he = std::clamp<int64_t>(static_cast<int64_t>(std::ceil((ph + 1) * bin_h)) + y0, 0, H);
          for (int64_t pw = 0; pw < PW; ++pw) {
            const int64_t ws = std::clamp<int64_t>(static_cast<int64_t>(std::floor(pw * bin_w)) + x0, 0, W);
            const int64_t we = std::clamp<int64_t>(static_cast<int64_t>(std::ceil((pw + 1) * bin_w)) + x0, 0, W);
            A best = 0;
            if (he > hs && we > ws) {
              best = -std::numeric_limits<A>::infinity();
              for (int64_t h = hs; h < he; ++h)
                for (int64_t w = ws; w < we; ++w) best = std::max(best, static_cast<A>(load_elem(plane[h * W + w])));
            }
            out[ph * PW + pw] = store_elem<T>(best);
          }
        }
      });
      return Status::ok();
    });
  });
}

}  // namespace

Result<std::unique_ptr<backend::Kernel>> make_global_average_pool(const graph::Graph& g, const graph::Node& node) {
  return make_global_pool<GlobalKind::avg>(g, node);
}
Result<std::unique_ptr<backend::Kernel>> make_global_max_pool(const graph::Graph& g, const graph::Node& node) {
  return make_global_pool<GlobalKind::max>(g, node);
}
Result<std::unique_ptr<backend::Kernel>> make_global_lp_pool(const graph::Graph& g, const graph::Node& node) {
  return make_global_pool<GlobalKind::lp>(g, node);
}
Result<std::unique_ptr<backend::Kernel>> make_max_unpool(const graph::Graph& g, const graph::Node& node) {
  return make_max_unpool_impl(g, node);
}
Result<std::unique_ptr<backend::Kernel>> make_max_roi_pool(const graph::Graph& g, const graph::Node& node) {
  return make_max_roi_pool_impl(g, node);
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
