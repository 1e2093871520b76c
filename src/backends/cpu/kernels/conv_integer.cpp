// CPU kernels: ConvInteger (uint8/int8 inputs with zero points, int32 output) and QLinearConv (the
// same, requantized to uint8/int8), as plain loops.
#include <cmath>
#include <limits>

#include "conv_util.hpp"

namespace obol::cpu {
namespace {

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
  for (size_t k = 0; k < r.size(); ++k)
    r[k] = like == DType::u8 ? z.data_as<const uint8_t>()[k] : z.data_as<const int8_t>()[k];
  return r;
}

template <class TX, class TW>
void conv_integer(const ConvGeom& g, const TX* x, const TW* w, int32_t zx, const std::vector<int32_t>& zw, int32_t* y) {
  conv_direct<int32_t>(
      g, [&](int64_t i) { return static_cast<int32_t>(x[i]) - zx; },
      [&](int64_t m, int64_t i) { return static_cast<int32_t>(w[i]) - zw[zw.size() == 1 ? 0 : static_cast<size_t>(m)]; },
      [&](int64_t i, int64_t, int32_t acc) { y[i] = acc; });
}

// Runs `f(x, w)` with x and w typed by their dtypes (uint8 or int8 each).
template <class F>
void dispatch_u8_i8(const TensorView& x, const TensorView& w, F&& f) {
  const bool xu = x.dtype() == DType::u8, wu = w.dtype() == DType::u8;
  if (xu && wu) f(x.data_as<const uint8_t>(), w.data_as<const uint8_t>());
  else if (xu) f(x.data_as<const uint8_t>(), w.data_as<const int8_t>());
  else if (wu) f(x.data_as<const int8_t>(), w.data_as<const uint8_t>());
  else f(x.data_as<const int8_t>(), w.data_as<const int8_t>());
}

Result<std::vector<float>> conv_scale(const graph::Node& node, const TensorView& t, int64_t per, const char* what) {
  if (t.dtype() != DType::f32)
    return node_error(StatusCode::invalid_argument, node, what, " must be float32, found ", dtype_name(t.dtype()));
  if (t.numel() != 1 && (per == 0 || t.numel() != per))
    return node_error(StatusCode::invalid_argument, node, what, " must have 1", per ? " or " : "",
                      per ? std::to_string(per) : std::string(), " elements, found shape ", t.shape().to_string());
  return std::vector<float>(t.data_as<const float>(), t.data_as<const float>() + t.numel());
}

template <class T>
T saturate_round(double v) {
  const double lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  return static_cast<T>(std::min(hi, std::max(lo, std::nearbyint(v))));
}

}  // namespace

Result<std::unique_ptr<backend::Kernel>> make_qlinear_conv(const graph::Graph&, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 8, 9, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const ConvAttrs at, parse_conv_attrs(node, false));
  return make_kernel([at, nref = node_ref(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& x = ctx.input(0);
    const TensorView& w = ctx.input(3);
    for (const TensorView* t : {&x, &w})
      if (t->dtype() != DType::u8 && t->dtype() != DType::i8)
        return node_error(StatusCode::invalid_argument, nref, "x and w must be uint8 or int8, found ",
                          dtype_name(x.dtype()), " and ", dtype_name(w.dtype()));
    OBOL_ASSIGN_OR_RETURN(const ConvGeom geo, conv_geometry(nref, at, x.shape(), w.shape(), false));
    OBOL_ASSIGN_OR_RETURN(const std::vector<float> sx, conv_scale(nref, ctx.input(1), 0, "x_scale"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<float> sw, conv_scale(nref, ctx.input(4), geo.M, "w_scale"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<float> sy, conv_scale(nref, ctx.input(6), 0, "y_scale"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<int32_t> zx, conv_zero_point(nref, ctx, 2, x.dtype(), 0, "x_zero_point"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<int32_t> zw, conv_zero_point(nref, ctx, 5, w.dtype(), geo.M, "w_zero_point"));
    const DType yt = ctx.input(7).dtype();
    if (yt != DType::u8 && yt != DType::i8)
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
    dispatch_u8_i8(x, w, [&](auto px, auto pw) {
      conv_direct<int32_t>(
          geo, [&](int64_t i) { return static_cast<int32_t>(px[i]) - zx[0]; },
          [&](int64_t m, int64_t i) { return static_cast<int32_t>(pw[i]) - zw[zw.size() == 1 ? 0 : static_cast<size_t>(m)]; },
          [&](int64_t i, int64_t m, int32_t acc) {
            if (bias) acc += bias[m];
            const float scale = sx[0] * sw[sw.size() == 1 ? 0 : static_cast<size_t>(m)] / sy[0];
            const double v = static_cast<double>(acc) * static_cast<double>(scale) + zy[0];
            if (yt == DType::u8) y.data_as<uint8_t>()[i] = saturate_round<uint8_t>(v);
            else y.data_as<int8_t>()[i] = saturate_round<int8_t>(v);
          });
    });
    return Status::ok();
  });
}

Result<std::unique_ptr<backend::Kernel>> make_conv_integer(const graph::Graph&, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 4, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const ConvAttrs at, parse_conv_attrs(node, false));
  return make_kernel([at, nref = node_ref(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& x = ctx.input(0);
    const TensorView& w = ctx.input(1);
    for (const TensorView* t : {&x, &w})
      if (t->dtype() != DType::u8 && t->dtype() != DType::i8)
        return node_error(StatusCode::invalid_argument, nref, "x and w must be uint8 or int8, found ",
                          dtype_name(x.dtype()), " and ", dtype_name(w.dtype()));
    OBOL_ASSIGN_OR_RETURN(const ConvGeom geo, conv_geometry(nref, at, x.shape(), w.shape(), false));
    OBOL_ASSIGN_OR_RETURN(const std::vector<int32_t> zx, conv_zero_point(nref, ctx, 2, x.dtype(), 0, "x_zero_point"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<int32_t> zw, conv_zero_point(nref, ctx, 3, w.dtype(), geo.M, "w_zero_point"));
    OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, DType::i32, geo.out_shape));
    if (y.numel() == 0) return Status::ok();
    int32_t* py = y.data_as<int32_t>();
    dispatch_u8_i8(x, w, [&](auto px, auto pw) { conv_integer(geo, px, pw, zx[0], zw, py); });
    return Status::ok();
  });
}

}  // namespace obol::cpu
