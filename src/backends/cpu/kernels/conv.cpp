// CPU kernels: Conv (ConvTranspose and ConvInteger live in conv_transpose.cpp and conv_integer.cpp).
//
// fp32 Conv runs as GEMMs over chunks of output pixels: Y^T[pixels, Mg] = col^T[pixels, Cg*kvol] x
// W_g^T, where col is the im2col of the chunk (or the input itself for 1x1 convolutions) and W_g^T is
// packed once per group when the weights are constant. The bias rides in the GEMM epilogue and the
// chunk is transposed into NCHW. Depthwise convolutions (one input channel per group) run a direct
// loop instead: their GEMMs would be too thin.
#include <algorithm>
#include <cstring>

#include "conv_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

Result<ConvAttrs> parse_conv_attrs(const graph::Node& node, bool transpose) {
  ConvAttrs at;
  OBOL_ASSIGN_OR_RETURN(const std::string pad, node.attr_string("auto_pad", "NOTSET"));
  if (pad == "NOTSET" || pad.empty()) at.auto_pad = AutoPad::notset;
  else if (pad == "SAME_UPPER") at.auto_pad = AutoPad::same_upper;
  else if (pad == "SAME_LOWER") at.auto_pad = AutoPad::same_lower;
  else if (pad == "VALID") at.auto_pad = AutoPad::valid;
  else
    return node_error(StatusCode::invalid_argument, node, "auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, found '",
                      pad, "'");
  OBOL_ASSIGN_OR_RETURN(at.group, node.attr_int("group", 1));
  if (at.group < 1) return node_error(StatusCode::invalid_argument, node, "group must be >= 1, found ", at.group);
  OBOL_ASSIGN_OR_RETURN(at.kernel_shape, node.attr_ints("kernel_shape"));
  OBOL_ASSIGN_OR_RETURN(at.strides, node.attr_ints("strides"));
  OBOL_ASSIGN_OR_RETURN(at.dilations, node.attr_ints("dilations"));
  OBOL_ASSIGN_OR_RETURN(at.pads, node.attr_ints("pads"));
  for (int64_t v : at.kernel_shape)
    if (v < 1) return node_error(StatusCode::invalid_argument, node, "kernel_shape entries must be >= 1, found ", v);
  for (int64_t v : at.strides)
    if (v < 1) return node_error(StatusCode::invalid_argument, node, "strides must be >= 1, found ", v);
  for (int64_t v : at.dilations)
    if (v < 1) return node_error(StatusCode::invalid_argument, node, "dilations must be >= 1, found ", v);
  for (int64_t v : at.pads)
    if (v < 0) return node_error(StatusCode::invalid_argument, node, "pads must be >= 0, found ", v);
  if (transpose) {
    OBOL_ASSIGN_OR_RETURN(at.output_padding, node.attr_ints("output_padding"));
    OBOL_ASSIGN_OR_RETURN(at.output_shape, node.attr_ints("output_shape"));
    for (int64_t v : at.output_padding)
      if (v < 0) return node_error(StatusCode::invalid_argument, node, "output_padding must be >= 0, found ", v);
  }
  return at;
}

namespace {

Status check_len(const graph::Node& node, const char* what, const std::vector<int64_t>& v, size_t want) {
  if (!v.empty() && v.size() != want)
    return node_error(StatusCode::invalid_argument, node, what, " has ", v.size(), " entries, expected ", want);
  return Status::ok();
}

}  // namespace

Result<ConvGeom> conv_geometry(const graph::Node& node, const ConvAttrs& at, const Shape& x, const Shape& w,
                               bool transpose) {
  ConvGeom g;
  if (x.rank() < 3)
    return node_error(StatusCode::invalid_argument, node, "X must have rank >= 3 (N, C, spatial...), found ",
                      x.to_string());
  if (w.rank() != x.rank())
    return node_error(StatusCode::invalid_argument, node, "W must have the rank of X (", x.rank(), "), found ",
                      w.to_string());
  g.nd = x.rank() - 2;
  if (g.nd > kConvMaxSpatial)
    return node_error(StatusCode::unsupported, node, "at most ", kConvMaxSpatial, " spatial dimensions are supported, found ",
                      g.nd);
  const size_t nd = static_cast<size_t>(g.nd);
  OBOL_RETURN_IF_ERROR(check_len(node, "kernel_shape", at.kernel_shape, nd));
  OBOL_RETURN_IF_ERROR(check_len(node, "strides", at.strides, nd));
  OBOL_RETURN_IF_ERROR(check_len(node, "dilations", at.dilations, nd));
  OBOL_RETURN_IF_ERROR(check_len(node, "pads", at.pads, 2 * nd));
  OBOL_RETURN_IF_ERROR(check_len(node, "output_padding", at.output_padding, nd));
  if (!at.output_shape.empty() && at.output_shape.size() != nd && at.output_shape.size() != nd + 2)
    return node_error(StatusCode::invalid_argument, node, "output_shape has ", at.output_shape.size(),
                      " entries, expected ", nd);
  g.N = x[0];
  g.C = x[1];
  g.group = at.group;
  if (g.C % g.group != 0)
    return node_error(StatusCode::invalid_argument, node, "input channels (", g.C, ") are not divisible by group (",
                      g.group, ")");
  g.Cg = g.C / g.group;
  if (transpose) {
    if (w[0] != g.C)
      return node_error(StatusCode::invalid_argument, node, "W ", w.to_string(), " must have ", g.C,
                        " (input channels) as its first dimension");
    g.Mg = w[1];
    g.M = g.Mg * g.group;
  } else {
    if (w[1] != g.Cg)
      return node_error(StatusCode::invalid_argument, node, "W ", w.to_string(), " must have ", g.Cg,
                        " (input channels / group) as its second dimension for X ", x.to_string());
    g.M = w[0];
    if (g.M % g.group != 0)
      return node_error(StatusCode::invalid_argument, node, "output channels (", g.M, ") are not divisible by group (",
                        g.group, ")");
    g.Mg = g.M / g.group;
  }
  g.out_shape = Shape{g.N, g.M};
  const int off = kConvMaxSpatial - g.nd;
  for (int i = 0; i < g.nd; ++i) {
    const size_t si = static_cast<size_t>(i);
    const int j = off + i;
    const int64_t in = x[2 + i], k = w[2 + i];
    if (!at.kernel_shape.empty() && at.kernel_shape[si] != k)
      return node_error(StatusCode::invalid_argument, node, "kernel_shape does not match W ", w.to_string());
    const int64_t s = at.strides.empty() ? 1 : at.strides[si];
    const int64_t d = at.dilations.empty() ? 1 : at.dilations[si];
    const int64_t dk = (k - 1) * d + 1;
    int64_t pb = at.pads.empty() ? 0 : at.pads[si], pe = at.pads.empty() ? 0 : at.pads[si + nd];
    int64_t out = 0;
    if (!transpose) {
      if (at.auto_pad == AutoPad::same_upper || at.auto_pad == AutoPad::same_lower) {
        out = (in + s - 1) / s;
        const int64_t total = std::max<int64_t>(0, (out - 1) * s + dk - in);
        pb = at.auto_pad == AutoPad::same_upper ? total / 2 : total - total / 2;
      } else {
        if (at.auto_pad == AutoPad::valid) pb = pe = 0;
        if (in + pb + pe < dk)
          return node_error(StatusCode::invalid_argument, node, "spatial dimension ", i, " of X (", in,
                            ") plus padding is smaller than the dilated kernel (", dk, ")");
        out = (in + pb + pe - dk) / s + 1;
      }
    } else {
      const int64_t op = at.output_padding.empty() ? 0 : at.output_padding[si];
      const int64_t given = at.output_shape.empty() ? -1 : at.output_shape[at.output_shape.size() - nd + si];
      if (at.auto_pad == AutoPad::same_upper || at.auto_pad == AutoPad::same_lower) {
        out = given >= 0 ? given : in * s;
        const int64_t total = s * (in - 1) + op + dk - out;
        const int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);  // floor division
        pb = at.auto_pad == AutoPad::same_upper ? half : total - half;
      } else {
        if (at.auto_pad == AutoPad::valid) pb = pe = 0;
        out = given >= 0 ? given : s * (in - 1) + op + dk - pb - pe;
      }
      if (out < 0)
        return node_error(StatusCode::invalid_argument, node, "spatial dimension ", i, " of the output would be ", out);
    }
    g.in[j] = in;
    g.k[j] = k;
    g.out[j] = out;
    g.stride[j] = s;
    g.dil[j] = d;
    g.pad[j] = pb;
    g.in_size *= in;
    g.out_size *= out;
    g.kvol *= k;
    g.out_shape.push_back(out);
  }
  return g;
}

namespace {

// The [ow0, ow1) outputs of one row whose input column ow * s + iw0 lies inside [0, in).
inline void valid_range(int64_t iw0, int64_t s, int64_t in, int64_t n, int64_t& lo, int64_t& hi) {
  lo = iw0 >= 0 ? 0 : (-iw0 + s - 1) / s;
  hi = iw0 >= in ? 0 : (in - 1 - iw0) / s + 1;
  lo = std::min(lo, n);
  hi = std::min(hi, n);
  if (hi < lo) hi = lo;
}

// col[r - r0][p - p0] for rows r in [r0, r1) of (channel, kd, kh, kw) and output pixels [p0, p1);
// row stride ld. xg points at the group's first input channel.
void im2col(const ConvGeom& g, const float* xg, int64_t p0, int64_t p1, int64_t r0, int64_t r1, float* col,
            int64_t ld) {
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t c = r / g.kvol, kk = r % g.kvol;
    const int64_t kd = kk / (g.k[1] * g.k[2]), kh = (kk / g.k[2]) % g.k[1], kw = kk % g.k[2];
    const float* xc = xg + c * g.in_size;
    float* dst = col + (r - r0) * ld;
    int64_t p = p0;
    int64_t ow = p % g.out[2], oh = (p / g.out[2]) % g.out[1], od = p / (g.out[2] * g.out[1]);
    while (p < p1) {
      const int64_t seg = std::min(g.out[2] - ow, p1 - p);
      float* d = dst + (p - p0);
      const int64_t id = od * g.stride[0] - g.pad[0] + kd * g.dil[0];
      const int64_t ih = oh * g.stride[1] - g.pad[1] + kh * g.dil[1];
      if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1]) {
        std::fill(d, d + seg, 0.0f);
      } else {
        const float* row = xc + (id * g.in[1] + ih) * g.in[2];
        const int64_t s = g.stride[2];
        const int64_t iw0 = ow * s - g.pad[2] + kw * g.dil[2];
        int64_t lo, hi;
        valid_range(iw0, s, g.in[2], seg, lo, hi);
        std::fill(d, d + lo, 0.0f);
        if (s == 1) {
          if (hi > lo) std::memcpy(d + lo, row + iw0 + lo, static_cast<size_t>(hi - lo) * sizeof(float));
        } else {
          for (int64_t j = lo; j < hi; ++j) d[j] = row[iw0 + j * s];
        }
        std::fill(d + hi, d + seg, 0.0f);
      }
      p += seg;
      ow = 0;
      if (++oh == g.out[1]) {
        oh = 0;
        ++od;
      }
    }
  }
}

// One input channel per group: y[n, m] = sum over taps of w[m, tap] * shifted x[n, m / Mg].
void conv_depthwise_f32(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y,
                        const kernels::KernelTable& kt, kernels::UnaryOp act, kernels::UnaryParams act_params) {
  parallel_for(g.N * g.M, [&](int64_t nm) {
    const int64_t n = nm / g.M, m = nm % g.M, ic = m / g.Mg;
    const float* xp = x + (n * g.C + ic) * g.in_size;
    const float* wp = w + m * g.kvol;
    float* yp = y + nm * g.out_size;
    std::fill(yp, yp + g.out_size, bias ? bias[m] : 0.0f);
    for (int64_t kd = 0; kd < g.k[0]; ++kd)
      for (int64_t kh = 0; kh < g.k[1]; ++kh)
        for (int64_t kw = 0; kw < g.k[2]; ++kw) {
          const float wv = wp[(kd * g.k[1] + kh) * g.k[2] + kw];
          const int64_t iw0 = -g.pad[2] + kw * g.dil[2];
          int64_t lo, hi;
          valid_range(iw0, g.stride[2], g.in[2], g.out[2], lo, hi);
          for (int64_t od = 0; od < g.out[0]; ++od) {
            const int64_t id = od * g.stride[0] - g.pad[0] + kd * g.dil[0];
            if (id < 0 || id >= g.in[0]) continue;
            for (int64_t oh = 0; oh < g.out[1]; ++oh) {
              const int64_t ih = oh * g.stride[1] - g.pad[1] + kh * g.dil[1];
              if (ih < 0 || ih >= g.in[1]) continue;
              float* yr = yp + (od * g.out[1] + oh) * g.out[2];
              const float* xr = xp + (id * g.in[1] + ih) * g.in[2];
              if (g.stride[2] == 1) {
                for (int64_t j = lo; j < hi; ++j) yr[j] += wv * xr[iw0 + j];
              } else {
                const int64_t s = g.stride[2];
                for (int64_t j = lo; j < hi; ++j) yr[j] += wv * xr[iw0 + j * s];
              }
            }
          }
        }
    if (act != kernels::UnaryOp::identity) kt.unary_f32(act, act_params, yp, yp, g.out_size);
  });
}

Status conv_f32(backend::KernelContext& ctx, const kernels::KernelTable& kt, const ConvGeom& g, const float* x,
                const float* w, const float* bias, const PackedB* packed, float* y,
                kernels::UnaryOp act = kernels::UnaryOp::identity, kernels::UnaryParams act_params = {}) {
  if (g.Cg == 1 && g.group > 1) {
    conv_depthwise_f32(g, x, w, bias, y, kt, act, act_params);
    return Status::ok();
  }
  const int64_t P = g.out_size, Ckk = g.Cg * g.kvol, Mg = g.Mg;
  const bool pointwise = g.kvol == 1 && g.pad[0] == 0 && g.pad[1] == 0 && g.pad[2] == 0 && g.stride[0] == 1 &&
                         g.stride[1] == 1 && g.stride[2] == 1 && P == g.in_size;
  const int64_t threads = max_threads();
  // Chunks of output pixels whose im2col stays around 256 KB, one thread each when there are enough
  // of them; otherwise (small images, many channels) whole images, so each sgemm is large enough to
  // thread by itself.
  int64_t pc = std::min(P, std::clamp<int64_t>((int64_t{1} << 16) / std::max<int64_t>(1, Ckk), 32, 1024));
  const int64_t images = g.N * g.group;
  const bool task_parallel = images * ((P + pc - 1) / pc) >= threads;
  if (!task_parallel && Ckk * P <= (int64_t{1} << 22)) pc = P;
  const int64_t chunks = (P + pc - 1) / pc, tasks = images * chunks;
  const int64_t workers = task_parallel ? std::min(threads, tasks) : 1;

  ScratchCarver sc;
  const bool pack_now = packed == nullptr;
  const size_t pack_stride = pack_now ? (kt.sgemm_packed_b_bytes(Ckk, Mg) / sizeof(float) + 15) / 16 * 16 : 0;
  const size_t pack_at = sc.add(pack_stride * static_cast<size_t>(g.group) * sizeof(float));
  const size_t col_floats = pointwise ? 0 : static_cast<size_t>(Ckk * pc), yt_floats = static_cast<size_t>(pc * Mg);
  const size_t work_at = sc.add((col_floats + yt_floats) * sizeof(float) * static_cast<size_t>(workers));
  OBOL_ASSIGN_OR_RETURN(void* mem, ctx.scratch(sc.total()));
  auto* base = static_cast<uint8_t*>(mem);
  auto* pack_buf = reinterpret_cast<float*>(base + pack_at);
  auto* work = reinterpret_cast<float*>(base + work_at);
  if (pack_now)
    parallel_for(g.group, [&](int64_t grp) {
      kt.sgemm_pack_b(Ckk, Mg, w + grp * Mg * Ckk, Ckk, true, pack_buf + static_cast<size_t>(grp) * pack_stride);
    });
  auto packed_group = [&](int64_t grp) {
    return pack_now ? pack_buf + static_cast<size_t>(grp) * pack_stride : packed->batch(grp);
  };

  auto run_task = [&](int64_t t, float* col, float* yt) {
    const int64_t n = t / (g.group * chunks), grp = (t / chunks) % g.group, p0 = (t % chunks) * pc;
    const int64_t p1 = std::min(P, p0 + pc), rows = p1 - p0;
    const float* xg = x + (n * g.C + grp * g.Cg) * g.in_size;
    kernels::SgemmArgs a;
    a.M = rows;
    a.N = Mg;
    a.K = Ckk;
    a.trans_a = true;
    if (pointwise) {
      a.A = xg + p0;
      a.lda = g.in_size;
    } else {
      if (task_parallel)
        im2col(g, xg, p0, p1, 0, Ckk, col, rows);
      else
        parallel_for_range(Ckk, 8, [&](int64_t r0, int64_t r1) { im2col(g, xg, p0, p1, r0, r1, col + r0 * rows, rows); });
      a.A = col;
      a.lda = rows;
    }
    a.C = yt;
    a.ldc = Mg;
    a.bias = bias ? bias + grp * Mg : nullptr;
    a.act = act;
    a.act_params = act_params;
    kt.sgemm_packed(a, packed_group(grp));
    kt.transpose_2d_32(yt, Mg, y + (n * g.M + grp * Mg) * P + p0, P, rows, Mg);
  };
  if (task_parallel) {
    parallel_for(workers, [&](int64_t wk) {
      float* col = work + static_cast<size_t>(wk) * (col_floats + yt_floats);
      for (int64_t t = wk; t < tasks; t += workers) run_task(t, col, col + col_floats);
    });
  } else {
    for (int64_t t = 0; t < tasks; ++t) run_task(t, work, work + col_floats);
  }
  return Status::ok();
}

#define OBOL_CONV_TYPES float, double, F16, BF16

}  // namespace

Result<std::unique_ptr<backend::Kernel>> make_conv_activation(const graph::Graph& g, const graph::Node& node,
                                                              kernels::UnaryOp act, kernels::UnaryParams act_params) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 3, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const ConvAttrs at, parse_conv_attrs(node, false));
  const kernels::KernelTable* kt = &kernels::cpu_kernels();
  std::shared_ptr<const PackedB> packed;
  if (const graph::ConstantData* cw = constant_input(g, node, 1);
      cw && cw->view.dtype() == DType::f32 && cw->view.rank() >= 3 && cw->view.numel() > 0) {
    const Shape& ws = cw->view.shape();
    const int64_t M = ws[0], ckk = cw->view.numel() / M;
    if (M % at.group != 0)
      return node_error(StatusCode::invalid_argument, node, "output channels (", M, ") are not divisible by group (",
                        at.group, ")");
    const int64_t mg = M / at.group;
    if (!(ws[1] == 1 && at.group > 1)) {  // depthwise convolutions do not use GEMMs
      OBOL_ASSIGN_OR_RETURN(PackedB p,
                            pack_b_batches(*kt, at.group, ckk, mg, cw->view.data_as<const float>(), ckk, true, mg * ckk));
      packed = std::make_shared<const PackedB>(std::move(p));
    }
  }
  return make_kernel([kt, at, packed, act, act_params, nref = node_ref(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& x = ctx.input(0);
    const TensorView& w = ctx.input(1);
    const bool has_b = ctx.input_count() > 2 && ctx.has_input(2);
    if (w.dtype() != x.dtype() || (has_b && ctx.input(2).dtype() != x.dtype()))
      return node_error(StatusCode::invalid_argument, nref, "X, W and B must have the same type, found ",
                        dtype_name(x.dtype()), ", ", dtype_name(w.dtype()), has_b ? ", " : "",
                        has_b ? dtype_name(ctx.input(2).dtype()) : "");
    OBOL_ASSIGN_OR_RETURN(const ConvGeom geo, conv_geometry(nref, at, x.shape(), w.shape(), false));
    if (has_b && (ctx.input(2).rank() != 1 || ctx.input(2).numel() != geo.M))
      return node_error(StatusCode::invalid_argument, nref, "B must be 1-D with ", geo.M, " elements, found ",
                        ctx.input(2).shape().to_string());
    return dispatch_dtype<OBOL_CONV_TYPES>(x.dtype(), "Conv", [&](auto tag) -> Status {
      using T = decltype(tag);
      OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, x.dtype(), geo.out_shape));
      if (y.numel() == 0) return Status::ok();
      const T* px = x.data_as<const T>();
      const T* pw = w.data_as<const T>();
      const T* pb = has_b ? ctx.input(2).data_as<const T>() : nullptr;
      T* py = y.data_as<T>();
      if constexpr (std::is_same_v<T, float>) {
        const bool use_packed = packed && packed->K == geo.Cg * geo.kvol && packed->N == geo.Mg &&
                                packed->batches == geo.group;
        return conv_f32(ctx, *kt, geo, px, pw, pb, use_packed ? packed.get() : nullptr, py, act, act_params);
      } else if (act != kernels::UnaryOp::identity) {
        return node_error(StatusCode::unsupported, nref, "a fused activation needs float32 input, found ",
                          dtype_name(x.dtype()));
      } else if constexpr (is_half_v<T>) {
        OBOL_ASSIGN_OR_RETURN(Tensor fx, widen_tensor<T>(x));
        OBOL_ASSIGN_OR_RETURN(Tensor fw, widen_tensor<T>(w));
        OBOL_ASSIGN_OR_RETURN(Tensor fb, has_b ? widen_tensor<T>(ctx.input(2)) : Tensor::empty(DType::f32, Shape{0}));
        OBOL_ASSIGN_OR_RETURN(Tensor fy, Tensor::empty(DType::f32, geo.out_shape));
        OBOL_RETURN_IF_ERROR(conv_f32(ctx, *kt, geo, fx.data_as<const float>(), fw.data_as<const float>(),
                                      has_b ? fb.data_as<const float>() : nullptr, nullptr, fy.data_as<float>()));
        for (int64_t i = 0; i < y.numel(); ++i) py[i] = from_f32<T>(fy.data_as<const float>()[i]);
        return Status::ok();
      } else {
        conv_direct<double>(
            geo, [&](int64_t i) { return px[i]; }, [&](int64_t, int64_t i) { return pw[i]; },
            [&](int64_t i, int64_t m, double acc) { py[i] = pb ? acc + pb[m] : acc; });
        return Status::ok();
      }
    });
  });
}

namespace {

Result<std::unique_ptr<backend::Kernel>> make_conv(const graph::Graph& g, const graph::Node& node) {
  return make_conv_activation(g, node, kernels::UnaryOp::identity, {});
}

}  // namespace

void register_conv(CpuOpRegistry& r) {
  r.add(graph::OpKind::Conv, &make_conv);
  r.add(graph::OpKind::ConvTranspose, &make_conv_transpose);
  r.add(graph::OpKind::ConvInteger, &make_conv_integer);
  r.add(graph::OpKind::QLinearConv, &make_qlinear_conv);
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
