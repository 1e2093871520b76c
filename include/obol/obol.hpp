// obol/obol.hpp — the C++ API: load a model once, run it from as many sessions as you like.
//
//   auto model = obol::Model::load("encoder.onnx");            // Result<std::shared_ptr<const Model>>
//   auto session = obol::Session::create(*model);              // Result<std::unique_ptr<Session>>
//   std::vector<obol::Tensor> outputs;
//   obol::Status st = (*session)->run({input_view}, outputs);
//
// Model: immutable after loading, shared by reference count, safe to use from any thread. It owns
// the graph and the weights (memory-mapped from the file, not copied) and caches the compiled
// kernels (with pre-packed weights) per backend list, so all sessions share them.
// Session: one run at a time; create one per thread for concurrency. Its memory (the arena) is
// planned from the shapes it has seen; runs with the same shapes allocate nothing on the heap when
// outputs are given with run_into().
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "obol/core.hpp"
#include "obol/econ/profiler.hpp"
#include "obol/graph/executor.hpp"
#include "obol/graph/graph.hpp"
#include "obol/graph/passes.hpp"

namespace obol {
inline namespace v1 {

using graph::OptLevel;  // none, basic, extended, all (obol/graph/passes.hpp)

struct ModelOptions {
  OptLevel opt_level = OptLevel::all;
};

struct SessionOptions {
  // Backends in priority order; "cpu" is appended when missing (it runs every op the loaders accept).
  std::vector<std::string> backends{"cpu"};
  // Any node that does not run on the first backend is an error instead of a fallback.
  bool strict_placement = false;
};

// A graph input or output as users see it. dims: -1 for a dimension not known until run time,
// with its symbolic name in `symbols` where the model names it.
struct TensorInfo {
  std::string name;
  DType dtype = DType::invalid;
  std::vector<int64_t> dims;
  std::vector<std::string> symbols;
  bool rank_known = false;
};

class Model {
 public:
  // Loads an ONNX file (memory-mapped; weights are not copied).
  static Result<std::shared_ptr<const Model>> load(const std::string& path, const ModelOptions& options = {});
  // Adopts a graph built in code (or by another loader).
  static Result<std::shared_ptr<const Model>> from_graph(std::shared_ptr<graph::Graph> graph,
                                                         const ModelOptions& options = {});

  const graph::Graph& graph() const noexcept { return *graph_; }
  // What the load-time passes did.
  const graph::PassReport& pass_report() const noexcept { return pass_report_; }
  std::vector<TensorInfo> inputs() const;
  std::vector<TensorInfo> outputs() const;

  // The compiled form for a backend list (cached; thread-safe).
  Result<std::shared_ptr<const graph::CompiledGraph>> compiled(const SessionOptions& options) const;

 private:
  Model() = default;
  std::shared_ptr<const graph::Graph> graph_;
  ModelOptions options_;
  graph::PassReport pass_report_;
  mutable std::mutex mutex_;
  mutable std::vector<std::pair<std::string, std::shared_ptr<const graph::CompiledGraph>>> compiled_;
};

class Session {
 public:
  static Result<std::unique_ptr<Session>> create(std::shared_ptr<const Model> model,
                                                 const SessionOptions& options = {});

  // One view per model input, in model input order; `outputs` receives one new tensor per output.
  Status run(const std::vector<TensorView>& inputs, std::vector<Tensor>& outputs);
  // As run(), writing into caller-owned buffers of the exact output dtypes and shapes.
  Status run_into(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs);

  // Which backend runs each node, and why any node fell back.
  const std::vector<graph::NodePlacement>& placement() const noexcept { return executor_->compiled().placement(); }
  // A readable table of placement(): "node  op  backend  reason".
  std::string placement_report() const;
  const graph::ExecutorStats& stats() const noexcept { return executor_->stats(); }
  const Model& model() const noexcept { return *model_; }

  // Profiling (obol/econ/profiler.hpp). With a profiler set, each run records per-node times, its
  // end-to-end latency and the arena size into it; without one (the default) runs take no
  // timestamps. A profiler is thread-safe and may be shared by many sessions (shared ownership).
  void set_profiler(std::shared_ptr<econ::Profiler> profiler) noexcept { profiler_ = std::move(profiler); }
  // Sets a new profiler of this session's own unless one is set already; returns the one in use.
  econ::Profiler& enable_profiling(const econ::ProfilerOptions& options = {});
  void disable_profiling() noexcept { profiler_.reset(); }
  econ::Profiler* profiler() const noexcept { return profiler_.get(); }

 private:
  Session() = default;
  std::shared_ptr<const Model> model_;
  std::unique_ptr<graph::Executor> executor_;
  std::shared_ptr<econ::Profiler> profiler_;
};

}  // inline namespace v1
}  // namespace obol
