// The reduce family on the CPU backend: what the ONNX test data leaves out (empty reductions,
// integer and half dtypes, ties, NaN, error paths).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "obol/obol.hpp"
#include "ops/op_test_util.hpp"

using namespace obol;
using graph::OpKind;

namespace {

using namespace obol::op_test;

constexpr float kInf = std::numeric_limits<float>::infinity();

}  // namespace

TEST_CASE("Reduce ops: axes input, keepdims and dtypes", "[ops][reduce]") {
  SECTION("ReduceSum-13 over a constant axes input, int32, wrapping like the type") {
    auto out = ok(run_op(OpKind::ReduceSum, 13,
                         {tensor<int32_t>({2, 2}, {2147483647, 1, -5, 3}), tensor<int64_t>({1}, {-1}, true)},
                         {attr_i("keepdims", 0)}));
    CHECK(out[0].shape() == Shape{2});
    CHECK(values<int32_t>(out[0]) == std::vector<int32_t>{std::numeric_limits<int32_t>::min(), -2});
  }
  SECTION("ReduceMean-18 with axes from a graph input (not constant), f64") {
    auto out = ok(run_op(OpKind::ReduceMean, 18,
                         {tensor<double>({2, 3}, {1, 2, 3, 4, 5, 6}), tensor<int64_t>({1}, {0})}, {}));
    CHECK(out[0].shape() == Shape{1, 3});
    CHECK(values<double>(out[0]) == std::vector<double>{2.5, 3.5, 4.5});
  }
  SECTION("ReduceMax-11 axes attribute over non-adjacent axes, int8") {
    auto out = ok(run_op(OpKind::ReduceMax, 11, {tensor<int8_t>({2, 2, 2}, {-128, -7, 5, -3, 1, 2, -1, 4})},
                         {attr_ints("axes", {0, 2}), attr_i("keepdims", 0)}));
    CHECK(values<int8_t>(out[0]) == std::vector<int8_t>{2, 5});
  }
  SECTION("ReduceL1 / ReduceL2 / ReduceLogSum on f16") {
    auto l1 = ok(run_op(OpKind::ReduceL1, 13, {f16_tensor({2, 2}, {-3, 4, 1, -1})}, {attr_ints("axes", {1})}));
    CHECK(f16_values(l1[0]) == std::vector<float>{7, 2});
    auto l2 = ok(run_op(OpKind::ReduceL2, 13, {f16_tensor({2, 2}, {-3, 4, 0, -1})}, {attr_ints("axes", {1})}));
    CHECK(f16_values(l2[0]) == std::vector<float>{5, 1});
    auto ls = ok(run_op(OpKind::ReduceLogSum, 13, {f16_tensor({1, 2}, {1, 0})}, {}));
    CHECK(f16_values(ls[0])[0] == 0.0f);
  }
  SECTION("ReduceL2 and ReduceLogSum on f32 finish the sum-of-squares / sum kernels") {
    auto l2 = ok(run_op(OpKind::ReduceL2, 18, {tensor<float>({2, 2}, {3, 4, 6, 8})}, {attr_i("keepdims", 0)}));
    CHECK(values<float>(l2[0])[0] == Approx(std::sqrt(125.0f)));
    auto ls = ok(run_op(OpKind::ReduceLogSum, 18, {tensor<float>({3}, {1, 2, 3})}, {}));
    CHECK(values<float>(ls[0])[0] == Approx(std::log(6.0f)));
  }
  SECTION("ReduceSumSquare / ReduceProd on int64 and uint8") {
    auto ss = ok(run_op(OpKind::ReduceSumSquare, 13, {tensor<int64_t>({3}, {-2, 3, 4})}, {}));
    CHECK(values<int64_t>(ss[0]) == std::vector<int64_t>{29});
    auto pr = ok(run_op(OpKind::ReduceProd, 13, {tensor<uint8_t>({3}, {4, 8, 9})}, {}));
    CHECK(values<uint8_t>(pr[0]) == std::vector<uint8_t>{static_cast<uint8_t>(288)});
  }
  SECTION("ReduceLogSumExp is stable for large values and handles infinities") {
    auto big = ok(run_op(OpKind::ReduceLogSumExp, 13, {tensor<float>({2}, {1000, 1000})}, {}));
    CHECK(values<float>(big[0])[0] == Approx(1000.0f + std::log(2.0f)));
    auto inf = ok(run_op(OpKind::ReduceLogSumExp, 13, {tensor<double>({3}, {-kInf, 1, kInf})}, {}));
    CHECK(values<double>(inf[0])[0] == kInf);
    auto ninf = ok(run_op(OpKind::ReduceLogSumExp, 13, {tensor<double>({2}, {-kInf, -kInf})}, {}));
    CHECK(values<double>(ninf[0])[0] == -kInf);
  }
  SECTION("NaN propagates through ReduceMax and ReduceMin") {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    auto mx = ok(run_op(OpKind::ReduceMax, 13, {tensor<float>({3}, {1, nan, 2})}, {}));
    CHECK(std::isnan(values<float>(mx[0])[0]));
    auto mn = ok(run_op(OpKind::ReduceMin, 13, {tensor<double>({3}, {1, nan, 2})}, {}));
    CHECK(std::isnan(values<double>(mn[0])[0]));
  }
}

TEST_CASE("Reduce ops: empty sets give the identity, empty axes follow noop_with_empty_axes", "[ops][reduce]") {
  const Shape s{2, 0};
  auto axes1 = [] { return tensor<int64_t>({1}, {1}, true); };
  auto mx = ok(run_op(OpKind::ReduceMax, 18, {tensor<float>(s, {}), axes1()}, {attr_i("keepdims", 0)}));
  CHECK(mx[0].shape() == Shape{2});
  CHECK(values<float>(mx[0]) == std::vector<float>{-kInf, -kInf});
  auto mxi = ok(run_op(OpKind::ReduceMax, 18, {tensor<int32_t>(s, {}), axes1()}, {}));
  CHECK(mxi[0].shape() == Shape{2, 1});
  CHECK(values<int32_t>(mxi[0])[0] == std::numeric_limits<int32_t>::lowest());
  auto mn = ok(run_op(OpKind::ReduceMin, 18, {tensor<double>(s, {}), axes1()}, {}));
  CHECK(values<double>(mn[0])[1] == kInf);
  auto pr = ok(run_op(OpKind::ReduceProd, 18, {tensor<float>(s, {}), axes1()}, {}));
  CHECK(values<float>(pr[0]) == std::vector<float>{1, 1});
  auto sm = ok(run_op(OpKind::ReduceSum, 13, {tensor<int64_t>(s, {}), axes1()}, {}));
  CHECK(values<int64_t>(sm[0]) == std::vector<int64_t>{0, 0});
  auto ls = ok(run_op(OpKind::ReduceLogSum, 18, {tensor<float>(s, {}), axes1()}, {}));
  CHECK(values<float>(ls[0])[0] == -kInf);
  auto lse = ok(run_op(OpKind::ReduceLogSumExp, 18, {tensor<double>(s, {}), axes1()}, {}));
  CHECK(values<double>(lse[0])[0] == -kInf);
  auto mean = ok(run_op(OpKind::ReduceMean, 18, {tensor<float>(s, {}), axes1()}, {}));
  CHECK(std::isnan(values<float>(mean[0])[0]));

  SECTION("reducing the kept-empty axis gives an empty output") {
    auto e = ok(run_op(OpKind::ReduceSum, 13, {tensor<float>(s, {}), tensor<int64_t>({1}, {0}, true)}, {}));
    CHECK(e[0].shape() == Shape{1, 0});
  }
  SECTION("empty axes with noop_with_empty_axes applies the per-element part only") {
    auto sq = ok(run_op(OpKind::ReduceSumSquare, 18, {tensor<float>({3}, {-2, 3, 0.5f}), tensor<int64_t>({0}, {}, true)},
                        {attr_i("noop_with_empty_axes", 1)}));
    CHECK(values<float>(sq[0]) == std::vector<float>{4, 9, 0.25f});
    auto l1 = ok(run_op(OpKind::ReduceL1, 18, {tensor<int32_t>({2}, {-2, 3}), tensor<int64_t>({0}, {}, true)},
                        {attr_i("noop_with_empty_axes", 1)}));
    CHECK(values<int32_t>(l1[0]) == std::vector<int32_t>{2, 3});
  }
  SECTION("empty axes without noop reduce everything") {
    auto all = ok(run_op(OpKind::ReduceSum, 13, {tensor<float>({2, 2}, {1, 2, 3, 4}), tensor<int64_t>({0}, {}, true)},
                         {attr_i("keepdims", 0)}));
    CHECK(all[0].shape() == Shape{});
    CHECK(values<float>(all[0])[0] == 10.0f);
  }
  SECTION("a scalar input reduces to itself") {
    auto sc = ok(run_op(OpKind::ReduceProd, 13, {tensor<int32_t>({}, {7})}, {}));
    CHECK(sc[0].shape() == Shape{});
    CHECK(values<int32_t>(sc[0])[0] == 7);
  }
}

TEST_CASE("Reduce ops: errors name the node and what was wrong", "[ops][reduce]") {
  SECTION("axis out of range at load when the rank is known") {
    const std::string m = error_of(run_op(OpKind::ReduceSum, 13,
                                          {tensor<float>({2, 2}, {1, 2, 3, 4}), tensor<int64_t>({1}, {2}, true)}, {}));
    CHECK(m.find("[ReduceSum] node 'n'") != std::string::npos);
    CHECK(m.find("axes entry 2 is out of range") != std::string::npos);
  }
  SECTION("axis out of range at run time when axes is an input") {
    const std::string m =
        error_of(run_op(OpKind::ReduceMean, 18, {tensor<float>({2}, {1, 2}), tensor<int64_t>({1}, {-2})}, {}));
    CHECK(m.find("axes entry -2 is out of range for an input of rank 1") != std::string::npos);
  }
  SECTION("bool is only accepted by ReduceMax / ReduceMin") {
    const std::string m = error_of(run_op(OpKind::ReduceSum, 13, {tensor<bool>({2}, {true, false})}, {}));
    CHECK(m.find("element type bool") != std::string::npos);
    auto mx = ok(run_op(OpKind::ReduceMax, 20, {tensor<bool>({2}, {true, false})}, {}));
    CHECK(values<bool>(mx[0])[0] == true);
  }
  SECTION("float axes are rejected") {
    const std::string m =
        error_of(run_op(OpKind::ReduceSum, 13, {tensor<float>({2}, {1, 2}), tensor<float>({1}, {0}, true)}, {}));
    CHECK(m.find("axes must be int64") != std::string::npos);
  }
}

TEST_CASE("ArgMax / ArgMin: ties, select_last_index, NaN, errors", "[ops][reduce]") {
  auto x = [] { return tensor<int8_t>({2, 3}, {5, 1, 5, -2, -2, 7}); };
  auto first = ok(run_op(OpKind::ArgMax, 13, {x()}, {attr_i("axis", 1)}));
  CHECK(first[0].shape() == Shape{2, 1});
  CHECK(values<int64_t>(first[0]) == std::vector<int64_t>{0, 2});
  auto last = ok(run_op(OpKind::ArgMin, 13, {x()}, {attr_i("axis", -1), attr_i("select_last_index", 1),
                                                     attr_i("keepdims", 0)}));
  CHECK(last[0].shape() == Shape{2});
  CHECK(values<int64_t>(last[0]) == std::vector<int64_t>{1, 1});
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto n = ok(run_op(OpKind::ArgMax, 13, {tensor<float>({3}, {1, nan, 3})}, {}));
  CHECK(values<int64_t>(n[0]) == std::vector<int64_t>{1});
}

TEST_CASE("ArgMax over an empty axis is an error, over an empty batch gives an empty result", "[ops][reduce]") {
  const std::string m = error_of(run_op(OpKind::ArgMax, 13, {tensor<float>({2, 0}, {})}, {attr_i("axis", 1)}));
  CHECK(m.find("[ArgMax] node 'n'") != std::string::npos);
  CHECK(m.find("is empty") != std::string::npos);
  auto e = ok(run_op(OpKind::ArgMin, 13, {tensor<float>({0, 2}, {})}, {attr_i("axis", 1)}));
  CHECK(e[0].shape() == Shape{0, 1});
  const std::string r = error_of(run_op(OpKind::ArgMax, 13, {tensor<float>({2}, {1, 2})}, {attr_i("axis", 1)}));
  CHECK(r.find("axis 1 is out of range") != std::string::npos);
}

TEST_CASE("TopK: ties keep the lower index first, smallest, axis, errors", "[ops][reduce]") {
  auto k2 = [] { return tensor<int64_t>({1}, {2}, true); };
  auto big = ok(run_op(OpKind::TopK, 11, {tensor<float>({1, 5}, {1, 3, 3, 2, 3}), k2()}, {}, 2));
  CHECK(values<float>(big[0]) == std::vector<float>{3, 3});
  CHECK(values<int64_t>(big[1]) == std::vector<int64_t>{1, 2});
  auto small = ok(run_op(OpKind::TopK, 11, {tensor<int32_t>({1, 5}, {4, 1, 0, 1, 0}), k2()}, {attr_i("largest", 0)}, 2));
  CHECK(values<int32_t>(small[0]) == std::vector<int32_t>{0, 0});
  CHECK(values<int64_t>(small[1]) == std::vector<int64_t>{2, 4});
  // Along axis 0 of [3, 2]: columns are independent.
  auto col = ok(run_op(OpKind::TopK, 11, {tensor<double>({3, 2}, {1, 6, 5, 2, 3, 4}), k2()}, {attr_i("axis", 0)}, 2));
  CHECK(col[0].shape() == Shape{2, 2});
  CHECK(values<double>(col[0]) == std::vector<double>{5, 6, 3, 4});
  CHECK(values<int64_t>(col[1]) == std::vector<int64_t>{1, 0, 2, 2});
  // Opset 1 takes k as an attribute.
  auto v1 = ok(run_op(OpKind::TopK, 1, {tensor<float>({4}, {1, 4, 2, 3})}, {attr_i("k", 3)}, 2));
  CHECK(values<float>(v1[0]) == std::vector<float>{4, 3, 2});
  // NaN sorts above every number without breaking the ordering.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto n = ok(run_op(OpKind::TopK, 11, {tensor<float>({4}, {1, nan, 2, nan}), k2()}, {attr_i("largest", 0)}, 2));
  CHECK(values<int64_t>(n[1]) == std::vector<int64_t>{0, 2});
  auto zero = ok(run_op(OpKind::TopK, 11, {tensor<float>({3}, {1, 2, 3}), tensor<int64_t>({1}, {0})}, {}, 2));
  CHECK(zero[0].shape() == Shape{0});
  const std::string m =
      error_of(run_op(OpKind::TopK, 11, {tensor<float>({3}, {1, 2, 3}), tensor<int64_t>({1}, {4})}, {}, 2));
  CHECK(m.find("[TopK] node 'n': k = 4 is outside [0, 3]") != std::string::npos);
}

TEST_CASE("CumSum: exclusive, reverse, dtypes, axis input", "[ops][reduce]") {
  auto x = [] { return tensor<int64_t>({2, 3}, {1, 2, 3, 4, 5, 6}); };
  auto ax1 = [] { return tensor<int32_t>({}, {1}); };
  auto inc = ok(run_op(OpKind::CumSum, 14, {x(), ax1()}, {}));
  CHECK(values<int64_t>(inc[0]) == std::vector<int64_t>{1, 3, 6, 4, 9, 15});
  auto ex_rev = ok(run_op(OpKind::CumSum, 14, {x(), ax1()}, {attr_i("exclusive", 1), attr_i("reverse", 1)}));
  CHECK(values<int64_t>(ex_rev[0]) == std::vector<int64_t>{5, 3, 0, 11, 6, 0});
  auto ax0 = ok(run_op(OpKind::CumSum, 14, {x(), tensor<int64_t>({1}, {-2}, true)}, {attr_i("exclusive", 1)}));
  CHECK(values<int64_t>(ax0[0]) == std::vector<int64_t>{0, 0, 0, 1, 2, 3});
  auto h = ok(run_op(OpKind::CumSum, 14, {f16_tensor({3}, {0.5f, 1, 2}), tensor<int64_t>({}, {0}, true)}, {}));
  CHECK(f16_values(h[0]) == std::vector<float>{0.5f, 1.5f, 3.5f});
  const std::string m = error_of(run_op(OpKind::CumSum, 14, {x(), tensor<int64_t>({}, {2})}, {}));
  CHECK(m.find("[CumSum] node 'n': axis 2 is out of range") != std::string::npos);
  const std::string k = error_of(run_op(OpKind::CumSum, 14, {x(), tensor<int64_t>({2}, {0, 1})}, {}));
  CHECK(k.find("must be a scalar") != std::string::npos);
}

TEST_CASE("Softmax family: opset 13 normalises one axis, earlier opsets the coerced 2-D rows", "[ops][reduce]") {
  const std::vector<double> v{0, 1, 2, 3};
  auto s13 = ok(run_op(OpKind::Softmax, 13, {tensor<double>({2, 2}, v)}, {attr_i("axis", 0)}));
  const double a = 1.0 / (1.0 + std::exp(2.0));
  CHECK(values<double>(s13[0])[0] == Approx(a));
  CHECK(values<double>(s13[0])[2] == Approx(1 - a));
  // Opset 11, axis 0: the whole tensor is one row.
  auto s11 = ok(run_op(OpKind::Softmax, 11, {tensor<float>({2, 2}, {0, 1, 2, 3})}, {attr_i("axis", 0)}));
  double z = 0;
  for (double d : v) z += std::exp(d);
  CHECK(values<float>(s11[0])[3] == Approx(std::exp(3.0) / z));
  auto ls = ok(run_op(OpKind::LogSoftmax, 13, {f16_tensor({2}, {1000, 1000})}, {}));
  CHECK(f16_values(ls[0])[0] == Approx(-std::log(2.0f)).epsilon(1e-3));
  auto hm = ok(run_op(OpKind::Hardmax, 13, {tensor<float>({2, 3}, {3, 3, 1, 0, 2, 2})}, {}));
  CHECK(values<float>(hm[0]) == std::vector<float>{1, 0, 0, 0, 1, 0});
  auto hm1 = ok(run_op(OpKind::Hardmax, 1, {tensor<float>({2, 2}, {1, 0, 5, 2})}, {attr_i("axis", 0)}));
  CHECK(values<float>(hm1[0]) == std::vector<float>{0, 0, 1, 0});
  const std::string m = error_of(run_op(OpKind::Softmax, 13, {tensor<int32_t>({2}, {1, 2})}, {}));
  CHECK(m.find("[Softmax] node 'n'") != std::string::npos);
  CHECK(m.find("element type i32") != std::string::npos);
}

TEST_CASE("SoftmaxCrossEntropyLoss / NegativeLogLikelihoodLoss", "[ops][reduce]") {
  // Scores [N=2, C=3]; labels {2, ignored}; weights.
  const std::vector<float> scores{1, 2, 3, 0, 0, 0};
  const double lse0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  SECTION("sce, mean with weights and ignore_index, log_prob output") {
    auto out = ok(run_op(OpKind::SoftmaxCrossEntropyLoss, 13,
                         {tensor<float>({2, 3}, scores), tensor<int64_t>({2}, {2, -1}), tensor<float>({3}, {1, 1, 4})},
                         {attr_i("ignore_index", -1)}, 2));
    CHECK(out[0].shape() == Shape{});
    CHECK(values<float>(out[0])[0] == Approx((lse0 - 3.0) * 4 / 4));
    CHECK(out[1].shape() == Shape{2, 3});
    CHECK(values<float>(out[1])[0] == Approx(1.0 - lse0));
    CHECK(values<float>(out[1])[4] == Approx(-std::log(3.0)));
  }
  SECTION("sce, none over [N, C, d]") {
    auto out = ok(run_op(OpKind::SoftmaxCrossEntropyLoss, 13,
                         {tensor<double>({1, 2, 2}, {0, 0, 0, 5}), tensor<int32_t>({1, 2}, {0, 1})},
                         {attr_s("reduction", "none")}));
    CHECK(out[0].shape() == Shape{1, 2});
    CHECK(values<double>(out[0])[0] == Approx(std::log(2.0)));
    CHECK(values<double>(out[0])[1] == Approx(std::log(1 + std::exp(-5.0))));
  }
  SECTION("nll, mean and sum") {
    auto mean = ok(run_op(OpKind::NegativeLogLikelihoodLoss, 13,
                          {tensor<float>({2, 2}, {-1, -2, -3, -4}), tensor<int64_t>({2}, {1, 0})}, {}));
    CHECK(values<float>(mean[0])[0] == Approx(2.5));
    auto sum = ok(run_op(OpKind::NegativeLogLikelihoodLoss, 13,
                         {tensor<float>({2, 2}, {-1, -2, -3, -4}), tensor<int64_t>({2}, {1, 0}), tensor<float>({2}, {2, 1})},
                         {attr_s("reduction", "sum")}));
    CHECK(values<float>(sum[0])[0] == Approx(2 * 1 + 3 * 2));
  }
  SECTION("errors: label out of range, bad reduction, shape mismatch") {
    const std::string m = error_of(run_op(OpKind::NegativeLogLikelihoodLoss, 13,
                                          {tensor<float>({1, 2}, {0, 0}), tensor<int64_t>({1}, {2})}, {}));
    CHECK(m.find("[NegativeLogLikelihoodLoss] node 'n': target value 2") != std::string::npos);
    const std::string r = error_of(run_op(OpKind::SoftmaxCrossEntropyLoss, 13,
                                          {tensor<float>({1, 2}, {0, 0}), tensor<int64_t>({1}, {0})},
                                          {attr_s("reduction", "avg")}));
    CHECK(r.find("reduction 'avg'") != std::string::npos);
    const std::string s = error_of(run_op(OpKind::SoftmaxCrossEntropyLoss, 13,
                                          {tensor<float>({1, 2, 3}, {0, 0, 0, 0, 0, 0}), tensor<int64_t>({1, 2}, {0, 0})},
                                          {}));
    CHECK(s.find("does not match input shape") != std::string::npos);
  }
}
