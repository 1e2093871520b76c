// Quantization operators on the CPU backend against plain reference loops written here: QuantizeLinear
// and DequantizeLinear (per-tensor, per-axis, blocked; rounding half to even, saturation),
// DynamicQuantizeLinear, QLinearAdd/QLinearMul, the integer matmuls (constant and run-time weights)
// and MatMulNBits.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "op_test_util.hpp"

namespace {

using namespace obol::op_test;
using obol::DType;
using obol::Shape;
using obol::Tensor;

// The ONNX reference of QuantizeLinear for one value: saturate(rint(x / scale) + zero_point).
int32_t ref_quantize(float x, float scale, int32_t zp, int32_t lo, int32_t hi) {
  const double r = std::nearbyint(static_cast<double>(x / scale)) + zp;
  return static_cast<int32_t>(std::min<double>(hi, std::max<double>(lo, r)));
}

template <class T>
std::vector<T> random_ints(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(d(rng));
  return v;
}

}  // namespace

TEST_CASE("QuantizeLinear rounds half to even and saturates", "[ops][quant]") {
  const std::vector<float> x{0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 300.0f, -300.0f, 127.5f, -128.5f, 3.49f};
  auto u = ok(run_op(OpKind::QuantizeLinear, 13, {tensor<float>({10}, x), tensor<float>({}, {1.0f}), tensor<uint8_t>({}, {0})}, {}));
  CHECK(values<uint8_t>(u[0]) == std::vector<uint8_t>{0, 2, 2, 0, 0, 255, 0, 128, 0, 3});
  auto s = ok(run_op(OpKind::QuantizeLinear, 13, {tensor<float>({10}, x), tensor<float>({}, {1.0f}), tensor<int8_t>({}, {0})}, {}));
  CHECK(values<int8_t>(s[0]) == std::vector<int8_t>{0, 2, 2, 0, -2, 127, -128, 127, -128, 3});
  // The zero point is added after rounding: rint(2.5) + 1 = 3, not rint(3.5) = 4.
  auto z = ok(run_op(OpKind::QuantizeLinear, 13, {tensor<float>({1}, {2.5f}), tensor<float>({}, {1.0f}), tensor<uint8_t>({}, {1})}, {}));
  CHECK(values<uint8_t>(z[0]) == std::vector<uint8_t>{3});
  // No zero point: uint8 output with zero point 0.
  auto d = ok(run_op(OpKind::QuantizeLinear, 10, {tensor<float>({3}, {-1.0f, 2.0f, 1000.0f}), tensor<float>({}, {0.5f})}, {}));
  CHECK(values<uint8_t>(d[0]) == std::vector<uint8_t>{0, 4, 255});
}

TEST_CASE("QuantizeLinear per axis matches the reference on every axis", "[ops][quant]") {
  const Shape shape{2, 3, 4};
  const std::vector<float> x = uniform_floats(24, 1, -3.0f, 3.0f);
  for (int axis : {0, 1, 2, -1}) {
    const int a = axis < 0 ? axis + 3 : axis;
    const int64_t D = shape[a];
    std::vector<float> scales(static_cast<size_t>(D));
    std::vector<int8_t> zps(static_cast<size_t>(D));
    for (int64_t d = 0; d < D; ++d) {
      scales[static_cast<size_t>(d)] = 0.01f + 0.007f * static_cast<float>(d);
      zps[static_cast<size_t>(d)] = static_cast<int8_t>(d * 7 - 10);
    }
    auto out = ok(run_op(OpKind::QuantizeLinear, 13,
                         {tensor<float>(shape, x), tensor<float>({D}, scales), tensor<int8_t>({D}, zps)}, {attr_i("axis", axis)}));
    const auto y = values<int8_t>(out[0]);
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 3; ++j)
        for (int64_t k = 0; k < 4; ++k) {
          const int64_t flat = (i * 3 + j) * 4 + k;
          const size_t p = static_cast<size_t>(a == 0 ? i : a == 1 ? j : k);
          INFO("axis " << axis << " element " << flat);
          CHECK(y[static_cast<size_t>(flat)] == ref_quantize(x[static_cast<size_t>(flat)], scales[p], zps[p], -128, 127));
        }
  }
}

TEST_CASE("QuantizeLinear and DequantizeLinear blocked along an axis", "[ops][quant]") {
  // x [3, 10], blocks of 4 along axis 1: scale [3, 3] (the last block is partial).
  const std::vector<float> x = uniform_floats(30, 2, -3.0f, 3.0f);
  std::vector<float> scales(9);
  std::vector<uint8_t> zps(9);
  for (size_t i = 0; i < 9; ++i) {
    scales[i] = 0.05f + 0.01f * static_cast<float>(i);
    zps[i] = static_cast<uint8_t>(100 + i * 5);
  }
  auto q = ok(run_op(OpKind::QuantizeLinear, 21,
                     {tensor<float>({3, 10}, x), tensor<float>({3, 3}, scales), tensor<uint8_t>({3, 3}, zps)},
                     {attr_i("axis", 1), attr_i("block_size", 4)}));
  const auto y = values<uint8_t>(q[0]);
  for (int64_t r = 0; r < 3; ++r)
    for (int64_t c = 0; c < 10; ++c) {
      const size_t p = static_cast<size_t>(r * 3 + c / 4), i = static_cast<size_t>(r * 10 + c);
      CHECK(y[i] == ref_quantize(x[i], scales[p], zps[p], 0, 255));
    }
  auto dq = ok(run_op(OpKind::DequantizeLinear, 21,
                      {tensor<uint8_t>({3, 10}, y), tensor<float>({3, 3}, scales), tensor<uint8_t>({3, 3}, zps)},
                      {attr_i("axis", 1), attr_i("block_size", 4)}));
  const auto back = values<float>(dq[0]);
  for (int64_t r = 0; r < 3; ++r)
    for (int64_t c = 0; c < 10; ++c) {
      const size_t p = static_cast<size_t>(r * 3 + c / 4), i = static_cast<size_t>(r * 10 + c);
      CHECK(back[i] == (static_cast<float>(y[i]) - static_cast<float>(zps[p])) * scales[p]);
      // Round trip within half a step (no value saturates at these scales).
      CHECK(std::fabs(back[i] - x[i]) <= scales[p] * 0.5f + 1e-6f);
    }
  // A scale of the wrong blocked shape is an error naming the expected shape.
  auto bad = run_op(OpKind::QuantizeLinear, 21, {tensor<float>({3, 10}, x), tensor<float>({3, 2}, std::vector<float>(6, 1.0f))},
                    {attr_i("axis", 1), attr_i("block_size", 4)});
  CHECK_THAT(error_of(bad), Catch::Contains("[QuantizeLinear] node 'n'") && Catch::Contains("dimension 1 = 3"));
}

TEST_CASE("DequantizeLinear per tensor, per axis and int32", "[ops][quant]") {
  auto a = ok(run_op(OpKind::DequantizeLinear, 13,
                     {tensor<int8_t>({4}, {-128, -1, 0, 127}), tensor<float>({}, {0.5f}), tensor<int8_t>({}, {-1})}, {}));
  CHECK(values<float>(a[0]) == std::vector<float>{-63.5f, 0.0f, 0.5f, 64.0f});
  auto b = ok(run_op(OpKind::DequantizeLinear, 13,
                     {tensor<uint8_t>({2, 2}, {0, 10, 20, 255}), tensor<float>({2}, {1.0f, 2.0f}), tensor<uint8_t>({2}, {10, 20})},
                     {attr_i("axis", 0)}));
  CHECK(values<float>(b[0]) == std::vector<float>{-10.0f, 0.0f, 0.0f, 470.0f});
  auto c = ok(run_op(OpKind::DequantizeLinear, 13, {tensor<int32_t>({2}, {-1000000, 7}), tensor<float>({}, {0.25f})}, {}));
  CHECK(values<float>(c[0]) == std::vector<float>{-250000.0f, 1.75f});
  auto bad = run_op(OpKind::DequantizeLinear, 13,
                    {tensor<uint8_t>({2, 3}, std::vector<uint8_t>(6)), tensor<float>({2}, {1.0f, 1.0f})}, {attr_i("axis", 1)});
  CHECK_THAT(error_of(bad), Catch::Contains("per-axis scale must be 1-D with 3 elements"));
  auto mixed = run_op(OpKind::DequantizeLinear, 13,
                      {tensor<uint8_t>({2}, {1, 2}), tensor<float>({}, {1.0f}), tensor<int8_t>({}, {0})}, {});
  CHECK_THAT(error_of(mixed), Catch::Contains("x_zero_point must be u8 like x"));
}

TEST_CASE("DynamicQuantizeLinear follows the ONNX reference", "[ops][quant]") {
  for (int variant = 0; variant < 4; ++variant) {
    std::vector<float> x = uniform_floats(200, 10 + static_cast<uint32_t>(variant), -2.0f, 5.0f);
    if (variant == 1)
      for (float& v : x) v = std::fabs(v) + 1.0f;  // all positive: the range still includes 0
    if (variant == 2)
      for (float& v : x) v = -std::fabs(v) - 1.0f;  // all negative
    if (variant == 3) std::fill(x.begin(), x.end(), 0.0f);
    auto out = ok(run_op(OpKind::DynamicQuantizeLinear, 11, {tensor<float>({10, 20}, x)}, {}, 3));
    const float mx = std::max(0.0f, *std::max_element(x.begin(), x.end()));
    const float mn = std::min(0.0f, *std::min_element(x.begin(), x.end()));
    const float scale = (mx == mn ? 1.0f : mx - mn) / 255.0f;
    const float zp = std::nearbyint(std::min(255.0f, std::max(0.0f, 0.0f - mn / scale)));
    INFO("variant " << variant);
    CHECK(values<float>(out[1])[0] == scale);
    CHECK(values<uint8_t>(out[2])[0] == static_cast<uint8_t>(zp));
    const auto y = values<uint8_t>(out[0]);
    for (size_t i = 0; i < x.size(); ++i) CHECK(y[i] == ref_quantize(x[i], scale, static_cast<int32_t>(zp), 0, 255));
  }
}

TEST_CASE("QLinearAdd and QLinearMul broadcast and requantize", "[ops][quant]") {
  const auto a = random_ints<uint8_t>(12, 3);
  const auto b = random_ints<uint8_t>(4, 4);
  const float sa = 0.05f, sb = 0.1f, sc = 0.2f;
  const int32_t za = 120, zb = 7, zc = 128;
  for (bool mul : {false, true}) {
    const float scale_c = mul ? 1.5f : sc;
    auto out = ok(run_op(mul ? OpKind::MsQLinearMul : OpKind::MsQLinearAdd, 1,
                         {tensor<uint8_t>({3, 4}, a), tensor<float>({}, {sa}), tensor<uint8_t>({}, {static_cast<uint8_t>(za)}),
                          tensor<uint8_t>({4}, b), tensor<float>({}, {sb}), tensor<uint8_t>({}, {static_cast<uint8_t>(zb)}),
                          tensor<float>({}, {scale_c}), tensor<uint8_t>({}, {static_cast<uint8_t>(zc)})},
                         {}));
    const auto c = values<uint8_t>(out[0]);
    REQUIRE(c.size() == 12);
    for (size_t i = 0; i < 12; ++i) {
      const float va = (static_cast<float>(a[i]) - za) * sa, vb = (static_cast<float>(b[i % 4]) - zb) * sb;
      CHECK(c[i] == ref_quantize(mul ? va * vb : va + vb, scale_c, zc, 0, 255));
    }
  }
  auto bad = run_op(OpKind::MsQLinearAdd, 1,
                    {tensor<uint8_t>({2}, {1, 2}), tensor<float>({}, {1.0f}), tensor<uint8_t>({}, {0}), tensor<int8_t>({2}, {1, 2}),
                     tensor<float>({}, {1.0f}), tensor<int8_t>({}, {0}), tensor<float>({}, {1.0f}), tensor<uint8_t>({}, {0})},
                    {});
  CHECK_THAT(error_of(bad), Catch::Contains("must both be uint8 or both int8"));
}

namespace {

// (A - za)(B - zb) for row-major A [M, K] and B [K, N], za per row (1 or M), zb per column (1 or N).
template <class TA, class TB>
std::vector<int32_t> ref_int_matmul(const std::vector<TA>& a, const std::vector<TB>& b, int64_t M, int64_t K, int64_t N,
                                    const std::vector<int32_t>& za, const std::vector<int32_t>& zb) {
  std::vector<int32_t> y(static_cast<size_t>(M * N));
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      int32_t s = 0;
      for (int64_t k = 0; k < K; ++k)
        s += (static_cast<int32_t>(a[static_cast<size_t>(i * K + k)]) - za[za.size() == 1 ? 0 : static_cast<size_t>(i)]) *
             (static_cast<int32_t>(b[static_cast<size_t>(k * N + j)]) - zb[zb.size() == 1 ? 0 : static_cast<size_t>(j)]);
      y[static_cast<size_t>(i * N + j)] = s;
    }
  return y;
}

}  // namespace

TEST_CASE("MatMulInteger with constant and run-time weights on tile-edge shapes", "[ops][quant]") {
  for (int64_t M : {1, 5, 17}) {
    for (int64_t K : {1, 15, 64, 67}) {
      for (int64_t N : {1, 7, 16, 33}) {
        for (bool constant : {false, true}) {
          const auto a = random_ints<uint8_t>(static_cast<size_t>(M * K), static_cast<uint32_t>(M * 100 + K));
          const auto b = random_ints<int8_t>(static_cast<size_t>(K * N), static_cast<uint32_t>(K * 100 + N));
          std::vector<int8_t> zb(static_cast<size_t>(N));
          for (int64_t j = 0; j < N; ++j) zb[static_cast<size_t>(j)] = static_cast<int8_t>(j % 5 - 2);
          auto out = ok(run_op(OpKind::MatMulInteger, 10,
                               {tensor<uint8_t>({M, K}, a), tensor<int8_t>({K, N}, b, constant), tensor<uint8_t>({}, {131}),
                                tensor<int8_t>({N}, zb, constant)},
                               {}));
          std::vector<int32_t> zbi(zb.begin(), zb.end());
          INFO("M " << M << " K " << K << " N " << N << " constant " << constant);
          CHECK(values<int32_t>(out[0]) == ref_int_matmul(a, b, M, K, N, {131}, zbi));
        }
      }
    }
  }
}

TEST_CASE("MatMulInteger broadcasts batches of A and B", "[ops][quant]") {
  // A [2, 3, 4] int8 x B [4, 5] uint8, and A [3, 4] x B [2, 4, 5].
  const auto a = random_ints<int8_t>(24, 5);
  const auto b = random_ints<uint8_t>(40, 6);
  auto out = ok(run_op(OpKind::MatMulInteger, 10, {tensor<int8_t>({2, 3, 4}, a), tensor<uint8_t>({4, 5}, std::vector<uint8_t>(b.begin(), b.begin() + 20), true)}, {}));
  REQUIRE(out[0].shape() == Shape{2, 3, 5});
  CHECK(values<int32_t>(out[0]) == ref_int_matmul(a, std::vector<uint8_t>(b.begin(), b.begin() + 20), 6, 4, 5, {0}, {0}));
  auto out2 = ok(run_op(OpKind::MatMulInteger, 10, {tensor<int8_t>({3, 4}, std::vector<int8_t>(a.begin(), a.begin() + 12)), tensor<uint8_t>({2, 4, 5}, b)}, {}));
  REQUIRE(out2[0].shape() == Shape{2, 3, 5});
  const auto y = values<int32_t>(out2[0]);
  for (int bi = 0; bi < 2; ++bi) {
    const auto r = ref_int_matmul(std::vector<int8_t>(a.begin(), a.begin() + 12),
                                  std::vector<uint8_t>(b.begin() + bi * 20, b.begin() + bi * 20 + 20), 3, 4, 5, {0}, {0});
    CHECK(std::vector<int32_t>(y.begin() + bi * 15, y.begin() + bi * 15 + 15) == r);
  }
}

TEST_CASE("QLinearMatMul with constant weights matches the reference requantization", "[ops][quant]") {
  const int64_t M = 6, K = 40, N = 9;
  const auto a = random_ints<uint8_t>(static_cast<size_t>(M * K), 7);
  const auto b = random_ints<int8_t>(static_cast<size_t>(K * N), 8);
  std::vector<float> sb(static_cast<size_t>(N));
  for (int64_t j = 0; j < N; ++j) sb[static_cast<size_t>(j)] = 0.001f * static_cast<float>(j + 1);
  const float sa = 0.02f, sy = 0.5f;
  auto out = ok(run_op(OpKind::QLinearMatMul, 10,
                       {tensor<uint8_t>({M, K}, a), tensor<float>({}, {sa}), tensor<uint8_t>({}, {128}),
                        tensor<int8_t>({K, N}, b, true), tensor<float>({N}, sb, true), tensor<int8_t>({}, {0}, true),
                        tensor<float>({}, {sy}), tensor<int8_t>({}, {-3})},
                       {}));
  const auto acc = ref_int_matmul(a, b, M, K, N, {128}, {0});
  const auto y = values<int8_t>(out[0]);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      const size_t p = static_cast<size_t>(i * N + j);
      // The ONNX reference adds the zero point before rounding.
      CHECK(y[p] == ref_quantize(static_cast<float>(acc[p]) * (sa * sb[static_cast<size_t>(j)] / sy) - 3.0f, 1.0f, 0, -128, 127));
    }
}

TEST_CASE("DynamicQuantizeMatMul and MatMulIntegerToFloat match the integer reference and fp32", "[ops][quant]") {
  const int64_t B = 2, S = 5, K = 48, N = 20;
  const auto x = uniform_floats(static_cast<size_t>(B * S * K), 9, -1.0f, 3.0f);
  const auto w = uniform_floats(static_cast<size_t>(K * N), 10, -0.5f, 0.5f);
  const auto bias = uniform_floats(static_cast<size_t>(N), 11, -3.0f, 3.0f);
  // Per-column symmetric int8 weights.
  std::vector<float> sw(static_cast<size_t>(N));
  std::vector<int8_t> wq(static_cast<size_t>(K * N));
  for (int64_t j = 0; j < N; ++j) {
    float m = 0;
    for (int64_t k = 0; k < K; ++k) m = std::max(m, std::fabs(w[static_cast<size_t>(k * N + j)]));
    sw[static_cast<size_t>(j)] = m / 127.0f;
    for (int64_t k = 0; k < K; ++k)
      wq[static_cast<size_t>(k * N + j)] = static_cast<int8_t>(ref_quantize(w[static_cast<size_t>(k * N + j)], sw[static_cast<size_t>(j)], 0, -127, 127));
  }
  // The reference: x quantized as DynamicQuantizeLinear does, integer product, rescaled.
  const float mx = std::max(0.0f, *std::max_element(x.begin(), x.end())), mn = std::min(0.0f, *std::min_element(x.begin(), x.end()));
  const float sx = (mx - mn) / 255.0f;
  const int32_t zx = static_cast<int32_t>(std::nearbyint(std::min(255.0f, std::max(0.0f, -mn / sx))));
  std::vector<uint8_t> xq(x.size());
  for (size_t i = 0; i < x.size(); ++i) xq[i] = static_cast<uint8_t>(ref_quantize(x[i], sx, zx, 0, 255));
  const auto acc = ref_int_matmul(xq, wq, B * S, K, N, {zx}, {0});
  for (bool constant : {false, true}) {
    auto dq = ok(run_op(OpKind::MsDynamicQuantizeMatMul, 1,
                        {tensor<float>({B, S, K}, x), tensor<int8_t>({K, N}, wq, constant), tensor<float>({N}, sw, constant),
                         Arg{}, tensor<float>({N}, bias, constant)},
                        {}));
    REQUIRE(dq[0].shape() == Shape{B, S, N});
    auto i2f = ok(run_op(OpKind::MsMatMulIntegerToFloat, 1,
                         {tensor<uint8_t>({B, S, K}, xq), tensor<int8_t>({K, N}, wq, constant), tensor<float>({}, {sx}),
                          tensor<float>({N}, sw, constant), tensor<uint8_t>({}, {static_cast<uint8_t>(zx)}), Arg{},
                          tensor<float>({N}, bias, constant)},
                         {}));
    const auto y = values<float>(dq[0]);
    const auto y2 = values<float>(i2f[0]);
    double max_fp32_err = 0, max_abs = 0;
    for (int64_t i = 0; i < B * S; ++i)
      for (int64_t j = 0; j < N; ++j) {
        const size_t p = static_cast<size_t>(i * N + j);
        const float ref = static_cast<float>(acc[p]) * (sx * sw[static_cast<size_t>(j)]) + bias[static_cast<size_t>(j)];
        CHECK(y[p] == Approx(ref).margin(1e-5));
        CHECK(y2[p] == Approx(ref).margin(1e-5));
        float f = bias[static_cast<size_t>(j)];
        for (int64_t k = 0; k < K; ++k) f += x[static_cast<size_t>(i * K + k)] * w[static_cast<size_t>(k * N + j)];
        max_fp32_err = std::max(max_fp32_err, static_cast<double>(std::fabs(f - y[p])));
        max_abs = std::max(max_abs, static_cast<double>(std::fabs(f)));
      }
    // Against fp32: within the quantization steps (about sqrt(K) half-steps of x times |w|).
    CHECK(max_fp32_err < 0.02 * max_abs + 0.05);
  }
}

namespace {

// MatMulNBits weights for W [K, N]: codes, scales and packed zero points, built with plain loops.
struct NBits {
  std::vector<uint8_t> b, zp;
  std::vector<float> scales;
  std::vector<float> deq;  // the dequantized W [K, N]
};

NBits make_nbits(const std::vector<float>& w, int64_t K, int64_t N, int64_t bs) {
  const int64_t kb = (K + bs - 1) / bs;
  NBits r;
  r.b.assign(static_cast<size_t>(N * kb * bs / 2), 0);
  r.zp.assign(static_cast<size_t>(N * ((kb + 1) / 2)), 0);
  r.scales.assign(static_cast<size_t>(N * kb), 0);
  r.deq.assign(static_cast<size_t>(K * N), 0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t blk = 0; blk < kb; ++blk) {
      float lo = 0, hi = 0;
      for (int64_t k = blk * bs; k < std::min(K, (blk + 1) * bs); ++k) {
        lo = std::min(lo, w[static_cast<size_t>(k * N + n)]);
        hi = std::max(hi, w[static_cast<size_t>(k * N + n)]);
      }
      const float scale = (hi - lo) / 15.0f;
      const int zp = scale == 0 ? 8 : static_cast<int>(std::min(15.0f, std::max(0.0f, std::nearbyint(-lo / scale))));
      r.scales[static_cast<size_t>(n * kb + blk)] = scale;
      r.zp[static_cast<size_t>(n * ((kb + 1) / 2) + blk / 2)] |= static_cast<uint8_t>(zp << (4 * (blk & 1)));
      for (int64_t i = 0; i < bs; ++i) {
        const int64_t k = blk * bs + i;
        int code = zp;
        if (k < K && scale != 0)
          code = static_cast<int>(std::min(15.0f, std::max(0.0f, std::nearbyint(w[static_cast<size_t>(k * N + n)] / scale) + zp)));
        r.b[static_cast<size_t>((n * kb + blk) * (bs / 2) + i / 2)] |= static_cast<uint8_t>(code << (4 * (i & 1)));
        if (k < K) r.deq[static_cast<size_t>(k * N + n)] = static_cast<float>(code - zp) * scale;
      }
    }
  return r;
}

}  // namespace

TEST_CASE("MatMulNBits matches dequantize-then-matmul", "[ops][quant]") {
  for (int64_t bs : {16, 32, 64}) {
    for (int64_t K : {16, 40, 130}) {
      const int64_t M = 3, N = 7, kb = (K + bs - 1) / bs;
      const auto w = uniform_floats(static_cast<size_t>(K * N), static_cast<uint32_t>(K + bs), -3.0f, 3.0f);
      const auto x = uniform_floats(static_cast<size_t>(M * K), static_cast<uint32_t>(K * 3), -3.0f, 3.0f);
      const auto bias = uniform_floats(static_cast<size_t>(N), 12, -3.0f, 3.0f);
      const NBits q = make_nbits(w, K, N, bs);
      for (bool constant : {false, true}) {
        for (bool with_zp : {false, true}) {
          std::vector<Arg> args{tensor<float>({M, K}, x), tensor<uint8_t>({N, kb, bs / 2}, q.b, constant),
                                tensor<float>({N, kb}, q.scales, constant)};
          args.push_back(with_zp ? tensor<uint8_t>({static_cast<int64_t>(q.zp.size())}, q.zp, constant) : Arg{});
          args.push_back(Arg{});
          args.push_back(tensor<float>({N}, bias, constant));
          auto out = ok(run_op(OpKind::MsMatMulNBits, 1, args,
                               {attr_i("K", K), attr_i("N", N), attr_i("bits", 4), attr_i("block_size", bs)}));
          REQUIRE(out[0].shape() == Shape{M, N});
          const auto y = values<float>(out[0]);
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j) {
              // Without zero points every block's zero point is 8.
              double ref = bias[static_cast<size_t>(j)];
              for (int64_t k = 0; k < K; ++k) {
                float wk = q.deq[static_cast<size_t>(k * N + j)];
                if (!with_zp) {
                  const int64_t blk = k / bs, in = k % bs;
                  const int code = (q.b[static_cast<size_t>((j * kb + blk) * (bs / 2) + in / 2)] >> (4 * (in & 1))) & 15;
                  wk = static_cast<float>(code - 8) * q.scales[static_cast<size_t>(j * kb + blk)];
                }
                ref += static_cast<double>(x[static_cast<size_t>(i * K + k)]) * wk;
              }
              INFO("bs " << bs << " K " << K << " constant " << constant << " zp " << with_zp);
              CHECK(y[static_cast<size_t>(i * N + j)] == Approx(ref).margin(1e-4));
            }
        }
      }
    }
  }
  auto bad = run_op(OpKind::MsMatMulNBits, 1,
                    {tensor<float>({1, 16}, std::vector<float>(16)), tensor<uint8_t>({2, 1, 8}, std::vector<uint8_t>(16)),
                     tensor<float>({2}, {1.0f, 1.0f})},
                    {attr_i("K", 16), attr_i("N", 2), attr_i("block_size", 24)});
  CHECK_THAT(error_of(bad), Catch::Contains("block_size must be a power of two"));
}
