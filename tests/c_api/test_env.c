/* Host hooks through obol_env: the log, an allocator with user data (and the size given back on
 * free), a host thread pool, and the rules for process-wide settings. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"

/* --- log ------------------------------------------------------------------------------------- */

typedef struct {
  int messages;
  obol_log_level last_level;
  char last[512];
} LogSink;

static void capture_log(void* user, obol_log_level level, const char* message) {
  LogSink* sink = (LogSink*)user;
  ++sink->messages;
  sink->last_level = level;
  strncpy(sink->last, message, sizeof sink->last - 1);
  sink->last[sizeof sink->last - 1] = '\0';
}

/* Runs before anything touches the CPU kernels: their dispatch reads OBOL_CPU_ISA once and warns
 * about a value it does not know, through the log. */
static void test_log_callback(void) {
  obol_env_options opt;
  obol_env* env = NULL;
  obol_model* model = NULL;
  obol_session* session = NULL;
  LogSink sink;
  memset(&sink, 0, sizeof sink);
  memset(&opt, 0, sizeof opt);
  opt.struct_size = sizeof opt;
  opt.log = capture_log;
  opt.log_user = &sink;
  opt.log_level = OBOL_LOG_INFO;
  CHECK(setenv("OBOL_CPU_ISA", "no-such-isa", 1) == 0);
  CHECK_OK(obol_env_create(OBOL_API_VERSION, &opt, &env));
  CHECK_OK(obol_model_load_file(env, MODEL_PATH("chain.onnx"), &model));
  CHECK_OK(obol_session_create(model, NULL, &session));
  CHECK(sink.messages >= 1);
  CHECK(sink.last_level == OBOL_LOG_WARNING);
  CHECK(strstr(sink.last, "OBOL_CPU_ISA=no-such-isa is unknown") != NULL);
  unsetenv("OBOL_CPU_ISA");
  obol_session_free(session);
  obol_model_free(model);
  obol_env_free(env);
}

/* --- allocator --------------------------------------------------------------------------------- */

#define MAX_BLOCKS 4096

typedef struct {
  pthread_mutex_t mutex;
  void* ptr[MAX_BLOCKS];
  size_t size[MAX_BLOCKS];
  size_t live_bytes, peak_bytes;
  int allocs, frees, size_mismatches, unknown_frees, misaligned;
  int fail_after; /* > 0: the allocation after this many succeeds fails (out-of-memory tests) */
} CountingAllocator;

static void* counting_alloc(void* user, size_t size, size_t alignment) {
  CountingAllocator* a = (CountingAllocator*)user;
  void* p = NULL;
  int i;
  pthread_mutex_lock(&a->mutex);
  if (a->fail_after > 0 && a->allocs >= a->fail_after) {
    pthread_mutex_unlock(&a->mutex);
    return NULL;
  }
  if (posix_memalign(&p, alignment < sizeof(void*) ? sizeof(void*) : alignment, size ? size : 1) != 0) p = NULL;
  if (p) {
    for (i = 0; i < MAX_BLOCKS && a->ptr[i]; ++i) {
    }
    if (i < MAX_BLOCKS) {
      a->ptr[i] = p;
      a->size[i] = size;
    }
    ++a->allocs;
    a->live_bytes += size;
    if (a->live_bytes > a->peak_bytes) a->peak_bytes = a->live_bytes;
    if (((uintptr_t)p & (alignment - 1)) != 0) ++a->misaligned;
  }
  pthread_mutex_unlock(&a->mutex);
  return p;
}

static void counting_free(void* user, void* ptr, size_t size) {
  CountingAllocator* a = (CountingAllocator*)user;
  int i;
  pthread_mutex_lock(&a->mutex);
  for (i = 0; i < MAX_BLOCKS && a->ptr[i] != ptr; ++i) {
  }
  if (i == MAX_BLOCKS) {
    ++a->unknown_frees;
  } else {
    if (a->size[i] != size) ++a->size_mismatches;
    a->ptr[i] = NULL;
    a->live_bytes -= a->size[i];
  }
  ++a->frees;
  pthread_mutex_unlock(&a->mutex);
  free(ptr);
}

static CountingAllocator* new_counting_allocator(void) {
  CountingAllocator* a = (CountingAllocator*)calloc(1, sizeof(CountingAllocator));
  pthread_mutex_init(&a->mutex, NULL);
  return a;
}

static void test_allocator_hooks(void) {
  CountingAllocator* counts = new_counting_allocator();
  obol_allocator alloc;
  obol_env_options opt;
  obol_env* env = NULL;
  obol_model* model = NULL;
  obol_session* session = NULL;
  obol_tensor *in = NULL, *out = NULL, *made = NULL;
  const obol_tensor* inputs[1];
  const int64_t dims[2] = {64, 128};
  size_t size = 0;
  void* bytes = read_file(MODEL_PATH("chain.onnx"), &size);
  int round;
  alloc.struct_size = sizeof alloc;
  alloc.alloc = counting_alloc;
  alloc.free = counting_free;
  alloc.user = counts;
  memset(&opt, 0, sizeof opt);
  opt.struct_size = sizeof opt;
  opt.allocator = &alloc;
  CHECK_OK(obol_env_create(OBOL_API_VERSION, &opt, &env));
  CHECK_OK(obol_model_load_memory(env, bytes, size, OBOL_MEMORY_COPY, &model));
  free(bytes);
  CHECK(counts->allocs == 1 && counts->live_bytes == size); /* the model's copy */
  CHECK_OK(obol_session_create(model, NULL, &session));
  CHECK_OK(obol_tensor_create(env, OBOL_DTYPE_F32, dims, 2, &in));
  CHECK(counts->allocs == 2);
  inputs[0] = in;
  for (round = 0; round < 3; ++round) {
    CHECK_OK(obol_session_run(session, inputs, 1, &out, 1));
    obol_tensor_free(out);
    out = NULL;
  }
  CHECK(counts->allocs > 4); /* session memory and outputs came from the host */
  CHECK_OK(obol_tensor_create(env, OBOL_DTYPE_F32, dims, 2, &made));
  CHECK_OK(obol_session_run_into(session, inputs, 1, &made, 1));
  obol_tensor_free(made);
  obol_tensor_free(in);
  obol_session_free(session);
  obol_model_free(model);
  obol_env_free(env);
  /* Everything came back, each block with the size it was asked with. */
  CHECK(counts->allocs == counts->frees);
  CHECK(counts->live_bytes == 0);
  CHECK(counts->size_mismatches == 0);
  CHECK(counts->unknown_frees == 0);
  CHECK(counts->misaligned == 0);
  pthread_mutex_destroy(&counts->mutex);
  free(counts);
}

static void test_allocator_failure_is_a_status(void) {
  CountingAllocator* counts = new_counting_allocator();
  obol_allocator alloc;
  obol_env_options opt;
  obol_env* env = NULL;
  obol_model* model = NULL;
  obol_session* session = NULL;
  obol_tensor* in = NULL;
  obol_tensor* out = NULL;
  obol_tensor* const sentinel = (obol_tensor*)&alloc;
  obol_tensor* made = sentinel;
  const obol_tensor* inputs[1];
  const int64_t dims[2] = {64, 128};
  size_t size = 0;
  void* bytes = read_file(MODEL_PATH("chain.onnx"), &size);
  alloc.struct_size = sizeof alloc;
  alloc.alloc = counting_alloc;
  alloc.free = counting_free;
  alloc.user = counts;
  memset(&opt, 0, sizeof opt);
  opt.struct_size = sizeof opt;
  opt.allocator = &alloc;
  counts->fail_after = 1; /* the model copy gets memory, nothing after it */
  CHECK_OK(obol_env_create(OBOL_API_VERSION, &opt, &env));
  CHECK_OK(obol_model_load_memory(env, bytes, size, OBOL_MEMORY_COPY, &model));
  CHECK_ERR(obol_model_load_memory(env, bytes, size, OBOL_MEMORY_COPY, &model), OBOL_ERROR_OUT_OF_MEMORY,
            "allocating");
  CHECK_ERR(obol_tensor_create(env, OBOL_DTYPE_F32, dims, 2, &made), OBOL_ERROR_OUT_OF_MEMORY, "allocating");
  CHECK(made == sentinel);
  CHECK_OK(obol_session_create(model, NULL, &session));
  {
    float* x = (float*)calloc(64 * 128, sizeof(float));
    CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, dims, 2, x, 64 * 128 * sizeof(float), &in));
    inputs[0] = in;
    CHECK_ERR(obol_session_run(session, inputs, 1, &out, 1), OBOL_ERROR_OUT_OF_MEMORY, "failed");
    CHECK(out == NULL);
    counts->fail_after = 0; /* memory again: the same session recovers */
    CHECK_OK(obol_session_run(session, inputs, 1, &out, 1));
    obol_tensor_free(out);
    obol_tensor_free(in);
    free(x);
  }
  free(bytes);
  obol_session_free(session);
  obol_model_free(model);
  obol_env_free(env);
  CHECK(counts->live_bytes == 0 && counts->allocs == counts->frees);
  pthread_mutex_destroy(&counts->mutex);
  free(counts);
}

/* --- thread pool ------------------------------------------------------------------------------- */

typedef struct {
  int width;
  long runs;
  long tasks;
} SerialPool; /* runs every task on the calling thread, counting */

static void serial_pool_run(void* user, int64_t n, void (*task)(void*, int64_t), void* ctx) {
  SerialPool* p = (SerialPool*)user;
  int64_t i;
  ++p->runs;
  for (i = n - 1; i >= 0; --i) { /* any order is allowed: run them backwards */
    task(ctx, i);
    ++p->tasks;
  }
}

static int serial_pool_width(void* user) { return ((SerialPool*)user)->width; }

static void run_chain(obol_env* env, obol_model* model, const char* threads, float* first_out) {
  obol_session_options* o = NULL;
  obol_session* s = NULL;
  obol_tensor *in = NULL, *out = NULL;
  const obol_tensor* inputs[1];
  const int64_t dims[2] = {64, 128};
  void* y = NULL;
  CHECK_OK(obol_session_options_create(&o));
  CHECK_OK(obol_session_options_set(o, "threads", threads));
  CHECK_OK(obol_session_create(model, o, &s));
  CHECK_OK(obol_tensor_create(env, OBOL_DTYPE_F32, dims, 2, &in));
  {
    void* x = NULL;
    int i;
    CHECK_OK(obol_tensor_data(in, &x));
    for (i = 0; i < 64 * 128; ++i) ((float*)x)[i] = (float)(i % 13) - 6.0f;
  }
  inputs[0] = in;
  CHECK_OK(obol_session_run(s, inputs, 1, &out, 1));
  CHECK_OK(obol_tensor_data(out, &y));
  if (y) *first_out = ((float*)y)[0];
  obol_tensor_free(out);
  obol_tensor_free(in);
  obol_session_free(s);
  obol_session_options_free(o);
}

static void test_thread_pool_hooks(void) {
  SerialPool pool_state = {4, 0, 0};
  SerialPool other_state = {2, 0, 0};
  obol_thread_pool pool, other;
  obol_env_options opt;
  obol_env *env = NULL, *env2 = NULL;
  obol_model* model = NULL;
  float serial_y = 0, pooled_y = 0;
  pool.struct_size = sizeof pool;
  pool.run = serial_pool_run;
  pool.num_threads = serial_pool_width;
  pool.user = &pool_state;
  other = pool;
  other.user = &other_state;
  memset(&opt, 0, sizeof opt);
  opt.struct_size = sizeof opt;
  opt.thread_pool = &pool;
  CHECK_OK(obol_env_create(OBOL_API_VERSION, &opt, &env));
  CHECK_OK(obol_model_load_file(env, MODEL_PATH("chain.onnx"), &model));

  run_chain(env, model, "1", &serial_y); /* a serial session never calls the pool */
  CHECK(pool_state.runs == 0);
  run_chain(env, model, "0", &pooled_y);
  CHECK(pool_state.runs > 0 && pool_state.tasks >= pool_state.runs);
  CHECK(serial_y == pooled_y);

  /* The pool is process-wide: a second env with a different one is refused while this one lives;
     one with the same pool shares it. */
  opt.thread_pool = &other;
  CHECK_ERR(obol_env_create(OBOL_API_VERSION, &opt, &env2), OBOL_ERROR_INVALID_ARGUMENT,
            "another live obol_env installed a different thread pool");
  CHECK(env2 == NULL);
  opt.thread_pool = &pool;
  CHECK_OK(obol_env_create(OBOL_API_VERSION, &opt, &env2));
  obol_env_free(env2);
  env2 = NULL;

  obol_model_free(model);
  obol_env_free(env);
  /* Everything from the first env is gone: another pool may be installed now. */
  opt.thread_pool = &other;
  CHECK_OK(obol_env_create(OBOL_API_VERSION, &opt, &env2));
  CHECK_OK(obol_model_load_file(env2, MODEL_PATH("chain.onnx"), &model));
  run_chain(env2, model, "0", &pooled_y);
  CHECK(other_state.runs > 0);
  obol_model_free(model);
  obol_env_free(env2);
}

static void test_process_wide_width(void) {
  obol_env_options opt;
  obol_env *a = NULL, *b = NULL;
  memset(&opt, 0, sizeof opt);
  opt.struct_size = sizeof opt;
  opt.num_threads = 2;
  CHECK_OK(obol_env_create(OBOL_API_VERSION, &opt, &a));
  opt.num_threads = 3;
  CHECK_ERR(obol_env_create(OBOL_API_VERSION, &opt, &b), OBOL_ERROR_INVALID_ARGUMENT,
            "another live obol_env set num_threads to 2, this one asks for 3");
  opt.num_threads = 0; /* no preference: fine alongside */
  CHECK_OK(obol_env_create(OBOL_API_VERSION, &opt, &b));
  obol_env_free(b);
  obol_env_free(a);
  opt.num_threads = 3;
  CHECK_OK(obol_env_create(OBOL_API_VERSION, &opt, &b));
  obol_env_free(b);
}

int main(void) {
  RUN(test_log_callback); /* first: it needs the kernels' first use in this process */
  RUN(test_allocator_hooks);
  RUN(test_allocator_failure_is_a_status);
  RUN(test_thread_pool_hooks);
  RUN(test_process_wide_width);
  return HARNESS_RESULT();
}
