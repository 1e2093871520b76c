// The `obol bench --report` page: one self-contained HTML file, charts drawn as inline SVG (no
// scripts, no fonts or styles fetched from anywhere).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "cli/bench.hpp"

namespace obol {
inline namespace v1 {
namespace cli {

namespace {

std::string esc(const std::string& s) {
  std::string r;
  for (char c : s) {
    switch (c) {
      case '<': r += "&lt;"; break;
      case '>': r += "&gt;"; break;
      case '&': r += "&amp;"; break;
      case '"': r += "&quot;"; break;
      default: r += c;
    }
  }
  return r;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

const char* kColors[] = {"#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6"};

// Latency histogram of one variant: bucket counts over a log time axis, with p50/p95/p99 marks.
std::string latency_svg(const VariantResult& v, const char* color) {
  const econ::HistogramSnapshot& h = v.latency;
  constexpr double W = 560, H = 200, L = 50, B = 30, T = 10, R = 10;
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"560\" height=\"200\" role=\"img\">";
  s += "<title>latency histogram " + esc(v.variant) + "</title>";
  if (h.count == 0) return s + "<text x=\"10\" y=\"20\">no samples</text></svg>";
  size_t first = h.counts.size(), last = 0;
  for (size_t i = 0; i < h.counts.size(); ++i)
    if (h.counts[i]) {
      first = std::min(first, i);
      last = i;
    }
  // Show the populated range with one empty bucket each side; x is log10(seconds).
  const size_t lo_i = first > 0 ? first - 1 : 0;
  const size_t hi_i = std::min(last + 1, h.counts.size() - 1);
  auto upper = [&](size_t i) { return i < h.bounds.size() ? h.bounds[i] : h.max * 1.25; };
  auto lower = [&](size_t i) { return i == 0 ? std::min(h.min, upper(0) / 1.2) : h.bounds[i - 1]; };
  const double x0 = std::log10(lower(lo_i)), x1 = std::log10(upper(hi_i));
  uint64_t peak = 1;
  for (size_t i = lo_i; i <= hi_i; ++i) peak = std::max(peak, h.counts[i]);
  auto X = [&](double sec) { return L + (std::log10(sec) - x0) / (x1 - x0) * (W - L - R); };
  auto Y = [&](double c) { return H - B - c / static_cast<double>(peak) * (H - B - T); };
  s += "<line x1=\"" + fmt("%.1f", L) + "\" y1=\"" + fmt("%.1f", H - B) + "\" x2=\"" + fmt("%.1f", W - R) + "\" y2=\"" +
       fmt("%.1f", H - B) + "\" stroke=\"#444\"/>";
  for (size_t i = lo_i; i <= hi_i; ++i) {
    if (!h.counts[i]) continue;
    const double xa = X(lower(i)), xb = X(upper(i));
    const double y = Y(static_cast<double>(h.counts[i]));
    s += "<rect x=\"" + fmt("%.1f", xa) + "\" y=\"" + fmt("%.1f", y) + "\" width=\"" + fmt("%.1f", std::max(1.0, xb - xa - 1)) +
         "\" height=\"" + fmt("%.1f", H - B - y) + "\" fill=\"" + color + "\"><title>" + fmt("%.4g", lower(i) * 1e3) + "–" +
         fmt("%.4g", upper(i) * 1e3) + " ms: " + std::to_string(h.counts[i]) + "</title></rect>";
  }
  // Decade-ish tick labels in ms.
  for (int k = 0; k <= 4; ++k) {
    const double sec = std::pow(10.0, x0 + (x1 - x0) * k / 4.0);
    const double x = X(sec);
    s += "<text x=\"" + fmt("%.1f", x) + "\" y=\"" + fmt("%.1f", H - 12) + "\" font-size=\"10\" text-anchor=\"middle\">" +
         fmt("%.3g", sec * 1e3) + " ms</text>";
  }
  const struct {
    double q;
    const char* name;
  } marks[] = {{0.5, "p50"}, {0.95, "p95"}, {0.99, "p99"}};
  for (const auto& m : marks) {
    const double sec = h.quantile(m.q);
    if (!(sec > 0)) continue;
    const double x = std::clamp(X(sec), L, W - R);
    s += "<line x1=\"" + fmt("%.1f", x) + "\" y1=\"" + fmt("%.1f", T) + "\" x2=\"" + fmt("%.1f", x) + "\" y2=\"" +
         fmt("%.1f", H - B) + "\" stroke=\"#222\" stroke-dasharray=\"3,3\"/>";
    s += "<text x=\"" + fmt("%.1f", x + 3) + "\" y=\"" + fmt("%.1f", T + 10) + "\" font-size=\"10\">" + m.name + " " +
         fmt("%.3g", sec * 1e3) + "</text>";
  }
  s += "<text x=\"4\" y=\"14\" font-size=\"10\">requests</text></svg>";
  return s;
}

// Cost per 1,000 queries against quality (cosine with fp32), one point per variant.
std::string cost_quality_svg(const BenchReport& r) {
  constexpr double W = 560, H = 260, L = 70, B = 40, T = 15, R = 20;
  double cmin = 1e300, cmax = 0, qmin = 1.0, qmax = 1.0;
  for (const VariantResult& v : r.variants) {
    if (!v.ok()) continue;
    cmin = std::min(cmin, v.usd_per_1k);
    cmax = std::max(cmax, v.usd_per_1k);
    qmin = std::min(qmin, v.cosine);
  }
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"560\" height=\"260\" role=\"img\">"
                  "<title>cost per 1,000 queries against quality</title>";
  if (cmin > cmax) return s + "<text x=\"10\" y=\"20\">no results</text></svg>";
  cmin = 0;
  cmax = cmax > 0 ? cmax * 1.15 : 1.0;
  qmin = std::max(0.0, qmin - std::max(1e-4, (qmax - qmin) * 0.2));
  auto X = [&](double c) { return L + (c - cmin) / (cmax - cmin) * (W - L - R); };
  auto Y = [&](double q) { return H - B - (q - qmin) / std::max(1e-12, qmax - qmin) * (H - B - T); };
  s += "<line x1=\"" + fmt("%.1f", L) + "\" y1=\"" + fmt("%.1f", H - B) + "\" x2=\"" + fmt("%.1f", W - R) + "\" y2=\"" +
       fmt("%.1f", H - B) + "\" stroke=\"#444\"/>";
  s += "<line x1=\"" + fmt("%.1f", L) + "\" y1=\"" + fmt("%.1f", T) + "\" x2=\"" + fmt("%.1f", L) + "\" y2=\"" +
       fmt("%.1f", H - B) + "\" stroke=\"#444\"/>";
  for (int k = 0; k <= 4; ++k) {
    const double c = cmin + (cmax - cmin) * k / 4.0;
    s += "<text x=\"" + fmt("%.1f", X(c)) + "\" y=\"" + fmt("%.1f", H - B + 14) + "\" font-size=\"10\" text-anchor=\"middle\">$" +
         fmt("%.4g", c) + "</text>";
    const double q = qmin + (qmax - qmin) * k / 4.0;
    s += "<text x=\"" + fmt("%.1f", L - 4) + "\" y=\"" + fmt("%.1f", Y(q) + 3) + "\" font-size=\"10\" text-anchor=\"end\">" +
         fmt("%.5f", q) + "</text>";
  }
  s += "<text x=\"" + fmt("%.1f", (L + W - R) / 2) + "\" y=\"" + fmt("%.1f", H - 6) +
       "\" font-size=\"11\" text-anchor=\"middle\">USD per 1,000 queries (lower is cheaper)</text>";
  s += "<text x=\"12\" y=\"" + fmt("%.1f", (T + H - B) / 2) + "\" font-size=\"11\" transform=\"rotate(-90 12 " +
       fmt("%.1f", (T + H - B) / 2) + ")\" text-anchor=\"middle\">cosine vs fp32</text>";
  size_t k = 0;
  for (const VariantResult& v : r.variants) {
    const char* color = kColors[k++ % 6];
    if (!v.ok()) continue;
    const double x = X(v.usd_per_1k), y = Y(v.cosine);
    s += "<circle cx=\"" + fmt("%.1f", x) + "\" cy=\"" + fmt("%.1f", y) + "\" r=\"6\" fill=\"" + color + "\"><title>" +
         esc(v.variant) + ": $" + fmt("%.6f", v.usd_per_1k) + " per 1k, cosine " + fmt("%.6f", v.cosine) + "</title></circle>";
    s += "<text x=\"" + fmt("%.1f", x + 9) + "\" y=\"" + fmt("%.1f", y + 4) + "\" font-size=\"11\">" + esc(v.variant) + "</text>";
  }
  return s + "</svg>";
}

// Rows per batch the batcher formed.
std::string batch_svg(const VariantResult& v, const char* color) {
  constexpr double W = 560, H = 160, L = 40, B = 28, T = 10, R = 10;
  uint64_t peak = 1;
  for (uint64_t c : v.batch_rows) peak = std::max(peak, c);
  const size_t n = v.batch_rows.size();
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"560\" height=\"160\" role=\"img\"><title>batch sizes " +
                  esc(v.variant) + "</title>";
  const double bw = (W - L - R) / static_cast<double>(std::max<size_t>(1, n - 1));
  for (size_t rows = 1; rows < n; ++rows) {
    const double hgt = static_cast<double>(v.batch_rows[rows]) / static_cast<double>(peak) * (H - B - T);
    const double x = L + static_cast<double>(rows - 1) * bw;
    s += "<rect x=\"" + fmt("%.1f", x) + "\" y=\"" + fmt("%.1f", H - B - hgt) + "\" width=\"" + fmt("%.1f", std::max(1.0, bw - 2)) +
         "\" height=\"" + fmt("%.1f", hgt) + "\" fill=\"" + color + "\"><title>" + std::to_string(rows) + " rows: " +
         std::to_string(v.batch_rows[rows]) + " batches</title></rect>";
    if (n <= 33 || rows % 4 == 0)
      s += "<text x=\"" + fmt("%.1f", x + bw / 2) + "\" y=\"" + fmt("%.1f", H - B + 12) +
           "\" font-size=\"9\" text-anchor=\"middle\">" + std::to_string(rows) + "</text>";
  }
  s += "<text x=\"" + fmt("%.1f", W / 2) + "\" y=\"" + fmt("%.1f", H - 4) +
       "\" font-size=\"10\" text-anchor=\"middle\">rows per batch</text></svg>";
  return s;
}

}  // namespace

std::string bench_html(const BenchReport& r) {
  const BenchConfig& c = r.config;
  std::string s =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>obol bench: " + esc(c.model_path) +
      "</title>\n<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse}"
      "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f3f3f3}td:first-child,"
      "th:first-child{text-align:left}.err{color:#b00}figure{margin:1em 0}figcaption{font-size:0.9em;color:#555}"
      "</style></head><body>\n";
  s += "<h1>obol bench</h1>\n<p>model <code>" + esc(c.model_path) + "</code><br>machine: " + esc(r.machine) +
       "<br>price: $" + fmt("%.2f", c.usd_per_hour) + " per hour · batch " + std::to_string(c.batch) + " · concurrency " +
       std::to_string(c.concurrency) + (c.batcher ? " · batcher max_batch=" + std::to_string(c.max_batch) +
                                                        " max_delay_us=" + std::to_string(c.max_delay_us)
                                                  : std::string()) +
       (c.cache ? " · exact cache, repeat share " + fmt("%.2f", c.repeat_share) : std::string()) + "</p>\n";
  s += "<p>Cost per 1,000 queries = usd_per_hour × 1000 / (3600 × QPS); a query is one row. Percentiles come from a "
       "log-bucket histogram (20 buckets per decade) with interpolation.</p>\n";
  s += "<table><tr><th>variant</th><th>mode</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th><th>QPS</th>"
       "<th>peak RSS MiB</th><th>model MiB</th><th>$ / 1k queries</th><th>cosine vs fp32</th><th>top-1 agreement</th></tr>\n";
  for (const VariantResult& v : r.variants) {
    if (!v.ok()) {
      s += "<tr><td>" + esc(v.variant) + "</td><td>" + esc(v.mode) + "</td><td class=\"err\" colspan=\"10\">unavailable: " +
           esc(v.error) + "</td></tr>\n";
      continue;
    }
    s += "<tr><td>" + esc(v.variant) + "</td><td>" + esc(v.mode) + "</td><td>" + fmt("%.3f", v.latency.quantile(0.5) * 1e3) +
         "</td><td>" + fmt("%.3f", v.latency.quantile(0.95) * 1e3) + "</td><td>" + fmt("%.3f", v.latency.quantile(0.99) * 1e3) +
         "</td><td>" + fmt("%.3f", v.latency.max * 1e3) + "</td><td>" + fmt("%.1f", v.qps) + "</td><td>" +
         fmt("%.1f", static_cast<double>(v.peak_rss_bytes) / 1048576.0) + "</td><td>" +
         fmt("%.2f", static_cast<double>(v.model_bytes) / 1048576.0) + "</td><td>" + fmt("%.6f", v.usd_per_1k) + "</td><td>" +
         fmt("%.6f", v.cosine) + "</td><td>" + fmt("%.1f%%", v.top1_agreement * 100) + "</td></tr>\n";
  }
  s += "</table>\n<h2>Cost against quality</h2>\n<figure>" + cost_quality_svg(r) +
       "<figcaption>Each point is a variant: further left is cheaper, higher is closer to fp32.</figcaption></figure>\n";
  s += "<h2>Latency</h2>\n";
  size_t k = 0;
  for (const VariantResult& v : r.variants) {
    const char* color = kColors[k++ % 6];
    if (!v.ok()) continue;
    s += "<figure>" + latency_svg(v, color) + "<figcaption>" + esc(v.variant) + " (" + esc(v.mode) + "): " +
         std::to_string(v.requests) + " requests in " + fmt("%.2f", v.seconds) + " s</figcaption></figure>\n";
    if (!v.batch_rows.empty())
      s += "<figure>" + batch_svg(v, color) + "<figcaption>" + esc(v.variant) + ": batches the batcher formed, mean " +
           fmt("%.2f", v.mean_batch) + " rows</figcaption></figure>\n";
    if (!v.ops.empty()) {
      s += "<table><tr><th>op (" + esc(v.variant) + ")</th><th>calls</th><th>total ms</th><th>share</th></tr>\n";
      for (size_t i = 0; i < v.ops.size() && i < 12; ++i)
        s += "<tr><td>" + esc(v.ops[i].op) + "</td><td>" + std::to_string(v.ops[i].calls) + "</td><td>" +
             fmt("%.2f", v.ops[i].total_ms) + "</td><td>" + fmt("%.1f%%", v.ops[i].share * 100) + "</td></tr>\n";
      s += "</table>\n";
    }
    if (!v.note.empty()) s += "<p>" + esc(v.variant) + ": " + esc(v.note) + "</p>\n";
  }
  s += "</body></html>\n";
  return s;
}

}  // namespace cli
}  // inline namespace v1
}  // namespace obol
