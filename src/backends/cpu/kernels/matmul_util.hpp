// Helpers shared by the matmul and conv families: pre-packed weights, plain GEMM loops for the
// dtypes the fp32 kernels do not cover, half-precision conversion and scratch carving.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <type_traits>

#include "common.hpp"
#include "obol/core/dtype.hpp"
#include "obol/kernels/cpu.hpp"

namespace obol::cpu {

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

}  // namespace obol::cpu
