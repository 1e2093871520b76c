// CPU kernels: MatMul, Gemm, MatMulInteger (Einsum lives in matmul_einsum.cpp).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "matmul_util.hpp"

namespace obol::cpu {

namespace {

// --- MatMul shapes ----------------------------------------------------------------------------------

// numpy.matmul's view of two operands: 1-D operands are promoted (and the promoted dimension dropped
// from the result); leading dimensions broadcast.
struct MatMulShape {
  int64_t M = 0, N = 0, K = 0;
  int batch_rank = 0;
  int64_t batch[Shape::kMaxRank] = {};
  int64_t a_stride[Shape::kMaxRank] = {};  // in matrices; 0 where A broadcasts
  int64_t b_stride[Shape::kMaxRank] = {};
  int64_t batches = 1, a_batches = 1, b_batches = 1;
  Shape out;

  // The matrices of A and B that output batch `bi` multiplies.
  void offsets(int64_t bi, int64_t& ia, int64_t& ib) const {
    ia = 0;
    ib = 0;
    for (int d = batch_rank - 1; d >= 0; --d) {
      const int64_t i = bi % batch[d];
      bi /= batch[d];
      ia += i * a_stride[d];
      ib += i * b_stride[d];
    }
  }
};

Result<MatMulShape> matmul_shape(const graph::Node& node, const Shape& a, const Shape& b) {
  if (a.rank() == 0 || b.rank() == 0)
    return node_error(StatusCode::invalid_argument, node, "inputs must have rank >= 1, found ", a.to_string(), " and ",
                      b.to_string());
  MatMulShape s;
  const bool a_vec = a.rank() == 1, b_vec = b.rank() == 1;
  s.K = a.back();
  s.M = a_vec ? 1 : a[a.rank() - 2];
  const int64_t kb = b_vec ? b[0] : b[b.rank() - 2];
  s.N = b_vec ? 1 : b.back();
  if (kb != s.K)
    return node_error(StatusCode::invalid_argument, node, "inner dimensions differ: A is ", a.to_string(), ", B is ",
                      b.to_string());
  const int ra = a_vec ? 0 : a.rank() - 2, rb = b_vec ? 0 : b.rank() - 2;
  s.batch_rank = std::max(ra, rb);
  int64_t ca = 1, cb = 1;
  for (int d = s.batch_rank - 1; d >= 0; --d) {
    const int ia = d - (s.batch_rank - ra), ib = d - (s.batch_rank - rb);
    const int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da != db && da != 1 && db != 1)
      return node_error(StatusCode::invalid_argument, node, "batch dimensions do not broadcast: A is ", a.to_string(),
                        ", B is ", b.to_string());
    s.batch[d] = std::max(da, db);
    if (da == 0 || db == 0) s.batch[d] = 0;
    s.a_stride[d] = da == 1 ? 0 : ca;
    s.b_stride[d] = db == 1 ? 0 : cb;
    ca *= da;
    cb *= db;
  }
  s.a_batches = ca;
  s.b_batches = cb;
  for (int d = 0; d < s.batch_rank; ++d) {
    s.batches *= s.batch[d];
    s.out.push_back(s.batch[d]);
  }
  if (!a_vec) s.out.push_back(s.M);
  if (!b_vec) s.out.push_back(s.N);
  return s;
}

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

// --- MatMulInteger ----------------------------------------------------------------------------------

// A zero point: one value, or one per row of A (per column of B) when `per` entries.
Result<std::vector<int32_t>> read_zero_point(const graph::Node& node, const backend::KernelContext& ctx, int i,
                                             DType want, int64_t per, const char* what, const char* per_what) {
  if (ctx.input_count() <= i || !ctx.has_input(i)) return std::vector<int32_t>{0};
  const TensorView& z = ctx.input(i);
  if (z.dtype() != want)
    return node_error(StatusCode::invalid_argument, node, what, " must be ", dtype_name(want), " like its input, found ",
                      dtype_name(z.dtype()));
  if (z.numel() != 1 && z.numel() != per)
    return node_error(StatusCode::invalid_argument, node, what, " must have 1 or ", per, " (", per_what,
                      ") elements, found shape ", z.shape().to_string());
  std::vector<int32_t> r(static_cast<size_t>(z.numel()));
  for (size_t k = 0; k < r.size(); ++k)
    r[k] = want == DType::u8 ? z.data_as<const uint8_t>()[k] : z.data_as<const int8_t>()[k];
  return r;
}

template <class TA, class TB>
void matmul_integer(const MatMulShape& s, const TA* a, const TB* b, const std::vector<int32_t>& za,
                    const std::vector<int32_t>& zb, int32_t* y) {
  const int64_t M = s.M, N = s.N, K = s.K;
  if (s.batches == 0 || M == 0 || N == 0) return;
  parallel_for_range(s.batches * M, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, N * K)),
                     [&](int64_t r0, int64_t r1) {
                       for (int64_t r = r0; r < r1; ++r) {
                         const int64_t bi = r / M, i = r % M;
                         int64_t ia, ib;
                         s.offsets(bi, ia, ib);
                         const TA* pa = a + (ia * M + i) * K;
                         const TB* pb = b + ib * K * N;
                         const int32_t zai = za.size() == 1 ? za[0] : za[static_cast<size_t>(i)];
                         int32_t* py = y + r * N;
                         for (int64_t j = 0; j < N; ++j) py[j] = 0;
                         for (int64_t k = 0; k < K; ++k) {
                           const int32_t av = static_cast<int32_t>(pa[k]) - zai;
                           const TB* pbk = pb + k * N;
                           if (zb.size() == 1) {
                             for (int64_t j = 0; j < N; ++j) py[j] += av * (static_cast<int32_t>(pbk[j]) - zb[0]);
                           } else {
                             for (int64_t j = 0; j < N; ++j)
                               py[j] += av * (static_cast<int32_t>(pbk[j]) - zb[static_cast<size_t>(j)]);
                           }
                         }
                       }
                     });
}

Result<std::unique_ptr<backend::Kernel>> make_matmul_integer(const graph::Graph&, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 4, 1, 1));
  return make_kernel([nref = node_ref(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& a = ctx.input(0);
    const TensorView& b = ctx.input(1);
    for (const TensorView* t : {&a, &b})
      if (t->dtype() != DType::u8 && t->dtype() != DType::i8)
        return node_error(StatusCode::invalid_argument, nref, "A and B must be uint8 or int8, found ",
                          dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
    OBOL_ASSIGN_OR_RETURN(const MatMulShape s, matmul_shape(nref, a.shape(), b.shape()));
    OBOL_ASSIGN_OR_RETURN(const std::vector<int32_t> za,
                          read_zero_point(nref, ctx, 2, a.dtype(), s.M, "a_zero_point", "rows of A"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<int32_t> zb,
                          read_zero_point(nref, ctx, 3, b.dtype(), s.N, "b_zero_point", "columns of B"));
    OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, DType::i32, s.out));
    int32_t* py = y.data_as<int32_t>();
    const bool au = a.dtype() == DType::u8, bu = b.dtype() == DType::u8;
    if (au && bu) matmul_integer(s, a.data_as<const uint8_t>(), b.data_as<const uint8_t>(), za, zb, py);
    else if (au) matmul_integer(s, a.data_as<const uint8_t>(), b.data_as<const int8_t>(), za, zb, py);
    else if (bu) matmul_integer(s, a.data_as<const int8_t>(), b.data_as<const uint8_t>(), za, zb, py);
    else matmul_integer(s, a.data_as<const int8_t>(), b.data_as<const int8_t>(), za, zb, py);
    return Status::ok();
  });
}

// --- QLinearMatMul ---------------------------------------------------------------------------------

// A float scale: one value, or `per` of them.
Result<std::vector<float>> read_scale(const graph::Node& node, const TensorView& t, int64_t per, const char* what) {
  if (t.dtype() != DType::f32)
    return node_error(StatusCode::invalid_argument, node, what, " must be float32, found ", dtype_name(t.dtype()));
  if (t.numel() != 1 && t.numel() != per)
    return node_error(StatusCode::invalid_argument, node, what, " must have 1 or ", per, " elements, found shape ",
                      t.shape().to_string());
  return std::vector<float>(t.data_as<const float>(), t.data_as<const float>() + t.numel());
}

// y = saturate(round(acc * scale + zero_point)) in the rounding numpy's rint uses (half to even).
template <class T>
T requantize(int32_t acc, float scale, int32_t zero_point) {
  const double v = std::nearbyint(static_cast<double>(acc) * static_cast<double>(scale) + zero_point);
  const double lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  return static_cast<T>(std::min(hi, std::max(lo, v)));
}

Result<std::unique_ptr<backend::Kernel>> make_qlinear_matmul(const graph::Graph&, const graph::Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 8, 8, 1, 1));
  return make_kernel([nref = node_ref(node)](backend::KernelContext& ctx) -> Status {
    const TensorView& a = ctx.input(0);
    const TensorView& b = ctx.input(3);
    for (const TensorView* t : {&a, &b})
      if (t->dtype() != DType::u8 && t->dtype() != DType::i8)
        return node_error(StatusCode::invalid_argument, nref, "a and b must be uint8 or int8, found ",
                          dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
    OBOL_ASSIGN_OR_RETURN(const MatMulShape s, matmul_shape(nref, a.shape(), b.shape()));
    OBOL_ASSIGN_OR_RETURN(const std::vector<float> sa, read_scale(nref, ctx.input(1), s.M, "a_scale"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<float> sb, read_scale(nref, ctx.input(4), s.N, "b_scale"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<float> sy, read_scale(nref, ctx.input(6), s.M, "y_scale"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<int32_t> za,
                          read_zero_point(nref, ctx, 2, a.dtype(), s.M, "a_zero_point", "rows of a"));
    OBOL_ASSIGN_OR_RETURN(const std::vector<int32_t> zb,
                          read_zero_point(nref, ctx, 5, b.dtype(), s.N, "b_zero_point", "columns of b"));
    const DType yt = ctx.input(7).dtype();
    if (yt != DType::u8 && yt != DType::i8)
      return node_error(StatusCode::invalid_argument, nref, "y_zero_point must be uint8 or int8, found ", dtype_name(yt));
    OBOL_ASSIGN_OR_RETURN(const std::vector<int32_t> zy, read_zero_point(nref, ctx, 7, yt, s.M, "y_zero_point", "rows of a"));
    OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, yt, s.out));
    OBOL_ASSIGN_OR_RETURN(void* mem, ctx.scratch(std::max<size_t>(64, static_cast<size_t>(y.numel()) * sizeof(int32_t))));
    auto* acc = static_cast<int32_t*>(mem);
    const bool au = a.dtype() == DType::u8, bu = b.dtype() == DType::u8;
    if (au && bu) matmul_integer(s, a.data_as<const uint8_t>(), b.data_as<const uint8_t>(), za, zb, acc);
    else if (au) matmul_integer(s, a.data_as<const uint8_t>(), b.data_as<const int8_t>(), za, zb, acc);
    else if (bu) matmul_integer(s, a.data_as<const int8_t>(), b.data_as<const uint8_t>(), za, zb, acc);
    else matmul_integer(s, a.data_as<const int8_t>(), b.data_as<const int8_t>(), za, zb, acc);
    const int64_t rows = s.batches * s.M;
    for (int64_t r = 0; r < rows; ++r) {
      const size_t i = static_cast<size_t>(r % std::max<int64_t>(1, s.M));
      const float sai = sa.size() == 1 ? sa[0] : sa[i], syi = sy.size() == 1 ? sy[0] : sy[i];
      const int32_t zyi = zy.size() == 1 ? zy[0] : zy[i];
      for (int64_t j = 0; j < s.N; ++j) {
        const float scale = sai * (sb.size() == 1 ? sb[0] : sb[static_cast<size_t>(j)]) / syi;
        const int32_t v = acc[r * s.N + j];
        if (yt == DType::u8) y.data_as<uint8_t>()[r * s.N + j] = requantize<uint8_t>(v, scale, zyi);
        else y.data_as<int8_t>()[r * s.N + j] = requantize<int8_t>(v, scale, zyi);
      }
    }
    return Status::ok();
  });
}

}  // namespace

void register_matmul(CpuOpRegistry& r) {
  r.add(graph::OpKind::QLinearMatMul, &make_qlinear_matmul);
  r.add(graph::OpKind::MatMul, &make_matmul);
  r.add(graph::OpKind::Gemm, &make_gemm);
  r.add(graph::OpKind::MatMulInteger, &make_matmul_integer);
  register_einsum(r);
}

}  // namespace obol::cpu
