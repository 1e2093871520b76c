// Prometheus text exposition format 0.0.4 for a MetricsRegistry.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "obol/econ/metrics.hpp"

namespace obol {
inline namespace v1 {
namespace econ {

namespace {

// The shortest decimal that reads back as the same double; Prometheus' spellings for the specials.
std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[40];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  for (int digits : {15, 16, 17}) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

void escape_into(std::string& out, const std::string& s, bool quote) {
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (quote && c == '"') out += "\\\"";
    else out += c;
  }
}

// {a="1",b="2"} with an optional extra pair (le) at the end; empty when there are no labels.
std::string label_block(const Labels& labels, const char* extra_key = nullptr, const std::string& extra_value = {}) {
  if (labels.empty() && !extra_key) return {};
  std::string s = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) s += ',';
    first = false;
    s += k;
    s += "=\"";
    escape_into(s, v, true);
    s += '"';
  }
  if (extra_key) {
    if (!first) s += ',';
    s += extra_key;
    s += "=\"";
    escape_into(s, extra_value, true);
    s += '"';
  }
  s += '}';
  return s;
}

}  // namespace

std::string to_prometheus(const MetricsRegistry& registry) {
  std::string out;
  for (const MetricsRegistry::Family& f : registry.families()) {
    out += "# HELP " + f.name + " ";
    escape_into(out, f.help, false);
    out += "\n# TYPE " + f.name + " " + metric_kind_name(f.kind) + "\n";
    for (const MetricsRegistry::Series& s : f.series) {
      if (s.counter) {
        out += f.name + label_block(s.labels) + " " + format_value(s.counter->value()) + "\n";
      } else if (s.gauge) {
        out += f.name + label_block(s.labels) + " " + format_value(s.gauge->value()) + "\n";
      } else if (s.histogram) {
        const HistogramSnapshot snap = s.histogram->snapshot();
        uint64_t cumulative = 0;
        for (size_t i = 0; i < snap.bounds.size(); ++i) {
          cumulative += snap.counts[i];
          out += f.name + "_bucket" + label_block(s.labels, "le", format_value(snap.bounds[i])) + " " +
                 std::to_string(cumulative) + "\n";
        }
        out += f.name + "_bucket" + label_block(s.labels, "le", "+Inf") + " " + std::to_string(snap.count) + "\n";
        out += f.name + "_sum" + label_block(s.labels) + " " + format_value(snap.sum) + "\n";
        out += f.name + "_count" + label_block(s.labels) + " " + std::to_string(snap.count) + "\n";
      }
    }
  }
  return out;
}

}  // namespace econ
}  // inline namespace v1
}  // namespace obol
