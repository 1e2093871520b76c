// Model and Session through the public C++ API, on a graph built in code with real CPU kernels.
#include <catch2/catch.hpp>
#include <atomic>
#include <cmath>
#include <random>
#include <thread>

#include "obol/obol.hpp"

using namespace obol;
using graph::Dim;
using graph::Graph;
using graph::Node;
using graph::OpKind;
using graph::ValueId;
using graph::ValueType;

namespace {

std::shared_ptr<graph::ConstantData> constant(std::vector<float> data, const Shape& shape) {
  auto owner = std::make_shared<std::vector<float>>(std::move(data));
  auto c = std::make_shared<graph::ConstantData>();
  c->view = TensorView(owner->data(), DType::f32, shape);
  c->owner = owner;
  return c;
}

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

ValueId add_const(Graph& g, const std::string& name, std::vector<float> data, const Shape& shape) {
  const ValueId v = g.add_value(name, ValueType::tensor(DType::f32, shape));
  g.value(v).constant = constant(std::move(data), shape);
  return v;
}

void add_node(Graph& g, OpKind op, const std::string& name, std::vector<ValueId> in, std::vector<ValueId> out,
              int opset = 13) {
  Node n;
  n.op = op;
  n.name = name;
  n.opset = opset;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  g.add_node(std::move(n));
}

constexpr int64_t kIn = 64, kHidden = 96, kOut = 10;

// probs = softmax(relu(x W1 + b1) W2 + b2), x: f32[batch, 64]
std::shared_ptr<Graph> mlp() {
  auto g = std::make_shared<Graph>();
  ValueType xt;
  xt.dtype = DType::f32;
  xt.rank_known = true;
  xt.dims = {Dim::named("batch"), Dim::known(kIn)};
  const ValueId x = g->add_value("x", xt);
  g->add_input(x);
  const ValueId w1 = add_const(*g, "w1", random_floats(kIn * kHidden, 1), Shape{kIn, kHidden});
  const ValueId b1 = add_const(*g, "b1", random_floats(kHidden, 2), Shape{kHidden});
  const ValueId w2 = add_const(*g, "w2", random_floats(kHidden * kOut, 3), Shape{kHidden, kOut});
  const ValueId b2 = add_const(*g, "b2", random_floats(kOut, 4), Shape{kOut});
  const ValueId h = g->add_value("h"), ha = g->add_value("ha"), hr = g->add_value("hr");
  const ValueId o = g->add_value("o"), oa = g->add_value("oa"), probs = g->add_value("probs");
  add_node(*g, OpKind::MatMul, "mm1", {x, w1}, {h});
  add_node(*g, OpKind::Add, "add1", {h, b1}, {ha});
  add_node(*g, OpKind::Relu, "relu", {ha}, {hr});
  add_node(*g, OpKind::MatMul, "mm2", {hr, w2}, {o});
  add_node(*g, OpKind::Add, "add2", {o, b2}, {oa});
  Node sm;
  sm.op = OpKind::Softmax;
  sm.name = "softmax";
  sm.opset = 13;
  sm.inputs = {oa};
  sm.outputs = {probs};
  graph::Attribute axis;
  axis.name = "axis";
  axis.kind = graph::Attribute::Kind::i;
  axis.i = -1;
  sm.attributes.push_back(axis);
  g->add_node(std::move(sm));
  g->add_output(probs);
  return g;
}

// The same network in plain loops (double accumulation).
std::vector<float> mlp_reference(const Graph& g, const std::vector<float>& x, int64_t batch) {
  auto data = [&](const char* name) { return g.value(g.find_value(name)).constant->view.data_as<const float>(); };
  const float *w1 = data("w1"), *b1 = data("b1"), *w2 = data("w2"), *b2 = data("b2");
  std::vector<float> out(static_cast<size_t>(batch * kOut));
  for (int64_t r = 0; r < batch; ++r) {
    std::vector<double> h(kHidden), o(kOut);
    for (int64_t j = 0; j < kHidden; ++j) {
      double s = b1[j];
      for (int64_t k = 0; k < kIn; ++k) s += double(x[static_cast<size_t>(r * kIn + k)]) * w1[k * kHidden + j];
      h[static_cast<size_t>(j)] = s > 0 ? s : 0;
    }
    double mx = -1e300;
    for (int64_t j = 0; j < kOut; ++j) {
      double s = b2[j];
      for (int64_t k = 0; k < kHidden; ++k) s += h[static_cast<size_t>(k)] * w2[k * kOut + j];
      o[static_cast<size_t>(j)] = s;
      mx = std::max(mx, s);
    }
    double sum = 0;
    for (double& v : o) sum += (v = std::exp(v - mx));
    for (int64_t j = 0; j < kOut; ++j) out[static_cast<size_t>(r * kOut + j)] = static_cast<float>(o[static_cast<size_t>(j)] / sum);
  }
  return out;
}

}  // namespace

TEST_CASE("a model built in code runs through Session and matches a plain-loop reference", "[api]") {
  auto model = Model::from_graph(mlp());
  REQUIRE(model.is_ok());
  CHECK((*model)->inputs()[0].dims == std::vector<int64_t>{-1, kIn});
  CHECK((*model)->inputs()[0].symbols[0] == "batch");
  auto session = Session::create(*model);
  REQUIRE(session.is_ok());
  for (int64_t batch : {1, 3, 17}) {
    const std::vector<float> x = random_floats(static_cast<size_t>(batch * kIn), 100 + static_cast<uint32_t>(batch));
    std::vector<Tensor> out;
    REQUIRE((*session)->run({TensorView(const_cast<float*>(x.data()), DType::f32, Shape{batch, kIn})}, out).is_ok());
    REQUIRE(out.size() == 1);
    REQUIRE(out[0].shape() == Shape{batch, kOut});
    const std::vector<float> want = mlp_reference((*model)->graph(), x, batch);
    for (size_t i = 0; i < want.size(); ++i) REQUIRE(out[0].data_as<float>()[i] == Approx(want[i]).margin(1e-5));
  }
  // At the default level (all) mm1 + add1 + relu run as one fused GEMM.
  CHECK((*session)->placement_report().find("mm1/fused\tFusedMatMulBias\tcpu") != std::string::npos);
}

TEST_CASE("sessions of one model run concurrently and share its compiled kernels", "[api][threads]") {
  auto model = Model::from_graph(mlp());
  REQUIRE(model.is_ok());
  constexpr int kThreads = 4;
  const std::vector<float> x = random_floats(8 * kIn, 7);
  const std::vector<float> want = mlp_reference((*model)->graph(), x, 8);
  std::atomic<int> mismatches{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      auto s = Session::create(*model);
      if (!s.is_ok()) {
        ++failures;
        return;
      }
      std::vector<float> y(8 * kOut);
      for (int it = 0; it < 50; ++it) {
        if (!(*s)->run_into({TensorView(const_cast<float*>(x.data()), DType::f32, Shape{8, kIn})},
                            {TensorView(y.data(), DType::f32, Shape{8, kOut})})
                 .is_ok())
          ++failures;
        for (size_t i = 0; i < y.size(); ++i)
          if (std::fabs(y[i] - want[i]) > 1e-5f) ++mismatches;
      }
    });
  for (auto& th : threads) th.join();
  CHECK(failures.load() == 0);
  CHECK(mismatches.load() == 0);
  // One compiled graph (kernels and packed weights) serves every session.
  auto a = (*model)->compiled({});
  auto b = (*model)->compiled({});
  REQUIRE(a.is_ok());
  CHECK(a->get() == b->get());
}

TEST_CASE("session errors name what is wrong", "[api]") {
  auto model = Model::from_graph(mlp());
  REQUIRE(model.is_ok());
  auto session = Session::create(*model);
  REQUIRE(session.is_ok());
  std::vector<float> x(2 * 63);
  std::vector<Tensor> out;
  CHECK((*session)->run({TensorView(x.data(), DType::f32, Shape{2, 63})}, out).message() ==
        "[session] input 'x' must have shape f32[batch, 64], got [2, 63]");
  SessionOptions bad;
  bad.backends = {"tpu"};
  CHECK(Session::create(*model, bad).status().message() ==
        "[backend] no backend named 'tpu' in this build (available: cpu)");
  CHECK(Model::load("/no/such/model.onnx").status().code() == StatusCode::not_found);
}
