// CPU kernels: pooling operators (MaxPool, AveragePool, LpPool here; global pools, MaxUnpool and
// MaxRoiPool in pool_global.cpp).
#include <algorithm>
#include <cmath>
#include <limits>

#include "pool_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

namespace {

enum class PoolKind : uint8_t { max, avg, lp };

// Output positions along the width are computed in tiles, accumulating one kernel tap at a time
// over a contiguous (or strided) input row: the inner loop has no bounds checks and vectorises.
constexpr int64_t kTile = 256;

template <class A>
A max_identity() {
  if constexpr (std::numeric_limits<A>::has_infinity) return -std::numeric_limits<A>::infinity();
  else return std::numeric_limits<A>::lowest();
}

// Max that propagates NaN (as numpy and PyTorch do).
template <class A>
inline A max_nan(A acc, A v) {
  if constexpr (std::is_floating_point_v<A>) return (v > acc || v != v) ? v : acc;
  else return v > acc ? v : acc;
}

struct PoolParams {
  PoolGeometry g;
  bool count_include_pad = false;
  float p = 2.0f;
};

// Pools output rows [r0, r1) of all planes; row r is (plane, od, oh) in row-major order.
template <class T, PoolKind K>
void pool_rows(const T* x, T* y, const PoolParams& pp, int64_t r0, int64_t r1) {
  const PoolGeometry& g = pp.g;
  using A = std::conditional_t<K == PoolKind::max, CalcOf<T>, AccOf<T>>;
  const int64_t D = g.in[0], H = g.in[1], W = g.in[2];
  const int64_t OD = g.out[0], OH = g.out[1], OW = g.out[2];
  const int64_t sw = g.stride[2], dw = g.dilation[2], pbw = g.pad_begin[2];
  const A p = static_cast<A>(pp.p);
  const bool p2 = pp.p == 2.0f, p1 = pp.p == 1.0f;
  // Averaging counts taps inside [lo, hi) of each axis.
  int64_t lo[kPoolDims], hi[kPoolDims];
  for (int i = 0; i < kPoolDims; ++i) {
    lo[i] = pp.count_include_pad ? -g.pad_begin[i] : 0;
    hi[i] = pp.count_include_pad ? g.in[i] + g.pad_end[i] : g.in[i];
  }
  A acc[kTile];
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t plane = r / (OD * OH);
    const int64_t od = (r / OH) % OD, oh = r % OH;
    const T* xp = x + plane * D * H * W;
    T* yrow = y + plane * OD * OH * OW + (od * OH + oh) * OW;
    const int64_t d0 = od * g.stride[0] - g.pad_begin[0];
    const int64_t h0 = oh * g.stride[1] - g.pad_begin[1];
    int64_t count_dh = 1;
    if constexpr (K == PoolKind::avg)
      count_dh = taps_within(d0, g.kernel[0], g.dilation[0], lo[0], hi[0]) *
                 taps_within(h0, g.kernel[1], g.dilation[1], lo[1], hi[1]);
    for (int64_t ow0 = 0; ow0 < OW; ow0 += kTile) {
      const int64_t n = std::min(kTile, OW - ow0);
      const A init = K == PoolKind::max ? max_identity<A>() : A(0);
      for (int64_t i = 0; i < n; ++i) acc[i] = init;
      for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
        // Input column iw = ow * sw + base must lie in [0, W).
        const int64_t base = kw * dw - pbw;
        const int64_t b = std::max(ow0, ceil_div(-base, sw));
        const int64_t e = std::min(ow0 + n, floor_div(W - 1 - base, sw) + 1);
        if (b >= e) continue;
        A* a = acc;
        for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
          const int64_t id = d0 + kd * g.dilation[0];
          if (id < 0 || id >= D) continue;
          for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
            const int64_t ih = h0 + kh * g.dilation[1];
            if (ih < 0 || ih >= H) continue;
            const T* row = xp + (id * H + ih) * W;
            if (sw == 1) {
              for (int64_t ow = b; ow < e; ++ow) {
                const A v = static_cast<A>(load_elem(row[ow + base]));
                A& t = a[ow - ow0];
                if constexpr (K == PoolKind::max) t = max_nan(t, v);
                else if constexpr (K == PoolKind::avg) t += v;
                else t += p2 ? v * v : p1 ? std::abs(v) : std::pow(std::abs(v), p);
              }
            } else {
              for (int64_t ow = b; ow < e; ++ow) {
                const A v = static_cast<A>(load_elem(row[ow * sw + base]));
                A& t = a[ow - ow0];
                if constexpr (K == PoolKind::max) t = max_nan(t, v);
                else if constexpr (K == PoolKind::avg) t += v;
                else t += p2 ? v * v : p1 ? std::abs(v) : std::pow(std::abs(v), p);
              }
            }
          }
        }
      }
      for (int64_t i = 0; i < n; ++i) {
        A v = acc[i];
        if constexpr (K == PoolKind::avg) {
          const int64_t cw = taps_within((ow0 + i) * sw - pbw, g.kernel[2], dw, lo[2], hi[2]);
          const int64_t count = count_dh * cw;
          v = count > 0 ? v / static_cast<A>(count) : A(0);
        } else if constexpr (K == PoolKind::lp) {
          v = p2 ? std::sqrt(v) : p1 ? v : std::pow(v, A(1) / p);
        }
        yrow[ow0 + i] = store_elem<T>(v);
      }
    }
  }
}

// MaxPool with the Indices output: the flat index of the (first) maximum in X, with the spatial
// part in row-major (storage_order 0) or column-major (1) order.
template <class T>
void max_pool_indices_rows(const T* x, T* y, int64_t* ind, const PoolGeometry& g, int storage_order, int64_t r0,
                           int64_t r1) {
  using A = CalcOf<T>;
  const int64_t D = g.in[0], H = g.in[1], W = g.in[2];
  const int64_t OD = g.out[0], OH = g.out[1], OW = g.out[2];
  const int64_t plane_size = D * H * W;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t plane = r / (OD * OH);
    const int64_t od = (r / OH) % OD, oh = r % OH;
    const T* xp = x + plane * plane_size;
    const int64_t o = plane * OD * OH * OW + (od * OH + oh) * OW;
    const int64_t d0 = od * g.stride[0] - g.pad_begin[0];
    const int64_t h0 = oh * g.stride[1] - g.pad_begin[1];
    for (int64_t ow = 0; ow < OW; ++ow) {
      const int64_t w0 = ow * g.stride[2] - g.pad_begin[2];
      A best = max_identity<A>();
      int64_t bd = -1, bh = -1, bw = -1;
      for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
        const int64_t id = d0 + kd * g.dilation[0];
        if (id < 0 || id >= D) continue;
        for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
          const int64_t ih = h0 + kh * g.dilation[1];
          if (ih < 0 || ih >= H) continue;
          const T* row = xp + (id * H + ih) * W;
          for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
            const int64_t iw = w0 + kw * g.dilation[2];
            if (iw < 0 || iw >= W) continue;
            const A v = load_elem(row[iw]);
            bool take = bd < 0 || v > best;
            if constexpr (std::is_floating_point_v<A>) take = take || (v != v && best == best);
            if (take) {
              best = v;
              bd = id;
              bh = ih;
              bw = iw;
            }
          }
        }
      }
      y[o + ow] = store_elem<T>(best);
      if (bd < 0) ind[o + ow] = -1;
      else if (storage_order == 0) ind[o + ow] = plane * plane_size + (bd * H + bh) * W + bw;
      else ind[o + ow] = plane * plane_size + bd + bh * D + bw * D * H;
    }
  }
}

int64_t rows_grain(const PoolGeometry& g) {
  const int64_t work = std::max<int64_t>(1, g.out[2] * g.window());
  return std::max<int64_t>(1, 32768 / work);
}

#define OBOL_POOL_MAX_TYPES float, double, F16, BF16, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t

Result<std::unique_ptr<backend::Kernel>> make_max_pool(const graph::Graph& g, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 1, 1, 2));
  OBOL_ASSIGN_OR_RETURN(const PoolAttrs attrs, read_pool_attrs(g, node));
  return make_kernel([attrs, node = node_identity(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& x = ctx.input(0);
    OBOL_ASSIGN_OR_RETURN(const PoolGeometry geo, pool_geometry(node, attrs, x.shape()));
    OBOL_ASSIGN_OR_RETURN(const TensorView y, ctx.output(0, x.dtype(), geo.out_shape));
    const bool want_indices = ctx.output_count() > 1 && ctx.has_output(1);
    TensorView ind;
    if (want_indices) {
      OBOL_ASSIGN_OR_RETURN(ind, ctx.output(1, DType::i64, geo.out_shape));
    }
    const int64_t rows = geo.planes * geo.out[0] * geo.out[1];
    if (geo.out_plane() == 0) return Status::ok();
    return dispatch_node_dtype<OBOL_POOL_MAX_TYPES>(node, x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.data_as<const T>();
      T* py = y.data_as<T>();
      if (want_indices) {
        int64_t* pi = ind.data_as<int64_t>();
        parallel_for_range(rows, rows_grain(geo), [&](int64_t r0, int64_t r1) {
          max_pool_indices_rows<T>(px, py, pi, geo, attrs.storage_order, r0, r1);
        });
      } else {
        const PoolParams pp{geo, false, 2.0f};
        parallel_for_range(rows, rows_grain(geo),
                           [&](int64_t r0, int64_t r1) { pool_rows<T, PoolKind::max>(px, py, pp, r0, r1); });
      }
      return Status::ok();
    });
  });
}

template <PoolKind K>
Result<std::unique_ptr<backend::Kernel>> make_avg_or_lp_pool(const graph::Graph& g, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 1, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const PoolAttrs attrs, read_pool_attrs(g, node));
  return make_kernel([attrs, node = node_identity(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& x = ctx.input(0);
    OBOL_ASSIGN_OR_RETURN(const PoolGeometry geo, pool_geometry(node, attrs, x.shape()));
    OBOL_ASSIGN_OR_RETURN(const TensorView y, ctx.output(0, x.dtype(), geo.out_shape));
    const int64_t rows = geo.planes * geo.out[0] * geo.out[1];
    if (geo.out_plane() == 0) return Status::ok();
    const PoolParams pp{geo, attrs.count_include_pad, attrs.p};
    return dispatch_node_dtype<OBOL_CPU_FLOAT_TYPES, F16, BF16>(node, x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.data_as<const T>();
      T* py = y.data_as<T>();
      parallel_for_range(rows, rows_grain(geo), [&](int64_t r0, int64_t r1) { pool_rows<T, K>(px, py, pp, r0, r1); });
      return Status::ok();
    });
  });
}

}  // namespace

void register_pool(CpuOpRegistry& r) {
  r.add(graph::OpKind::MaxPool, &make_max_pool);
  r.add(graph::OpKind::AveragePool, &make_avg_or_lp_pool<PoolKind::avg>);
  r.add(graph::OpKind::LpPool, &make_avg_or_lp_pool<PoolKind::lp>);
  r.add(graph::OpKind::GlobalAveragePool, &make_global_average_pool);
  r.add(graph::OpKind::GlobalMaxPool, &make_global_max_pool);
  r.add(graph::OpKind::GlobalLpPool, &make_global_lp_pool);
  r.add(graph::OpKind::MaxUnpool, &make_max_unpool);
  r.add(graph::OpKind::MaxRoiPool, &make_max_roi_pool);
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
