// The QDQ fusion pass: DequantizeLinear -> MatMul/Conv (-> QuantizeLinear) with constant int8 weights
// becomes QLinearMatMul, MatMulIntegerToFloat or QLinearConv, with outputs equal to the unfused
// graph within the quantization step.
#include <catch2/catch.hpp>

#include "quant_test_util.hpp"

using namespace obol;
using namespace obol::quant_test;

namespace {

// x [rows, K] -> Q -> DQ -> MatMul(., DQ(Wq, per-column scale)) -> (Q -> DQ) -> output.
Graph matmul_qdq_graph(bool quantize_output, int64_t rows, int64_t K, int64_t N) {
  Graph g;
  const ValueId x = input(g, "x", Shape{rows, K});
  const ValueId sx = constant<float>(g, "sx", Shape{}, {0.03f});
  const ValueId zx = constant<uint8_t>(g, "zx", Shape{}, {120});
  const ValueId xq = node(g, OpKind::QuantizeLinear, "qx", {x, sx, zx});
  const ValueId xd = node(g, OpKind::DequantizeLinear, "dqx", {xq, sx, zx});
  std::vector<int8_t> wq(static_cast<size_t>(K * N));
  std::mt19937 rng(7);
  for (int8_t& v : wq) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  std::vector<float> sw(static_cast<size_t>(N));
  for (int64_t j = 0; j < N; ++j) sw[static_cast<size_t>(j)] = 0.002f + 0.0005f * static_cast<float>(j);
  const ValueId w = constant<int8_t>(g, "wq", Shape{K, N}, wq);
  const ValueId ws = constant<float>(g, "ws", Shape{N}, sw);
  const ValueId wd = node(g, OpKind::DequantizeLinear, "dqw", {w, ws}, {attr_i("axis", 1)});
  ValueId y = node(g, OpKind::MatMul, "mm", {xd, wd});
  if (quantize_output) {
    const ValueId sy = constant<float>(g, "sy", Shape{}, {0.05f});
    const ValueId zy = constant<int8_t>(g, "zy", Shape{}, {3});
    const ValueId yq = node(g, OpKind::QuantizeLinear, "qy", {y, sy, zy});
    y = node(g, OpKind::DequantizeLinear, "dqy", {yq, sy, zy});
  }
  g.add_output(y);
  return g;
}

}  // namespace

TEST_CASE("QDQ MatMul followed by QuantizeLinear becomes QLinearMatMul", "[quant][qdq]") {
  const Graph g = matmul_qdq_graph(true, 5, 40, 24);
  const auto plain = model_of(g, OptLevel::none);
  const auto fused = model_of(g, OptLevel::extended);
  CHECK(count_ops(plain->graph(), OpKind::QLinearMatMul) == 0);
  CHECK(count_ops(fused->graph(), OpKind::QLinearMatMul) == 1);
  CHECK(count_ops(fused->graph(), OpKind::MatMul) == 0);
  const Tensor x = f32_tensor(Shape{5, 40}, random_floats(200, 1, 1.5f));
  const auto a = run(plain, {x.view()});
  const auto b = run(fused, {x.view()});
  // The same integer product either way; the requantized output may differ by one step on ties.
  CHECK(max_abs_diff(a[0], b[0]) <= 0.05 * 1.001);
}

TEST_CASE("QDQ MatMul without an output QuantizeLinear becomes MatMulIntegerToFloat", "[quant][qdq]") {
  const Graph g = matmul_qdq_graph(false, 7, 33, 17);
  const auto plain = model_of(g, OptLevel::none);
  const auto fused = model_of(g, OptLevel::extended);
  CHECK(count_ops(fused->graph(), OpKind::MsMatMulIntegerToFloat) == 1);
  CHECK(count_ops(fused->graph(), OpKind::MatMul) == 0);
  const Tensor x = f32_tensor(Shape{7, 33}, random_floats(231, 2, 2.0f));
  const auto a = run(plain, {x.view()});
  const auto b = run(fused, {x.view()});
  double scale = 0;
  for (int64_t i = 0; i < a[0].numel(); ++i) scale = std::max(scale, static_cast<double>(std::fabs(a[0].data_as<float>()[i])));
  CHECK(max_abs_diff(a[0], b[0]) <= 1e-5 * scale + 1e-6);
}

TEST_CASE("QDQ Conv followed by QuantizeLinear becomes QLinearConv with an int32 bias", "[quant][qdq]") {
  Graph g;
  const ValueId x = input(g, "x", Shape{1, 3, 8, 8});
  const ValueId sx = constant<float>(g, "sx", Shape{}, {0.02f});
  const ValueId zx = constant<uint8_t>(g, "zx", Shape{}, {128});
  const ValueId xd = node(g, OpKind::DequantizeLinear, "dqx", {node(g, OpKind::QuantizeLinear, "qx", {x, sx, zx}), sx, zx});
  std::vector<int8_t> wq(4 * 3 * 3 * 3);
  std::mt19937 rng(9);
  for (int8_t& v : wq) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  const ValueId w = constant<int8_t>(g, "wq", Shape{4, 3, 3, 3}, wq);
  const ValueId ws = constant<float>(g, "ws", Shape{4}, {0.01f, 0.02f, 0.015f, 0.005f});
  const ValueId wd = node(g, OpKind::DequantizeLinear, "dqw", {w, ws}, {attr_i("axis", 0)});
  const ValueId b = constant<float>(g, "b", Shape{4}, {0.1f, -0.2f, 0.0f, 0.33f});
  graph::Attribute pads;
  pads.name = "pads";
  pads.kind = graph::Attribute::Kind::ints;
  pads.ints = {1, 1, 1, 1};
  const ValueId y = node(g, OpKind::Conv, "conv", {xd, wd, b}, {pads});
  const ValueId sy = constant<float>(g, "sy", Shape{}, {0.1f});
  const ValueId zy = constant<uint8_t>(g, "zy", Shape{}, {100});
  g.add_output(node(g, OpKind::DequantizeLinear, "dqy", {node(g, OpKind::QuantizeLinear, "qy", {y, sy, zy}), sy, zy}));
  const auto plain = model_of(g, OptLevel::none);
  const auto fused = model_of(g, OptLevel::extended);
  CHECK(count_ops(fused->graph(), OpKind::QLinearConv) == 1);
  CHECK(count_ops(fused->graph(), OpKind::Conv) == 0);
  const Tensor xt = f32_tensor(Shape{1, 3, 8, 8}, random_floats(192, 3, 1.0f));
  const auto ra = run(plain, {xt.view()});
  const auto rb = run(fused, {xt.view()});
  // One output step, plus the bias rounded to the accumulator's scale (half of sx * sw at most).
  CHECK(max_abs_diff(ra[0], rb[0]) <= 0.1 * 1.001 + 0.5 * 0.02 * 0.02);
}

TEST_CASE("QDQ fusion leaves patterns with run-time weights alone", "[quant][qdq]") {
  Graph g;
  const ValueId x = input(g, "x", Shape{2, 4});
  const ValueId w = input(g, "w", Shape{4, 3});
  const ValueId s = constant<float>(g, "s", Shape{}, {0.1f});
  const ValueId z = constant<uint8_t>(g, "z", Shape{}, {0});
  const ValueId xd = node(g, OpKind::DequantizeLinear, "dqx", {node(g, OpKind::QuantizeLinear, "qx", {x, s, z}), s, z});
  const ValueId wd = node(g, OpKind::DequantizeLinear, "dqw", {node(g, OpKind::QuantizeLinear, "qw", {w, s, z}), s, z});
  g.add_output(node(g, OpKind::MatMul, "mm", {xd, wd}));
  const auto fused = model_of(g, OptLevel::extended);
  CHECK(count_ops(fused->graph(), OpKind::MatMul) == 1);
  CHECK(count_ops(fused->graph(), OpKind::MsMatMulIntegerToFloat) == 0);
}
