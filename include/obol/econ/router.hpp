// obol/econ/router.hpp — send each query to a small or a large model, and say what that costs.
//
// Both classes decide with one *escalation score* per query: the higher it is, the more the query
// needs the large model. A query escalates when score > threshold.
//
//   Signal             score                                  known before running the small model
//   input_length       the length of one input (see below)    yes  (Router)
//   classifier         whatever the user callback returns     yes  (Router)
//   top_probability    1 - p(top class)                       no   (Cascade)
//   entropy            entropy of the class distribution      no   (Cascade)
//                      (nats)
//   top2_margin        1 - (p(top) - p(second))               no   (Cascade)
//
// Router scores the inputs and runs one model. Cascade runs the small model, scores its output
// (confidence signals, or a classifier that sees inputs and small outputs), and runs the large model
// when the score is above the threshold; the large model's outputs then replace the small ones.
//
// calibrate(samples, target_large_fraction) scores the samples and sets the threshold to the
// (1 - target) quantile of their scores, so that share of similar traffic escalates. Ties (e.g.
// integer lengths) can make the exact share unreachable; the threshold is then the one whose share
// is closest.
//
// Cost: each model has a price per 1,000 queries, given directly (usd_per_1k) or derived from its
// measured mean latency and a $/hour price (usd_per_hour × latency_s × 1000 / 3600). stats()
// reports the share escalated and the mean cost per query and per 1,000 queries.
//
// Threading: run(), score(), stats() may be called from any number of threads (sessions come from
// an internal pool, one per concurrent caller). calibrate() and set_threshold() may run concurrently
// with run(); a run sees either the old or the new threshold.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "obol/econ/metrics.hpp"
#include "obol/obol.hpp"

namespace obol {
inline namespace v1 {
namespace econ {

enum class RouteSignal { input_length, classifier, top_probability, entropy, top2_margin };
const char* route_signal_name(RouteSignal s) noexcept;

// Confidence of one class distribution (a row of logits or probabilities).
struct Confidence {
  double top_probability = 0;
  double second_probability = 0;
  double entropy = 0;  // nats
  double top2_margin() const noexcept { return top_probability - second_probability; }
};
// `logits` = true applies a softmax first; otherwise the row must already hold probabilities
// (they are renormalised). n >= 1.
Confidence confidence_of(const float* row, int64_t n, bool logits) noexcept;
// The escalation score of a distribution for a confidence signal (input_length and classifier are
// not confidence signals and give 0).
double escalation_score(const Confidence& c, RouteSignal s) noexcept;

// The threshold t such that the share of `scores` strictly above t is as close as possible to
// `target_large_fraction` (in [0, 1]). Fails on an empty sample or a target outside [0, 1].
Result<double> calibrate_threshold(std::vector<double> scores, double target_large_fraction);

struct ModelCost {
  double usd_per_1k = 0;    // if > 0, the price per 1,000 queries
  double usd_per_hour = 0;  // else, if > 0, priced from measured latency
};

// Per-query classifier: returns an escalation score (e.g. the probability that the large model is
// needed). For a Cascade, `small_outputs` are the small model's outputs; for a Router they are empty.
using RouteClassifier =
    std::function<Result<double>(const std::vector<TensorView>& inputs, const std::vector<Tensor>& small_outputs)>;

struct RouterOptions {
  RouteSignal signal = RouteSignal::input_length;
  double threshold = 0;  // escalate when score > threshold (calibrate() sets it)
  // input_length: dim `length_axis` of input `length_input` (negative axes count from the end);
  // with count_nonzero, the number of non-zero elements of that input per row instead (an
  // attention mask).
  int length_input = 0;
  int length_axis = -1;
  bool count_nonzero = false;
  RouteClassifier classifier;  // RouteSignal::classifier
  // Confidence signals: which small-model output holds the class scores (last axis = classes;
  // several rows: the highest score among them counts) and whether they are logits.
  int confidence_output = 0;
  bool outputs_are_logits = true;
  ModelCost small_cost, large_cost;
  SessionOptions session;
  // Optional: also count into this registry, which must outlive the Router/Cascade: counters
  // obol_router_queries_total and obol_router_escalated_total with `metrics_labels`.
  MetricsRegistry* metrics = nullptr;
  Labels metrics_labels;
};

struct RouteStats {
  uint64_t queries = 0;
  uint64_t escalated = 0;      // ran the large model
  double share_escalated = 0;  // escalated / queries
  double small_mean_ms = 0;    // measured mean latency per run of each model
  double large_mean_ms = 0;
  uint64_t small_runs = 0, large_runs = 0;
  double usd_per_query = 0;    // mean over the queries so far
  double usd_per_1k = 0;
  double threshold = 0;
};

enum class Route { small, large };

namespace detail {
class SessionPool;
}

// Routes before running: input_length or classifier signals.
class Router {
 public:
  static Result<std::unique_ptr<Router>> create(std::shared_ptr<const Model> small, std::shared_ptr<const Model> large,
                                                const RouterOptions& options);
  ~Router();

  Result<double> score(const std::vector<TensorView>& inputs) const;
  Result<Route> route(const std::vector<TensorView>& inputs) const;
  // Runs the chosen model; `chosen` (optional) says which.
  Status run(const std::vector<TensorView>& inputs, std::vector<Tensor>& outputs, Route* chosen = nullptr);
  // Scores the samples and sets the threshold; returns it.
  Result<double> calibrate(const std::vector<std::vector<TensorView>>& samples, double target_large_fraction);
  void set_threshold(double t) noexcept { threshold_.store(t); }
  double threshold() const noexcept { return threshold_.load(); }
  RouteStats stats() const;

 private:
  Router() = default;
  RouterOptions options_;
  std::atomic<double> threshold_{0};
  std::atomic<uint64_t> queries_{0}, escalated_{0};
  Counter *m_queries_ = nullptr, *m_escalated_ = nullptr;
  std::unique_ptr<detail::SessionPool> small_, large_;
};

// Runs the small model first, escalates to the large one when the score is above the threshold.
class Cascade {
 public:
  static Result<std::unique_ptr<Cascade>> create(std::shared_ptr<const Model> small, std::shared_ptr<const Model> large,
                                                 const RouterOptions& options);
  ~Cascade();

  // The escalation score of the small model's outputs for these inputs.
  Result<double> score(const std::vector<TensorView>& inputs, const std::vector<Tensor>& small_outputs) const;
  // Small model, then the large one if needed; `chosen` (optional) says whose outputs these are.
  Status run(const std::vector<TensorView>& inputs, std::vector<Tensor>& outputs, Route* chosen = nullptr);
  // Runs the small model on each sample, scores it, and sets the threshold; returns it.
  Result<double> calibrate(const std::vector<std::vector<TensorView>>& samples, double target_large_fraction);
  void set_threshold(double t) noexcept { threshold_.store(t); }
  double threshold() const noexcept { return threshold_.load(); }
  RouteStats stats() const;

 private:
  Cascade() = default;
  RouterOptions options_;
  std::atomic<double> threshold_{0};
  std::atomic<uint64_t> queries_{0}, escalated_{0};
  Counter *m_queries_ = nullptr, *m_escalated_ = nullptr;
  std::unique_ptr<detail::SessionPool> small_, large_;
};

}  // namespace econ
}  // inline namespace v1
}  // namespace obol
