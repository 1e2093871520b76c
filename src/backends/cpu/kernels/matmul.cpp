// CPU kernels: MatMul, Gemm (Einsum lives in matmul_einsum.cpp; MatMulInteger, QLinearMatMul and the
// other integer matmuls in quant_matmul.cpp).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "matmul_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

namespace {

// Y = A x B for every batch, fp32. `packed` (optional) holds B pre-packed, one entry per B matrix.
void matmul_f32(const kernels::KernelTable& kt, const MatMulShape& s, const float* a, const float* b, float* y,
                const PackedB* packed) {
  const int64_t M = s.M, N = s.N, K = s.K;
  if (s.batches == 0 || M == 0 || N == 0) return;
  auto gemm = [&](int64_t rows, const float* pa, int64_t ib, float* py) {
    kernels::SgemmArgs g;
    g.M = rows;
    g.N = N;
    g.K = K;
    g.A = pa;
    g.lda = K;
    g.B = b + ib * K * N;
    g.ldb = N;
    g.C = py;
    g.ldc = N;
    if (packed)
      kt.sgemm_packed(g, packed->batch(ib));
    else
      kt.sgemm(g);
  };
  // One B for every batch: the batches of A stack into one taller product.
  if (s.b_batches == 1 && s.a_batches == s.batches) {
    gemm(s.batches * M, a, 0, y);
    return;
  }
  auto one = [&](int64_t bi) {
    int64_t ia, ib;
    s.offsets(bi, ia, ib);
    gemm(M, a + ia * M * K, ib, y + bi * M * N);
  };
  const double flops = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  if (s.batches >= max_threads() || flops < 4.0e6)
    parallel_for(s.batches, one);  // sgemm runs single-threaded inside each task
  else
    for (int64_t bi = 0; bi < s.batches; ++bi) one(bi);
}

template <class T>
void matmul_plain(const MatMulShape& s, const T* a, const T* b, T* y) {
  const int64_t M = s.M, N = s.N, K = s.K;
  if (s.batches == 0 || M == 0 || N == 0) return;
  parallel_for_range(s.batches * M, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, N * K)),
                     [&](int64_t r0, int64_t r1) {
                       for (int64_t r = r0; r < r1; ++r) {
                         const int64_t bi = r / M, i = r % M;
                         int64_t ia, ib;
                         s.offsets(bi, ia, ib);
                         gemm_plain<T>(1, N, K, a + (ia * M + i) * K, K, 1, b + ib * K * N, N, 1, y + r * N, N);
                       }
                     });
}

template <class T>
void convert_to_f32(const T* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = to_f32(x[i]);
}
template <class T>
void convert_from_f32(const float* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = from_f32<T>(x[i]);
}

#define OBOL_MATMUL_TYPES float, double, int32_t, int64_t, uint32_t, uint64_t, F16, BF16

Result<std::unique_ptr<backend::Kernel>> make_matmul(const graph::Graph& g, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 2, 1, 1));
  const kernels::KernelTable* kt = &kernels::cpu_kernels();
  std::shared_ptr<const PackedB> packed;
  if (const graph::ConstantData* cb = constant_input(g, node, 1);
      cb && cb->view.dtype() == DType::f32 && cb->view.rank() >= 1 && cb->view.numel() > 0) {
    const Shape& bs = cb->view.shape();
    const bool vec = bs.rank() == 1;
    const int64_t K = vec ? bs[0] : bs[bs.rank() - 2], N = vec ? 1 : bs.back();
    const int64_t batches = cb->view.numel() / (K * N);
    OBOL_ASSIGN_OR_RETURN(PackedB p, pack_b_batches(*kt, batches, K, N, cb->view.data_as<const float>(), N, false, K * N));
    packed = std::make_shared<const PackedB>(std::move(p));
  }
  return make_kernel([kt, packed, nref = node_ref(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& a = ctx.input(0);
    const TensorView& b = ctx.input(1);
    if (a.dtype() != b.dtype())
      return node_error(StatusCode::invalid_argument, nref, "A and B must have the same type, found ",
                        dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
    OBOL_ASSIGN_OR_RETURN(const MatMulShape s, matmul_shape(nref, a.shape(), b.shape()));
    return dispatch_dtype<OBOL_MATMUL_TYPES>(a.dtype(), "MatMul", [&](auto tag) -> Status {
      using T = decltype(tag);
      OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, a.dtype(), s.out));
      if constexpr (std::is_same_v<T, float>) {
        const bool use_packed = packed && packed->K == s.K && packed->N == s.N && packed->batches == s.b_batches;
        matmul_f32(*kt, s, a.data_as<const float>(), b.data_as<const float>(), y.data_as<float>(),
                   use_packed ? packed.get() : nullptr);
      } else if constexpr (is_half_v<T>) {
        ScratchCarver sc;
        const size_t oa = sc.add(static_cast<size_t>(a.numel()) * 4), ob = sc.add(static_cast<size_t>(b.numel()) * 4),
                     oy = sc.add(static_cast<size_t>(y.numel()) * 4);
        OBOL_ASSIGN_OR_RETURN(void* mem, ctx.scratch(sc.total()));
        auto* base = static_cast<uint8_t*>(mem);
        auto* fa = reinterpret_cast<float*>(base + oa);
        auto* fb = reinterpret_cast<float*>(base + ob);
        auto* fy = reinterpret_cast<float*>(base + oy);
        convert_to_f32(a.data_as<const T>(), fa, a.numel());
        convert_to_f32(b.data_as<const T>(), fb, b.numel());
        matmul_f32(*kt, s, fa, fb, fy, nullptr);
        convert_from_f32(fy, y.data_as<T>(), y.numel());
      } else {
        matmul_plain<T>(s, a.data_as<const T>(), b.data_as<const T>(), y.data_as<T>());
      }
      return Status::ok();
    });
  });
}

// --- Gemm -------------------------------------------------------------------------------------------

struct GemmAttrs {
  float alpha = 1.0f, beta = 1.0f;
  bool trans_a = false, trans_b = false;
};

// How C broadcasts to [M, N]: rows is 1 or M, cols is 1 or N.
struct GemmBias {
  bool present = false;
  int64_t rows = 1, cols = 1;
};

Result<GemmBias> gemm_bias_shape(const graph::Node& node, const TensorView* c, int64_t M, int64_t N) {
  GemmBias bias;
  if (!c) return bias;
  const Shape& cs = c->shape();
  if (cs.rank() > 2)
    return node_error(StatusCode::invalid_argument, node, "C must have rank <= 2, found ", cs.to_string());
  bias.present = true;
  bias.rows = cs.rank() == 2 ? cs[0] : 1;
  bias.cols = cs.rank() >= 1 ? cs.back() : 1;
  if ((bias.rows != 1 && bias.rows != M) || (bias.cols != 1 && bias.cols != N))
    return node_error(StatusCode::invalid_argument, node, "C of shape ", cs.to_string(), " does not broadcast to [", M,
                      ", ", N, "]");
  return bias;
}

// y[i, j] = scale * c[broadcast(i, j)], T being the storage type.
template <class T, class S>
void fill_broadcast_c(const GemmBias& bias, const T* c, S scale, int64_t M, int64_t N, T* y) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      const T v = c[(bias.rows == 1 ? 0 : i) * bias.cols + (bias.cols == 1 ? 0 : j)];
      if constexpr (std::is_integral_v<T>)
        y[i * N + j] = static_cast<T>(static_cast<double>(scale) * static_cast<double>(v));
      else
        y[i * N + j] = static_cast<T>(scale * v);
    }
}

// fp32 Gemm. `bias_col` (optional) is C already scaled by beta when C is one row of N values.
void gemm_f32(const kernels::KernelTable& kt, const GemmAttrs& at, int64_t M, int64_t N, int64_t K, const float* a,
              int64_t lda, const float* b, int64_t ldb, const GemmBias& bias, const float* c, const float* bias_col,
              const float* packed, float* y) {
  kernels::SgemmArgs g;
  g.M = M;
  g.N = N;
  g.K = K;
  g.A = a;
  g.lda = lda;
  g.trans_a = at.trans_a;
  g.B = b;
  g.ldb = ldb;
  g.trans_b = at.trans_b;
  g.C = y;
  g.ldc = N;
  g.alpha = at.alpha;
  if (bias_col) {
    g.bias = bias_col;
  } else if (bias.present && at.beta != 0.0f) {
    fill_broadcast_c(bias, c, 1.0f, M, N, y);
    g.beta = at.beta;
  }
  if (packed)
    kt.sgemm_packed(g, packed);
  else
    kt.sgemm(g);
}

Result<std::unique_ptr<backend::Kernel>> make_gemm(const graph::Graph& g, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 3, 1, 1));
  GemmAttrs at;
  OBOL_ASSIGN_OR_RETURN(at.alpha, node.attr_float("alpha", 1.0f));
  OBOL_ASSIGN_OR_RETURN(at.beta, node.attr_float("beta", 1.0f));
  OBOL_ASSIGN_OR_RETURN(const int64_t ta, node.attr_int("transA", 0));
  OBOL_ASSIGN_OR_RETURN(const int64_t tb, node.attr_int("transB", 0));
  at.trans_a = ta != 0;
  at.trans_b = tb != 0;
  const kernels::KernelTable* kt = &kernels::cpu_kernels();
  std::shared_ptr<const PackedB> packed;
  if (const graph::ConstantData* cb = constant_input(g, node, 1);
      cb && cb->view.dtype() == DType::f32 && cb->view.rank() == 2 && cb->view.numel() > 0) {
    const Shape& bs = cb->view.shape();
    const int64_t K = at.trans_b ? bs[1] : bs[0], N = at.trans_b ? bs[0] : bs[1];
    OBOL_ASSIGN_OR_RETURN(PackedB p, pack_b_batches(*kt, 1, K, N, cb->view.data_as<const float>(), bs[1], at.trans_b, 0));
    packed = std::make_shared<const PackedB>(std::move(p));
  }
  // A constant row of biases, pre-scaled by beta, becomes the GEMM's bias epilogue.
  std::shared_ptr<const std::vector<float>> scaled_bias;
  if (const graph::ConstantData* cc = constant_input(g, node, 2);
      cc && cc->view.dtype() == DType::f32 && cc->view.rank() >= 1 && cc->view.rank() <= 2 &&
      (cc->view.rank() == 1 || cc->view.shape()[0] == 1) && at.beta != 0.0f) {
    auto v = std::make_shared<std::vector<float>>(static_cast<size_t>(cc->view.numel()));
    for (size_t i = 0; i < v->size(); ++i) (*v)[i] = at.beta * cc->view.data_as<const float>()[i];
    scaled_bias = std::move(v);
  }
  return make_kernel([kt, at, packed, scaled_bias, nref = node_ref(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& a = ctx.input(0);
    const TensorView& b = ctx.input(1);
    const bool has_c = ctx.input_count() > 2 && ctx.has_input(2);
    const TensorView* c = has_c ? &ctx.input(2) : nullptr;
    if (a.rank() != 2 || b.rank() != 2)
      return node_error(StatusCode::invalid_argument, nref, "A and B must be 2-D, found ", a.shape().to_string(),
                        " and ", b.shape().to_string());
    if (a.dtype() != b.dtype() || (c && c->dtype() != a.dtype()))
      return node_error(StatusCode::invalid_argument, nref, "A, B and C must have the same type, found ",
                        dtype_name(a.dtype()), ", ", dtype_name(b.dtype()), c ? ", " : "",
                        c ? dtype_name(c->dtype()) : "");
    const int64_t M = at.trans_a ? a.shape()[1] : a.shape()[0], K = at.trans_a ? a.shape()[0] : a.shape()[1];
    const int64_t kb = at.trans_b ? b.shape()[1] : b.shape()[0], N = at.trans_b ? b.shape()[0] : b.shape()[1];
    if (K != kb)
      return node_error(StatusCode::invalid_argument, nref, "inner dimensions differ: op(A) is [", M, ", ", K,
                        "], op(B) is [", kb, ", ", N, "]");
    OBOL_ASSIGN_OR_RETURN(const GemmBias bias, gemm_bias_shape(nref, c, M, N));
    const int64_t lda = a.shape()[1], ldb = b.shape()[1];
    return dispatch_dtype<OBOL_MATMUL_TYPES>(a.dtype(), "Gemm", [&](auto tag) -> Status {
      using T = decltype(tag);
      OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, a.dtype(), Shape{M, N}));
      if (M == 0 || N == 0) return Status::ok();
      const bool row_bias = bias.present && bias.rows == 1 && bias.cols == N && at.beta != 0.0f;
      if constexpr (std::is_same_v<T, float>) {
        const float* cp = c ? c->data_as<const float>() : nullptr;
        const float* bias_col = nullptr;
        float* tmp = nullptr;
        if (row_bias) {
          if (scaled_bias && static_cast<int64_t>(scaled_bias->size()) == N) {
            bias_col = scaled_bias->data();
          } else if (at.beta == 1.0f) {
            bias_col = cp;
          } else {
            OBOL_ASSIGN_OR_RETURN(void* mem, ctx.scratch(static_cast<size_t>(N) * sizeof(float)));
            tmp = static_cast<float*>(mem);
            for (int64_t j = 0; j < N; ++j) tmp[j] = at.beta * cp[j];
            bias_col = tmp;
          }
        }
        const bool use_packed = packed && packed->K == K && packed->N == N;
        gemm_f32(*kt, at, M, N, K, a.data_as<const float>(), lda, b.data_as<const float>(), ldb, bias, cp, bias_col,
                 use_packed ? packed->batch(0) : nullptr, y.data_as<float>());
      } else if constexpr (is_half_v<T>) {
        ScratchCarver sc;
        const int64_t cn = c ? c->numel() : 0;
        const size_t oa = sc.add(static_cast<size_t>(a.numel()) * 4), ob = sc.add(static_cast<size_t>(b.numel()) * 4),
                     oc = sc.add(static_cast<size_t>(cn) * 4), oy = sc.add(static_cast<size_t>(M * N) * 4);
        OBOL_ASSIGN_OR_RETURN(void* mem, ctx.scratch(sc.total()));
        auto* base = static_cast<uint8_t*>(mem);
        auto* fa = reinterpret_cast<float*>(base + oa);
        auto* fb = reinterpret_cast<float*>(base + ob);
        auto* fc = reinterpret_cast<float*>(base + oc);
        auto* fy = reinterpret_cast<float*>(base + oy);
        convert_to_f32(a.data_as<const T>(), fa, a.numel());
        convert_to_f32(b.data_as<const T>(), fb, b.numel());
        if (c) convert_to_f32(c->data_as<const T>(), fc, cn);
        gemm_f32(*kt, at, M, N, K, fa, lda, fb, ldb, bias, fc, nullptr, nullptr, fy);
        convert_from_f32(fy, y.data_as<T>(), M * N);
      } else {
        T* py = y.data_as<T>();
        const T* pa = a.data_as<const T>();
        const T* pb = b.data_as<const T>();
        gemm_plain<T>(M, N, K, pa, at.trans_a ? 1 : lda, at.trans_a ? lda : 1, pb, at.trans_b ? 1 : ldb,
                      at.trans_b ? ldb : 1, py, N);
        const bool add_c = bias.present && at.beta != 0.0f;
        const T* pc = c ? c->data_as<const T>() : nullptr;
        for (int64_t i = 0; i < M; ++i)
          for (int64_t j = 0; j < N; ++j) {
            T& v = py[i * N + j];
            if constexpr (std::is_integral_v<T>) {
              double r = static_cast<double>(at.alpha) * static_cast<double>(v);
              if (add_c)
                r += static_cast<double>(at.beta) *
                     static_cast<double>(pc[(bias.rows == 1 ? 0 : i) * bias.cols + (bias.cols == 1 ? 0 : j)]);
              v = static_cast<T>(r);
            } else {
              T r = static_cast<T>(at.alpha) * v;
              if (add_c) r += static_cast<T>(at.beta) * pc[(bias.rows == 1 ? 0 : i) * bias.cols + (bias.cols == 1 ? 0 : j)];
              v = r;
            }
          }
      }
      return Status::ok();
    });
  });
}

}  // namespace

void register_matmul(CpuOpRegistry& r) {
  r.add(graph::OpKind::MatMul, &make_matmul);
  r.add(graph::OpKind::Gemm, &make_gemm);
  register_einsum(r);
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
