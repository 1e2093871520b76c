#include "obol/graph/executor.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "obol/core/platform.hpp"
#include "obol/graph/memory_plan.hpp"

namespace obol {
inline namespace v1 {
namespace graph {

// --- CompiledGraph ------------------------------------------------------------------------------

Result<std::shared_ptr<const CompiledGraph>> CompiledGraph::compile(std::shared_ptr<const Graph> graph,
                                                                    const std::vector<backend::Backend*>& backends,
                                                                    bool strict) {
  OBOL_CHECK_OR_RETURN(graph != nullptr, invalid_argument, "executor", "no graph given");
  OBOL_CHECK_OR_RETURN(!backends.empty(), invalid_argument, "executor", "no backend given");
  OBOL_RETURN_IF_ERROR(graph->validate());
  OBOL_ASSIGN_OR_RETURN(std::vector<NodeId> order, graph->topological_order());

  std::vector<char> available(backends.size(), 0);
  std::vector<std::string> unavailable_reason(backends.size());
  for (size_t b = 0; b < backends.size(); ++b) {
    const backend::Availability a = backends[b]->probe();
    available[b] = a.ok;
    unavailable_reason[b] = a.reason;
  }

  auto cg = std::shared_ptr<CompiledGraph>(new CompiledGraph());
  cg->graph_ = graph;
  for (NodeId n : order) {
    const Node& node = graph->node(n);
    NodePlacement placed;
    placed.node = n;
    std::string declined;
    for (size_t b = 0; b < backends.size(); ++b) {
      std::string why;
      if (!available[b]) {
        why = unavailable_reason[b].empty() ? "unavailable" : unavailable_reason[b];
      } else if (backends[b]->supports(*graph, n, &why)) {
        OBOL_ASSIGN_OR_RETURN(std::unique_ptr<backend::Kernel> kernel, backends[b]->create_kernel(*graph, n));
        placed.backend = std::string(backends[b]->name());
        placed.fallback_reason = declined;
        cg->steps_.push_back(Step{n, std::move(kernel)});
        break;
      }
      if (why.empty()) why = "not supported";
      declined += str_cat(declined.empty() ? "" : "; ", backends[b]->name(), ": ", why);
      if (strict && b == 0)
        return make_status(StatusCode::unsupported, "executor", node.describe(), " cannot run on ",
                           backends[0]->name(), " (", why, ") and strict placement forbids fallback");
    }
    if (placed.backend.empty())
      return make_status(StatusCode::unsupported, "executor", node.describe(), ": no backend can run it (",
                         declined, ")");
    cg->placement_.push_back(std::move(placed));
  }

  const size_t nv = static_cast<size_t>(graph->value_count());
  cg->last_use_.assign(nv, -1);
  cg->producer_step_.assign(nv, -1);
  for (size_t s = 0; s < cg->steps_.size(); ++s) {
    const Node& node = graph->node(cg->steps_[s].node);
    for (ValueId v : node.inputs)
      if (v >= 0) cg->last_use_[static_cast<size_t>(v)] = static_cast<int32_t>(s);
    for (ValueId v : node.outputs)
      if (v >= 0) cg->producer_step_[static_cast<size_t>(v)] = static_cast<int32_t>(s);
  }
  return std::shared_ptr<const CompiledGraph>(std::move(cg));
}

// --- Executor::Context --------------------------------------------------------------------------

class Executor::Context final : public backend::KernelContext {
 public:
  Context(Executor& ex, const Node& node, const std::vector<TensorView>* user_outputs)
      : ex_(ex), node_(node), user_outputs_(user_outputs) {
    n_in_ = static_cast<int>(node.inputs.size());
  }

  int input_count() const noexcept override { return n_in_; }
  bool has_input(int i) const noexcept override {
    return i >= 0 && i < n_in_ && node_.inputs[static_cast<size_t>(i)] != kNoValue;
  }
  const TensorView& input(int i) const noexcept override {
    static const TensorView empty;
    if (!has_input(i)) return empty;
    return ex_.slot_[static_cast<size_t>(node_.inputs[static_cast<size_t>(i)])];
  }
  int output_count() const noexcept override { return static_cast<int>(node_.outputs.size()); }
  bool has_output(int i) const noexcept override {
    return i >= 0 && i < output_count() && node_.outputs[static_cast<size_t>(i)] != kNoValue;
  }

  Result<TensorView> output(int i, DType dtype, const Shape& shape) override {
    OBOL_CHECK_OR_RETURN(i >= 0 && i < output_count(), internal, "executor", node_.describe(), ": output ", i,
                         " does not exist");
    OBOL_ASSIGN_OR_RETURN(const int64_t n, shape.checked_numel());
    const size_t bytes = dtype_storage_bytes(dtype, static_cast<size_t>(n));
    OBOL_CHECK_OR_RETURN(bytes != SIZE_MAX, invalid_argument, "executor", node_.describe(), ": output ", i,
                         " of shape ", shape.to_string(), " cannot be stored as ", dtype_name(dtype));
    const ValueId v = node_.outputs[static_cast<size_t>(i)];
    if (v == kNoValue) {  // an omitted optional output the kernel writes anyway
      OBOL_ASSIGN_OR_RETURN(Tensor t, Tensor::empty(dtype, shape, ex_.allocator_));
      ++ex_.stats_.last_run_allocations;
      omitted_.push_back(std::move(t));
      return omitted_.back().view();
    }
    const size_t vi = static_cast<size_t>(v);
    ex_.observed_bytes_[vi] = bytes;
    TensorView view;
    if (ex_.output_index_set_[vi] && user_outputs_) {
      const std::vector<ValueId>& outs = ex_.compiled_->graph().outputs();
      const size_t k = static_cast<size_t>(std::find(outs.begin(), outs.end(), v) - outs.begin());
      const TensorView& u = (*user_outputs_)[k];
      OBOL_CHECK_OR_RETURN(u.dtype() == dtype && u.shape() == shape, invalid_argument, "session", "output '",
                           ex_.compiled_->graph().value(v).name, "' is ", dtype_name(dtype), shape.to_string(),
                           " but the buffer given is ", dtype_name(u.dtype()), u.shape().to_string());
      view = u;
    } else if (!ex_.output_index_set_[vi] && ex_.plan_offset_[vi] != SIZE_MAX && ex_.plan_bytes_[vi] >= bytes) {
      view = TensorView(ex_.arena_.data_as<uint8_t>() + ex_.plan_offset_[vi], dtype, shape);
    } else {
      OBOL_ASSIGN_OR_RETURN(ex_.dynamic_[vi], Tensor::empty(dtype, shape, ex_.allocator_));
      ++ex_.stats_.last_run_allocations;
      if (!ex_.output_index_set_[vi]) ex_.plan_stale_ = true;
      view = ex_.dynamic_[vi].view();
    }
    if (bytes == 0 && view.data() == nullptr) view = TensorView(&zero_byte_, dtype, shape);
    ex_.slot_[vi] = view;
    return view;
  }

  Result<void*> scratch(size_t bytes) override {
    // The k-th call of a node gets the session's k-th buffer, grown when needed, so earlier
    // pointers stay valid and later runs of the same shapes allocate nothing.
    const size_t k = scratch_calls_++;
    if (ex_.scratch_.size() <= k) ex_.scratch_.resize(k + 1);
    Tensor& buf = ex_.scratch_[k];
    if (buf.nbytes() < bytes) {
      OBOL_ASSIGN_OR_RETURN(buf, Tensor::empty(DType::u8, Shape{static_cast<int64_t>(bytes)}, ex_.allocator_));
      ++ex_.stats_.last_run_allocations;
    }
    return buf.data();
  }

 private:
  Executor& ex_;
  const Node& node_;
  const std::vector<TensorView>* user_outputs_;
  int n_in_ = 0;
  std::vector<Tensor> omitted_;
  size_t scratch_calls_ = 0;
  alignas(64) uint8_t zero_byte_ = 0;
};

// --- Executor -----------------------------------------------------------------------------------

Executor::Executor(std::shared_ptr<const CompiledGraph> compiled, const Allocator& allocator)
    : compiled_(std::move(compiled)), allocator_(allocator) {
  const Graph& g = compiled_->graph();
  const size_t nv = static_cast<size_t>(g.value_count());
  slot_.assign(nv, TensorView());
  dynamic_.resize(nv);
  observed_bytes_.assign(nv, 0);
  plan_offset_.assign(nv, SIZE_MAX);
  plan_bytes_.assign(nv, 0);
  output_index_set_.assign(nv, 0);
  for (ValueId v : g.outputs()) output_index_set_[static_cast<size_t>(v)] = 1;
  step_ns_.assign(compiled_->steps().size() + 1, 0);
  for (size_t v = 0; v < nv; ++v)
    if (g.value(static_cast<ValueId>(v)).constant) slot_[v] = g.value(static_cast<ValueId>(v)).constant->view;
}

Executor::~Executor() = default;

Status Executor::check_inputs(const std::vector<TensorView>& inputs) const {
  const Graph& g = compiled_->graph();
  OBOL_CHECK_OR_RETURN(inputs.size() == g.inputs().size(), invalid_argument, "session", "expected ",
                       g.inputs().size(), " inputs, got ", inputs.size());
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Value& v = g.value(g.inputs()[k]);
    const TensorView& t = inputs[k];
    if (v.type.dtype != DType::invalid)
      OBOL_CHECK_OR_RETURN(t.dtype() == v.type.dtype, invalid_argument, "session", "input '", v.name, "' must be ",
                           dtype_name(v.type.dtype), ", got ", dtype_name(t.dtype()));
    OBOL_CHECK_OR_RETURN(t.data() != nullptr || t.numel() == 0, invalid_argument, "session", "input '", v.name,
                         "' has no data");
    if (!v.type.rank_known) continue;
    OBOL_CHECK_OR_RETURN(static_cast<size_t>(t.rank()) == v.type.dims.size(), invalid_argument, "session",
                         "input '", v.name, "' must have shape ", v.type.to_string(), ", got ",
                         t.shape().to_string());
    for (int d = 0; d < t.rank(); ++d) {
      const Dim& want = v.type.dims[static_cast<size_t>(d)];
      OBOL_CHECK_OR_RETURN(!want.is_known() || want.value == t.shape()[d], invalid_argument, "session", "input '",
                           v.name, "' must have shape ", v.type.to_string(), ", got ", t.shape().to_string());
    }
  }
  return Status::ok();
}

Status Executor::run(const std::vector<TensorView>& inputs, std::vector<Tensor>& outputs, RunObserver* observer) {
  return run_impl(inputs, nullptr, &outputs, observer);
}

Status Executor::run_into(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs,
                          RunObserver* observer) {
  OBOL_CHECK_OR_RETURN(outputs.size() == compiled_->graph().outputs().size(), invalid_argument, "session",
                       "expected ", compiled_->graph().outputs().size(), " output buffers, got ", outputs.size());
  return run_impl(inputs, &outputs, nullptr, observer);
}

Status Executor::run_impl(const std::vector<TensorView>& inputs, const std::vector<TensorView>* user_outputs,
                          std::vector<Tensor>* owned_outputs, RunObserver* observer) {
  OBOL_RETURN_IF_ERROR(check_inputs(inputs));
  const Graph& g = compiled_->graph();
  stats_.last_run_allocations = 0;
  for (size_t k = 0; k < inputs.size(); ++k) slot_[static_cast<size_t>(g.inputs()[k])] = inputs[k];

  const auto& steps = compiled_->steps();
  const auto& last_use = compiled_->last_use();
  // Timestamps only when observed: one now_ns() per step, the step's end being the next one's start.
  uint64_t* const step_ns = observer ? step_ns_.data() : nullptr;
  size_t steps_run = 0;
  Status failure;
  for (size_t s = 0; s < steps.size() && failure.is_ok(); ++s) {
    if (cancel_flag_ && cancel_flag_->load(std::memory_order_acquire)) {
      failure = make_status(StatusCode::cancelled, "session", "run cancelled before ", g.node(steps[s].node).describe());
      break;
    }
    if (step_ns) step_ns[s] = now_ns();
    ++steps_run;
    const Node& node = g.node(steps[s].node);
    Context ctx(*this, node, user_outputs);
    for (ValueId v : node.outputs)
      if (v >= 0) slot_[static_cast<size_t>(v)] = TensorView();
    Status st = steps[s].kernel->run(ctx);
    if (!st.is_ok()) {
      failure = Status(st.code(), str_cat(st.message(), " (in ", node.describe(), ")"));
      break;
    }
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      const ValueId v = node.outputs[o];
      if (v >= 0 && slot_[static_cast<size_t>(v)].data() == nullptr)
        failure = make_status(StatusCode::internal, "executor", node.describe(), ": the kernel did not produce output ",
                              o, " ('", g.value(v).name, "')");
    }
    // Release dynamic storage of values nobody reads any more.
    for (ValueId v : node.inputs)
      if (v >= 0 && last_use[static_cast<size_t>(v)] == static_cast<int32_t>(s) && !output_index_set_[static_cast<size_t>(v)])
        dynamic_[static_cast<size_t>(v)] = Tensor();
  }
  if (step_ns) {
    step_ns[steps_run] = now_ns();
    observer->on_run(RunTimeline{compiled_.get(), step_ns, steps_run, failure.is_ok()});
  }
  if (!failure.is_ok()) {
    for (Tensor& t : dynamic_) t = Tensor();
    return failure;
  }

  // Hand over the graph outputs.
  const std::vector<ValueId>& outs = g.outputs();
  if (owned_outputs) {
    owned_outputs->clear();
    for (size_t k = 0; k < outs.size(); ++k) {
      const size_t v = static_cast<size_t>(outs[k]);
      const bool first = std::find(outs.begin(), outs.begin() + static_cast<std::ptrdiff_t>(k), outs[k]) ==
                         outs.begin() + static_cast<std::ptrdiff_t>(k);
      if (first && dynamic_[v].data() != nullptr && dynamic_[v].data() == slot_[v].data()) {
        owned_outputs->push_back(std::move(dynamic_[v]));
      } else {
        OBOL_ASSIGN_OR_RETURN(Tensor copy, Tensor::copy_of(slot_[v], allocator_));
        owned_outputs->push_back(std::move(copy));
      }
    }
  } else {
    for (size_t k = 0; k < outs.size(); ++k) {
      const TensorView& src = slot_[static_cast<size_t>(outs[k])];
      const TensorView& dst = (*user_outputs)[k];
      if (src.data() == dst.data()) continue;
      OBOL_CHECK_OR_RETURN(src.dtype() == dst.dtype() && src.shape() == dst.shape(), invalid_argument, "session",
                           "output '", g.value(outs[k]).name, "' is ", dtype_name(src.dtype()), src.shape().to_string(),
                           " but the buffer given is ", dtype_name(dst.dtype()), dst.shape().to_string());
      if (src.nbytes()) std::memcpy(dst.data(), src.data(), src.nbytes());
    }
  }
  for (ValueId v : outs) dynamic_[static_cast<size_t>(v)] = Tensor();
  if (plan_stale_) replan();
  return Status::ok();
}

void Executor::replan() {
  const Graph& g = compiled_->graph();
  const auto& steps = compiled_->steps();
  const auto& last_use = compiled_->last_use();
  const auto& producer = compiled_->producer_step();
  const size_t nv = slot_.size();

  auto plannable = [&](size_t v) {
    return producer[v] >= 0 && !output_index_set_[v] && observed_bytes_[v] > 0;
  };
  // In-place groups: an elementwise output may take over the buffer of an input that dies at its node.
  std::vector<size_t> group(nv);
  std::iota(group.begin(), group.end(), size_t{0});
  auto root = [&](size_t v) {
    while (group[v] != v) v = group[v] = group[group[v]];
    return v;
  };
  std::vector<char> donated(nv, 0);
  for (size_t s = 0; s < steps.size(); ++s) {
    const Node& node = g.node(steps[s].node);
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      const int j = steps[s].kernel->inplace_input(static_cast<int>(o));
      if (j < 0 || static_cast<size_t>(j) >= node.inputs.size()) continue;
      const ValueId vin = node.inputs[static_cast<size_t>(j)];
      const ValueId vout = node.outputs[o];
      if (vin < 0 || vout < 0) continue;
      const size_t a = static_cast<size_t>(vin), b = static_cast<size_t>(vout);
      if (!plannable(a) || !plannable(b) || donated[a] || last_use[a] != static_cast<int32_t>(s) ||
          observed_bytes_[a] != observed_bytes_[b])
        continue;
      donated[a] = 1;
      group[b] = root(a);
    }
  }
  std::vector<BufferRequest> requests;
  std::vector<size_t> request_of(nv, SIZE_MAX);
  for (size_t v = 0; v < nv; ++v) {
    if (!plannable(v)) continue;
    const size_t r = root(v);
    const int32_t first = producer[v];
    const int32_t last = std::max(first, last_use[v]);
    if (request_of[r] == SIZE_MAX) {
      request_of[r] = requests.size();
      requests.push_back({observed_bytes_[v], first, last});
    } else {
      BufferRequest& q = requests[request_of[r]];
      q.bytes = std::max(q.bytes, observed_bytes_[v]);
      q.first_step = std::min(q.first_step, first);
      q.last_step = std::max(q.last_step, last);
    }
  }
  const MemoryPlan plan = plan_memory(requests, kDefaultAlignment);
  plan_offset_.assign(nv, SIZE_MAX);
  plan_bytes_.assign(nv, 0);
  for (size_t v = 0; v < nv; ++v) {
    if (!plannable(v)) continue;
    const size_t req = request_of[root(v)];
    plan_offset_[v] = plan.offsets[req];
    plan_bytes_[v] = requests[req].bytes;
  }
  arena_ = Tensor();
  if (plan.arena_bytes > 0) {
    auto arena = Tensor::empty(DType::u8, Shape{static_cast<int64_t>(plan.arena_bytes)}, allocator_);
    if (arena.is_ok()) {
      arena_ = std::move(arena.value());
    } else {  // keep running unplanned rather than fail: every value then allocates dynamically
      plan_offset_.assign(nv, SIZE_MAX);
    }
  }
  stats_.arena_bytes = arena_.nbytes();
  ++stats_.plans_made;
  plan_stale_ = false;
}

}  // namespace graph
}  // inline namespace v1
}  // namespace obol
