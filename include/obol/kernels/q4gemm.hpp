// obol/kernels/q4gemm.hpp — int4 weight-only matmul: Y (M x N) = X (M x K, f32) * W (K x N, int4) + bias.
//
// W stays in its storage format, read in place (no repacking, nothing owned):
//   nbits  ONNX Runtime MatMulNBits, bits = 4 (layout in obol/quant/blocks.hpp): data is B
//          [N][k_blocks][block_size / 2], scales [N][k_blocks], optional packed zero points
//          (default 8); block_size a power of two in [16, 256]; any K >= 1.
//   q4_0   GGUF q4_0: data is N rows of K / 32 block_q4_0 (row n = column n of W); K % 32 == 0.
//
// Two ways to compute, chosen by Q4MatmulArgs::compute:
//   f32    X times dequantized W in float: W is dequantized in panels of 64 columns and each panel
//          goes through obol's f32 GEMM (the prefill path).
//   int8   each row of X is quantized on the fly in groups of 32 along K (d = max|x| / 127,
//          q = round(x / d), as in q8_0 but with an f32 d), and each group's integer dot product with
//          the 4-bit codes (minus the zero point) is scaled by d * scale. Faster for decode (M = 1:
//          a GEMV that streams W once); its error is that of 8-bit activations (about 0.5% of each
//          group's largest |x| per value, relative), like ORT's accuracy_level 4 or llama.cpp.
//   automatic (default) int8 when M < 16, f32 otherwise.
//
// Tiers: scalar (plain loops: the reference) and avx2 (nibbles unpacked with shifts and masks,
// vpmaddubsw of 0..15 codes with int8 activations, which cannot saturate: 2 * 15 * 127 < 32767).
// Higher QGemmIsa tiers run the avx2 kernel. Columns are split across threads (obol::parallel_for).
//
// Errors: a Status ("[q4gemm] ...") for bad shapes, strides or formats; pointers must be valid.
// Thread-safety: reentrant; W is only read.
#pragma once

#include <cstdint>

#include "obol/core/status.hpp"
#include "obol/kernels/qgemm.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {

enum class Q4Format : int { nbits = 0, q4_0 = 1 };

struct Q4Weights {
  Q4Format format = Q4Format::nbits;
  int64_t K = 0, N = 0;
  int64_t block_size = 32;               // nbits; q4_0 is always 32
  const uint8_t* data = nullptr;         // see above (for q4_0, the block_q4_0 array)
  const float* scales = nullptr;         // nbits only
  const uint8_t* zero_points = nullptr;  // nbits only; null = 8
};

enum class Q4Compute : int { automatic = 0, f32 = 1, int8 = 2 };

struct Q4MatmulArgs {
  int64_t M = 0;
  const float* X = nullptr;  // M x K, row-major
  int64_t ldx = 0;           // >= K
  float* Y = nullptr;        // M x N, row-major
  int64_t ldy = 0;           // >= N
  const float* bias = nullptr;  // N values, or null
  Q4Compute compute = Q4Compute::automatic;
};

// Y = X * W (+ bias) with the default tier (qgemm_default_isa()).
Status q4_matmul(const Q4MatmulArgs& args, const Q4Weights& w);
// The same on a given tier (tests and benchmarks); unsupported tier: unavailable.
Status q4_matmul(const Q4MatmulArgs& args, const Q4Weights& w, QGemmIsa isa);

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
