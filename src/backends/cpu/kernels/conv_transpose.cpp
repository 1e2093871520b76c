// CPU kernel: ConvTranspose. fp32 runs one GEMM per image and group, col[Mg * kvol, pixels] =
// W_g^T x X_g, then scatters col into the output (col2im), threaded over output channels.
#include <algorithm>
#include <cstring>

#include "conv_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {
namespace {

// The inputs iw in [0, n) whose output column ow0 + iw * s lies inside [0, out).
inline void scatter_range(int64_t ow0, int64_t s, int64_t out, int64_t n, int64_t& lo, int64_t& hi) {
  lo = ow0 >= 0 ? 0 : (-ow0 + s - 1) / s;
  hi = ow0 >= out ? 0 : (out - 1 - ow0) / s + 1;
  lo = std::min(lo, n);
  hi = std::min(hi, n);
  if (hi < lo) hi = lo;
}

// y_plane += col2im of the kvol rows of one output channel (each `g.in_size` long).
template <class T>
void col2im_channel(const ConvGeom& g, const T* rows, T* yp) {
  for (int64_t kk = 0; kk < g.kvol; ++kk) {
    const int64_t kd = kk / (g.k[1] * g.k[2]), kh = (kk / g.k[2]) % g.k[1], kw = kk % g.k[2];
    const T* row = rows + kk * g.in_size;
    const int64_t ow0 = -g.pad[2] + kw * g.dil[2];
    int64_t lo, hi;
    scatter_range(ow0, g.stride[2], g.out[2], g.in[2], lo, hi);
    for (int64_t id = 0; id < g.in[0]; ++id) {
      const int64_t od = id * g.stride[0] - g.pad[0] + kd * g.dil[0];
      if (od < 0 || od >= g.out[0]) continue;
      for (int64_t ih = 0; ih < g.in[1]; ++ih) {
        const int64_t oh = ih * g.stride[1] - g.pad[1] + kh * g.dil[1];
        if (oh < 0 || oh >= g.out[1]) continue;
        T* yr = yp + (od * g.out[1] + oh) * g.out[2];
        const T* xr = row + (id * g.in[1] + ih) * g.in[2];
        const int64_t s = g.stride[2];
        for (int64_t iw = lo; iw < hi; ++iw) yr[ow0 + iw * s] += xr[iw];
      }
    }
  }
}

Status conv_transpose_f32(backend::KernelContext& ctx, const kernels::KernelTable& kt, const ConvGeom& g,
                          const float* x, const float* w, const float* bias, float* y) {
  const int64_t rows = g.Mg * g.kvol;
  OBOL_ASSIGN_OR_RETURN(void* mem, ctx.scratch(static_cast<size_t>(std::max<int64_t>(1, rows * g.in_size)) * sizeof(float)));
  float* col = static_cast<float*>(mem);
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t grp = 0; grp < g.group; ++grp) {
      kernels::SgemmArgs a;
      a.M = rows;
      a.N = g.in_size;
      a.K = g.Cg;
      a.A = w + grp * g.Cg * rows;
      a.lda = rows;
      a.trans_a = true;
      a.B = x + (n * g.C + grp * g.Cg) * g.in_size;
      a.ldb = g.in_size;
      a.C = col;
      a.ldc = g.in_size;
      kt.sgemm(a);
      parallel_for(g.Mg, [&](int64_t m) {
        const int64_t oc = grp * g.Mg + m;
        float* yp = y + (n * g.M + oc) * g.out_size;
        std::fill(yp, yp + g.out_size, bias ? bias[oc] : 0.0f);
        col2im_channel(g, col + m * g.kvol * g.in_size, yp);
      });
    }
  return Status::ok();
}

// The plain scatter loop, for float64.
template <class T>
void conv_transpose_direct(const ConvGeom& g, const T* x, const T* w, const T* bias, T* y) {
  parallel_for(g.N * g.M, [&](int64_t nm) {
    const int64_t n = nm / g.M, oc = nm % g.M, grp = oc / g.Mg, m = oc % g.Mg;
    T* yp = y + nm * g.out_size;
    std::fill(yp, yp + g.out_size, bias ? bias[oc] : T(0));
    for (int64_t c = 0; c < g.Cg; ++c) {
      const int64_t ci = grp * g.Cg + c;
      const T* xp = x + (n * g.C + ci) * g.in_size;
      const T* wp = w + (ci * g.Mg + m) * g.kvol;
      for (int64_t id = 0; id < g.in[0]; ++id)
        for (int64_t ih = 0; ih < g.in[1]; ++ih)
          for (int64_t iw = 0; iw < g.in[2]; ++iw) {
            const T xv = xp[(id * g.in[1] + ih) * g.in[2] + iw];
            for (int64_t kd = 0; kd < g.k[0]; ++kd) {
              const int64_t od = id * g.stride[0] - g.pad[0] + kd * g.dil[0];
              if (od < 0 || od >= g.out[0]) continue;
              for (int64_t kh = 0; kh < g.k[1]; ++kh) {
                const int64_t oh = ih * g.stride[1] - g.pad[1] + kh * g.dil[1];
                if (oh < 0 || oh >= g.out[1]) continue;
                for (int64_t kw = 0; kw < g.k[2]; ++kw) {
                  const int64_t ow = iw * g.stride[2] - g.pad[2] + kw * g.dil[2];
                  if (ow < 0 || ow >= g.out[2]) continue;
                  yp[(od * g.out[1] + oh) * g.out[2] + ow] += xv * wp[(kd * g.k[1] + kh) * g.k[2] + kw];
                }
              }
            }
          }
    }
  });
}

}  // namespace

Result<std::unique_ptr<backend::Kernel>> make_conv_transpose(const graph::Graph&, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 3, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const ConvAttrs at, parse_conv_attrs(node, true));
  const kernels::KernelTable* kt = &kernels::cpu_kernels();
  return make_kernel([kt, at, nref = node_ref(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& x = ctx.input(0);
    const TensorView& w = ctx.input(1);
    const bool has_b = ctx.input_count() > 2 && ctx.has_input(2);
    if (w.dtype() != x.dtype() || (has_b && ctx.input(2).dtype() != x.dtype()))
      return node_error(StatusCode::invalid_argument, nref, "X, W and B must have the same type, found ",
                        dtype_name(x.dtype()), ", ", dtype_name(w.dtype()), has_b ? ", " : "",
                        has_b ? dtype_name(ctx.input(2).dtype()) : "");
    OBOL_ASSIGN_OR_RETURN(const ConvGeom geo, conv_geometry(nref, at, x.shape(), w.shape(), true));
    if (has_b && (ctx.input(2).rank() != 1 || ctx.input(2).numel() != geo.M))
      return node_error(StatusCode::invalid_argument, nref, "B must be 1-D with ", geo.M, " elements, found ",
                        ctx.input(2).shape().to_string());
    return dispatch_dtype<float, double, F16, BF16>(x.dtype(), "ConvTranspose", [&](auto tag) -> Status {
      using T = decltype(tag);
      OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, x.dtype(), geo.out_shape));
      if (y.numel() == 0) return Status::ok();
      const T* pb = has_b ? ctx.input(2).data_as<const T>() : nullptr;
      if constexpr (std::is_same_v<T, float>) {
        return conv_transpose_f32(ctx, *kt, geo, x.data_as<const float>(), w.data_as<const float>(), pb,
                                  y.data_as<float>());
      } else if constexpr (is_half_v<T>) {
        OBOL_ASSIGN_OR_RETURN(Tensor fx, widen_tensor<T>(x));
        OBOL_ASSIGN_OR_RETURN(Tensor fw, widen_tensor<T>(w));
        OBOL_ASSIGN_OR_RETURN(Tensor fb, has_b ? widen_tensor<T>(ctx.input(2)) : Tensor::empty(DType::f32, Shape{0}));
        OBOL_ASSIGN_OR_RETURN(Tensor fy, Tensor::empty(DType::f32, geo.out_shape));
        OBOL_RETURN_IF_ERROR(conv_transpose_f32(ctx, *kt, geo, fx.data_as<const float>(), fw.data_as<const float>(),
                                                has_b ? fb.data_as<const float>() : nullptr, fy.data_as<float>()));
        T* py = y.data_as<T>();
        for (int64_t i = 0; i < y.numel(); ++i) py[i] = from_f32<T>(fy.data_as<const float>()[i]);
        return Status::ok();
      } else {
        conv_transpose_direct<T>(geo, x.data_as<const T>(), w.data_as<const T>(), pb, y.data_as<T>());
        return Status::ok();
      }
    });
  });
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
