// Router and cascade: escalation scores, quantile calibration, and cost accounting per model.
#include "obol/econ/router.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "econ/session_pool.hpp"

namespace obol {
inline namespace v1 {
namespace econ {

const char* route_signal_name(RouteSignal s) noexcept {
  switch (s) {
    case RouteSignal::input_length: return "input_length";
    case RouteSignal::classifier: return "classifier";
    case RouteSignal::top_probability: return "top_probability";
    case RouteSignal::entropy: return "entropy";
    case RouteSignal::top2_margin: return "top2_margin";
  }
  return "unknown";
}

Confidence confidence_of(const float* row, int64_t n, bool logits) noexcept {
  Confidence c;
  if (n <= 0) return c;
  const size_t m = static_cast<size_t>(n);
  double zmax = -std::numeric_limits<double>::infinity();
  if (logits)
    for (size_t i = 0; i < m; ++i) zmax = std::max(zmax, static_cast<double>(row[i]));
  auto weight = [&](size_t i) -> double {
    const double x = row[i];
    if (logits) return std::isfinite(zmax) ? std::exp(x - zmax) : 0.0;
    return x > 0 && std::isfinite(x) ? x : 0.0;
  };
  double z = 0;
  for (size_t i = 0; i < m; ++i) z += weight(i);
  if (!(z > 0) || !std::isfinite(z)) {
    // No usable mass: treat as uniform (least confident).
    c.top_probability = 1.0 / static_cast<double>(m);
    c.second_probability = m > 1 ? c.top_probability : 0.0;
    c.entropy = std::log(static_cast<double>(m));
    return c;
  }
  for (size_t i = 0; i < m; ++i) {
    const double p = weight(i) / z;
    if (p > c.top_probability) {
      c.second_probability = c.top_probability;
      c.top_probability = p;
    } else if (p > c.second_probability) {
      c.second_probability = p;
    }
    if (p > 0) c.entropy -= p * std::log(p);
  }
  return c;
}

double escalation_score(const Confidence& c, RouteSignal s) noexcept {
  switch (s) {
    case RouteSignal::top_probability: return 1.0 - c.top_probability;
    case RouteSignal::entropy: return c.entropy;
    case RouteSignal::top2_margin: return 1.0 - c.top2_margin();
    default: return 0.0;
  }
}

Result<double> calibrate_threshold(std::vector<double> scores, double target_large_fraction) {
  OBOL_CHECK_OR_RETURN(!scores.empty(), invalid_argument, "router", "calibration needs at least one sample");
  OBOL_CHECK_OR_RETURN(target_large_fraction >= 0.0 && target_large_fraction <= 1.0, invalid_argument, "router",
                       "target_large_fraction ", target_large_fraction, " is outside [0, 1]");
  for (double s : scores)
    OBOL_CHECK_OR_RETURN(!std::isnan(s), invalid_argument, "router", "a calibration score is NaN");
  std::sort(scores.begin(), scores.end());
  const double n = static_cast<double>(scores.size());
  // Below the smallest score every sample escalates.
  double best_t = std::nextafter(scores.front(), -std::numeric_limits<double>::infinity());
  double best_err = std::abs(1.0 - target_large_fraction);
  for (size_t i = 0; i < scores.size();) {
    size_t j = i;
    while (j < scores.size() && scores[j] == scores[i]) ++j;  // the share above scores[i] is (n - j) / n
    const double err = std::abs((n - static_cast<double>(j)) / n - target_large_fraction);
    if (err < best_err) {
      best_err = err;
      best_t = scores[i];
    }
    i = j;
  }
  return best_t;
}

namespace {

double price_per_query(const ModelCost& c, double mean_ms) {
  if (c.usd_per_1k > 0) return c.usd_per_1k / 1000.0;
  if (c.usd_per_hour > 0) return c.usd_per_hour * (mean_ms / 1000.0) / 3600.0;
  return 0.0;
}

RouteStats make_stats(uint64_t queries, uint64_t escalated, double threshold, const RouterOptions& o,
                      const detail::SessionPool& small, const detail::SessionPool& large) {
  RouteStats s;
  s.queries = queries;
  s.escalated = escalated;
  s.share_escalated = queries ? static_cast<double>(escalated) / static_cast<double>(queries) : 0.0;
  s.small_runs = small.runs();
  s.large_runs = large.runs();
  s.small_mean_ms = small.mean_ms();
  s.large_mean_ms = large.mean_ms();
  const double usd = static_cast<double>(s.small_runs) * price_per_query(o.small_cost, s.small_mean_ms) +
                     static_cast<double>(s.large_runs) * price_per_query(o.large_cost, s.large_mean_ms);
  s.usd_per_query = queries ? usd / static_cast<double>(queries) : 0.0;
  s.usd_per_1k = s.usd_per_query * 1000.0;
  s.threshold = threshold;
  return s;
}

// The largest number of non-zero elements in one row (dim 0) of `t`; -0.0 counts as non-zero.
int64_t max_nonzero_per_row(const TensorView& t) {
  const int64_t rows = t.rank() ? t.shape()[0] : 1;
  if (rows <= 0) return 0;
  const size_t esize = dtype_storage_bytes(t.dtype(), 1);
  const int64_t per_row = t.numel() / rows;
  const auto* p = static_cast<const unsigned char*>(t.data());
  int64_t best = 0;
  for (int64_t r = 0; r < rows; ++r) {
    int64_t count = 0;
    for (int64_t i = 0; i < per_row; ++i) {
      const unsigned char* e = p + static_cast<size_t>(r * per_row + i) * esize;
      bool nz = false;
      for (size_t b = 0; b < esize && !nz; ++b) nz = e[b] != 0;
      count += nz;
    }
    best = std::max(best, count);
  }
  return best;
}

Status check_options(const RouterOptions& o, bool cascade) {
  const bool confidence = o.signal == RouteSignal::top_probability || o.signal == RouteSignal::entropy ||
                          o.signal == RouteSignal::top2_margin;
  if (cascade) {
    OBOL_CHECK_OR_RETURN(confidence || o.signal == RouteSignal::classifier, invalid_argument, "cascade", "signal ",
                         route_signal_name(o.signal),
                         " is known before running the small model; use a Router for it");
  } else {
    OBOL_CHECK_OR_RETURN(!confidence, invalid_argument, "router", "signal ", route_signal_name(o.signal),
                         " needs the small model's output; use a Cascade for it");
  }
  if (o.signal == RouteSignal::classifier)
    OBOL_CHECK_OR_RETURN(static_cast<bool>(o.classifier), invalid_argument, cascade ? "cascade" : "router",
                         "signal classifier needs RouterOptions::classifier");
  OBOL_CHECK_OR_RETURN(!std::isnan(o.threshold), invalid_argument, cascade ? "cascade" : "router", "threshold is NaN");
  return Status::ok();
}

void register_counters(const RouterOptions& o, Counter*& queries, Counter*& escalated) {
  if (!o.metrics) return;
  queries = &o.metrics->counter("obol_router_queries_total", "Queries routed", o.metrics_labels);
  escalated = &o.metrics->counter("obol_router_escalated_total", "Queries sent to the large model", o.metrics_labels);
}

}  // namespace

// ---- Router ------------------------------------------------------------------------------------

Router::~Router() = default;

Result<std::unique_ptr<Router>> Router::create(std::shared_ptr<const Model> small, std::shared_ptr<const Model> large,
                                               const RouterOptions& options) {
  OBOL_RETURN_IF_ERROR(check_options(options, false));
  std::unique_ptr<Router> r(new Router());
  r->options_ = options;
  r->threshold_.store(options.threshold);
  register_counters(options, r->m_queries_, r->m_escalated_);
  OBOL_ASSIGN_OR_RETURN(r->small_, detail::SessionPool::create(std::move(small), options.session));
  OBOL_ASSIGN_OR_RETURN(r->large_, detail::SessionPool::create(std::move(large), options.session));
  return r;
}

Result<double> Router::score(const std::vector<TensorView>& inputs) const {
  if (options_.signal == RouteSignal::classifier) return options_.classifier(inputs, {});
  const int idx = options_.length_input;
  OBOL_CHECK_OR_RETURN(idx >= 0 && static_cast<size_t>(idx) < inputs.size(), out_of_range, "router", "length_input ",
                       idx, " is not among the ", inputs.size(), " inputs");
  const TensorView& t = inputs[static_cast<size_t>(idx)];
  if (options_.count_nonzero) {
    OBOL_CHECK_OR_RETURN(!dtype_is_block(t.dtype()), unsupported, "router", "count_nonzero on a block-quantized input");
    return static_cast<double>(max_nonzero_per_row(t));
  }
  OBOL_ASSIGN_OR_RETURN(const int axis, t.shape().normalize_axis(options_.length_axis));
  return static_cast<double>(t.shape()[axis]);
}

Result<Route> Router::route(const std::vector<TensorView>& inputs) const {
  OBOL_ASSIGN_OR_RETURN(const double s, score(inputs));
  return s > threshold_.load() ? Route::large : Route::small;
}

Status Router::run(const std::vector<TensorView>& inputs, std::vector<Tensor>& outputs, Route* chosen) {
  OBOL_ASSIGN_OR_RETURN(const Route r, route(inputs));
  if (chosen) *chosen = r;
  OBOL_RETURN_IF_ERROR((r == Route::large ? large_ : small_)->run(inputs, outputs));
  queries_.fetch_add(1, std::memory_order_relaxed);
  if (r == Route::large) escalated_.fetch_add(1, std::memory_order_relaxed);
  if (m_queries_) m_queries_->inc();
  if (m_escalated_ && r == Route::large) m_escalated_->inc();
  return Status::ok();
}

Result<double> Router::calibrate(const std::vector<std::vector<TensorView>>& samples, double target_large_fraction) {
  std::vector<double> scores;
  scores.reserve(samples.size());
  for (const auto& s : samples) {
    OBOL_ASSIGN_OR_RETURN(const double v, score(s));
    scores.push_back(v);
  }
  OBOL_ASSIGN_OR_RETURN(const double t, calibrate_threshold(std::move(scores), target_large_fraction));
  threshold_.store(t);
  return t;
}

RouteStats Router::stats() const {
  return make_stats(queries_.load(), escalated_.load(), threshold_.load(), options_, *small_, *large_);
}

// ---- Cascade -----------------------------------------------------------------------------------

Cascade::~Cascade() = default;

Result<std::unique_ptr<Cascade>> Cascade::create(std::shared_ptr<const Model> small, std::shared_ptr<const Model> large,
                                                 const RouterOptions& options) {
  OBOL_RETURN_IF_ERROR(check_options(options, true));
  std::unique_ptr<Cascade> c(new Cascade());
  c->options_ = options;
  c->threshold_.store(options.threshold);
  register_counters(options, c->m_queries_, c->m_escalated_);
  OBOL_ASSIGN_OR_RETURN(c->small_, detail::SessionPool::create(std::move(small), options.session));
  OBOL_ASSIGN_OR_RETURN(c->large_, detail::SessionPool::create(std::move(large), options.session));
  return c;
}

Result<double> Cascade::score(const std::vector<TensorView>& inputs, const std::vector<Tensor>& small_outputs) const {
  if (options_.signal == RouteSignal::classifier) return options_.classifier(inputs, small_outputs);
  const int idx = options_.confidence_output;
  OBOL_CHECK_OR_RETURN(idx >= 0 && static_cast<size_t>(idx) < small_outputs.size(), out_of_range, "cascade",
                       "confidence_output ", idx, " is not among the small model's ", small_outputs.size(), " outputs");
  const Tensor& t = small_outputs[static_cast<size_t>(idx)];
  OBOL_CHECK_OR_RETURN(t.dtype() == DType::f32, invalid_argument, "cascade", "confidence output is ",
                       dtype_name(t.dtype()), ", expected f32 logits or probabilities");
  OBOL_CHECK_OR_RETURN(t.rank() >= 1 && t.shape().back() >= 1 && t.numel() > 0, invalid_argument, "cascade",
                       "confidence output has shape ", t.shape().to_string(), "; its last axis must hold the classes");
  const int64_t classes = t.shape().back();
  const int64_t rows = t.numel() / classes;
  double worst = -std::numeric_limits<double>::infinity();
  for (int64_t r = 0; r < rows; ++r)
    worst = std::max(worst, escalation_score(confidence_of(t.data_as<const float>() + r * classes, classes,
                                                           options_.outputs_are_logits),
                                             options_.signal));
  return worst;
}

Status Cascade::run(const std::vector<TensorView>& inputs, std::vector<Tensor>& outputs, Route* chosen) {
  std::vector<Tensor> small_out;
  OBOL_RETURN_IF_ERROR(small_->run(inputs, small_out));
  OBOL_ASSIGN_OR_RETURN(const double s, score(inputs, small_out));
  const bool escalate = s > threshold_.load();
  if (escalate) {
    OBOL_RETURN_IF_ERROR(large_->run(inputs, outputs));
  } else {
    outputs = std::move(small_out);
  }
  if (chosen) *chosen = escalate ? Route::large : Route::small;
  queries_.fetch_add(1, std::memory_order_relaxed);
  if (escalate) escalated_.fetch_add(1, std::memory_order_relaxed);
  if (m_queries_) m_queries_->inc();
  if (m_escalated_ && escalate) m_escalated_->inc();
  return Status::ok();
}

Result<double> Cascade::calibrate(const std::vector<std::vector<TensorView>>& samples, double target_large_fraction) {
  std::vector<double> scores;
  scores.reserve(samples.size());
  std::vector<Tensor> out;
  for (const auto& s : samples) {
    OBOL_RETURN_IF_ERROR(small_->run(s, out, /*record=*/false));
    OBOL_ASSIGN_OR_RETURN(const double v, score(s, out));
    scores.push_back(v);
  }
  OBOL_ASSIGN_OR_RETURN(const double t, calibrate_threshold(std::move(scores), target_large_fraction));
  threshold_.store(t);
  return t;
}

RouteStats Cascade::stats() const {
  return make_stats(queries_.load(), escalated_.load(), threshold_.load(), options_, *small_, *large_);
}

}  // namespace econ
}  // inline namespace v1
}  // namespace obol
