// CPU kernels: FusedMatMulBias (obol) and FusedGemm (com.microsoft) — one SGEMM each, with the bias
// and the activation applied in the GEMM epilogue. Constant weights are pre-packed once per model.
#include <algorithm>
#include <vector>

#include "fused_util.hpp"
#include "matmul_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

namespace {

std::shared_ptr<const PackedB> prepack_2d(const kernels::KernelTable& kt, const graph::ConstantData* cb, bool trans_b,
                                          Status& st) {
  if (!cb || cb->view.dtype() != DType::f32 || cb->view.rank() != 2 || cb->view.numel() == 0) return nullptr;
  const Shape& bs = cb->view.shape();
  const int64_t K = trans_b ? bs[1] : bs[0], N = trans_b ? bs[0] : bs[1];
  auto p = pack_b_batches(kt, 1, K, N, cb->view.data_as<const float>(), bs[1], trans_b, 0);
  if (!p.is_ok()) {
    st = p.status();
    return nullptr;
  }
  return std::make_shared<const PackedB>(std::move(*p));
}

// --- FusedMatMulBias: Y = act(A [..., K] x B [K, N] + bias [N]) ------------------------------------

Result<std::unique_ptr<backend::Kernel>> make_fused_matmul_bias(const graph::Graph& g, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 3, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const FusedActivation act, activation_from_attributes(node));
  const kernels::KernelTable* kt = &kernels::cpu_kernels();
  Status st;
  std::shared_ptr<const PackedB> packed = prepack_2d(*kt, constant_input(g, node, 1), false, st);
  OBOL_RETURN_IF_ERROR(st);
  return make_kernel([kt, act, packed, nref = node_ref(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& a = ctx.input(0);
    const TensorView& b = ctx.input(1);
    const bool has_bias = ctx.input_count() > 2 && ctx.has_input(2);
    if (a.dtype() != DType::f32 || b.dtype() != DType::f32 || (has_bias && ctx.input(2).dtype() != DType::f32))
      return node_error(StatusCode::invalid_argument, nref, "A, B and bias must be float32, found ",
                        dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
    if (a.rank() < 1 || b.rank() != 2)
      return node_error(StatusCode::invalid_argument, nref, "A must have rank >= 1 and B rank 2, found ",
                        a.shape().to_string(), " and ", b.shape().to_string());
    const int64_t K = a.shape().back(), N = b.shape()[1];
    if (b.shape()[0] != K)
      return node_error(StatusCode::invalid_argument, nref, "inner dimensions differ: A is ", a.shape().to_string(),
                        ", B is ", b.shape().to_string());
    if (has_bias && (ctx.input(2).rank() != 1 || ctx.input(2).numel() != N))
      return node_error(StatusCode::invalid_argument, nref, "bias must be 1-D with ", N, " elements, found ",
                        ctx.input(2).shape().to_string());
    Shape out;
    int64_t rows = 1;
    for (int d = 0; d + 1 < a.rank(); ++d) {
      out.push_back(a.shape()[d]);
      rows *= a.shape()[d];
    }
    out.push_back(N);
    OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, DType::f32, out));
    if (rows == 0 || N == 0) return Status::ok();
    kernels::SgemmArgs s;
    s.M = rows;
    s.N = N;
    s.K = K;
    s.A = a.data_as<const float>();
    s.lda = K;
    s.B = b.data_as<const float>();
    s.ldb = N;
    s.C = y.data_as<float>();
    s.ldc = N;
    s.bias = has_bias ? ctx.input(2).data_as<const float>() : nullptr;
    s.act = act.op;
    s.act_params = act.params;
    if (packed && packed->K == K && packed->N == N)
      kt->sgemm_packed(s, packed->batch(0));
    else
      kt->sgemm(s);
    return Status::ok();
  });
}

// --- FusedGemm: Y = act(alpha op(A) op(B) + beta C) ---------------------------------------------

Result<std::unique_ptr<backend::Kernel>> make_fused_gemm(const graph::Graph& g, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 3, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const FusedActivation act, activation_from_attributes(node));
  OBOL_ASSIGN_OR_RETURN(const float alpha, node.attr_float("alpha", 1.0f));
  OBOL_ASSIGN_OR_RETURN(const float beta, node.attr_float("beta", 1.0f));
  OBOL_ASSIGN_OR_RETURN(const int64_t ta, node.attr_int("transA", 0));
  OBOL_ASSIGN_OR_RETURN(const int64_t tb, node.attr_int("transB", 0));
  const bool trans_a = ta != 0, trans_b = tb != 0;
  const kernels::KernelTable* kt = &kernels::cpu_kernels();
  Status st;
  std::shared_ptr<const PackedB> packed = prepack_2d(*kt, constant_input(g, node, 1), trans_b, st);
  OBOL_RETURN_IF_ERROR(st);
  return make_kernel([kt, act, alpha, beta, trans_a, trans_b, packed,
                      nref = node_ref(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& a = ctx.input(0);
    const TensorView& b = ctx.input(1);
    const bool has_c = ctx.input_count() > 2 && ctx.has_input(2);
    if (a.dtype() != DType::f32 || b.dtype() != DType::f32 || (has_c && ctx.input(2).dtype() != DType::f32))
      return node_error(StatusCode::invalid_argument, nref, "A, B and C must be float32, found ",
                        dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
    if (a.rank() != 2 || b.rank() != 2)
      return node_error(StatusCode::invalid_argument, nref, "A and B must be 2-D, found ", a.shape().to_string(),
                        " and ", b.shape().to_string());
    const int64_t M = trans_a ? a.shape()[1] : a.shape()[0], K = trans_a ? a.shape()[0] : a.shape()[1];
    const int64_t kb = trans_b ? b.shape()[1] : b.shape()[0], N = trans_b ? b.shape()[0] : b.shape()[1];
    if (K != kb)
      return node_error(StatusCode::invalid_argument, nref, "inner dimensions differ: op(A) is [", M, ", ", K,
                        "], op(B) is [", kb, ", ", N, "]");
    int64_t c_rows = 1, c_cols = 1;
    if (has_c) {
      const Shape& cs = ctx.input(2).shape();
      if (cs.rank() > 2)
        return node_error(StatusCode::invalid_argument, nref, "C must have rank <= 2, found ", cs.to_string());
      c_rows = cs.rank() == 2 ? cs[0] : 1;
      c_cols = cs.rank() >= 1 ? cs.back() : 1;
      if ((c_rows != 1 && c_rows != M) || (c_cols != 1 && c_cols != N))
        return node_error(StatusCode::invalid_argument, nref, "C of shape ", cs.to_string(), " does not broadcast to [",
                          M, ", ", N, "]");
    }
    OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, DType::f32, Shape{M, N}));
    if (M == 0 || N == 0) return Status::ok();
    float* py = y.data_as<float>();
    kernels::SgemmArgs s;
    s.M = M;
    s.N = N;
    s.K = K;
    s.A = a.data_as<const float>();
    s.lda = a.shape()[1];
    s.trans_a = trans_a;
    s.B = b.data_as<const float>();
    s.ldb = b.shape()[1];
    s.trans_b = trans_b;
    s.C = py;
    s.ldc = N;
    s.alpha = alpha;
    s.act = act.op;
    s.act_params = act.params;
    if (has_c && beta != 0.0f) {
      const float* pc = ctx.input(2).data_as<const float>();
      if (c_rows == 1 && c_cols == N) {
        if (beta == 1.0f) {
          s.bias = pc;
        } else {
          OBOL_ASSIGN_OR_RETURN(void* mem, ctx.scratch(static_cast<size_t>(N) * sizeof(float)));
          auto* scaled = static_cast<float*>(mem);
          for (int64_t j = 0; j < N; ++j) scaled[j] = beta * pc[j];
          s.bias = scaled;
        }
      } else {
        for (int64_t i = 0; i < M; ++i)
          for (int64_t j = 0; j < N; ++j) py[i * N + j] = pc[(c_rows == 1 ? 0 : i) * c_cols + (c_cols == 1 ? 0 : j)];
        s.beta = beta;
      }
    }
    if (packed && packed->K == K && packed->N == N)
      kt->sgemm_packed(s, packed->batch(0));
    else
      kt->sgemm(s);
    return Status::ok();
  });
}

}  // namespace

void register_fused_matmul(CpuOpRegistry& r) {
  r.add(graph::OpKind::ObolFusedMatMulBias, &make_fused_matmul_bias);
  r.add(graph::OpKind::MsFusedGemm, &make_fused_gemm);
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
