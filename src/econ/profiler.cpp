#include "obol/econ/profiler.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>

#include "econ/profiler_records.hpp"
#include "obol/core/platform.hpp"
#include "obol/graph/op_kind.hpp"

namespace obol {
inline namespace v1 {
namespace econ {

uint32_t trace_thread_id() noexcept {
  static std::atomic<uint32_t> next{1};
  thread_local const uint32_t id = next.fetch_add(1, std::memory_order_relaxed);
  return id;
}

Profiler::Profiler(ProfilerOptions options, MetricsRegistry* registry)
    : options_(options),
      owned_registry_(registry ? nullptr : std::make_unique<MetricsRegistry>()),
      registry_(registry ? registry : owned_registry_.get()),
      epoch_ns_(now_ns()),
      session_latency_(std::make_unique<Histogram>(Histogram::latency_bounds())) {
  latency_ = &registry_->histogram("obol_request_latency_seconds", "End-to-end latency of a session run",
                                   Histogram::latency_bounds());
  requests_ = &registry_->counter("obol_requests_total", "Session runs");
  request_errors_ = &registry_->counter("obol_request_errors_total", "Session runs that returned an error");
  arena_bytes_ = &registry_->gauge("obol_arena_bytes", "Largest session arena (planned intermediate memory)");
}

Profiler::~Profiler() = default;

Profiler::GraphRecord& Profiler::graph_record(const graph::CompiledGraph& g) {
  for (const auto& r : graphs_)
    if (r->compiled == &g) return *r;
  auto r = std::make_unique<GraphRecord>();
  r->compiled = &g;
  const auto& steps = g.steps();
  for (size_t s = 0; s < steps.size(); ++s) {
    const graph::Node& node = g.graph().node(steps[s].node);
    const std::string op(graph::op_info(node.op).op_type);
    r->op_types.push_back(op);
    r->node_names.push_back(node.name.empty() ? op + "#" + std::to_string(s) : node.name);
  }
  r->total_ns.assign(steps.size(), 0);
  r->calls.assign(steps.size(), 0);
  graphs_.push_back(std::move(r));
  return *graphs_.back();
}

void Profiler::on_run(const graph::RunTimeline& t) noexcept {
  if (!t.compiled || !t.step_start_ns) return;
  const uint32_t tid = trace_thread_id();
  try {
    std::lock_guard<std::mutex> lock(mutex_);
    GraphRecord& r = graph_record(*t.compiled);
    const uint32_t gi = static_cast<uint32_t>(
        std::find_if(graphs_.begin(), graphs_.end(), [&](const auto& p) { return p.get() == &r; }) - graphs_.begin());
    const size_t n = std::min(t.steps_run, r.total_ns.size());
    for (size_t s = 0; s < n; ++s) {
      const uint64_t a = t.step_start_ns[s], b = t.step_start_ns[s + 1];
      const uint64_t d = b > a ? b - a : 0;
      r.total_ns[s] += d;
      ++r.calls[s];
    }
    ++runs_;
    if (options_.trace) {
      for (size_t s = 0; s < n; ++s) {
        if (events_.size() >= options_.max_trace_events) {
          dropped_ += n - s;
          break;
        }
        const uint64_t a = t.step_start_ns[s], b = t.step_start_ns[s + 1];
        events_.push_back(TraceEvent{a, b > a ? b - a : 0, gi, static_cast<uint32_t>(s), tid, 1});
      }
    }
  } catch (...) {  // out of memory while growing the records: drop this run's data
  }
}

void Profiler::record_request(uint64_t start_ns, uint64_t end_ns, bool ok, std::string_view name) noexcept {
  const double seconds = end_ns > start_ns ? static_cast<double>(end_ns - start_ns) * 1e-9 : 0.0;
  latency_->record(seconds);
  session_latency_->record(seconds);
  requests_->inc();
  if (!ok) request_errors_->inc();
  if (!options_.trace) return;
  const uint32_t tid = trace_thread_id();
  try {
    std::lock_guard<std::mutex> lock(mutex_);
    if (events_.size() >= options_.max_trace_events) {
      ++dropped_;
      return;
    }
    uint32_t ni = 0;
    while (ni < request_names_.size() && request_names_[ni] != name) ++ni;
    if (ni == request_names_.size()) request_names_.emplace_back(name);
    events_.push_back(TraceEvent{start_ns, end_ns > start_ns ? end_ns - start_ns : 0, UINT32_MAX, ni, tid, ok ? 1u : 0u});
  } catch (...) {
  }
}

void Profiler::record_arena_bytes(size_t bytes) noexcept { arena_bytes_->set_max(static_cast<double>(bytes)); }

std::vector<OpStat> Profiler::op_stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::map<std::string, OpStat> by_op;
  uint64_t all_ns = 0;
  std::map<std::string, uint64_t> ns_by_op;
  for (const auto& r : graphs_)
    for (size_t s = 0; s < r->total_ns.size(); ++s) {
      OpStat& o = by_op[r->op_types[s]];
      o.op = r->op_types[s];
      o.calls += r->calls[s];
      ns_by_op[o.op] += r->total_ns[s];
      all_ns += r->total_ns[s];
    }
  std::vector<OpStat> out;
  for (auto& [op, o] : by_op) {
    if (o.calls == 0) continue;
    const uint64_t ns = ns_by_op[op];
    o.total_ms = static_cast<double>(ns) * 1e-6;
    o.share = all_ns ? static_cast<double>(ns) / static_cast<double>(all_ns) : 0.0;
    out.push_back(o);
  }
  std::sort(out.begin(), out.end(), [](const OpStat& a, const OpStat& b) { return a.total_ms > b.total_ms; });
  return out;
}

std::vector<NodeStat> Profiler::node_stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t all_ns = 0;
  for (const auto& r : graphs_)
    for (uint64_t ns : r->total_ns) all_ns += ns;
  std::vector<NodeStat> out;
  for (const auto& r : graphs_)
    for (size_t s = 0; s < r->total_ns.size(); ++s) {
      if (r->calls[s] == 0) continue;
      NodeStat n;
      n.node = r->node_names[s];
      n.op = r->op_types[s];
      n.calls = r->calls[s];
      n.total_ms = static_cast<double>(r->total_ns[s]) * 1e-6;
      n.share = all_ns ? static_cast<double>(r->total_ns[s]) / static_cast<double>(all_ns) : 0.0;
      out.push_back(std::move(n));
    }
  std::sort(out.begin(), out.end(), [](const NodeStat& a, const NodeStat& b) { return a.total_ms > b.total_ms; });
  return out;
}

std::string Profiler::op_table(size_t max_rows) const {
  const std::vector<OpStat> ops = op_stats();
  std::string s;
  char line[160];
  std::snprintf(line, sizeof line, "%-24s %10s %12s %10s %7s\n", "op", "calls", "total ms", "mean us", "share");
  s += line;
  for (size_t i = 0; i < ops.size() && i < max_rows; ++i) {
    const OpStat& o = ops[i];
    std::snprintf(line, sizeof line, "%-24s %10llu %12.3f %10.2f %6.1f%%\n", o.op.c_str(),
                  static_cast<unsigned long long>(o.calls), o.total_ms,
                  o.calls ? o.total_ms * 1e3 / static_cast<double>(o.calls) : 0.0, o.share * 100.0);
    s += line;
  }
  if (ops.size() > max_rows) s += "(" + std::to_string(ops.size() - max_rows) + " more ops)\n";
  return s;
}

HistogramSnapshot Profiler::latency() const { return session_latency_->snapshot(); }

uint64_t Profiler::runs() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return runs_;
}

uint64_t Profiler::dropped_trace_events() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return dropped_;
}

std::string Profiler::prometheus_text() {
  const std::vector<OpStat> ops = op_stats();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const OpStat& o : ops) {
      size_t k = 0;
      while (k < published_ops_.size() && published_ops_[k] != o.op) ++k;
      if (k == published_ops_.size()) {
        published_ops_.push_back(o.op);
        published_seconds_.push_back(0);
        published_calls_.push_back(0);
      }
      // Counters only go up: publish the growth since the last export (reset() does not rewind them).
      const double seconds = o.total_ms * 1e-3;
      if (seconds > published_seconds_[k]) {
        registry_->counter("obol_op_seconds_total", "Time spent in each op type", {{"op", o.op}})
            .inc(seconds - published_seconds_[k]);
        published_seconds_[k] = seconds;
      }
      if (o.calls > published_calls_[k]) {
        registry_->counter("obol_op_calls_total", "Executions of each op type", {{"op", o.op}})
            .inc(static_cast<double>(o.calls - published_calls_[k]));
        published_calls_[k] = o.calls;
      }
    }
  }
  record_process_memory(*registry_);
  return to_prometheus(*registry_);
}

void Profiler::reset() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& r : graphs_) {
    std::fill(r->total_ns.begin(), r->total_ns.end(), 0);
    std::fill(r->calls.begin(), r->calls.end(), 0);
  }
  events_.clear();
  dropped_ = 0;
  runs_ = 0;
  // The published totals restart with the op times, so later exports add only new time.
  std::fill(published_seconds_.begin(), published_seconds_.end(), 0.0);
  std::fill(published_calls_.begin(), published_calls_.end(), 0);
  session_latency_->reset();
}

}  // namespace econ
}  // inline namespace v1
}  // namespace obol
