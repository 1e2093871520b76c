// The profiler on real runs: per-op shares, one trace event per executed node, request latencies,
// and the Prometheus export of a profiled session.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "obol/econ/profiler.hpp"
#include "obol/obol.hpp"

using namespace obol;
using graph::Dim;
using graph::Graph;
using graph::Node;
using graph::OpKind;
using graph::ValueId;
using graph::ValueType;

namespace {

ValueId add_const(Graph& g, const std::string& name, size_t n, const Shape& shape, uint32_t seed) {
  auto owner = std::make_shared<std::vector<float>>(n);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-0.5f, 0.5f);
  for (float& x : *owner) x = d(rng);
  auto c = std::make_shared<graph::ConstantData>();
  c->view = TensorView(owner->data(), DType::f32, shape);
  c->owner = owner;
  const ValueId v = g.add_value(name, ValueType::tensor(DType::f32, shape));
  g.value(v).constant = c;
  return v;
}

void add_node(Graph& g, OpKind op, const std::string& name, std::vector<ValueId> in, std::vector<ValueId> out) {
  Node n;
  n.op = op;
  n.name = name;
  n.opset = 13;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  g.add_node(std::move(n));
}

// y = tanh(relu(x W1) W2) + x W3, x: f32[batch, 32]
std::shared_ptr<Graph> small_net() {
  auto g = std::make_shared<Graph>();
  ValueType xt;
  xt.dtype = DType::f32;
  xt.rank_known = true;
  xt.dims = {Dim::named("batch"), Dim::known(32)};
  const ValueId x = g->add_value("x", xt);
  g->add_input(x);
  const ValueId w1 = add_const(*g, "w1", 32 * 64, Shape{32, 64}, 1);
  const ValueId w2 = add_const(*g, "w2", 64 * 16, Shape{64, 16}, 2);
  const ValueId w3 = add_const(*g, "w3", 32 * 16, Shape{32, 16}, 3);
  const ValueId h = g->add_value("h"), hr = g->add_value("hr"), o = g->add_value("o"), ot = g->add_value("ot");
  const ValueId s = g->add_value("s"), y = g->add_value("y");
  add_node(*g, OpKind::MatMul, "mm1", {x, w1}, {h});
  add_node(*g, OpKind::Relu, "relu", {h}, {hr});
  add_node(*g, OpKind::MatMul, "mm2", {hr, w2}, {o});
  add_node(*g, OpKind::Tanh, "tanh", {o}, {ot});
  add_node(*g, OpKind::MatMul, "mm3", {x, w3}, {s});
  add_node(*g, OpKind::Add, "add", {ot, s}, {y});
  g->add_output(y);
  return g;
}

struct Fixture {
  std::shared_ptr<const Model> model;
  std::unique_ptr<Session> session;
  std::vector<float> x = std::vector<float>(4 * 32, 0.25f);
  TensorView xv{x.data(), DType::f32, Shape{4, 32}};

  Fixture() {
    // No graph passes: each node of small_net() is one step, whatever the fusion passes do.
    ModelOptions mo;
    mo.opt_level = OptLevel::none;
    auto m = Model::from_graph(small_net(), mo);
    REQUIRE(m.is_ok());
    model = *m;
    auto s = Session::create(model);
    REQUIRE(s.is_ok());
    session = std::move(*s);
  }
  size_t steps() const { return session->placement().size(); }
};

}  // namespace

TEST_CASE("a profiled session reports per-op times whose shares sum to one", "[profiler]") {
  Fixture f;
  econ::Profiler& prof = f.session->enable_profiling();
  constexpr int kRuns = 5;
  std::vector<Tensor> out;
  for (int r = 0; r < kRuns; ++r) REQUIRE(f.session->run({f.xv}, out).is_ok());
  CHECK(prof.runs() == kRuns);

  const std::vector<econ::OpStat> ops = prof.op_stats();
  REQUIRE_FALSE(ops.empty());
  double share = 0;
  uint64_t calls = 0;
  for (const econ::OpStat& o : ops) {
    share += o.share;
    calls += o.calls;
    CHECK(o.total_ms >= 0);
  }
  CHECK(share == Approx(1.0).epsilon(1e-9));
  CHECK(calls == kRuns * f.steps());
  // Each executed node's count matches the placement (what the compiled graph runs).
  std::map<std::string, uint64_t> want_calls;
  for (const graph::NodePlacement& p : f.session->placement())
    want_calls[std::string(graph::op_info(f.model->graph().node(p.node).op).op_type)] += kRuns;
  for (const econ::OpStat& o : ops) CHECK(o.calls == want_calls[o.op]);

  const std::vector<econ::NodeStat> nodes = prof.node_stats();
  CHECK(nodes.size() == f.steps());
  double node_share = 0;
  for (const econ::NodeStat& n : nodes) node_share += n.share;
  CHECK(node_share == Approx(1.0).epsilon(1e-9));
  CHECK(prof.op_table().find("share") != std::string::npos);

  const econ::HistogramSnapshot lat = prof.latency();
  CHECK(lat.count == kRuns);
  CHECK(lat.max >= lat.quantile(0.5));
  CHECK(lat.sum > 0);
}

TEST_CASE("the Chrome trace is valid JSON with one complete event per executed node", "[profiler]") {
  Fixture f;
  econ::Profiler& prof = f.session->enable_profiling();
  constexpr int kRuns = 3;
  std::vector<Tensor> out;
  for (int r = 0; r < kRuns; ++r) REQUIRE(f.session->run({f.xv}, out).is_ok());
  const nlohmann::json j = nlohmann::json::parse(prof.chrome_trace_json());
  REQUIRE(j.contains("traceEvents"));
  size_t op_events = 0, request_events = 0;
  std::set<std::string> names;
  for (const auto& e : j["traceEvents"]) {
    if (e["ph"] == "M") continue;
    CHECK(e["ph"] == "X");
    CHECK(e["ts"].is_number());
    CHECK(e["dur"].is_number());
    CHECK(e["dur"].get<double>() >= 0);
    CHECK(e["pid"] == 1);
    CHECK(e["tid"].is_number_integer());
    if (e["cat"] == "op") {
      ++op_events;
      names.insert(e["name"].get<std::string>());
      CHECK(e["args"]["op"].is_string());
    } else if (e["cat"] == "request") {
      ++request_events;
    }
  }
  CHECK(op_events == kRuns * f.steps());
  CHECK(request_events == kRuns);
  CHECK(names.size() == f.steps());
  CHECK(prof.dropped_trace_events() == 0);

  const std::string path = "obol-test-trace.json";
  REQUIRE(prof.write_chrome_trace(path).is_ok());
  std::ifstream in(path);
  CHECK(nlohmann::json::parse(in)["traceEvents"].size() == j["traceEvents"].size());
  std::remove(path.c_str());
  CHECK_FALSE(prof.write_chrome_trace("/no/such/dir/trace.json").is_ok());
}

TEST_CASE("trace events beyond the cap are dropped and counted", "[profiler]") {
  Fixture f;
  econ::ProfilerOptions opt;
  opt.max_trace_events = 4;
  econ::Profiler& prof = f.session->enable_profiling(opt);
  std::vector<Tensor> out;
  REQUIRE(f.session->run({f.xv}, out).is_ok());
  const nlohmann::json j = nlohmann::json::parse(prof.chrome_trace_json());
  size_t events = 0;
  for (const auto& e : j["traceEvents"])
    if (e["ph"] == "X") ++events;
  CHECK(events == 4);
  CHECK(prof.dropped_trace_events() == f.steps() + 1 - 4);  // the nodes and the request, minus four kept
}

TEST_CASE("one profiler shared by sessions on several threads counts every run", "[profiler]") {
  Fixture f;
  auto prof = std::make_shared<econ::Profiler>();
  std::vector<std::thread> threads;
  constexpr int kThreads = 3, kRuns = 20;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      auto s = Session::create(f.model);
      if (!s.is_ok()) return;
      (*s)->set_profiler(prof);
      std::vector<Tensor> out;
      for (int r = 0; r < kRuns; ++r) (void)(*s)->run({f.xv}, out);
    });
  for (auto& t : threads) t.join();
  CHECK(prof->runs() == kThreads * kRuns);
  CHECK(prof->latency().count == kThreads * kRuns);
  uint64_t calls = 0;
  for (const econ::OpStat& o : prof->op_stats()) calls += o.calls;
  CHECK(calls == kThreads * kRuns * f.steps());
}

TEST_CASE("a profiled session exports per-op counters and latency to Prometheus", "[profiler]") {
  Fixture f;
  econ::Profiler& prof = f.session->enable_profiling();
  std::vector<Tensor> out;
  for (int r = 0; r < 4; ++r) REQUIRE(f.session->run({f.xv}, out).is_ok());
  // A failing run (wrong input shape) is counted as an error.
  std::vector<float> bad(7);
  CHECK_FALSE(f.session->run({TensorView(bad.data(), DType::f32, Shape{7})}, out).is_ok());
  const std::string text = prof.prometheus_text();
  const std::vector<econ::OpStat> ops = prof.op_stats();
  REQUIRE_FALSE(ops.empty());
  const std::string top_op = ops.front().op;
  CHECK(text.find("# TYPE obol_op_seconds_total counter") != std::string::npos);
  CHECK(text.find("obol_op_calls_total{op=\"" + top_op + "\"} " + std::to_string(ops.front().calls) + "\n") !=
        std::string::npos);
  CHECK(text.find("obol_request_latency_seconds_count 5") != std::string::npos);
  CHECK(text.find("obol_request_latency_seconds_bucket{le=\"+Inf\"} 5") != std::string::npos);
  CHECK(text.find("obol_requests_total 5") != std::string::npos);
  CHECK(text.find("obol_request_errors_total 1") != std::string::npos);
  CHECK(text.find("obol_process_peak_rss_bytes") != std::string::npos);
  double arena = -1;
  REQUIRE(prof.metrics().value("obol_arena_bytes", {}, &arena));
  CHECK(arena == static_cast<double>(f.session->stats().arena_bytes));

  // Counters stay monotone across a reset() and later exports.
  double before = 0, after = 0;
  REQUIRE(prof.metrics().value("obol_op_calls_total", {{"op", top_op}}, &before));
  prof.reset();
  CHECK(prof.op_stats().empty());
  REQUIRE(f.session->run({f.xv}, out).is_ok());
  (void)prof.prometheus_text();
  REQUIRE(prof.metrics().value("obol_op_calls_total", {{"op", top_op}}, &after));
  CHECK(after > before);
}

TEST_CASE("runs without a profiler record nothing and disable_profiling stops recording", "[profiler]") {
  Fixture f;
  CHECK(f.session->profiler() == nullptr);
  auto prof = std::make_shared<econ::Profiler>();
  f.session->set_profiler(prof);
  std::vector<Tensor> out;
  REQUIRE(f.session->run({f.xv}, out).is_ok());
  f.session->disable_profiling();
  REQUIRE(f.session->run({f.xv}, out).is_ok());
  CHECK(prof->runs() == 1);
  CHECK(prof->latency().count == 1);
}
