// RNN, GRU and LSTM on the CPU backend: what the ONNX test data leaves out (reverse and bidirectional
// directions, sequence_lens, layout 1, clip, float64, custom activations, error paths).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "obol/obol.hpp"
#include "op_test_util.hpp"

using namespace obol;
using graph::OpKind;

namespace {
using namespace obol::op_test;

graph::Attribute attr_strs(const char* name, std::vector<std::string> v) {
  graph::Attribute a = attr_of(name, graph::Attribute::Kind::strings);
  a.strings = std::move(v);
  return a;
}
graph::Attribute attr_fs(const char* name, std::vector<float> v) {
  graph::Attribute a = attr_of(name, graph::Attribute::Kind::floats);
  a.floats = std::move(v);
  return a;
}

std::vector<double> random_values(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> d(-1.0, 1.0);
  std::vector<double> v(n);
  for (double& x : v) x = d(rng);
  return v;
}

template <class T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

const Arg kNone{};

// Tanh RNN reference: X [S, B, I], W [D, H, I], R [D, H, H], Bias [D, 2H], lens [B], h0 [D, B, H].
// Returns Y [S, D, B, H] followed by Y_h [D, B, H].
std::vector<double> rnn_reference(int64_t S, int64_t Bn, int64_t I, int64_t H, int D, bool reverse_only,
                                  const std::vector<double>& x, const std::vector<double>& w, const std::vector<double>& r,
                                  const std::vector<double>& b, const std::vector<int64_t>& lens,
                                  const std::vector<double>& h0) {
  std::vector<double> y(static_cast<size_t>(S * D * Bn * H), 0.0), yh(static_cast<size_t>(D * Bn * H), 0.0);
  for (int d = 0; d < D; ++d) {
    const bool back = D == 2 ? d == 1 : reverse_only;
    for (int64_t bb = 0; bb < Bn; ++bb) {
      std::vector<double> h(h0.begin() + (d * Bn + bb) * H, h0.begin() + (d * Bn + bb + 1) * H);
      const int64_t len = lens[static_cast<size_t>(bb)];
      for (int64_t s = 0; s < len; ++s) {
        const int64_t t = back ? len - 1 - s : s;
        std::vector<double> nh(static_cast<size_t>(H));
        for (int64_t j = 0; j < H; ++j) {
          double a = b[static_cast<size_t>(d * 2 * H + j)] + b[static_cast<size_t>(d * 2 * H + H + j)];
          for (int64_t k = 0; k < I; ++k) a += x[static_cast<size_t>((t * Bn + bb) * I + k)] * w[static_cast<size_t>((d * H + j) * I + k)];
          for (int64_t k = 0; k < H; ++k) a += h[static_cast<size_t>(k)] * r[static_cast<size_t>((d * H + j) * H + k)];
          nh[static_cast<size_t>(j)] = std::tanh(a);
        }
        h = nh;
        for (int64_t j = 0; j < H; ++j) y[static_cast<size_t>(((t * D + d) * Bn + bb) * H + j)] = h[static_cast<size_t>(j)];
      }
      for (int64_t j = 0; j < H; ++j) yh[static_cast<size_t>((d * Bn + bb) * H + j)] = h[static_cast<size_t>(j)];
    }
  }
  y.insert(y.end(), yh.begin(), yh.end());
  return y;
}

template <class T>
void require_close(const std::vector<T>& got, const std::vector<double>& want, size_t offset, double tol) {
  REQUIRE(offset + got.size() <= want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i);
    REQUIRE(std::abs(static_cast<double>(got[i]) - want[offset + i]) <= tol);
  }
}

}  // namespace

TEST_CASE("RNN: directions, sequence_lens and initial_h against a reference", "[ops][rnn]") {
  const int64_t S = 4, Bn = 3, I = 2, H = 3;
  const std::vector<int64_t> lens = {4, 2, 0};
  for (const char* direction : {"forward", "reverse", "bidirectional"}) {
    const int D = std::string(direction) == "bidirectional" ? 2 : 1;
    const auto x = random_values(static_cast<size_t>(S * Bn * I), 1);
    const auto w = random_values(static_cast<size_t>(D * H * I), 2);
    const auto r = random_values(static_cast<size_t>(D * H * H), 3);
    const auto b = random_values(static_cast<size_t>(D * 2 * H), 4);
    const auto h0 = random_values(static_cast<size_t>(D * Bn * H), 5);
    const auto want = rnn_reference(S, Bn, I, H, D, std::string(direction) == "reverse", x, w, r, b, lens, h0);
    SECTION(std::string("float32, constant W, ") + direction) {
      auto out = ok(run_op(OpKind::RNN, 14,
                           {tensor(Shape{S, Bn, I}, cast<float>(x)), tensor(Shape{D, H, I}, cast<float>(w), true),
                            tensor(Shape{D, H, H}, cast<float>(r)), tensor(Shape{D, 2 * H}, cast<float>(b)),
                            tensor(Shape{Bn}, lens), tensor(Shape{D, Bn, H}, cast<float>(h0))},
                           {attr_i("hidden_size", H), attr_s("direction", direction)}, 2));
      REQUIRE(out[0].shape() == Shape{S, D, Bn, H});
      REQUIRE(out[1].shape() == Shape{D, Bn, H});
      require_close(values<float>(out[0]), want, 0, 1e-5);
      require_close(values<float>(out[1]), want, static_cast<size_t>(S * D * Bn * H), 1e-5);
    }
    SECTION(std::string("float64, ") + direction) {
      auto out = ok(run_op(OpKind::RNN, 14,
                           {tensor(Shape{S, Bn, I}, x), tensor(Shape{D, H, I}, w), tensor(Shape{D, H, H}, r),
                            tensor(Shape{D, 2 * H}, b), tensor(Shape{Bn}, lens), tensor(Shape{D, Bn, H}, h0)},
                           {attr_s("direction", direction)}, 2));
      require_close(values<double>(out[0]), want, 0, 1e-12);
      require_close(values<double>(out[1]), want, static_cast<size_t>(S * D * Bn * H), 1e-12);
    }
  }
}

namespace {

// Runs one recurrent op in float32 (constant, pre-packed W and R) and float64 and requires equal results.
void check_f32_matches_f64(OpKind op, int gates, std::vector<graph::Attribute> attrs, bool peepholes, int D) {
  const int64_t S = 5, Bn = 2, I = 3, H = 4;
  const auto x = random_values(static_cast<size_t>(S * Bn * I), 11);
  const auto w = random_values(static_cast<size_t>(D * gates * H * I), 12);
  const auto r = random_values(static_cast<size_t>(D * gates * H * H), 13);
  const auto b = random_values(static_cast<size_t>(D * 2 * gates * H), 14);
  const auto h0 = random_values(static_cast<size_t>(D * Bn * H), 15);
  const auto c0 = random_values(static_cast<size_t>(D * Bn * H), 16);
  const auto p = random_values(static_cast<size_t>(D * 3 * H), 17);
  const std::vector<int64_t> lens = {5, 3};
  const bool lstm = op == OpKind::LSTM;
  auto args = [&](auto tag, bool constant) {
    using T = decltype(tag);
    std::vector<Arg> a = {tensor(Shape{S, Bn, I}, cast<T>(x)), tensor(Shape{D, gates * H, I}, cast<T>(w), constant),
                          tensor(Shape{D, gates * H, H}, cast<T>(r), constant), tensor(Shape{D, 2 * gates * H}, cast<T>(b)),
                          tensor(Shape{Bn}, lens), tensor(Shape{D, Bn, H}, cast<T>(h0))};
    if (lstm) {
      a.push_back(tensor(Shape{D, Bn, H}, cast<T>(c0)));
      a.push_back(peepholes ? tensor(Shape{D, 3 * H}, cast<T>(p)) : kNone);
    }
    return a;
  };
  const int n_out = lstm ? 3 : 2;
  auto o32 = ok(run_op(op, 14, args(float{}, true), attrs, n_out));
  auto o64 = ok(run_op(op, 14, args(double{}, false), attrs, n_out));
  for (int i = 0; i < n_out; ++i) {
    INFO("output " << i);
    REQUIRE(o32[static_cast<size_t>(i)].shape() == o64[static_cast<size_t>(i)].shape());
    require_close(values<float>(o32[static_cast<size_t>(i)]), values<double>(o64[static_cast<size_t>(i)]), 0, 1e-5);
  }
  // Past its length, batch entry 1's Y rows are zero.
  const auto y = values<double>(o64[0]);
  for (int64_t t = 3; t < S; ++t)
    for (int d = 0; d < D; ++d)
      for (int64_t j = 0; j < H; ++j) REQUIRE(y[static_cast<size_t>(((t * D + d) * Bn + 1) * H + j)] == 0.0);
}

}  // namespace

TEST_CASE("LSTM and GRU: float32 GEMM path matches float64 loops", "[ops][rnn]") {
  SECTION("LSTM bidirectional with peepholes and clip") {
    check_f32_matches_f64(OpKind::LSTM, 4, {attr_i("hidden_size", 4), attr_s("direction", "bidirectional"), attr_f("clip", 0.7f)},
                          true, 2);
  }
  SECTION("LSTM reverse, input_forget, custom activations") {
    check_f32_matches_f64(OpKind::LSTM, 4,
                          {attr_s("direction", "reverse"), attr_i("input_forget", 1),
                           attr_strs("activations", {"HardSigmoid", "LeakyRelu", "ScaledTanh"}),
                           attr_fs("activation_alpha", {0.3f, 0.1f, 1.5f}), attr_fs("activation_beta", {0.4f, 0.8f})},
                          false, 1);
  }
  SECTION("GRU bidirectional, default reset") {
    check_f32_matches_f64(OpKind::GRU, 3, {attr_s("direction", "bidirectional")}, false, 2);
  }
  SECTION("GRU linear_before_reset, Softsign/Elu") {
    check_f32_matches_f64(OpKind::GRU, 3,
                          {attr_i("linear_before_reset", 1), attr_strs("activations", {"Sigmoid", "Softsign"})}, false, 1);
  }
}

TEST_CASE("GRU: linear_before_reset changes the result", "[ops][rnn]") {
  const int64_t S = 2, Bn = 1, I = 2, H = 2;
  const auto x = cast<float>(random_values(4, 21));
  const auto w = cast<float>(random_values(12, 22));
  const auto r = cast<float>(random_values(12, 23));
  const auto b = cast<float>(random_values(12, 24));
  auto run = [&](int64_t lbr) {
    return values<float>(ok(run_op(OpKind::GRU, 14,
                                   {tensor(Shape{S, Bn, I}, x), tensor(Shape{1, 3 * H, I}, w), tensor(Shape{1, 3 * H, H}, r),
                                    tensor(Shape{1, 6 * H}, b)},
                                   {attr_i("linear_before_reset", lbr)}, 2))[1]);
  };
  const auto a = run(0), c = run(1);
  bool differs = false;
  for (size_t i = 0; i < a.size(); ++i) differs = differs || std::abs(a[i] - c[i]) > 1e-6f;
  REQUIRE(differs);
}

TEST_CASE("LSTM: layout 1 is the batch-major transpose of layout 0", "[ops][rnn]") {
  const int64_t S = 3, Bn = 2, I = 2, H = 3;
  const auto x = random_values(static_cast<size_t>(S * Bn * I), 31);
  const auto w = cast<float>(random_values(static_cast<size_t>(4 * H * I), 32));
  const auto r = cast<float>(random_values(static_cast<size_t>(4 * H * H), 33));
  std::vector<float> xt(x.size());
  for (int64_t t = 0; t < S; ++t)
    for (int64_t b = 0; b < Bn; ++b)
      for (int64_t k = 0; k < I; ++k) xt[static_cast<size_t>((b * S + t) * I + k)] = static_cast<float>(x[static_cast<size_t>((t * Bn + b) * I + k)]);
  auto o0 = ok(run_op(OpKind::LSTM, 14, {tensor(Shape{S, Bn, I}, cast<float>(x)), tensor(Shape{1, 4 * H, I}, w), tensor(Shape{1, 4 * H, H}, r)},
                      {attr_i("hidden_size", H)}, 3));
  auto o1 = ok(run_op(OpKind::LSTM, 14, {tensor(Shape{Bn, S, I}, xt), tensor(Shape{1, 4 * H, I}, w), tensor(Shape{1, 4 * H, H}, r)},
                      {attr_i("hidden_size", H), attr_i("layout", 1)}, 3));
  REQUIRE(o1[0].shape() == Shape{Bn, S, 1, H});
  REQUIRE(o1[1].shape() == Shape{Bn, 1, H});
  const auto y0 = values<float>(o0[0]), y1 = values<float>(o1[0]);
  for (int64_t t = 0; t < S; ++t)
    for (int64_t b = 0; b < Bn; ++b)
      for (int64_t j = 0; j < H; ++j) REQUIRE(y0[static_cast<size_t>((t * Bn + b) * H + j)] == y1[static_cast<size_t>((b * S + t) * H + j)]);
  REQUIRE(values<float>(o0[2]) == values<float>(o1[2]));
}

TEST_CASE("Recurrent ops: error messages", "[ops][rnn]") {
  const auto x = std::vector<float>(6, 0.5f);
  SECTION("W of the wrong shape") {
    auto r = run_op(OpKind::LSTM, 14, {tensor(Shape{3, 1, 2}, x), tensor(Shape{1, 7, 2}, std::vector<float>(14)),
                                       tensor(Shape{1, 8, 2}, std::vector<float>(16))},
                    {attr_i("hidden_size", 2)}, 1);
    const std::string e = error_of(r);
    REQUIRE(e.find("[LSTM] node 'n'") != std::string::npos);
    REQUIRE(e.find("W must have shape") != std::string::npos);
  }
  SECTION("unknown activation") {
    auto r = run_op(OpKind::RNN, 14, {tensor(Shape{3, 1, 2}, x), tensor(Shape{1, 2, 2}, std::vector<float>(4)),
                                      tensor(Shape{1, 2, 2}, std::vector<float>(4))},
                    {attr_strs("activations", {"Swish"})}, 1);
    REQUIRE(error_of(r).find("activation 'Swish' is not supported") != std::string::npos);
  }
  SECTION("bad direction") {
    auto r = run_op(OpKind::GRU, 14, {tensor(Shape{3, 1, 2}, x), tensor(Shape{1, 6, 2}, std::vector<float>(12)),
                                      tensor(Shape{1, 6, 2}, std::vector<float>(12))},
                    {attr_s("direction", "sideways")}, 1);
    REQUIRE(error_of(r).find("direction must be") != std::string::npos);
  }
  SECTION("sequence_lens out of range") {
    auto r = run_op(OpKind::RNN, 14, {tensor(Shape{3, 1, 2}, x), tensor(Shape{1, 2, 2}, std::vector<float>(4)),
                                      tensor(Shape{1, 2, 2}, std::vector<float>(4)), kNone, tensor(Shape{1}, std::vector<int32_t>{4})},
                    {}, 1);
    REQUIRE(error_of(r).find("sequence_lens values must be in [0, 3]") != std::string::npos);
  }
  SECTION("integer X") {
    auto r = run_op(OpKind::RNN, 14, {tensor(Shape{3, 1, 2}, std::vector<int32_t>(6)), tensor(Shape{1, 2, 2}, std::vector<int32_t>(4)),
                                      tensor(Shape{1, 2, 2}, std::vector<int32_t>(4))},
                    {}, 1);
    REQUIRE(error_of(r).find("X must be float32 or float64") != std::string::npos);
  }
}
