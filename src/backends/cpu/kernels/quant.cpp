// CPU kernels: QuantizeLinear, DequantizeLinear (ai.onnx opsets 10-21 and com.microsoft),
// DynamicQuantizeLinear, com.microsoft QLinearAdd/QLinearMul. Integer matmuls live in
// quant_matmul.cpp, the 4-bit weight-only matmul in quant_nbits.cpp.
#include "quant_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

void register_quant_matmul(CpuOpRegistry& r);
void register_quant_nbits(CpuOpRegistry& r);

// Both run the isa tier's kernel (KernelTable::minmax_f32 / quantize_u8_f32), split across threads.
void minmax_f32(const float* x, int64_t n, float& lo, float& hi) {
  const kernels::KernelTable& k = kernels::cpu_kernels();
  constexpr int64_t kChunk = 1 << 16;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  if (chunks <= 1) {
    k.minmax_f32(x, n, &lo, &hi);
    return;
  }
  std::vector<float> part_lo(static_cast<size_t>(chunks)), part_hi(static_cast<size_t>(chunks));
  std::vector<char> any(static_cast<size_t>(chunks));
  parallel_for(chunks, [&](int64_t c) {
    const int64_t b0 = c * kChunk, b1 = std::min(n, b0 + kChunk);
    const auto u = static_cast<size_t>(c);
    k.minmax_f32(x + b0, b1 - b0, &part_lo[u], &part_hi[u]);
    // A chunk of only NaN reports 0 / 0, which must not count as values.
    any[u] = 0;
    for (int64_t i = b0; i < b1 && !any[u]; ++i) any[u] = x[i] == x[i];
  });
  bool found = false;
  for (size_t c = 0; c < part_lo.size(); ++c) {
    if (!any[c]) continue;
    lo = found ? std::min(lo, part_lo[c]) : part_lo[c];
    hi = found ? std::max(hi, part_hi[c]) : part_hi[c];
    found = true;
  }
  if (!found) lo = hi = 0.0f;
}

void quantize_u8_f32(const float* x, int64_t n, float scale, uint8_t zero_point, uint8_t* y) {
  const kernels::KernelTable& k = kernels::cpu_kernels();
  parallel_for_range(n, 1 << 14, [&](int64_t i0, int64_t i1) {
    k.quantize_u8_f32(x + i0, i1 - i0, scale, zero_point, y + i0);
  });
}

namespace {

struct QdqAttrs {
  int64_t axis = 1;
  int64_t block_size = 0;
  int64_t output_dtype = 0;  // an ONNX DataType, 0 = from the zero point (or uint8)
};

Result<QdqAttrs> parse_qdq_attrs(const graph::Node& node) {
  QdqAttrs a;
  OBOL_ASSIGN_OR_RETURN(a.axis, node.attr_int("axis", 1));
  OBOL_ASSIGN_OR_RETURN(a.block_size, node.attr_int("block_size", 0));
  OBOL_ASSIGN_OR_RETURN(a.output_dtype, node.attr_int("output_dtype", 0));
  OBOL_ASSIGN_OR_RETURN(const int64_t saturate, node.attr_int("saturate", 1));
  (void)saturate;  // only changes float8 outputs, which obol has no dtype for
  if (a.block_size < 0) return node_error(StatusCode::invalid_argument, node, "block_size must be >= 0, found ", a.block_size);
  return a;
}

// The DType of an ONNX output_dtype attribute among the quantized types obol has.
Result<DType> quant_output_dtype(const graph::Node& node, int64_t onnx_type) {
  switch (onnx_type) {
    case 2: return DType::u8;
    case 3: return DType::i8;
    case 4: return DType::u16;
    case 5: return DType::i16;
    default:
      return node_error(StatusCode::unsupported, node, "output_dtype ", onnx_type,
                        " is not supported (uint8, int8, uint16 and int16 are)");
  }
}

// Calls f(o, d, i0, i1, base) for the elements base + i, i in [i0, i1), of x viewed as
// [outer, D, inner], in parallel (over rows, or over the elements of a per-tensor layout).
template <class F>
void for_each_param_row(const QuantParamLayout& l, F&& f) {
  if (l.outer * l.D == 1) {
    parallel_for_range(l.inner, 16384, [&](int64_t i0, int64_t i1) { f(int64_t{0}, int64_t{0}, i0, i1, int64_t{0}); });
    return;
  }
  parallel_for_range(l.outer * l.D, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, l.inner)),
                     [&](int64_t r0, int64_t r1) {
                       for (int64_t r = r0; r < r1; ++r) f(r / l.D, r % l.D, int64_t{0}, l.inner, r * l.inner);
                     });
}

Result<std::unique_ptr<backend::Kernel>> make_quantize_linear(const graph::Graph&, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 3, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const QdqAttrs at, parse_qdq_attrs(node));
  DType attr_type = DType::invalid;
  if (at.output_dtype != 0) {
    OBOL_ASSIGN_OR_RETURN(attr_type, quant_output_dtype(node, at.output_dtype));
  }
  return make_kernel([at, attr_type, nref = node_ref(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& x = ctx.input(0);
    const TensorView& s = ctx.input(1);
    const bool has_zp = ctx.input_count() > 2 && ctx.has_input(2);
    if (!is_float_dtype(x.dtype()) && x.dtype() != DType::i32)
      return node_error(StatusCode::invalid_argument, nref, "x must be float, float16, bfloat16 or int32, found ",
                        dtype_name(x.dtype()));
    if (!is_float_dtype(s.dtype()))
      return node_error(StatusCode::invalid_argument, nref, "y_scale must be a float tensor, found ",
                        dtype_name(s.dtype()));
    DType yt = has_zp ? ctx.input(2).dtype() : (attr_type != DType::invalid ? attr_type : DType::u8);
    if (has_zp && attr_type != DType::invalid && attr_type != yt)
      return node_error(StatusCode::invalid_argument, nref, "output_dtype says ", dtype_name(attr_type),
                        " but y_zero_point is ", dtype_name(yt));
    int32_t lo = 0, hi = 0;
    if (!quant_range(yt, lo, hi))
      return node_error(StatusCode::unsupported, nref, "quantizing to ", dtype_name(yt),
                        " is not supported (uint8, int8, uint16 and int16 are)");
    OBOL_ASSIGN_OR_RETURN(const QuantParamLayout l, quant_param_layout(nref, x.shape(), s.shape(), at.axis, at.block_size));
    if (has_zp && ctx.input(2).shape() != s.shape() && !(ctx.input(2).numel() == 1 && s.numel() == 1))
      return node_error(StatusCode::invalid_argument, nref, "y_zero_point has shape ", ctx.input(2).shape().to_string(),
                        ", y_scale ", s.shape().to_string(), ": they must match");
    OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, yt, x.shape()));
    if (x.numel() == 0) return Status::ok();
    const TensorView* zpv = has_zp ? &ctx.input(2) : nullptr;
    return dispatch_dtype<uint8_t, int8_t, uint16_t, int16_t>(yt, "QuantizeLinear", [&](auto tag) -> Status {
      using TY = decltype(tag);
      TY* py = y.data_as<TY>();
      const bool xf32 = x.dtype() == DType::f32, sf32 = s.dtype() == DType::f32;
      if (xf32 && sf32 && l.kind == QuantParamLayout::Kind::tensor) {  // the QDQ activation case
        const float scale = s.data_as<const float>()[0];
        const float zp = zpv ? static_cast<float>(int_at(*zpv, 0)) : 0.0f;
        const float vlo = static_cast<float>(lo) - zp - 1.0f, vhi = static_cast<float>(hi) - zp + 1.0f;
        const float flo = static_cast<float>(lo), fhi = static_cast<float>(hi);
        const float* px = x.data_as<const float>();
        if constexpr (std::is_same_v<TY, uint8_t>) {
          if (std::isfinite(scale) && scale > 0.0f) {  // the isa kernel's contract
            quantize_u8_f32(px, x.numel(), scale, static_cast<uint8_t>(zp), py);
            return Status::ok();
          }
        }
        parallel_for_range(x.numel(), 16384, [&](int64_t i0, int64_t i1) {
          for (int64_t i = i0; i < i1; ++i) {
            const float v = std::max(std::min(px[i] / scale, vhi), vlo);
            const float r = round_half_even_small(v) + zp;
            py[i] = static_cast<TY>(r > flo ? (r < fhi ? r : fhi) : flo);  // NaN: lo
          }
        });
        return Status::ok();
      }
      for_each_param_row(l, [&](int64_t o, int64_t d, int64_t i0, int64_t i1, int64_t base) {
        for (int64_t i = i0; i < i1; ++i) {
          const int64_t p = l.index(o, d, i);
          const float scale = sf32 ? s.data_as<const float>()[p] : float_at(s, p);
          const int32_t zp = zpv ? int_at(*zpv, p) : 0;
          const int64_t k = base + i;
          float v;
          if (xf32) v = x.data_as<const float>()[k] / scale;
          else if (x.dtype() == DType::i32) v = static_cast<float>(x.data_as<const int32_t>()[k]) / scale;
          else v = float_at(x, k) / scale;
          py[k] = static_cast<TY>(quantize_value(v, zp, lo, hi));
        }
      });
      return Status::ok();
    });
  });
}

Result<std::unique_ptr<backend::Kernel>> make_dequantize_linear(const graph::Graph&, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 3, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const QdqAttrs at, parse_qdq_attrs(node));
  return make_kernel([at, nref = node_ref(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& x = ctx.input(0);
    const TensorView& s = ctx.input(1);
    const bool has_zp = ctx.input_count() > 2 && ctx.has_input(2);
    int32_t lo = 0, hi = 0;
    if (!quant_range(x.dtype(), lo, hi) && x.dtype() != DType::i32)
      return node_error(StatusCode::unsupported, nref, "x of type ", dtype_name(x.dtype()),
                        " is not supported (uint8, int8, uint16, int16 and int32 are)");
    if (!is_float_dtype(s.dtype()) || s.dtype() == DType::f64)
      return node_error(StatusCode::invalid_argument, nref, "x_scale must be float, float16 or bfloat16, found ",
                        dtype_name(s.dtype()));
    if (has_zp && ctx.input(2).dtype() != x.dtype())
      return node_error(StatusCode::invalid_argument, nref, "x_zero_point must be ", dtype_name(x.dtype()),
                        " like x, found ", dtype_name(ctx.input(2).dtype()));
    OBOL_ASSIGN_OR_RETURN(const QuantParamLayout l, quant_param_layout(nref, x.shape(), s.shape(), at.axis, at.block_size));
    if (has_zp && ctx.input(2).shape() != s.shape() && !(ctx.input(2).numel() == 1 && s.numel() == 1))
      return node_error(StatusCode::invalid_argument, nref, "x_zero_point has shape ", ctx.input(2).shape().to_string(),
                        ", x_scale ", s.shape().to_string(), ": they must match");
    const TensorView* zpv = has_zp ? &ctx.input(2) : nullptr;
    if (x.dtype() == DType::i32 && zpv)
      for (int64_t i = 0; i < zpv->numel(); ++i)
        if (int_at(*zpv, i) != 0)
          return node_error(StatusCode::invalid_argument, nref, "an int32 x needs a zero point of 0");
    OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, s.dtype(), x.shape()));
    if (x.numel() == 0) return Status::ok();
    const DType yt = s.dtype();
    for_each_param_row(l, [&](int64_t o, int64_t d, int64_t i0, int64_t i1, int64_t base) {
      for (int64_t i = i0; i < i1; ++i) {
        const int64_t p = l.index(o, d, i), k = base + i;
        const float zp = zpv ? static_cast<float>(int_at(*zpv, p)) : 0.0f;
        const float v = (static_cast<float>(int_at(x, k)) - zp) * float_at(s, p);
        if (yt == DType::f32) y.data_as<float>()[k] = v;
        else if (yt == DType::f16) y.data_as<uint16_t>()[k] = f32_to_f16(v);
        else y.data_as<uint16_t>()[k] = f32_to_bf16(v);
      }
    });
    return Status::ok();
  });
}

Result<std::unique_ptr<backend::Kernel>> make_dynamic_quantize_linear(const graph::Graph&, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 1, 3, 3));
  return make_kernel([nref = node_ref(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& x = ctx.input(0);
    if (x.dtype() != DType::f32)
      return node_error(StatusCode::invalid_argument, nref, "x must be float32, found ", dtype_name(x.dtype()));
    float lo = 0, hi = 0, scale = 0;
    uint8_t zp = 0;
    minmax_f32(x.data_as<const float>(), x.numel(), lo, hi);
    dynamic_uint8_params(lo, hi, scale, zp);
    OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, DType::u8, x.shape()));
    OBOL_ASSIGN_OR_RETURN(TensorView ys, ctx.output(1, DType::f32, Shape{}));
    OBOL_ASSIGN_OR_RETURN(TensorView yz, ctx.output(2, DType::u8, Shape{}));
    quantize_u8_f32(x.data_as<const float>(), x.numel(), scale, zp, y.data_as<uint8_t>());
    ys.data_as<float>()[0] = scale;
    yz.data_as<uint8_t>()[0] = zp;
    return Status::ok();
  });
}

// com.microsoft QLinearAdd / QLinearMul: C = quantize(dequantize(A) op dequantize(B)), numpy
// broadcasting, per-tensor parameters, A, B and C of one type (uint8 or int8).
template <bool kMul>
Result<std::unique_ptr<backend::Kernel>> make_qlinear_binary(const graph::Graph&, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 7, 8, 1, 1));
  return make_kernel([nref = node_ref(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& a = ctx.input(0);
    const TensorView& b = ctx.input(3);
    const DType t = a.dtype();
    int32_t lo = 0, hi = 0;
    if ((t != DType::u8 && t != DType::i8) || b.dtype() != t)
      return node_error(StatusCode::invalid_argument, nref, "A and B must both be uint8 or both int8, found ",
                        dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
    quant_range(t, lo, hi);
    OBOL_ASSIGN_OR_RETURN(const std::vector<float> sa, read_float_param(nref, ctx.input(1), 1, "A_scale"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<float> sb, read_float_param(nref, ctx.input(4), 1, "B_scale"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<float> sc, read_float_param(nref, ctx.input(6), 1, "C_scale"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<int32_t> za, read_int_param(nref, ctx, 2, t, 1, "A_zero_point"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<int32_t> zb, read_int_param(nref, ctx, 5, t, 1, "B_zero_point"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<int32_t> zc, read_int_param(nref, ctx, 7, t, 1, "C_zero_point"));
    OBOL_ASSIGN_OR_RETURN(const Shape out, broadcast_shapes(a.shape(), b.shape()));
    OBOL_ASSIGN_OR_RETURN(TensorView c, ctx.output(0, t, out));
    const float fa = sa[0], fb = sb[0], fc = sc[0];
    const float za0 = static_cast<float>(za[0]), zb0 = static_cast<float>(zb[0]);
    const int32_t zc0 = zc[0];
    auto run = [&](auto tag) {
      using T = decltype(tag);
      broadcast_binary<T, T, T>(a, b, c, [&](T x, T y) {
        const float vx = (static_cast<float>(x) - za0) * fa, vy = (static_cast<float>(y) - zb0) * fb;
        return static_cast<T>(quantize_value((kMul ? vx * vy : vx + vy) / fc, zc0, lo, hi));
      });
    };
    if (t == DType::u8) run(uint8_t{});
    else run(int8_t{});
    return Status::ok();
  });
}

}  // namespace

void register_quant(CpuOpRegistry& r) {
  r.add(graph::OpKind::QuantizeLinear, &make_quantize_linear);
  r.add(graph::OpKind::MsQuantizeLinear, &make_quantize_linear);
  r.add(graph::OpKind::DequantizeLinear, &make_dequantize_linear);
  r.add(graph::OpKind::MsDequantizeLinear, &make_dequantize_linear);
  r.add(graph::OpKind::DynamicQuantizeLinear, &make_dynamic_quantize_linear);
  r.add(graph::OpKind::MsQLinearAdd, &make_qlinear_binary<false>);
  r.add(graph::OpKind::MsQLinearMul, &make_qlinear_binary<true>);
  register_quant_matmul(r);
  register_quant_nbits(r);
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
