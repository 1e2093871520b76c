// Chrome trace event format (the JSON object form that chrome://tracing and Perfetto open).
#include <cstdio>
#include <set>
#include <string>

#include "econ/profiler_records.hpp"

namespace obol {
inline namespace v1 {
namespace econ {

namespace {

void json_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

// Microseconds with nanosecond resolution, as trace viewers expect in "ts" and "dur".
void micros(std::string& out, uint64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llu.%03u", static_cast<unsigned long long>(ns / 1000), static_cast<unsigned>(ns % 1000));
  out += buf;
}

}  // namespace

std::string Profiler::chrome_trace_json() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  out.reserve(64 + events_.size() * 160);
  out += "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"producer\":\"obol\"},\"traceEvents\":[\n";
  out += "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":0,\"args\":{\"name\":\"obol\"}}";
  std::set<uint32_t> tids;
  for (const TraceEvent& e : events_) tids.insert(e.tid);
  for (uint32_t tid : tids) {
    out += ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":" + std::to_string(tid) +
           ",\"args\":{\"name\":\"thread " + std::to_string(tid) + "\"}}";
  }
  for (const TraceEvent& e : events_) {
    out += ",\n{\"name\":";
    const bool request = e.graph == UINT32_MAX;
    if (request) {
      json_string(out, e.step < request_names_.size() ? request_names_[e.step] : std::string("request"));
      out += ",\"cat\":\"request\"";
    } else {
      const GraphRecord& r = *graphs_[e.graph];
      json_string(out, r.node_names[e.step]);
      out += ",\"cat\":\"op\"";
    }
    out += ",\"ph\":\"X\",\"ts\":";
    micros(out, e.ts_ns >= epoch_ns_ ? e.ts_ns - epoch_ns_ : 0);
    out += ",\"dur\":";
    micros(out, e.dur_ns);
    out += ",\"pid\":1,\"tid\":" + std::to_string(e.tid) + ",\"args\":{";
    if (request) {
      out += e.ok ? "\"ok\":true" : "\"ok\":false";
    } else {
      out += "\"op\":";
      json_string(out, graphs_[e.graph]->op_types[e.step]);
      out += ",\"step\":" + std::to_string(e.step) + ",\"graph\":" + std::to_string(e.graph);
    }
    out += "}}";
  }
  out += "\n]}\n";
  return out;
}

Status Profiler::write_chrome_trace(const std::string& path) const {
  const std::string json = chrome_trace_json();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  OBOL_CHECK_OR_RETURN(f != nullptr, io_error, "profiler", "cannot open '", path, "' for writing");
  const size_t written = std::fwrite(json.data(), 1, json.size(), f);
  const bool closed = std::fclose(f) == 0;
  OBOL_CHECK_OR_RETURN(written == json.size() && closed, io_error, "profiler", "writing '", path, "' failed");
  return Status::ok();
}

}  // namespace econ
}  // inline namespace v1
}  // namespace obol
