/* Many threads, one model: each thread creates its own session at the same time as the others and
 * runs it many times on its own inputs; every result is checked against the C reference. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>

#include "harness.h"

#define THREADS 8
#define RUNS 60

typedef struct {
  obol_model* model;
  obol_env* env;
  int id;
  int failures;
  char first_error[256];
} Worker;

/* Counts sessions created, so that the caller frees its handles only once every session holds the model. */
static pthread_mutex_t created_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t created_cond = PTHREAD_COND_INITIALIZER;
static int created = 0;

static void count_created(void) {
  pthread_mutex_lock(&created_mutex);
  ++created;
  pthread_cond_broadcast(&created_cond);
  pthread_mutex_unlock(&created_mutex);
}

static void note(Worker* w, const char* what) {
  if (w->failures++ == 0) {
    strncpy(w->first_error, what, sizeof w->first_error - 1);
    w->first_error[sizeof w->first_error - 1] = '\0';
  }
}

static void check_call(Worker* w, obol_status* st) {
  if (st) {
    note(w, obol_status_message(st));
    obol_status_free(st);
  }
}

static void* worker(void* arg) {
  Worker* w = (Worker*)arg;
  obol_session* s = NULL;
  int run;
  check_call(w, obol_session_create(w->model, NULL, &s));
  count_created();
  if (!s) return NULL;
  for (run = 0; run < RUNS; ++run) {
    /* Batch sizes change from run to run, so sessions re-plan while others run. */
    const int batch = 1 + (w->id + run) % 5;
    float x[5 * 4], want[5 * 3], y_into[5 * 3];
    const int64_t in_dims[2] = {batch, 4};
    const int64_t out_dims[2] = {batch, 3};
    obol_tensor *in = NULL, *out = NULL, *bound = NULL;
    const obol_tensor* inputs[1];
    void* y = NULL;
    int i;
    for (i = 0; i < batch * 4; ++i) x[i] = (float)((w->id * 31 + run * 7 + i * 3) % 17) / 4.0f - 2.0f;
    tiny_mlp_reference(x, batch, want);
    check_call(w, obol_tensor_wrap(OBOL_DTYPE_F32, in_dims, 2, x, (size_t)batch * 4 * sizeof(float), &in));
    inputs[0] = in;
    if (run % 2 == 0) {
      check_call(w, obol_session_run(s, inputs, 1, &out, 1));
      if (out) check_call(w, obol_tensor_data(out, &y));
      if (!y || !close_enough((const float*)y, want, (size_t)batch * 3)) note(w, "obol_session_run gave wrong values");
    } else {
      check_call(w, obol_tensor_wrap(OBOL_DTYPE_F32, out_dims, 2, y_into, (size_t)batch * 3 * sizeof(float), &bound));
      check_call(w, obol_session_run_into(s, inputs, 1, &bound, 1));
      if (!close_enough(y_into, want, (size_t)batch * 3)) note(w, "obol_session_run_into gave wrong values");
    }
    obol_tensor_free(out);
    obol_tensor_free(bound);
    obol_tensor_free(in);
  }
  obol_session_free(s);
  return NULL;
}

static void test_sessions_on_one_model(void) {
  obol_env* env = NULL;
  obol_model* model = NULL;
  pthread_t threads[THREADS];
  Worker workers[THREADS];
  int i;
  CHECK_OK(obol_env_create(OBOL_API_VERSION, NULL, &env));
  CHECK_OK(obol_model_load_file(env, MODEL_PATH("tiny_mlp.onnx"), &model));
  for (i = 0; i < THREADS; ++i) {
    memset(&workers[i], 0, sizeof workers[i]);
    workers[i].model = model;
    workers[i].env = env;
    workers[i].id = i;
    CHECK(pthread_create(&threads[i], NULL, worker, &workers[i]) == 0);
  }
  /* The sessions hold the model: the caller may drop its handles while they run. */
  pthread_mutex_lock(&created_mutex);
  while (created < THREADS) pthread_cond_wait(&created_cond, &created_mutex);
  pthread_mutex_unlock(&created_mutex);
  obol_model_free(model);
  obol_env_free(env);
  for (i = 0; i < THREADS; ++i) {
    pthread_join(threads[i], NULL);
    if (workers[i].failures) fprintf(stderr, "thread %d: %d failures, first: %s\n", i, workers[i].failures,
                                     workers[i].first_error);
    CHECK(workers[i].failures == 0);
  }
}

/* Models loaded and freed concurrently (the loader and the process-wide state are shared). */
static void* load_loop(void* arg) {
  Worker* w = (Worker*)arg;
  int k;
  for (k = 0; k < 10; ++k) {
    obol_model* m = NULL;
    obol_session* s = NULL;
    check_call(w, obol_model_load_file(w->env, k % 2 ? MODEL_PATH("two_outputs.onnx") : MODEL_PATH("chain.onnx"), &m));
    check_call(w, obol_session_create(m, NULL, &s));
    obol_session_free(s);
    obol_model_free(m);
  }
  return NULL;
}

static void test_concurrent_loads(void) {
  obol_env* env = NULL;
  pthread_t threads[4];
  Worker workers[4];
  int i;
  CHECK_OK(obol_env_create(OBOL_API_VERSION, NULL, &env));
  for (i = 0; i < 4; ++i) {
    memset(&workers[i], 0, sizeof workers[i]);
    workers[i].env = env;
    CHECK(pthread_create(&threads[i], NULL, load_loop, &workers[i]) == 0);
  }
  for (i = 0; i < 4; ++i) {
    pthread_join(threads[i], NULL);
    if (workers[i].failures) fprintf(stderr, "loader %d: %s\n", i, workers[i].first_error);
    CHECK(workers[i].failures == 0);
  }
  obol_env_free(env);
}

int main(void) {
  RUN(test_sessions_on_one_model);
  RUN(test_concurrent_loads);
  return HARNESS_RESULT();
}
