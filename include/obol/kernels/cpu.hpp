// obol/kernels/cpu.hpp — CPU feature detection and the per-ISA kernel table.
//
// obol compiles every optimised kernel once per ISA tier, each in its own translation unit with only
// that tier's compiler flags, and picks one tier at start-up from CPUID. Callers reach kernels only
// through a KernelTable, so a binary built here runs on any x86-64 (or, with the scalar tier, any
// CPU) and uses the best code the machine supports.
//
// The environment variable OBOL_CPU_ISA=scalar|avx2|avx512|avx512vnni|amx forces a tier (lower than
// or equal to what the CPU supports; an unsupported or unknown value is reported once and ignored),
// so one machine can exercise every path. avx512vnni and amx run the avx512 fp32 kernels and select
// the int8 GEMM tiers of the same names (obol/kernels/qgemm.hpp).
//
// Thread-safety: the tables are built once, on first use, and are immutable afterwards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "obol/kernels/ops.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {

// Ordered from the most portable to the most capable.
enum class Isa : int { scalar = 0, avx2 = 1, avx512 = 2, avx512vnni = 3, amx = 4 };
inline constexpr int kIsaCount = 5;
const char* isa_name(Isa isa) noexcept;

struct CpuFeatures {
  bool sse42 = false, avx = false, avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false, avx512cd = false;
  bool avx512vnni = false, avx512bf16 = false, avx512fp16 = false, avx_vnni = false;
  bool amx_tile = false, amx_int8 = false, amx_bf16 = false;
  bool os_avx = false, os_avx512 = false;  // the OS saves the wider register state
  bool os_amx = false;                     // XCR0 enables AMX tile state (XTILECFG, XTILEDATA)
  bool neon = false, arm_dotprod = false;
  std::string vendor, brand;
};

// Detected once; cheap to call.
const CpuFeatures& cpu_features() noexcept;
// "avx2 fma avx512f ..." for reports.
std::string cpu_features_string(const CpuFeatures& f);
// Whether this CPU (and the build) can run the given tier. For Isa::amx this includes asking Linux
// for AMX tile-data permission (amx_tile_permission).
bool isa_supported(Isa isa) noexcept;
// Whether this process may use AMX tile data: on Linux, asks once with
// arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA); false when refused or without AMX.
bool amx_tile_permission() noexcept;
// The best tier the CPU supports, ignoring OBOL_CPU_ISA.
Isa best_isa() noexcept;

// --- GEMM ---------------------------------------------------------------------------------------

// C = act(alpha * op(A) * op(B) + beta * C + bias), row-major, where op(A) is M x K and op(B) is
// K x N. A is M x K with leading dimension lda (K x M if trans_a); B likewise. bias (optional) has N
// entries, broadcast over rows. When beta == 0, C is not read (NaNs in C do not propagate).
struct SgemmArgs {
  int64_t M = 0, N = 0, K = 0;
  const float* A = nullptr;
  int64_t lda = 0;
  bool trans_a = false;
  const float* B = nullptr;  // ignored by sgemm_packed
  int64_t ldb = 0;
  bool trans_b = false;
  float* C = nullptr;
  int64_t ldc = 0;
  float alpha = 1.0f;
  float beta = 0.0f;
  const float* bias = nullptr;
  UnaryOp act = UnaryOp::identity;
  UnaryParams act_params{};
};

// --- The table ----------------------------------------------------------------------------------
//
// Raw kernels: pointers are valid for the sizes given, shapes are already validated, and sizes may be
// zero. Tensor-level entry points with validation and broadcasting live in obol/kernels/tensor_ops.hpp.
struct KernelTable {
  Isa isa = Isa::scalar;

  // GEMM. Threads: uses parallel_for (obol/core/parallel.hpp).
  void (*sgemm)(const SgemmArgs& args) = nullptr;
  // Pre-packing of a constant B (weights): bytes needed, then pack. The packed layout is private to
  // this table's ISA; use it only with the same table's sgemm_packed. `packed` is 64-byte aligned.
  size_t (*sgemm_packed_b_bytes)(int64_t K, int64_t N) = nullptr;
  void (*sgemm_pack_b)(int64_t K, int64_t N, const float* B, int64_t ldb, bool trans_b, float* packed) = nullptr;
  void (*sgemm_packed)(const SgemmArgs& args, const float* packed_b) = nullptr;

  // y[i] = op(x[i]) for i in [0, n). x and y may alias exactly.
  void (*unary_f32)(UnaryOp op, UnaryParams p, const float* x, float* y, int64_t n) = nullptr;
  // y[i] = op(a[i * a_inc], b[i * b_inc]) for i in [0, n); a_inc and b_inc are 0 or 1.
  void (*binary_f32)(BinaryOp op, const float* a, int64_t a_inc, const float* b, int64_t b_inc, float* y,
                     int64_t n) = nullptr;
  // x viewed as [outer, n, inner]; y[o * inner + i] = reduce over j of x[(o * n + j) * inner + i].
  // n == 0 gives the identity of the reduction (mean of nothing: NaN).
  void (*reduce_f32)(ReduceOp op, const float* x, int64_t outer, int64_t n, int64_t inner, float* y) = nullptr;
  // Softmax (or log-softmax) of each of `rows` contiguous rows of length n.
  void (*softmax_f32)(const float* x, float* y, int64_t rows, int64_t n, bool log) = nullptr;
  // Layer norm over each contiguous row of length n: (x - mean) / sqrt(var + eps) * gamma + beta.
  // gamma and beta have n entries; beta may be null.
  void (*layer_norm_f32)(const float* x, const float* gamma, const float* beta, float* y, int64_t rows, int64_t n,
                         float eps) = nullptr;
  // RMS norm: x / sqrt(mean(x^2) + eps) * gamma (gamma may be null = ones).
  void (*rms_norm_f32)(const float* x, const float* gamma, float* y, int64_t rows, int64_t n, float eps) = nullptr;
  // y (cols x rows, leading dim ldy) = transpose of x (rows x cols, leading dim ldx), for 4-byte elements.
  void (*transpose_2d_32)(const void* x, int64_t ldx, void* y, int64_t ldy, int64_t rows, int64_t cols) = nullptr;

  // Activation quantization (DynamicQuantizeLinear, DynamicQuantizeMatMul, per-tensor QuantizeLinear).
  // *lo and *hi = the smallest and largest of x[0, n), NaN skipped; both 0 when n is 0 or all are NaN.
  void (*minmax_f32)(const float* x, int64_t n, float* lo, float* hi) = nullptr;
  // y[i] = saturate_u8(rint(x[i] / scale) + zero_point), rint rounding half to even; NaN gives 0.
  // zero_point is in [0, 255]; scale is finite and > 0. Bit-exact on every tier.
  void (*quantize_u8_f32)(const float* x, int64_t n, float scale, int32_t zero_point, uint8_t* y) = nullptr;
};

// The table in use: the best supported tier, or the one OBOL_CPU_ISA forces.
const KernelTable& cpu_kernels() noexcept;
// The table of a given tier, or nullptr if this CPU or build cannot run it. Tests use this to cover
// every tier on one machine.
const KernelTable* cpu_kernels_for(Isa isa) noexcept;
// The tiers this CPU can run, from scalar upwards.
std::vector<Isa> available_isas();

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
