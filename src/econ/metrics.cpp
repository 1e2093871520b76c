#include "obol/econ/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/resource.h>
#include <unistd.h>
#endif

namespace obol {
inline namespace v1 {
namespace econ {

namespace {

void atomic_add(std::atomic<double>& a, double d) noexcept {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

void atomic_max(std::atomic<double>& a, double v) noexcept {
  double cur = a.load(std::memory_order_relaxed);
  while (v > cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

void atomic_min(std::atomic<double>& a, double v) noexcept {
  double cur = a.load(std::memory_order_relaxed);
  while (v < cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

std::string sanitize_name(std::string_view name) {
  std::string s(name);
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) s[i] = '_';
  }
  if (s.empty()) s = "_";
  return s;
}

Labels sanitize_labels(const Labels& labels) {
  Labels r;
  for (const auto& [k, v] : labels) {
    std::string key = sanitize_name(k);
    std::replace(key.begin(), key.end(), ':', '_');  // label names may not hold ':'
    r.emplace_back(std::move(key), v);
  }
  return r;
}

}  // namespace

// --- Counter, Gauge ------------------------------------------------------------------------------

void Counter::inc(double n) noexcept {
  if (!(n > 0)) return;  // also drops NaN
  atomic_add(value_, n);
}

void Gauge::add(double d) noexcept { atomic_add(value_, d); }
void Gauge::set_max(double v) noexcept { atomic_max(value_, v); }

// --- Histogram -----------------------------------------------------------------------------------

Histogram::Histogram(std::vector<double> upper_bounds)
    : min_(std::numeric_limits<double>::infinity()), max_(-std::numeric_limits<double>::infinity()) {
  upper_bounds.erase(std::remove_if(upper_bounds.begin(), upper_bounds.end(), [](double b) { return !std::isfinite(b); }),
                     upper_bounds.end());
  std::sort(upper_bounds.begin(), upper_bounds.end());
  upper_bounds.erase(std::unique(upper_bounds.begin(), upper_bounds.end()), upper_bounds.end());
  bounds_ = std::move(upper_bounds);
  counts_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

std::vector<double> Histogram::log_bounds(double lo, double hi, int per_decade) {
  std::vector<double> b;
  if (!(lo > 0) || !(hi >= lo) || per_decade <= 0) return b;
  const double step = 1.0 / per_decade;
  const double l0 = std::log10(lo), l1 = std::log10(hi);
  const int n = static_cast<int>(std::ceil((l1 - l0) * per_decade - 1e-9));
  for (int i = 0; i <= n; ++i) {
    // Round to 4 significant digits so the exported `le` labels read cleanly.
    const double v = std::pow(10.0, l0 + i * step);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    b.push_back(std::strtod(buf, nullptr));
  }
  return b;
}

std::vector<double> Histogram::latency_bounds() { return log_bounds(1e-6, 100.0, 20); }

std::vector<double> Histogram::batch_size_bounds() {
  std::vector<double> b;
  for (double p = 1; p <= 1024; p *= 2) {
    b.push_back(p);
    if (p >= 2 && p < 1024) b.push_back(p * 1.5);
  }
  std::sort(b.begin(), b.end());
  return b;
}

void Histogram::record(double v) noexcept {
  if (std::isnan(v)) return;
  // Bucket i holds values in (bounds[i-1], bounds[i]]: the "le" (less or equal) convention.
  const size_t i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, v);
  atomic_min(min_, v);
  atomic_max(max_, v);
}

HistogramSnapshot Histogram::snapshot() const {
  HistogramSnapshot s;
  s.bounds = bounds_;
  s.counts.resize(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    s.counts[i] = counts_[i].load(std::memory_order_relaxed);
    s.count += s.counts[i];
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  if (s.count) {
    s.min = min_.load(std::memory_order_relaxed);
    s.max = max_.load(std::memory_order_relaxed);
  }
  return s;
}

void Histogram::reset() noexcept {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
  sum_.store(0.0, std::memory_order_relaxed);
  min_.store(std::numeric_limits<double>::infinity(), std::memory_order_relaxed);
  max_.store(-std::numeric_limits<double>::infinity(), std::memory_order_relaxed);
}

double HistogramSnapshot::quantile(double q) const noexcept {
  if (count == 0 || std::isnan(q)) return 0.0;
  if (q <= 0) return min;
  if (q >= 1) return max;
  const double rank = q * static_cast<double>(count);
  uint64_t below = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    if (static_cast<double>(below + counts[i]) >= rank) {
      double lo = i == 0 ? min : bounds[i - 1];
      double hi = i < bounds.size() ? bounds[i] : max;
      lo = std::max(lo, min);
      hi = std::min(hi, max);
      if (hi < lo) hi = lo;
      const double frac = (rank - static_cast<double>(below)) / static_cast<double>(counts[i]);
      return lo + std::clamp(frac, 0.0, 1.0) * (hi - lo);
    }
    below += counts[i];
  }
  return max;
}

bool HistogramSnapshot::merge(const HistogramSnapshot& other) {
  if (other.count == 0) return other.bounds == bounds || counts.empty();
  if (count == 0 && counts.empty()) {
    *this = other;
    return true;
  }
  if (other.bounds != bounds) return false;
  for (size_t i = 0; i < counts.size(); ++i) counts[i] += other.counts[i];
  min = count ? std::min(min, other.min) : other.min;
  max = count ? std::max(max, other.max) : other.max;
  count += other.count;
  sum += other.sum;
  return true;
}

// --- MetricsRegistry -----------------------------------------------------------------------------

const char* metric_kind_name(MetricKind k) noexcept {
  switch (k) {
    case MetricKind::counter: return "counter";
    case MetricKind::gauge: return "gauge";
    case MetricKind::histogram: return "histogram";
  }
  return "untyped";
}

struct MetricsRegistry::Impl {
  struct SeriesImpl {
    Labels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  struct FamilyImpl {
    std::string name, help;
    MetricKind kind;
    std::vector<SeriesImpl> series;
  };
  mutable std::mutex mutex;
  std::vector<std::unique_ptr<FamilyImpl>> families;

  // The series for (name, kind, labels), created when missing. Caller holds the mutex.
  SeriesImpl& get(std::string_view raw_name, std::string_view help, MetricKind kind, const Labels& raw_labels,
                  bool* created) {
    std::string name = sanitize_name(raw_name);
    for (const auto& f : families)
      if (f->name == name && f->kind != kind) {
        name += std::string("_") + metric_kind_name(kind);
        break;
      }
    FamilyImpl* fam = nullptr;
    for (const auto& f : families)
      if (f->name == name) fam = f.get();
    if (!fam) {
      families.push_back(std::make_unique<FamilyImpl>(FamilyImpl{name, std::string(help), kind, {}}));
      fam = families.back().get();
    }
    const Labels labels = sanitize_labels(raw_labels);
    for (SeriesImpl& s : fam->series)
      if (s.labels == labels) {
        *created = false;
        return s;
      }
    fam->series.push_back(SeriesImpl{labels, nullptr, nullptr, nullptr});
    *created = true;
    return fam->series.back();
  }
};

MetricsRegistry::MetricsRegistry() : impl_(std::make_unique<Impl>()) {}
MetricsRegistry::~MetricsRegistry() = default;

Counter& MetricsRegistry::counter(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  bool created = false;
  Impl::SeriesImpl& s = impl_->get(name, help, MetricKind::counter, labels, &created);
  if (created) s.counter = std::make_unique<Counter>();
  return *s.counter;
}

Gauge& MetricsRegistry::gauge(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  bool created = false;
  Impl::SeriesImpl& s = impl_->get(name, help, MetricKind::gauge, labels, &created);
  if (created) s.gauge = std::make_unique<Gauge>();
  return *s.gauge;
}

Histogram& MetricsRegistry::histogram(std::string_view name, std::string_view help, std::vector<double> bounds,
                                      const Labels& labels) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  bool created = false;
  Impl::SeriesImpl& s = impl_->get(name, help, MetricKind::histogram, labels, &created);
  if (created) s.histogram = std::make_unique<Histogram>(std::move(bounds));
  return *s.histogram;
}

std::vector<MetricsRegistry::Family> MetricsRegistry::families() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  std::vector<Family> r;
  for (const auto& f : impl_->families) {
    Family fam{f->name, f->help, f->kind, {}};
    for (const Impl::SeriesImpl& s : f->series)
      fam.series.push_back(Series{s.labels, s.counter.get(), s.gauge.get(), s.histogram.get()});
    r.push_back(std::move(fam));
  }
  return r;
}

bool MetricsRegistry::value(std::string_view name, const Labels& labels, double* out) const {
  const std::string n = sanitize_name(name);
  const Labels l = sanitize_labels(labels);
  std::lock_guard<std::mutex> lock(impl_->mutex);
  for (const auto& f : impl_->families) {
    if (f->name != n) continue;
    for (const Impl::SeriesImpl& s : f->series) {
      if (s.labels != l) continue;
      if (s.counter) *out = s.counter->value();
      else if (s.gauge) *out = s.gauge->value();
      else return false;
      return true;
    }
  }
  return false;
}

// --- process memory ------------------------------------------------------------------------------

uint64_t process_peak_rss_bytes() noexcept {
#if defined(__unix__) || defined(__APPLE__)
  struct rusage ru {};
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
#if defined(__APPLE__)
  return static_cast<uint64_t>(ru.ru_maxrss);  // bytes on macOS
#else
  return static_cast<uint64_t>(ru.ru_maxrss) * 1024u;  // KiB on Linux
#endif
#else
  return 0;
#endif
}

uint64_t process_rss_bytes() noexcept {
#if defined(__linux__)
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  const int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  if (n != 2) return 0;
  const long page = sysconf(_SC_PAGESIZE);
  return page > 0 ? static_cast<uint64_t>(resident) * static_cast<uint64_t>(page) : 0;
#else
  return 0;
#endif
}

void record_process_memory(MetricsRegistry& registry) {
  registry.gauge("obol_process_peak_rss_bytes", "Peak resident set size of the process")
      .set(static_cast<double>(process_peak_rss_bytes()));
  registry.gauge("obol_process_rss_bytes", "Current resident set size of the process")
      .set(static_cast<double>(process_rss_bytes()));
}

}  // namespace econ
}  // inline namespace v1
}  // namespace obol
