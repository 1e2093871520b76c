/* The router: options and their errors, routing by input length before running, the cascade on
 * the small model's confidence (each signal calibrated to a target share on a sample and checked on
 * that sample), a classifier callback in both modes, cost accounting, metrics, and outputs from a
 * custom allocator. The small and the large model are both tiny_mlp (loaded twice), so every
 * result can be checked against the C reference whichever model ran. */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"

static obol_env* env_;
static obol_model* small_;
static obol_model* large_;
static obol_model* two_;

static void setup(void) {
  CHECK_OK(obol_env_create(OBOL_API_VERSION, NULL, &env_));
  CHECK_OK(obol_model_load_file(env_, MODEL_PATH("tiny_mlp.onnx"), &small_));
  CHECK_OK(obol_model_load_file(env_, MODEL_PATH("tiny_mlp.onnx"), &large_));
  CHECK_OK(obol_model_load_file(env_, MODEL_PATH("two_outputs.onnx"), &two_));
}

static void teardown(void) {
  obol_model_free(two_);
  obol_model_free(large_);
  obol_model_free(small_);
  obol_env_free(env_);
}

static obol_router_options options(obol_router_mode mode, obol_route_signal signal) {
  obol_router_options o;
  memset(&o, 0, sizeof o);
  o.struct_size = sizeof o;
  o.mode = mode;
  o.signal = signal;
  return o;
}

static obol_router_stats stats_of(const obol_router* r) {
  obol_router_stats s;
  memset(&s, 0, sizeof s);
  s.struct_size = sizeof s;
  CHECK_OK(obol_router_get_stats(r, &s));
  return s;
}

static double absd(double v) { return v < 0 ? -v : v; }

static int classify(void* user, const obol_tensor* const* inputs, size_t n_inputs,
                    const obol_tensor* const* small_outputs, size_t n_small_outputs, double* score) {
  size_t* seen_outputs = (size_t*)user;
  void* data = NULL;
  if (n_inputs != 1) return 3;
  *seen_outputs = n_small_outputs;
  if (n_small_outputs == 1 && !small_outputs[0]) return 4;
  obol_status_free(obol_tensor_data(inputs[0], &data));
  if (((const float*)data)[0] == 7.0f) return 7;
  *score = ((const float*)data)[0];
  return 0;
}

static void test_create_errors(void) {
  obol_router* r = NULL;
  obol_router* const sentinel = (obol_router*)&r;
  obol_router_options o = options(OBOL_ROUTER_PRE_ROUTE, OBOL_ROUTE_SIGNAL_INPUT_LENGTH);
  obol_session_options* so = NULL;
  size_t seen = 0;
  r = sentinel;
  CHECK_ERR(obol_router_create(NULL, large_, NULL, &o, &r), OBOL_ERROR_INVALID_ARGUMENT,
            "small_model must not be NULL");
  CHECK_ERR(obol_router_create(small_, NULL, NULL, &o, &r), OBOL_ERROR_INVALID_ARGUMENT,
            "large_model must not be NULL");
  CHECK_ERR(obol_router_create(small_, large_, NULL, NULL, &r), OBOL_ERROR_INVALID_ARGUMENT,
            "options must not be NULL");
  CHECK_ERR(obol_router_create(small_, large_, NULL, &o, NULL), OBOL_ERROR_INVALID_ARGUMENT, "out must not be NULL");
  o.struct_size = 16;
  CHECK_ERR(obol_router_create(small_, large_, NULL, &o, &r), OBOL_ERROR_INVALID_ARGUMENT,
            "obol_router_options.struct_size is 16");
  o = options((obol_router_mode)5, OBOL_ROUTE_SIGNAL_INPUT_LENGTH);
  CHECK_ERR(obol_router_create(small_, large_, NULL, &o, &r), OBOL_ERROR_INVALID_ARGUMENT,
            "mode 5 is not an obol_router_mode");
  o = options(OBOL_ROUTER_PRE_ROUTE, (obol_route_signal)9);
  CHECK_ERR(obol_router_create(small_, large_, NULL, &o, &r), OBOL_ERROR_INVALID_ARGUMENT,
            "signal 9 is not an obol_route_signal");
  o = options(OBOL_ROUTER_PRE_ROUTE, OBOL_ROUTE_SIGNAL_ENTROPY);
  CHECK_ERR(obol_router_create(small_, large_, NULL, &o, &r), OBOL_ERROR_INVALID_ARGUMENT,
            "signal entropy needs the small model's output; use a Cascade");
  o = options(OBOL_ROUTER_CASCADE, OBOL_ROUTE_SIGNAL_INPUT_LENGTH);
  CHECK_ERR(obol_router_create(small_, large_, NULL, &o, &r), OBOL_ERROR_INVALID_ARGUMENT,
            "is known before running the small model");
  o = options(OBOL_ROUTER_CASCADE, OBOL_ROUTE_SIGNAL_CLASSIFIER);
  CHECK_ERR(obol_router_create(small_, large_, NULL, &o, &r), OBOL_ERROR_INVALID_ARGUMENT,
            "signal classifier needs RouterOptions::classifier");
  o.classifier = classify;
  o.classifier_user = &seen;
  o.large_usd_per_1k = -1;
  CHECK_ERR(obol_router_create(small_, large_, NULL, &o, &r), OBOL_ERROR_INVALID_ARGUMENT,
            "price -1 is not a finite number >= 0");
  o.large_usd_per_1k = 0;
  CHECK_ERR(obol_router_create(small_, two_, NULL, &o, &r), OBOL_ERROR_INVALID_ARGUMENT, "both need the same");
  CHECK_OK(obol_session_options_create(&so));
  CHECK_OK(obol_session_options_set(so, "threads", "1"));
  CHECK_ERR(obol_router_create(small_, large_, so, &o, &r), OBOL_ERROR_UNSUPPORTED, "[router] session option");
  CHECK(r == sentinel);
  CHECK_OK(obol_session_options_set(so, "threads", "0"));
  CHECK_OK(obol_router_create(small_, large_, so, &o, &r));
  CHECK(r != sentinel && r != NULL);
  obol_session_options_free(so);
  obol_router_free(r);
  obol_router_free(NULL);
}

/* Routes by the batch dimension: more than 2 rows go to the large model. */
static void test_pre_route_by_length(void) {
  float x[16] = {1, 2, 3, 4, -1, -2, -3, -4, 0.5f, -0.5f, 2, 1, 3, 3, -1, 0};
  float want[12];
  const int64_t d1[2] = {1, 4}, d3[2] = {3, 4}, d4[2] = {4, 4}, bad_dims[2] = {1, 5};
  obol_tensor *t1 = NULL, *t3 = NULL, *t4 = NULL, *bad = NULL;
  obol_tensor* out = NULL;
  obol_tensor* const sentinel = (obol_tensor*)&out;
  const obol_tensor* inputs[2];
  const obol_tensor* samples[4];
  obol_router* r = NULL;
  obol_router_options o = options(OBOL_ROUTER_PRE_ROUTE, OBOL_ROUTE_SIGNAL_INPUT_LENGTH);
  obol_route route = (obol_route)-1;
  obol_router_stats s;
  void* y = NULL;
  double t = -1;
  volatile double zero = 0.0;
  char* text = NULL;
  o.threshold = 2;
  o.length_axis = 0;
  o.small_usd_per_1k = 1;
  o.large_usd_per_1k = 10;
  tiny_mlp_reference(x, 4, want);
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, d1, 2, x, 4 * sizeof(float), &t1));
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, d3, 2, x, 12 * sizeof(float), &t3));
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, d4, 2, x, 16 * sizeof(float), &t4));
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, bad_dims, 2, x, 5 * sizeof(float), &bad));
  CHECK_OK(obol_router_create(small_, large_, NULL, &o, &r));

  inputs[0] = t1;
  CHECK_OK(obol_router_run(r, inputs, 1, &out, 1, &route));
  CHECK(route == OBOL_ROUTE_SMALL);
  CHECK_OK(obol_tensor_data(out, &y));
  CHECK(close_enough((const float*)y, want, 3));
  obol_tensor_free(out);
  inputs[0] = t3;
  CHECK_OK(obol_router_run(r, inputs, 1, &out, 1, &route));
  CHECK(route == OBOL_ROUTE_LARGE);
  CHECK_OK(obol_tensor_data(out, &y));
  CHECK(close_enough((const float*)y, want, 9));
  obol_tensor_free(out);

  s = stats_of(r);
  CHECK(s.queries == 2 && s.escalated == 1 && s.share_escalated == 0.5);
  CHECK(s.small_runs == 1 && s.large_runs == 1 && s.threshold == 2);
  CHECK(absd(s.usd_per_query - 0.0055) < 1e-12 && absd(s.usd_per_1k - 5.5) < 1e-9);
  CHECK(s.small_mean_ms >= 0 && s.large_mean_ms >= 0);
  CHECK_OK(obol_router_metrics_prometheus(r, &text));
  CHECK(text && strstr(text, "obol_router_queries_total 2") != NULL);
  CHECK(text && strstr(text, "obol_router_escalated_total 1") != NULL);
  obol_string_free(text);

  /* Errors leave the outputs and the route alone. */
  out = sentinel;
  route = (obol_route)-1;
  inputs[0] = t1;
  inputs[1] = t1;
  CHECK_ERR(obol_router_run(NULL, inputs, 1, &out, 1, &route), OBOL_ERROR_INVALID_ARGUMENT, "router must not be NULL");
  CHECK_ERR(obol_router_run(r, inputs, 1, NULL, 1, &route), OBOL_ERROR_INVALID_ARGUMENT, "outputs must not be NULL");
  CHECK_ERR(obol_router_run(r, inputs, 1, &out, 2, &route), OBOL_ERROR_INVALID_ARGUMENT,
            "the models have 1 outputs, n_outputs is 2");
  CHECK_ERR(obol_router_run(r, inputs, 2, &out, 1, &route), OBOL_ERROR_INVALID_ARGUMENT,
            "the models have 1 inputs, n_inputs is 2");
  CHECK_ERR(obol_router_run(r, NULL, 1, &out, 1, &route), OBOL_ERROR_INVALID_ARGUMENT, "inputs must not be NULL");
  inputs[0] = NULL;
  CHECK_ERR(obol_router_run(r, inputs, 1, &out, 1, &route), OBOL_ERROR_INVALID_ARGUMENT, "inputs[0] is NULL");
  inputs[0] = bad;
  CHECK_ERR(obol_router_run(r, inputs, 1, &out, 1, &route), OBOL_ERROR_INVALID_ARGUMENT, "[session]");
  CHECK(out == sentinel && route == (obol_route)-1);
  CHECK(stats_of(r).queries == 2);

  /* Calibration: lengths 1, 1, 3, 4; a quarter escalates above 3. */
  samples[0] = t1;
  samples[1] = t1;
  samples[2] = t3;
  samples[3] = t4;
  CHECK_OK(obol_router_calibrate(r, samples, 4, 1, 0.25, &t));
  CHECK(t == 3);
  CHECK(stats_of(r).threshold == 3);
  CHECK_OK(obol_router_calibrate(r, samples, 4, 1, 0.5, NULL));
  CHECK(stats_of(r).threshold == 1);
  t = -1;
  CHECK_ERR(obol_router_calibrate(r, samples, 4, 1, 1.5, &t), OBOL_ERROR_INVALID_ARGUMENT, "outside [0, 1]");
  CHECK_ERR(obol_router_calibrate(r, samples, 0, 1, 0.5, &t), OBOL_ERROR_INVALID_ARGUMENT, "at least one sample");
  CHECK_ERR(obol_router_calibrate(r, samples, 2, 2, 0.5, &t), OBOL_ERROR_INVALID_ARGUMENT,
            "the models have 1 inputs, n_inputs is 2");
  CHECK_ERR(obol_router_calibrate(r, NULL, 2, 1, 0.5, &t), OBOL_ERROR_INVALID_ARGUMENT, "inputs must not be NULL");
  CHECK_ERR(obol_router_calibrate(NULL, samples, 2, 1, 0.5, &t), OBOL_ERROR_INVALID_ARGUMENT,
            "router must not be NULL");
  CHECK(t == -1);

  CHECK_OK(obol_router_set_threshold(r, 0));
  inputs[0] = t1;
  CHECK_OK(obol_router_run(r, inputs, 1, &out, 1, NULL));
  obol_tensor_free(out);
  CHECK(stats_of(r).escalated == 2);
  CHECK_ERR(obol_router_set_threshold(NULL, 1), OBOL_ERROR_INVALID_ARGUMENT, "router must not be NULL");
  CHECK_ERR(obol_router_set_threshold(r, zero / zero), OBOL_ERROR_INVALID_ARGUMENT, "NaN");

  CHECK_ERR(obol_router_get_stats(NULL, &s), OBOL_ERROR_INVALID_ARGUMENT, "router must not be NULL");
  CHECK_ERR(obol_router_get_stats(r, NULL), OBOL_ERROR_INVALID_ARGUMENT, "out must not be NULL");
  s.struct_size = 2;
  CHECK_ERR(obol_router_get_stats(r, &s), OBOL_ERROR_INVALID_ARGUMENT, "obol_router_stats.struct_size is 2");
  CHECK_ERR(obol_router_metrics_prometheus(NULL, &text), OBOL_ERROR_INVALID_ARGUMENT, "router must not be NULL");
  CHECK_ERR(obol_router_metrics_prometheus(r, NULL), OBOL_ERROR_INVALID_ARGUMENT, "out must not be NULL");
  obol_router_free(r);
  obol_tensor_free(t1);
  obol_tensor_free(t3);
  obol_tensor_free(t4);
  obol_tensor_free(bad);
}

#define SAMPLES 400

/* Calibrates a cascade on SAMPLES pseudo-random one-row queries for a 30% large share, then runs
 * the same queries: the share escalated must be within 2 points of the target. */
static void calibrated_cascade(obol_route_signal signal) {
  static float x[SAMPLES][4];
  obol_tensor* t[SAMPLES];
  const int64_t dims[2] = {1, 4};
  obol_router* r = NULL;
  obol_router_options o = options(OBOL_ROUTER_CASCADE, signal);
  obol_router_stats s;
  uint32_t seed = 12345u + (uint32_t)signal;
  int i, j, large = 0;
  double threshold = -1;
  o.small_usd_per_1k = 0.5;
  o.large_usd_per_hour = 3600; /* $1 per second of measured latency */
  for (i = 0; i < SAMPLES; ++i) {
    for (j = 0; j < 4; ++j) {
      seed = seed * 1664525u + 1013904223u;
      x[i][j] = (float)((seed >> 8) % 2001) / 500.0f - 2.0f;
    }
    CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, dims, 2, x[i], sizeof x[i], &t[i]));
  }
  CHECK_OK(obol_router_create(small_, large_, NULL, &o, &r));
  CHECK_OK(obol_router_calibrate(r, (const obol_tensor* const*)t, SAMPLES, 1, 0.3, &threshold));
  CHECK(stats_of(r).queries == 0); /* calibration runs are not queries */
  for (i = 0; i < SAMPLES; ++i) {
    obol_tensor* out = NULL;
    obol_route route = OBOL_ROUTE_SMALL;
    float want[3];
    void* y = NULL;
    const obol_tensor* inputs[1];
    inputs[0] = t[i];
    CHECK_OK(obol_router_run(r, inputs, 1, &out, 1, &route));
    large += route == OBOL_ROUTE_LARGE;
    tiny_mlp_reference(x[i], 1, want);
    CHECK_OK(obol_tensor_data(out, &y));
    CHECK(y && close_enough((const float*)y, want, 3));
    obol_tensor_free(out);
  }
  s = stats_of(r);
  CHECK(s.queries == SAMPLES && s.escalated == (uint64_t)large);
  CHECK(absd(s.share_escalated - 0.3) <= 0.02);
  CHECK(s.threshold == threshold);
  CHECK(s.small_runs == SAMPLES && s.large_runs == (uint64_t)large);
  /* Every query paid the small price, the escalated ones also the large one (latency-priced). */
  CHECK(s.usd_per_query >= 0.0005 && s.large_mean_ms > 0);
  CHECK(absd(s.usd_per_1k - 1000 * s.usd_per_query) < 1e-9);
  obol_router_free(r);
  for (i = 0; i < SAMPLES; ++i) obol_tensor_free(t[i]);
}

static void test_cascade_top_probability(void) { calibrated_cascade(OBOL_ROUTE_SIGNAL_TOP_PROBABILITY); }
static void test_cascade_entropy(void) { calibrated_cascade(OBOL_ROUTE_SIGNAL_ENTROPY); }
static void test_cascade_top2_margin(void) { calibrated_cascade(OBOL_ROUTE_SIGNAL_TOP2_MARGIN); }

static void test_classifier(void) {
  float x[4] = {0.5f, 1, 1, 1}, seven[4] = {7, 0, 0, 0};
  const int64_t dims[2] = {1, 4};
  obol_tensor *t = NULL, *t7 = NULL, *out = NULL;
  const obol_tensor* inputs[1];
  obol_router* r = NULL;
  obol_router_options o = options(OBOL_ROUTER_CASCADE, OBOL_ROUTE_SIGNAL_CLASSIFIER);
  obol_route route = OBOL_ROUTE_SMALL;
  size_t seen = 99;
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, dims, 2, x, sizeof x, &t));
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, dims, 2, seven, sizeof seven, &t7));
  o.classifier = classify;
  o.classifier_user = &seen;
  o.threshold = 0.25;
  o.outputs_are_probabilities = 1; /* unused by the classifier; accepted */
  CHECK_OK(obol_router_create(small_, large_, NULL, &o, &r));
  inputs[0] = t;
  CHECK_OK(obol_router_run(r, inputs, 1, &out, 1, &route));
  CHECK(route == OBOL_ROUTE_LARGE && seen == 1); /* score 0.5 > 0.25; the cascade passes the small outputs */
  obol_tensor_free(out);
  out = NULL;
  inputs[0] = t7;
  CHECK_ERR(obol_router_run(r, inputs, 1, &out, 1, &route), OBOL_ERROR_INTERNAL,
            "[router] the classifier callback returned 7");
  CHECK(out == NULL);
  obol_router_free(r);

  o.mode = OBOL_ROUTER_PRE_ROUTE;
  o.threshold = 0.75;
  CHECK_OK(obol_router_create(small_, large_, NULL, &o, &r));
  inputs[0] = t;
  CHECK_OK(obol_router_run(r, inputs, 1, &out, 1, &route));
  CHECK(route == OBOL_ROUTE_SMALL && seen == 0); /* before routing there are no small outputs */
  obol_tensor_free(out);
  obol_router_free(r);
  obol_tensor_free(t);
  obol_tensor_free(t7);
}

/* Outputs come from the env's allocator; every allocation is freed. */
typedef struct {
  int allocs, frees;
} Counts;

static void* counting_alloc(void* user, size_t size, size_t alignment) {
  Counts* c = (Counts*)user;
  void* p = NULL;
  ++c->allocs;
  if (posix_memalign(&p, alignment < sizeof(void*) ? sizeof(void*) : alignment, size ? size : 1) != 0) p = NULL;
  return p;
}

static void counting_free(void* user, void* ptr, size_t size) {
  (void)size;
  ++((Counts*)user)->frees;
  free(ptr);
}

static void test_env_allocator(void) {
  Counts counts = {0, 0};
  obol_allocator a;
  obol_env_options eo;
  obol_env* env = NULL;
  obol_model *m1 = NULL, *m2 = NULL;
  obol_router* r = NULL;
  obol_router_options o = options(OBOL_ROUTER_PRE_ROUTE, OBOL_ROUTE_SIGNAL_INPUT_LENGTH);
  float x[4] = {1, 2, 3, 4}, want[3];
  const int64_t dims[2] = {1, 4};
  obol_tensor *t = NULL, *out = NULL;
  const obol_tensor* inputs[1];
  void* y = NULL;
  int before;
  memset(&a, 0, sizeof a);
  a.struct_size = sizeof a;
  a.alloc = counting_alloc;
  a.free = counting_free;
  a.user = &counts;
  memset(&eo, 0, sizeof eo);
  eo.struct_size = sizeof eo;
  eo.allocator = &a;
  tiny_mlp_reference(x, 1, want);
  CHECK_OK(obol_env_create(OBOL_API_VERSION, &eo, &env));
  CHECK_OK(obol_model_load_file(env, MODEL_PATH("tiny_mlp.onnx"), &m1));
  CHECK_OK(obol_model_load_file(env, MODEL_PATH("tiny_mlp.onnx"), &m2));
  CHECK_OK(obol_router_create(m1, m2, NULL, &o, &r));
  obol_model_free(m1); /* the router keeps both models */
  obol_model_free(m2);
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, dims, 2, x, sizeof x, &t));
  inputs[0] = t;
  before = counts.allocs;
  CHECK_OK(obol_router_run(r, inputs, 1, &out, 1, NULL));
  CHECK(counts.allocs > before);
  CHECK_OK(obol_tensor_data(out, &y));
  CHECK(close_enough((const float*)y, want, 3));
  obol_router_free(r);
  obol_env_free(env);
  obol_tensor_free(out); /* the output keeps the env alive */
  obol_tensor_free(t);
  CHECK(counts.allocs == counts.frees);
}

int main(void) {
  setup();
  RUN(test_create_errors);
  RUN(test_pre_route_by_length);
  RUN(test_cascade_top_probability);
  RUN(test_cascade_entropy);
  RUN(test_cascade_top2_margin);
  RUN(test_classifier);
  RUN(test_env_allocator);
  teardown();
  return HARNESS_RESULT();
}
