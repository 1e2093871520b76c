// The economics benchmark behind `obol bench` and `obol demo`: latency percentiles, throughput,
// memory and cost per 1,000 queries for a model and its quantized variants, optionally through the
// batcher and the response cache.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "obol/core/status.hpp"
#include "obol/econ/metrics.hpp"
#include "obol/econ/profiler.hpp"

namespace obol {
inline namespace v1 {
namespace cli {

struct BenchConfig {
  std::string model_path;
  int threads = 0;             // intra-op threads per run (0: all cores)
  int batch = 1;               // rows per request (the model's leading dimension)
  int concurrency = 1;         // client threads sending requests at the same time
  int requests = 0;            // timed requests in all (0: run for `duration`)
  double duration = 0;         // seconds of timed requests when requests == 0
  int warmup = 3;              // untimed requests per client before timing
  double usd_per_hour = 1.0;   // price of the machine
  std::vector<std::string> variants{"fp32"};
  bool batcher = false;        // send requests through econ::Batcher
  int max_batch = 8;
  int max_delay_us = 1000;
  int batcher_workers = 1;
  bool cache = false;          // answer through the exact econ::Cache
  double repeat_share = 0.5;   // share of requests that repeat an earlier input (with cache)
  std::map<std::string, int64_t> dims;  // values for symbolic input dimensions (besides the batch)
  int quality_samples = 8;     // inputs on which each variant is compared with fp32
  bool progress = true;        // progress bar on stderr
  bool profile = false;        // per-op times of each variant (adds one timestamp per node)
  std::string label;           // shown before the variant names (e.g. the model's short name)
  std::string opt_level = "all";  // graph passes at load: none, basic, extended, all
};

struct VariantResult {
  std::string variant;      // "fp32", "int8", "int4"
  std::string mode;         // "session", "batcher", "cache", "batcher+cache"
  std::string error;        // set when the variant could not run; the numbers are then unset
  econ::HistogramSnapshot latency;  // request latency, seconds
  uint64_t requests = 0;    // timed requests completed
  uint64_t failed = 0;      // timed requests that returned an error
  double seconds = 0;       // wall time of the timed phase
  double qps = 0;           // queries (rows) per second
  double usd_per_1k = 0;    // usd_per_hour * 1000 / (3600 * qps)
  uint64_t peak_rss_bytes = 0;  // highest resident set size sampled while it ran (process-wide)
  uint64_t model_bytes = 0;     // serialized model size
  uint64_t arena_bytes = 0;     // a session's planned intermediate memory
  double cosine = 0;            // mean cosine similarity of the outputs with fp32's
  double top1_agreement = 0;    // share of rows whose argmax agrees with fp32's
  double cache_hit_rate = -1;   // with the cache: hits / lookups
  double mean_batch = 0;        // with the batcher: mean rows per formed batch
  std::vector<uint64_t> batch_rows;  // with the batcher: batches formed per row count
  std::vector<econ::OpStat> ops;     // with profile
  std::string note;                  // e.g. how the variant was made
  bool ok() const { return error.empty(); }
};

struct BenchReport {
  BenchConfig config;
  std::string machine;  // cpu brand and threads
  std::vector<VariantResult> variants;
  std::string prometheus;  // the bench's own metrics (latency histograms by variant, batch sizes) as Prometheus text
};

// Runs every variant in config.variants in turn. Variants that cannot be made (e.g. a quantized
// form the quantizer refuses) come back with `error` set; the call itself fails only for problems
// with the model or the options.
Result<BenchReport> run_bench(const BenchConfig& config);

// The stdout table: one row per variant.
std::string format_bench_table(const BenchReport& report);
// The --json document: {"model":..., "config":{...}, "variants":[{variant, p50_ms, ...}, ...]}.
std::string bench_json(const BenchReport& report);
// The --report document: one self-contained HTML file with inline SVG charts.
std::string bench_html(const BenchReport& report);

// "max_batch=8,max_delay_us=500" into the config; an error names the bad field.
Status parse_batcher_spec(const std::string& spec, BenchConfig& config);

}  // namespace cli
}  // inline namespace v1
}  // namespace obol
