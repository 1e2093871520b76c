// obol/econ/profiler.hpp — where the time of a run goes: per-op times and shares, request latency
// percentiles, and a Chrome trace (chrome://tracing, https://ui.perfetto.dev).
//
//   auto& prof = session->enable_profiling();          // or session->set_profiler(shared_profiler)
//   for (...) session->run(inputs, outputs);
//   std::puts(prof.op_table().c_str());                // op, calls, total ms, share
//   double p99 = prof.latency().quantile(0.99);        // seconds
//   prof.write_chrome_trace("trace.json");
//   std::string text = prof.prometheus_text();         // per-op counters, latency histogram, memory
//
// A Profiler is a graph::RunObserver: executors hand it one timestamp per node of each run they are
// given it for (runs without a profiler take no timestamps). Sessions also give it each run's
// end-to-end latency (input checks and output copies included) through record_request().
//
// Threading: every member is thread-safe; one profiler may serve many sessions on many threads.
// Recording takes one short mutex hold per run. Op names are captured the first time a compiled
// graph is seen and keyed by its address, so a profiler should not outlive the models it observed
// and then observe new ones (a new profiler per model set keeps names right).
//
// Memory: op aggregates are per compiled-graph step (fixed). Trace events grow by one per node per
// run up to ProfilerOptions::max_trace_events; later ones are counted in dropped_trace_events().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "obol/core/status.hpp"
#include "obol/econ/metrics.hpp"
#include "obol/graph/executor.hpp"

namespace obol {
inline namespace v1 {
namespace econ {

struct ProfilerOptions {
  bool trace = true;                   // keep Chrome-trace events
  size_t max_trace_events = 1u << 20;  // about 40 MiB of events at most
};

// Time spent in one op type (all nodes of that op), over every observed run.
struct OpStat {
  std::string op;        // ONNX op type, e.g. "MatMul"
  uint64_t calls = 0;    // node executions
  double total_ms = 0;
  double share = 0;      // of the time of all ops; the shares of op_stats() sum to 1
};

// Time spent in one node.
struct NodeStat {
  std::string node;      // node name ("<op>#<step>" for unnamed nodes)
  std::string op;
  uint64_t calls = 0;
  double total_ms = 0;
  double share = 0;
};

class Profiler final : public graph::RunObserver {
 public:
  // With `registry` null the profiler owns its registry; otherwise it registers into the given one
  // (which must outlive it), so a host can export one registry for all its components.
  explicit Profiler(ProfilerOptions options = {}, MetricsRegistry* registry = nullptr);
  ~Profiler() override;
  Profiler(const Profiler&) = delete;
  Profiler& operator=(const Profiler&) = delete;

  // graph::RunObserver: per-node times of one executor run.
  void on_run(const graph::RunTimeline& timeline) noexcept override;
  // One request's end-to-end time (obol::now_ns() clock): into the obol_request_latency_seconds
  // histogram, the obol_requests_total / obol_request_errors_total counters and, as a "request"
  // event named `name`, the trace.
  void record_request(uint64_t start_ns, uint64_t end_ns, bool ok, std::string_view name = "run") noexcept;
  // The arena of a session that ran: the obol_arena_bytes gauge keeps the largest.
  void record_arena_bytes(size_t bytes) noexcept;

  // Sorted by total time, largest first.
  std::vector<OpStat> op_stats() const;
  std::vector<NodeStat> node_stats() const;
  // A readable table of op_stats(): op, calls, total ms, mean µs, share; at most `max_rows` rows.
  std::string op_table(size_t max_rows = 25) const;
  // Request latency in seconds (record_request()).
  HistogramSnapshot latency() const;
  uint64_t runs() const;  // executor runs observed

  // Chrome trace event format (JSON object form): one complete event ("ph":"X", ts/dur in µs since
  // the profiler was created) per executed node (cat "op", args: op, step) and per request
  // (cat "request"), with pid 1 and a small per-thread tid, plus thread-name metadata events.
  std::string chrome_trace_json() const;
  Status write_chrome_trace(const std::string& path) const;
  uint64_t dropped_trace_events() const;

  // Publishes the per-op totals (obol_op_seconds_total{op}, obol_op_calls_total{op}) and process
  // memory into the registry, then renders it in Prometheus text format.
  std::string prometheus_text();
  MetricsRegistry& metrics() noexcept { return *registry_; }

  // Forgets op times, trace events and latencies (registry counters keep counting: they are
  // Prometheus counters).
  void reset();

 private:
  struct GraphRecord;
  struct TraceEvent {
    uint64_t ts_ns, dur_ns;
    uint32_t graph;  // index into graphs_, or UINT32_MAX for a request event
    uint32_t step;   // step, or index into request_names_
    uint32_t tid;
    uint32_t ok;
  };
  GraphRecord& graph_record(const graph::CompiledGraph& g);  // mutex held

  ProfilerOptions options_;
  std::unique_ptr<MetricsRegistry> owned_registry_;
  MetricsRegistry* registry_;
  Histogram* latency_;
  Counter* requests_;
  Counter* request_errors_;
  Gauge* arena_bytes_;
  uint64_t epoch_ns_;

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<GraphRecord>> graphs_;
  std::vector<TraceEvent> events_;
  std::vector<std::string> request_names_;
  std::vector<std::string> published_ops_;  // op types with registry counters
  std::vector<double> published_seconds_;   // what was already added to them
  std::vector<uint64_t> published_calls_;
  uint64_t runs_ = 0;
  uint64_t dropped_ = 0;
  std::unique_ptr<Histogram> session_latency_;  // reset()-able copy of the request latencies
};

}  // namespace econ
}  // inline namespace v1
}  // namespace obol
