// What profiling costs: the MiniLM-shaped encoder with and without a Profiler on the session,
// interleaved in one process so both see the same machine conditions.
//
//   obol-bench-econ --benchmark_filter='Profiling|Histogram|Counter'
//
// The model is build/models/minilm/model.onnx (tools/make_encoder.py) with its input_0.npy, or the
// file OBOL_BENCH_ENCODER names;
// without it, the same shape is built in code (6 layers, hidden 384, 12 heads, FFN 1536, 128 tokens,
// batch 1). Each iteration of BM_ProfilingOverhead runs `rounds` pairs (off, on) in alternating
// order and reports the medians and overhead_pct = (on / off - 1) * 100. BM_Histogram_record and
// BM_Counter_inc time the metric primitives themselves.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "demo/demo_models.hpp"
#include "obol/econ/metrics.hpp"
#include "obol/econ/profiler.hpp"
#include "obol/io/tensor_file.hpp"
#include "obol/obol.hpp"

namespace {

// OBOL_BENCH_ENCODER overrides the model (an ONNX file with input_0.npy next to it).
std::string model_path() {
  const char* env = std::getenv("OBOL_BENCH_ENCODER");
  return env && *env ? env : "build/models/minilm/model.onnx";
}

struct Encoder {
  std::shared_ptr<const obol::Model> model;
  std::vector<obol::Tensor> inputs;
  std::string source;
  std::string error;
};

Encoder& encoder() {
  static Encoder e = [] {
    Encoder r;
    if (std::filesystem::exists(model_path())) {
      auto m = obol::Model::load(model_path());
      auto in = obol::io::read_tensor_file((std::filesystem::path(model_path()).parent_path() / "input_0.npy").string());
      if (m.is_ok() && in.is_ok()) {
        r.model = *m;
        r.inputs.push_back(std::move(in->tensor));
        r.source = model_path();
        return r;
      }
    }
    obol::demo::EncoderSpec s;
    s.layers = 6, s.hidden = 384, s.heads = 12, s.ffn = 1536, s.seq = 128, s.classes = 2;
    auto m = obol::Model::from_graph(obol::demo::build_encoder_classifier(s));
    if (!m.is_ok()) {
      r.error = m.status().message();
      return r;
    }
    r.model = *m;
    auto t = obol::Tensor::empty(obol::DType::f32, obol::Shape{1, 128, 384});
    std::mt19937 rng(1);
    std::normal_distribution<float> nd;
    for (int64_t i = 0; i < t->numel(); ++i) t->data_as<float>()[i] = nd(rng);
    r.inputs.push_back(std::move(*t));
    r.source = "built in code (MiniLM-L6 shape)";
    return r;
  }();
  return e;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

void BM_ProfilingOverhead(benchmark::State& state) {
  Encoder& e = encoder();
  if (!e.model) {
    state.SkipWithError(e.error.c_str());
    return;
  }
  auto plain = obol::Session::create(e.model);
  auto profiled = obol::Session::create(e.model);
  if (!plain.is_ok() || !profiled.is_ok()) {
    state.SkipWithError("session creation failed");
    return;
  }
  obol::econ::ProfilerOptions po;
  po.trace = state.range(0) != 0;
  (*profiled)->enable_profiling(po);
  std::vector<obol::TensorView> in;
  for (const obol::Tensor& t : e.inputs) in.push_back(t.view());
  std::vector<obol::Tensor> out;
  (void)(*plain)->run(in, out);
  (void)(*profiled)->run(in, out);
  const int rounds = 6;
  std::vector<double> off, on;
  for (auto _ : state) {
    for (int r = 0; r < rounds; ++r) {
      // Alternate which goes first so drift (turbo, other load) hits both alike.
      for (int k = 0; k < 2; ++k) {
        const bool profile = (r + k) % 2 == 1;
        obol::Session& s = profile ? **profiled : **plain;
        const uint64_t t0 = obol::now_ns();
        if (!s.run(in, out).is_ok()) {
          state.SkipWithError("run failed");
          return;
        }
        (profile ? on : off).push_back(static_cast<double>(obol::now_ns() - t0) * 1e-6);
      }
    }
    if (po.trace) (*profiled)->profiler()->reset();  // keep the trace buffer from growing without bound
  }
  const double m_off = median(off), m_on = median(on);
  state.counters["off_ms"] = m_off;
  state.counters["on_ms"] = m_on;
  state.counters["overhead_pct"] = m_off > 0 ? (m_on / m_off - 1.0) * 100.0 : 0.0;
  state.counters["nodes"] = static_cast<double>((*plain)->placement().size());
  state.SetLabel(e.source);
}
BENCHMARK(BM_ProfilingOverhead)->ArgName("trace")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_Histogram_record(benchmark::State& state) {
  obol::econ::Histogram h(obol::econ::Histogram::latency_bounds());
  double v = 1e-4;
  for (auto _ : state) {
    h.record(v);
    v = v * 1.0001 + 1e-9;
    if (v > 10) v = 1e-4;
  }
  benchmark::DoNotOptimize(h.snapshot().count);
}
BENCHMARK(BM_Histogram_record)->ThreadRange(1, 2);

void BM_Counter_inc(benchmark::State& state) {
  static obol::econ::Counter c;
  for (auto _ : state) c.inc();
  benchmark::DoNotOptimize(c.value());
}
BENCHMARK(BM_Counter_inc)->ThreadRange(1, 2);

}  // namespace
