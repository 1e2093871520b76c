// CPU kernels: integer matmuls. MatMulInteger, QLinearMatMul, com.microsoft DynamicQuantizeMatMul
// and com.microsoft MatMulIntegerToFloat. All run on the int8 GEMM (quant_gemm.hpp): constant
// weights are prepared once when the kernel is created, other B operands per run.
#include "quant_gemm.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

namespace {

// Quantized operand types: uint8 or int8.
bool is_q8(DType t) { return t == DType::u8 || t == DType::i8; }

// Prepared weights of a constant B, when it is 2-D (or 1-D) with usable zero points; else null.
std::shared_ptr<const QWeights> prepare_constant_b(const graph::Graph& g, const graph::Node& node, int b_input,
                                                   int zp_input) {
  const graph::ConstantData* cb = constant_input(g, node, b_input);
  if (!cb || !is_q8(cb->view.dtype()) || cb->view.rank() < 1 || cb->view.rank() > 2 || cb->view.numel() == 0)
    return nullptr;
  const Shape& bs = cb->view.shape();
  const int64_t K = bs[0], N = bs.rank() == 2 ? bs[1] : 1;
  std::vector<int32_t> zb{0};
  if (zp_input >= 0 && zp_input < static_cast<int>(node.inputs.size()) &&
      node.inputs[static_cast<size_t>(zp_input)] != graph::kNoValue) {
    const graph::ConstantData* cz = constant_input(g, node, zp_input);
    if (!cz || cz->view.dtype() != cb->view.dtype() || (cz->view.numel() != 1 && cz->view.numel() != N)) return nullptr;
    zb.assign(static_cast<size_t>(cz->view.numel()), 0);
    for (size_t j = 0; j < zb.size(); ++j) zb[j] = int_at(cz->view, static_cast<int64_t>(j));
  }
  auto w = prepare_qweights(cb->view.data(), cb->view.dtype() == DType::u8, K, N, N, zb);
  if (!w.is_ok()) return nullptr;
  return std::make_shared<const QWeights>(std::move(*w));
}

// The weights a run multiplies by: the prepared constant, or B of this run prepared into `tmp`.
Result<const QWeights*> weights_for_run(const graph::Node& node, const std::shared_ptr<const QWeights>& prepared,
                                        const TensorView& b, int64_t ib, const MatMulShape& s,
                                        const std::vector<int32_t>& zb, QWeights& tmp) {
  if (prepared && prepared->K == s.K && prepared->N == s.N && s.b_batches == 1) return prepared.get();
  const size_t esz = 1;
  OBOL_ASSIGN_OR_RETURN(tmp, prepare_qweights(static_cast<const uint8_t*>(b.data()) + ib * s.K * s.N * esz,
                                              b.dtype() == DType::u8, s.K, s.N, s.N, zb));
  (void)node;
  return &tmp;
}

// acc (batches x M x N) = (A - za) x (B - zb) for every batch of a numpy matmul.
Status integer_matmul(const graph::Node& node, const MatMulShape& s, const TensorView& a,
                      const std::vector<int32_t>& za, const TensorView& b, const std::vector<int32_t>& zb,
                      const std::shared_ptr<const QWeights>& prepared, int32_t* acc) {
  if (s.batches == 0 || s.M == 0 || s.N == 0) return Status::ok();
  const bool au = a.dtype() == DType::u8;
  const auto* pa = static_cast<const uint8_t*>(a.data());
  const bool one_b = s.b_batches == 1 && s.a_batches == s.batches && za.size() == 1;
  QWeights tmp;
  if (one_b) {  // one B for every batch: the batches of A stack into one taller product
    OBOL_ASSIGN_OR_RETURN(const QWeights* w, weights_for_run(node, prepared, b, 0, s, zb, tmp));
    return qgemm_s32(pa, au, s.batches * s.M, s.K, za, *w, acc, s.N);
  }
  int64_t last_ib = -1;
  const QWeights* w = nullptr;
  for (int64_t bi = 0; bi < s.batches; ++bi) {
    int64_t ia, ib;
    s.offsets(bi, ia, ib);
    if (ib != last_ib) {
      OBOL_ASSIGN_OR_RETURN(w, weights_for_run(node, prepared, b, ib, s, zb, tmp));
      last_ib = ib;
    }
    OBOL_RETURN_IF_ERROR(qgemm_s32(pa + ia * s.M * s.K, au, s.M, s.K, za, *w, acc + bi * s.M * s.N, s.N));
  }
  return Status::ok();
}

Status check_q8_pair(const graph::Node& node, const TensorView& a, const TensorView& b, const char* names) {
  if (!is_q8(a.dtype()) || !is_q8(b.dtype()))
    return node_error(StatusCode::invalid_argument, node, names, " must be uint8 or int8, found ", dtype_name(a.dtype()),
                      " and ", dtype_name(b.dtype()));
  return Status::ok();
}

Result<std::unique_ptr<backend::Kernel>> make_matmul_integer(const graph::Graph& g, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 4, 1, 1));
  auto prepared = prepare_constant_b(g, node, 1, 3);
  return make_kernel([prepared, nref = node_ref(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& a = ctx.input(0);
    const TensorView& b = ctx.input(1);
    OBOL_RETURN_IF_ERROR(check_q8_pair(nref, a, b, "A and B"));
    OBOL_ASSIGN_OR_RETURN(const MatMulShape s, matmul_shape(nref, a.shape(), b.shape()));
    OBOL_ASSIGN_OR_RETURN(const std::vector<int32_t> za, read_int_param(nref, ctx, 2, a.dtype(), s.M, "a_zero_point"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<int32_t> zb, read_int_param(nref, ctx, 3, b.dtype(), s.N, "b_zero_point"));
    OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, DType::i32, s.out));
    return integer_matmul(nref, s, a, za, b, zb, prepared, y.data_as<int32_t>());
  });
}

Result<std::unique_ptr<backend::Kernel>> make_qlinear_matmul(const graph::Graph& g, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 8, 8, 1, 1));
  auto prepared = prepare_constant_b(g, node, 3, 5);
  return make_kernel([prepared, nref = node_ref(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& a = ctx.input(0);
    const TensorView& b = ctx.input(3);
    OBOL_RETURN_IF_ERROR(check_q8_pair(nref, a, b, "a and b"));
    OBOL_ASSIGN_OR_RETURN(const MatMulShape s, matmul_shape(nref, a.shape(), b.shape()));
    OBOL_ASSIGN_OR_RETURN(const std::vector<float> sa, read_float_param(nref, ctx.input(1), s.M, "a_scale"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<float> sb, read_float_param(nref, ctx.input(4), s.N, "b_scale"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<float> sy, read_float_param(nref, ctx.input(6), s.M, "y_scale"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<int32_t> za, read_int_param(nref, ctx, 2, a.dtype(), s.M, "a_zero_point"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<int32_t> zb, read_int_param(nref, ctx, 5, b.dtype(), s.N, "b_zero_point"));
    const DType yt = ctx.input(7).dtype();
    if (!is_q8(yt))
      return node_error(StatusCode::invalid_argument, nref, "y_zero_point must be uint8 or int8, found ", dtype_name(yt));
    OBOL_ASSIGN_OR_RETURN(const std::vector<int32_t> zy, read_int_param(nref, ctx, 7, yt, s.M, "y_zero_point"));
    OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, yt, s.out));
    if (y.numel() == 0) return Status::ok();
    OBOL_ASSIGN_OR_RETURN(void* mem, ctx.scratch(static_cast<size_t>(y.numel()) * sizeof(int32_t)));
    auto* acc = static_cast<int32_t*>(mem);
    OBOL_RETURN_IF_ERROR(integer_matmul(nref, s, a, za, b, zb, prepared, acc));
    int32_t lo = 0, hi = 0;
    quant_range(yt, lo, hi);
    const int64_t rows = s.batches * s.M;
    parallel_for_range(rows, std::max<int64_t>(1, 4096 / s.N), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const size_t i = static_cast<size_t>(r % s.M);
        const float sai = sa.size() == 1 ? sa[0] : sa[i], syi = sy.size() == 1 ? sy[0] : sy[i];
        const int32_t zyi = zy.size() == 1 ? zy[0] : zy[i];
        for (int64_t j = 0; j < s.N; ++j) {
          // As the ONNX reference: acc * (a_scale * b_scale / y_scale) + y_zero_point in float32, then rint.
          const float scale = sai * (sb.size() == 1 ? sb[0] : sb[static_cast<size_t>(j)]) / syi;
          const int32_t q = quantize_value(static_cast<float>(acc[r * s.N + j]) * scale + static_cast<float>(zyi), 0, lo, hi);
          if (yt == DType::u8) y.data_as<uint8_t>()[r * s.N + j] = static_cast<uint8_t>(q);
          else y.data_as<int8_t>()[r * s.N + j] = static_cast<int8_t>(q);
        }
      }
    });
    return Status::ok();
  });
}

// y[r, j] = acc[r, j] * a_scale * b_scale[j] + bias[j].
void dequantize_rows(const int32_t* acc, int64_t rows, int64_t N, float a_scale, const std::vector<float>& sb,
                     const float* bias, float* y) {
  parallel_for_range(rows, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, N)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int32_t* a = acc + r * N;
      float* o = y + r * N;
      if (sb.size() == 1) {
        const float sc = a_scale * sb[0];
        for (int64_t j = 0; j < N; ++j) o[j] = static_cast<float>(a[j]) * sc + (bias ? bias[j] : 0.0f);
      } else {
        for (int64_t j = 0; j < N; ++j)
          o[j] = static_cast<float>(a[j]) * (a_scale * sb[static_cast<size_t>(j)]) + (bias ? bias[j] : 0.0f);
      }
    }
  });
}

Result<const float*> read_bias(const graph::Node& node, const backend::KernelContext& ctx, int i, int64_t N) {
  if (ctx.input_count() <= i || !ctx.has_input(i)) return static_cast<const float*>(nullptr);
  const TensorView& b = ctx.input(i);
  if (b.dtype() != DType::f32 || b.numel() != N)
    return node_error(StatusCode::invalid_argument, node, "bias must be float32 with ", N, " elements, found ",
                      dtype_name(b.dtype()), b.shape().to_string());
  return b.data_as<const float>();
}

// Y (f32) = (A - za)(B - zb) * a_scale * b_scale + bias: one qgemm with its dequantizing epilogue
// when B was prepared for this shape, else the int32 matmul into scratch, then dequantize_rows.
Status integer_matmul_to_f32(const graph::Node& node, backend::KernelContext& ctx, const MatMulShape& s,
                             const TensorView& a, int32_t za, float a_scale, const TensorView& b,
                             const std::vector<int32_t>& zb, const std::vector<float>& sb, const float* bias,
                             const std::shared_ptr<const QWeights>& prepared, const TensorView& y) {
  if (prepared && prepared->K == s.K && prepared->N == s.N && s.b_batches == 1 && s.a_batches == s.batches)
    return qgemm_f32(a.data(), a.dtype() == DType::u8, s.batches * s.M, za, a_scale, *prepared, sb, bias,
                     y.data_as<float>(), s.N);
  OBOL_ASSIGN_OR_RETURN(void* mem, ctx.scratch(static_cast<size_t>(y.numel()) * sizeof(int32_t)));
  auto* acc = static_cast<int32_t*>(mem);
  OBOL_RETURN_IF_ERROR(integer_matmul(node, s, a, {za}, b, zb, prepared, acc));
  dequantize_rows(acc, s.batches * s.M, s.N, a_scale, sb, bias, y.data_as<float>());
  return Status::ok();
}

// com.microsoft DynamicQuantizeMatMul(A f32, B u8/i8, b_scale, b_zero_point?, bias?): A is quantized
// per run to uint8 as DynamicQuantizeLinear does (range widened to include 0), then
// Y = (A_q - a_zp)(B - b_zp) * a_scale * b_scale + bias.
Result<std::unique_ptr<backend::Kernel>> make_dynamic_quantize_matmul(const graph::Graph& g, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 3, 5, 1, 1));
  auto prepared = prepare_constant_b(g, node, 1, 3);
  return make_kernel([prepared, nref = node_ref(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& a = ctx.input(0);
    const TensorView& b = ctx.input(1);
    if (a.dtype() != DType::f32)
      return node_error(StatusCode::invalid_argument, nref, "A must be float32, found ", dtype_name(a.dtype()));
    if (!is_q8(b.dtype()))
      return node_error(StatusCode::invalid_argument, nref, "B must be uint8 or int8, found ", dtype_name(b.dtype()));
    OBOL_ASSIGN_OR_RETURN(const MatMulShape s, matmul_shape(nref, a.shape(), b.shape()));
    OBOL_ASSIGN_OR_RETURN(const std::vector<float> sb, read_float_param(nref, ctx.input(2), s.N, "b_scale"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<int32_t> zb, read_int_param(nref, ctx, 3, b.dtype(), s.N, "b_zero_point"));
    OBOL_ASSIGN_OR_RETURN(const float* bias, read_bias(nref, ctx, 4, s.N));
    OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, DType::f32, s.out));
    if (y.numel() == 0) return Status::ok();
    OBOL_ASSIGN_OR_RETURN(void* mem, ctx.scratch(static_cast<size_t>(a.numel())));
    auto* aq = static_cast<uint8_t*>(mem);
    float lo = 0, hi = 0, a_scale = 1;
    uint8_t a_zp = 0;
    minmax_f32(a.data_as<const float>(), a.numel(), lo, hi);
    dynamic_uint8_params(lo, hi, a_scale, a_zp);
    quantize_u8_f32(a.data_as<const float>(), a.numel(), a_scale, a_zp, aq);
    return integer_matmul_to_f32(nref, ctx, s, TensorView(aq, DType::u8, a.shape()), a_zp, a_scale, b, zb, sb, bias,
                                 prepared, y);
  });
}

// com.microsoft MatMulIntegerToFloat(A, B, a_scale, b_scale, a_zero_point?, b_zero_point?, bias?):
// Y = (A - a_zp)(B - b_zp) * a_scale * b_scale + bias, A and B uint8 or int8, Y float32.
Result<std::unique_ptr<backend::Kernel>> make_matmul_integer_to_float(const graph::Graph& g, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 4, 7, 1, 1));
  auto prepared = prepare_constant_b(g, node, 1, 5);
  return make_kernel([prepared, nref = node_ref(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& a = ctx.input(0);
    const TensorView& b = ctx.input(1);
    OBOL_RETURN_IF_ERROR(check_q8_pair(nref, a, b, "A and B"));
    OBOL_ASSIGN_OR_RETURN(const MatMulShape s, matmul_shape(nref, a.shape(), b.shape()));
    OBOL_ASSIGN_OR_RETURN(const std::vector<float> sa, read_float_param(nref, ctx.input(2), 1, "a_scale"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<float> sb, read_float_param(nref, ctx.input(3), s.N, "b_scale"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<int32_t> za, read_int_param(nref, ctx, 4, a.dtype(), 1, "a_zero_point"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<int32_t> zb, read_int_param(nref, ctx, 5, b.dtype(), s.N, "b_zero_point"));
    OBOL_ASSIGN_OR_RETURN(const float* bias, read_bias(nref, ctx, 6, s.N));
    OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, DType::f32, s.out));
    if (y.numel() == 0) return Status::ok();
    return integer_matmul_to_f32(nref, ctx, s, a, za[0], sa[0], b, zb, sb, bias, prepared, y);
  });
}

}  // namespace

void register_quant_matmul(CpuOpRegistry& r) {
  r.add(graph::OpKind::MatMulInteger, &make_matmul_integer);
  r.add(graph::OpKind::QLinearMatMul, &make_qlinear_matmul);
  r.add(graph::OpKind::MsDynamicQuantizeMatMul, &make_dynamic_quantize_matmul);
  r.add(graph::OpKind::MsMatMulIntegerToFloat, &make_matmul_integer_to_float);
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
