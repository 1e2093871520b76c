// GGUF block formats and the MatMulNBits int4 layout: byte layouts checked against hand-computed
// blocks, round trips, and the quantizers' error bounds.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "obol/core/dtype.hpp"
#include "obol/quant/blocks.hpp"

using namespace obol::quant;

namespace {

std::vector<uint8_t> bytes_of(const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  return std::vector<uint8_t>(b, b + n);
}

std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

}  // namespace

TEST_CASE("GGUF block structs have the dtype table's sizes", "[quant][blocks]") {
  using obol::DType;
  using obol::dtype_info;
  CHECK(sizeof(block_q8_0) == dtype_info(DType::q8_0).block_bytes);
  CHECK(sizeof(block_q4_0) == dtype_info(DType::q4_0).block_bytes);
  CHECK(sizeof(block_q4_K) == dtype_info(DType::q4_k).block_bytes);
  CHECK(kQK8_0 == static_cast<int>(dtype_info(DType::q8_0).block_elems));
  CHECK(kQK4_0 == static_cast<int>(dtype_info(DType::q4_0).block_elems));
  CHECK(kQK_K == static_cast<int>(dtype_info(DType::q4_k).block_elems));
  CHECK(offsetof(block_q4_K, scales) == 4);
  CHECK(offsetof(block_q4_K, qs) == 16);
}

TEST_CASE("q8_0 quantizes a known block to GGUF's bytes", "[quant][blocks]") {
  // x = -16 .. 15: amax 16, d = 16 / 127 (f16 0x3008), codes round(x * 7.9375).
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j - 16);
  block_q8_0 b;
  REQUIRE(quantize_q8_0(x.data(), 32, &b).is_ok());
  const std::vector<uint8_t> want = {0x08, 0x30, 0x81, 0x89, 0x91, 0x99, 0xa1, 0xa9, 0xb1, 0xb9, 0xc0, 0xc8,
                                     0xd0, 0xd8, 0xe0, 0xe8, 0xf0, 0xf8, 0x00, 0x08, 0x10, 0x18, 0x20, 0x28,
                                     0x30, 0x38, 0x40, 0x47, 0x4f, 0x57, 0x5f, 0x67, 0x6f, 0x77};
  CHECK(bytes_of(&b, sizeof(b)) == want);
  std::vector<float> y(32);
  REQUIRE(dequantize_q8_0(&b, 32, y.data()).is_ok());
  for (int j = 0; j < 32; ++j) CHECK(y[j] == static_cast<float>(b.qs[j]) * 0.1259765625f);
}

TEST_CASE("q4_0 quantizes a known block to GGUF's bytes", "[quant][blocks]") {
  // x[j] = x[j + 16] = j - 8: the first value of largest magnitude is -8, so d = 1 (f16 0x3c00) and
  // the code of v is v + 8; value j sits in the low nibble of byte j, value j + 16 in its high nibble.
  std::vector<float> x(32);
  for (int j = 0; j < 16; ++j) x[j] = x[j + 16] = static_cast<float>(j - 8);
  block_q4_0 b;
  REQUIRE(quantize_q4_0(x.data(), 32, &b).is_ok());
  std::vector<uint8_t> want = {0x00, 0x3c};
  for (int j = 0; j < 16; ++j) want.push_back(static_cast<uint8_t>(j | (j << 4)));
  CHECK(bytes_of(&b, sizeof(b)) == want);
  std::vector<float> y(32);
  REQUIRE(dequantize_q4_0(&b, 32, y.data()).is_ok());
  CHECK(y == x);
}

TEST_CASE("q4_K dequantizes a hand-built block", "[quant][blocks]") {
  // d = 1, dmin = 0.5; sub-block j has scale j + 1 and min j; every byte of qs is 0x21 (low nibble
  // 1 for even sub-blocks, high nibble 2 for odd ones).
  block_q4_K b;
  b.d = 0x3c00;
  b.dmin = 0x3800;
  const uint8_t scales[12] = {1, 2, 3, 4, 0, 1, 2, 3, 0x45, 0x56, 0x67, 0x78};
  std::memcpy(b.scales, scales, 12);
  std::memset(b.qs, 0x21, sizeof(b.qs));
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    q4_K_scale_min(j, b.scales, &sc, &m);
    CHECK(sc == j + 1);
    CHECK(m == j);
  }
  std::vector<float> y(256);
  REQUIRE(dequantize_q4_K(&b, 256, y.data()).is_ok());
  for (int j = 0; j < 8; ++j) {
    const float q = (j % 2 == 0) ? 1.0f : 2.0f;
    const float want = static_cast<float>(j + 1) * q - 0.5f * static_cast<float>(j);
    for (int l = 0; l < 32; ++l) CHECK(y[32 * j + l] == want);
  }
}

TEST_CASE("q4_K scales with high bits pack and unpack", "[quant][blocks]") {
  // Values whose sub-block scales need all six bits: quantize, then re-derive every value.
  std::vector<float> x = random_floats(512, 7, -3.0f, 5.0f);
  for (int j = 0; j < 32; ++j) x[j] *= 0.01f;  // a quiet sub-block next to loud ones
  std::vector<block_q4_K> b(2);
  REQUIRE(quantize_q4_K(x.data(), 512, b.data()).is_ok());
  std::vector<float> y(512);
  REQUIRE(dequantize_q4_K(b.data(), 512, y.data()).is_ok());
  for (int blk = 0; blk < 2; ++blk) {
    const float d = obol::f16_to_f32(b[blk].d), dmin = obol::f16_to_f32(b[blk].dmin);
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      q4_K_scale_min(j, b[blk].scales, &sc, &m);
      CHECK(sc <= 63);
      CHECK(m <= 63);
      for (int l = 0; l < 32; ++l) {
        const uint8_t byte = b[blk].qs[32 * (j / 2) + l];
        const int q = (j % 2 == 0) ? (byte & 15) : (byte >> 4);
        CHECK(y[blk * 256 + 32 * j + l] == d * sc * static_cast<float>(q) - dmin * m);
      }
    }
  }
  // The error is bounded by the sub-block step (scale) plus the 6-bit rounding of scale and min.
  double max_err = 0, max_abs = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    max_err = std::max(max_err, static_cast<double>(std::fabs(x[i] - y[i])));
    max_abs = std::max(max_abs, static_cast<double>(std::fabs(x[i])));
  }
  CHECK(max_err < 0.15 * max_abs);
}

TEST_CASE("GGUF quantizers round trip their own output", "[quant][blocks]") {
  const std::vector<float> x = random_floats(256, 11, -2.0f, 2.0f);
  SECTION("q8_0") {
    std::vector<block_q8_0> b(8), b2(8);
    std::vector<float> y(256);
    REQUIRE(quantize_q8_0(x.data(), 256, b.data()).is_ok());
    REQUIRE(dequantize_q8_0(b.data(), 256, y.data()).is_ok());
    for (size_t i = 0; i < 256; ++i) CHECK(std::fabs(y[i] - x[i]) <= 2.0f / 127 * 0.51f + 1e-3f);
    REQUIRE(quantize_q8_0(y.data(), 256, b2.data()).is_ok());
    CHECK(bytes_of(b.data(), 8 * sizeof(block_q8_0)) == bytes_of(b2.data(), 8 * sizeof(block_q8_0)));
  }
  SECTION("q4_0") {
    std::vector<block_q4_0> b(8), b2(8);
    std::vector<float> y(256);
    REQUIRE(quantize_q4_0(x.data(), 256, b.data()).is_ok());
    REQUIRE(dequantize_q4_0(b.data(), 256, y.data()).is_ok());
    // Codes stop at +7 while the scale is set by the value of largest magnitude (-8 * d), so values
    // of the other sign can be a full step d = max|x| / 8 away.
    for (size_t i = 0; i < 256; ++i) CHECK(std::fabs(y[i] - x[i]) <= 2.0f / 8 * 1.001f);
    REQUIRE(quantize_q4_0(y.data(), 256, b2.data()).is_ok());
    CHECK(bytes_of(b.data(), 8 * sizeof(block_q4_0)) == bytes_of(b2.data(), 8 * sizeof(block_q4_0)));
  }
  SECTION("bad lengths") {
    block_q8_0 b8;
    block_q4_K bk;
    CHECK(quantize_q8_0(x.data(), 31, &b8).code() == obol::StatusCode::invalid_argument);
    CHECK(quantize_q4_K(x.data(), 128, &bk).code() == obol::StatusCode::invalid_argument);
    CHECK(dequantize_q4_0(nullptr, -32, nullptr).code() == obol::StatusCode::invalid_argument);
  }
}

TEST_CASE("MatMulNBits packs codes low nibble first and pads the last block", "[quant][nbits]") {
  auto l = nbits_layout(20, 2, 16);
  REQUIRE(l.is_ok());
  CHECK(l->k_blocks() == 2);
  CHECK(l->row_bytes() == 16);
  CHECK(l->zp_row_bytes() == 1);
  std::vector<uint8_t> codes(2 * 20);
  for (int n = 0; n < 2; ++n)
    for (int k = 0; k < 20; ++k) codes[n * 20 + k] = static_cast<uint8_t>((k + n) % 16);
  std::vector<uint8_t> B(static_cast<size_t>(l->b_bytes()));
  REQUIRE(nbits_pack(*l, codes.data(), 20, 9, B.data()).is_ok());
  const std::vector<uint8_t> row0 = {0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe,
                                     0x10, 0x32, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99};
  CHECK(std::vector<uint8_t>(B.begin(), B.begin() + 16) == row0);
  CHECK(B[16] == 0x21);  // column 1 starts with codes 1, 2
  std::vector<uint8_t> back(2 * 24, 0xAA);
  REQUIRE(nbits_unpack(*l, B.data(), back.data(), 24).is_ok());
  for (int n = 0; n < 2; ++n)
    for (int k = 0; k < 20; ++k) CHECK(back[n * 24 + k] == codes[n * 20 + k]);

  // Zero points: block 0 in the low nibble, block 1 in the high nibble; default 8.
  const uint8_t zps[2] = {0x3a, 0x05};
  CHECK(nbits_zero_point(*l, zps, 0, 0) == 0xa);
  CHECK(nbits_zero_point(*l, zps, 0, 1) == 0x3);
  CHECK(nbits_zero_point(*l, zps, 1, 0) == 0x5);
  CHECK(nbits_zero_point(*l, nullptr, 1, 1) == 8);
  const float scales[4] = {0.5f, 2.0f, 1.0f, -1.0f};
  std::vector<float> W(20 * 2);
  REQUIRE(nbits_dequantize(*l, B.data(), scales, zps, W.data(), 2).is_ok());
  for (int k = 0; k < 20; ++k) {
    CHECK(W[k * 2 + 0] == static_cast<float>(codes[k] - (k < 16 ? 0xa : 0x3)) * (k < 16 ? 0.5f : 2.0f));
    CHECK(W[k * 2 + 1] == static_cast<float>(codes[20 + k] - (k < 16 ? 0x5 : 0x0)) * (k < 16 ? 1.0f : -1.0f));
  }
  std::vector<float> Wt(2 * 20);
  REQUIRE(nbits_dequantize_rows(*l, B.data(), scales, zps, 0, 2, Wt.data(), 20).is_ok());
  for (int n = 0; n < 2; ++n)
    for (int k = 0; k < 20; ++k) CHECK(Wt[n * 20 + k] == W[k * 2 + n]);
}

TEST_CASE("MatMulNBits layouts are validated", "[quant][nbits]") {
  CHECK(nbits_layout(64, 4, 8).status().code() == obol::StatusCode::invalid_argument);
  CHECK(nbits_layout(64, 4, 48).status().code() == obol::StatusCode::invalid_argument);
  CHECK(nbits_layout(64, 4, 512).status().code() == obol::StatusCode::invalid_argument);
  CHECK(nbits_layout(0, 4, 32).status().code() == obol::StatusCode::invalid_argument);
  for (int bs : {16, 32, 64, 128, 256}) CHECK(nbits_layout(1, 1, bs).is_ok());
}

TEST_CASE("MatMulNBits quantization stays within half a step", "[quant][nbits]") {
  const int64_t K = 100, N = 7;
  const std::vector<float> W = random_floats(static_cast<size_t>(K * N), 5, -3.0f, 1.0f);
  for (int64_t bs : {16, 32, 64, 128, 256}) {
    for (bool symmetric : {true, false}) {
      INFO("block " << bs << (symmetric ? " symmetric" : " asymmetric"));
      auto l = nbits_layout(K, N, bs);
      REQUIRE(l.is_ok());
      std::vector<uint8_t> B(static_cast<size_t>(l->b_bytes()));
      std::vector<float> scales(static_cast<size_t>(l->scales_count()));
      std::vector<uint8_t> zps(static_cast<size_t>(l->zp_bytes()));
      REQUIRE(nbits_quantize(*l, W.data(), N, symmetric, B.data(), scales.data(), symmetric ? nullptr : zps.data())
                  .is_ok());
      std::vector<float> D(static_cast<size_t>(K * N));
      REQUIRE(nbits_dequantize(*l, B.data(), scales.data(), symmetric ? nullptr : zps.data(), D.data(), N).is_ok());
      for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k) {
          const float step = std::fabs(scales[static_cast<size_t>(n * l->k_blocks() + k / bs)]);
          // Symmetric codes stop at +7, so the largest positive value can be a full step away.
          const float tol = symmetric ? step * 1.0001f : step * 0.5001f;
          CHECK(std::fabs(D[k * N + n] - W[k * N + n]) <= tol + 1e-6f);
        }
      // Padding past K holds the block's zero point.
      if (K % bs != 0) {
        std::vector<uint8_t> codes(static_cast<size_t>(N * l->k_blocks() * bs));
        const int64_t ld = l->k_blocks() * bs;
        auto full = nbits_layout(ld, N, bs);
        REQUIRE(nbits_unpack(*full, B.data(), codes.data(), ld).is_ok());
        for (int64_t n = 0; n < N; ++n)
          CHECK(codes[n * ld + ld - 1] == nbits_zero_point(*l, symmetric ? nullptr : zps.data(), n, l->k_blocks() - 1));
      }
    }
  }
  auto l = nbits_layout(K, N, 32);
  std::vector<uint8_t> B(static_cast<size_t>(l->b_bytes()));
  std::vector<float> scales(static_cast<size_t>(l->scales_count()));
  CHECK(nbits_quantize(*l, W.data(), N, false, B.data(), scales.data(), nullptr).code() ==
        obol::StatusCode::invalid_argument);
}
