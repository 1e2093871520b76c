/* A game loop that runs one inference per frame inside a fixed time budget, the way an engine
 * embeds obol: the engine's allocator and the engine's job system go in through obol_env, and a
 * watchdog cancels the frame's inference when it overruns its budget (the frame then keeps the
 * previous frame's result, as a game would).
 *
 *   game_loop model.onnx [frames] [budget_ms]
 *
 * The model takes f32[batch, features] (a symbolic batch is set to 64). The second half of the
 * frames get a budget far too small to finish in, so the cancellation path is exercised on every
 * machine. Timing varies with the machine's load: overruns are reported, not treated as errors.
 * The exit status is non-zero only for real errors (a failed call other than a cancelled run). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <obol/obol.h>

/* --- the engine's allocator: tracks what obol holds ---------------------------------------------- */

typedef struct {
  pthread_mutex_t mutex;
  size_t live_bytes, peak_bytes;
  long allocations;
} EngineHeap;

static void* heap_alloc(void* user, size_t size, size_t alignment) {
  EngineHeap* h = (EngineHeap*)user;
  void* p = NULL;
  if (posix_memalign(&p, alignment < sizeof(void*) ? sizeof(void*) : alignment, size ? size : 1) != 0) return NULL;
  pthread_mutex_lock(&h->mutex);
  h->live_bytes += size;
  if (h->live_bytes > h->peak_bytes) h->peak_bytes = h->live_bytes;
  ++h->allocations;
  pthread_mutex_unlock(&h->mutex);
  return p;
}

static void heap_free(void* user, void* ptr, size_t size) {
  EngineHeap* h = (EngineHeap*)user;
  pthread_mutex_lock(&h->mutex);
  h->live_bytes -= size; /* obol passes back the size it asked for */
  pthread_mutex_unlock(&h->mutex);
  free(ptr);
}

/* --- the engine's job system: workers sleep on a condition variable when idle ------------------- */

#define WORKERS 2

typedef struct {
  pthread_mutex_t serial; /* one job at a time, whichever thread submits it */
  pthread_mutex_t mutex;
  pthread_cond_t wake, done;
  pthread_t threads[WORKERS];
  void (*task)(void*, int64_t);
  void* ctx;
  int64_t next, count, finished;
  long generation, jobs;
  int quit;
} JobSystem;

/* Claims and runs tasks of the current job until none is left. Called with the mutex held. */
static void work_on_job(JobSystem* js) {
  while (js->next < js->count) {
    const int64_t i = js->next++;
    void (*task)(void*, int64_t) = js->task;
    void* ctx = js->ctx;
    pthread_mutex_unlock(&js->mutex);
    task(ctx, i);
    pthread_mutex_lock(&js->mutex);
    if (++js->finished == js->count) pthread_cond_broadcast(&js->done);
  }
}

static void* worker_main(void* arg) {
  JobSystem* js = (JobSystem*)arg;
  long seen = 0;
  pthread_mutex_lock(&js->mutex);
  for (;;) {
    while (!js->quit && js->generation == seen) pthread_cond_wait(&js->wake, &js->mutex);
    if (js->quit) break;
    seen = js->generation;
    work_on_job(js);
  }
  pthread_mutex_unlock(&js->mutex);
  return NULL;
}

/* obol_thread_pool.run: the calling thread works too, and returns when every task has finished. */
static void jobs_run(void* user, int64_t n, void (*task)(void*, int64_t), void* ctx) {
  JobSystem* js = (JobSystem*)user;
  pthread_mutex_lock(&js->serial);
  pthread_mutex_lock(&js->mutex);
  js->task = task;
  js->ctx = ctx;
  js->next = 0;
  js->count = n;
  js->finished = 0;
  ++js->generation;
  ++js->jobs;
  pthread_cond_broadcast(&js->wake);
  work_on_job(js);
  while (js->finished < js->count) pthread_cond_wait(&js->done, &js->mutex);
  pthread_mutex_unlock(&js->mutex);
  pthread_mutex_unlock(&js->serial);
}

static int jobs_width(void* user) {
  (void)user;
  return WORKERS + 1;
}

static void jobs_start(JobSystem* js) {
  int i;
  memset(js, 0, sizeof *js);
  pthread_mutex_init(&js->serial, NULL);
  pthread_mutex_init(&js->mutex, NULL);
  pthread_cond_init(&js->wake, NULL);
  pthread_cond_init(&js->done, NULL);
  for (i = 0; i < WORKERS; ++i) pthread_create(&js->threads[i], NULL, worker_main, js);
}

static void jobs_stop(JobSystem* js) {
  int i;
  pthread_mutex_lock(&js->mutex);
  js->quit = 1;
  pthread_cond_broadcast(&js->wake);
  pthread_mutex_unlock(&js->mutex);
  for (i = 0; i < WORKERS; ++i) pthread_join(js->threads[i], NULL);
  pthread_cond_destroy(&js->done);
  pthread_cond_destroy(&js->wake);
  pthread_mutex_destroy(&js->mutex);
  pthread_mutex_destroy(&js->serial);
}

/* --- the watchdog: cancels the frame's inference at its deadline --------------------------------- */

typedef struct {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  obol_session* session;
  struct timespec deadline;
  int armed;  /* an inference is running with `deadline` */
  int quit;
  long cancels;
} Watchdog;

static void* watchdog_main(void* arg) {
  Watchdog* w = (Watchdog*)arg;
  pthread_mutex_lock(&w->mutex);
  while (!w->quit) {
    if (!w->armed) {
      pthread_cond_wait(&w->cond, &w->mutex);
    } else if (pthread_cond_timedwait(&w->cond, &w->mutex, &w->deadline) == ETIMEDOUT && w->armed) {
      obol_status_free(obol_session_cancel(w->session)); /* the run stops at its next node */
      ++w->cancels;
      w->armed = 0;
    }
  }
  pthread_mutex_unlock(&w->mutex);
  return NULL;
}

static void watchdog_arm(Watchdog* w, double budget_ms) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  t.tv_nsec += (long)(budget_ms * 1e6);
  t.tv_sec += t.tv_nsec / 1000000000L;
  t.tv_nsec %= 1000000000L;
  pthread_mutex_lock(&w->mutex);
  w->deadline = t;
  w->armed = 1;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->mutex);
}

static void watchdog_disarm(Watchdog* w) {
  pthread_mutex_lock(&w->mutex);
  w->armed = 0;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->mutex);
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* --- the game -------------------------------------------------------------------------------- */

#define CHECK_CALL(call)                                                   \
  do {                                                                     \
    obol_status* st_ = (call);                                             \
    if (st_) {                                                             \
      fprintf(stderr, "game_loop: %s: %s\n", #call, obol_status_message(st_)); \
      obol_status_free(st_);                                               \
      goto cleanup;                                                        \
    }                                                                      \
  } while (0)

int main(int argc, char** argv) {
  const char* path = argc > 1 ? argv[1] : NULL;
  const int frames = argc > 2 ? atoi(argv[2]) : 60;
  const double budget_ms = argc > 3 ? atof(argv[3]) : 8.0;
  EngineHeap heap;
  JobSystem jobs;
  Watchdog dog;
  pthread_t dog_thread;
  obol_allocator allocator;
  obol_thread_pool pool;
  obol_env_options options;
  obol_env* env = NULL;
  obol_model* model = NULL;
  obol_session* session = NULL;
  obol_tensor *input = NULL, *output = NULL;
  obol_tensor_info info;
  int64_t dims[2];
  float* x = NULL;
  void* in_data = NULL;
  void* out_data = NULL;
  long completed = 0, cancelled = 0, overruns = 0, steady_allocations = 0, wrong = 0;
  double worst_ms = 0, total_ms = 0;
  int frame, rc = 1;

  if (!path || frames < 2) {
    fprintf(stderr, "usage: %s model.onnx [frames >= 2] [budget_ms]\n", argv[0]);
    return 2;
  }
  memset(&heap, 0, sizeof heap);
  pthread_mutex_init(&heap.mutex, NULL);
  jobs_start(&jobs);
  memset(&dog, 0, sizeof dog);
  pthread_mutex_init(&dog.mutex, NULL);
  {
    pthread_condattr_t attr; /* deadlines are on the monotonic clock */
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&dog.cond, &attr);
    pthread_condattr_destroy(&attr);
  }

  memset(&allocator, 0, sizeof allocator);
  allocator.struct_size = sizeof allocator;
  allocator.alloc = heap_alloc;
  allocator.free = heap_free;
  allocator.user = &heap;
  memset(&pool, 0, sizeof pool);
  pool.struct_size = sizeof pool;
  pool.run = jobs_run;
  pool.num_threads = jobs_width;
  pool.user = &jobs;
  memset(&options, 0, sizeof options);
  options.struct_size = sizeof options;
  options.allocator = &allocator;
  options.thread_pool = &pool;

  CHECK_CALL(obol_env_create(OBOL_API_VERSION, &options, &env));
  CHECK_CALL(obol_model_load_file(env, path, &model));
  CHECK_CALL(obol_session_create(model, NULL, &session));
  memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  CHECK_CALL(obol_model_input_info(model, 0, &info));
  if (info.rank != 2 || info.dtype != OBOL_DTYPE_F32 || info.dims[1] < 1) {
    fprintf(stderr, "game_loop: the model's input must be f32[batch, features]\n");
    goto cleanup;
  }
  dims[0] = info.dims[0] < 0 ? 64 : info.dims[0];
  dims[1] = info.dims[1];
  CHECK_CALL(obol_tensor_create(env, OBOL_DTYPE_F32, dims, 2, &input));
  CHECK_CALL(obol_tensor_data(input, &in_data));
  x = (float*)in_data;
  {
    /* The output buffer is bound once: steady frames then allocate nothing at all. */
    const obol_tensor* in[1];
    obol_tensor* first = NULL;
    const int64_t* odims = NULL;
    size_t orank = 0;
    in[0] = input;
    CHECK_CALL(obol_session_run(session, in, 1, &first, 1)); /* warm-up frame: plans memory */
    CHECK_CALL(obol_tensor_rank(first, &orank));
    CHECK_CALL(obol_tensor_dims(first, &odims));
    CHECK_CALL(obol_tensor_create(env, OBOL_DTYPE_F32, odims, orank, &output));
    obol_tensor_free(first);
    CHECK_CALL(obol_tensor_data(output, &out_data));
  }
  dog.session = session;
  pthread_create(&dog_thread, NULL, watchdog_main, &dog);

  for (frame = 0; frame < frames; ++frame) {
    /* Second half: a budget no machine meets, so the watchdog has to cancel. */
    const double budget = frame < frames / 2 ? budget_ms : 0.05;
    const obol_tensor* in[1];
    obol_status* st;
    long allocations_before;
    double start, took;
    int64_t i;
    for (i = 0; i < dims[0] * dims[1]; ++i) x[i] = (float)((i + frame) % 11); /* this frame's game state */
    pthread_mutex_lock(&heap.mutex);
    allocations_before = heap.allocations;
    pthread_mutex_unlock(&heap.mutex);
    in[0] = input;
    start = now_ms();
    watchdog_arm(&dog, budget);
    st = obol_session_run_into(session, in, 1, &output, 1);
    watchdog_disarm(&dog);
    took = now_ms() - start;
    total_ms += took;
    if (took > worst_ms) worst_ms = took;
    if (took > budget) ++overruns;
    if (!st) {
      ++completed;
      pthread_mutex_lock(&heap.mutex);
      steady_allocations += heap.allocations - allocations_before;
      pthread_mutex_unlock(&heap.mutex);
      /* chain.onnx maps every row to its mean; other models are not checked. */
      if (dims[1] == 128) {
        float mean = 0;
        for (i = 0; i < dims[1]; ++i) mean += x[i];
        mean /= (float)dims[1];
        if (((float*)out_data)[0] - mean > 1e-3f || mean - ((float*)out_data)[0] > 1e-3f) ++wrong;
      }
    } else if (obol_status_code(st) == OBOL_ERROR_CANCELLED) {
      ++cancelled; /* keep last frame's output */
      obol_status_free(st);
    } else {
      fprintf(stderr, "game_loop: frame %d: %s\n", frame, obol_status_message(st));
      obol_status_free(st);
      break;
    }
  }

  pthread_mutex_lock(&dog.mutex);
  dog.quit = 1;
  pthread_cond_signal(&dog.cond);
  pthread_mutex_unlock(&dog.mutex);
  pthread_join(dog_thread, NULL);

  printf("game_loop: %d frames, budget %.2f ms (then 0.05 ms): %ld completed, %ld cancelled by the watchdog, "
         "%ld over budget; inference mean %.3f ms, worst %.3f ms\n",
         frames, budget_ms, completed, cancelled, overruns, total_ms / frames, worst_ms);
  printf("game_loop: host heap: peak %zu bytes, %ld allocations in completed frames; host job system: %ld jobs\n",
         heap.peak_bytes, steady_allocations, jobs.jobs);
  if (wrong) fprintf(stderr, "game_loop: %ld completed frames had wrong outputs\n", wrong);
  rc = frame == frames && wrong == 0 ? 0 : 1;

cleanup:
  obol_tensor_free(output);
  obol_tensor_free(input);
  obol_session_free(session);
  obol_model_free(model);
  obol_env_free(env); /* the last object: the env hands the thread pool back here */
  jobs_stop(&jobs);
  if (heap.live_bytes != 0) {
    fprintf(stderr, "game_loop: obol still holds %zu bytes of the host heap\n", heap.live_bytes);
    rc = 1;
  }
  pthread_cond_destroy(&dog.cond);
  pthread_mutex_destroy(&dog.mutex);
  pthread_mutex_destroy(&heap.mutex);
  return rc;
}
