// The cost levers: what a cache hit costs, and what the dynamic batcher does to throughput and tail
// latency at concurrency 32 against unbatched sessions, on a MiniLM-shaped encoder built in code
// (6 layers, hidden 384, 12 heads, FFN 1536, random fixed-seed weights, a symbolic batch dim).
//
//   obol-bench-levers --benchmark_filter=cache     # hit latency
//   obol-bench-levers --benchmark_filter=serve     # batcher vs unbatched, seq 16 and 128
//
// serve/*/small:1 rows use a small encoder (2 layers, hidden 128, 4 heads, FFN 512) whose requests
// are too small to keep two cores busy alone: the case batching exists for.
//
// serve/* rows run a closed loop: 32 client threads, each sending its next request when the last
// one returns, for a fixed number of requests; counters: qps, p50_ms, p99_ms, and for the batcher
// the mean rows per batch it formed. Modes:
//   sessions32  every client owns a Session and runs it itself (the naive server)
//   pool2       the batcher with max_batch 1 and 2 workers: two sessions, one request each at a time
//   batch/W     the batcher with max_batch 32, max_delay 2 ms, W workers
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>

#include "obol/econ/batcher.hpp"
#include "obol/econ/cache.hpp"
#include "obol/obol.hpp"

namespace {

using namespace obol;
using Clock = std::chrono::steady_clock;

// ---- a MiniLM-shaped encoder with a symbolic batch dim ----------------------------------------

struct EncoderBuilder {
  std::shared_ptr<graph::Graph> g = std::make_shared<graph::Graph>();
  std::mt19937 rng{42};
  int count = 0;

  std::string name(const char* base) { return std::string(base) + "_" + std::to_string(++count); }

  template <class T>
  graph::ValueId constant(const char* base, std::vector<T> data, const Shape& shape) {
    auto owner = std::make_shared<std::vector<T>>(std::move(data));
    auto c = std::make_shared<graph::ConstantData>();
    c->view = TensorView(owner->data(), dtype_of_v<T>, shape);
    c->owner = owner;
    const graph::ValueId v = g->add_value(name(base), graph::ValueType::tensor(dtype_of_v<T>, shape));
    g->value(v).constant = c;
    return v;
  }
  graph::ValueId weight(int64_t rows, int64_t cols) {
    std::normal_distribution<float> nd(0.0f, 0.02f);
    std::vector<float> w(static_cast<size_t>(rows * cols));
    for (float& x : w) x = nd(rng);
    return constant<float>("w", std::move(w), Shape{rows, cols});
  }
  graph::ValueId filled(int64_t n, float v) { return constant<float>("c", std::vector<float>(static_cast<size_t>(n), v), Shape{n}); }
  graph::ValueId scalar(float v) { return constant<float>("s", {v}, Shape{}); }

  graph::ValueId op(graph::OpKind kind, std::vector<graph::ValueId> in, std::vector<graph::Attribute> attrs = {}) {
    graph::Node n;
    n.op = kind;
    n.name = name("node");
    n.opset = 17;
    n.inputs = std::move(in);
    n.attributes = std::move(attrs);
    const graph::ValueId out = g->add_value(name("v"));
    n.outputs = {out};
    g->add_node(std::move(n));
    return out;
  }
  static graph::Attribute ints(const char* n, std::vector<int64_t> v) { return graph::attr_ints(n, std::move(v)); }
  static graph::Attribute integer(const char* n, int64_t v) { return graph::attr_int(n, v); }
  graph::ValueId linear(graph::ValueId x, int64_t in, int64_t out) {
    return op(graph::OpKind::Add, {op(graph::OpKind::MatMul, {x, weight(in, out)}), filled(out, 0.01f)});
  }
  graph::ValueId layer_norm(graph::ValueId x, int64_t h) {
    return op(graph::OpKind::LayerNormalization, {x, filled(h, 1.0f), filled(h, 0.0f)}, {integer("axis", -1)});
  }
};

std::shared_ptr<const Model> make_encoder(int64_t seq, int layers = 6, int64_t H = 384, int64_t nh = 12,
                                          int64_t ffn = 1536) {
  EncoderBuilder b;
  using graph::OpKind;
  graph::ValueType xt;
  xt.dtype = DType::f32;
  xt.rank_known = true;
  xt.dims = {graph::Dim::named("batch"), graph::Dim::known(seq), graph::Dim::known(H)};
  graph::ValueId x = b.g->add_value("input", xt);
  b.g->add_input(x);
  const int64_t dh = H / nh;
  const graph::ValueId heads = b.constant<int64_t>("heads_shape", {0, seq, nh, dh}, Shape{4});
  const graph::ValueId merged = b.constant<int64_t>("merged_shape", {0, seq, H}, Shape{3});
  const graph::ValueId scale = b.scalar(std::sqrt(static_cast<float>(dh)));
  for (int l = 0; l < layers; ++l) {
    auto split = [&](std::vector<int64_t> perm) {
      return b.op(OpKind::Transpose, {b.op(OpKind::Reshape, {b.linear(x, H, H), heads})}, {EncoderBuilder::ints("perm", perm)});
    };
    const graph::ValueId q = split({0, 2, 1, 3}), k = split({0, 2, 3, 1}), v = split({0, 2, 1, 3});
    const graph::ValueId scores = b.op(OpKind::Div, {b.op(OpKind::MatMul, {q, k}), scale});
    graph::ValueId ctx = b.op(OpKind::MatMul, {b.op(OpKind::Softmax, {scores}, {EncoderBuilder::integer("axis", -1)}), v});
    ctx = b.op(OpKind::Reshape, {b.op(OpKind::Transpose, {ctx}, {EncoderBuilder::ints("perm", {0, 2, 1, 3})}), merged});
    x = b.layer_norm(b.op(OpKind::Add, {b.linear(ctx, H, H), x}), H);
    graph::ValueId h = b.linear(x, H, ffn);
    const graph::ValueId e = b.op(OpKind::Erf, {b.op(OpKind::Div, {h, b.scalar(std::sqrt(2.0f))})});
    h = b.op(OpKind::Mul, {b.op(OpKind::Mul, {h, b.op(OpKind::Add, {e, b.scalar(1.0f)})}), b.scalar(0.5f)});
    x = b.layer_norm(b.op(OpKind::Add, {b.linear(h, ffn, H), x}), H);
  }
  b.g->value(x).name = "last_hidden_state";
  b.g->add_output(x);
  auto m = Model::from_graph(b.g);
  if (!m.is_ok()) {
    std::fprintf(stderr, "bench_levers: encoder: %s\n", m.status().to_string().c_str());
    return nullptr;
  }
  return *m;
}

Tensor random_input(int64_t rows, int64_t seq, int64_t H, uint32_t seed) {
  Tensor t = std::move(Tensor::empty(DType::f32, Shape{rows, seq, H})).value();
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  for (int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = nd(rng);
  return t;
}

// ---- cache hit latency ------------------------------------------------------------------------

// A typical small request: 1 KiB in (256 floats), a 384-float embedding out.
std::shared_ptr<const Model> make_pooler() {
  EncoderBuilder b;
  graph::ValueType xt;
  xt.dtype = DType::f32;
  xt.rank_known = true;
  xt.dims = {graph::Dim::named("batch"), graph::Dim::known(256)};
  const graph::ValueId x = b.g->add_value("x", xt);
  b.g->add_input(x);
  const graph::ValueId y = b.op(graph::OpKind::MatMul, {x, b.weight(256, 384)});
  b.g->add_output(y);
  return *Model::from_graph(b.g);
}

void cache_hit(benchmark::State& state) {
  const bool copy_out = state.range(0) != 0;
  auto model = make_pooler();
  auto cache = std::make_shared<econ::Cache>(econ::CacheOptions{});
  auto cs = std::move(econ::CachedSession::create(model, cache)).value();
  Tensor x = random_input(1, 1, 256, 1);
  const TensorView xv = std::move(x.view().reshaped(Shape{1, 256})).value();
  std::vector<Tensor> out;
  bool hit = false;
  if (!cs->run({xv}, out, &hit).is_ok()) state.SkipWithError("run failed");
  for (auto _ : state) {
    if (copy_out) {
      benchmark::DoNotOptimize(cs->run({xv}, out, &hit));
    } else {
      auto v = cs->run_shared({xv}, &hit);
      benchmark::DoNotOptimize(v);
    }
  }
  if (!hit) state.SkipWithError("not a hit");
  state.SetLabel(copy_out ? "run (copies the 1.5 KiB output)" : "run_shared (shared value)");
}
BENCHMARK(cache_hit)->Name("cache/hit")->Arg(0)->Arg(1);

// Key + lookup only, several threads, 16 shards vs one mutex.
void cache_get(benchmark::State& state) {
  static std::shared_ptr<econ::Cache> cache;
  static std::vector<Tensor> inputs;
  if (state.thread_index() == 0) {
    econ::CacheOptions o;
    o.shards = static_cast<int>(state.range(0));
    cache = std::make_shared<econ::Cache>(o);
    inputs.clear();
    for (int i = 0; i < 1024; ++i) {
      inputs.push_back(random_input(1, 1, 256, static_cast<uint32_t>(i)));
      std::vector<Tensor> out;
      out.push_back(random_input(1, 1, 384, 7));
      cache->put(econ::make_cache_key("m", "", {inputs.back().view()}), std::move(out));
    }
  }
  size_t i = static_cast<size_t>(state.thread_index()) * 97;
  for (auto _ : state) {
    const TensorView v = inputs[i++ & 1023].view();
    benchmark::DoNotOptimize(cache->get(econ::make_cache_key("m", "", {v})));
  }
  if (state.thread_index() == 0) state.counters["hits"] = static_cast<double>(cache->stats().hits);
}
BENCHMARK(cache_get)->Name("cache/get_shards")->Arg(1)->Arg(16)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

// A semantic-tier lookup that misses the exact tier: embed (here: the input itself, 384 floats) and
// scan N normalised embeddings brute force.
void cache_semantic(benchmark::State& state) {
  const int64_t n = state.range(0), dim = 384;
  econ::CacheOptions o;
  o.max_bytes = size_t{1} << 30;
  o.semantic.max_entries = static_cast<size_t>(n);
  o.semantic.embed = [](const std::vector<TensorView>& in) -> Result<std::vector<float>> {
    const float* p = in.at(0).data_as<const float>();
    return std::vector<float>(p, p + in[0].numel());
  };
  econ::Cache cache(o);
  Tensor x = random_input(1, 1, dim, 3);
  float* xp = x.data_as<float>();
  std::mt19937 rng(5);
  std::normal_distribution<float> nd;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < dim; ++j) xp[j] = nd(rng);
    std::vector<Tensor> out;
    out.push_back(random_input(1, 1, 1, 1));
    const TensorView v = std::move(x.view().reshaped(Shape{1, dim})).value();
    cache.put(econ::make_cache_key("m", "", {v}), std::move(out), {}, {v});
  }
  for (int64_t j = 0; j < dim; ++j) xp[j] = nd(rng);
  const TensorView q = std::move(x.view().reshaped(Shape{1, dim})).value();
  const econ::CacheKey key = econ::make_cache_key("m", "", {q});
  for (auto _ : state) benchmark::DoNotOptimize(cache.lookup(key, {q}));
  state.counters["entries"] = static_cast<double>(cache.stats().semantic_entries);
  state.counters["scan_bytes_per_s"] = benchmark::Counter(static_cast<double>(n * dim * 4), benchmark::Counter::kIsIterationInvariantRate,
                                              benchmark::Counter::kIs1000);
}
BENCHMARK(cache_semantic)->Name("cache/semantic_miss")->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

// ---- serving at concurrency 32 ------------------------------------------------------------------

constexpr int kClients = 32;

struct ServeResult {
  double seconds = 0;
  std::vector<double> latencies_ms;
  double mean_batch = 0;
  int errors = 0;
};

template <class Fn>
ServeResult closed_loop(int requests_per_client, Fn&& call) {
  ServeResult r;
  std::vector<std::vector<double>> lat(kClients);
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  const auto t0 = Clock::now();
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      for (int i = 0; i < requests_per_client; ++i) {
        const auto s = Clock::now();
        if (!call(c)) errors.fetch_add(1);
        lat[static_cast<size_t>(c)].push_back(std::chrono::duration<double, std::milli>(Clock::now() - s).count());
      }
    });
  }
  for (auto& t : threads) t.join();
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  for (auto& l : lat) r.latencies_ms.insert(r.latencies_ms.end(), l.begin(), l.end());
  r.errors = errors.load();
  return r;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}

// range(0): seq; range(1): mode (0 sessions32, 1 pool2, 2 batch/1 worker, 3 batch/2 workers);
// range(2): 0 = the MiniLM shape, 1 = a small encoder (2 layers, hidden 128, 4 heads, FFN 512).
void serve(benchmark::State& state) {
  const int64_t seq = state.range(0);
  const int mode = static_cast<int>(state.range(1));
  const bool small = state.range(2) != 0;
  const int64_t H = small ? 128 : 384;
  const int per_client = small ? 150 : (seq <= 16 ? 24 : 3);
  auto model = small ? make_encoder(seq, 2, 128, 4, 512) : make_encoder(seq);
  if (!model) return state.SkipWithError("encoder failed to build");
  std::vector<Tensor> inputs;
  for (int c = 0; c < kClients; ++c) inputs.push_back(random_input(1, seq, H, static_cast<uint32_t>(c)));

  for (auto _ : state) {
    ServeResult r;
    if (mode == 0) {
      std::vector<std::unique_ptr<Session>> sessions;
      for (int c = 0; c < kClients; ++c) sessions.push_back(std::move(Session::create(model)).value());
      for (int c = 0; c < kClients; ++c) {  // warm-up: plan each session's arena
        std::vector<Tensor> out;
        (void)sessions[static_cast<size_t>(c)]->run({inputs[static_cast<size_t>(c)].view()}, out);
      }
      r = closed_loop(per_client, [&](int c) {
        std::vector<Tensor> out;
        return sessions[static_cast<size_t>(c)]->run({inputs[static_cast<size_t>(c)].view()}, out).is_ok();
      });
    } else {
      econ::BatcherOptions o;
      o.max_batch = mode == 1 ? 1 : 32;
      o.workers = mode == 2 ? 1 : 2;
      o.max_delay = std::chrono::microseconds(2000);
      auto batcher = std::move(econ::Batcher::create(model, o)).value();
      (void)batcher->submit({inputs[0].view()});  // warm-up
      r = closed_loop(per_client, [&](int c) { return batcher->submit({inputs[static_cast<size_t>(c)].view()}).is_ok(); });
      const econ::BatcherStats s = batcher->stats();
      r.mean_batch = s.mean_batch_rows();
    }
    state.SetIterationTime(r.seconds);
    if (r.errors) state.SkipWithError("requests failed");
    const double n = static_cast<double>(r.latencies_ms.size());
    state.counters["qps"] = n / r.seconds;
    state.counters["p50_ms"] = percentile(r.latencies_ms, 0.50);
    state.counters["p99_ms"] = percentile(r.latencies_ms, 0.99);
    if (mode != 0) state.counters["mean_batch"] = r.mean_batch;
  }
  static const char* kModes[] = {"sessions32", "pool2", "batch/1worker", "batch/2workers"};
  state.SetLabel(std::string(small ? "small-encoder " : "minilm ") + kModes[mode]);
}
BENCHMARK(serve)
    ->Name("serve")
    ->ArgsProduct({{16, 128}, {0, 1, 2, 3}, {0}})
    ->Args({16, 0, 1})
    ->Args({16, 1, 1})
    ->Args({16, 2, 1})
    ->Args({16, 3, 1})
    ->Args({1, 0, 1})
    ->Args({1, 1, 1})
    ->Args({1, 2, 1})
    ->Args({1, 3, 1})
    ->ArgNames({"seq", "mode", "small"})
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
