// `obol bench MODEL`: what a query costs. Latency percentiles (from a log-bucket histogram),
// throughput, memory, cost per 1,000 queries and quality against fp32, one row per variant.
//
// Queries are rows: a request carries --batch rows, and QPS counts rows per second, so numbers with
// and without the batcher compare directly. Each client thread sends requests back to back (closed
// loop) through its own Session, or through one shared Batcher, optionally behind the exact Cache.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/bench.hpp"
#include "cli/bench_variants.hpp"
#include "cli/commands.hpp"
#include "obol/core/parallel.hpp"
#include "obol/core/platform.hpp"
#include "obol/kernels/cpu.hpp"
#include "obol/obol.hpp"

namespace obol {
inline namespace v1 {
namespace cli {

namespace {

namespace fs = std::filesystem;

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// One request's inputs, generated with a fixed seed.
Result<std::vector<Tensor>> make_request_inputs(const Model& model, const BenchConfig& cfg, uint64_t seed) {
  std::vector<Tensor> out;
  std::mt19937_64 rng(seed);
  for (const TensorInfo& in : model.inputs()) {
    OBOL_CHECK_OR_RETURN(in.rank_known, unsupported, "bench", "input '", in.name, "' has no known rank");
    std::vector<int64_t> dims;
    for (size_t d = 0; d < in.dims.size(); ++d) {
      int64_t v = in.dims[d];
      if (v < 0) {
        const std::string& sym = d < in.symbols.size() ? in.symbols[d] : std::string();
        auto it = sym.empty() ? cfg.dims.end() : cfg.dims.find(sym);
        if (it != cfg.dims.end()) v = it->second;
        else if (d == 0) v = cfg.batch;
        else
          return make_status(StatusCode::invalid_argument, "bench", "input '", in.name, "' dimension ", d,
                             sym.empty() ? std::string() : " ('" + sym + "')", " has no size: pass --dim ",
                             sym.empty() ? std::string("NAME") : sym, "=N");
      }
      dims.push_back(v);
    }
    OBOL_ASSIGN_OR_RETURN(const Shape shape, Shape::make(dims.data(), dims.size()));
    OBOL_ASSIGN_OR_RETURN(Tensor t, Tensor::empty(in.dtype, shape));
    const int64_t n = t.numel();
    switch (in.dtype) {
      case DType::f32: {
        std::normal_distribution<float> nd(0.0f, 1.0f);
        for (int64_t i = 0; i < n; ++i) t.data_as<float>()[i] = nd(rng);
        break;
      }
      case DType::i64:
        for (int64_t i = 0; i < n; ++i) t.data_as<int64_t>()[i] = static_cast<int64_t>(rng() % 100);
        break;
      case DType::i32:
        for (int64_t i = 0; i < n; ++i) t.data_as<int32_t>()[i] = static_cast<int32_t>(rng() % 100);
        break;
      case DType::boolean:
      case DType::u8:
      case DType::i8:
        for (int64_t i = 0; i < n; ++i) t.data_as<uint8_t>()[i] = static_cast<uint8_t>(rng() % 2);
        break;
      default:
        return make_status(StatusCode::unsupported, "bench", "input '", in.name, "' has dtype ", dtype_name(in.dtype),
                           "; bench generates f32, i64, i32, i8, u8 and bool inputs");
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<TensorView> views_of(const std::vector<Tensor>& ts) {
  std::vector<TensorView> v;
  for (const Tensor& t : ts) v.push_back(t.view());
  return v;
}

// Cosine of all f32 outputs flattened together, and rows (argmax over the last axis of the first
// f32 output) that agree.
struct Agreement {
  double cosine = 0;
  uint64_t rows = 0, agree = 0;
};
Agreement compare_outputs(const std::vector<Tensor>& ref, const std::vector<Tensor>& got) {
  Agreement a;
  double dot = 0, nr = 0, ng = 0;
  bool first = true;
  for (size_t k = 0; k < ref.size() && k < got.size(); ++k) {
    if (ref[k].dtype() != DType::f32 || got[k].dtype() != DType::f32 || ref[k].numel() != got[k].numel()) continue;
    const float* r = ref[k].data_as<const float>();
    const float* g = got[k].data_as<const float>();
    const int64_t n = ref[k].numel();
    for (int64_t i = 0; i < n; ++i) {
      dot += double(r[i]) * g[i];
      nr += double(r[i]) * r[i];
      ng += double(g[i]) * g[i];
    }
    if (first && ref[k].shape().rank() >= 1 && n > 0) {
      first = false;
      const int64_t cols = ref[k].shape()[ref[k].shape().rank() - 1];
      for (int64_t row = 0; cols > 0 && row < n / cols; ++row) {
        const float* rr = r + row * cols;
        const float* gg = g + row * cols;
        a.agree += (std::max_element(rr, rr + cols) - rr) == (std::max_element(gg, gg + cols) - gg);
        ++a.rows;
      }
    }
  }
  a.cosine = (nr == 0 && ng == 0) ? 1.0 : (nr > 0 && ng > 0 ? dot / std::sqrt(nr * ng) : 0.0);
  return a;
}

// A progress bar on stderr, redrawn every 100 ms on a terminal; one line at the end otherwise. It
// also samples the resident set size, so the variant's memory peak is seen while it runs.
class Progress {
 public:
  Progress(bool enabled, std::string label, uint64_t total, double seconds, uint64_t rows_per_request,
           std::atomic<uint64_t>& done)
      : enabled_(enabled), tty_(isatty(2) != 0), label_(std::move(label)), total_(total), seconds_(seconds),
        rows_(rows_per_request), done_(done), t0_(std::chrono::steady_clock::now()) {
    peak_rss_ = econ::process_rss_bytes();
    thread_ = std::thread([this] { loop(); });
  }
  ~Progress() { stop(); }
  void stop() {
    {
      std::lock_guard<std::mutex> lock(m_);
      if (stopped_) return;
      stopped_ = true;
    }
    cv_.notify_all();
    thread_.join();
    sample();
    if (enabled_) draw(true);
  }
  uint64_t peak_rss() const { return peak_rss_; }

 private:
  void sample() { peak_rss_ = std::max(peak_rss_, econ::process_rss_bytes()); }
  void loop() {
    std::unique_lock<std::mutex> lock(m_);
    while (!stopped_) {
      cv_.wait_for(lock, std::chrono::milliseconds(100));
      if (stopped_) break;
      sample();
      if (enabled_ && tty_) draw(false);
    }
  }
  void draw(bool final) {
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    const uint64_t d = done_.load();
    double frac = total_ ? double(d) / double(total_) : (seconds_ > 0 ? el / seconds_ : 0);
    frac = std::clamp(frac, 0.0, 1.0);
    if (final) frac = 1.0;
    constexpr int kWidth = 30;
    const int fill = static_cast<int>(frac * kWidth + 0.5);
    std::string bar(static_cast<size_t>(fill), '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "%s  %-22s [%s] %7llu req  %8.1f q/s  %5.1fs%s", tty_ ? "\r" : "", label_.c_str(), bar.c_str(),
                 static_cast<unsigned long long>(d), el > 0 ? double(d * rows_) / el : 0.0, el, final ? "\n" : "");
    std::fflush(stderr);
  }

  bool enabled_, tty_;
  std::string label_;
  uint64_t total_;
  double seconds_;
  uint64_t rows_;
  std::atomic<uint64_t>& done_;
  std::chrono::steady_clock::time_point t0_;
  uint64_t peak_rss_ = 0;
  std::mutex m_;
  std::condition_variable cv_;
  bool stopped_ = false;
  std::thread thread_;
};

std::string mode_name(const BenchConfig& cfg) {
  if (cfg.batcher && cfg.cache) return "batcher+cache";
  if (cfg.batcher) return "batcher";
  if (cfg.cache) return "cache";
  return "session";
}

// Times one prepared variant.
Status time_variant(const BenchConfig& cfg, PreparedVariant& pv, const std::vector<std::vector<Tensor>>& pool,
                    econ::MetricsRegistry& registry, VariantResult& r) {
  const econ::Labels labels{{"variant", r.variant}, {"mode", r.mode}};
  econ::Histogram& latency = registry.histogram("obol_bench_request_latency_seconds", "Request latency in obol bench",
                                                econ::Histogram::latency_bounds(), labels);
  econ::Counter& completed = registry.counter("obol_bench_requests_total", "Requests completed in obol bench", labels);
  econ::Counter& failed = registry.counter("obol_bench_request_errors_total", "Requests that failed in obol bench", labels);

  std::shared_ptr<econ::Profiler> profiler;
  if (cfg.profile) {
    econ::ProfilerOptions po;
    po.trace = false;
    profiler = std::make_shared<econ::Profiler>(po);
  }
  OBOL_ASSIGN_OR_RETURN(std::unique_ptr<RequestRunner> runner, make_runner(cfg, pv, profiler, registry, labels));

  const int clients = std::max(1, cfg.concurrency);
  const Shape& first_shape = pool.front().empty() ? Shape() : pool.front().front().shape();
  const uint64_t rows = static_cast<uint64_t>(first_shape.rank() ? first_shape[0] : 1);
  const uint64_t total = cfg.requests > 0 ? static_cast<uint64_t>(cfg.requests) : 0;
  const double seconds = total ? 0.0 : (cfg.duration > 0 ? cfg.duration : 3.0);

  std::atomic<uint64_t> next{0}, done{0}, errors{0};
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::string first_error;
  std::mutex error_mutex;
  std::chrono::steady_clock::time_point deadline;
  std::chrono::steady_clock::time_point t_start, t_end;

  auto client = [&](int c) {
    std::vector<Tensor> scratch;  // this client's unique inputs (cache mode)
    std::vector<Tensor> outputs;
    auto one = [&](uint64_t idx, bool timed) {
      std::vector<TensorView> in = request_inputs(cfg, pool, idx, scratch);
      const uint64_t t0 = now_ns();
      const Status st = runner->run(c, in, outputs);
      const uint64_t t1 = now_ns();
      if (!timed) return;
      if (st.is_ok()) {
        latency.record(static_cast<double>(t1 - t0) * 1e-9);
        completed.inc();
      } else {
        failed.inc();
        errors.fetch_add(1);
        std::lock_guard<std::mutex> lock(error_mutex);
        if (first_error.empty()) first_error = st.message();
      }
      done.fetch_add(1);
    };
    for (int w = 0; w < cfg.warmup; ++w) one(splitmix(static_cast<uint64_t>(c) * 7919u + static_cast<uint64_t>(w)), false);
    ready.fetch_add(1);
    while (!go.load()) std::this_thread::yield();
    for (;;) {
      const uint64_t idx = next.fetch_add(1);
      if (total ? idx >= total : std::chrono::steady_clock::now() >= deadline) break;
      one(idx, true);
    }
  };

  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) threads.emplace_back(client, c);
  while (ready.load() < clients) std::this_thread::sleep_for(std::chrono::microseconds(200));
  {
    Progress progress(cfg.progress, cfg.label + r.variant + (r.mode == "session" ? "" : " " + r.mode), total, seconds,
                      rows, done);
    t_start = std::chrono::steady_clock::now();
    deadline = t_start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
    go.store(true);
    for (std::thread& t : threads) t.join();
    t_end = std::chrono::steady_clock::now();
    progress.stop();
    r.peak_rss_bytes = progress.peak_rss();
  }

  r.latency = latency.snapshot();
  r.requests = done.load() - errors.load();
  r.failed = errors.load();
  r.seconds = std::chrono::duration<double>(t_end - t_start).count();
  r.qps = r.seconds > 0 ? static_cast<double>(r.requests * rows) / r.seconds : 0.0;
  r.usd_per_1k = r.qps > 0 ? cfg.usd_per_hour * 1000.0 / (3600.0 * r.qps) : 0.0;
  runner->finish(r);
  if (!r.batch_rows.empty()) {
    econ::Histogram& h = registry.histogram("obol_bench_batch_rows", "Rows per batch the batcher formed",
                                            econ::Histogram::batch_size_bounds(), labels);
    for (size_t rows_in_batch = 1; rows_in_batch < r.batch_rows.size(); ++rows_in_batch)
      for (uint64_t k = 0; k < r.batch_rows[rows_in_batch]; ++k) h.record(static_cast<double>(rows_in_batch));
  }
  if (r.cache_hit_rate >= 0)
    registry.gauge("obol_bench_cache_hit_ratio", "Share of lookups the exact cache answered", labels).set(r.cache_hit_rate);
  if (profiler) r.ops = profiler->op_stats();
  if (r.requests == 0)
    return make_status(StatusCode::internal, "bench", "no request of variant ", r.variant, " succeeded",
                       first_error.empty() ? std::string() : ": " + first_error);
  if (r.failed) r.note += (r.note.empty() ? "" : "; ") + std::to_string(r.failed) + " requests failed: " + first_error;
  return Status::ok();
}

}  // namespace

// Inputs of request `idx`: a pool entry, or with the cache a mix of repeated entries and unique ones.
std::vector<TensorView> request_inputs(const BenchConfig& cfg, const std::vector<std::vector<Tensor>>& pool,
                                       uint64_t idx, std::vector<Tensor>& scratch) {
  const std::vector<Tensor>& base = pool[idx % pool.size()];
  if (!cfg.cache) return views_of(base);
  const double u = static_cast<double>(splitmix(idx) >> 11) * (1.0 / 9007199254740992.0);
  if (u < cfg.repeat_share) return views_of(pool[splitmix(idx ^ 0x5bd1e995u) % std::min<size_t>(pool.size(), 8)]);
  // A unique input: the base with its first element stamped with the request index.
  if (scratch.size() != base.size()) {
    scratch.clear();
    for (const Tensor& t : base) {
      auto c = Tensor::copy_of(t.view());
      if (!c.is_ok()) return views_of(base);
      scratch.push_back(std::move(*c));
    }
  }
  for (size_t k = 0; k < base.size(); ++k)
    if (base[k].nbytes()) std::memcpy(scratch[k].data(), base[k].data(), base[k].nbytes());
  Tensor& t = scratch.front();
  if (t.dtype() == DType::f32 && t.numel() > 0) {
    t.data_as<float>()[0] = 1000.0f + static_cast<float>(idx % 1000000);
  } else if (t.nbytes() >= sizeof(uint32_t)) {
    const uint32_t v = static_cast<uint32_t>(idx);
    std::memcpy(t.data(), &v, sizeof v);
  }
  return views_of(scratch);
}

Status parse_batcher_spec(const std::string& spec, BenchConfig& config) {
  config.batcher = true;
  size_t pos = 0;
  while (pos < spec.size()) {
    size_t end = spec.find(',', pos);
    if (end == std::string::npos) end = spec.size();
    const std::string item = spec.substr(pos, end - pos);
    pos = end + 1;
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    OBOL_CHECK_OR_RETURN(eq != std::string::npos, invalid_argument, "bench", "--batcher: '", item,
                         "' is not KEY=VALUE (keys: max_batch, max_delay_us, workers)");
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    char* endp = nullptr;
    const long v = std::strtol(value.c_str(), &endp, 10);
    OBOL_CHECK_OR_RETURN(!value.empty() && endp && *endp == '\0' && v >= 0 && v <= 100000000, invalid_argument, "bench",
                         "--batcher: '", item, "': the value must be a non-negative integer");
    if (key == "max_batch") {
      OBOL_CHECK_OR_RETURN(v >= 1 && v <= 65536, invalid_argument, "bench", "--batcher: max_batch must be in [1, 65536]");
      config.max_batch = static_cast<int>(v);
    } else if (key == "max_delay_us") {
      config.max_delay_us = static_cast<int>(v);
    } else if (key == "workers") {
      OBOL_CHECK_OR_RETURN(v >= 1 && v <= 256, invalid_argument, "bench", "--batcher: workers must be in [1, 256]");
      config.batcher_workers = static_cast<int>(v);
    } else {
      return make_status(StatusCode::invalid_argument, "bench", "--batcher: unknown key '", key,
                         "' (keys: max_batch, max_delay_us, workers)");
    }
  }
  return Status::ok();
}

Result<BenchReport> run_bench(const BenchConfig& cfg) {
  OBOL_CHECK_OR_RETURN(!cfg.variants.empty(), invalid_argument, "bench", "no variant to run");
  for (size_t i = 0; i < cfg.variants.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      OBOL_CHECK_OR_RETURN(cfg.variants[i] != cfg.variants[j], invalid_argument, "bench", "variant '", cfg.variants[i],
                           "' is listed twice");
  OBOL_CHECK_OR_RETURN(cfg.batch >= 1, invalid_argument, "bench", "--batch must be >= 1");
  OBOL_CHECK_OR_RETURN(cfg.repeat_share >= 0 && cfg.repeat_share <= 1, invalid_argument, "bench",
                       "--repeat-share must be in [0, 1]");
  BenchReport report;
  report.config = cfg;
  const int hw = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const int clients = std::max(1, cfg.concurrency);
  // Intra-op threads: as asked, else the cores shared out among the clients (or the batcher workers).
  const int runners = cfg.batcher ? std::max(1, cfg.batcher_workers) : clients;
  const int threads = cfg.threads > 0 ? cfg.threads : std::max(1, hw / runners);
  set_max_threads(threads);
  const kernels::CpuFeatures& f = kernels::cpu_features();
  report.machine = str_cat(f.brand.empty() ? f.vendor : f.brand, ", ", hw, " hardware threads, ", threads,
                           " intra-op thread", threads == 1 ? "" : "s", " per run");

  // fp32 first: the reference every variant's quality is measured against.
  OBOL_ASSIGN_OR_RETURN(PreparedVariant fp32, prepare_variant("fp32", cfg));
  std::vector<std::vector<Tensor>> pool;
  const int pool_size = std::max(16, cfg.quality_samples);
  for (int i = 0; i < pool_size; ++i) {
    OBOL_ASSIGN_OR_RETURN(std::vector<Tensor> in, make_request_inputs(*fp32.model, cfg, 1000 + static_cast<uint64_t>(i)));
    pool.push_back(std::move(in));
  }
  std::vector<std::vector<Tensor>> reference;
  {
    OBOL_ASSIGN_OR_RETURN(std::unique_ptr<Session> s, Session::create(fp32.model));
    for (int i = 0; i < cfg.quality_samples; ++i) {
      std::vector<Tensor> out;
      OBOL_RETURN_IF_ERROR(s->run(views_of(pool[static_cast<size_t>(i)]), out));
      reference.push_back(std::move(out));
    }
  }

  econ::MetricsRegistry registry;
  for (const std::string& name : cfg.variants) {
    VariantResult r;
    r.variant = name;
    r.mode = mode_name(cfg);
    Result<PreparedVariant> pv = name == "fp32" ? Result<PreparedVariant>(std::move(fp32)) : prepare_variant(name, cfg);
    if (!pv.is_ok()) {
      r.error = pv.status().message();
      report.variants.push_back(std::move(r));
      continue;
    }
    r.model_bytes = pv->model_bytes;
    r.note = pv->note;
    // Quality against fp32 on the first quality_samples inputs.
    {
      auto s = Session::create(pv->model);
      if (!s.is_ok()) {
        r.error = s.status().message();
        report.variants.push_back(std::move(r));
        continue;
      }
      double cos_sum = 0;
      uint64_t rows = 0, agree = 0;
      Status st;
      for (size_t i = 0; i < reference.size() && st.is_ok(); ++i) {
        std::vector<Tensor> out;
        st = (*s)->run(views_of(pool[i]), out);
        if (!st.is_ok()) break;
        const Agreement a = compare_outputs(reference[i], out);
        cos_sum += a.cosine;
        rows += a.rows;
        agree += a.agree;
      }
      if (!st.is_ok()) {
        r.error = st.message();
        report.variants.push_back(std::move(r));
        continue;
      }
      r.cosine = reference.empty() ? 1.0 : cos_sum / static_cast<double>(reference.size());
      r.top1_agreement = rows ? static_cast<double>(agree) / static_cast<double>(rows) : 1.0;
      r.arena_bytes = (*s)->stats().arena_bytes;
    }
    const Status st = time_variant(cfg, *pv, pool, registry, r);
    if (!st.is_ok()) r.error = st.message();
    report.variants.push_back(std::move(r));
  }
  set_max_threads(0);
  econ::record_process_memory(registry);
  report.prometheus = econ::to_prometheus(registry);
  return report;
}

std::string format_bench_table(const BenchReport& report) {
  std::string s;
  char line[400];
  std::snprintf(line, sizeof line, "%-8s %-13s %9s %9s %9s %10s %10s %10s %11s %8s %6s\n", "variant", "mode", "p50 ms",
                "p95 ms", "p99 ms", "QPS", "peak MiB", "model MiB", "$/1k q", "cosine", "top-1");
  s += line;
  for (const VariantResult& v : report.variants) {
    if (!v.ok()) {
      std::snprintf(line, sizeof line, "%-8s %-13s unavailable: %s\n", v.variant.c_str(), v.mode.c_str(), v.error.c_str());
      s += line;
      continue;
    }
    std::snprintf(line, sizeof line, "%-8s %-13s %9.3f %9.3f %9.3f %10.1f %10.1f %10.2f %11.3g %8.5f %5.1f%%\n",
                  v.variant.c_str(), v.mode.c_str(), v.latency.quantile(0.5) * 1e3, v.latency.quantile(0.95) * 1e3,
                  v.latency.quantile(0.99) * 1e3, v.qps, static_cast<double>(v.peak_rss_bytes) / 1048576.0,
                  static_cast<double>(v.model_bytes) / 1048576.0, v.usd_per_1k, v.cosine, v.top1_agreement * 100.0);
    s += line;
  }
  return s;
}

std::string bench_json(const BenchReport& report) {
  const BenchConfig& c = report.config;
  nlohmann::json j;
  j["model"] = c.model_path;
  j["machine"] = report.machine;
  j["config"] = {{"threads", c.threads},       {"batch", c.batch},
                 {"concurrency", c.concurrency}, {"requests", c.requests},
                 {"duration_s", c.duration},     {"warmup", c.warmup},
                 {"usd_per_hour", c.usd_per_hour}, {"batcher", c.batcher},
                 {"max_batch", c.max_batch},     {"max_delay_us", c.max_delay_us},
                 {"cache", c.cache},             {"repeat_share", c.repeat_share}};
  j["variants"] = nlohmann::json::array();
  for (const VariantResult& v : report.variants) {
    nlohmann::json o;
    o["variant"] = v.variant;
    o["mode"] = v.mode;
    if (!v.ok()) {
      o["error"] = v.error;
      j["variants"].push_back(o);
      continue;
    }
    o["p50_ms"] = v.latency.quantile(0.5) * 1e3;
    o["p95_ms"] = v.latency.quantile(0.95) * 1e3;
    o["p99_ms"] = v.latency.quantile(0.99) * 1e3;
    o["max_ms"] = v.latency.max * 1e3;
    o["mean_ms"] = v.latency.mean() * 1e3;
    o["qps"] = v.qps;
    o["usd_per_1k"] = v.usd_per_1k;
    o["peak_rss_bytes"] = v.peak_rss_bytes;
    o["model_bytes"] = v.model_bytes;
    o["arena_bytes"] = v.arena_bytes;
    o["cosine"] = v.cosine;
    o["top1_agreement"] = v.top1_agreement;
    o["requests"] = v.requests;
    o["failed"] = v.failed;
    o["seconds"] = v.seconds;
    if (v.cache_hit_rate >= 0) o["cache_hit_rate"] = v.cache_hit_rate;
    if (!v.batch_rows.empty()) {
      o["mean_batch"] = v.mean_batch;
      o["batch_rows"] = v.batch_rows;
    }
    if (!v.ops.empty()) {
      nlohmann::json ops = nlohmann::json::array();
      for (const econ::OpStat& op : v.ops) ops.push_back({{"op", op.op}, {"calls", op.calls}, {"total_ms", op.total_ms}, {"share", op.share}});
      o["ops"] = ops;
    }
    if (!v.note.empty()) o["note"] = v.note;
    // The latency histogram (non-cumulative bucket counts by upper bound, seconds) for other tools.
    nlohmann::json buckets = nlohmann::json::array();
    for (size_t i = 0; i < v.latency.counts.size(); ++i)
      if (v.latency.counts[i])
        buckets.push_back({i < v.latency.bounds.size() ? nlohmann::json(v.latency.bounds[i]) : nlohmann::json("+Inf"),
                           v.latency.counts[i]});
    o["latency_buckets"] = buckets;
    j["variants"].push_back(o);
  }
  return j.dump(2) + "\n";
}

namespace {

bool write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  return static_cast<bool>(f);
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t end = s.find(',', pos);
    if (end == std::string::npos) end = s.size();
    if (end > pos) out.push_back(s.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

}  // namespace

void add_bench_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("bench", "Measure latency, throughput, memory and cost per 1,000 queries of a model");
  struct Args {
    BenchConfig cfg;
    std::string compare = "fp32", batcher, json, report, metrics;
    std::vector<std::string> dims;
    bool no_progress = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("model", a->cfg.model_path, "ONNX model file")->required();
  cmd->add_option("--threads", a->cfg.threads, "Intra-op threads per run (default: the cores shared among the clients)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--batch", a->cfg.batch, "Rows per request (the inputs' leading dimension)")->check(CLI::Range(1, 65536));
  cmd->add_option("--concurrency", a->cfg.concurrency, "Client threads sending requests at once")->check(CLI::Range(1, 1024));
  auto* req = cmd->add_option("--requests", a->cfg.requests, "Timed requests in all")->check(CLI::Range(1, 100000000));
  cmd->add_option("--duration", a->cfg.duration, "Seconds of timed requests per variant (default 3)")
      ->check(CLI::Range(0.01, 86400.0))
      ->excludes(req);
  cmd->add_option("--warmup", a->cfg.warmup, "Untimed requests per client first")->check(CLI::Range(0, 100000));
  cmd->add_option("--usd-per-hour", a->cfg.usd_per_hour, "Price of this machine in US dollars per hour (default 1.00)")
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--compare", a->compare, "Variants to run: fp32,int8,int4 (quantized in-process from MODEL)");
  cmd->add_option("--batcher", a->batcher, "Send requests through the dynamic batcher: max_batch=N,max_delay_us=U[,workers=W]");
  cmd->add_flag("--cache", a->cfg.cache, "Answer through the exact response cache");
  cmd->add_option("--repeat-share", a->cfg.repeat_share, "With --cache: share of requests that repeat an earlier input")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--dim", a->dims, "NAME=N: size of a symbolic input dimension (the first one is --batch)");
  cmd->add_option("--quality-samples", a->cfg.quality_samples, "Inputs on which variants are compared with fp32")
      ->check(CLI::Range(1, 1000));
  cmd->add_flag("--profile", a->cfg.profile, "Per-op times of each variant (adds a timestamp per node)");
  cmd->add_option("--opt-level", a->cfg.opt_level, "Graph passes at load (default all)")
      ->check(CLI::IsMember({"none", "basic", "extended", "all"}));
  cmd->add_option("--json", a->json, "Write the results as JSON to FILE");
  cmd->add_option("--report", a->report, "Write a self-contained HTML report with SVG charts to FILE");
  cmd->add_option("--metrics", a->metrics, "Write the bench's metrics in Prometheus text format to FILE");
  cmd->add_flag("--no-progress", a->no_progress, "No progress bar on stderr");
  cmd->callback([a, &exit_code] {
    BenchConfig cfg = a->cfg;
    cfg.variants = split_list(a->compare);
    cfg.progress = !a->no_progress;
    for (const std::string& v : cfg.variants)
      if (v != "fp32" && v != "int8" && v != "int4") {
        std::fprintf(stderr, "obol bench: --compare: unknown variant '%s' (known: fp32, int8, int4)\n", v.c_str());
        exit_code = 2;
        return;
      }
    for (const std::string& d : a->dims) {
      const size_t eq = d.find('=');
      char* end = nullptr;
      const long long v = eq == std::string::npos ? -1 : std::strtoll(d.c_str() + eq + 1, &end, 10);
      if (eq == std::string::npos || eq == 0 || !end || *end != '\0' || v < 1) {
        std::fprintf(stderr, "obol bench: --dim %s: expected NAME=N with N >= 1\n", d.c_str());
        exit_code = 2;
        return;
      }
      cfg.dims[d.substr(0, eq)] = v;
    }
    if (!a->batcher.empty()) {
      const Status st = parse_batcher_spec(a->batcher, cfg);
      if (!st.is_ok()) {
        std::fprintf(stderr, "obol bench: %s\n", st.message().c_str());
        exit_code = 2;
        return;
      }
    }
    auto report = run_bench(cfg);
    if (!report.is_ok()) {
      std::fprintf(stderr, "obol bench: %s\n", report.status().message().c_str());
      exit_code = 1;
      return;
    }
    std::printf("model: %s\nmachine: %s\nprice: $%.2f per hour; queries = rows; cost per 1,000 queries = "
                "usd_per_hour x 1000 / (3600 x QPS)\n\n",
                cfg.model_path.c_str(), report->machine.c_str(), cfg.usd_per_hour);
    std::fputs(format_bench_table(*report).c_str(), stdout);
    for (const VariantResult& v : report->variants) {
      if (!v.note.empty()) std::printf("  %s: %s\n", v.variant.c_str(), v.note.c_str());
      if (!v.ops.empty()) {
        std::printf("\nper-op time, %s:\n", v.variant.c_str());
        for (size_t i = 0; i < v.ops.size() && i < 12; ++i)
          std::printf("  %-22s %9llu calls %10.2f ms %6.1f%%\n", v.ops[i].op.c_str(),
                      static_cast<unsigned long long>(v.ops[i].calls), v.ops[i].total_ms, v.ops[i].share * 100);
      }
    }
    int rc = 0;
    if (!a->json.empty() && !write_text(a->json, bench_json(*report))) {
      std::fprintf(stderr, "obol bench: cannot write %s\n", a->json.c_str());
      rc = 1;
    }
    if (!a->report.empty()) {
      if (write_text(a->report, bench_html(*report))) std::printf("report: %s\n", a->report.c_str());
      else {
        std::fprintf(stderr, "obol bench: cannot write %s\n", a->report.c_str());
        rc = 1;
      }
    }
    if (!a->metrics.empty() && !write_text(a->metrics, report->prometheus)) {
      std::fprintf(stderr, "obol bench: cannot write %s\n", a->metrics.c_str());
      rc = 1;
    }
    for (const VariantResult& v : report->variants)
      if (v.variant == "fp32" && !v.ok()) rc = 1;
    exit_code = rc;
  });
}

}  // namespace cli
}  // inline namespace v1
}  // namespace obol
