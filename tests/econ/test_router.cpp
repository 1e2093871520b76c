// Router and cascade: confidence scores, calibration on held-out samples, routing, cost reports.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "econ_models.hpp"
#include "obol/econ/router.hpp"

using namespace obol;
using namespace obol::econ;
using econ_test::affine_model;
using econ_test::make_rows;

TEST_CASE("router: confidence of logits and probabilities", "[router]") {
  const float even[2] = {0, 0};
  Confidence c = confidence_of(even, 2, true);
  CHECK(c.top_probability == Approx(0.5));
  CHECK(c.entropy == Approx(std::log(2.0)));
  CHECK(c.top2_margin() == Approx(0.0));
  const float probs[3] = {0.2f, 0.7f, 0.1f};
  c = confidence_of(probs, 3, false);
  CHECK(c.top_probability == Approx(0.7));
  CHECK(c.second_probability == Approx(0.2));
  CHECK(c.entropy == Approx(-(0.7 * std::log(0.7) + 0.2 * std::log(0.2) + 0.1 * std::log(0.1))));
  CHECK(escalation_score(c, RouteSignal::top_probability) == Approx(0.3));
  CHECK(escalation_score(c, RouteSignal::top2_margin) == Approx(0.5));
  const float logits[3] = {10, 0, 0};
  CHECK(confidence_of(logits, 3, true).top_probability > 0.99);
  const float zero[2] = {0, 0};
  CHECK(confidence_of(zero, 2, false).top_probability == Approx(0.5));  // no mass: uniform
}

TEST_CASE("router: calibrate_threshold lands within 2% of the target on a held-out sample", "[router]") {
  std::mt19937 rng(11);
  std::lognormal_distribution<double> d(0.0, 1.0);
  std::vector<double> calib(20000), held(20000);
  for (double& s : calib) s = d(rng);
  for (double& s : held) s = d(rng);
  for (double target : {0.0, 0.05, 0.3, 0.5, 0.9, 1.0}) {
    Result<double> t = calibrate_threshold(calib, target);
    REQUIRE(t.is_ok());
    double above = 0;
    for (double s : held) above += s > *t;
    INFO("target " << target);
    CHECK(std::abs(above / static_cast<double>(held.size()) - target) <= 0.02);
  }
  CHECK_FALSE(calibrate_threshold({}, 0.5).is_ok());
  CHECK_FALSE(calibrate_threshold({1.0}, 1.5).is_ok());
  // Ties: integer scores 0..9 equally often; 0.25 is not reachable, the closest share (0.3) is chosen.
  std::vector<double> ints;
  for (int i = 0; i < 1000; ++i) ints.push_back(i % 10);
  Result<double> t = calibrate_threshold(ints, 0.25);
  REQUIRE(t.is_ok());
  double above = 0;
  for (double s : ints) above += s > *t;
  CHECK((above == 300 || above == 200));
}

TEST_CASE("router: routes by input length, calibrated to a target share", "[router]") {
  RouterOptions o;
  o.signal = RouteSignal::input_length;
  o.length_axis = 1;
  o.small_cost.usd_per_1k = 1.0;
  o.large_cost.usd_per_1k = 10.0;
  auto r = Router::create(affine_model(2.0f, 1.0f, -1), affine_model(3.0f, 10.0f, -1), o);
  INFO(r.status().to_string());
  REQUIRE(r.is_ok());
  Router& router = **r;

  std::mt19937 rng(3);
  std::uniform_int_distribution<int> len(1, 200);
  auto make = [&](int n) {
    std::vector<std::vector<float>> rows(1, std::vector<float>(static_cast<size_t>(n), 1.0f));
    return make_rows(rows);
  };
  std::vector<Tensor> calib_t, held_t;
  for (int i = 0; i < 20000; ++i) calib_t.push_back(make(len(rng)));
  for (int i = 0; i < 20000; ++i) held_t.push_back(make(len(rng)));
  std::vector<std::vector<TensorView>> calib;
  for (const Tensor& t : calib_t) calib.push_back({t.view()});
  Result<double> thr = router.calibrate(calib, 0.2);
  REQUIRE(thr.is_ok());
  CHECK(router.threshold() == *thr);

  std::vector<Tensor> out;
  for (const Tensor& t : held_t) {
    Route chosen;
    REQUIRE(router.run({t.view()}, out, &chosen).is_ok());
    // The inputs are ones: the large model gives 3 * 1 + 10, the small one 2 * 1 + 1.
    const float y = out[0].data_as<const float>()[0];
    CHECK(y == (chosen == Route::large ? 13.0f : 3.0f));
    CHECK((chosen == Route::large) == (static_cast<double>(t.shape()[1]) > *thr));
  }
  const RouteStats s = router.stats();
  CHECK(s.queries == 20000);
  CHECK(std::abs(s.share_escalated - 0.2) <= 0.02);
  CHECK(s.small_runs + s.large_runs == 20000);
  CHECK(s.usd_per_query == Approx((static_cast<double>(s.small_runs) * 0.001 + static_cast<double>(s.large_runs) * 0.01) / 20000));
  CHECK(s.usd_per_1k == Approx(s.usd_per_query * 1000));

  // count_nonzero reads a mask's length.
  RouterOptions m = o;
  m.count_nonzero = true;
  auto rm = Router::create(affine_model(), affine_model(), m);
  REQUIRE(rm.is_ok());
  Tensor mask = make_rows({{1, 1, 1, 0}});
  Result<double> sc = (*rm)->score({mask.view()});
  REQUIRE(sc.is_ok());
  CHECK(*sc == 3.0);

  // A confidence signal needs a cascade.
  RouterOptions bad = o;
  bad.signal = RouteSignal::entropy;
  CHECK_FALSE(Router::create(affine_model(), affine_model(), bad).is_ok());
}

TEST_CASE("cascade: escalates low-confidence queries, calibrated share holds on held-out queries", "[router]") {
  for (RouteSignal sig : {RouteSignal::top_probability, RouteSignal::entropy, RouteSignal::top2_margin}) {
    RouterOptions o;
    o.signal = sig;
    o.outputs_are_logits = true;
    o.small_cost.usd_per_1k = 0.5;
    o.large_cost.usd_per_1k = 5.0;
    // The small model's logits are 2x + 1 over 4 classes; the large model answers 0 * x + 7.
    auto c = Cascade::create(affine_model(2.0f, 1.0f), affine_model(0.0f, 7.0f), o);
    INFO(c.status().to_string());
    REQUIRE(c.is_ok());
    Cascade& cascade = **c;
    std::mt19937 rng(5);
    std::normal_distribution<float> nd(0.0f, 1.5f);
    auto sample = [&] { return make_rows({{nd(rng), nd(rng), nd(rng), nd(rng)}}); };
    std::vector<Tensor> calib_t, held_t;
    for (int i = 0; i < 6000; ++i) calib_t.push_back(sample());
    for (int i = 0; i < 6000; ++i) held_t.push_back(sample());
    std::vector<std::vector<TensorView>> calib;
    for (const Tensor& t : calib_t) calib.push_back({t.view()});
    REQUIRE(cascade.calibrate(calib, 0.25).is_ok());
    CHECK(cascade.stats().queries == 0);  // calibration is not traffic

    std::vector<Tensor> out;
    for (const Tensor& t : held_t) {
      Route chosen;
      REQUIRE(cascade.run({t.view()}, out, &chosen).is_ok());
      const float y = out[0].data_as<const float>()[0];
      CHECK(y == (chosen == Route::large ? 7.0f : t.data_as<const float>()[0] * 2.0f + 1.0f));
    }
    const RouteStats s = cascade.stats();
    INFO(route_signal_name(sig));
    CHECK(std::abs(s.share_escalated - 0.25) <= 0.02);
    CHECK(s.small_runs == 6000);
    CHECK(s.large_runs == s.escalated);
    // Every query pays for the small model, escalated ones for the large one too.
    CHECK(s.usd_per_query == Approx(0.0005 + s.share_escalated * 0.005));
  }
}

TEST_CASE("cascade: a user classifier sees the small outputs, latency pricing", "[router]") {
  RouterOptions o;
  o.signal = RouteSignal::classifier;
  o.classifier = [](const std::vector<TensorView>&, const std::vector<Tensor>& small) -> Result<double> {
    return static_cast<double>(small.at(0).data_as<const float>()[0]);  // escalate when y0 > threshold
  };
  o.threshold = 5.0;
  o.small_cost.usd_per_hour = 3.6;
  o.large_cost.usd_per_hour = 36.0;
  auto c = Cascade::create(affine_model(), affine_model(1.0f, 100.0f), o);
  REQUIRE(c.is_ok());
  std::vector<Tensor> out;
  Tensor lo = make_rows({{1, 0, 0, 0}});  // small y0 = 3: stays
  Tensor hi = make_rows({{4, 0, 0, 0}});  // small y0 = 9: escalates
  Route chosen;
  REQUIRE((*c)->run({lo.view()}, out, &chosen).is_ok());
  CHECK(chosen == Route::small);
  REQUIRE((*c)->run({hi.view()}, out, &chosen).is_ok());
  CHECK(chosen == Route::large);
  CHECK(out[0].data_as<const float>()[0] == 104.0f);
  const RouteStats s = (*c)->stats();
  CHECK(s.share_escalated == Approx(0.5));
  CHECK(s.small_mean_ms > 0);
  CHECK(s.large_mean_ms > 0);
  // $3.6/hour = $0.001 per second.
  const double expect = (2 * 3.6 * s.small_mean_ms / 1000 / 3600 + 36.0 * s.large_mean_ms / 1000 / 3600) / 2;
  CHECK(s.usd_per_query == Approx(expect));
  RouterOptions none;
  none.signal = RouteSignal::classifier;
  CHECK_FALSE(Cascade::create(affine_model(), affine_model(), none).is_ok());
}

TEST_CASE("router: counts into a MetricsRegistry", "[router]") {
  MetricsRegistry registry;
  RouterOptions o;
  o.signal = RouteSignal::input_length;
  o.length_axis = 1;
  o.threshold = 3;
  o.metrics = &registry;
  auto r = Router::create(affine_model(2.0f, 1.0f, -1), affine_model(3.0f, 0.0f, -1), o);
  REQUIRE(r.is_ok());
  std::vector<Tensor> out;
  Tensor shortx = make_rows({{1, 2}});
  Tensor longx = make_rows({{1, 2, 3, 4}});
  REQUIRE((*r)->run({shortx.view()}, out).is_ok());
  REQUIRE((*r)->run({longx.view()}, out).is_ok());
  double v = -1;
  REQUIRE(registry.value("obol_router_queries_total", {}, &v));
  CHECK(v == 2.0);
  REQUIRE(registry.value("obol_router_escalated_total", {}, &v));
  CHECK(v == 1.0);
}
