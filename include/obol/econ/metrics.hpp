// obol/econ/metrics.hpp — counters, gauges and latency histograms, and a registry that exports them.
//
//   obol::econ::MetricsRegistry registry;
//   auto& hits = registry.counter("obol_cache_hits_total", "Requests served from the cache");
//   auto& lat = registry.histogram("obol_request_latency_seconds", "End-to-end request latency",
//                                  obol::econ::Histogram::latency_bounds());
//   hits.inc();
//   lat.record(0.0042);
//   std::string text = obol::econ::to_prometheus(registry);   // Prometheus text format 0.0.4
//   double p99 = lat.snapshot().quantile(0.99);
//
// Histogram: fixed bucket upper bounds chosen at construction (log-spaced for latencies). Recording
// is lock-free (one relaxed atomic add per bucket and count, a CAS loop for sum/min/max) and safe
// from any number of threads. Percentiles come from the buckets with linear interpolation inside the
// bucket that holds the rank, clamped to the observed min and max, so an estimate is never further
// from the exact order statistic than the width of that bucket. Count, sum, min and max are exact.
//
// MetricsRegistry: owns named metric families. References it returns stay valid for the registry's
// lifetime; registering and exporting take a mutex, recording into a metric does not. Names are made
// Prometheus-safe ([a-zA-Z_:][a-zA-Z0-9_:]*: any other character becomes '_'). Asking again for the
// same name and labels returns the same metric. A name already registered as another kind is not an
// error: the new metric is exported under the name with the kind appended ("name_gauge").
//
// Components (batcher, cache, router, sessions) take a MetricsRegistry* and register what they count
// under the obol_ prefix; a host exports the registry from its /metrics endpoint.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace obol {
inline namespace v1 {
namespace econ {

// Label pairs of one series, e.g. {{"variant", "int8"}}. Values are escaped on export.
using Labels = std::vector<std::pair<std::string, std::string>>;

// A monotonically increasing value (Prometheus counter). Negative or NaN increments are ignored.
class Counter {
 public:
  void inc(double n = 1.0) noexcept;
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A value that goes up and down (Prometheus gauge).
class Gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(double d) noexcept;
  void set_max(double v) noexcept;  // keeps the larger of the current value and v (peaks)
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A consistent copy of a histogram's state.
struct HistogramSnapshot {
  std::vector<double> bounds;    // bucket upper bounds, ascending (the "+Inf" bucket is implicit)
  std::vector<uint64_t> counts;  // per bucket, NOT cumulative; bounds.size() + 1 entries (last: > bounds.back())
  uint64_t count = 0;            // sum of counts
  double sum = 0;
  double min = 0;  // 0 when count == 0
  double max = 0;

  // The q-quantile (q in [0, 1]) estimated from the buckets; 0 when empty. quantile(0) = min,
  // quantile(1) = max.
  double quantile(double q) const noexcept;
  double mean() const noexcept { return count ? sum / static_cast<double>(count) : 0.0; }
  // Adds another snapshot with the same bounds (returns false and changes nothing otherwise).
  bool merge(const HistogramSnapshot& other);
};

class Histogram {
 public:
  // `upper_bounds` are sorted and de-duplicated; NaN and infinite bounds are dropped.
  explicit Histogram(std::vector<double> upper_bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // `per_decade` log-spaced bounds from `lo` to `hi` (both > 0), e.g. log_bounds(1e-6, 100, 20).
  static std::vector<double> log_bounds(double lo, double hi, int per_decade);
  // Request latencies in seconds: 1 µs to 100 s, 20 buckets per decade (at most 12% wide).
  static std::vector<double> latency_bounds();
  // Batch sizes: 1, 2, 3, 4, 6, 8, 12, 16, ... 1024.
  static std::vector<double> batch_size_bounds();

  void record(double v) noexcept;  // NaN is ignored
  HistogramSnapshot snapshot() const;
  const std::vector<double>& bounds() const noexcept { return bounds_; }
  void reset() noexcept;  // not atomic against concurrent record()

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0.0};
  std::atomic<double> min_;
  std::atomic<double> max_;
};

enum class MetricKind : uint8_t { counter, gauge, histogram };
const char* metric_kind_name(MetricKind k) noexcept;

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  Counter& counter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, const Labels& labels = {});
  // `bounds` is used the first time the series is created; later calls return that histogram.
  Histogram& histogram(std::string_view name, std::string_view help, std::vector<double> bounds,
                       const Labels& labels = {});

  // A read-only view of every series, in registration order, for exporters.
  struct Series {
    Labels labels;
    const Counter* counter = nullptr;
    const Gauge* gauge = nullptr;
    const Histogram* histogram = nullptr;
  };
  struct Family {
    std::string name, help;
    MetricKind kind = MetricKind::counter;
    std::vector<Series> series;
  };
  std::vector<Family> families() const;

  // The value of a counter or gauge series into *out; false (and *out untouched) when there is none.
  bool value(std::string_view name, const Labels& labels, double* out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The registry in Prometheus text exposition format 0.0.4: "# HELP" and "# TYPE" per family,
// histograms as cumulative `_bucket{le="..."}` lines ending in le="+Inf" (equal to `_count`), then
// `_sum` and `_count`.
std::string to_prometheus(const MetricsRegistry& registry);

// Process memory, for peak-memory figures: the peak resident set size (getrusage) and the current
// one (/proc/self/statm), in bytes; 0 where the platform does not say.
uint64_t process_peak_rss_bytes() noexcept;
uint64_t process_rss_bytes() noexcept;
// Sets obol_process_peak_rss_bytes and obol_process_rss_bytes gauges in `registry`.
void record_process_memory(MetricsRegistry& registry);

}  // namespace econ
}  // inline namespace v1
}  // namespace obol
