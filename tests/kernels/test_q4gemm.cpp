// int4 weight-only matmul: every tier and both compute modes against dequantize-then-f64, on
// MatMulNBits (all block sizes, with and without zero points, ragged K) and q4_0 weights.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "obol/kernels/q4gemm.hpp"
#include "obol/quant/blocks.hpp"

using obol::kernels::Q4Compute;
using obol::kernels::Q4Format;
using obol::kernels::Q4MatmulArgs;
using obol::kernels::Q4Weights;
using obol::kernels::QGemmIsa;

namespace {

struct Weights {
  Q4Weights view;
  std::vector<uint8_t> data, zps;
  std::vector<float> scales;
  std::vector<float> dequant;  // K x N
};

std::vector<float> random_floats(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

Weights make_nbits(int64_t K, int64_t N, int64_t bs, bool symmetric, uint32_t seed) {
  Weights w;
  const std::vector<float> W = random_floats(static_cast<size_t>(K * N), seed, -1.0f, 0.6f);
  auto l = obol::quant::nbits_layout(K, N, bs);
  REQUIRE(l.is_ok());
  w.data.resize(static_cast<size_t>(l->b_bytes()));
  w.scales.resize(static_cast<size_t>(l->scales_count()));
  w.zps.resize(static_cast<size_t>(l->zp_bytes()));
  REQUIRE(obol::quant::nbits_quantize(*l, W.data(), N, symmetric, w.data.data(), w.scales.data(),
                                      symmetric ? nullptr : w.zps.data())
              .is_ok());
  w.dequant.resize(static_cast<size_t>(K * N));
  REQUIRE(obol::quant::nbits_dequantize(*l, w.data.data(), w.scales.data(), symmetric ? nullptr : w.zps.data(),
                                        w.dequant.data(), N)
              .is_ok());
  w.view.format = Q4Format::nbits;
  w.view.K = K;
  w.view.N = N;
  w.view.block_size = bs;
  w.view.data = w.data.data();
  w.view.scales = w.scales.data();
  w.view.zero_points = symmetric ? nullptr : w.zps.data();
  return w;
}

Weights make_q4_0(int64_t K, int64_t N, uint32_t seed) {
  Weights w;
  const std::vector<float> Wt = random_floats(static_cast<size_t>(K * N), seed, -1.0f, 1.0f);  // N x K
  std::vector<obol::quant::block_q4_0> blocks(static_cast<size_t>(N * K / 32));
  for (int64_t n = 0; n < N; ++n)
    REQUIRE(obol::quant::quantize_q4_0(&Wt[static_cast<size_t>(n * K)], K, &blocks[static_cast<size_t>(n * K / 32)])
                .is_ok());
  w.data.resize(blocks.size() * sizeof(obol::quant::block_q4_0));
  std::memcpy(w.data.data(), blocks.data(), w.data.size());
  std::vector<float> row(static_cast<size_t>(K));
  w.dequant.resize(static_cast<size_t>(K * N));
  for (int64_t n = 0; n < N; ++n) {
    REQUIRE(obol::quant::dequantize_q4_0(&blocks[static_cast<size_t>(n * K / 32)], K, row.data()).is_ok());
    for (int64_t k = 0; k < K; ++k) w.dequant[static_cast<size_t>(k * N + n)] = row[static_cast<size_t>(k)];
  }
  w.view.format = Q4Format::q4_0;
  w.view.K = K;
  w.view.N = N;
  w.view.block_size = 32;
  w.view.data = w.data.data();
  return w;
}

// Runs every supported tier in both compute modes and checks against X * dequant(W) + bias in double.
// f32 mode: float rounding only. int8 mode: 8-bit activations, error bounded by the per-group
// activation step times the weights' magnitude.
void check_q4(const Weights& w, int64_t M, uint32_t seed) {
  const int64_t K = w.view.K, N = w.view.N;
  const std::vector<float> X = random_floats(static_cast<size_t>(M * K), seed, -2.0f, 2.0f);
  const std::vector<float> bias = random_floats(static_cast<size_t>(N), seed + 1, -1.0f, 1.0f);
  std::vector<double> ref(static_cast<size_t>(M * N)), mag(static_cast<size_t>(M * N));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double s = bias[static_cast<size_t>(n)], a = 0;
      for (int64_t k = 0; k < K; ++k) {
        const double p = static_cast<double>(X[static_cast<size_t>(m * K + k)]) * w.dequant[static_cast<size_t>(k * N + n)];
        s += p;
        a += std::fabs(p);
      }
      ref[static_cast<size_t>(m * N + n)] = s;
      mag[static_cast<size_t>(m * N + n)] = a;
    }
  double wmax = 0;
  for (float v : w.dequant) wmax = std::max(wmax, static_cast<double>(std::fabs(v)));
  for (QGemmIsa isa : obol::kernels::qgemm_available_isas()) {
    for (Q4Compute mode : {Q4Compute::f32, Q4Compute::int8, Q4Compute::automatic}) {
      INFO(obol::kernels::qgemm_isa_name(isa) << " mode " << static_cast<int>(mode) << " M=" << M << " K=" << K
                                              << " N=" << N << " block " << w.view.block_size);
      std::vector<float> Y(static_cast<size_t>(M * N), -1e30f);
      Q4MatmulArgs g;
      g.M = M;
      g.X = X.data();
      g.ldx = K;
      g.Y = Y.data();
      g.ldy = N;
      g.bias = bias.data();
      g.compute = mode;
      REQUIRE(obol::kernels::q4_matmul(g, w.view, isa).is_ok());
      const bool int8 = mode == Q4Compute::int8 || (mode == Q4Compute::automatic && M < 16);
      size_t bad = 0;
      for (size_t i = 0; i < Y.size(); ++i) {
        // int8: each activation is off by at most step / 2 = max|x| / 254 <= 2 / 254, independently, so
        // the sum's error stays within a few sqrt(K) * step * max|w| (an error of the layout or the
        // zero points would be of the order of the result itself).
        const double tol = int8 ? 1e-5 * mag[i] + 4.0 * std::sqrt(static_cast<double>(K)) * (2.0 / 254) * wmax + 1e-4
                                : 1e-5 * mag[i] + 1e-5;
        if (!(std::fabs(Y[i] - ref[i]) <= tol)) ++bad;
      }
      CHECK(bad == 0);
    }
  }
}

}  // namespace

TEST_CASE("q4 matmul on MatMulNBits weights matches dequantize-then-float", "[q4gemm]") {
  const int64_t bs = GENERATE(16, 32, 64, 128, 256);
  const bool symmetric = GENERATE(true, false);
  const int64_t K = GENERATE(16, 48, 100, 256, 320);
  const int64_t N = GENERATE(1, 17, 40);
  const Weights w = make_nbits(K, N, bs, symmetric, static_cast<uint32_t>(K * 31 + N + bs));
  for (int64_t M : {1, 3}) check_q4(w, M, static_cast<uint32_t>(M + K));
}

TEST_CASE("q4 matmul prefill sizes use the f32 panel path", "[q4gemm]") {
  const Weights w = make_nbits(160, 70, 32, false, 3);
  check_q4(w, 20, 5);
  const Weights q = make_q4_0(128, 67, 4);
  check_q4(q, 17, 6);
}

TEST_CASE("q4 matmul on q4_0 weights matches dequantize-then-float", "[q4gemm]") {
  const int64_t K = GENERATE(32, 64, 96, 512);
  const int64_t N = GENERATE(1, 9, 33);
  const Weights w = make_q4_0(K, N, static_cast<uint32_t>(K + N));
  for (int64_t M : {1, 2, 5}) check_q4(w, M, static_cast<uint32_t>(M * 7 + K));
}

TEST_CASE("q4 matmul int8 activations are exact for integer-valued data", "[q4gemm]") {
  // Activations whose group maximum is 127 quantize without error, so the int8 path must then give
  // the exact product (small integers and power-of-two scales keep every float sum exact).
  const int64_t K = 128, N = 24;
  Weights w = make_nbits(K, N, 64, false, 9);
  for (float& s : w.scales) s = 0.25f;
  auto l = obol::quant::nbits_layout(K, N, 64);
  REQUIRE(obol::quant::nbits_dequantize(*l, w.data.data(), w.scales.data(), w.zps.data(), w.dequant.data(), N).is_ok());
  std::vector<float> X(static_cast<size_t>(K));
  for (int64_t k = 0; k < K; ++k) X[static_cast<size_t>(k)] = static_cast<float>(k % 32 == 0 ? 127 : (k * 37) % 255 - 127);
  for (QGemmIsa isa : obol::kernels::qgemm_available_isas()) {
    std::vector<float> Y(static_cast<size_t>(N));
    Q4MatmulArgs g;
    g.M = 1;
    g.X = X.data();
    g.ldx = K;
    g.Y = Y.data();
    g.ldy = N;
    g.compute = Q4Compute::int8;
    REQUIRE(obol::kernels::q4_matmul(g, w.view, isa).is_ok());
    for (int64_t n = 0; n < N; ++n) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k) s += static_cast<double>(X[static_cast<size_t>(k)]) * w.dequant[static_cast<size_t>(k * N + n)];
      INFO(obol::kernels::qgemm_isa_name(isa) << " n " << n);
      CHECK(Y[static_cast<size_t>(n)] == static_cast<float>(s));
    }
  }
}

TEST_CASE("q4 matmul rejects bad arguments", "[q4gemm]") {
  const Weights w = make_nbits(64, 4, 32, true, 1);
  std::vector<float> X(64), Y(4);
  Q4MatmulArgs g;
  g.M = 1;
  g.X = X.data();
  g.ldx = 64;
  g.Y = Y.data();
  g.ldy = 4;
  Q4Weights v = w.view;
  v.block_size = 24;
  CHECK(obol::kernels::q4_matmul(g, v).code() == obol::StatusCode::invalid_argument);
  v = w.view;
  v.scales = nullptr;
  CHECK(obol::kernels::q4_matmul(g, v).code() == obol::StatusCode::invalid_argument);
  v = w.view;
  v.format = Q4Format::q4_0;
  v.K = 40;
  CHECK(obol::kernels::q4_matmul(g, v).code() == obol::StatusCode::invalid_argument);
  g.ldx = 10;
  CHECK(obol::kernels::q4_matmul(g, w.view).code() == obol::StatusCode::invalid_argument);
}
