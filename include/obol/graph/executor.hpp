// obol/graph/executor.hpp — compiling a graph against backends, and running it.
//
// CompiledGraph: the graph's nodes in execution order, each placed on a backend and compiled into a
// Kernel. Immutable once built; every session of a model shares one (and with it the weights and
// pre-packed weights the kernels hold).
//
// Executor: one session's execution state — the arena, the memory plan, the value slots. Not
// thread-safe: one run at a time per Executor; run many Executors of one CompiledGraph concurrently.
//
// Memory: intermediate values live in one arena whose offsets come from plan_memory() over the
// value lifetimes. The plan is made from the sizes the values actually had, so the first run with
// new input shapes allocates as it goes and re-plans afterwards; later runs with the same shapes
// allocate nothing on the heap (run_into with caller-owned outputs), and elementwise kernels write
// in place over inputs that die at their node.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "obol/backend/backend.hpp"
#include "obol/core/allocator.hpp"
#include "obol/graph/graph.hpp"

namespace obol {
inline namespace v1 {
namespace graph {

// Where a node runs and, if it fell back from a higher-priority backend, why.
struct NodePlacement {
  NodeId node = kNoNode;
  std::string backend;
  std::string fallback_reason;  // empty when the first backend in the list took it
};

class CompiledGraph {
 public:
  // Places each live node on the first backend in `backends` (priority order) that supports it and
  // compiles it. With `strict`, any node that does not go to the first backend is an error.
  // Backends must outlive nothing: kernels are self-contained once created.
  static Result<std::shared_ptr<const CompiledGraph>> compile(std::shared_ptr<const Graph> graph,
                                                              const std::vector<backend::Backend*>& backends,
                                                              bool strict = false);

  const Graph& graph() const noexcept { return *graph_; }
  const std::vector<NodePlacement>& placement() const noexcept { return placement_; }

  struct Step {
    NodeId node = kNoNode;
    std::unique_ptr<backend::Kernel> kernel;
  };
  const std::vector<Step>& steps() const noexcept { return steps_; }
  // Index of the last step that reads each value (-1 if none).
  const std::vector<int32_t>& last_use() const noexcept { return last_use_; }
  const std::vector<int32_t>& producer_step() const noexcept { return producer_step_; }

 private:
  std::shared_ptr<const Graph> graph_;
  std::vector<Step> steps_;
  std::vector<NodePlacement> placement_;
  std::vector<int32_t> last_use_;
  std::vector<int32_t> producer_step_;
};

// Per-node timing of one run, handed to a RunObserver. Step s (compiled.steps()[s]) ran from
// step_start_ns[s] to step_start_ns[s + 1] (obol::now_ns(), steady_clock unless an embedder replaced
// the clock hook); the array has steps_run + 1 entries and is valid only during on_run().
struct RunTimeline {
  const CompiledGraph* compiled = nullptr;
  const uint64_t* step_start_ns = nullptr;
  size_t steps_run = 0;  // less than compiled->steps().size() when a step failed (the failing one counts)
  bool ok = true;
};

// Receives the timeline of each run it is passed to (obol::econ::Profiler is one). Called on the
// running thread at the end of the run, failed runs included; must not throw. Runs without an
// observer take no timestamps at all.
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void on_run(const RunTimeline& timeline) noexcept = 0;
};

struct ExecutorStats {
  size_t arena_bytes = 0;
  int plans_made = 0;             // how often the memory plan was (re)built
  int last_run_allocations = 0;   // heap allocations made by the executor in the last run
};

class Executor {
 public:
  explicit Executor(std::shared_ptr<const CompiledGraph> compiled,
                    const Allocator& allocator = Allocator::default_instance());
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Runs with one view per graph input (in graph input order); fills `outputs` with newly allocated
  // tensors, one per graph output. Input dtypes and known dimensions are checked.
  // With an `observer`, each node is timestamped and the observer gets the timeline at the end.
  Status run(const std::vector<TensorView>& inputs, std::vector<Tensor>& outputs, RunObserver* observer = nullptr);
  // As run(), writing into caller-owned outputs whose dtype and shape must match what the graph
  // produces (an error naming the output otherwise).
  Status run_into(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs,
                  RunObserver* observer = nullptr);

  const ExecutorStats& stats() const noexcept { return stats_; }
  const CompiledGraph& compiled() const noexcept { return *compiled_; }

  // Cancellation: while *flag is true, a run stops before its next node and returns
  // StatusCode::cancelled (the executor stays usable). The flag may be set from any thread; the
  // executor only reads it, and it must outlive every run. nullptr (the default) turns the check off.
  void set_cancel_flag(const std::atomic<bool>* flag) noexcept { cancel_flag_ = flag; }

 private:
  class Context;
  friend class Context;
  Status run_impl(const std::vector<TensorView>& inputs, const std::vector<TensorView>* user_outputs,
                  std::vector<Tensor>* owned_outputs, RunObserver* observer);
  Status check_inputs(const std::vector<TensorView>& inputs) const;
  void replan();

  std::shared_ptr<const CompiledGraph> compiled_;
  Allocator allocator_;
  ExecutorStats stats_;

  std::vector<TensorView> slot_;         // per value: where its data is during a run
  std::vector<Tensor> dynamic_;          // per value: storage outside the arena
  std::vector<size_t> observed_bytes_;   // per value: bytes it needed in the last run
  std::vector<size_t> plan_offset_;      // per value: arena offset, SIZE_MAX if unplanned
  std::vector<size_t> plan_bytes_;       // per value: bytes reserved at that offset
  std::vector<char> output_index_set_;   // per value: is a graph output
  Tensor arena_;
  std::vector<Tensor> scratch_;          // one buffer per scratch() call of a node, reused by all nodes
  std::vector<uint64_t> step_ns_;        // per step + 1: timestamps for a RunObserver
  bool plan_stale_ = true;
  const std::atomic<bool>* cancel_flag_ = nullptr;
};

}  // namespace graph
}  // inline namespace v1
}  // namespace obol
