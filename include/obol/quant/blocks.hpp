// obol/quant/blocks.hpp — quantized weight formats: GGUF blocks and ONNX Runtime's MatMulNBits int4.
//
// GGUF block formats (byte-for-byte the layouts of ggml's ggml-common.h, so GGUF tensor data can be
// used in place). fp16 values are stored as their IEEE binary16 bits (uint16_t, little-endian as on
// every supported host):
//
//   block_q8_0  (32 values, 34 bytes):  d (f16)   | qs[32] int8            x = d * qs[i]
//   block_q4_0  (32 values, 18 bytes):  d (f16)   | qs[16] two 4-bit codes x[j] = d * ((qs[j] & 15) - 8),
//                                                                         x[j + 16] = d * ((qs[j] >> 4) - 8)
//   block_q4_K  (256 values, 144 bytes): d, dmin (f16) | scales[12] (8 x 6-bit scale, 8 x 6-bit min)
//                                        | qs[128]: sub-block j of 32 values, value l:
//                                          x = d * sc[j] * q - dmin * m[j], q = nibble (low nibble of
//                                          qs[32 * (j / 2) + l] for even j, high nibble for odd j)
//
// The quantize_* functions reproduce ggml's reference quantizers (quantize_row_q8_0_ref,
// quantize_row_q4_0_ref, quantize_row_q4_K_ref) bit for bit for q8_0 and q4_0; q4_K follows the same
// algorithm in the same float operation order (no FMA contraction), so it matches a ggml build that
// does not contract either. dtype.hpp's DType::q8_0 / q4_0 / q4_k describe the same blocks
// (block_elems 32 / 32 / 256, block_bytes 34 / 18 / 144).
//
// MatMulNBits int4 (com.microsoft, bits = 4): a weight W of logical shape K x N (y = x W) is stored
// transposed and blocked along K:
//   B            uint8 [N][k_blocks][block_size / 2]  k_blocks = ceil(K / block_size); two codes per
//                                                      byte, low nibble first: element k of column n is
//                                                      (B[n][k / bs][(k % bs) / 2] >> (4 * (k & 1))) & 15
//   scales       float [N][k_blocks]
//   zero_points  uint8 [N][ceil(k_blocks / 2)] (optional) packed the same way, low nibble = even block;
//                absent means 8 for every block
//   W[k][n] = (code - zero_point) * scale. block_size is a power of two in [16, 256]. Codes past K in
//   the last block are padding (written as the zero point by nbits_quantize, ignored by readers).
//
// Threading: all functions are pure and may run concurrently on different buffers.
// Errors: bad sizes return a Status ("[quant] ..."); pointers must be valid for the sizes given.
#pragma once

#include <cstddef>
#include <cstdint>

#include "obol/core/status.hpp"

namespace obol {
inline namespace v1 {
namespace quant {

inline constexpr int kQK8_0 = 32;
inline constexpr int kQK4_0 = 32;
inline constexpr int kQK_K = 256;
inline constexpr int kKScaleSize = 12;

struct block_q8_0 {
  uint16_t d;          // f16 bits: scale
  int8_t qs[kQK8_0];   // codes
};
static_assert(sizeof(block_q8_0) == 34, "block_q8_0 must match GGUF's 34-byte layout");

struct block_q4_0 {
  uint16_t d;              // f16 bits: scale
  uint8_t qs[kQK4_0 / 2];  // value j in the low nibble of qs[j], value j + 16 in its high nibble
};
static_assert(sizeof(block_q4_0) == 18, "block_q4_0 must match GGUF's 18-byte layout");

struct block_q4_K {
  uint16_t d;                     // f16 bits: super-block scale of the 6-bit sub-block scales
  uint16_t dmin;                  // f16 bits: super-block scale of the 6-bit sub-block mins
  uint8_t scales[kKScaleSize];    // 8 scales and 8 mins, 6 bits each (see q4_K_scale_min)
  uint8_t qs[kQK_K / 2];          // 4-bit codes
};
static_assert(sizeof(block_q4_K) == 144, "block_q4_K must match GGUF's 144-byte layout");

// Sub-block j's 6-bit scale and min from a q4_K scales[12] array (ggml's get_scale_min_k4).
inline void q4_K_scale_min(int j, const uint8_t* scales, uint8_t* sc, uint8_t* m) noexcept {
  if (j < 4) {
    *sc = scales[j] & 63;
    *m = scales[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((scales[j + 4] & 0xF) | ((scales[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((scales[j + 4] >> 4) | ((scales[j] >> 6) << 4));
  }
}

// --- GGUF rows -------------------------------------------------------------------------------------
// n values of x <-> n / block_elems blocks of y. n must be a multiple of the block's element count
// (32, 32, 256); otherwise invalid_argument and nothing is written. Non-finite inputs give
// unspecified (but memory-safe) codes.
Status quantize_q8_0(const float* x, int64_t n, block_q8_0* y);
Status quantize_q4_0(const float* x, int64_t n, block_q4_0* y);
Status quantize_q4_K(const float* x, int64_t n, block_q4_K* y);
Status dequantize_q8_0(const block_q8_0* x, int64_t n, float* y);
Status dequantize_q4_0(const block_q4_0* x, int64_t n, float* y);
Status dequantize_q4_K(const block_q4_K* x, int64_t n, float* y);

// --- MatMulNBits int4 ------------------------------------------------------------------------------

// The shape of one MatMulNBits weight. Use nbits_layout() to build and validate one.
struct NBitsLayout {
  int64_t K = 0, N = 0;
  int64_t block_size = 0;  // power of two in [16, 256]
  int64_t k_blocks() const noexcept { return (K + block_size - 1) / block_size; }
  int64_t blob_bytes() const noexcept { return block_size / 2; }                  // bytes per block
  int64_t row_bytes() const noexcept { return k_blocks() * blob_bytes(); }        // B bytes per column n
  int64_t b_bytes() const noexcept { return N * row_bytes(); }                    // size of B
  int64_t scales_count() const noexcept { return N * k_blocks(); }               // floats in scales
  int64_t zp_row_bytes() const noexcept { return (k_blocks() + 1) / 2; }
  int64_t zp_bytes() const noexcept { return N * zp_row_bytes(); }               // size of zero_points
};

// Validates K >= 1, N >= 1 and block_size (power of two, 16..256).
Result<NBitsLayout> nbits_layout(int64_t K, int64_t N, int64_t block_size);

// Quantizes W (K x N row-major, leading dimension ldw >= N) into the MatMulNBits layout.
// symmetric: scale = v / -8 where v is the block's value of largest magnitude, no zero points (they
// are 8; `zero_points` may be null and is not written). Otherwise (asymmetric): min' = min(min, 0),
// max' = max(max, 0), scale = (max' - min') / 15, zero point = clamp(round(-min' / scale), 0, 15)
// (0 when scale is 0), and `zero_points` must be non-null. Codes are clamp(roundf(w * r + zp), 0, 15)
// with r = 1 / scale (0 when scale is 0); padding past K gets the block's zero point. These are the
// formulas of ONNX Runtime's blockwise 4-bit quantizer (MlasQuantizeBlockwise).
Status nbits_quantize(const NBitsLayout& l, const float* W, int64_t ldw, bool symmetric, uint8_t* B, float* scales,
                      uint8_t* zero_points);

// Packs codes (N x K, row n holds the K codes 0..15 of column n, leading dimension ldq >= K) into B,
// padding the last block with `pad_code`.
Status nbits_pack(const NBitsLayout& l, const uint8_t* codes, int64_t ldq, uint8_t pad_code, uint8_t* B);
// Unpacks B into codes (N x K, leading dimension ldq >= K).
Status nbits_unpack(const NBitsLayout& l, const uint8_t* B, uint8_t* codes, int64_t ldq);
// Zero point of block b of column n (8 when zero_points is null).
inline uint8_t nbits_zero_point(const NBitsLayout& l, const uint8_t* zero_points, int64_t n, int64_t b) noexcept {
  if (!zero_points) return 8;
  const uint8_t byte = zero_points[n * l.zp_row_bytes() + b / 2];
  return static_cast<uint8_t>((b & 1) ? byte >> 4 : byte & 15);
}
// Dequantizes into W (K x N row-major, leading dimension ldw >= N): W[k][n] = (code - zp) * scale.
Status nbits_dequantize(const NBitsLayout& l, const uint8_t* B, const float* scales, const uint8_t* zero_points,
                        float* W, int64_t ldw);
// Dequantizes columns [n0, n0 + count) transposed: Wt[(n - n0) * ldwt + k], k in [0, K). The prefill
// path of q4gemm uses this to build f32 panels.
Status nbits_dequantize_rows(const NBitsLayout& l, const uint8_t* B, const float* scales,
                             const uint8_t* zero_points, int64_t n0, int64_t count, float* Wt, int64_t ldwt);

}  // namespace quant
}  // inline namespace v1
}  // namespace obol
