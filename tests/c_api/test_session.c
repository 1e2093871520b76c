/* Sessions: options, both run styles, the checks on inputs and outputs, placement reports, and
 * freeing in any order. */
#include "harness.h"

static obol_env* env_;
static obol_model* mlp_;
static obol_model* two_;

static void setup(void) {
  CHECK_OK(obol_env_create(OBOL_API_VERSION, NULL, &env_));
  CHECK_OK(obol_model_load_file(env_, MODEL_PATH("tiny_mlp.onnx"), &mlp_));
  CHECK_OK(obol_model_load_file(env_, MODEL_PATH("two_outputs.onnx"), &two_));
}

static void teardown(void) {
  obol_model_free(two_);
  obol_model_free(mlp_);
  obol_env_free(env_);
}

static void test_options(void) {
  obol_session_options* o = NULL;
  obol_session_options* const sentinel = (obol_session_options*)&o;
  obol_session_options* none = sentinel;
  CHECK_ERR(obol_session_options_create(NULL), OBOL_ERROR_INVALID_ARGUMENT, "out must not be NULL");
  CHECK_OK(obol_session_options_create(&o));
  CHECK_OK(obol_session_options_set(o, "opt_level", "none"));
  CHECK_OK(obol_session_options_set(o, "opt_level", "2"));
  CHECK_OK(obol_session_options_set(o, "opt_level", " all "));
  CHECK_OK(obol_session_options_set(o, "strict", "true"));
  CHECK_OK(obol_session_options_set(o, "strict", "0"));
  CHECK_OK(obol_session_options_set(o, "backends", "cpu"));
  CHECK_OK(obol_session_options_set(o, "threads", "1"));
  CHECK_OK(obol_session_options_set(o, "threads", "0"));
  CHECK_ERR(obol_session_options_set(o, "opt_level", "max"), OBOL_ERROR_INVALID_ARGUMENT,
            "option 'opt_level': 'max' is not valid; expected none, basic, extended, all");
  CHECK_ERR(obol_session_options_set(o, "strict", "yes"), OBOL_ERROR_INVALID_ARGUMENT, "option 'strict'");
  CHECK_ERR(obol_session_options_set(o, "backends", "cpu,,gpu"), OBOL_ERROR_INVALID_ARGUMENT,
            "comma-separated list");
  CHECK_ERR(obol_session_options_set(o, "threads", "4"), OBOL_ERROR_UNSUPPORTED, "obol_env_options.num_threads");
  CHECK_ERR(obol_session_options_set(o, "threads", "-1"), OBOL_ERROR_INVALID_ARGUMENT, "expected 0 or 1");
  CHECK_ERR(obol_session_options_set(o, "thread", "1"), OBOL_ERROR_NOT_FOUND,
            "unknown option 'thread' (options: opt_level, strict, backends, threads, metrics)");
  CHECK_ERR(obol_session_options_set(NULL, "strict", "1"), OBOL_ERROR_INVALID_ARGUMENT, "options must not be NULL");
  CHECK_ERR(obol_session_options_set(o, NULL, "1"), OBOL_ERROR_INVALID_ARGUMENT, "key must not be NULL");
  CHECK_ERR(obol_session_options_set(o, "strict", NULL), OBOL_ERROR_INVALID_ARGUMENT, "value must not be NULL");
  CHECK(none == sentinel);
  obol_session_options_free(o);
  obol_session_options_free(NULL);
}

static void test_run_library_outputs(void) {
  float x[12] = {1, 2, 3, 4, -1, -2, -3, -4, 0.5f, -0.5f, 2, 1};
  float want[9];
  const int64_t dims[2] = {3, 4};
  obol_session* s = NULL;
  obol_tensor* in = NULL;
  obol_tensor* out = NULL;
  const obol_tensor* inputs[1];
  const int64_t* odims = NULL;
  size_t rank = 0;
  obol_dtype dtype = OBOL_DTYPE_INVALID;
  void* y = NULL;
  int round;
  tiny_mlp_reference(x, 3, want);
  CHECK_OK(obol_session_create(mlp_, NULL, &s));
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, dims, 2, x, sizeof x, &in));
  inputs[0] = in;
  for (round = 0; round < 3; ++round) { /* the first run plans memory, later ones reuse it */
    CHECK_OK(obol_session_run(s, inputs, 1, &out, 1));
    CHECK_OK(obol_tensor_dtype(out, &dtype));
    CHECK(dtype == OBOL_DTYPE_F32);
    CHECK_OK(obol_tensor_rank(out, &rank));
    CHECK_OK(obol_tensor_dims(out, &odims));
    CHECK(rank == 2 && odims[0] == 3 && odims[1] == 3);
    CHECK_OK(obol_tensor_data(out, &y));
    CHECK(close_enough((const float*)y, want, 9));
    obol_tensor_free(out);
    out = NULL;
  }
  obol_tensor_free(in);
  obol_session_free(s);
}

static void test_run_into_caller_outputs(void) {
  float x[8] = {0.5f, 1.5f, -2.5f, 3.5f, 4, -4, 0, 1};
  float y[6] = {0};
  float want[6];
  const int64_t in_dims[2] = {2, 4};
  const int64_t out_dims[2] = {2, 3};
  obol_session* s = NULL;
  obol_tensor* in = NULL;
  obol_tensor* out = NULL;
  obol_tensor* created = NULL;
  const obol_tensor* inputs[1];
  void* p = NULL;
  tiny_mlp_reference(x, 2, want);
  CHECK_OK(obol_session_create(mlp_, NULL, &s));
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, in_dims, 2, x, sizeof x, &in));
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, out_dims, 2, y, sizeof y, &out));
  inputs[0] = in;
  CHECK_OK(obol_session_run_into(s, inputs, 1, &out, 1));
  CHECK(close_enough(y, want, 6));
  memset(y, 0, sizeof y);
  CHECK_OK(obol_session_run_into(s, inputs, 1, &out, 1));
  CHECK(close_enough(y, want, 6));
  /* An obol-allocated output works the same. */
  CHECK_OK(obol_tensor_create(env_, OBOL_DTYPE_F32, out_dims, 2, &created));
  CHECK_OK(obol_session_run_into(s, inputs, 1, &created, 1));
  CHECK_OK(obol_tensor_data(created, &p));
  CHECK(close_enough((const float*)p, want, 6));
  obol_tensor_free(created);
  obol_tensor_free(out);
  obol_tensor_free(in);
  obol_session_free(s);
}

static void test_run_errors(void) {
  float x[10] = {0};
  int32_t xi[8] = {0};
  float y[8] = {0};
  const int64_t good[2] = {2, 4};
  const int64_t wide[2] = {2, 5};
  const int64_t rank3[3] = {1, 2, 4};
  const int64_t out_good[2] = {2, 3};
  const int64_t out_bad[2] = {2, 4};
  obol_session* s = NULL;
  obol_tensor *in = NULL, *in_wide = NULL, *in_i32 = NULL, *in_rank3 = NULL, *out = NULL, *out_bad_shape = NULL,
              *out_bad_dtype = NULL;
  obol_tensor* const sentinel = (obol_tensor*)x;
  obol_tensor* result = sentinel;
  obol_tensor* results[2];
  const obol_tensor* inputs[2];
  CHECK_OK(obol_session_create(mlp_, NULL, &s));
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, good, 2, x, 8 * sizeof(float), &in));
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, wide, 2, x, sizeof x, &in_wide));
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_I32, good, 2, xi, sizeof xi, &in_i32));
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, rank3, 3, x, 8 * sizeof(float), &in_rank3));
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, out_good, 2, y, 6 * sizeof(float), &out));
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, out_bad, 2, y, sizeof y, &out_bad_shape));
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_I32, out_good, 2, y, 6 * sizeof(int32_t), &out_bad_dtype));

  inputs[0] = in_wide;
  CHECK_ERR(obol_session_run(s, inputs, 1, &result, 1), OBOL_ERROR_INVALID_ARGUMENT,
            "input 'x' must have shape f32[batch, 4], got [2, 5]");
  inputs[0] = in_i32;
  CHECK_ERR(obol_session_run(s, inputs, 1, &result, 1), OBOL_ERROR_INVALID_ARGUMENT, "input 'x' must be f32, got i32");
  inputs[0] = in_rank3;
  CHECK_ERR(obol_session_run(s, inputs, 1, &result, 1), OBOL_ERROR_INVALID_ARGUMENT, "input 'x' must have shape");
  inputs[0] = in;
  inputs[1] = in;
  CHECK_ERR(obol_session_run(s, inputs, 2, &result, 1), OBOL_ERROR_INVALID_ARGUMENT, "expected 1 inputs, got 2");
  CHECK_ERR(obol_session_run(s, inputs, 0, &result, 1), OBOL_ERROR_INVALID_ARGUMENT, "expected 1 inputs, got 0");
  CHECK_ERR(obol_session_run(s, inputs, 1, results, 2), OBOL_ERROR_INVALID_ARGUMENT, "the model has 1 outputs, n_outputs is 2");
  CHECK_ERR(obol_session_run(s, inputs, 1, NULL, 1), OBOL_ERROR_INVALID_ARGUMENT, "outputs must not be NULL");
  CHECK_ERR(obol_session_run(s, NULL, 1, &result, 1), OBOL_ERROR_INVALID_ARGUMENT, "inputs must not be NULL");
  inputs[0] = NULL;
  CHECK_ERR(obol_session_run(s, inputs, 1, &result, 1), OBOL_ERROR_INVALID_ARGUMENT, "inputs[0] is NULL");
  CHECK_ERR(obol_session_run(NULL, inputs, 1, &result, 1), OBOL_ERROR_INVALID_ARGUMENT, "session must not be NULL");
  CHECK(result == sentinel); /* out-parameters untouched on failure */

  inputs[0] = in;
  CHECK_ERR(obol_session_run_into(s, inputs, 1, &out_bad_shape, 1), OBOL_ERROR_INVALID_ARGUMENT,
            "output 'y' is f32[2, 3] but the buffer given is f32[2, 4]");
  CHECK_ERR(obol_session_run_into(s, inputs, 1, &out_bad_dtype, 1), OBOL_ERROR_INVALID_ARGUMENT,
            "output 'y' is f32[2, 3] but the buffer given is i32[2, 3]");
  results[0] = NULL;
  CHECK_ERR(obol_session_run_into(s, inputs, 1, results, 1), OBOL_ERROR_INVALID_ARGUMENT, "outputs[0] is NULL");
  CHECK_ERR(obol_session_run_into(s, inputs, 1, NULL, 1), OBOL_ERROR_INVALID_ARGUMENT, "outputs must not be NULL");
  CHECK_ERR(obol_session_run_into(s, inputs, 1, &out, 0), OBOL_ERROR_INVALID_ARGUMENT, "n_outputs is 0");
  CHECK_ERR(obol_session_run_into(NULL, inputs, 1, &out, 1), OBOL_ERROR_INVALID_ARGUMENT, "session must not be NULL");
  inputs[0] = in_i32;
  CHECK_ERR(obol_session_run_into(s, inputs, 1, &out, 1), OBOL_ERROR_INVALID_ARGUMENT, "must be f32, got i32");
  /* After all that, the session still runs. */
  inputs[0] = in;
  CHECK_OK(obol_session_run_into(s, inputs, 1, &out, 1));

  obol_tensor_free(in);
  obol_tensor_free(in_wide);
  obol_tensor_free(in_i32);
  obol_tensor_free(in_rank3);
  obol_tensor_free(out);
  obol_tensor_free(out_bad_shape);
  obol_tensor_free(out_bad_dtype);
  obol_session_free(s);
}

static void test_two_outputs_of_different_dtypes(void) {
  float a[6] = {1, 5, 2, -1, -2, -3};
  float b[6] = {0, -4, 3, 0, 0, 1};
  const int64_t dims[2] = {2, 3};
  obol_session* s = NULL;
  obol_tensor *ta = NULL, *tb = NULL;
  obol_tensor* outs[2] = {NULL, NULL};
  const obol_tensor* inputs[2];
  obol_dtype d0 = OBOL_DTYPE_INVALID, d1 = OBOL_DTYPE_INVALID;
  void *sum = NULL, *idx = NULL;
  CHECK_OK(obol_session_create(two_, NULL, &s));
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, dims, 2, a, sizeof a, &ta));
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, dims, 2, b, sizeof b, &tb));
  inputs[0] = ta;
  inputs[1] = tb;
  CHECK_OK(obol_session_run(s, inputs, 2, outs, 2));
  CHECK_OK(obol_tensor_dtype(outs[0], &d0));
  CHECK_OK(obol_tensor_dtype(outs[1], &d1));
  CHECK(d0 == OBOL_DTYPE_F32 && d1 == OBOL_DTYPE_I64);
  CHECK_OK(obol_tensor_data(outs[0], &sum));
  CHECK_OK(obol_tensor_data(outs[1], &idx));
  CHECK(((float*)sum)[0] == 1 && ((float*)sum)[1] == 1 && ((float*)sum)[2] == 5);
  CHECK(((int64_t*)idx)[0] == 2 && ((int64_t*)idx)[1] == 0);
  obol_tensor_free(outs[0]);
  obol_tensor_free(outs[1]);
  obol_tensor_free(ta);
  obol_tensor_free(tb);
  obol_session_free(s);
}

static void test_options_change_nothing_numerically(void) {
  float x[8] = {1, -1, 2, -2, 3, -3, 0.25f, 4};
  float want[6];
  const int64_t dims[2] = {2, 4};
  const char* levels[4] = {"none", "basic", "extended", "all"};
  obol_tensor* in = NULL;
  const obol_tensor* inputs[1];
  int k;
  tiny_mlp_reference(x, 2, want);
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, dims, 2, x, sizeof x, &in));
  inputs[0] = in;
  for (k = 0; k < 4; ++k) {
    obol_session_options* o = NULL;
    obol_session* s = NULL;
    obol_tensor* out = NULL;
    void* y = NULL;
    CHECK_OK(obol_session_options_create(&o));
    CHECK_OK(obol_session_options_set(o, "opt_level", levels[k]));
    CHECK_OK(obol_session_options_set(o, "strict", "1"));
    CHECK_OK(obol_session_options_set(o, "backends", "cpu"));
    CHECK_OK(obol_session_options_set(o, "threads", k % 2 ? "1" : "0"));
    CHECK_OK(obol_session_create(mlp_, o, &s));
    obol_session_options_free(o); /* the session copied what it needs */
    CHECK_OK(obol_session_run(s, inputs, 1, &out, 1));
    CHECK_OK(obol_tensor_data(out, &y));
    CHECK(close_enough((const float*)y, want, 6));
    obol_tensor_free(out);
    obol_session_free(s);
  }
  obol_tensor_free(in);
}

static void test_create_errors(void) {
  obol_session_options* o = NULL;
  obol_session* s = NULL;
  CHECK_ERR(obol_session_create(NULL, NULL, &s), OBOL_ERROR_INVALID_ARGUMENT, "model must not be NULL");
  CHECK_ERR(obol_session_create(mlp_, NULL, NULL), OBOL_ERROR_INVALID_ARGUMENT, "out must not be NULL");
  CHECK_OK(obol_session_options_create(&o));
  CHECK_OK(obol_session_options_set(o, "backends", "warp-drive"));
  CHECK_ERR(obol_session_create(mlp_, o, &s), OBOL_ERROR_NOT_FOUND, "warp-drive");
  CHECK(s == NULL);
  obol_session_options_free(o);
}

static void test_placement_report(void) {
  obol_session* s = NULL;
  char* text = NULL;
  char* json = NULL;
  char* untouched = (char*)"untouched";
  CHECK_OK(obol_session_create(two_, NULL, &s));
  CHECK_OK(obol_session_placement_report(s, OBOL_REPORT_TEXT, &text));
  CHECK(text && strstr(text, "add\tAdd\tcpu\n") && strstr(text, "argmax\tArgMax\tcpu\n"));
  CHECK_OK(obol_session_placement_report(s, OBOL_REPORT_JSON, &json));
  CHECK(json && strcmp(json, "[{\"node\":\"add\",\"op\":\"Add\",\"backend\":\"cpu\",\"fallback\":null},"
                             "{\"node\":\"argmax\",\"op\":\"ArgMax\",\"backend\":\"cpu\",\"fallback\":null}]") == 0);
  CHECK_ERR(obol_session_placement_report(s, (obol_report_format)5, &untouched), OBOL_ERROR_INVALID_ARGUMENT,
            "report format 5");
  CHECK_ERR(obol_session_placement_report(NULL, OBOL_REPORT_TEXT, &untouched), OBOL_ERROR_INVALID_ARGUMENT,
            "session must not be NULL");
  CHECK_ERR(obol_session_placement_report(s, OBOL_REPORT_TEXT, NULL), OBOL_ERROR_INVALID_ARGUMENT,
            "out must not be NULL");
  CHECK(strcmp(untouched, "untouched") == 0);
  obol_string_free(text);
  obol_string_free(json);
  obol_session_free(s);
}

static void test_metrics(void) {
  float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const int64_t dims[2] = {2, 4};
  obol_session_options* o = NULL;
  obol_session *s = NULL, *plain = NULL;
  obol_tensor *in = NULL, *out = NULL;
  const obol_tensor* inputs[1];
  char* text = NULL;
  char* untouched = (char*)"untouched";
  int k;
  CHECK_OK(obol_session_options_create(&o));
  CHECK_OK(obol_session_options_set(o, "metrics", "1"));
  CHECK_ERR(obol_session_options_set(o, "metrics", "on"), OBOL_ERROR_INVALID_ARGUMENT, "option 'metrics'");
  CHECK_OK(obol_session_create(mlp_, o, &s));
  CHECK_OK(obol_session_create(mlp_, NULL, &plain));
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, dims, 2, x, sizeof x, &in));
  inputs[0] = in;
  for (k = 0; k < 3; ++k) {
    CHECK_OK(obol_session_run(s, inputs, 1, &out, 1));
    obol_tensor_free(out);
    out = NULL;
  }
  CHECK_OK(obol_session_metrics_prometheus(s, &text));
  CHECK(text && strstr(text, "obol_requests_total 3\n"));
  CHECK(text && strstr(text, "obol_request_latency_seconds_count 3\n"));
  CHECK(text && strstr(text, "obol_op_calls_total{op=\""));
  obol_string_free(text);
  CHECK_ERR(obol_session_metrics_prometheus(plain, &untouched), OBOL_ERROR_UNAVAILABLE, "\"metrics\" = \"1\"");
  CHECK_ERR(obol_session_metrics_prometheus(NULL, &untouched), OBOL_ERROR_INVALID_ARGUMENT, "session must not be NULL");
  CHECK_ERR(obol_session_metrics_prometheus(s, NULL), OBOL_ERROR_INVALID_ARGUMENT, "out must not be NULL");
  CHECK(strcmp(untouched, "untouched") == 0);
  obol_tensor_free(in);
  obol_session_free(plain);
  obol_session_free(s);
  obol_session_options_free(o);
}

static void test_free_in_any_order(void) {
  obol_env* env = NULL;
  obol_model* model = NULL;
  obol_session* s = NULL;
  obol_tensor* in = NULL;
  obol_tensor* out = NULL;
  const obol_tensor* inputs[1];
  const int64_t dims[2] = {1, 4};
  float want[3];
  void* y = NULL;
  CHECK_OK(obol_env_create(OBOL_API_VERSION, NULL, &env));
  CHECK_OK(obol_model_load_file(env, MODEL_PATH("tiny_mlp.onnx"), &model));
  CHECK_OK(obol_session_create(model, NULL, &s));
  CHECK_OK(obol_tensor_create(env, OBOL_DTYPE_F32, dims, 2, &in));
  /* The session keeps the model and the env; the tensor keeps the env. */
  obol_model_free(model);
  obol_env_free(env);
  inputs[0] = in;
  CHECK_OK(obol_session_run(s, inputs, 1, &out, 1));
  obol_session_free(s);
  {
    const float zeros[4] = {0, 0, 0, 0};
    tiny_mlp_reference(zeros, 1, want);
  }
  CHECK_OK(obol_tensor_data(out, &y));
  CHECK(close_enough((const float*)y, want, 3));
  obol_tensor_free(in);
  obol_tensor_free(out); /* the last object: the env goes with it */
  obol_session_free(NULL);
}

int main(void) {
  setup();
  RUN(test_options);
  RUN(test_run_library_outputs);
  RUN(test_run_into_caller_outputs);
  RUN(test_run_errors);
  RUN(test_two_outputs_of_different_dtypes);
  RUN(test_options_change_nothing_numerically);
  RUN(test_create_errors);
  RUN(test_placement_report);
  RUN(test_metrics);
  RUN(test_free_in_any_order);
  teardown();
  return HARNESS_RESULT();
}
