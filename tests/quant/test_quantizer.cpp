// The quantizer end to end on a small encoder-like graph built in code: int8 (dynamic and static) and
// int4 outputs load in obol, stay inside their budget, use the integer ops, and a broken budget
// refuses to write.
#include <catch2/catch.hpp>

#include <filesystem>

#include "obol/formats/onnx_writer.hpp"
#include "obol/io/tensor_file.hpp"
#include "obol/quant/quantizer.hpp"
#include "quant_test_util.hpp"

using namespace obol;
using namespace obol::quant_test;

namespace {

namespace fs = std::filesystem;

// x [2, 8, 64] -> three projections of one input (shared activation), a ReLU FFN with biases, a
// Gemm head, and an attention-like x * x^T product that must stay fp32.
Graph encoder_like() {
  Graph g;
  const int64_t H = 64, F = 128;
  const ValueId x = input(g, "x", Shape{2, 8, H});
  ValueId sum = graph::kNoValue;
  for (int i = 0; i < 3; ++i) {
    const std::string p = "proj" + std::to_string(i);
    const ValueId w = constant<float>(g, p + ".w", Shape{H, H}, random_floats(static_cast<size_t>(H * H), 10 + i, 0.1f));
    const ValueId b = constant<float>(g, p + ".b", Shape{H}, random_floats(static_cast<size_t>(H), 20 + i, 0.1f));
    const ValueId y = node(g, OpKind::Add, p + "_add", {b, node(g, OpKind::MatMul, p, {x, w})});
    sum = sum == graph::kNoValue ? y : node(g, OpKind::Add, p + "_sum", {sum, y});
  }
  const ValueId w1 = constant<float>(g, "ffn1.w", Shape{H, F}, random_floats(static_cast<size_t>(H * F), 30, 0.1f));
  const ValueId b1 = constant<float>(g, "ffn1.b", Shape{F}, random_floats(static_cast<size_t>(F), 31, 0.1f));
  const ValueId h = node(g, OpKind::Relu, "relu", {node(g, OpKind::Add, "ffn1_add", {node(g, OpKind::MatMul, "ffn1", {sum, w1}), b1})});
  const ValueId w2 = constant<float>(g, "ffn2.w", Shape{F, H}, random_floats(static_cast<size_t>(F * H), 32, 0.1f));
  const ValueId f = node(g, OpKind::MatMul, "ffn2", {h, w2});
  // Attention-like product of two activations: not quantized.
  graph::Attribute perm;
  perm.name = "perm";
  perm.kind = graph::Attribute::Kind::ints;
  perm.ints = {0, 2, 1};
  g.add_output(node(g, OpKind::MatMul, "scores", {f, node(g, OpKind::Transpose, "ft", {f}, {perm})}));
  // A Gemm head on a 2-D view (transB = 1 with a bias).
  const ValueId shape = constant<int64_t>(g, "shape", Shape{2}, {16, H});
  const ValueId flat = node(g, OpKind::Reshape, "flat", {f, shape});
  const ValueId wh = constant<float>(g, "head.w", Shape{10, H}, random_floats(static_cast<size_t>(10 * H), 40, 0.3f));
  const ValueId bh = constant<float>(g, "head.b", Shape{10}, random_floats(10, 41, 0.1f));
  g.add_output(node(g, OpKind::Gemm, "head", {flat, wh, bh}, {attr_i("transB", 1)}));
  g.value(x).type = graph::ValueType::tensor(DType::f32, Shape{2, 8, H});
  return g;
}

std::string save_temp(const Graph& g, const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("obol-test-quantizer-" + name + ".onnx");
  const Status st = onnx::save_model(g, p.string());
  INFO(st.to_string());
  REQUIRE(st.is_ok());
  return p.string();
}

}  // namespace

TEST_CASE("Quantizer int8 dynamic, int8 static and int4 stay within tolerance and load in obol", "[quant][quantizer]") {
  const std::string in = save_temp(encoder_like(), "fp32");
  struct Mode {
    const char* name;
    quant::WeightFormat w;
    quant::ActivationMode a;
    OpKind op;
    double min_cosine;
  };
  const Mode modes[] = {
      {"int8-dynamic", quant::WeightFormat::int8, quant::ActivationMode::dynamic, OpKind::MsDynamicQuantizeMatMul, 0.999},
      {"int8-static", quant::WeightFormat::int8, quant::ActivationMode::calibrated, OpKind::MsMatMulIntegerToFloat, 0.995},
      {"int4", quant::WeightFormat::int4, quant::ActivationMode::dynamic, OpKind::MsMatMulNBits, 0.99},
  };
  for (const Mode& m : modes) {
    INFO(m.name);
    quant::QuantizeOptions o;
    o.weights = m.w;
    o.activations = m.a;
    o.samples = 4;
    o.latency_runs = 2;
    o.min_weight_elements = 256;
    auto q = quant::quantize(in, o);
    INFO(q.status().to_string());
    REQUIRE(q.is_ok());
    const quant::QuantizeReport& r = q->report;
    INFO(r.to_string());
    CHECK(r.quantized_nodes == 6);  // 3 projections, 2 FFN, the Gemm head
    CHECK(r.eval_samples == 4);
    CHECK(r.bytes_after < r.bytes_before / 2);
    CHECK(r.cosine >= m.min_cosine);
    CHECK(r.cosine <= 1.000001);
    CHECK(r.max_abs_error > 0);  // quantization changes something
    CHECK(r.within_budget);
    CHECK(r.latency_ms_before > 0);
    // Written and loaded back: the integer op is there, the attention-like product stayed fp32, and
    // the outputs match fp32 within the reported error.
    const std::string out = (fs::temp_directory_path() / (std::string("obol-test-quantizer-") + m.name + ".onnx")).string();
    REQUIRE(quant::write_quantized(*q, out, false).is_ok());
    auto loaded = Model::load(out);
    INFO(loaded.status().to_string());
    REQUIRE(loaded.is_ok());
    CHECK(count_ops((*loaded)->graph(), m.op) >= 1);
    CHECK(count_ops(*q->graph, OpKind::MatMul) == (m.a == quant::ActivationMode::calibrated && m.w == quant::WeightFormat::int8 ? 7 : 1));
    const auto fp32 = Model::load(in);
    REQUIRE(fp32.is_ok());
    const Tensor x = f32_tensor(Shape{2, 8, 64}, random_floats(2 * 8 * 64, 99));
    const auto a = run(*fp32, {x.view()});
    const auto b = run(*loaded, {x.view()});
    REQUIRE(a.size() == 2);
    for (size_t i = 0; i < a.size(); ++i) CHECK(max_abs_diff(a[i], b[i]) <= std::max(2.0 * r.max_abs_error, 1e-3));
    fs::remove(out);
  }
  fs::remove(in);
}

TEST_CASE("Quantizer refuses to write a model over its error budget unless forced", "[quant][quantizer]") {
  const std::string in = save_temp(encoder_like(), "budget");
  quant::QuantizeOptions o;
  o.weights = quant::WeightFormat::int4;
  o.samples = 2;
  o.latency_runs = 0;
  o.min_weight_elements = 256;
  o.max_error = 1e-7;
  auto q = quant::quantize(in, o);
  REQUIRE(q.is_ok());
  CHECK_FALSE(q->report.within_budget);
  CHECK_THAT(q->report.to_string(), Catch::Contains("EXCEEDED"));
  const std::string out = (fs::temp_directory_path() / "obol-test-quantizer-refused.onnx").string();
  fs::remove(out);
  const Status st = quant::write_quantized(*q, out, false);
  REQUIRE_FALSE(st.is_ok());
  CHECK(st.code() == StatusCode::out_of_range);
  CHECK_THAT(st.message(), Catch::Contains("[quantize]") && Catch::Contains("exceeds the budget") && Catch::Contains("--force"));
  CHECK_FALSE(fs::exists(out));
  REQUIRE(quant::write_quantized(*q, out, true).is_ok());
  CHECK(fs::exists(out));
  fs::remove(out);
  fs::remove(in);
}

TEST_CASE("Quantizer reads calibration inputs from a directory and reports bad ones", "[quant][quantizer]") {
  const std::string in = save_temp(encoder_like(), "calib");
  const fs::path dir = fs::temp_directory_path() / "obol-test-quantizer-calib";
  fs::remove_all(dir);
  fs::create_directories(dir);
  quant::QuantizeOptions o;
  o.calibration_dir = dir.string();
  o.latency_runs = 0;
  auto empty = quant::quantize(in, o);
  REQUIRE_FALSE(empty.is_ok());
  CHECK_THAT(empty.status().message(), Catch::Contains("no .npy or .pb files"));
  for (int i = 0; i < 3; ++i) {
    const Tensor t = f32_tensor(Shape{2, 8, 64}, random_floats(1024, 50 + static_cast<uint32_t>(i)));
    REQUIRE(io::write_tensor_file((dir / ("x_" + std::to_string(i) + ".npy")).string(), t).is_ok());
  }
  o.activations = quant::ActivationMode::calibrated;
  auto q = quant::quantize(in, o);
  INFO(q.status().to_string());
  REQUIRE(q.is_ok());
  CHECK(q->report.eval_samples == 3);
  CHECK(q->report.calibration_samples == 3);
  fs::remove_all(dir);
  fs::remove(in);
}
