// CPU kernels: ConvInteger (uint8/int8 inputs with zero points, int32 output) and QLinearConv (the
// same, requantized to uint8/int8) on the int8 GEMM core: per image and group, the output pixels'
// patches (im2col rows, padding filled with the input zero point) times W^T, which is prepared once
// when W and its zero points are constants.
#include <cmath>
#include <cstring>
#include <limits>

#include "conv_util.hpp"
#include "quant_gemm.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {
namespace {

bool is_q8(DType t) { return t == DType::u8 || t == DType::i8; }

// W^T of every group (Ck x Mg each) with the per-output-channel zero points.
struct ConvWeights {
  std::vector<QWeights> groups;
};

Result<ConvWeights> prepare_conv_weights(const ConvGeom& g, const TensorView& w, const std::vector<int32_t>& zw) {
  ConvWeights r;
  const int64_t ck = g.Cg * g.kvol;
  std::vector<uint8_t> wt(static_cast<size_t>(ck * g.Mg));
  for (int64_t grp = 0; grp < g.group; ++grp) {
    const auto* src = static_cast<const uint8_t*>(w.data()) + grp * g.Mg * ck;  // one byte per element
    for (int64_t m = 0; m < g.Mg; ++m)
      for (int64_t k = 0; k < ck; ++k) wt[static_cast<size_t>(k * g.Mg + m)] = src[m * ck + k];
    std::vector<int32_t> z(zw.size() == 1 ? 1 : static_cast<size_t>(g.Mg));
    for (size_t m = 0; m < z.size(); ++m) z[m] = zw.size() == 1 ? zw[0] : zw[static_cast<size_t>(grp * g.Mg) + m];
    OBOL_ASSIGN_OR_RETURN(QWeights q, prepare_qweights(wt.data(), w.dtype() == DType::u8, ck, g.Mg, g.Mg, z));
    r.groups.push_back(std::move(q));
  }
  return r;
}

// Patches of image n, group grp: out_size rows of Cg * kvol input bytes (padding = `pad_byte`).
void im2col_rows(const ConvGeom& g, const uint8_t* x, int64_t n, int64_t grp, uint8_t pad_byte, uint8_t* rows) {
  const int64_t ck = g.Cg * g.kvol;
  parallel_for_range(g.out_size, 16, [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      const int64_t od = o / (g.out[1] * g.out[2]), oh = (o / g.out[2]) % g.out[1], ow = o % g.out[2];
      uint8_t* row = rows + o * ck;
      for (int64_t c = 0; c < g.Cg; ++c) {
        const uint8_t* xc = x + (n * g.C + grp * g.Cg + c) * g.in_size;
        uint8_t* rc = row + c * g.kvol;
        for (int64_t kd = 0; kd < g.k[0]; ++kd) {
          const int64_t id = od * g.stride[0] - g.pad[0] + kd * g.dil[0];
          for (int64_t kh = 0; kh < g.k[1]; ++kh) {
            const int64_t ih = oh * g.stride[1] - g.pad[1] + kh * g.dil[1];
            for (int64_t kw = 0; kw < g.k[2]; ++kw) {
              const int64_t iw = ow * g.stride[2] - g.pad[2] + kw * g.dil[2];
              const bool in = id >= 0 && id < g.in[0] && ih >= 0 && ih < g.in[1] && iw >= 0 && iw < g.in[2];
              rc[(kd * g.k[1] + kh) * g.k[2] + kw] = in ? xc[(id * g.in[1] + ih) * g.in[2] + iw] : pad_byte;
            }
          }
        }
      }
    }
  });
}

// acc (per image: out_size x M, pixel-major) for every image; calls store(n, acc) after each image.
template <class Store>
Status conv_integer_gemm(const graph::Node& node, backend::KernelContext& ctx, const ConvGeom& g, const TensorView& x,
                         const TensorView& w, int32_t zx, const std::vector<int32_t>& zw,
                         const std::shared_ptr<const ConvWeights>& prepared, Store&& store) {
  std::shared_ptr<const ConvWeights> weights = prepared;
  if (!weights || static_cast<int64_t>(weights->groups.size()) != g.group ||
      weights->groups[0].K != g.Cg * g.kvol || weights->groups[0].N != g.Mg) {
    OBOL_ASSIGN_OR_RETURN(ConvWeights cw, prepare_conv_weights(g, w, zw));
    weights = std::make_shared<const ConvWeights>(std::move(cw));
  }
  (void)node;
  const int64_t ck = g.Cg * g.kvol;
  ScratchCarver sc;
  const size_t orows = sc.add(static_cast<size_t>(g.out_size * ck)), oacc = sc.add(static_cast<size_t>(g.out_size * g.M) * 4);
  OBOL_ASSIGN_OR_RETURN(void* mem, ctx.scratch(sc.total()));
  auto* rows = static_cast<uint8_t*>(mem) + orows;
  auto* acc = reinterpret_cast<int32_t*>(static_cast<uint8_t*>(mem) + oacc);
  const auto pad_byte = static_cast<uint8_t>(zx);  // the raw byte of zx in x's type
  for (int64_t n = 0; n < g.N; ++n) {
    for (int64_t grp = 0; grp < g.group; ++grp) {
      im2col_rows(g, static_cast<const uint8_t*>(x.data()), n, grp, pad_byte, rows);
      OBOL_RETURN_IF_ERROR(qgemm_s32(rows, x.dtype() == DType::u8, g.out_size, ck, {zx},
                                     weights->groups[static_cast<size_t>(grp)], acc + grp * g.Mg, g.M));
    }
    store(n, acc);
  }
  return Status::ok();
}

// A zero point of `like`'s dtype: one value, or (when per > 0) one per output channel.
Result<std::vector<int32_t>> conv_zero_point(const graph::Node& node, const backend::KernelContext& ctx, int i,
                                             DType like, int64_t per, const char* what) {
  if (ctx.input_count() <= i || !ctx.has_input(i)) return std::vector<int32_t>{0};
  const TensorView& z = ctx.input(i);
  if (z.dtype() != like)
    return node_error(StatusCode::invalid_argument, node, what, " must be ", dtype_name(like), " like its input, found ",
                      dtype_name(z.dtype()));
  if (z.numel() != 1 && (per == 0 || z.numel() != per))
    return node_error(StatusCode::invalid_argument, node, what, " must have 1", per ? " or " : "",
                      per ? std::to_string(per) : std::string(), " elements, found shape ", z.shape().to_string());
  std::vector<int32_t> r(static_cast<size_t>(z.numel()));
  for (size_t k = 0; k < r.size(); ++k) r[k] = int_at(z, static_cast<int64_t>(k));
  return r;
}

Result<std::vector<float>> conv_scale(const graph::Node& node, const TensorView& t, int64_t per, const char* what) {
  if (t.dtype() != DType::f32)
    return node_error(StatusCode::invalid_argument, node, what, " must be float32, found ", dtype_name(t.dtype()));
  if (t.numel() != 1 && (per == 0 || t.numel() != per))
    return node_error(StatusCode::invalid_argument, node, what, " must have 1", per ? " or " : "",
                      per ? std::to_string(per) : std::string(), " elements, found shape ", t.shape().to_string());
  return std::vector<float>(t.data_as<const float>(), t.data_as<const float>() + t.numel());
}

// W prepared at kernel creation when it and its zero points are constants with a usable shape.
std::shared_ptr<const ConvWeights> prepare_constant_conv(const graph::Graph& gr, const graph::Node& node,
                                                         const ConvAttrs& at, int w_input, int zw_input) {
  const graph::ConstantData* cw = constant_input(gr, node, w_input);
  if (!cw || !is_q8(cw->view.dtype()) || cw->view.rank() < 3) return nullptr;
  std::vector<int32_t> zw{0};
  if (zw_input < static_cast<int>(node.inputs.size()) && node.inputs[static_cast<size_t>(zw_input)] != graph::kNoValue) {
    const graph::ConstantData* cz = constant_input(gr, node, zw_input);
    if (!cz || cz->view.dtype() != cw->view.dtype()) return nullptr;
    zw.resize(static_cast<size_t>(cz->view.numel()));
    for (size_t i = 0; i < zw.size(); ++i) zw[i] = int_at(cz->view, static_cast<int64_t>(i));
  }
  // The geometry needs an input shape: take the weight's own channel count and unit spatial sizes
  // large enough for the kernel; only M, Cg, group and kvol are used by the preparation.
  Shape xs{1, cw->view.shape()[1] * std::max<int64_t>(1, at.group)};
  for (int d = 2; d < cw->view.rank(); ++d) xs.push_back(cw->view.shape()[d] * 4 + 8);
  auto geo = conv_geometry(node, at, xs, cw->view.shape(), false);
  if (!geo.is_ok() || (zw.size() != 1 && static_cast<int64_t>(zw.size()) != geo->M)) return nullptr;
  auto w = prepare_conv_weights(*geo, cw->view, zw);
  if (!w.is_ok()) return nullptr;
  return std::make_shared<const ConvWeights>(std::move(*w));
}

}  // namespace

Result<std::unique_ptr<backend::Kernel>> make_qlinear_conv(const graph::Graph& gr, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 8, 9, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const ConvAttrs at, parse_conv_attrs(node, false));
  auto prepared = prepare_constant_conv(gr, node, at, 3, 5);
  return make_kernel([at, prepared, nref = node_ref(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& x = ctx.input(0);
    const TensorView& w = ctx.input(3);
    if (!is_q8(x.dtype()) || !is_q8(w.dtype()))
      return node_error(StatusCode::invalid_argument, nref, "x and w must be uint8 or int8, found ",
                        dtype_name(x.dtype()), " and ", dtype_name(w.dtype()));
    OBOL_ASSIGN_OR_RETURN(const ConvGeom geo, conv_geometry(nref, at, x.shape(), w.shape(), false));
    OBOL_ASSIGN_OR_RETURN(const std::vector<float> sx, conv_scale(nref, ctx.input(1), 0, "x_scale"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<float> sw, conv_scale(nref, ctx.input(4), geo.M, "w_scale"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<float> sy, conv_scale(nref, ctx.input(6), 0, "y_scale"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<int32_t> zx, conv_zero_point(nref, ctx, 2, x.dtype(), 0, "x_zero_point"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<int32_t> zw, conv_zero_point(nref, ctx, 5, w.dtype(), geo.M, "w_zero_point"));
    const DType yt = ctx.input(7).dtype();
    if (!is_q8(yt))
      return node_error(StatusCode::invalid_argument, nref, "y_zero_point must be uint8 or int8, found ", dtype_name(yt));
    OBOL_ASSIGN_OR_RETURN(const std::vector<int32_t> zy, conv_zero_point(nref, ctx, 7, yt, 0, "y_zero_point"));
    const int32_t* bias = nullptr;
    if (ctx.input_count() > 8 && ctx.has_input(8)) {
      const TensorView& b = ctx.input(8);
      if (b.dtype() != DType::i32 || b.numel() != geo.M)
        return node_error(StatusCode::invalid_argument, nref, "B must be int32 with ", geo.M, " elements, found ",
                          dtype_name(b.dtype()), b.shape().to_string());
      bias = b.data_as<const int32_t>();
    }
    OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, yt, geo.out_shape));
    if (y.numel() == 0) return Status::ok();
    int32_t lo = 0, hi = 0;
    quant_range(yt, lo, hi);
    return conv_integer_gemm(nref, ctx, geo, x, w, zx[0], zw, prepared, [&](int64_t n, const int32_t* acc) {
      parallel_for_range(geo.M, 1, [&](int64_t m0, int64_t m1) {
        for (int64_t m = m0; m < m1; ++m) {
          // As the ONNX reference: (int32 sum + bias) * (x_scale * w_scale / y_scale) + y_zero_point, then rint.
          const float scale = sx[0] * sw[sw.size() == 1 ? 0 : static_cast<size_t>(m)] / sy[0];
          const int64_t base = (n * geo.M + m) * geo.out_size;
          for (int64_t o = 0; o < geo.out_size; ++o) {
            const int32_t a = acc[o * geo.M + m] + (bias ? bias[m] : 0);
            const int32_t q = quantize_value(static_cast<float>(a) * scale + static_cast<float>(zy[0]), 0, lo, hi);
            if (yt == DType::u8) y.data_as<uint8_t>()[base + o] = static_cast<uint8_t>(q);
            else y.data_as<int8_t>()[base + o] = static_cast<int8_t>(q);
          }
        }
      });
    });
  });
}

Result<std::unique_ptr<backend::Kernel>> make_conv_integer(const graph::Graph& gr, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 4, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const ConvAttrs at, parse_conv_attrs(node, false));
  auto prepared = prepare_constant_conv(gr, node, at, 1, 3);
  return make_kernel([at, prepared, nref = node_ref(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& x = ctx.input(0);
    const TensorView& w = ctx.input(1);
    if (!is_q8(x.dtype()) || !is_q8(w.dtype()))
      return node_error(StatusCode::invalid_argument, nref, "x and w must be uint8 or int8, found ",
                        dtype_name(x.dtype()), " and ", dtype_name(w.dtype()));
    OBOL_ASSIGN_OR_RETURN(const ConvGeom geo, conv_geometry(nref, at, x.shape(), w.shape(), false));
    OBOL_ASSIGN_OR_RETURN(const std::vector<int32_t> zx, conv_zero_point(nref, ctx, 2, x.dtype(), 0, "x_zero_point"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<int32_t> zw, conv_zero_point(nref, ctx, 3, w.dtype(), geo.M, "w_zero_point"));
    OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, DType::i32, geo.out_shape));
    if (y.numel() == 0) return Status::ok();
    int32_t* py = y.data_as<int32_t>();
    return conv_integer_gemm(nref, ctx, geo, x, w, zx[0], zw, prepared, [&](int64_t n, const int32_t* acc) {
      for (int64_t m = 0; m < geo.M; ++m)
        for (int64_t o = 0; o < geo.out_size; ++o) py[(n * geo.M + m) * geo.out_size + o] = acc[o * geo.M + m];
    });
  });
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
