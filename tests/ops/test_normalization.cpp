// The normalization family on the CPU backend: what the ONNX test data leaves out (half and double
// dtypes, broadcast Scale, the fast f32 LayerNormalization path against the statistics path, old
// BatchNormalization attributes, zero norms, even LRN sizes, error paths).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "obol/obol.hpp"
#include "ops/op_test_util.hpp"

using namespace obol;
using graph::OpKind;

namespace {

using namespace obol::op_test;

// Layer norm of each row of n values, written from the definition.
std::vector<double> ref_layer_norm(const std::vector<float>& x, int64_t n, const std::vector<float>& g,
                                   const std::vector<float>& b, float eps) {
  std::vector<double> y(x.size());
  for (size_t r = 0; r < x.size() / static_cast<size_t>(n); ++r) {
    double m = 0, v = 0;
    for (int64_t i = 0; i < n; ++i) m += x[r * n + i];
    m /= static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i) v += (x[r * n + i] - m) * (x[r * n + i] - m);
    v /= static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i)
      y[r * n + i] = (x[r * n + i] - m) / std::sqrt(v + eps) * g[static_cast<size_t>(i) % g.size()] +
                     (b.empty() ? 0.0 : b[static_cast<size_t>(i) % b.size()]);
  }
  return y;
}

}  // namespace

TEST_CASE("LayerNormalization: fast f32 path, statistics outputs, broadcast Scale, dtypes", "[ops][normalization]") {
  const std::vector<float> x = random_floats(3 * 4 * 5, 7);
  const std::vector<float> g = random_floats(20, 8), b = random_floats(20, 9);
  const std::vector<double> want = ref_layer_norm(x, 20, g, b, 1e-5f);
  SECTION("one output (SIMD kernel) and three outputs agree with the definition") {
    auto one = ok(run_op(OpKind::LayerNormalization, 17,
                         {tensor<float>({3, 4, 5}, x), tensor<float>({4, 5}, g), tensor<float>({4, 5}, b)},
                         {attr_i("axis", 1)}));
    auto three = ok(run_op(OpKind::LayerNormalization, 17,
                           {tensor<float>({3, 4, 5}, x), tensor<float>({4, 5}, g), tensor<float>({4, 5}, b)},
                           {attr_i("axis", -2)}, 3));
    const std::vector<float> y1 = values<float>(one[0]), y3 = values<float>(three[0]);
    for (size_t i = 0; i < want.size(); ++i) {
      CHECK(y1[i] == Approx(want[i]).margin(1e-5));
      CHECK(y3[i] == Approx(want[i]).margin(1e-5));
    }
    CHECK(three[1].shape() == Shape{3, 1, 1});
    CHECK(three[2].shape() == Shape{3, 1, 1});
    double m = 0;
    for (int i = 0; i < 20; ++i) m += x[static_cast<size_t>(20 + i)];
    CHECK(values<float>(three[1])[1] == Approx(m / 20).margin(1e-6));
    CHECK(values<float>(three[2])[1] > 0.0f);
  }
  SECTION("Scale of shape [5] and no B broadcast over the normalised [4, 5]") {
    const std::vector<float> g5(g.begin(), g.begin() + 5);
    const std::vector<double> w5 = ref_layer_norm(x, 20, g5, {}, 1e-5f);
    auto y = ok(run_op(OpKind::LayerNormalization, 17, {tensor<float>({3, 4, 5}, x), tensor<float>({5}, g5)},
                       {attr_i("axis", 1)}));
    const std::vector<float> v = values<float>(y[0]);
    for (size_t i = 0; i < w5.size(); ++i) CHECK(v[i] == Approx(w5[i]).margin(1e-5));
  }
  SECTION("double and f16") {
    const std::vector<double> xd(x.begin(), x.end()), gd(g.begin(), g.end()), bd(b.begin(), b.end());
    auto y = ok(run_op(OpKind::LayerNormalization, 17,
                       {tensor<double>({3, 20}, xd), tensor<double>({20}, gd), tensor<double>({20}, bd)}, {}));
    const std::vector<double> v = values<double>(y[0]);
    for (size_t i = 0; i < want.size(); ++i) CHECK(v[i] == Approx(want[i]).margin(1e-9));
    auto h = ok(run_op(OpKind::LayerNormalization, 17, {f16_tensor({1, 2}, {1, 3}), f16_tensor({2}, {1, 2})},
                       {attr_f("epsilon", 0.0f)}));
    REQUIRE(h[0].dtype() == DType::f16);
    CHECK(f16_to_f32(h[0].data_as<uint16_t>()[0]) == -1.0f);
    CHECK(f16_to_f32(h[0].data_as<uint16_t>()[1]) == 2.0f);
  }
  SECTION("errors name the node and what was wrong") {
    CHECK(error_of(run_op(OpKind::LayerNormalization, 17, {tensor<float>({2, 3}, {1, 2, 3, 4, 5, 6}), tensor<float>({3}, {1, 1, 1})},
                          {attr_i("axis", 2)}))
              .find("[LayerNormalization] node 'n': axis 2 is out of range") != std::string::npos);
    CHECK(error_of(run_op(OpKind::LayerNormalization, 17, {tensor<float>({2, 3}, {1, 2, 3, 4, 5, 6}), tensor<float>({2}, {1, 1})}, {}))
              .find("input Scale has shape [2], expected it to broadcast to [3]") != std::string::npos);
  }
}

TEST_CASE("BatchNormalization: inference, training statistics, old opsets", "[ops][normalization]") {
  const std::vector<float> x{1, 2, 3, 4, 5, 6, 7, 8};  // N=2, C=2, 2 values per plane
  auto params = [](std::vector<float> s, std::vector<float> b, std::vector<float> m, std::vector<float> v) {
    std::vector<Arg> a;
    a.push_back(tensor<float>({2}, s));
    a.push_back(tensor<float>({2}, b));
    a.push_back(tensor<float>({2}, m));
    a.push_back(tensor<float>({2}, v));
    return a;
  };
  SECTION("inference: y = (x - mean) / sqrt(var + eps) * scale + B") {
    std::vector<Arg> args;
    args.push_back(tensor<float>({2, 2, 2}, x));
    for (Arg& a : params({2, 1}, {0, 1}, {1, 2}, {4, 1})) args.push_back(std::move(a));
    auto y = ok(run_op(OpKind::BatchNormalization, 15, std::move(args), {attr_f("epsilon", 0.0f)}));
    const std::vector<float> v = values<float>(y[0]);
    CHECK(v == std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7});
  }
  SECTION("training_mode: batch statistics and running averages") {
    std::vector<Arg> args;
    args.push_back(tensor<float>({2, 2, 2}, x));
    for (Arg& a : params({1, 1}, {0, 0}, {0, 10}, {1, 1})) args.push_back(std::move(a));
    auto y = ok(run_op(OpKind::BatchNormalization, 15, std::move(args),
                       {attr_i("training_mode", 1), attr_f("momentum", 0.5f), attr_f("epsilon", 0.0f)}, 3));
    // Channel 0 holds 1, 2, 5, 6: mean 3.5, population variance 4.25; channel 1 has mean 5.5.
    CHECK(values<float>(y[1]) == std::vector<float>{1.75f, 7.75f});
    CHECK(values<float>(y[2])[0] == Approx(0.5f + 0.5f * 4.25f));
    CHECK(values<float>(y[0])[0] == Approx((1 - 3.5) / std::sqrt(4.25)));
  }
  SECTION("opset 7 without spatial: statistics per element of C x D") {
    std::vector<Arg> args;
    args.push_back(tensor<double>({1, 2, 2}, {1, 2, 3, 4}));
    for (int i = 0; i < 4; ++i) args.push_back(tensor<double>({2, 2}, i == 0 ? std::vector<double>{1, 2, 3, 4}
                                                                     : i == 3 ? std::vector<double>{1, 1, 1, 1}
                                                                              : std::vector<double>{0, 0, 0, 0}));
    auto y = ok(run_op(OpKind::BatchNormalization, 7, std::move(args), {attr_i("spatial", 0), attr_f("epsilon", 0.0f)}));
    CHECK(values<double>(y[0]) == std::vector<double>{1, 4, 9, 16});
  }
  SECTION("errors") {
    std::vector<Arg> args;
    args.push_back(tensor<float>({2, 2, 2}, x));
    for (Arg& a : params({1, 1}, {0, 0}, {0, 0}, {1, 1})) args.push_back(std::move(a));
    args[1] = tensor<float>({3}, {1, 1, 1});
    CHECK(error_of(run_op(OpKind::BatchNormalization, 15, std::move(args), {}))
              .find("input scale has shape [3], expected 2 values (one per channel)") != std::string::npos);
    std::vector<Arg> args9;
    args9.push_back(tensor<float>({2, 2, 2}, x));
    for (Arg& a : params({1, 1}, {0, 0}, {0, 0}, {1, 1})) args9.push_back(std::move(a));
    CHECK(error_of(run_op(OpKind::BatchNormalization, 9, std::move(args9), {}, 5)).find("not supported") != std::string::npos);
  }
}

TEST_CASE("InstanceNormalization, LpNormalization, LRN, MeanVarianceNormalization", "[ops][normalization]") {
  SECTION("InstanceNormalization per (n, c) plane, f16 and errors") {
    auto y = ok(run_op(OpKind::InstanceNormalization, 6,
                       {tensor<float>({1, 2, 2}, {1, 3, 5, 5}), tensor<float>({2}, {2, 1}), tensor<float>({2}, {0, 7})},
                       {attr_f("epsilon", 1e-6f)}));
    const std::vector<float> v = values<float>(y[0]);
    CHECK(v[0] == Approx(-2.0f));
    CHECK(v[1] == Approx(2.0f));
    CHECK(v[2] == 7.0f);  // a constant plane gives B
    CHECK(v[3] == 7.0f);
    auto h = ok(run_op(OpKind::InstanceNormalization, 6,
                       {f16_tensor({1, 1, 2}, {1, 3}), f16_tensor({1}, {1}), f16_tensor({1}, {0})}, {attr_f("epsilon", 0.0f)}));
    CHECK(f16_to_f32(h[0].data_as<uint16_t>()[1]) == 1.0f);
    CHECK(error_of(run_op(OpKind::InstanceNormalization, 6,
                          {tensor<float>({2, 2}, {1, 2, 3, 4}), tensor<float>({2}, {1, 1}), tensor<float>({2}, {0, 0})}, {}))
              .find("expected at least 3") != std::string::npos);
  }
  SECTION("LpNormalization p=1 and p=2 along an inner axis; zero vectors stay zero") {
    auto l2 = ok(run_op(OpKind::LpNormalization, 1, {tensor<float>({2, 2}, {3, 0, 4, 0})}, {attr_i("axis", 0)}));
    CHECK(values<float>(l2[0]) == std::vector<float>{0.6f, 0, 0.8f, 0});
    auto l1 = ok(run_op(OpKind::LpNormalization, 1, {tensor<double>({1, 3}, {1, -2, 1})}, {attr_i("p", 1)}));
    CHECK(values<double>(l1[0]) == std::vector<double>{0.25, -0.5, 0.25});
    CHECK(error_of(run_op(OpKind::LpNormalization, 1, {tensor<float>({2}, {1, 2})}, {attr_i("p", 3)}))
              .find("p must be 1 or 2") != std::string::npos);
  }
  SECTION("LRN with an even size looks one channel further ahead than behind") {
    // size 2: channel c sums squares of c and c + 1.
    auto y = ok(run_op(OpKind::LRN, 13, {tensor<float>({1, 3, 1, 1}, {1, 2, 3})},
                       {attr_i("size", 2), attr_f("alpha", 2.0f), attr_f("beta", 1.0f), attr_f("bias", 0.0f)}));
    const std::vector<float> v = values<float>(y[0]);
    CHECK(v[0] == Approx(1.0 / 5.0));
    CHECK(v[1] == Approx(2.0 / 13.0));
    CHECK(v[2] == Approx(3.0 / 9.0));
    CHECK(error_of(run_op(OpKind::LRN, 13, {tensor<float>({1, 1}, {1})}, {})).find("size must be positive") != std::string::npos);
  }
  SECTION("MeanVarianceNormalization over custom axes and errors") {
    auto y = ok(run_op(OpKind::MeanVarianceNormalization, 13, {tensor<float>({2, 2}, {1, 3, 10, 10})}, {attr_ints("axes", {1})}));
    const std::vector<float> v = values<float>(y[0]);
    CHECK(v[0] == Approx(-1.0f));
    CHECK(v[1] == Approx(1.0f));
    CHECK(v[2] == 0.0f);
    CHECK(error_of(run_op(OpKind::MeanVarianceNormalization, 13, {tensor<float>({2, 2}, {1, 2, 3, 4})}, {}))
              .find("axis 2 is out of range") != std::string::npos);
  }
}
