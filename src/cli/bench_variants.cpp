#include "cli/bench_variants.hpp"

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "cli/econ_parts.hpp"

#if OBOL_CLI_HAVE_QUANTIZER
#include "obol/quant/quantizer.hpp"
#endif
#if OBOL_CLI_HAVE_BATCHER
#include "obol/econ/batcher.hpp"
#endif
#if OBOL_CLI_HAVE_CACHE
#include "obol/econ/cache.hpp"
#endif

namespace obol {
inline namespace v1 {
namespace cli {

namespace {

namespace fs = std::filesystem;

// The model file plus an external-data file next to it (tools/make_encoder.py writes MODEL.data).
uint64_t file_bytes(const std::string& path) {
  std::error_code ec;
  uint64_t n = fs::file_size(path, ec);
  if (ec) n = 0;
  const uint64_t data = fs::file_size(path + ".data", ec);
  if (!ec) n += data;
  return n;
}

class SessionRunner final : public RequestRunner {
 public:
  static Result<std::unique_ptr<RequestRunner>> create(const BenchConfig& cfg, const PreparedVariant& v,
                                                       const std::shared_ptr<econ::Profiler>& profiler) {
    auto r = std::make_unique<SessionRunner>();
    for (int c = 0; c < std::max(1, cfg.concurrency); ++c) {
      OBOL_ASSIGN_OR_RETURN(std::unique_ptr<Session> s, Session::create(v.model));
      if (profiler) s->set_profiler(profiler);
      r->sessions_.push_back(std::move(s));
    }
    return std::unique_ptr<RequestRunner>(std::move(r));
  }
  Status run(int client, const std::vector<TensorView>& inputs, std::vector<Tensor>& outputs) override {
    return sessions_[static_cast<size_t>(client)]->run(inputs, outputs);
  }

 private:
  std::vector<std::unique_ptr<Session>> sessions_;
};

#if OBOL_CLI_HAVE_BATCHER
class BatcherRunner final : public RequestRunner {
 public:
  static Result<std::unique_ptr<RequestRunner>> create(const BenchConfig& cfg, const PreparedVariant& v) {
    econ::BatcherOptions o;
    o.max_batch = cfg.max_batch;
    o.max_delay = std::chrono::microseconds(cfg.max_delay_us);
    o.workers = std::max(1, cfg.batcher_workers);
    o.max_queue = 0;  // a closed loop never holds more than `concurrency` requests
    auto r = std::make_unique<BatcherRunner>();
    OBOL_ASSIGN_OR_RETURN(r->batcher_, econ::Batcher::create(v.model, o));
    return std::unique_ptr<RequestRunner>(std::move(r));
  }
  Status run(int, const std::vector<TensorView>& inputs, std::vector<Tensor>& outputs) override {
    OBOL_ASSIGN_OR_RETURN(outputs, batcher_->submit(inputs));
    return Status::ok();
  }
  void finish(VariantResult& r) override {
    const econ::BatcherStats s = batcher_->stats();
    r.batch_rows = s.batch_rows;
    r.mean_batch = s.mean_batch_rows();
  }

 private:
  std::unique_ptr<econ::Batcher> batcher_;
};
#endif

#if OBOL_CLI_HAVE_CACHE
// The exact cache in front of another runner: a hit answers with the stored value (shared, not
// copied); a miss runs and stores the outputs.
class CacheRunner final : public RequestRunner {
 public:
  CacheRunner(std::unique_ptr<RequestRunner> inner, std::string id, std::vector<std::string> names)
      : inner_(std::move(inner)), id_(std::move(id)), names_(std::move(names)), cache_(econ::CacheOptions{}) {}
  Status run(int client, const std::vector<TensorView>& inputs, std::vector<Tensor>& outputs) override {
    const econ::CacheKey key = econ::make_cache_key(id_, "", inputs, names_);
    if (cache_.get(key)) return Status::ok();
    OBOL_RETURN_IF_ERROR(inner_->run(client, inputs, outputs));
    cache_.put(key, std::move(outputs));
    outputs.clear();
    return Status::ok();
  }
  void finish(VariantResult& r) override {
    inner_->finish(r);
    const econ::CacheStats s = cache_.stats();
    const uint64_t lookups = s.hits + s.misses;
    r.cache_hit_rate = lookups ? static_cast<double>(s.hits) / static_cast<double>(lookups) : 0.0;
  }

 private:
  std::unique_ptr<RequestRunner> inner_;
  std::string id_;
  std::vector<std::string> names_;
  econ::Cache cache_;
};
#endif

}  // namespace

Result<PreparedVariant> prepare_variant(const std::string& name, const BenchConfig& cfg) {
  ModelOptions mo;
  if (cfg.opt_level == "none") mo.opt_level = OptLevel::none;
  else if (cfg.opt_level == "basic") mo.opt_level = OptLevel::basic;
  else if (cfg.opt_level == "extended") mo.opt_level = OptLevel::extended;
  else if (cfg.opt_level == "all") mo.opt_level = OptLevel::all;
  else return make_status(StatusCode::invalid_argument, "bench", "unknown optimization level '", cfg.opt_level, "'");
  PreparedVariant v;
  v.id = name + ":" + cfg.model_path;
  if (name == "fp32") {
    OBOL_ASSIGN_OR_RETURN(v.model, Model::load(cfg.model_path, mo));
    v.model_bytes = file_bytes(cfg.model_path);
    return v;
  }
#if OBOL_CLI_HAVE_QUANTIZER
  quant::QuantizeOptions o;
  if (name == "int8") o.weights = quant::WeightFormat::int8;
  else if (name == "int4") o.weights = quant::WeightFormat::int4;
  else return make_status(StatusCode::invalid_argument, "bench", "unknown variant '", name, "'");
  o.samples = 2;
  o.latency_runs = 0;
  for (const auto& [sym, value] : cfg.dims) o.dim_values[sym] = value;
  OBOL_ASSIGN_OR_RETURN(quant::QuantizedModel q, quant::quantize(cfg.model_path, o));
  v.model_bytes = q.onnx_bytes.size();
  v.note = str_cat("quantized in-process: ", q.report.quantized_nodes, " nodes to ", name, ", ",
                   q.report.kept_float_nodes, " kept fp32");
  OBOL_ASSIGN_OR_RETURN(v.model, Model::from_graph(std::move(q.graph), mo));
  return v;
#else
  return make_status(StatusCode::unavailable, "bench", "the ", name,
                     " variant needs the in-process quantizer (obol/quant/quantizer.hpp), which this build "
                     "does not include yet");
#endif
}

Result<std::unique_ptr<RequestRunner>> make_runner(const BenchConfig& cfg, PreparedVariant& v,
                                                   std::shared_ptr<econ::Profiler> profiler,
                                                   econ::MetricsRegistry& registry, const econ::Labels& labels) {
  (void)registry;
  (void)labels;
  std::unique_ptr<RequestRunner> runner;
  if (cfg.batcher) {
#if OBOL_CLI_HAVE_BATCHER
    OBOL_ASSIGN_OR_RETURN(runner, BatcherRunner::create(cfg, v));
#else
    return make_status(StatusCode::unavailable, "bench",
                       "--batcher needs the dynamic batcher (obol/econ/batcher.hpp), which this build does not include yet");
#endif
  } else {
    OBOL_ASSIGN_OR_RETURN(runner, SessionRunner::create(cfg, v, profiler));
  }
  if (cfg.cache) {
#if OBOL_CLI_HAVE_CACHE
    std::vector<std::string> names;
    for (const TensorInfo& t : v.model->inputs()) names.push_back(t.name);
    runner = std::make_unique<CacheRunner>(std::move(runner), v.id, std::move(names));
#else
    return make_status(StatusCode::unavailable, "bench",
                       "--cache needs the response cache (obol/econ/cache.hpp), which this build does not include yet");
#endif
  }
  return runner;
}

}  // namespace cli
}  // inline namespace v1
}  // namespace obol
