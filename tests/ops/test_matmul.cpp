// MatMul, Gemm, MatMulInteger and Einsum on the CPU backend: shapes and dtypes the ONNX test data does
// not cover, pre-packed constant weights, and error messages.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "obol/obol.hpp"

namespace {

using obol::DType;
using obol::Shape;

struct In {
  DType dtype;
  Shape shape;
  std::shared_ptr<std::vector<uint8_t>> bytes;
  bool constant = false;
};

template <class T>
In in(Shape s, const std::vector<T>& v, bool constant = false) {
  auto b = std::make_shared<std::vector<uint8_t>>(v.size() * sizeof(T) + 1);
  if (!v.empty()) std::memcpy(b->data(), v.data(), v.size() * sizeof(T));
  return In{obol::dtype_of_v<T>, s, b, constant};
}

obol::graph::Attribute attr_i(const char* name, int64_t v) {
  obol::graph::Attribute a;
  a.name = name;
  a.kind = obol::graph::Attribute::Kind::i;
  a.i = v;
  return a;
}
obol::graph::Attribute attr_f(const char* name, float v) {
  obol::graph::Attribute a;
  a.name = name;
  a.kind = obol::graph::Attribute::Kind::f;
  a.f = v;
  return a;
}
obol::graph::Attribute attr_s(const char* name, std::string v) {
  obol::graph::Attribute a;
  a.name = name;
  a.kind = obol::graph::Attribute::Kind::s;
  a.s = std::move(v);
  return a;
}

// Runs one node; inputs marked constant become initializers.
obol::Status run_node(obol::graph::OpKind op, const std::vector<In>& ins,
                      const std::vector<obol::graph::Attribute>& attrs, std::vector<obol::Tensor>& outs,
                      int opset = 13) {
  auto g = std::make_shared<obol::graph::Graph>();
  obol::graph::Node node;
  node.op = op;
  node.name = "n0";
  node.opset = opset;
  node.attributes = attrs;
  std::vector<obol::TensorView> feeds;
  for (size_t i = 0; i < ins.size(); ++i) {
    const In& x = ins[i];
    const obol::graph::ValueId v =
        g->add_value("in" + std::to_string(i), obol::graph::ValueType::tensor(x.dtype, x.shape));
    obol::TensorView view(x.bytes->data(), x.dtype, x.shape);
    if (x.constant) {
      auto c = std::make_shared<obol::graph::ConstantData>();
      c->view = view;
      c->owner = x.bytes;
      g->value(v).constant = c;
    } else {
      g->add_input(v);
      feeds.push_back(view);
    }
    node.inputs.push_back(v);
  }
  const obol::graph::ValueId out = g->add_value("out");
  node.outputs.push_back(out);
  g->add_node(node);
  g->add_output(out);
  auto model = obol::Model::from_graph(g);
  if (!model.is_ok()) return model.status();
  auto session = obol::Session::create(*model);
  if (!session.is_ok()) return session.status();
  return (*session)->run(feeds, outs);
}

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

template <class T>
std::vector<T> values(const obol::Tensor& t) {
  std::vector<T> v(static_cast<size_t>(t.numel()));
  if (!v.empty()) std::memcpy(v.data(), t.data(), v.size() * sizeof(T));
  return v;
}

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
      const auto a = random_floats(static_cast<size_t>(c.a.numel()), 1);
      const auto b = random_floats(static_cast<size_t>(c.b.numel()), 2);
      std::vector<obol::Tensor> out;
      REQUIRE(run_node(OpKind::MatMul, {in(c.a, a), in(c.b, b, constant)}, {}, out).is_ok());
      Shape want_shape;
      const auto want = ref_matmul(c.a, a, c.b, b, want_shape);
      CHECK(out[0].shape() == want_shape);
      require_close(values<float>(out[0]), want);
    }
}

TEST_CASE("MatMul promotes 1-D operands and drops the promoted dimension", "[ops][matmul]") {
  std::vector<obol::Tensor> out;
  REQUIRE(run_node(OpKind::MatMul, {in<float>({3}, {1, 2, 3}), in<float>({3}, {4, 5, 6})}, {}, out).is_ok());
  CHECK(out[0].shape().rank() == 0);
  CHECK(values<float>(out[0])[0] == Approx(32.0f));

  for (bool constant : {false, true}) {
    REQUIRE(run_node(OpKind::MatMul, {in<float>({2, 2, 3}, {1, 2, 3, 4, 5, 6, 1, 0, 0, 0, 1, 0}),
                                      in<float>({3}, {1, 1, 1}, constant)},
                     {}, out)
                .is_ok());
    CHECK(out[0].shape() == Shape{2, 2});
    CHECK(values<float>(out[0]) == std::vector<float>{6, 15, 1, 1});
  }
  REQUIRE(run_node(OpKind::MatMul, {in<float>({2}, {1, 2}), in<float>({2, 2, 3}, {1, 0, 0, 0, 1, 0, 1, 1, 1, 2, 2, 2})},
                   {}, out)
              .is_ok());
  CHECK(out[0].shape() == Shape{2, 3});
  CHECK(values<float>(out[0]) == std::vector<float>{1, 2, 0, 5, 5, 5});
}

TEST_CASE("MatMul handles empty operands", "[ops][matmul]") {
  std::vector<obol::Tensor> out;
  REQUIRE(run_node(OpKind::MatMul, {in<float>({0, 3}, {}), in<float>({3, 4}, std::vector<float>(12, 1.0f))}, {}, out)
              .is_ok());
  CHECK(out[0].shape() == Shape{0, 4});
  REQUIRE(run_node(OpKind::MatMul, {in<float>({2, 0}, {}), in<float>({0, 3}, {})}, {}, out).is_ok());
  CHECK(out[0].shape() == Shape{2, 3});
  CHECK(values<float>(out[0]) == std::vector<float>(6, 0.0f));
}

TEST_CASE("MatMul runs integer, float64 and half types", "[ops][matmul]") {
  std::vector<obol::Tensor> out;
  REQUIRE(run_node(OpKind::MatMul, {in<int32_t>({2, 2}, {1, 2, 3, 4}), in<int32_t>({2, 2}, {5, 6, 7, 8})}, {}, out).is_ok());
  CHECK(values<int32_t>(out[0]) == std::vector<int32_t>{19, 22, 43, 50});
  REQUIRE(run_node(OpKind::MatMul, {in<uint64_t>({1, 2}, {1, 2}), in<uint64_t>({2, 1}, {3, 4})}, {}, out).is_ok());
  CHECK(values<uint64_t>(out[0]) == std::vector<uint64_t>{11});
  REQUIRE(run_node(OpKind::MatMul, {in<double>({1, 3}, {0.5, 0.25, 2}), in<double>({3, 1}, {2, 4, 1})}, {}, out).is_ok());
  CHECK(values<double>(out[0])[0] == Approx(4.0));

  const std::vector<uint16_t> a{obol::f32_to_f16(1.5f), obol::f32_to_f16(-2.0f)};
  const std::vector<uint16_t> b{obol::f32_to_f16(2.0f), obol::f32_to_f16(0.25f)};
  In ia = in<uint16_t>({1, 2}, a), ib = in<uint16_t>({2, 1}, b);
  ia.dtype = ib.dtype = DType::f16;
  REQUIRE(run_node(OpKind::MatMul, {ia, ib}, {}, out).is_ok());
  REQUIRE(out[0].dtype() == DType::f16);
  CHECK(obol::f16_to_f32(values<uint16_t>(out[0])[0]) == Approx(2.5f));
}

TEST_CASE("MatMul rejects mismatched shapes and types", "[ops][matmul]") {
  std::vector<obol::Tensor> out;
  obol::Status st = run_node(OpKind::MatMul, {in<float>({2, 3}, std::vector<float>(6)), in<float>({4, 2}, std::vector<float>(8))}, {}, out);
  REQUIRE_FALSE(st.is_ok());
  CHECK_THAT(st.message(), Catch::Contains("[MatMul] node 'n0'") && Catch::Contains("inner dimensions differ"));
  st = run_node(OpKind::MatMul, {in<float>({2, 2, 3}, std::vector<float>(12)), in<float>({3, 3, 1}, std::vector<float>(9))}, {}, out);
  REQUIRE_FALSE(st.is_ok());
  CHECK_THAT(st.message(), Catch::Contains("do not broadcast"));
  st = run_node(OpKind::MatMul, {in<float>({}, {1.0f}), in<float>({1}, {1.0f})}, {}, out);
  REQUIRE_FALSE(st.is_ok());
  CHECK_THAT(st.message(), Catch::Contains("rank >= 1"));
  st = run_node(OpKind::MatMul, {in<float>({1, 1}, {1.0f}), in<int32_t>({1, 1}, {1})}, {}, out);
  REQUIRE_FALSE(st.is_ok());
  CHECK_THAT(st.message(), Catch::Contains("same type"));
}

TEST_CASE("Gemm applies transposes, alpha, beta and broadcast C", "[ops][matmul]") {
  const int64_t M = 37, N = 19, K = 23;
  const auto a = random_floats(static_cast<size_t>(M * K), 3);  // stored as [K, M] (transA)
  const auto b = random_floats(static_cast<size_t>(N * K), 4);  // stored as [N, K] (transB)
  for (const Shape& cs : {Shape{}, Shape{N}, Shape{1, N}, Shape{M, 1}, Shape{M, N}})
    for (bool constant : {false, true}) {
      const auto c = random_floats(static_cast<size_t>(cs.numel()), 5);
      std::vector<obol::Tensor> out;
      REQUIRE(run_node(OpKind::Gemm, {in(Shape{K, M}, a), in(Shape{N, K}, b, constant), in(cs, c, constant)},
                       {attr_i("transA", 1), attr_i("transB", 1), attr_f("alpha", 0.5f), attr_f("beta", -2.0f)}, out)
                  .is_ok());
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
  REQUIRE(run_node(OpKind::Gemm, {in<float>({1, 2}, {1, 2}), in<float>({2, 2}, {1, 2, 3, 4}, true)}, {attr_f("alpha", 2.0f)}, out)
              .is_ok());
  CHECK(values<float>(out[0]) == std::vector<float>{14, 20});
  REQUIRE(run_node(OpKind::Gemm, {in<int64_t>({1, 2}, {1, 2}), in<int64_t>({2, 2}, {1, 2, 3, 4}), in<int64_t>({2}, {10, 20})},
                   {attr_i("transB", 1)}, out)
              .is_ok());
  CHECK(values<int64_t>(out[0]) == std::vector<int64_t>{15, 31});

  obol::Status st = run_node(OpKind::Gemm, {in<float>({2, 3}, std::vector<float>(6)), in<float>({3, 4}, std::vector<float>(12)),
                                            in<float>({3}, std::vector<float>(3))},
                             {}, out);
  REQUIRE_FALSE(st.is_ok());
  CHECK_THAT(st.message(), Catch::Contains("[Gemm] node 'n0'") && Catch::Contains("does not broadcast to [2, 4]"));
  st = run_node(OpKind::Gemm, {in<float>({2, 3, 1}, std::vector<float>(6)), in<float>({3, 4}, std::vector<float>(12))}, {}, out);
  REQUIRE_FALSE(st.is_ok());
  CHECK_THAT(st.message(), Catch::Contains("must be 2-D"));
}

TEST_CASE("MatMulInteger subtracts per-row and per-column zero points", "[ops][matmul]") {
  std::vector<obol::Tensor> out;
  // A (int8) [2, 3] with zero points per row, B (uint8) [3, 2] with zero points per column.
  REQUIRE(run_node(OpKind::MatMulInteger,
                   {in<int8_t>({2, 3}, {1, -2, 3, -128, 127, 0}), in<uint8_t>({3, 2}, {255, 0, 10, 20, 1, 2}),
                    in<int8_t>({2}, {1, -1}), in<uint8_t>({2}, {5, 10})},
                   {}, out, 10)
              .is_ok());
  REQUIRE(out[0].dtype() == DType::i32);
  // Row 0: a - 1 = {0, -3, 2}; row 1: a + 1 = {-127, 128, 1}. B - zb = {{250, -10}, {5, 10}, {-4, -8}}.
  CHECK(values<int32_t>(out[0]) == std::vector<int32_t>{0 - 15 - 8, 0 - 30 - 16, -31750 + 640 - 4, 1270 + 1280 - 8});
  obol::Status st = run_node(OpKind::MatMulInteger, {in<uint8_t>({1, 1}, {1}), in<uint8_t>({1, 1}, {1}), in<uint8_t>({3}, {1, 1, 1})},
                             {}, out, 10);
  REQUIRE_FALSE(st.is_ok());
  CHECK_THAT(st.message(), Catch::Contains("a_zero_point"));
}

TEST_CASE("Einsum: diagonals, traces, sums, transposes and ellipses", "[ops][matmul][einsum]") {
  std::vector<obol::Tensor> out;
  const std::vector<float> m{1, 2, 3, 4, 5, 6, 7, 8, 9};
  REQUIRE(run_node(OpKind::Einsum, {in<float>({3, 3}, m)}, {attr_s("equation", "ii")}, out, 12).is_ok());
  CHECK(out[0].shape().rank() == 0);
  CHECK(values<float>(out[0])[0] == 15.0f);
  REQUIRE(run_node(OpKind::Einsum, {in<float>({3, 3}, m)}, {attr_s("equation", "ii->i")}, out, 12).is_ok());
  CHECK(values<float>(out[0]) == std::vector<float>{1, 5, 9});
  REQUIRE(run_node(OpKind::Einsum, {in<float>({3, 3}, m)}, {attr_s("equation", "ij -> ")}, out, 12).is_ok());
  CHECK(values<float>(out[0])[0] == 45.0f);
  REQUIRE(run_node(OpKind::Einsum, {in<float>({3, 3}, m)}, {attr_s("equation", "ji")}, out, 12).is_ok());
  CHECK(values<float>(out[0]) == std::vector<float>{1, 4, 7, 2, 5, 8, 3, 6, 9});
  REQUIRE(run_node(OpKind::Einsum, {in<int64_t>({2, 1, 2}, {1, 2, 3, 4}), in<int64_t>({3, 2}, {1, 0, 0, 1, 1, 1})},
                   {attr_s("equation", "...j,...j->...")}, out, 12)
              .is_ok());
  CHECK(out[0].shape() == Shape{2, 3});
  CHECK(values<int64_t>(out[0]) == std::vector<int64_t>{1, 2, 3, 3, 4, 7});
  REQUIRE(run_node(OpKind::Einsum, {in<double>({2}, {1, 2}), in<double>({3}, {1, 10, 100})}, {attr_s("equation", "a,b")},
                   out, 12)
              .is_ok());
  CHECK(values<double>(out[0]) == std::vector<double>{1, 10, 100, 2, 20, 200});
}

TEST_CASE("Einsum contractions match a reference", "[ops][matmul][einsum]") {
  // "bij,bjk->bik" and a three-operand chain, in fp32 (sgemm) and float64 (loops).
  const auto x = random_floats(5 * 6 * 7, 6), y = random_floats(5 * 7 * 8, 7), z = random_floats(8 * 3, 8);
  std::vector<obol::Tensor> out;
  REQUIRE(run_node(OpKind::Einsum, {in<float>({5, 6, 7}, x), in<float>({5, 7, 8}, y)}, {attr_s("equation", "bij,bjk->bik")},
                   out, 12)
              .is_ok());
  Shape s;
  require_close(values<float>(out[0]), ref_matmul({5, 6, 7}, x, {5, 7, 8}, y, s));
  REQUIRE(run_node(OpKind::Einsum, {in<float>({5, 6, 7}, x), in<float>({5, 7, 8}, y), in<float>({8, 3}, z)},
                   {attr_s("equation", "bij,bjk,kl->il")}, out, 12)
              .is_ok());
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
  std::vector<obol::Tensor> out;
  obol::Status st = run_node(OpKind::Einsum, {in<float>({2, 2}, {1, 2, 3, 4})}, {attr_s("equation", "i1->i")}, out, 12);
  REQUIRE_FALSE(st.is_ok());
  CHECK_THAT(st.message(), Catch::Contains("[Einsum]") && Catch::Contains("unexpected character"));
  st = run_node(OpKind::Einsum, {in<float>({2, 3}, std::vector<float>(6))}, {attr_s("equation", "ii->i")}, out, 12);
  REQUIRE_FALSE(st.is_ok());
  CHECK_THAT(st.message(), Catch::Contains("has sizes"));
  st = run_node(OpKind::Einsum, {in<float>({2, 3}, std::vector<float>(6))}, {attr_s("equation", "ijk->i")}, out, 12);
  REQUIRE_FALSE(st.is_ok());
  CHECK_THAT(st.message(), Catch::Contains("labels"));
  st = run_node(OpKind::Einsum, {in<float>({2}, {1, 2})}, {attr_s("equation", "i->j")}, out, 12);
  REQUIRE_FALSE(st.is_ok());
  CHECK_THAT(st.message(), Catch::Contains("appears in no input"));
}

TEST_CASE("QLinearMatMul requantizes with rounding and saturation", "[ops][matmul]") {
  std::vector<obol::Tensor> out;
  // a = {2, 4} * 0.5, b = {10, 20} * 0.1: y = 5 = (13 - 3) * 0.5.
  REQUIRE(run_node(OpKind::QLinearMatMul,
                   {in<uint8_t>({1, 2}, {2, 4}), in<float>({}, {0.5f}), in<uint8_t>({}, {0}), in<uint8_t>({2, 1}, {10, 20}),
                    in<float>({}, {0.1f}), in<uint8_t>({}, {0}), in<float>({}, {0.5f}), in<uint8_t>({}, {3})},
                   {}, out, 10)
              .is_ok());
  REQUIRE(out[0].dtype() == DType::u8);
  CHECK(values<uint8_t>(out[0]) == std::vector<uint8_t>{13});
  // int8 output saturates; per-column b scales.
  REQUIRE(run_node(OpKind::QLinearMatMul,
                   {in<int8_t>({1, 1}, {100}), in<float>({}, {1.0f}), in<int8_t>({}, {0}), in<int8_t>({1, 2}, {100, -1}),
                    in<float>({2}, {1.0f, 0.5f}), in<int8_t>({}, {0}), in<float>({}, {1.0f}), in<int8_t>({}, {0})},
                   {}, out, 10)
              .is_ok());
  CHECK(values<int8_t>(out[0]) == std::vector<int8_t>{127, -50});
}
