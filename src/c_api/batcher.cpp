// obol_batcher: the C face of econ::Batcher, and the helpers the economics handles share.
#include <cstring>

#include "c_api/c_api_internal.hpp"
#include "obol/econ/batcher.hpp"

namespace obol {
inline namespace v1 {
namespace capi {

obol_status* econ_session_options(const char* component, const obol_session_options* options, int& level,
                                  SessionOptions& out) {
  level = ModelState::kDefaultLevel;
  if (!options) return nullptr;
  const SessionOptionsState& s = options->state;
  if (s.serial || s.metrics)
    return make_error(OBOL_ERROR_UNSUPPORTED,
                      str_cat("[", component, "] session option '", s.serial ? "threads" : "metrics",
                              "' = 1 applies to obol_session only; use the ", component, "'s own metrics"));
  out = s.options;
  level = s.opt_level;
  return nullptr;
}

obol_status* gather_views(const char* component, const char* function, const obol_tensor* const* inputs, size_t n,
                          std::vector<TensorView>& views) {
  if (n > 0 && !inputs) return null_argument(function, "inputs");
  views.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (!inputs[i])
      return make_error(OBOL_ERROR_INVALID_ARGUMENT, str_cat("[", component, "] ", function, ": inputs[", i, "] is NULL"));
    views.push_back(inputs[i]->box.view);
  }
  return nullptr;
}

obol_status* hand_out(const char* component, const char* function, std::vector<Tensor>& results,
                      const std::shared_ptr<EnvState>& env, obol_tensor** outputs, size_t n_outputs) {
  if (results.size() != n_outputs)
    return make_error(OBOL_ERROR_INVALID_ARGUMENT, str_cat("[", component, "] ", function, ": the model has ",
                                                           results.size(), " outputs, n_outputs is ", n_outputs));
  const AllocatorHooks& mine = env->allocator.hooks();
  const AllocatorHooks& dflt = Allocator::default_instance().hooks();
  const bool same = mine.alloc == dflt.alloc && mine.free == dflt.free && mine.user == dflt.user;
  std::vector<std::unique_ptr<obol_tensor>> boxes;
  boxes.reserve(results.size());
  for (Tensor& t : results) {
    if (same) {
      boxes.push_back(box_owned(std::move(t), env));
    } else {
      OBOL_C_ASSIGN_OR_RETURN(Tensor copy, Tensor::copy_of(t.view(), env->allocator));
      boxes.push_back(box_owned(std::move(copy), env));
    }
  }
  for (size_t k = 0; k < n_outputs; ++k) outputs[k] = boxes[k].release();
  return nullptr;
}

void borrow(const std::vector<TensorView>& views, std::vector<obol_tensor>& boxes, std::vector<const obol_tensor*>& ptrs) {
  boxes.resize(views.size());
  ptrs.resize(views.size());
  for (size_t i = 0; i < views.size(); ++i) {
    boxes[i].box.view = views[i];
    for (int d = 0; d < views[i].rank(); ++d) boxes[i].box.dims[d] = views[i].shape()[d];
    ptrs[i] = &boxes[i];
  }
}

namespace {

constexpr size_t kBatcherOptionsV1 = sizeof(obol_batcher_options);
constexpr size_t kBatcherStatsV1 = sizeof(obol_batcher_stats);

}  // namespace
}  // namespace capi
}  // inline namespace v1
}  // namespace obol

using namespace obol::capi;

// Members are destroyed in reverse order: the batcher (and its workers) first, then the registry it
// records into, then the model.
struct obol_batcher {
  std::shared_ptr<ModelState> model_state;
  std::shared_ptr<const obol::Model> model;
  obol::econ::MetricsRegistry registry;
  std::unique_ptr<obol::econ::Batcher> batcher;
  size_t n_outputs = 0;
};

extern "C" {

obol_status* obol_batcher_create(obol_model* model, const obol_session_options* session_options,
                                 const obol_batcher_options* options, obol_batcher** out) {
  return guarded("obol_batcher_create", [&]() -> obol_status* {
    if (!model) return null_argument("obol_batcher_create", "model");
    if (!out) return null_argument("obol_batcher_create", "out");
    obol::econ::BatcherOptions bo;
    if (options) {
      if (obol_status* s = check_struct_size("obol_batcher_create", "obol_batcher_options", options->struct_size,
                                             kBatcherOptionsV1, sizeof(obol_batcher_options)))
        return s;
      const obol_batcher_options& o = *options;
      if (o.max_batch < 0 || o.max_delay_us < 0 || o.priority_levels < 0 || o.default_timeout_us < 0 || o.workers < 0)
        return make_error(OBOL_ERROR_INVALID_ARGUMENT,
                          obol::str_cat("[batcher] obol_batcher_options: negative value (max_batch ", o.max_batch,
                                        ", max_delay_us ", o.max_delay_us, ", priority_levels ", o.priority_levels,
                                        ", default_timeout_us ", o.default_timeout_us, ", workers ", o.workers, ")"));
      if (o.n_preferred > 0 && !o.preferred_batch) return null_argument("obol_batcher_create", "preferred_batch");
      if (o.max_batch > 0) bo.max_batch = o.max_batch;
      bo.preferred_batch.assign(o.preferred_batch, o.preferred_batch + o.n_preferred);
      bo.max_delay = std::chrono::microseconds(o.max_delay_us);
      bo.max_queue = o.max_queue;
      if (o.priority_levels > 0) bo.priority_levels = o.priority_levels;
      bo.default_timeout = std::chrono::microseconds(o.default_timeout_us);
      if (o.workers > 0) bo.workers = o.workers;
    } else {
      bo.max_delay = std::chrono::microseconds(0);  // as a zeroed obol_batcher_options
      bo.max_queue = 0;
    }
    int level = 0;
    if (obol_status* s = econ_session_options("batcher", session_options, level, bo.session)) return s;
    auto b = std::make_unique<obol_batcher>();
    OBOL_C_ASSIGN_OR_RETURN(b->model, model->state->model_at(level));
    b->model_state = model->state;
    b->n_outputs = model->state->outputs.size();
    bo.metrics = &b->registry;
    OBOL_C_ASSIGN_OR_RETURN(b->batcher, obol::econ::Batcher::create(b->model, bo));
    *out = b.release();
    return nullptr;
  });
}

void obol_batcher_free(obol_batcher* batcher) {
  try {
    delete batcher;
  } catch (...) {
  }
}

obol_status* obol_batcher_submit(obol_batcher* batcher, const obol_tensor* const* inputs, size_t n_inputs,
                                 obol_tensor** outputs, size_t n_outputs, int priority, int64_t timeout_us) {
  return guarded("obol_batcher_submit", [&]() -> obol_status* {
    if (!batcher) return null_argument("obol_batcher_submit", "batcher");
    if (n_outputs > 0 && !outputs) return null_argument("obol_batcher_submit", "outputs");
    if (n_outputs != batcher->n_outputs)
      return make_error(OBOL_ERROR_INVALID_ARGUMENT,
                        obol::str_cat("[batcher] obol_batcher_submit: the model has ", batcher->n_outputs,
                                      " outputs, n_outputs is ", n_outputs));
    const int levels = batcher->batcher->options().priority_levels;
    if (priority < 0 || priority >= levels)
      return make_error(OBOL_ERROR_INVALID_ARGUMENT, obol::str_cat("[batcher] obol_batcher_submit: priority ", priority,
                                                                   " is outside [0, ", levels - 1, "]"));
    if (timeout_us < 0)
      return make_error(OBOL_ERROR_INVALID_ARGUMENT,
                        obol::str_cat("[batcher] obol_batcher_submit: timeout_us ", timeout_us, " is negative"));
    std::vector<obol::TensorView> in;
    if (obol_status* s = gather_views("batcher", "obol_batcher_submit", inputs, n_inputs, in)) return s;
    obol::econ::RequestOptions ro;
    ro.priority = priority;
    ro.timeout = std::chrono::microseconds(timeout_us);
    obol::Result<obol::econ::BatchOutputs> r = batcher->batcher->submit(in, ro);
    if (!r.is_ok()) return from_status(r.status());
    return hand_out("batcher", "obol_batcher_submit", r.value(), batcher->model_state->env, outputs, n_outputs);
  });
}

obol_status* obol_batcher_shutdown(obol_batcher* batcher) {
  return guarded("obol_batcher_shutdown", [&]() -> obol_status* {
    if (!batcher) return null_argument("obol_batcher_shutdown", "batcher");
    batcher->batcher->shutdown();
    return nullptr;
  });
}

obol_status* obol_batcher_queue_size(const obol_batcher* batcher, size_t* out) {
  return guarded("obol_batcher_queue_size", [&]() -> obol_status* {
    if (!batcher) return null_argument("obol_batcher_queue_size", "batcher");
    if (!out) return null_argument("obol_batcher_queue_size", "out");
    *out = batcher->batcher->queue_size();
    return nullptr;
  });
}

obol_status* obol_batcher_get_stats(const obol_batcher* batcher, obol_batcher_stats* out) {
  return guarded("obol_batcher_get_stats", [&]() -> obol_status* {
    if (!batcher) return null_argument("obol_batcher_get_stats", "batcher");
    if (!out) return null_argument("obol_batcher_get_stats", "out");
    if (obol_status* s = check_struct_size("obol_batcher_get_stats", "obol_batcher_stats", out->struct_size,
                                           kBatcherStatsV1, sizeof(obol_batcher_stats)))
      return s;
    const obol::econ::BatcherStats st = batcher->batcher->stats();
    obol_batcher_stats r;
    std::memset(&r, 0, sizeof r);
    r.struct_size = out->struct_size;
    r.accepted = st.accepted;
    r.rejected = st.rejected;
    r.timed_out = st.timed_out;
    r.cancelled_by_shutdown = st.cancelled_by_shutdown;
    r.completed = st.completed;
    r.failed = st.failed;
    r.batches = st.batches;
    r.mean_batch_rows = st.mean_batch_rows();
    r.queue_us_sum = st.queue_us_sum;
    r.queue_us_max = st.queue_us_max;
    std::memcpy(out, &r, out->struct_size);
    return nullptr;
  });
}

obol_status* obol_batcher_batch_counts(const obol_batcher* batcher, uint64_t* rows, uint64_t* requests,
                                       size_t n_counts) {
  return guarded("obol_batcher_batch_counts", [&]() -> obol_status* {
    if (!batcher) return null_argument("obol_batcher_batch_counts", "batcher");
    if (n_counts > 0 && !rows && !requests)
      return null_argument("obol_batcher_batch_counts", "rows and requests (at least one)");
    const obol::econ::BatcherStats st = batcher->batcher->stats();
    for (size_t i = 0; i < n_counts; ++i) {
      if (rows) rows[i] = i < st.batch_rows.size() ? st.batch_rows[i] : 0;
      if (requests) requests[i] = i < st.batch_requests.size() ? st.batch_requests[i] : 0;
    }
    return nullptr;
  });
}

obol_status* obol_batcher_metrics_prometheus(const obol_batcher* batcher, char** out) {
  return guarded("obol_batcher_metrics_prometheus", [&]() -> obol_status* {
    if (!batcher) return null_argument("obol_batcher_metrics_prometheus", "batcher");
    if (!out) return null_argument("obol_batcher_metrics_prometheus", "out");
    char* s = copy_string(obol::econ::to_prometheus(batcher->registry));
    if (!s) return out_of_memory();
    *out = s;
    return nullptr;
  });
}

}  // extern "C"
