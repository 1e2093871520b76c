// obol_router: the C face of econ::Router (route before running) and econ::Cascade (small model
// first, escalate on low confidence), with calibration and cost accounting.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "c_api/c_api_internal.hpp"
#include "obol/econ/router.hpp"

using namespace obol::capi;

// Members are destroyed in reverse order: the router or cascade (and their sessions) first, then
// the registry they count into, then the models.
struct obol_router {
  std::shared_ptr<ModelState> small_state, large_state;
  obol::econ::MetricsRegistry registry;
  std::unique_ptr<obol::econ::Router> router;    // OBOL_ROUTER_PRE_ROUTE
  std::unique_ptr<obol::econ::Cascade> cascade;  // OBOL_ROUTER_CASCADE
  size_t n_inputs = 0, n_outputs = 0;
};

namespace obol {
inline namespace v1 {
namespace capi {
namespace {

constexpr size_t kRouterOptionsV1 = sizeof(obol_router_options);
constexpr size_t kRouterStatsV1 = sizeof(obol_router_stats);

obol_status* build_options(const obol_router_options& o, econ::RouterOptions& r, bool& cascade) {
  const int mode = enum_value(o.mode);
  const int signal = enum_value(o.signal);
  if (mode != OBOL_ROUTER_PRE_ROUTE && mode != OBOL_ROUTER_CASCADE)
    return make_error(OBOL_ERROR_INVALID_ARGUMENT, str_cat("[router] mode ", mode, " is not an obol_router_mode"));
  if (signal < OBOL_ROUTE_SIGNAL_INPUT_LENGTH || signal > OBOL_ROUTE_SIGNAL_TOP2_MARGIN)
    return make_error(OBOL_ERROR_INVALID_ARGUMENT, str_cat("[router] signal ", signal, " is not an obol_route_signal"));
  static const econ::RouteSignal kSignals[] = {econ::RouteSignal::input_length, econ::RouteSignal::classifier,
                                               econ::RouteSignal::top_probability, econ::RouteSignal::entropy,
                                               econ::RouteSignal::top2_margin};
  cascade = mode == OBOL_ROUTER_CASCADE;
  r.signal = kSignals[signal];
  r.threshold = o.threshold;
  r.length_input = o.length_input;
  r.length_axis = o.length_axis;
  r.count_nonzero = o.count_nonzero != 0;
  r.confidence_output = o.confidence_output;
  r.outputs_are_logits = o.outputs_are_probabilities == 0;
  const double prices[] = {o.small_usd_per_1k, o.small_usd_per_hour, o.large_usd_per_1k, o.large_usd_per_hour};
  for (double p : prices)
    if (!(p >= 0) || !std::isfinite(p))
      return make_error(OBOL_ERROR_INVALID_ARGUMENT, str_cat("[router] obol_router_options: price ", p,
                                                             " is not a finite number >= 0"));
  r.small_cost = {o.small_usd_per_1k, o.small_usd_per_hour};
  r.large_cost = {o.large_usd_per_1k, o.large_usd_per_hour};
  if (o.classifier) {
    obol_route_classifier_fn fn = o.classifier;
    void* user = o.classifier_user;
    r.classifier = [fn, user](const std::vector<TensorView>& inputs,
                              const std::vector<Tensor>& small_outputs) -> Result<double> {
      std::vector<obol_tensor> ib, ob;
      std::vector<const obol_tensor*> ip, op;
      borrow(inputs, ib, ip);
      std::vector<TensorView> sv;
      sv.reserve(small_outputs.size());
      for (const Tensor& t : small_outputs) sv.push_back(t.view());
      borrow(sv, ob, op);
      double score = 0;
      const int rc = fn(user, ip.data(), ip.size(), op.data(), op.size(), &score);
      if (rc != 0) return make_status(StatusCode::internal, "router", "the classifier callback returned ", rc);
      if (std::isnan(score)) return make_status(StatusCode::invalid_argument, "router", "the classifier returned NaN");
      return score;
    };
  }
  return nullptr;
}

}  // namespace
}  // namespace capi
}  // inline namespace v1
}  // namespace obol

extern "C" {

obol_status* obol_router_create(obol_model* small_model, obol_model* large_model,
                                const obol_session_options* session_options, const obol_router_options* options,
                                obol_router** out) {
  return guarded("obol_router_create", [&]() -> obol_status* {
    if (!small_model) return null_argument("obol_router_create", "small_model");
    if (!large_model) return null_argument("obol_router_create", "large_model");
    if (!options) return null_argument("obol_router_create", "options");
    if (!out) return null_argument("obol_router_create", "out");
    if (obol_status* s = check_struct_size("obol_router_create", "obol_router_options", options->struct_size,
                                           kRouterOptionsV1, sizeof(obol_router_options)))
      return s;
    obol::econ::RouterOptions ro;
    bool cascade = false;
    if (obol_status* s = build_options(*options, ro, cascade)) return s;
    int level = 0;
    if (obol_status* s = econ_session_options("router", session_options, level, ro.session)) return s;
    const ModelState& sm = *small_model->state;
    const ModelState& lg = *large_model->state;
    if (sm.inputs.size() != lg.inputs.size() || sm.outputs.size() != lg.outputs.size())
      return make_error(OBOL_ERROR_INVALID_ARGUMENT,
                        obol::str_cat("[router] the small model has ", sm.inputs.size(), " inputs and ",
                                      sm.outputs.size(), " outputs, the large one ", lg.inputs.size(), " and ",
                                      lg.outputs.size(), "; both need the same"));
    auto r = std::make_unique<obol_router>();
    OBOL_C_ASSIGN_OR_RETURN(std::shared_ptr<const obol::Model> small, small_model->state->model_at(level));
    OBOL_C_ASSIGN_OR_RETURN(std::shared_ptr<const obol::Model> large, large_model->state->model_at(level));
    r->small_state = small_model->state;
    r->large_state = large_model->state;
    r->n_inputs = sm.inputs.size();
    r->n_outputs = sm.outputs.size();
    ro.metrics = &r->registry;
    if (cascade) {
      OBOL_C_ASSIGN_OR_RETURN(r->cascade, obol::econ::Cascade::create(std::move(small), std::move(large), ro));
    } else {
      OBOL_C_ASSIGN_OR_RETURN(r->router, obol::econ::Router::create(std::move(small), std::move(large), ro));
    }
    *out = r.release();
    return nullptr;
  });
}

void obol_router_free(obol_router* router) {
  try {
    delete router;
  } catch (...) {
  }
}

obol_status* obol_router_run(obol_router* router, const obol_tensor* const* inputs, size_t n_inputs,
                             obol_tensor** outputs, size_t n_outputs, obol_route* route) {
  return guarded("obol_router_run", [&]() -> obol_status* {
    if (!router) return null_argument("obol_router_run", "router");
    if (n_outputs > 0 && !outputs) return null_argument("obol_router_run", "outputs");
    if (n_outputs != router->n_outputs)
      return make_error(OBOL_ERROR_INVALID_ARGUMENT, obol::str_cat("[router] obol_router_run: the models have ",
                                                                   router->n_outputs, " outputs, n_outputs is ",
                                                                   n_outputs));
    std::vector<obol::TensorView> in;
    if (obol_status* s = gather_views("router", "obol_router_run", inputs, n_inputs, in)) return s;
    if (in.size() != router->n_inputs)
      return make_error(OBOL_ERROR_INVALID_ARGUMENT, obol::str_cat("[router] obol_router_run: the models have ",
                                                                   router->n_inputs, " inputs, n_inputs is ",
                                                                   n_inputs));
    std::vector<obol::Tensor> results;
    obol::econ::Route chosen = obol::econ::Route::small;
    OBOL_C_RETURN_IF_ERROR(router->cascade ? router->cascade->run(in, results, &chosen)
                                           : router->router->run(in, results, &chosen));
    const bool large = chosen == obol::econ::Route::large;
    const std::shared_ptr<EnvState>& env = (large ? router->large_state : router->small_state)->env;
    if (obol_status* s = hand_out("router", "obol_router_run", results, env, outputs, n_outputs)) return s;
    if (route) *route = large ? OBOL_ROUTE_LARGE : OBOL_ROUTE_SMALL;
    return nullptr;
  });
}

obol_status* obol_router_calibrate(obol_router* router, const obol_tensor* const* samples, size_t n_samples,
                                   size_t n_inputs, double target_large_fraction, double* threshold) {
  return guarded("obol_router_calibrate", [&]() -> obol_status* {
    if (!router) return null_argument("obol_router_calibrate", "router");
    if (n_inputs != router->n_inputs)
      return make_error(OBOL_ERROR_INVALID_ARGUMENT,
                        obol::str_cat("[router] obol_router_calibrate: the models have ", router->n_inputs,
                                      " inputs, n_inputs is ", n_inputs));
    if (n_inputs > 0 && n_samples > SIZE_MAX / n_inputs)
      return make_error(OBOL_ERROR_OUT_OF_RANGE, "[router] obol_router_calibrate: n_samples * n_inputs overflows");
    std::vector<obol::TensorView> flat;
    if (obol_status* s = gather_views("router", "obol_router_calibrate", samples, n_samples * n_inputs, flat)) return s;
    std::vector<std::vector<obol::TensorView>> sets(n_samples);
    for (size_t i = 0; i < n_samples; ++i)
      sets[i].assign(flat.begin() + static_cast<std::ptrdiff_t>(i * n_inputs),
                     flat.begin() + static_cast<std::ptrdiff_t>((i + 1) * n_inputs));
    OBOL_C_ASSIGN_OR_RETURN(const double t, router->cascade ? router->cascade->calibrate(sets, target_large_fraction)
                                                            : router->router->calibrate(sets, target_large_fraction));
    if (threshold) *threshold = t;
    return nullptr;
  });
}

obol_status* obol_router_set_threshold(obol_router* router, double threshold) {
  if (!router) return null_argument("obol_router_set_threshold", "router");
  if (std::isnan(threshold)) return make_error(OBOL_ERROR_INVALID_ARGUMENT, "[router] obol_router_set_threshold: NaN");
  if (router->cascade) router->cascade->set_threshold(threshold);
  else router->router->set_threshold(threshold);
  return nullptr;
}

obol_status* obol_router_get_stats(const obol_router* router, obol_router_stats* out) {
  return guarded("obol_router_get_stats", [&]() -> obol_status* {
    if (!router) return null_argument("obol_router_get_stats", "router");
    if (!out) return null_argument("obol_router_get_stats", "out");
    if (obol_status* s = check_struct_size("obol_router_get_stats", "obol_router_stats", out->struct_size,
                                           kRouterStatsV1, sizeof(obol_router_stats)))
      return s;
    const obol::econ::RouteStats st = router->cascade ? router->cascade->stats() : router->router->stats();
    obol_router_stats r;
    std::memset(&r, 0, sizeof r);
    r.struct_size = out->struct_size;
    r.queries = st.queries;
    r.escalated = st.escalated;
    r.share_escalated = st.share_escalated;
    r.small_runs = st.small_runs;
    r.large_runs = st.large_runs;
    r.small_mean_ms = st.small_mean_ms;
    r.large_mean_ms = st.large_mean_ms;
    r.usd_per_query = st.usd_per_query;
    r.usd_per_1k = st.usd_per_1k;
    r.threshold = st.threshold;
    std::memcpy(out, &r, out->struct_size);
    return nullptr;
  });
}

obol_status* obol_router_metrics_prometheus(const obol_router* router, char** out) {
  return guarded("obol_router_metrics_prometheus", [&]() -> obol_status* {
    if (!router) return null_argument("obol_router_metrics_prometheus", "router");
    if (!out) return null_argument("obol_router_metrics_prometheus", "out");
    char* s = copy_string(obol::econ::to_prometheus(router->registry));
    if (!s) return out_of_memory();
    *out = s;
    return nullptr;
  });
}

}  // extern "C"
