// Helpers shared by the matmul and conv families: pre-packed weights, plain GEMM loops for the
// dtypes the fp32 kernels do not cover, half-precision conversion and scratch carving.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <type_traits>

#include "common.hpp"
#include "obol/core/dtype.hpp"
#include "obol/kernels/cpu.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

// Einsum's factory, registered by register_matmul (matmul_einsum.cpp).
void register_einsum(CpuOpRegistry& r);

// A node's op and name only, for error messages from kernels (which must not keep the graph).
inline graph::Node node_ref(const graph::Node& n) {
  graph::Node r;
  r.op = n.op;
  r.name = n.name;
  return r;
}

// A 64-byte aligned float buffer owned through a shared_ptr, so kernels can share pre-packed weights.
struct AlignedFloats {
  float* data = nullptr;
  size_t count = 0;
  AlignedFloats() = default;
  AlignedFloats(const AlignedFloats&) = delete;
  AlignedFloats& operator=(const AlignedFloats&) = delete;
  ~AlignedFloats() { std::free(data); }
};

inline std::shared_ptr<AlignedFloats> make_aligned_floats(size_t count) {
  auto buf = std::make_shared<AlignedFloats>();
  const size_t bytes = (count * sizeof(float) + 63) / 64 * 64;
  buf->data = static_cast<float*>(std::aligned_alloc(64, bytes == 0 ? 64 : bytes));
  if (!buf->data) return nullptr;
  buf->count = count;
  return buf;
}

// `batches` matrices op(B) of K x N packed for one kernel table's sgemm_packed, `stride` floats apart.
struct PackedB {
  std::shared_ptr<AlignedFloats> buf;
  const kernels::KernelTable* table = nullptr;
  int64_t K = 0, N = 0, batches = 0;
  size_t stride = 0;
  const float* batch(int64_t i) const { return buf->data + static_cast<size_t>(i) * stride; }
};

// Packs `batches` matrices B (each K x N, or N x K when trans_b) that lie `batch_stride` floats apart.
inline Result<PackedB> pack_b_batches(const kernels::KernelTable& kt, int64_t batches, int64_t K, int64_t N,
                                      const float* B, int64_t ldb, bool trans_b, int64_t batch_stride) {
  PackedB p;
  p.table = &kt;
  p.K = K;
  p.N = N;
  p.batches = batches;
  p.stride = (kt.sgemm_packed_b_bytes(K, N) / sizeof(float) + 15) / 16 * 16;
  p.buf = make_aligned_floats(p.stride * static_cast<size_t>(batches));
  if (!p.buf) return make_status(StatusCode::out_of_memory, "cpu", "cannot allocate packed weights");
  for (int64_t b = 0; b < batches; ++b)
    if (p.stride) kt.sgemm_pack_b(K, N, B + b * batch_stride, ldb, trans_b, p.buf->data + static_cast<size_t>(b) * p.stride);
  return p;
}

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

inline Result<MatMulShape> matmul_shape(const graph::Node& node, const Shape& a, const Shape& b) {
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

// Splits one scratch allocation into 64-byte aligned pieces. Sizes first (add), then carve (take)
// in the same order.
class ScratchCarver {
 public:
  size_t add(size_t bytes) {
    const size_t at = total_;
    total_ += (bytes + 63) / 64 * 64;
    return at;
  }
  size_t total() const { return total_; }

 private:
  size_t total_ = 0;
};

// --- element conversion ---------------------------------------------------------------------------

template <class T>
inline float to_f32(T v) {
  if constexpr (std::is_same_v<T, F16>) return f16_to_f32(v.bits);
  else if constexpr (std::is_same_v<T, BF16>) return bf16_to_f32(v.bits);
  else return static_cast<float>(v);
}

template <class T>
inline T from_f32(float v) {
  if constexpr (std::is_same_v<T, F16>) return F16{f32_to_f16(v)};
  else if constexpr (std::is_same_v<T, BF16>) return BF16{f32_to_bf16(v)};
  else return static_cast<T>(v);
}

template <class T>
constexpr bool is_half_v = std::is_same_v<T, F16> || std::is_same_v<T, BF16>;

// Half types widen to float; other types stay as they are.
template <class T>
inline auto widen(T v) {
  if constexpr (std::is_same_v<T, F16> || std::is_same_v<T, BF16>) return to_f32(v);
  else return v;
}
template <class T, class A>
inline T narrow(A v) {
  if constexpr (std::is_same_v<T, F16> || std::is_same_v<T, BF16>) return from_f32<T>(static_cast<float>(v));
  else return static_cast<T>(v);
}

// Copies a tensor of a half type into a new fp32 tensor (for the rare half-precision paths).
template <class T>
Result<Tensor> widen_tensor(const TensorView& t) {
  OBOL_ASSIGN_OR_RETURN(Tensor f, Tensor::empty(DType::f32, t.shape()));
  const T* src = t.data_as<const T>();
  float* dst = f.data_as<float>();
  for (int64_t i = 0; i < t.numel(); ++i) dst[i] = to_f32(src[i]);
  return f;
}

// Integer products wrap (as numpy's do) instead of overflowing into undefined behaviour.
template <class T>
inline T mul_add(T acc, T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(acc) + static_cast<U>(a) * static_cast<U>(b));
  } else {
    return acc + a * b;
  }
}

// C (M x N, row stride ldc) = A x B, where A(i, k) = A[i * a_rs + k * a_cs] and B(k, j) = B[k * b_rs +
// j * b_cs]. The reference-style loop for dtypes without a fast kernel.
template <class T>
void gemm_plain(int64_t M, int64_t N, int64_t K, const T* A, int64_t a_rs, int64_t a_cs, const T* B, int64_t b_rs,
                int64_t b_cs, T* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    T* c = C + i * ldc;
    for (int64_t j = 0; j < N; ++j) c[j] = T(0);
    for (int64_t k = 0; k < K; ++k) {
      const T a = A[i * a_rs + k * a_cs];
      const T* b = B + k * b_rs;
      for (int64_t j = 0; j < N; ++j) c[j] = mul_add(c[j], a, b[j * b_cs]);
    }
  }
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
