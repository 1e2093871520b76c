// CPU kernel: ConvInteger (uint8/int8 inputs with zero points, int32 output), as plain loops.
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

}  // namespace

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
    const bool xu = x.dtype() == DType::u8, wu = w.dtype() == DType::u8;
    if (xu && wu) conv_integer(geo, x.data_as<const uint8_t>(), w.data_as<const uint8_t>(), zx[0], zw, py);
    else if (xu) conv_integer(geo, x.data_as<const uint8_t>(), w.data_as<const int8_t>(), zx[0], zw, py);
    else if (wu) conv_integer(geo, x.data_as<const int8_t>(), w.data_as<const uint8_t>(), zx[0], zw, py);
    else conv_integer(geo, x.data_as<const int8_t>(), w.data_as<const int8_t>(), zx[0], zw, py);
    return Status::ok();
  });
}

}  // namespace obol::cpu
