// Histograms against a sorted-array reference, counters and gauges, and the Prometheus text format
// parsed back.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "obol/econ/metrics.hpp"

using namespace obol::econ;

namespace {

// The nearest-rank order statistic: the ceil(q n)-th smallest value.
double exact_quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(n)));
  rank = std::clamp<size_t>(rank, 1, n);
  return v[rank - 1];
}

// Width of the bucket that holds `x` (clamped to the observed range, as the estimate is).
double bucket_width(const HistogramSnapshot& s, double x) {
  const size_t i = static_cast<size_t>(std::lower_bound(s.bounds.begin(), s.bounds.end(), x) - s.bounds.begin());
  const double lo = std::max(i == 0 ? s.min : s.bounds[i - 1], s.min);
  const double hi = std::min(i < s.bounds.size() ? s.bounds[i] : s.max, s.max);
  return hi - lo;
}

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// A small parser for the text format: comments into `types`, samples in order.
std::vector<PromSample> parse_prometheus(const std::string& text, std::map<std::string, std::string>& types) {
  std::vector<PromSample> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream ls(line.substr(7));
      std::string name, type;
      ls >> name >> type;
      types[name] = type;
      continue;
    }
    if (line[0] == '#') continue;
    PromSample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') s.name += line[i++];
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::string key;
        while (line[i] != '=') key += line[i++];
        i += 2;  // ="
        std::string value;
        while (line[i] != '"') {
          if (line[i] == '\\') ++i;
          value += line[i++];
        }
        ++i;
        if (line[i] == ',') ++i;
        s.labels[key] = value;
      }
      ++i;
    }
    const std::string v = line.substr(i + 1);
    s.value = v == "+Inf" ? INFINITY : v == "-Inf" ? -INFINITY : std::stod(v);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

TEST_CASE("histogram percentiles stay within one bucket of the sorted-array order statistic", "[metrics]") {
  std::mt19937 rng(7);
  const int distribution = GENERATE(0, 1, 2);
  std::vector<double> values;
  for (int i = 0; i < 5000; ++i) {
    double v = 0;
    if (distribution == 0) v = std::lognormal_distribution<double>(-6.0, 1.0)(rng);  // latencies around 2.5 ms
    if (distribution == 1) v = std::uniform_real_distribution<double>(1e-4, 2e-4)(rng);
    if (distribution == 2) v = i < 4950 ? 1e-3 : 0.5;  // a heavy tail at p99
    values.push_back(v);
  }
  Histogram h(Histogram::latency_bounds());
  for (double v : values) h.record(v);
  const HistogramSnapshot s = h.snapshot();
  REQUIRE(s.count == values.size());
  double sum = 0;
  for (double v : values) sum += v;
  CHECK(s.sum == Approx(sum).epsilon(1e-12));
  CHECK(s.min == *std::min_element(values.begin(), values.end()));
  CHECK(s.max == *std::max_element(values.begin(), values.end()));
  for (double q : {0.5, 0.9, 0.95, 0.99, 0.999}) {
    const double exact = exact_quantile(values, q);
    const double est = s.quantile(q);
    INFO("q=" << q << " exact=" << exact << " estimate=" << est);
    CHECK(std::fabs(est - exact) <= bucket_width(s, exact) + 1e-15);
  }
  CHECK(s.quantile(0) == s.min);
  CHECK(s.quantile(1) == s.max);
}

TEST_CASE("histogram of one repeated value reports it exactly", "[metrics]") {
  Histogram h(Histogram::latency_bounds());
  for (int i = 0; i < 10; ++i) h.record(0.0042);
  const HistogramSnapshot s = h.snapshot();
  CHECK(s.quantile(0.5) == 0.0042);
  CHECK(s.quantile(0.99) == 0.0042);
  CHECK(s.mean() == Approx(0.0042));
}

TEST_CASE("histogram bucket edges follow the le convention and empty histograms report zero", "[metrics]") {
  Histogram h({1.0, 2.0, 4.0});
  CHECK(h.snapshot().quantile(0.5) == 0.0);
  h.record(1.0);   // bucket le=1
  h.record(1.5);   // le=2
  h.record(4.0);   // le=4
  h.record(9.0);   // +Inf
  h.record(NAN);   // ignored
  const HistogramSnapshot s = h.snapshot();
  CHECK(s.counts == std::vector<uint64_t>{1, 1, 1, 1});
  CHECK(s.count == 4);
  CHECK(s.sum == 15.5);
}

TEST_CASE("histogram recording from many threads loses nothing", "[metrics]") {
  Histogram h(Histogram::latency_bounds());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&h, t] {
      for (int i = 0; i < 20000; ++i) h.record(1e-5 * (1 + (i + t) % 100));
    });
  for (auto& t : threads) t.join();
  const HistogramSnapshot s = h.snapshot();
  CHECK(s.count == 80000);
  double want = 0;
  for (int t = 0; t < 4; ++t)
    for (int i = 0; i < 20000; ++i) want += 1e-5 * (1 + (i + t) % 100);
  CHECK(s.sum == Approx(want).epsilon(1e-9));
}

TEST_CASE("log bounds are ascending and span the range", "[metrics]") {
  const std::vector<double> b = Histogram::latency_bounds();
  REQUIRE(b.size() == 161);
  CHECK(b.front() == 1e-6);
  CHECK(b.back() == 100.0);
  for (size_t i = 1; i < b.size(); ++i) CHECK(b[i] > b[i - 1]);
  CHECK(Histogram::batch_size_bounds().front() == 1.0);
  CHECK(Histogram::batch_size_bounds().back() == 1024.0);
}

TEST_CASE("registry returns the same series for the same name and labels", "[metrics]") {
  MetricsRegistry r;
  Counter& a = r.counter("obol_cache_hits_total", "hits", {{"tier", "exact"}});
  Counter& b = r.counter("obol_cache_hits_total", "hits", {{"tier", "exact"}});
  Counter& c = r.counter("obol_cache_hits_total", "hits", {{"tier", "semantic"}});
  CHECK(&a == &b);
  CHECK(&a != &c);
  a.inc();
  a.inc(2);
  a.inc(-5);  // ignored: counters only go up
  double v = 0;
  REQUIRE(r.value("obol_cache_hits_total", {{"tier", "exact"}}, &v));
  CHECK(v == 3);
  CHECK_FALSE(r.value("obol_nothing", {}, &v));
  Gauge& g = r.gauge("obol_queue depth", "queue");  // the space becomes '_'
  g.set(4);
  g.set_max(2);
  g.add(1);
  REQUIRE(r.value("obol_queue_depth", {}, &v));
  CHECK(v == 5);
  // The same name as another kind is exported under a suffixed name, never mixed.
  r.gauge("obol_cache_hits_total", "clash").set(1);
  REQUIRE(r.value("obol_cache_hits_total_gauge", {}, &v));
  CHECK(v == 1);
}

TEST_CASE("Prometheus text parses back with cumulative buckets ending at +Inf equal to _count", "[metrics]") {
  MetricsRegistry r;
  Histogram& lat = r.histogram("obol_request_latency_seconds", "Request latency", Histogram::latency_bounds(),
                               {{"variant", "fp32"}});
  Histogram& bs = r.histogram("obol_batch_size", "Formed batches", Histogram::batch_size_bounds());
  Counter& hits = r.counter("obol_cache_hits_total", "Cache hits");
  r.gauge("obol_peak_rss_bytes", "Peak RSS").set(123456789.0);
  std::mt19937 rng(3);
  std::vector<double> recorded;
  for (int i = 0; i < 1000; ++i) {
    const double v = std::lognormal_distribution<double>(-5.0, 1.5)(rng);
    recorded.push_back(v);
    lat.record(v);
    bs.record(1 + i % 32);
  }
  hits.inc(7);

  std::map<std::string, std::string> types;
  const std::string text1 = to_prometheus(r);
  const std::vector<PromSample> samples = parse_prometheus(text1, types);
  CHECK(types["obol_request_latency_seconds"] == "histogram");
  CHECK(types["obol_batch_size"] == "histogram");
  CHECK(types["obol_cache_hits_total"] == "counter");
  CHECK(types["obol_peak_rss_bytes"] == "gauge");
  CHECK(text1.find("# HELP obol_request_latency_seconds Request latency\n") != std::string::npos);

  for (const std::string family : {"obol_request_latency_seconds", "obol_batch_size"}) {
    std::vector<std::pair<double, double>> buckets;  // (le, cumulative count)
    double count = -1, sum = -1;
    for (const PromSample& s : samples) {
      if (s.name == family + "_bucket") {
        const std::string& le = s.labels.at("le");
        buckets.emplace_back(le == "+Inf" ? INFINITY : std::stod(le), s.value);
      }
      if (s.name == family + "_count") count = s.value;
      if (s.name == family + "_sum") sum = s.value;
    }
    INFO(family);
    REQUIRE(buckets.size() >= 2);
    for (size_t i = 1; i < buckets.size(); ++i) {
      CHECK(buckets[i].first > buckets[i - 1].first);
      CHECK(buckets[i].second >= buckets[i - 1].second);
    }
    CHECK(std::isinf(buckets.back().first));
    CHECK(buckets.back().second == count);
    CHECK(count == 1000);
    if (family == "obol_request_latency_seconds") {
      double want = 0;
      for (double v : recorded) want += v;
      CHECK(sum == Approx(want).epsilon(1e-12));
      // Each bucket's cumulative count is the number of values at or below its bound.
      for (const auto& [le, cum] : buckets) {
        const double n = static_cast<double>(std::count_if(recorded.begin(), recorded.end(), [&](double v) { return v <= le; }));
        CHECK(cum == n);
      }
    } else {
      CHECK(sum == 16404);  // 31 cycles of 1..32 (528 each), then 1..8
    }
  }
  for (const PromSample& s : samples)
    if (s.name == "obol_request_latency_seconds_bucket") CHECK(s.labels.at("variant") == "fp32");

  // Counters are monotone across exports.
  hits.inc(5);
  std::map<std::string, std::string> types2;
  double before = -1, after = -1;
  for (const PromSample& s : samples)
    if (s.name == "obol_cache_hits_total") before = s.value;
  for (const PromSample& s : parse_prometheus(to_prometheus(r), types2))
    if (s.name == "obol_cache_hits_total") after = s.value;
  CHECK(before == 7);
  CHECK(after == 12);
}

TEST_CASE("label values and help text are escaped", "[metrics]") {
  MetricsRegistry r;
  r.counter("obol_x_total", "line one\nback\\slash", {{"path", "a\"b\\c\nd"}}).inc();
  const std::string text = to_prometheus(r);
  CHECK(text.find("# HELP obol_x_total line one\\nback\\\\slash\n") != std::string::npos);
  CHECK(text.find("obol_x_total{path=\"a\\\"b\\\\c\\nd\"} 1\n") != std::string::npos);
}

TEST_CASE("process memory figures are available on Linux", "[metrics]") {
#if defined(__linux__)
  CHECK(process_peak_rss_bytes() > 1024 * 1024);
  CHECK(process_rss_bytes() > 0);
  CHECK(process_peak_rss_bytes() >= process_rss_bytes() / 2);
#endif
  MetricsRegistry r;
  record_process_memory(r);
  double v = -1;
  CHECK(r.value("obol_process_peak_rss_bytes", {}, &v));
}
