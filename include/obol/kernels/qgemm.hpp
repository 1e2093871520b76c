// obol/kernels/qgemm.hpp — int8 GEMM: C = (A - a_zp)(B - b_zp), int32 accumulation, with epilogues.
//
// A is M x K row-major activations, uint8 or int8, with one (per-tensor) zero point. B is K x N
// weights, int8 or uint8, with a per-tensor or per-column zero point. B is packed once
// (qgemm_pack_b) into a layout private to one kernel tier; qgemm() then runs any number of times
// with any M. The accumulator of output (m, n) is
//
//     acc[m][n] = sum_k (A[m][k] - a_zp) * (B[k][n] - b_zp[n])  (+ bias_s32[n])
//
// computed exactly in int32 with wrap-around (two's complement) on overflow — identical, bit for
// bit, on every tier — and the epilogue turns it into the output:
//
//     s32:     C = acc
//     f32:     C = float(acc) * (a_scale * b_scale[n]) + bias_f32[n]      (two roundings, no FMA)
//     u8, s8:  C = saturate(nearbyint(float(acc) * mult[n]) + c_zp),  mult[n] = a_scale * b_scale[n] / c_scale
//              (each product/quotient rounded to float in that order; nearbyint rounds half to even)
//
// b_scale holds 1 (per tensor) or N (per column) floats. All tiers produce identical s32, u8 and s8
// results and identical f32 results.
//
// Kernel tiers (QGemmIsa), chosen by CPUID and the OS:
//   scalar      plain loops (the reference every other tier is tested against).
//   avx2        two kernels, both exact, chosen per packed B at pack time (uses_maddubs()):
//               - fast (vpmaddubsw + vpmaddwd(1) + vpaddd on uint8 A, int8 A shifted by 128 and its
//                 zero point too): taken when no int16 pair sum of vpmaddubsw can saturate, i.e.
//                 for every column and every k pair (2i, 2i + 1) of the stored int8 weights B8
//                 (uint8 B stored as B - 128; zero points are not subtracted, they are folded into
//                 the column terms), max(b0, 0) + max(b1, 0) <= 128 and max(-b0, 0) + max(-b1, 0)
//                 <= 128 (then 255 * 128 = 32640 bounds every pair sum). In particular every int8
//                 B in [-64, 63] qualifies.
//               - exact fallback for any other B: A - a_zp widened to int16, B sign-extended to
//                 int16 (vpmovsxbw), vpmaddwd (u8 x s8 pairs such as 255 * 127 + 255 * 127 would
//                 saturate vpmaddubsw's int16 sums).
//               Both give the same bits as every other tier.
//               Quantizers ("reduce_range"): int8 weights quantized to 7 bits (symmetric [-64, 63],
//               or any int8 range satisfying the pair rule above) take the fast kernel on AVX2-only
//               CPUs (1.2-1.7x the fallback, docs/performance.md); full-range 8-bit weights stay
//               exact but slower.
//               On VNNI/AMX tiers the range makes no difference.
//   avxvnni     vpdpbusd on ymm (AVX-VNNI), A as uint8 (int8 A is shifted by 128, the zero point too).
//   avx512vnni  vpdpbusd on zmm (AVX512-VNNI).
//   amx         AMX-INT8 tiles (tdpbusd); the process asks Linux for tile-data permission once
//               (arch_prctl ARCH_REQ_XCOMP_PERM); when refused or absent the tier is unsupported.
// qgemm_default_isa() follows the fp32 tier in use (obol::kernels::cpu_kernels(), so OBOL_CPU_ISA
// forces it): scalar -> scalar; avx2 and avx512 -> avxvnni when the CPU has AVX-VNNI, else avx2;
// avx512vnni -> avx512vnni; amx -> amx.
//
// Threads: qgemm uses obol::parallel_for. A QGemmPackedB is immutable after packing and may be used
// by many threads at once. Errors: shapes, strides, zero points and tiers are validated and reported
// as a Status ("[qgemm] ..."); pointers must be valid for the sizes given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "obol/core/status.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {

enum class QGemmIsa : int { scalar = 0, avx2 = 1, avxvnni = 2, avx512vnni = 3, amx = 4 };
inline constexpr int kQGemmIsaCount = 5;

const char* qgemm_isa_name(QGemmIsa isa) noexcept;
// Whether this CPU, OS and build can run the tier (for amx this asks for tile permission, once).
bool qgemm_isa_supported(QGemmIsa isa) noexcept;
// The supported tiers, scalar first.
std::vector<QGemmIsa> qgemm_available_isas();
// The tier qgemm_pack_b uses by default (see above).
QGemmIsa qgemm_default_isa() noexcept;

// The weights as given (not owned; read only during qgemm_pack_b or the unpacked qgemm).
struct QGemmB {
  int64_t K = 0, N = 0;
  const void* data = nullptr;
  int64_t ldb = 0;                     // elements between rows of the stored matrix
  bool trans_b = false;                // false: B[k][n] = data[k * ldb + n]; true: data[n * ldb + k]
  bool is_signed = true;               // int8 (true) or uint8
  const int32_t* zero_point = nullptr;  // null: 0; else zero_point_count values in the type's range
  int64_t zero_point_count = 1;        // 1 (per tensor) or N (per column)
};

// Packed weights for one tier. Move-only; owns its memory (64-byte aligned).
class QGemmPackedB {
 public:
  QGemmPackedB() = default;
  QGemmPackedB(QGemmPackedB&&) noexcept = default;
  QGemmPackedB& operator=(QGemmPackedB&&) noexcept = default;
  QGemmPackedB(const QGemmPackedB&) = delete;
  QGemmPackedB& operator=(const QGemmPackedB&) = delete;

  int64_t K() const noexcept { return K_; }
  int64_t N() const noexcept { return N_; }
  QGemmIsa isa() const noexcept { return isa_; }
  // avx2 tier only: whether the weights met the vpmaddubsw range rule above at pack time, so that
  // qgemm() runs the fast u8 x s8 kernel (false on every other tier and for the fallback).
  bool uses_maddubs() const noexcept { return maddubs_; }
  bool empty() const noexcept { return N_ == 0; }
  // Bytes held (packed codes plus per-column sums and zero points).
  size_t bytes() const noexcept { return data_bytes_ + (col_sum_.size() + zero_point_.size()) * sizeof(int32_t); }

  // For the kernels (layout private to isa()).
  struct Free {
    size_t bytes;
    void operator()(int8_t* p) const noexcept;  // returns the memory to Allocator::default_instance()
  };
  const int8_t* data() const noexcept { return data_.get(); }
  int64_t K_padded() const noexcept { return Kp_; }
  const int32_t* col_sum() const noexcept { return col_sum_.data(); }      // sum_k B8[k][n]
  const int32_t* zero_point() const noexcept { return zero_point_.data(); }  // int8-domain b_zp[n]

 private:
  friend Result<QGemmPackedB> qgemm_pack_b(const QGemmB& b, QGemmIsa isa);
  int64_t K_ = 0, N_ = 0, Kp_ = 0;
  QGemmIsa isa_ = QGemmIsa::scalar;
  bool maddubs_ = false;
  std::unique_ptr<int8_t, Free> data_;
  size_t data_bytes_ = 0;
  std::vector<int32_t> col_sum_, zero_point_;
};

// Packs B for `isa` (unsupported tier: unavailable). uint8 B is stored as int8 (B - 128, zero point
// - 128), which leaves every product unchanged.
Result<QGemmPackedB> qgemm_pack_b(const QGemmB& b, QGemmIsa isa = qgemm_default_isa());

enum class QGemmOut : int { s32 = 0, f32 = 1, u8 = 2, s8 = 3 };

struct QGemmArgs {
  int64_t M = 0;
  const void* A = nullptr;  // M x K (K from B), row-major
  int64_t lda = 0;          // >= K
  bool a_signed = false;    // int8 (true) or uint8 (false)
  int32_t a_zero_point = 0;  // in the type's range

  void* C = nullptr;  // M x N of the output type, row-major
  int64_t ldc = 0;    // >= N
  QGemmOut out = QGemmOut::s32;

  const int32_t* bias_s32 = nullptr;  // N values added to the accumulator (any output), or null
  float a_scale = 1.0f;               // f32, u8, s8
  const float* b_scale = nullptr;     // f32, u8, s8: b_scale_count floats (null: 1.0)
  int64_t b_scale_count = 1;          // 1 or N
  const float* bias_f32 = nullptr;    // f32 only: N values added after scaling, or null
  float c_scale = 1.0f;               // u8, s8: output scale (> 0)
  int32_t c_zero_point = 0;           // u8, s8
};

// C = epilogue((A - a_zp)(B - b_zp)) with packed B. M may be 0.
Status qgemm(const QGemmArgs& args, const QGemmPackedB& b);
// The same with B packed for this call (for weights that change every call).
Status qgemm(const QGemmArgs& args, const QGemmB& b);

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
