// MatMul, Gemm, MatMulInteger and Einsum on the CPU backend: shapes and dtypes the ONNX test data does
// not cover, pre-packed constant weights, and error messages.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "obol/obol.hpp"
#include "ops/op_test_util.hpp"

namespace {

using obol::DType;
using obol::Shape;

using namespace obol::op_test;

// Batched reference: A [ba..., M, K] x B [bb..., K, N] with numpy broadcasting of the batch dims.
std::vector<double> ref_matmul(const Shape& as, const std::vector<float>& a, const Shape& bs,
                               const std::vector<float>& b, Shape& out) {
  const int64_t M = as[as.rank() - 2], K = as.back(), N = bs.back();
  const int r = std::max(as.rank(), bs.rank()) - 2;
  out = Shape{};
  std::vector<int64_t> bd(static_cast<size_t>(r)), sa(static_cast<size_t>(r)), sb(static_cast<size_t>(r));
  int64_t ca = 1, cb = 1;
  for (int d = r - 1; d >= 0; --d) {
    const int ia = d - (r - (as.rank() - 2)), ib = d - (r - (bs.rank() - 2));
    const int64_t da = ia >= 0 ? as[ia] : 1, db = ib >= 0 ? bs[ib] : 1;
    bd[static_cast<size_t>(d)] = std::max(da, db);
    sa[static_cast<size_t>(d)] = da == 1 ? 0 : ca;
    sb[static_cast<size_t>(d)] = db == 1 ? 0 : cb;
    ca *= da;
    cb *= db;
  }
  int64_t batches = 1;
  for (int d = 0; d < r; ++d) {
    out.push_back(bd[static_cast<size_t>(d)]);
    batches *= bd[static_cast<size_t>(d)];
  }
  out.push_back(M);
  out.push_back(N);
  std::vector<double> y(static_cast<size_t>(batches * M * N));
  for (int64_t bi = 0; bi < batches; ++bi) {
    int64_t rem = bi, ia = 0, ib = 0;
    for (int d = r - 1; d >= 0; --d) {
      const int64_t i = rem % bd[static_cast<size_t>(d)];
      rem /= bd[static_cast<size_t>(d)];
      ia += i * sa[static_cast<size_t>(d)];
      ib += i * sb[static_cast<size_t>(d)];
    }
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k)
          s += static_cast<double>(a[static_cast<size_t>((ia * M + i) * K + k)]) *
               b[static_cast<size_t>((ib * K + k) * N + j)];
        y[static_cast<size_t>((bi * M + i) * N + j)] = s;
      }
  }
  return y;
}

void require_close(const std::vector<float>& got, const std::vector<double>& want, double tol = 1e-4) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) REQUIRE(std::abs(got[i] - want[i]) <= tol * (1.0 + std::abs(want[i])));
}

using obol::graph::OpKind;

}  // namespace

TEST_CASE("MatMul broadcasts batch dimensions, with B as input or packed constant", "[ops][matmul]") {
  struct Case {
    Shape a, b;
  };
  const Case cases[] = {{{2, 1, 5, 7}, {3, 7, 4}}, {{4, 33, 17}, {17, 20}}, {{3, 9, 65}, {3, 65, 31}},
                        {{1, 2, 3}, {5, 1, 3, 2}}, {{130, 70}, {70, 129}}};
  for (const Case& c : cases)
    for (bool constant : {false, true}) {
      const auto a = uniform_floats(static_cast<size_t>(c.a.numel()), 1, -1.0f, 1.0f);
      const auto b = uniform_floats(static_cast<size_t>(c.b.numel()), 2, -1.0f, 1.0f);
      const auto out = ok(run_op(OpKind::MatMul, 13, {tensor(c.a, a), tensor(c.b, b, constant)}));
      Shape want_shape;
      const auto want = ref_matmul(c.a, a, c.b, b, want_shape);
      CHECK(out[0].shape() == want_shape);
      require_close(values<float>(out[0]), want);
    }
}

TEST_CASE("MatMul promotes 1-D operands and drops the promoted dimension", "[ops][matmul]") {
  std::vector<obol::Tensor> out;
  out = ok(run_op(OpKind::MatMul, 13, {tensor<float>({3}, {1, 2, 3}), tensor<float>({3}, {4, 5, 6})}));
  CHECK(out[0].shape().rank() == 0);
  CHECK(values<float>(out[0])[0] == Approx(32.0f));

  for (bool constant : {false, true}) {
    out = ok(run_op(
        OpKind::MatMul, 13,
        {tensor<float>({2, 2, 3}, {1, 2, 3, 4, 5, 6, 1, 0, 0, 0, 1, 0}), tensor<float>({3}, {1, 1, 1}, constant)}));
    CHECK(out[0].shape() == Shape{2, 2});
    CHECK(values<float>(out[0]) == std::vector<float>{6, 15, 1, 1});
  }
  out = ok(run_op(OpKind::MatMul, 13,
                  {tensor<float>({2}, {1, 2}), tensor<float>({2, 2, 3}, {1, 0, 0, 0, 1, 0, 1, 1, 1, 2, 2, 2})}));
  CHECK(out[0].shape() == Shape{2, 3});
  CHECK(values<float>(out[0]) == std::vector<float>{1, 2, 0, 5, 5, 5});
}

TEST_CASE("MatMul handles empty operands", "[ops][matmul]") {
  std::vector<obol::Tensor> out;
  out =
      ok(run_op(OpKind::MatMul, 13, {tensor<float>({0, 3}, {}), tensor<float>({3, 4}, std::vector<float>(12, 1.0f))}));
  CHECK(out[0].shape() == Shape{0, 4});
  out = ok(run_op(OpKind::MatMul, 13, {tensor<float>({2, 0}, {}), tensor<float>({0, 3}, {})}));
  CHECK(out[0].shape() == Shape{2, 3});
  CHECK(values<float>(out[0]) == std::vector<float>(6, 0.0f));
}

TEST_CASE("MatMul runs integer, float64 and half types", "[ops][matmul]") {
  std::vector<obol::Tensor> out;
  out = ok(run_op(OpKind::MatMul, 13, {tensor<int32_t>({2, 2}, {1, 2, 3, 4}), tensor<int32_t>({2, 2}, {5, 6, 7, 8})}));
  CHECK(values<int32_t>(out[0]) == std::vector<int32_t>{19, 22, 43, 50});
  out = ok(run_op(OpKind::MatMul, 13, {tensor<uint64_t>({1, 2}, {1, 2}), tensor<uint64_t>({2, 1}, {3, 4})}));
  CHECK(values<uint64_t>(out[0]) == std::vector<uint64_t>{11});
  out = ok(run_op(OpKind::MatMul, 13, {tensor<double>({1, 3}, {0.5, 0.25, 2}), tensor<double>({3, 1}, {2, 4, 1})}));
  CHECK(values<double>(out[0])[0] == Approx(4.0));

  out = ok(run_op(OpKind::MatMul, 13, {f16_tensor({1, 2}, {1.5f, -2.0f}), f16_tensor({2, 1}, {2.0f, 0.25f})}));
  REQUIRE(out[0].dtype() == DType::f16);
  CHECK(f16_values(out[0])[0] == Approx(2.5f));
}

TEST_CASE("MatMul rejects mismatched shapes and types", "[ops][matmul]") {
  CHECK_THAT(
      error_of(run_op(OpKind::MatMul, 13,
                      {tensor<float>({2, 3}, std::vector<float>(6)), tensor<float>({4, 2}, std::vector<float>(8))})),
      Catch::Contains("[MatMul] node 'n'") && Catch::Contains("inner dimensions differ"));
  CHECK_THAT(error_of(run_op(
                 OpKind::MatMul, 13,
                 {tensor<float>({2, 2, 3}, std::vector<float>(12)), tensor<float>({3, 3, 1}, std::vector<float>(9))})),
             Catch::Contains("do not broadcast"));
  CHECK_THAT(error_of(run_op(OpKind::MatMul, 13, {tensor<float>({}, {1.0f}), tensor<float>({1}, {1.0f})})),
             Catch::Contains("rank >= 1"));
  CHECK_THAT(error_of(run_op(OpKind::MatMul, 13, {tensor<float>({1, 1}, {1.0f}), tensor<int32_t>({1, 1}, {1})})),
             Catch::Contains("same type"));
}

TEST_CASE("Gemm applies transposes, alpha, beta and broadcast C", "[ops][matmul]") {
  const int64_t M = 37, N = 19, K = 23;
  const auto a = uniform_floats(static_cast<size_t>(M * K), 3, -1.0f, 1.0f);  // stored as [K, M] (transA)
  const auto b = uniform_floats(static_cast<size_t>(N * K), 4, -1.0f, 1.0f);  // stored as [N, K] (transB)
  for (const Shape& cs : {Shape{}, Shape{N}, Shape{1, N}, Shape{M, 1}, Shape{M, N}})
    for (bool constant : {false, true}) {
      const auto c = uniform_floats(static_cast<size_t>(cs.numel()), 5, -1.0f, 1.0f);
      const auto out = ok(
          run_op(OpKind::Gemm, 13, {tensor(Shape{K, M}, a), tensor(Shape{N, K}, b, constant), tensor(cs, c, constant)},
                 {attr_i("transA", 1), attr_i("transB", 1), attr_f("alpha", 0.5f), attr_f("beta", -2.0f)}));
      REQUIRE(out[0].shape() == Shape{M, N});
      std::vector<double> want(static_cast<size_t>(M * N));
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
          double s = 0;
          for (int64_t k = 0; k < K; ++k) s += static_cast<double>(a[static_cast<size_t>(k * M + i)]) * b[static_cast<size_t>(j * K + k)];
          const int64_t cr = cs.rank() == 2 ? cs[0] : 1, cc = cs.rank() >= 1 ? cs.back() : 1;
          const double cv = c[static_cast<size_t>((cr == 1 ? 0 : i) * cc + (cc == 1 ? 0 : j))];
          want[static_cast<size_t>(i * N + j)] = 0.5 * s - 2.0 * cv;
        }
      require_close(values<float>(out[0]), want);
    }
}

TEST_CASE("Gemm without C, in int64, and its errors", "[ops][matmul]") {
  std::vector<obol::Tensor> out;
  out = ok(run_op(OpKind::Gemm, 13, {tensor<float>({1, 2}, {1, 2}), tensor<float>({2, 2}, {1, 2, 3, 4}, true)},
                  {attr_f("alpha", 2.0f)}));
  CHECK(values<float>(out[0]) == std::vector<float>{14, 20});
  out = ok(
      run_op(OpKind::Gemm, 13,
             {tensor<int64_t>({1, 2}, {1, 2}), tensor<int64_t>({2, 2}, {1, 2, 3, 4}), tensor<int64_t>({2}, {10, 20})},
             {attr_i("transB", 1)}));
  CHECK(values<int64_t>(out[0]) == std::vector<int64_t>{15, 31});

  CHECK_THAT(
      error_of(run_op(OpKind::Gemm, 13,
                      {tensor<float>({2, 3}, std::vector<float>(6)), tensor<float>({3, 4}, std::vector<float>(12)),
                       tensor<float>({3}, std::vector<float>(3))})),
      Catch::Contains("[Gemm] node 'n'") && Catch::Contains("does not broadcast to [2, 4]"));
  CHECK_THAT(error_of(run_op(
                 OpKind::Gemm, 13,
                 {tensor<float>({2, 3, 1}, std::vector<float>(6)), tensor<float>({3, 4}, std::vector<float>(12))})),
             Catch::Contains("must be 2-D"));
}

TEST_CASE("MatMulInteger subtracts per-row and per-column zero points", "[ops][matmul]") {
  // A (int8) [2, 3] with zero points per row, B (uint8) [3, 2] with zero points per column.
  const auto out =
      ok(run_op(OpKind::MatMulInteger, 10,
                {tensor<int8_t>({2, 3}, {1, -2, 3, -128, 127, 0}), tensor<uint8_t>({3, 2}, {255, 0, 10, 20, 1, 2}),
                 tensor<int8_t>({2}, {1, -1}), tensor<uint8_t>({2}, {5, 10})}));
  REQUIRE(out[0].dtype() == DType::i32);
  // Row 0: a - 1 = {0, -3, 2}; row 1: a + 1 = {-127, 128, 1}. B - zb = {{250, -10}, {5, 10}, {-4, -8}}.
  CHECK(values<int32_t>(out[0]) == std::vector<int32_t>{0 - 15 - 8, 0 - 30 - 16, -31750 + 640 - 4, 1270 + 1280 - 8});
  CHECK_THAT(
      error_of(run_op(OpKind::MatMulInteger, 10,
                      {tensor<uint8_t>({1, 1}, {1}), tensor<uint8_t>({1, 1}, {1}), tensor<uint8_t>({3}, {1, 1, 1})})),
      Catch::Contains("a_zero_point"));
}

TEST_CASE("Einsum: diagonals, traces, sums, transposes and ellipses", "[ops][matmul][einsum]") {
  std::vector<obol::Tensor> out;
  const std::vector<float> m{1, 2, 3, 4, 5, 6, 7, 8, 9};
  out = ok(run_op(OpKind::Einsum, 12, {tensor<float>({3, 3}, m)}, {attr_s("equation", "ii")}));
  CHECK(out[0].shape().rank() == 0);
  CHECK(values<float>(out[0])[0] == 15.0f);
  out = ok(run_op(OpKind::Einsum, 12, {tensor<float>({3, 3}, m)}, {attr_s("equation", "ii->i")}));
  CHECK(values<float>(out[0]) == std::vector<float>{1, 5, 9});
  out = ok(run_op(OpKind::Einsum, 12, {tensor<float>({3, 3}, m)}, {attr_s("equation", "ij -> ")}));
  CHECK(values<float>(out[0])[0] == 45.0f);
  out = ok(run_op(OpKind::Einsum, 12, {tensor<float>({3, 3}, m)}, {attr_s("equation", "ji")}));
  CHECK(values<float>(out[0]) == std::vector<float>{1, 4, 7, 2, 5, 8, 3, 6, 9});
  out = ok(run_op(OpKind::Einsum, 12,
                  {tensor<int64_t>({2, 1, 2}, {1, 2, 3, 4}), tensor<int64_t>({3, 2}, {1, 0, 0, 1, 1, 1})},
                  {attr_s("equation", "...j,...j->...")}));
  CHECK(out[0].shape() == Shape{2, 3});
  CHECK(values<int64_t>(out[0]) == std::vector<int64_t>{1, 2, 3, 3, 4, 7});
  out = ok(run_op(OpKind::Einsum, 12, {tensor<double>({2}, {1, 2}), tensor<double>({3}, {1, 10, 100})},
                  {attr_s("equation", "a,b")}));
  CHECK(values<double>(out[0]) == std::vector<double>{1, 10, 100, 2, 20, 200});
}

TEST_CASE("Einsum contractions match a reference", "[ops][matmul][einsum]") {
  // "bij,bjk->bik" and a three-operand chain, in fp32 (sgemm) and float64 (loops).
  const auto x = uniform_floats(5 * 6 * 7, 6, -1.0f, 1.0f), y = uniform_floats(5 * 7 * 8, 7, -1.0f, 1.0f),
             z = uniform_floats(8 * 3, 8, -1.0f, 1.0f);
  std::vector<obol::Tensor> out;
  out = ok(run_op(OpKind::Einsum, 12, {tensor<float>({5, 6, 7}, x), tensor<float>({5, 7, 8}, y)},
                  {attr_s("equation", "bij,bjk->bik")}));
  Shape s;
  require_close(values<float>(out[0]), ref_matmul({5, 6, 7}, x, {5, 7, 8}, y, s));
  out = ok(run_op(OpKind::Einsum, 12,
                  {tensor<float>({5, 6, 7}, x), tensor<float>({5, 7, 8}, y), tensor<float>({8, 3}, z)},
                  {attr_s("equation", "bij,bjk,kl->il")}));
  REQUIRE(out[0].shape() == Shape{6, 3});
  const auto xy = ref_matmul({5, 6, 7}, x, {5, 7, 8}, y, s);
  std::vector<double> want(18, 0.0);
  for (int b = 0; b < 5; ++b)
    for (int i = 0; i < 6; ++i)
      for (int k = 0; k < 8; ++k)
        for (int l = 0; l < 3; ++l) want[static_cast<size_t>(i * 3 + l)] += xy[static_cast<size_t>((b * 6 + i) * 8 + k)] * z[static_cast<size_t>(k * 3 + l)];
  require_close(values<float>(out[0]), want);
}

TEST_CASE("Einsum rejects malformed equations", "[ops][matmul][einsum]") {
  CHECK_THAT(error_of(run_op(OpKind::Einsum, 12, {tensor<float>({2, 2}, {1, 2, 3, 4})}, {attr_s("equation", "i1->i")})),
             Catch::Contains("[Einsum]") && Catch::Contains("unexpected character"));
  CHECK_THAT(error_of(run_op(OpKind::Einsum, 12, {tensor<float>({2, 3}, std::vector<float>(6))},
                             {attr_s("equation", "ii->i")})),
             Catch::Contains("has sizes"));
  CHECK_THAT(error_of(run_op(OpKind::Einsum, 12, {tensor<float>({2, 3}, std::vector<float>(6))},
                             {attr_s("equation", "ijk->i")})),
             Catch::Contains("labels"));
  CHECK_THAT(error_of(run_op(OpKind::Einsum, 12, {tensor<float>({2}, {1, 2})}, {attr_s("equation", "i->j")})),
             Catch::Contains("appears in no input"));
}

TEST_CASE("QLinearMatMul requantizes with rounding and saturation", "[ops][matmul]") {
  std::vector<obol::Tensor> out;
  // a = {2, 4} * 0.5, b = {10, 20} * 0.1: y = 5 = (13 - 3) * 0.5.
  out = ok(run_op(OpKind::QLinearMatMul, 10,
                  {tensor<uint8_t>({1, 2}, {2, 4}), tensor<float>({}, {0.5f}), tensor<uint8_t>({}, {0}),
                   tensor<uint8_t>({2, 1}, {10, 20}), tensor<float>({}, {0.1f}), tensor<uint8_t>({}, {0}),
                   tensor<float>({}, {0.5f}), tensor<uint8_t>({}, {3})}));
  REQUIRE(out[0].dtype() == DType::u8);
  CHECK(values<uint8_t>(out[0]) == std::vector<uint8_t>{13});
  // int8 output saturates; per-column b scales.
  out = ok(run_op(OpKind::QLinearMatMul, 10,
                  {tensor<int8_t>({1, 1}, {100}), tensor<float>({}, {1.0f}), tensor<int8_t>({}, {0}),
                   tensor<int8_t>({1, 2}, {100, -1}), tensor<float>({2}, {1.0f, 0.5f}), tensor<int8_t>({}, {0}),
                   tensor<float>({}, {1.0f}), tensor<int8_t>({}, {0})}));
  CHECK(values<int8_t>(out[0]) == std::vector<int8_t>{127, -50});
}
