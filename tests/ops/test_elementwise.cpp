// The elementwise family on the CPU backend: what the ONNX test data leaves out (broadcasting
// corners, empty and rank-0 tensors, integer edge cases, half types, threaded paths, in-place
// sharing, legacy opsets, error paths).
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "obol/obol.hpp"
#include "ops/op_test_util.hpp"

using namespace obol;
using graph::OpKind;

namespace {

using namespace obol::op_test;

constexpr float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

}  // namespace

TEST_CASE("Elementwise: broadcasting corners", "[ops][elementwise]") {
  SECTION("both inputs broadcast: [2,1,3] + [4,1]") {
    auto out =
        ok(run_op(OpKind::Add, 14,
                  {tensor<float>({2, 1, 3}, {0, 1, 2, 10, 11, 12}), tensor<float>({4, 1}, {100, 200, 300, 400})}));
    REQUIRE(out[0].shape() == Shape{2, 4, 3});
    const auto v = values<float>(out[0]);
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 4; ++j)
        for (int k = 0; k < 3; ++k)
          CHECK(v[static_cast<size_t>((i * 4 + j) * 3 + k)] == float(10 * i + k + 100 * (j + 1)));
  }
  SECTION("rank 0 with rank 0, and rank 0 with a vector, int64") {
    auto s = ok(run_op(OpKind::Mul, 14, {tensor<int64_t>({}, {6}), tensor<int64_t>({}, {7})}));
    CHECK(s[0].shape() == Shape{});
    CHECK(values<int64_t>(s[0]) == std::vector<int64_t>{42});
    auto v = ok(run_op(OpKind::Sub, 14, {tensor<int64_t>({}, {10}), tensor<int64_t>({3}, {1, 2, 3})}));
    CHECK(values<int64_t>(v[0]) == std::vector<int64_t>{9, 8, 7});
  }
  SECTION("empty tensors keep their broadcast shape") {
    auto out = ok(run_op(OpKind::Add, 14, {tensor<float>({0, 3}, {}), tensor<float>({3}, {1, 2, 3})}));
    CHECK(out[0].shape() == Shape{0, 3});
    auto u = ok(run_op(OpKind::Exp, 13, {tensor<float>({2, 0}, {})}));
    CHECK(u[0].shape() == Shape{2, 0});
    auto w = ok(run_op(OpKind::Where, 16, {bool_tensor({0}, {}), tensor<float>({1}, {1}), tensor<float>({}, {2})}));
    CHECK(w[0].shape() == Shape{0});
  }
  SECTION("large threaded broadcasts match a plain loop, f32 and int32") {
    const int64_t rows = 97, cols = 1031;
    std::vector<float> a(static_cast<size_t>(rows * cols)), b(static_cast<size_t>(cols)), c(static_cast<size_t>(rows));
    for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i % 13) - 6.0f;
    for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(i % 7) + 0.5f;
    for (size_t i = 0; i < c.size(); ++i) c[i] = static_cast<float>(i);
    auto row = ok(run_op(OpKind::Div, 14, {tensor<float>({rows, cols}, a), tensor<float>({cols}, b)}));
    auto col = ok(run_op(OpKind::Max, 13, {tensor<float>({rows, cols}, a), tensor<float>({rows, 1}, c)}));
    const auto r = values<float>(row[0]), m = values<float>(col[0]);
    bool all_equal = true;
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) {
        const size_t k = static_cast<size_t>(i * cols + j);
        all_equal =
            all_equal && r[k] == a[k] / b[static_cast<size_t>(j)] && m[k] == std::max(a[k], c[static_cast<size_t>(i)]);
      }
    CHECK(all_equal);
    std::vector<int32_t> ai(a.begin(), a.end()), ci(c.begin(), c.end());
    auto isub = ok(run_op(OpKind::Sub, 14, {tensor<int32_t>({rows, 1, cols}, ai), tensor<int32_t>({rows, 1, 1}, ci)}));
    const auto s = values<int32_t>(isub[0]);
    bool int_equal = true;
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) {
        const size_t k = static_cast<size_t>(i * cols + j);
        int_equal = int_equal && s[k] == ai[k] - ci[static_cast<size_t>(i)];
      }
    CHECK(int_equal);
  }
  SECTION("Where broadcasts all three inputs") {
    auto out = ok(run_op(OpKind::Where, 16,
                         {bool_tensor({2, 1}, {1, 0}), tensor<int64_t>({1, 3}, {1, 2, 3}), tensor<int64_t>({}, {-1})}));
    CHECK(out[0].shape() == Shape{2, 3});
    CHECK(values<int64_t>(out[0]) == std::vector<int64_t>{1, 2, 3, -1, -1, -1});
  }
  SECTION("variadic Sum / Mean / Min broadcast three inputs") {
    auto s = ok(run_op(OpKind::Sum, 13,
                       {tensor<float>({3}, {1, 2, 3}), tensor<float>({2, 1}, {10, 20}), tensor<float>({}, {100})}));
    CHECK(s[0].shape() == Shape{2, 3});
    CHECK(values<float>(s[0]) == std::vector<float>{111, 112, 113, 121, 122, 123});
    auto m = ok(
        run_op(OpKind::Mean, 13, {tensor<double>({2}, {1, 2}), tensor<double>({2}, {3, 6}), tensor<double>({1}, {5})}));
    CHECK(values<double>(m[0]) == std::vector<double>{3, 13.0 / 3});
    auto mn = ok(run_op(OpKind::Min, 13, {tensor<int8_t>({2}, {5, -7}), tensor<int8_t>({2, 1}, {0, 9})}));
    CHECK(values<int8_t>(mn[0]) == std::vector<int8_t>{0, -7, 5, -7});
    auto one = ok(run_op(OpKind::Max, 13, {tensor<uint16_t>({2}, {4, 65535})}));
    CHECK(values<uint16_t>(one[0]) == std::vector<uint16_t>{4, 65535});
  }
  SECTION("opset 6 legacy broadcast aligns B at the axis attribute") {
    auto out = ok(run_op(OpKind::Add, 6, {tensor<float>({2, 3}, {0, 0, 0, 0, 0, 0}), tensor<float>({2}, {1, 2})},
                         {attr_i("broadcast", 1), attr_i("axis", 0)}));
    CHECK(values<float>(out[0]) == std::vector<float>{1, 1, 1, 2, 2, 2});
  }
  SECTION("PRelu: numpy slope, and a 1-D slope along the channel axis (opset 6 models)") {
    auto np = ok(run_op(OpKind::PRelu, 16, {tensor<float>({2, 2}, {-1, 2, -3, 4}), tensor<float>({2}, {0.5f, 2})}));
    CHECK(values<float>(np[0]) == std::vector<float>{-0.5f, 2, -1.5f, 4});
    auto ch =
        ok(run_op(OpKind::PRelu, 6, {tensor<float>({1, 2, 3}, {-1, -1, -1, -1, 1, -1}), tensor<float>({2}, {2, 3})}));
    CHECK(values<float>(ch[0]) == std::vector<float>{-2, -2, -2, -3, 1, -3});
    auto in = ok(run_op(OpKind::PRelu, 16, {tensor<int32_t>({3}, {-4, 0, 5}), tensor<int32_t>({}, {3})}));
    CHECK(values<int32_t>(in[0]) == std::vector<int32_t>{-12, 0, 5});
  }
}

TEST_CASE("Elementwise: integer semantics", "[ops][elementwise]") {
  const int32_t kMin = std::numeric_limits<int32_t>::min();
  SECTION("Div truncates toward zero; x / 0 gives 0 and INT_MIN / -1 wraps instead of trapping") {
    auto out = ok(run_op(OpKind::Div, 14,
                         {tensor<int32_t>({6}, {7, -7, 7, -7, 5, kMin}), tensor<int32_t>({6}, {2, 2, -2, -2, 0, -1})}));
    CHECK(values<int32_t>(out[0]) == std::vector<int32_t>{3, -3, -3, 3, 0, kMin});
  }
  SECTION("Mod: the sign follows the divisor with fmod=0, the dividend with fmod=1") {
    auto py =
        ok(run_op(OpKind::Mod, 13, {tensor<int64_t>({5}, {-4, 7, -7, 4, 3}), tensor<int64_t>({5}, {3, -3, -3, 0, 5})}));
    CHECK(values<int64_t>(py[0]) == std::vector<int64_t>{2, -2, -1, 0, 3});
    auto c = ok(run_op(OpKind::Mod, 13, {tensor<int16_t>({3}, {-4, 7, -7}), tensor<int16_t>({3}, {3, -3, -3})},
                       {attr_i("fmod", 1)}));
    CHECK(values<int16_t>(c[0]) == std::vector<int16_t>{-1, 1, -1});
    auto f = ok(
        run_op(OpKind::Mod, 13, {tensor<float>({2}, {-4.5f, 4.5f}), tensor<float>({2}, {2, -2})}, {attr_i("fmod", 1)}));
    CHECK(values<float>(f[0]) == std::vector<float>{-0.5f, 0.5f});
  }
  SECTION("Add and Mul wrap around") {
    auto a = ok(run_op(OpKind::Add, 14, {tensor<int32_t>({1}, {2147483647}), tensor<int32_t>({1}, {1})}));
    CHECK(values<int32_t>(a[0]) == std::vector<int32_t>{kMin});
    auto m = ok(run_op(OpKind::Mul, 14, {tensor<uint16_t>({1}, {65535}), tensor<uint16_t>({1}, {65535})}));
    CHECK(values<uint16_t>(m[0]) == std::vector<uint16_t>{1});
  }
  SECTION("Pow: exact integer powers, mixed base/exponent types") {
    auto ii = ok(run_op(OpKind::Pow, 15, {tensor<int64_t>({4}, {3, -2, 2, 5}), tensor<int64_t>({4}, {39, 3, -1, 0})}));
    CHECK(values<int64_t>(ii[0]) == std::vector<int64_t>{4052555153018976267LL, -8, 0, 1});
    auto fi = ok(run_op(OpKind::Pow, 15, {tensor<float>({2}, {2, 9}), tensor<uint8_t>({2}, {10, 2})}));
    CHECK(values<float>(fi[0]) == std::vector<float>{1024, 81});
    auto i_f = ok(run_op(OpKind::Pow, 15, {tensor<int32_t>({2}, {9, 10}), tensor<float>({2}, {0.5f, -1})}));
    CHECK(values<int32_t>(i_f[0]) == std::vector<int32_t>{3, 0});
  }
  SECTION("BitShift: out-of-range counts give 0") {
    auto l = ok(run_op(OpKind::BitShift, 11, {tensor<uint8_t>({3}, {1, 255, 3}), tensor<uint8_t>({3}, {7, 1, 8})},
                       {attr_s("direction", "LEFT")}));
    CHECK(values<uint8_t>(l[0]) == std::vector<uint8_t>{128, 254, 0});
    auto r = ok(run_op(OpKind::BitShift, 11, {tensor<uint64_t>({2}, {~0ull, 8}), tensor<uint64_t>({}, {63})},
                       {attr_s("direction", "RIGHT")}));
    CHECK(values<uint64_t>(r[0]) == std::vector<uint64_t>{1, 0});
  }
  SECTION("Abs / Neg / Sign / Relu / Shrink on integers") {
    auto ab = ok(run_op(OpKind::Abs, 13, {tensor<int8_t>({3}, {-128, -5, 7})}));
    CHECK(values<int8_t>(ab[0]) == std::vector<int8_t>{-128, 5, 7});
    auto ng = ok(run_op(OpKind::Neg, 13, {tensor<int32_t>({2}, {kMin, 3})}));
    CHECK(values<int32_t>(ng[0]) == std::vector<int32_t>{kMin, -3});
    auto sg = ok(run_op(OpKind::Sign, 13, {tensor<uint8_t>({2}, {0, 9})}));
    CHECK(values<uint8_t>(sg[0]) == std::vector<uint8_t>{0, 1});
    auto re = ok(run_op(OpKind::Relu, 14, {tensor<int64_t>({2}, {-3, 3})}));
    CHECK(values<int64_t>(re[0]) == std::vector<int64_t>{0, 3});
    auto sh =
        ok(run_op(OpKind::Shrink, 9, {tensor<int32_t>({4}, {-5, -1, 1, 5})}, {attr_f("lambd", 2), attr_f("bias", 1)}));
    CHECK(values<int32_t>(sh[0]) == std::vector<int32_t>{-4, 0, 0, 4});
  }
}

TEST_CASE("Elementwise: Clip bounds by opset and dtype", "[ops][elementwise]") {
  SECTION("opset 6 attributes") {
    auto out = ok(run_op(OpKind::Clip, 6, {tensor<float>({3}, {-2, 0.25f, 2})}, {attr_f("min", -1), attr_f("max", 1)}));
    CHECK(values<float>(out[0]) == std::vector<float>{-1, 0.25f, 1});
  }
  SECTION("opset 13 int8 with only min, and max omitted") {
    auto out = ok(run_op(OpKind::Clip, 13, {tensor<int8_t>({3}, {-128, 0, 127}), tensor<int8_t>({}, {-3})}));
    CHECK(values<int8_t>(out[0]) == std::vector<int8_t>{-3, 0, 127});
    auto only_max = ok(run_op(OpKind::Clip, 13, {tensor<int64_t>({2}, {-9, 9}), Arg{}, tensor<int64_t>({}, {4})}));
    CHECK(values<int64_t>(only_max[0]) == std::vector<int64_t>{-9, 4});
  }
  SECTION("min > max clips everything to max; NaN passes through") {
    auto out = ok(
        run_op(OpKind::Clip, 13, {tensor<float>({3}, {-5, 5, kNaN}), tensor<float>({}, {2}), tensor<float>({}, {1})}));
    const auto v = values<float>(out[0]);
    CHECK(v[0] == 1);
    CHECK(v[1] == 1);
    CHECK(std::isnan(v[2]));
  }
  SECTION("a non-scalar or mistyped bound is an error") {
    CHECK_THAT(error_of(run_op(OpKind::Clip, 13, {tensor<float>({2}, {1, 2}), tensor<float>({2}, {0, 0})})),
               Catch::Contains("min must be a scalar"));
    CHECK_THAT(error_of(run_op(OpKind::Clip, 13, {tensor<float>({2}, {1, 2}), tensor<double>({}, {0})})),
               Catch::Contains("min has element type f64, expected f32"));
  }
}

TEST_CASE("Elementwise: float functions and special values", "[ops][elementwise]") {
  SECTION("Round is half to even") {
    auto out = ok(run_op(OpKind::Round, 11, {tensor<float>({6}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.6f})}));
    CHECK(values<float>(out[0]) == std::vector<float>{0, 2, 2, -0.0f, -2, 3});
  }
  SECTION("IsInf honours detect_positive / detect_negative; IsNaN") {
    auto pos =
        ok(run_op(OpKind::IsInf, 10, {tensor<float>({4}, {kInf, -kInf, kNaN, 1})}, {attr_i("detect_negative", 0)}));
    CHECK(bools(pos[0]) == std::vector<int>{1, 0, 0, 0});
    auto neg = ok(run_op(OpKind::IsInf, 10, {tensor<double>({2}, {kInf, -kInf})}, {attr_i("detect_positive", 0)}));
    CHECK(bools(neg[0]) == std::vector<int>{0, 1});
    auto nan = ok(run_op(OpKind::IsNaN, 13, {half_tensor(DType::f16, {2}, {kNaN, 0})}));
    CHECK(bools(nan[0]) == std::vector<int>{1, 0});
  }
  SECTION("Sigmoid and Softplus do not overflow; Gelu tanh vs erf") {
    auto sg = ok(run_op(OpKind::Sigmoid, 13, {tensor<double>({2}, {-1000, 1000})}));
    CHECK(values<double>(sg[0]) == std::vector<double>{0, 1});
    auto sp = ok(run_op(OpKind::Softplus, 1, {tensor<float>({2}, {100, -100})}));
    CHECK(values<float>(sp[0])[0] == Approx(100));
    CHECK(values<float>(sp[0])[1] == Approx(std::exp(-100.0f)));
    auto ge = ok(run_op(OpKind::Gelu, 20, {tensor<float>({1}, {1})}));
    auto gt = ok(run_op(OpKind::Gelu, 20, {tensor<float>({1}, {1})}, {attr_s("approximate", "tanh")}));
    CHECK(values<float>(ge[0])[0] == Approx(0.8413447f).epsilon(1e-5));
    CHECK(values<float>(gt[0])[0] == Approx(0.8411920f).epsilon(1e-5));
  }
  SECTION("half types compute in float") {
    auto a =
        ok(run_op(OpKind::Add, 14, {half_tensor(DType::f16, {2}, {1.5f, -2}), half_tensor(DType::f16, {}, {0.25f})}));
    REQUIRE(a[0].dtype() == DType::f16);
    CHECK(half_values(a[0]) == std::vector<float>{1.75f, -1.75f});
    auto r = ok(run_op(OpKind::Relu, 14, {half_tensor(DType::bf16, {2}, {-3, 3})}));
    REQUIRE(r[0].dtype() == DType::bf16);
    CHECK(half_values(r[0]) == std::vector<float>{0, 3});
    auto lt =
        ok(run_op(OpKind::Less, 13, {half_tensor(DType::f16, {2}, {1, 3}), half_tensor(DType::f16, {2}, {2, 2})}));
    CHECK(bools(lt[0]) == std::vector<int>{1, 0});
  }
  SECTION("Min / Max propagate NaN") {
    auto mx = ok(run_op(OpKind::Max, 13, {tensor<double>({2}, {kNaN, 1}), tensor<double>({2}, {0, kNaN})}));
    CHECK(std::isnan(values<double>(mx[0])[0]));
    CHECK(std::isnan(values<double>(mx[0])[1]));
  }
}

TEST_CASE("Elementwise: Cast", "[ops][elementwise]") {
  SECTION("float to int truncates; NaN gives 0 and out-of-range values saturate") {
    auto out =
        ok(run_op(OpKind::Cast, 13, {tensor<float>({6}, {2.9f, -2.9f, kNaN, kInf, -1e20f, 3e9f})}, {attr_i("to", 6)}));
    CHECK(values<int32_t>(out[0]) == std::vector<int32_t>{2, -2, 0, std::numeric_limits<int32_t>::max(),
                                                          std::numeric_limits<int32_t>::min(),
                                                          std::numeric_limits<int32_t>::max()});
    auto u8 = ok(run_op(OpKind::Cast, 13, {tensor<double>({3}, {-1, 255.9, 256})}, {attr_i("to", 2)}));
    CHECK(values<uint8_t>(u8[0]) == std::vector<uint8_t>{0, 255, 255});
  }
  SECTION("bool both ways; NaN is true") {
    auto b = ok(run_op(OpKind::Cast, 13, {tensor<float>({3}, {0, -0.0f, kNaN})}, {attr_i("to", 9)}));
    CHECK(bools(b[0]) == std::vector<int>{0, 0, 1});
    auto f = ok(run_op(OpKind::Cast, 13, {bool_tensor({2}, {1, 0})}, {attr_i("to", 11)}));
    CHECK(values<double>(f[0]) == std::vector<double>{1, 0});
  }
  SECTION("double to f16 rounds once") {
    // Halfway between two f16 values plus a hair below float precision: double -> float -> f16
    // would round twice and land on the even neighbour.
    const double x = 1.0 + 1.0 / 2048 + 1.0 / (1 << 30);
    auto h = ok(run_op(OpKind::Cast, 13, {tensor<double>({1}, {x})}, {attr_i("to", 10)}));
    CHECK(half_values(h[0])[0] == 1.0f + 1.0f / 1024);
  }
  SECTION("f32 to bf16 and back; CastLike takes the second input's type") {
    auto b = ok(run_op(OpKind::Cast, 13, {tensor<float>({2}, {1.0f + 1.0f / 256, -3})}, {attr_i("to", 16)}));
    CHECK(half_values(b[0]) == std::vector<float>{1.0f, -3});
    auto cl = ok(run_op(OpKind::CastLike, 15, {tensor<int64_t>({2}, {-1, 70000}), tensor<int16_t>({}, {0})}));
    CHECK(values<int16_t>(cl[0]) == std::vector<int16_t>{-1, static_cast<int16_t>(70000 - 65536)});
  }
  SECTION("string and unknown targets are clear errors at load") {
    CHECK_THAT(error_of(run_op(OpKind::Cast, 13, {tensor<float>({1}, {1})}, {attr_i("to", 8)})),
               Catch::Contains("[Cast] node 'n': casts to STRING are not supported"));
    CHECK_THAT(error_of(run_op(OpKind::Cast, 13, {tensor<float>({1}, {1})}, {attr_i("to", 99)})),
               Catch::Contains("'to' is not an ONNX data type: 99"));
    CHECK_THAT(error_of(run_op(OpKind::Cast, 13, {tensor<float>({1}, {1})}, {})), Catch::Contains("'to' is missing"));
  }
}

TEST_CASE("Elementwise: Identity and Dropout", "[ops][elementwise]") {
  SECTION("Identity copies any dtype") {
    auto out = ok(run_op(OpKind::Identity, 16, {tensor<uint64_t>({2}, {1, ~0ull})}));
    CHECK(values<uint64_t>(out[0]) == std::vector<uint64_t>{1, ~0ull});
  }
  SECTION("inference Dropout passes input through with an all-true mask") {
    auto out = ok(run_op(OpKind::Dropout, 13, {tensor<float>({3}, {1, 2, 3}), tensor<float>({}, {0.5f}, true)}, {}, 2));
    CHECK(values<float>(out[0]) == std::vector<float>{1, 2, 3});
    CHECK(bools(out[1]) == std::vector<int>{1, 1, 1});
  }
  SECTION("training mode: identity when the ratio is 0, unsupported otherwise") {
    auto zero = ok(run_op(OpKind::Dropout, 13,
                          {tensor<float>({2}, {1, 2}), tensor<float>({}, {0.0f}), bool_tensor({}, {1})}, {}, 2));
    CHECK(values<float>(zero[0]) == std::vector<float>{1, 2});
    CHECK_THAT(error_of(run_op(OpKind::Dropout, 13,
                               {tensor<float>({2}, {1, 2}), tensor<float>({}, {0.5f}), bool_tensor({}, {1})})),
               Catch::Contains("training mode (random dropping) is not supported"));
    Arg constant_true = bool_tensor({}, {1});
    constant_true.constant = true;
    CHECK_THAT(error_of(run_op(OpKind::Dropout, 13, {tensor<float>({2}, {1, 2}), Arg{}, constant_true})),
               Catch::Contains("[Dropout] node 'n': training mode"));
  }
}

TEST_CASE("Elementwise: errors name the node and what was wrong", "[ops][elementwise]") {
  CHECK_THAT(error_of(run_op(OpKind::Add, 14, {tensor<float>({2, 3}, {0, 0, 0, 0, 0, 0}), tensor<float>({2}, {0, 0})})),
             Catch::Contains("[Add] node 'n': inputs are not broadcastable") && Catch::Contains("[2, 3] and [2]"));
  CHECK_THAT(error_of(run_op(OpKind::Add, 14, {tensor<float>({1}, {0}), tensor<int64_t>({1}, {0})})),
             Catch::Contains("inputs have different element types: f32 and i64"));
  CHECK_THAT(error_of(run_op(OpKind::Sqrt, 13, {tensor<int32_t>({1}, {4})})),
             Catch::Contains("[Sqrt] node 'n': input 0 has element type i32, expected one of f32, f64, f16, bf16"));
  CHECK_THAT(error_of(run_op(OpKind::Not, 1, {tensor<float>({1}, {1})})), Catch::Contains("expected one of bool"));
  CHECK_THAT(error_of(run_op(OpKind::Gelu, 20, {tensor<float>({1}, {1})}, {attr_s("approximate", "fast")})),
             Catch::Contains("approximate must be 'none' or 'tanh', found 'fast'"));
  CHECK_THAT(error_of(run_op(OpKind::BitShift, 11, {tensor<uint8_t>({1}, {1}), tensor<uint8_t>({1}, {1})})),
             Catch::Contains("direction must be 'LEFT' or 'RIGHT'"));
  CHECK_THAT(
      error_of(run_op(OpKind::Where, 16, {tensor<float>({1}, {1}), tensor<float>({1}, {1}), tensor<float>({1}, {1})})),
      Catch::Contains("[Where] node 'n': input 0 has element type f32"));
  CHECK_THAT(error_of(run_op(OpKind::Sum, 13, {tensor<float>({2}, {1, 2}), tensor<double>({2}, {1, 2})})),
             Catch::Contains("input 1 has element type f64, expected f32 like input 0"));
  CHECK_THAT(
      error_of(run_op(OpKind::Mod, 13, {tensor<int32_t>({1}, {1}), tensor<int32_t>({1}, {1})}, {attr_i("fmod", 2)})),
      Catch::Contains("fmod must be 0 or 1, found 2"));
  CHECK_THAT(error_of(run_op(OpKind::PRelu, 16,
                             {tensor<float>({2, 3}, {0, 0, 0, 0, 0, 0}), tensor<float>({4}, {0, 0, 0, 0})})),
             Catch::Contains("slope of shape [4] does not broadcast to the input's shape [2, 3]"));
}

TEST_CASE("Elementwise: in-place buffer sharing stays correct", "[ops][elementwise]") {
  // t = Neg(x); s = Sum(t, y, t): Sum may not write into t's buffer while t is read again as input 2.
  // u = Relu(s) then runs in place on s.
  auto g = std::make_shared<graph::Graph>();
  const auto x = g->add_value("x", graph::ValueType::tensor(DType::f32, Shape{4}));
  const auto y = g->add_value("y", graph::ValueType::tensor(DType::f32, Shape{4}));
  const auto t = g->add_value("t");
  const auto s = g->add_value("s");
  const auto u = g->add_value("u");
  g->add_input(x);
  g->add_input(y);
  auto node = [](OpKind op, const char* name, std::vector<graph::ValueId> in, graph::ValueId out) {
    graph::Node n;
    n.op = op;
    n.name = name;
    n.opset = 13;
    n.inputs = std::move(in);
    n.outputs = {out};
    return n;
  };
  g->add_node(node(OpKind::Neg, "neg", {x}, t));
  g->add_node(node(OpKind::Sum, "sum", {t, y, t}, s));
  g->add_node(node(OpKind::Relu, "relu", {s}, u));
  g->add_output(u);
  auto model = Model::from_graph(g, ModelOptions{OptLevel::none});
  REQUIRE(model.is_ok());
  auto session = Session::create(*model);
  REQUIRE(session.is_ok());
  Arg xv = tensor<float>({4}, {1, 2, -3, 4});
  Arg yv = tensor<float>({4}, {10, 10, 10, 10});
  for (int rep = 0; rep < 2; ++rep) {
    std::vector<Tensor> outs;
    const Status st = (*session)->run({xv.t->view(), yv.t->view()}, outs);
    INFO(st.to_string());
    REQUIRE(st.is_ok());
    CHECK(values<float>(outs[0]) == std::vector<float>{8, 6, 16, 2});
  }
}
