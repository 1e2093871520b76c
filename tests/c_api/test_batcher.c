/* The batcher: options, results against the C reference, every error (argument checks, queue full,
 * timeout, shutdown), stats and metrics, and many threads submitting to one batcher. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <time.h>

#include "harness.h"

static obol_env* env_;
static obol_model* mlp_;

static void setup(void) {
  CHECK_OK(obol_env_create(OBOL_API_VERSION, NULL, &env_));
  CHECK_OK(obol_model_load_file(env_, MODEL_PATH("tiny_mlp.onnx"), &mlp_));
}

static void teardown(void) {
  obol_model_free(mlp_);
  obol_env_free(env_);
}

static obol_batcher_options options(void) {
  obol_batcher_options o;
  memset(&o, 0, sizeof o);
  o.struct_size = sizeof o;
  return o;
}

static void sleep_ms(int ms) {
  struct timespec ts;
  ts.tv_sec = 0;
  ts.tv_nsec = (long)ms * 1000000L;
  nanosleep(&ts, NULL);
}

/* Waits until `n` requests are queued (no time limit of its own: the ctest timeout bounds it). */
static void wait_queued(obol_batcher* b, size_t n) {
  size_t q = 0;
  for (;;) {
    CHECK_OK(obol_batcher_queue_size(b, &q));
    if (q >= n) return;
    sleep_ms(1);
  }
}

static void test_create_errors(void) {
  obol_batcher* b = NULL;
  obol_batcher* const sentinel = (obol_batcher*)&b;
  obol_batcher_options o = options();
  obol_session_options* so = NULL;
  const int preferred[2] = {4, 16};
  b = sentinel;
  CHECK_ERR(obol_batcher_create(NULL, NULL, NULL, &b), OBOL_ERROR_INVALID_ARGUMENT, "model must not be NULL");
  CHECK_ERR(obol_batcher_create(mlp_, NULL, NULL, NULL), OBOL_ERROR_INVALID_ARGUMENT, "out must not be NULL");
  o.struct_size = 8;
  CHECK_ERR(obol_batcher_create(mlp_, NULL, &o, &b), OBOL_ERROR_INVALID_ARGUMENT, "obol_batcher_options.struct_size");
  o = options();
  o.max_batch = -1;
  CHECK_ERR(obol_batcher_create(mlp_, NULL, &o, &b), OBOL_ERROR_INVALID_ARGUMENT, "negative value");
  o = options();
  o.max_delay_us = -5;
  CHECK_ERR(obol_batcher_create(mlp_, NULL, &o, &b), OBOL_ERROR_INVALID_ARGUMENT, "max_delay_us -5");
  o = options();
  o.n_preferred = 2;
  CHECK_ERR(obol_batcher_create(mlp_, NULL, &o, &b), OBOL_ERROR_INVALID_ARGUMENT, "preferred_batch must not be NULL");
  o.max_batch = 8;
  o.preferred_batch = preferred;
  CHECK_ERR(obol_batcher_create(mlp_, NULL, &o, &b), OBOL_ERROR_INVALID_ARGUMENT,
            "preferred batch size 16 is outside [1, max_batch = 8]");
  CHECK_OK(obol_session_options_create(&so));
  CHECK_OK(obol_session_options_set(so, "threads", "1"));
  CHECK_ERR(obol_batcher_create(mlp_, so, NULL, &b), OBOL_ERROR_UNSUPPORTED, "session option 'threads' = 1");
  CHECK_OK(obol_session_options_set(so, "threads", "0"));
  CHECK_OK(obol_session_options_set(so, "metrics", "1"));
  CHECK_ERR(obol_batcher_create(mlp_, so, NULL, &b), OBOL_ERROR_UNSUPPORTED, "session option 'metrics' = 1");
  CHECK(b == sentinel);
  /* The other session options apply. */
  CHECK_OK(obol_session_options_set(so, "metrics", "0"));
  CHECK_OK(obol_session_options_set(so, "opt_level", "basic"));
  CHECK_OK(obol_batcher_create(mlp_, so, NULL, &b));
  CHECK(b != sentinel && b != NULL);
  obol_session_options_free(so);
  obol_batcher_free(b);
  obol_batcher_free(NULL);
}

static void test_submit_and_stats(void) {
  float x[12] = {1, 2, 3, 4, -1, -2, -3, -4, 0.5f, -0.5f, 2, 1};
  float want[9];
  const int64_t dims[2] = {3, 4};
  obol_batcher* b = NULL;
  obol_batcher_options o = options();
  obol_tensor* in = NULL;
  obol_tensor* out = NULL;
  const obol_tensor* inputs[1];
  obol_batcher_stats st;
  uint64_t rows[10], requests[10];
  const int64_t* odims = NULL;
  void* y = NULL;
  char* text = NULL;
  size_t q = 99;
  o.max_batch = 8;
  o.priority_levels = 2;
  tiny_mlp_reference(x, 3, want);
  CHECK_OK(obol_batcher_create(mlp_, NULL, &o, &b));
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, dims, 2, x, sizeof x, &in));
  inputs[0] = in;
  CHECK_OK(obol_batcher_submit(b, inputs, 1, &out, 1, 1, 0));
  CHECK_OK(obol_tensor_dims(out, &odims));
  CHECK(odims[0] == 3 && odims[1] == 3);
  CHECK_OK(obol_tensor_data(out, &y));
  CHECK(close_enough((const float*)y, want, 9));
  obol_tensor_free(out);

  CHECK_OK(obol_batcher_queue_size(b, &q));
  CHECK(q == 0);
  memset(&st, 0, sizeof st);
  st.struct_size = sizeof st;
  CHECK_OK(obol_batcher_get_stats(b, &st));
  CHECK(st.struct_size == sizeof st);
  CHECK(st.accepted == 1 && st.completed == 1 && st.batches == 1);
  CHECK(st.rejected == 0 && st.timed_out == 0 && st.failed == 0 && st.cancelled_by_shutdown == 0);
  CHECK(st.mean_batch_rows == 3.0);
  CHECK(st.queue_us_sum >= 0 && st.queue_us_max >= 0);
  CHECK_OK(obol_batcher_batch_counts(b, rows, requests, 10));
  CHECK(rows[3] == 1 && rows[1] == 0 && rows[0] == 0 && rows[9] == 0);
  CHECK(requests[1] == 1 && requests[3] == 0);
  CHECK_OK(obol_batcher_batch_counts(b, rows, NULL, 4));
  CHECK_OK(obol_batcher_batch_counts(b, NULL, requests, 2));
  CHECK(rows[3] == 1 && requests[1] == 1);
  CHECK_OK(obol_batcher_batch_counts(b, NULL, NULL, 0));

  CHECK_OK(obol_batcher_metrics_prometheus(b, &text));
  CHECK(text && strstr(text, "obol_batcher_completed_total 1") != NULL);
  CHECK(text && strstr(text, "obol_batcher_batch_rows_count 1") != NULL);
  CHECK(text && strstr(text, "obol_batcher_queue_seconds") != NULL);
  obol_string_free(text);

  /* Argument errors of the read functions. */
  CHECK_ERR(obol_batcher_queue_size(NULL, &q), OBOL_ERROR_INVALID_ARGUMENT, "batcher must not be NULL");
  CHECK_ERR(obol_batcher_queue_size(b, NULL), OBOL_ERROR_INVALID_ARGUMENT, "out must not be NULL");
  CHECK_ERR(obol_batcher_get_stats(NULL, &st), OBOL_ERROR_INVALID_ARGUMENT, "batcher must not be NULL");
  CHECK_ERR(obol_batcher_get_stats(b, NULL), OBOL_ERROR_INVALID_ARGUMENT, "out must not be NULL");
  st.struct_size = 4;
  CHECK_ERR(obol_batcher_get_stats(b, &st), OBOL_ERROR_INVALID_ARGUMENT, "obol_batcher_stats.struct_size is 4");
  CHECK_ERR(obol_batcher_batch_counts(NULL, rows, requests, 10), OBOL_ERROR_INVALID_ARGUMENT,
            "batcher must not be NULL");
  CHECK_ERR(obol_batcher_batch_counts(b, NULL, NULL, 10), OBOL_ERROR_INVALID_ARGUMENT, "rows and requests");
  CHECK_ERR(obol_batcher_metrics_prometheus(NULL, &text), OBOL_ERROR_INVALID_ARGUMENT, "batcher must not be NULL");
  CHECK_ERR(obol_batcher_metrics_prometheus(b, NULL), OBOL_ERROR_INVALID_ARGUMENT, "out must not be NULL");
  CHECK_ERR(obol_batcher_shutdown(NULL), OBOL_ERROR_INVALID_ARGUMENT, "batcher must not be NULL");

  obol_batcher_free(b); /* before the input tensor: nothing references it any more */
  obol_tensor_free(in);
}

static void test_submit_errors(void) {
  float x[20] = {0};
  const int64_t good[2] = {1, 4}, wide[2] = {2, 5}, tall[2] = {5, 4};
  obol_batcher* b = NULL;
  obol_batcher_options o = options();
  obol_tensor *in = NULL, *bad = NULL, *big = NULL, *i32 = NULL;
  obol_tensor* out = (obol_tensor*)&o; /* a sentinel: failures must leave it alone */
  obol_tensor* const sentinel = out;
  const obol_tensor* inputs[2];
  int32_t xi[4] = {0};
  o.max_batch = 4;
  o.priority_levels = 2;
  CHECK_OK(obol_batcher_create(mlp_, NULL, &o, &b));
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, good, 2, x, 4 * sizeof(float), &in));
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, wide, 2, x, 10 * sizeof(float), &bad));
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, tall, 2, x, 20 * sizeof(float), &big));
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_I32, good, 2, xi, sizeof xi, &i32));
  inputs[0] = in;
  inputs[1] = in;
  CHECK_ERR(obol_batcher_submit(NULL, inputs, 1, &out, 1, 0, 0), OBOL_ERROR_INVALID_ARGUMENT,
            "batcher must not be NULL");
  CHECK_ERR(obol_batcher_submit(b, inputs, 1, NULL, 1, 0, 0), OBOL_ERROR_INVALID_ARGUMENT, "outputs must not be NULL");
  CHECK_ERR(obol_batcher_submit(b, inputs, 1, &out, 2, 0, 0), OBOL_ERROR_INVALID_ARGUMENT,
            "the model has 1 outputs, n_outputs is 2");
  CHECK_ERR(obol_batcher_submit(b, inputs, 1, &out, 1, 2, 0), OBOL_ERROR_INVALID_ARGUMENT,
            "priority 2 is outside [0, 1]");
  CHECK_ERR(obol_batcher_submit(b, inputs, 1, &out, 1, -1, 0), OBOL_ERROR_INVALID_ARGUMENT, "priority -1");
  CHECK_ERR(obol_batcher_submit(b, inputs, 1, &out, 1, 0, -1), OBOL_ERROR_INVALID_ARGUMENT, "timeout_us -1 is negative");
  CHECK_ERR(obol_batcher_submit(b, NULL, 1, &out, 1, 0, 0), OBOL_ERROR_INVALID_ARGUMENT, "inputs must not be NULL");
  CHECK_ERR(obol_batcher_submit(b, inputs, 2, &out, 1, 0, 0), OBOL_ERROR_INVALID_ARGUMENT,
            "got 2 inputs, the model has 1");
  inputs[0] = NULL;
  CHECK_ERR(obol_batcher_submit(b, inputs, 1, &out, 1, 0, 0), OBOL_ERROR_INVALID_ARGUMENT, "inputs[0] is NULL");
  inputs[0] = bad;
  CHECK_ERR(obol_batcher_submit(b, inputs, 1, &out, 1, 0, 0), OBOL_ERROR_INVALID_ARGUMENT,
            "the model expects dim 1 = 4");
  inputs[0] = big;
  CHECK_ERR(obol_batcher_submit(b, inputs, 1, &out, 1, 0, 0), OBOL_ERROR_INVALID_ARGUMENT,
            "request of 5 rows exceeds max_batch 4");
  inputs[0] = i32;
  CHECK_ERR(obol_batcher_submit(b, inputs, 1, &out, 1, 0, 0), OBOL_ERROR_INVALID_ARGUMENT,
            "the model expects f32");
  CHECK(out == sentinel);
  obol_batcher_free(b);
  obol_tensor_free(in);
  obol_tensor_free(bad);
  obol_tensor_free(big);
  obol_tensor_free(i32);
}

/* A request alone in a batcher that waits 10 s for company runs out of its much shorter timeout. */
static void test_timeout(void) {
  float x[4] = {1, 2, 3, 4};
  const int64_t dims[2] = {1, 4};
  obol_batcher* b = NULL;
  obol_batcher_options o = options();
  obol_tensor* in = NULL;
  obol_tensor* out = NULL;
  const obol_tensor* inputs[1];
  obol_batcher_stats st;
  o.max_batch = 8;
  o.max_delay_us = 10 * 1000 * 1000;
  CHECK_OK(obol_batcher_create(mlp_, NULL, &o, &b));
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, dims, 2, x, sizeof x, &in));
  inputs[0] = in;
  CHECK_ERR(obol_batcher_submit(b, inputs, 1, &out, 1, 0, 2000), OBOL_ERROR_TIMEOUT, "[batcher] timed out");
  CHECK(out == NULL);
  memset(&st, 0, sizeof st);
  st.struct_size = sizeof st;
  CHECK_OK(obol_batcher_get_stats(b, &st));
  CHECK(st.timed_out == 1 && st.completed == 0 && st.batches == 0);
  obol_batcher_free(b);

  /* The default timeout applies to submits that pass 0. */
  o.default_timeout_us = 2000;
  CHECK_OK(obol_batcher_create(mlp_, NULL, &o, &b));
  CHECK_ERR(obol_batcher_submit(b, inputs, 1, &out, 1, 0, 0), OBOL_ERROR_TIMEOUT, "timed out");
  CHECK(strcmp(obol_error_code_name(OBOL_ERROR_TIMEOUT), "timeout") == 0);
  obol_batcher_free(b);
  obol_tensor_free(in);
}

typedef struct {
  obol_batcher* batcher;
  const obol_tensor* input;
  obol_error_code code;
  char message[256];
} Pending;

static void* submit_one(void* arg) {
  Pending* p = (Pending*)arg;
  obol_tensor* out = NULL;
  const obol_tensor* inputs[1];
  obol_status* st;
  inputs[0] = p->input;
  st = obol_batcher_submit(p->batcher, inputs, 1, &out, 1, 0, 0);
  p->code = obol_status_code(st);
  strncpy(p->message, obol_status_message(st), sizeof p->message - 1);
  p->message[sizeof p->message - 1] = '\0';
  obol_status_free(st);
  obol_tensor_free(out);
  return NULL;
}

/* max_queue 1: one request waits (for company that never comes), the next is rejected at once;
 * shutdown then fails the waiting one, and later submits. */
static void test_queue_full_and_shutdown(void) {
  float x[4] = {1, 2, 3, 4};
  const int64_t dims[2] = {1, 4};
  obol_batcher* b = NULL;
  obol_batcher_options o = options();
  obol_tensor* in = NULL;
  obol_tensor* out = NULL;
  const obol_tensor* inputs[1];
  obol_batcher_stats st;
  pthread_t thread;
  Pending p;
  char* text = NULL;
  o.max_batch = 8;
  o.max_delay_us = 10 * 1000 * 1000;
  o.max_queue = 1;
  CHECK_OK(obol_batcher_create(mlp_, NULL, &o, &b));
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, dims, 2, x, sizeof x, &in));
  inputs[0] = in;
  memset(&p, 0, sizeof p);
  p.batcher = b;
  p.input = in;
  CHECK(pthread_create(&thread, NULL, submit_one, &p) == 0);
  wait_queued(b, 1);
  CHECK_ERR(obol_batcher_submit(b, inputs, 1, &out, 1, 0, 0), OBOL_ERROR_QUEUE_FULL,
            "[batcher] queue full (max_queue 1)");
  CHECK(out == NULL);
  CHECK_OK(obol_batcher_shutdown(b));
  CHECK(pthread_join(thread, NULL) == 0);
  CHECK(p.code == OBOL_ERROR_UNAVAILABLE);
  CHECK(strstr(p.message, "shutting down") != NULL);
  CHECK_ERR(obol_batcher_submit(b, inputs, 1, &out, 1, 0, 0), OBOL_ERROR_UNAVAILABLE, "shutting down");
  CHECK_OK(obol_batcher_shutdown(b)); /* idempotent */
  memset(&st, 0, sizeof st);
  st.struct_size = sizeof st;
  CHECK_OK(obol_batcher_get_stats(b, &st));
  CHECK(st.accepted == 1 && st.rejected == 1 && st.cancelled_by_shutdown == 1 && st.completed == 0);
  CHECK_OK(obol_batcher_metrics_prometheus(b, &text));
  CHECK(text && strstr(text, "obol_batcher_rejected_total 1") != NULL);
  obol_string_free(text);
  CHECK(strcmp(obol_error_code_name(OBOL_ERROR_QUEUE_FULL), "queue_full") == 0);
  obol_batcher_free(b);
  obol_tensor_free(in);
}

#define THREADS 8
#define REQUESTS 40

typedef struct {
  obol_batcher* batcher;
  int id;
  int failures;
  int rows_sent;
  char first_error[256];
} Worker;

static void note(Worker* w, const char* what) {
  if (w->failures++ == 0) {
    strncpy(w->first_error, what, sizeof w->first_error - 1);
    w->first_error[sizeof w->first_error - 1] = '\0';
  }
}

/* Each request carries rows unique to its thread and index; the outputs must be exactly its own. */
static void* worker(void* arg) {
  Worker* w = (Worker*)arg;
  int k, i;
  for (k = 0; k < REQUESTS; ++k) {
    const int rows = 1 + (k % 2);
    float x[8], want[6];
    const int64_t dims[2] = {rows, 4};
    obol_tensor* in = NULL;
    obol_tensor* out = NULL;
    const obol_tensor* inputs[1];
    const int64_t* odims = NULL;
    void* y = NULL;
    obol_status* st;
    for (i = 0; i < rows * 4; ++i) x[i] = (float)(w->id * 7 - k * 3 + i) / 8.0f;
    tiny_mlp_reference(x, rows, want);
    st = obol_tensor_wrap(OBOL_DTYPE_F32, dims, 2, x, (size_t)rows * 4 * sizeof(float), &in);
    if (!st) {
      inputs[0] = in;
      st = obol_batcher_submit(w->batcher, inputs, 1, &out, 1, k % 2, 0);
    }
    if (st) {
      note(w, obol_status_message(st));
      obol_status_free(st);
    } else {
      obol_status_free(obol_tensor_dims(out, &odims));
      obol_status_free(obol_tensor_data(out, &y));
      if (!odims || odims[0] != rows || odims[1] != 3 || !y || !close_enough((const float*)y, want, (size_t)rows * 3))
        note(w, "a request got outputs that are not its own");
      w->rows_sent += rows;
    }
    obol_tensor_free(out);
    obol_tensor_free(in);
  }
  return NULL;
}

static void test_many_threads(void) {
  obol_batcher* b = NULL;
  obol_batcher_options o = options();
  const int preferred[2] = {4, 8};
  pthread_t threads[THREADS];
  Worker workers[THREADS];
  obol_batcher_stats st;
  uint64_t rows[9], requests[9];
  uint64_t row_sum = 0, request_sum = 0, batches = 0;
  int t, total_rows = 0;
  o.max_batch = 8;
  o.preferred_batch = preferred;
  o.n_preferred = 2;
  o.max_delay_us = 2000;
  o.priority_levels = 2;
  o.workers = 2;
  CHECK_OK(obol_batcher_create(mlp_, NULL, &o, &b));
  for (t = 0; t < THREADS; ++t) {
    memset(&workers[t], 0, sizeof workers[t]);
    workers[t].batcher = b;
    workers[t].id = t;
    CHECK(pthread_create(&threads[t], NULL, worker, &workers[t]) == 0);
  }
  for (t = 0; t < THREADS; ++t) {
    CHECK(pthread_join(threads[t], NULL) == 0);
    if (workers[t].failures) fprintf(stderr, "thread %d: %s\n", t, workers[t].first_error);
    CHECK(workers[t].failures == 0);
    total_rows += workers[t].rows_sent;
  }
  memset(&st, 0, sizeof st);
  st.struct_size = sizeof st;
  CHECK_OK(obol_batcher_get_stats(b, &st));
  CHECK(st.accepted == THREADS * REQUESTS && st.completed == THREADS * REQUESTS);
  CHECK(st.rejected == 0 && st.timed_out == 0 && st.failed == 0);
  CHECK_OK(obol_batcher_batch_counts(b, rows, requests, 9));
  for (t = 0; t < 9; ++t) {
    row_sum += rows[t] * (uint64_t)t;
    request_sum += requests[t] * (uint64_t)t;
    batches += rows[t];
  }
  /* Nothing lost, nothing counted twice: every row and request went through exactly one batch. */
  CHECK(row_sum == (uint64_t)total_rows);
  CHECK(total_rows == THREADS * (REQUESTS / 2) * 3);
  CHECK(request_sum == THREADS * REQUESTS);
  CHECK(batches == st.batches);
  obol_batcher_free(b);
}

int main(void) {
  setup();
  RUN(test_create_errors);
  RUN(test_submit_and_stats);
  RUN(test_submit_errors);
  RUN(test_timeout);
  RUN(test_queue_full_and_shutdown);
  RUN(test_many_threads);
  teardown();
  return HARNESS_RESULT();
}
