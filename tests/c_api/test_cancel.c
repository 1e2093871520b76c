/* Cancelling a run from another thread, deterministically, and using the session afterwards.
 *
 * To cancel at a known point, the env's allocator doubles as a probe: the first run of a session
 * allocates its intermediate values as it goes, so an armed allocator can stop the running thread
 * inside the first node, let the test thread call obol_session_cancel(), and resume. The run must
 * then end with OBOL_ERROR_CANCELLED at the next node boundary. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdlib.h>

#include "harness.h"

typedef struct {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  int armed;       /* the next allocation parks its thread */
  int parked;      /* a thread is parked in the allocator */
  int released;    /* the test thread has cancelled: go on */
} Probe;

static Probe probe_;

static void* probe_alloc(void* user, size_t size, size_t alignment) {
  Probe* p = (Probe*)user;
  void* mem = NULL;
  pthread_mutex_lock(&p->mutex);
  if (p->armed) {
    p->armed = 0;
    p->parked = 1;
    pthread_cond_broadcast(&p->cond);
    while (!p->released) pthread_cond_wait(&p->cond, &p->mutex);
  }
  pthread_mutex_unlock(&p->mutex);
  if (posix_memalign(&mem, alignment < sizeof(void*) ? sizeof(void*) : alignment, size ? size : 1) != 0) return NULL;
  return mem;
}

static void probe_free(void* user, void* ptr, size_t size) {
  (void)user;
  (void)size;
  free(ptr);
}

typedef struct {
  obol_session* session;
  const obol_tensor* input;
  obol_tensor* output; /* run_into when set */
  obol_status* status;
  obol_tensor* result;
} RunJob;

static void* run_job(void* arg) {
  RunJob* job = (RunJob*)arg;
  const obol_tensor* inputs[1];
  inputs[0] = job->input;
  if (job->output)
    job->status = obol_session_run_into(job->session, inputs, 1, &job->output, 1);
  else
    job->status = obol_session_run(job->session, inputs, 1, &job->result, 1);
  return NULL;
}

static obol_env* env_;
static obol_model* chain_;
static obol_tensor* input_;
static float expected_first_;

static void setup(void) {
  obol_allocator alloc;
  obol_env_options opt;
  const int64_t dims[2] = {64, 128};
  void* x = NULL;
  int i;
  pthread_mutex_init(&probe_.mutex, NULL);
  pthread_cond_init(&probe_.cond, NULL);
  alloc.struct_size = sizeof alloc;
  alloc.alloc = probe_alloc;
  alloc.free = probe_free;
  alloc.user = &probe_;
  memset(&opt, 0, sizeof opt);
  opt.struct_size = sizeof opt;
  opt.allocator = &alloc;
  CHECK_OK(obol_env_create(OBOL_API_VERSION, &opt, &env_));
  CHECK_OK(obol_model_load_file(env_, MODEL_PATH("chain.onnx"), &chain_));
  CHECK_OK(obol_tensor_create(env_, OBOL_DTYPE_F32, dims, 2, &input_));
  CHECK_OK(obol_tensor_data(input_, &x));
  for (i = 0; i < 64 * 128; ++i) ((float*)x)[i] = (float)(i % 7);
  /* Every layer maps a row to its mean (W = 1/128 everywhere), so y[0][j] = mean of row 0. */
  expected_first_ = 0;
  for (i = 0; i < 128; ++i) expected_first_ += (float)(i % 7);
  expected_first_ /= 128.0f;
}

static void teardown(void) {
  obol_tensor_free(input_);
  obol_model_free(chain_);
  obol_env_free(env_);
  pthread_cond_destroy(&probe_.cond);
  pthread_mutex_destroy(&probe_.mutex);
}

static float first_value(const obol_tensor* t) {
  void* y = NULL;
  CHECK_OK(obol_tensor_data(t, &y));
  return y ? ((float*)y)[0] : -1.0f;
}

/* Starts `job` on a thread, waits until it is parked inside its first node, cancels, resumes it. */
static void run_and_cancel_midway(RunJob* job) {
  pthread_t thread;
  pthread_mutex_lock(&probe_.mutex);
  probe_.armed = 1;
  probe_.parked = 0;
  probe_.released = 0;
  pthread_mutex_unlock(&probe_.mutex);
  CHECK(pthread_create(&thread, NULL, run_job, job) == 0);
  pthread_mutex_lock(&probe_.mutex);
  while (!probe_.parked) pthread_cond_wait(&probe_.cond, &probe_.mutex);
  pthread_mutex_unlock(&probe_.mutex);
  CHECK_OK(obol_session_cancel(job->session)); /* from this thread, while the run is in progress */
  pthread_mutex_lock(&probe_.mutex);
  probe_.released = 1;
  pthread_cond_broadcast(&probe_.cond);
  pthread_mutex_unlock(&probe_.mutex);
  pthread_join(thread, NULL);
}

static void test_cancel_midway_then_reuse(void) {
  obol_session* s = NULL;
  obol_tensor* const sentinel = (obol_tensor*)&s;
  RunJob job;
  CHECK_OK(obol_session_create(chain_, NULL, &s));
  memset(&job, 0, sizeof job);
  job.session = s;
  job.input = input_;
  job.result = sentinel;
  run_and_cancel_midway(&job);
  CHECK_ERR(job.status, OBOL_ERROR_CANCELLED, "run cancelled before");
  CHECK(job.result == sentinel); /* no outputs from a cancelled run */

  /* Use after cancel: the next run starts afresh and is right. */
  job.status = NULL;
  job.result = NULL;
  run_job(&job);
  CHECK_OK(job.status);
  CHECK(job.result && first_value(job.result) == expected_first_);
  obol_tensor_free(job.result);
  obol_session_free(s);
}

static void test_cancel_run_into(void) {
  obol_session* s = NULL;
  obol_tensor* out = NULL;
  const int64_t dims[2] = {64, 128};
  RunJob job;
  CHECK_OK(obol_session_create(chain_, NULL, &s));
  CHECK_OK(obol_tensor_create(env_, OBOL_DTYPE_F32, dims, 2, &out));
  memset(&job, 0, sizeof job);
  job.session = s;
  job.input = input_;
  job.output = out;
  run_and_cancel_midway(&job);
  CHECK_ERR(job.status, OBOL_ERROR_CANCELLED, "cancelled");
  job.status = NULL;
  run_job(&job);
  CHECK_OK(job.status);
  CHECK(first_value(out) == expected_first_);
  obol_tensor_free(out);
  obol_session_free(s);
}

static void test_cancel_when_idle_does_not_stick(void) {
  obol_session* s = NULL;
  RunJob job;
  CHECK_OK(obol_session_create(chain_, NULL, &s));
  CHECK_OK(obol_session_cancel(s));
  CHECK_OK(obol_session_cancel(s));
  memset(&job, 0, sizeof job);
  job.session = s;
  job.input = input_;
  run_job(&job);
  CHECK_OK(job.status);
  CHECK(job.result && first_value(job.result) == expected_first_);
  obol_tensor_free(job.result);
  CHECK_ERR(obol_session_cancel(NULL), OBOL_ERROR_INVALID_ARGUMENT, "session must not be NULL");
  obol_session_free(s);
}

/* A thread cancels over and over while runs go on: every run either completes correctly or is
 * cancelled; nothing else happens, nothing leaks, and the session keeps working. */
typedef struct {
  obol_session* session;
  pthread_mutex_t mutex;
  int stop;
} Canceller;

static int should_stop(Canceller* c) {
  int stop;
  pthread_mutex_lock(&c->mutex);
  stop = c->stop;
  pthread_mutex_unlock(&c->mutex);
  return stop;
}

static void* cancel_loop(void* arg) {
  Canceller* c = (Canceller*)arg;
  while (!should_stop(c)) {
    obol_status* st = obol_session_cancel(c->session);
    if (st) obol_status_free(st);
  }
  return NULL;
}

static void test_cancel_storm(void) {
  obol_session* s = NULL;
  Canceller c;
  pthread_t thread;
  int i, ok = 0, cancelled = 0, other = 0;
  CHECK_OK(obol_session_create(chain_, NULL, &s));
  c.session = s;
  c.stop = 0;
  pthread_mutex_init(&c.mutex, NULL);
  CHECK(pthread_create(&thread, NULL, cancel_loop, &c) == 0);
  for (i = 0; i < 40; ++i) {
    RunJob job;
    memset(&job, 0, sizeof job);
    job.session = s;
    job.input = input_;
    run_job(&job);
    if (!job.status) {
      ++ok;
      if (first_value(job.result) != expected_first_) ++other;
      obol_tensor_free(job.result);
    } else if (obol_status_code(job.status) == OBOL_ERROR_CANCELLED) {
      ++cancelled;
    } else {
      ++other;
      fprintf(stderr, "unexpected: %s\n", obol_status_message(job.status));
    }
    obol_status_free(job.status);
  }
  pthread_mutex_lock(&c.mutex);
  c.stop = 1;
  pthread_mutex_unlock(&c.mutex);
  pthread_join(thread, NULL);
  pthread_mutex_destroy(&c.mutex);
  CHECK(ok + cancelled == 40);
  CHECK(other == 0);
  {
    RunJob job;
    memset(&job, 0, sizeof job);
    job.session = s;
    job.input = input_;
    run_job(&job);
    CHECK_OK(job.status);
    obol_tensor_free(job.result);
  }
  obol_session_free(s);
}

int main(void) {
  setup();
  RUN(test_cancel_midway_then_reuse);
  RUN(test_cancel_run_into);
  RUN(test_cancel_when_idle_does_not_stick);
  RUN(test_cancel_storm);
  teardown();
  return HARNESS_RESULT();
}
