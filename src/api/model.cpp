#include <algorithm>

#include "obol/backend/backend.hpp"
#include "obol/formats/onnx.hpp"
#include "obol/formats/onnx_graph.hpp"
#include "obol/obol.hpp"

namespace obol {
inline namespace v1 {

namespace {

TensorInfo info_of(const graph::Value& v) {
  TensorInfo t;
  t.name = v.name;
  t.dtype = v.type.dtype;
  t.rank_known = v.type.rank_known;
  for (const graph::Dim& d : v.type.dims) {
    t.dims.push_back(d.is_known() ? d.value : -1);
    t.symbols.push_back(d.symbol);
  }
  return t;
}

std::vector<std::string> backend_list(const SessionOptions& options) {
  std::vector<std::string> names = options.backends;
  if (std::find(names.begin(), names.end(), "cpu") == names.end()) names.push_back("cpu");
  return names;
}

}  // namespace

Result<std::shared_ptr<const Model>> Model::load(const std::string& path, const ModelOptions& options) {
  OBOL_ASSIGN_OR_RETURN(onnx::OnnxModel onnx_model, onnx::load_onnx_file(path));
  OBOL_ASSIGN_OR_RETURN(std::shared_ptr<graph::Graph> g, onnx::to_graph(onnx_model));
  return from_graph(std::move(g), options);
}

Result<std::shared_ptr<const Model>> Model::from_graph(std::shared_ptr<graph::Graph> graph, const ModelOptions& options) {
  OBOL_CHECK_OR_RETURN(graph != nullptr, invalid_argument, "model", "no graph given");
  OBOL_RETURN_IF_ERROR(graph->validate());
  graph->remove_dead_nodes();
  OBOL_ASSIGN_OR_RETURN(graph::PassReport report, graph::optimize(*graph, options.opt_level));
  auto m = std::shared_ptr<Model>(new Model());
  m->pass_report_ = std::move(report);
  m->graph_ = std::move(graph);
  m->options_ = options;
  return std::shared_ptr<const Model>(std::move(m));
}

std::vector<TensorInfo> Model::inputs() const {
  std::vector<TensorInfo> r;
  for (graph::ValueId v : graph_->inputs()) r.push_back(info_of(graph_->value(v)));
  return r;
}

std::vector<TensorInfo> Model::outputs() const {
  std::vector<TensorInfo> r;
  for (graph::ValueId v : graph_->outputs()) r.push_back(info_of(graph_->value(v)));
  return r;
}

Result<std::shared_ptr<const graph::CompiledGraph>> Model::compiled(const SessionOptions& options) const {
  const std::vector<std::string> names = backend_list(options);
  std::string key = options.strict_placement ? "strict:" : "";
  for (const std::string& n : names) key += n + ",";
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [k, c] : compiled_)
    if (k == key) return c;
  std::vector<std::unique_ptr<backend::Backend>> owned;
  std::vector<backend::Backend*> backends;
  for (const std::string& n : names) {
    OBOL_ASSIGN_OR_RETURN(std::unique_ptr<backend::Backend> b, backend::make_backend(n));
    backends.push_back(b.get());
    owned.push_back(std::move(b));
  }
  OBOL_ASSIGN_OR_RETURN(std::shared_ptr<const graph::CompiledGraph> c,
                        graph::CompiledGraph::compile(graph_, backends, options.strict_placement));
  compiled_.emplace_back(key, c);
  return c;
}

Result<std::unique_ptr<Session>> Session::create(std::shared_ptr<const Model> model, const SessionOptions& options) {
  OBOL_CHECK_OR_RETURN(model != nullptr, invalid_argument, "session", "no model given");
  OBOL_ASSIGN_OR_RETURN(std::shared_ptr<const graph::CompiledGraph> c, model->compiled(options));
  auto s = std::unique_ptr<Session>(new Session());
  s->model_ = std::move(model);
  s->executor_ = std::make_unique<graph::Executor>(std::move(c));
  return s;
}

Status Session::run(const std::vector<TensorView>& inputs, std::vector<Tensor>& outputs) {
  if (!profiler_) return executor_->run(inputs, outputs);
  const uint64_t t0 = now_ns();
  Status st = executor_->run(inputs, outputs, profiler_.get());
  profiler_->record_request(t0, now_ns(), st.is_ok());
  profiler_->record_arena_bytes(executor_->stats().arena_bytes);
  return st;
}

Status Session::run_into(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs) {
  if (!profiler_) return executor_->run_into(inputs, outputs);
  const uint64_t t0 = now_ns();
  Status st = executor_->run_into(inputs, outputs, profiler_.get());
  profiler_->record_request(t0, now_ns(), st.is_ok());
  profiler_->record_arena_bytes(executor_->stats().arena_bytes);
  return st;
}

econ::Profiler& Session::enable_profiling(const econ::ProfilerOptions& options) {
  if (!profiler_) profiler_ = std::make_shared<econ::Profiler>(options);
  return *profiler_;
}

std::string Session::placement_report() const {
  const graph::CompiledGraph& c = executor_->compiled();
  std::string r;
  for (const graph::NodePlacement& p : c.placement()) {
    const graph::Node& n = c.graph().node(p.node);
    r += str_cat(n.name, "\t", graph::op_info(n.op).op_type, "\t", p.backend);
    if (!p.fallback_reason.empty()) r += str_cat("\tfallback: ", p.fallback_reason);
    r += "\n";
  }
  return r;
}

}  // inline namespace v1
}  // namespace obol
