/* obol/obol.h — obol's stable C API (C99).
 *
 *   obol_env* env = NULL;
 *   obol_model* model = NULL;
 *   obol_session* session = NULL;
 *   obol_status* st = obol_env_create(OBOL_API_VERSION, NULL, &env);
 *   if (!st) st = obol_model_load_file(env, "model.onnx", &model);
 *   if (!st) st = obol_session_create(model, NULL, &session);
 *   ...  obol_session_run(session, inputs, n_in, outputs, n_out) ...
 *   if (st) fprintf(stderr, "%s\n", obol_status_message(st));
 *   obol_status_free(st); obol_session_free(session); obol_model_free(model); obol_env_free(env);
 *
 * Contracts that hold for every function (docs/c-api.md says more):
 *
 *  - Errors. Every call that can fail returns an obol_status*: NULL on success, otherwise an error
 *    the caller owns and releases with obol_status_free(). On failure no out-parameter is written.
 *    The message starts with the component in brackets and says what was wrong:
 *    "[session] input 'x' must be f32[batch, 4], got f32[2, 5]". No C++ exception ever crosses this
 *    API (out-of-memory included: it becomes OBOL_ERROR_OUT_OF_MEMORY) and nothing here aborts.
 *  - Ownership. Whatever a function hands out through an out-parameter belongs to the caller and is
 *    released with the matching *_free function (strings with obol_string_free). Every *_free
 *    accepts NULL. Pointers documented as "valid while X lives" are owned by X.
 *  - Lifetimes. Objects keep what they depend on alive: a session keeps its model, and models,
 *    sessions and tensors keep their env, so the *_free calls may come in any order. Host hooks and
 *    their user data (allocator, log, thread pool) must stay valid until the last object created
 *    from the env is freed.
 *  - Threads. obol_env and obol_model are thread-safe: any number of threads may create sessions
 *    from one model at once. An obol_session runs one call at a time (create one per thread);
 *    obol_session_cancel() is the exception and may be called from any thread at any time. An
 *    obol_tensor may be read from many threads; do not write it while a run reads it.
 *  - Versioning. Functions and enum values are only ever appended; enum values are explicit and
 *    never change. Every public struct starts with struct_size (set it to sizeof the struct), so
 *    a program built against an older header keeps working with a newer library. A new major
 *    version (and a new SONAME, libobol.so.<major>) is the only way anything is removed.
 */
#ifndef OBOL_OBOL_H_
#define OBOL_OBOL_H_

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#if defined(OBOL_C_API_BUILD)
#define OBOL_API __declspec(dllexport)
#else
#define OBOL_API
#endif
#elif defined(__GNUC__)
#define OBOL_API __attribute__((visibility("default")))
#else
#define OBOL_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Versions
 * ------------------------------------------------------------------------------------------- */

/* The API version this header declares. The major version changes only when something is removed
 * or changed incompatibly; the minor version when something is appended. */
#define OBOL_API_VERSION_MAJOR 1
#define OBOL_API_VERSION_MINOR 1
#define OBOL_API_VERSION_PATCH 0
#define OBOL_MAKE_API_VERSION(major, minor, patch) \
  ((uint32_t)(((uint32_t)(major) << 22) | ((uint32_t)(minor) << 12) | (uint32_t)(patch)))
#define OBOL_API_VERSION \
  OBOL_MAKE_API_VERSION(OBOL_API_VERSION_MAJOR, OBOL_API_VERSION_MINOR, OBOL_API_VERSION_PATCH)
#define OBOL_API_VERSION_GET_MAJOR(v) (((uint32_t)(v) >> 22) & 0x3ffu)
#define OBOL_API_VERSION_GET_MINOR(v) (((uint32_t)(v) >> 12) & 0x3ffu)
#define OBOL_API_VERSION_GET_PATCH(v) ((uint32_t)(v) & 0xfffu)

/* The API version of the library actually linked (compare with OBOL_API_VERSION). */
OBOL_API uint32_t obol_api_version(void);
/* The library's release version, e.g. "0.1.0". Static storage; never NULL. */
OBOL_API const char* obol_version_string(void);

/* ---------------------------------------------------------------------------------------------
 * Status
 * ------------------------------------------------------------------------------------------- */

/* Append-only; the values match obol::StatusCode. */
typedef enum obol_error_code {
  OBOL_OK = 0,
  OBOL_ERROR_INVALID_ARGUMENT = 1, /* a malformed argument: NULL, shape, dtype, option */
  OBOL_ERROR_OUT_OF_RANGE = 2,     /* an index, size or offset outside its bounds */
  OBOL_ERROR_UNSUPPORTED = 3,      /* well-formed but not implemented (op, dtype, backend) */
  OBOL_ERROR_NOT_FOUND = 4,        /* a named thing (file, input, backend) does not exist */
  OBOL_ERROR_IO_ERROR = 5,         /* reading or mapping a file failed */
  OBOL_ERROR_OUT_OF_MEMORY = 6,    /* an allocation failed */
  OBOL_ERROR_INTERNAL = 7,         /* a bug in obol; please report it with the message */
  OBOL_ERROR_CANCELLED = 8,        /* obol_session_cancel() stopped the run */
  OBOL_ERROR_UNAVAILABLE = 9,      /* a backend or device cannot be used here */
  OBOL_ERROR_VERSION_MISMATCH = 64, /* the header and the library have incompatible API versions */
  /* Since 1.1: */
  OBOL_ERROR_QUEUE_FULL = 65, /* a batcher's queue was full: the request was rejected at once, never queued */
  OBOL_ERROR_TIMEOUT = 66     /* a request's timeout passed while it waited in a batcher's queue; it never ran */
} obol_error_code;

typedef struct obol_status obol_status;

/* The code of a status; OBOL_OK for NULL. */
OBOL_API obol_error_code obol_status_code(const obol_status* status);
/* The message, "[component] what"; "" for NULL. Valid until the status is freed. */
OBOL_API const char* obol_status_message(const obol_status* status);
/* A code's name ("invalid_argument"); "unknown" for values this library does not know. */
OBOL_API const char* obol_error_code_name(obol_error_code code);
OBOL_API void obol_status_free(obol_status* status);

/* Frees a string handed out by this API (placement reports, metrics). Not free(). */
OBOL_API void obol_string_free(char* string);

/* ---------------------------------------------------------------------------------------------
 * Element types
 * ------------------------------------------------------------------------------------------- */

/* Append-only; the values match obol::DType. */
typedef enum obol_dtype {
  OBOL_DTYPE_F32 = 0,
  OBOL_DTYPE_F16 = 1,
  OBOL_DTYPE_BF16 = 2,
  OBOL_DTYPE_I8 = 3,
  OBOL_DTYPE_U8 = 4,
  OBOL_DTYPE_I32 = 5,
  OBOL_DTYPE_I64 = 6,
  OBOL_DTYPE_BOOL = 7, /* one byte, 0 or 1 */
  OBOL_DTYPE_F64 = 8,
  OBOL_DTYPE_I16 = 9,
  OBOL_DTYPE_U16 = 10,
  OBOL_DTYPE_U32 = 11,
  OBOL_DTYPE_U64 = 12,
  OBOL_DTYPE_Q8_0 = 32, /* block-quantized (GGUF layouts): blocks of 32 elements, 34 bytes */
  OBOL_DTYPE_Q4_0 = 33, /* blocks of 32 elements, 18 bytes */
  OBOL_DTYPE_Q4_K = 34, /* blocks of 256 elements, 144 bytes */
  OBOL_DTYPE_INVALID = 255 /* also: "not known until run time" in model introspection */
} obol_dtype;

/* "f32", "i64", ...; "invalid" for unknown values. Static storage. */
OBOL_API const char* obol_dtype_name(obol_dtype dtype);
/* Bytes per element of a scalar dtype; 0 for block-quantized and invalid dtypes. */
OBOL_API size_t obol_dtype_size(obol_dtype dtype);

/* The most dimensions a tensor may have. */
#define OBOL_MAX_RANK 8

/* ---------------------------------------------------------------------------------------------
 * Environment: host hooks shared by everything created from it
 * ------------------------------------------------------------------------------------------- */

typedef struct obol_env obol_env;

/* Memory. alloc returns memory aligned to `alignment` (a power of two, 64 for most requests), or
 * NULL on failure (obol turns that into OBOL_ERROR_OUT_OF_MEMORY). free receives the pointer and
 * the size that was asked for; the pointer is never NULL. Both may be called from any thread that
 * runs obol, concurrently. */
typedef struct obol_allocator {
  size_t struct_size; /* sizeof(obol_allocator) */
  void* (*alloc)(void* user, size_t size, size_t alignment);
  void (*free)(void* user, void* ptr, size_t size);
  void* user;
} obol_allocator;

/* Append-only. Zero is "the default" (warnings and errors). */
typedef enum obol_log_level {
  OBOL_LOG_DEFAULT = 0,
  OBOL_LOG_DEBUG = 1,
  OBOL_LOG_INFO = 2,
  OBOL_LOG_WARNING = 3,
  OBOL_LOG_ERROR = 4,
  OBOL_LOG_OFF = 5
} obol_log_level;

/* Receives one complete message without a trailing newline, from any thread obol runs on. */
typedef void (*obol_log_fn)(void* user, obol_log_level level, const char* message);

/* A host job system for obol's parallel loops. run() must call task(ctx, i) exactly once for
 * every i in [0, n_tasks), from any threads (the calling one included), and return only when all
 * calls have finished. A task never calls run() again (nested loops run serially). num_threads()
 * returns the pool's width (>= 1); NULL means "as many as run() will use", taken to be 1. */
typedef struct obol_thread_pool {
  size_t struct_size; /* sizeof(obol_thread_pool) */
  void (*run)(void* user, int64_t n_tasks, void (*task)(void* ctx, int64_t index), void* ctx);
  int (*num_threads)(void* user);
  void* user;
} obol_thread_pool;

/* Every member may be left zero for its default. */
typedef struct obol_env_options {
  size_t struct_size;              /* sizeof(obol_env_options) */
  const obol_allocator* allocator; /* session memory, outputs, tensors, copied models; NULL: aligned_alloc/free */
  obol_log_fn log;                 /* NULL: warnings and errors go to stderr */
  void* log_user;
  obol_log_level log_level;        /* the least severe level passed to the log */
  const obol_thread_pool* thread_pool; /* NULL: obol's own pool (idle workers sleep, they do not spin) */
  int num_threads;                 /* cap on parallel width; 0: every CPU this process may use */
} obol_env_options;

/* Creates an environment. Pass OBOL_API_VERSION as api_version: a library whose major version
 * differs, or whose minor version is older than the header's, refuses with
 * OBOL_ERROR_VERSION_MISMATCH and a message naming both versions. options may be NULL.
 *
 * The log, the thread pool and num_threads are process-wide in obol (its kernels have one
 * threading seam): they take effect when the env is created and are reset to the defaults when
 * the env and everything created from it are gone. Only one live env at a time may set them; a
 * second env that asks for different ones fails with OBOL_ERROR_INVALID_ARGUMENT. The allocator
 * is per env. */
OBOL_API obol_status* obol_env_create(uint32_t api_version, const obol_env_options* options, obol_env** out);
OBOL_API void obol_env_free(obol_env* env);

/* ---------------------------------------------------------------------------------------------
 * Model: loaded once, immutable, shared by any number of sessions and threads
 * ------------------------------------------------------------------------------------------- */

typedef struct obol_model obol_model;

/* Append-only. */
typedef enum obol_memory_mode {
  OBOL_MEMORY_BORROW = 0, /* the model reads the caller's bytes in place: they must stay valid and
                             unchanged until the model and every session made from it are freed */
  OBOL_MEMORY_COPY = 1    /* the model copies the bytes (with the env's allocator) */
} obol_memory_mode;

/* Loads an ONNX file. The file is memory-mapped (weights are not copied); external data files are
 * resolved relative to the model's directory. An unsupported op fails here, naming the op. */
OBOL_API obol_status* obol_model_load_file(obol_env* env, const char* path, obol_model** out);
/* Loads an ONNX model held in memory (no external data). */
OBOL_API obol_status* obol_model_load_memory(obol_env* env, const void* data, size_t size, obol_memory_mode mode,
                                             obol_model** out);
OBOL_API void obol_model_free(obol_model* model);

/* A model input or output. Set struct_size before the call; the pointers stay valid while the
 * model lives. */
typedef struct obol_tensor_info {
  size_t struct_size;             /* sizeof(obol_tensor_info) */
  const char* name;
  obol_dtype dtype;               /* OBOL_DTYPE_INVALID when not known before run time */
  int64_t rank;                   /* -1 when even the rank is not known before run time */
  const int64_t* dims;            /* rank entries; -1 for a dimension known only at run time */
  const char* const* dim_symbols; /* rank entries: the symbolic name ("batch") or "" */
} obol_tensor_info;

OBOL_API obol_status* obol_model_input_count(const obol_model* model, size_t* out);
OBOL_API obol_status* obol_model_output_count(const obol_model* model, size_t* out);
OBOL_API obol_status* obol_model_input_info(const obol_model* model, size_t index, obol_tensor_info* out);
OBOL_API obol_status* obol_model_output_info(const obol_model* model, size_t index, obol_tensor_info* out);
/* The position of the input or output called `name` (OBOL_ERROR_NOT_FOUND lists the names). */
OBOL_API obol_status* obol_model_input_index(const obol_model* model, const char* name, size_t* out);
OBOL_API obol_status* obol_model_output_index(const obol_model* model, const char* name, size_t* out);

/* ---------------------------------------------------------------------------------------------
 * Tensors
 * ------------------------------------------------------------------------------------------- */

typedef struct obol_tensor obol_tensor;

/* A tensor over caller memory: dense, row-major, `size` bytes that must equal what dtype and dims
 * need. The tensor borrows `data` (never frees it); the memory must outlive the tensor and any run
 * that uses it. `dims` is copied. rank 0 is a scalar (dims may then be NULL). */
OBOL_API obol_status* obol_tensor_wrap(obol_dtype dtype, const int64_t* dims, size_t rank, void* data, size_t size,
                                       obol_tensor** out);
/* A new zero-filled tensor from the env's allocator. */
OBOL_API obol_status* obol_tensor_create(obol_env* env, obol_dtype dtype, const int64_t* dims, size_t rank,
                                         obol_tensor** out);
OBOL_API void obol_tensor_free(obol_tensor* tensor);

OBOL_API obol_status* obol_tensor_dtype(const obol_tensor* tensor, obol_dtype* out);
OBOL_API obol_status* obol_tensor_rank(const obol_tensor* tensor, size_t* out);
/* The dims array (rank entries), valid while the tensor lives. */
OBOL_API obol_status* obol_tensor_dims(const obol_tensor* tensor, const int64_t** out);
OBOL_API obol_status* obol_tensor_element_count(const obol_tensor* tensor, int64_t* out);
OBOL_API obol_status* obol_tensor_size_bytes(const obol_tensor* tensor, size_t* out);
/* The first byte (64-byte aligned for obol-allocated tensors; NULL possible for 0 bytes). */
OBOL_API obol_status* obol_tensor_data(const obol_tensor* tensor, void** out);

/* ---------------------------------------------------------------------------------------------
 * Session options: key/value strings, validated when set
 * ------------------------------------------------------------------------------------------- */

typedef struct obol_session_options obol_session_options;

/* Keys and values:
 *   "opt_level"  "none" | "basic" | "extended" | "all" (or 0..3); default "all". Graph
 *                optimisations of the model for this session (a level other than the model's
 *                default loads the model again once and shares that copy).
 *   "strict"     "0" | "1" | "false" | "true"; default false. When true, a node that does not run
 *                on the first backend is an error instead of a fallback.
 *   "backends"   comma-separated names in priority order, e.g. "cpu"; "cpu" is always appended.
 *   "threads"    "0" (default: the env's width) or "1" (this session's runs are serial, e.g. when the
 *                host runs one session per core). Other values: OBOL_ERROR_UNSUPPORTED.
 *   "metrics"    "0" | "1" | "false" | "true"; default false. Collect per-op times, request latency
 *                and arena size for obol_session_metrics_prometheus() (one clock read per node).
 * An unknown key or a malformed value fails at obol_session_options_set, naming it. */
OBOL_API obol_status* obol_session_options_create(obol_session_options** out);
OBOL_API obol_status* obol_session_options_set(obol_session_options* options, const char* key, const char* value);
OBOL_API void obol_session_options_free(obol_session_options* options);

/* ---------------------------------------------------------------------------------------------
 * Sessions: one run at a time; one per thread for concurrency
 * ------------------------------------------------------------------------------------------- */

typedef struct obol_session obol_session;

/* Compiles the model for the options' backends (shared with other sessions of the same options)
 * and keeps the model alive. options may be NULL and may be freed after the call. */
OBOL_API obol_status* obol_session_create(obol_model* model, const obol_session_options* options,
                                          obol_session** out);
/* Frees the session. Must not be called while a run of this session is in progress. */
OBOL_API void obol_session_free(obol_session* session);

/* Runs the model. inputs: one tensor per model input, in model input order (n_inputs must equal
 * the input count); dtypes and known dimensions are checked. outputs: n_outputs (the output count)
 * slots that receive new tensors from the env's allocator, owned by the caller; on failure they
 * are left as they were. */
OBOL_API obol_status* obol_session_run(obol_session* session, const obol_tensor* const* inputs, size_t n_inputs,
                                       obol_tensor** outputs, size_t n_outputs);
/* As obol_session_run, writing into caller-bound tensors whose dtypes and shapes must equal what
 * the model produces (the error names the output otherwise). Runs with the same input shapes as
 * the previous run allocate nothing. On failure the outputs' contents are unspecified. */
OBOL_API obol_status* obol_session_run_into(obol_session* session, const obol_tensor* const* inputs, size_t n_inputs,
                                            obol_tensor* const* outputs, size_t n_outputs);

/* Cancels the run in progress on this session, from any thread: it returns OBOL_ERROR_CANCELLED
 * at the next node boundary (a node already running finishes first). A cancel that arrives when
 * no run is in progress has no effect on later runs. After a cancelled run the session is
 * intact: the next run starts afresh. Safe to call concurrently with a run and with itself; not
 * with obol_session_free. */
OBOL_API obol_status* obol_session_cancel(obol_session* session);

/* Append-only. */
typedef enum obol_report_format {
  OBOL_REPORT_TEXT = 0, /* one line per node: "name<TAB>op<TAB>backend[<TAB>fallback: reason]" */
  OBOL_REPORT_JSON = 1  /* [{"node":..,"op":..,"backend":..,"fallback":..}, ...] */
} obol_report_format;

/* Which backend runs each node and why any node fell back. *out: a NUL-terminated string owned
 * by the caller (obol_string_free). */
OBOL_API obol_status* obol_session_placement_report(const obol_session* session, obol_report_format format,
                                                    char** out);

/* The session's metrics in Prometheus text format 0.0.4 (obol_request_latency_seconds histogram,
 * obol_requests_total, per-op obol_op_seconds_total / obol_op_calls_total, obol_arena_bytes,
 * process memory). Needs the session option "metrics" = "1" (OBOL_ERROR_UNAVAILABLE otherwise). May
 * be called from any thread, also while the session runs. *out: owned by the caller
 * (obol_string_free). */
OBOL_API obol_status* obol_session_metrics_prometheus(const obol_session* session, char** out);

/* =============================================================================================
 * Since 1.1: the economics layer (batcher, cache, router). Same contracts as above: NULL on
 * success, nothing written on failure, *_free accepts NULL, objects keep their models (and so their
 * env) alive. These objects use the options' "opt_level", "strict" and "backends" of an
 * obol_session_options; "threads" = "1" and "metrics" = "1" are refused (OBOL_ERROR_UNSUPPORTED):
 * each object has its own metrics (the *_metrics_prometheus functions). Tensors these objects hand
 * out come from the env's allocator, as obol_session_run's do.
 * ============================================================================================= */

/* ---------------------------------------------------------------------------------------------
 * Batcher: concurrent requests to one model coalesced into batches (Triton-style)
 * ------------------------------------------------------------------------------------------- */

/* Requests from any number of threads are queued (one FIFO per priority level, higher levels
 * first), joined into one batch along dim 0 (every input and output of the model must have a
 * leading batch dimension; a request may carry several rows), run as one call on one of `workers`
 * internal sessions, and split back so that each caller gets exactly its own rows. Only requests
 * with the same dtypes and trailing dims share a batch; a request never splits across batches.
 * A batch is sent when its rows reach max_batch or the largest preferred size, or when the oldest
 * request in it has waited max_delay_us (then the longest prefix whose rows are a preferred size,
 * else everything that fits). */
typedef struct obol_batcher obol_batcher;

typedef struct obol_batcher_options {
  size_t struct_size;         /* sizeof(obol_batcher_options) */
  int max_batch;              /* most rows in one batch; 0: 8 */
  const int* preferred_batch; /* n_preferred batch sizes (rows), each in [1, max_batch]; copied */
  size_t n_preferred;
  int64_t max_delay_us;       /* how long the oldest request may wait for company; 0: send at once */
  size_t max_queue;           /* most requests waiting (all levels); more are OBOL_ERROR_QUEUE_FULL; 0: no limit */
  int priority_levels;        /* priorities 0 .. priority_levels-1, higher served first; 0: 1 */
  int64_t default_timeout_us; /* for submits with timeout_us 0; 0: no timeout */
  int workers;                /* worker threads, each with its own session; 0: 1 */
} obol_batcher_options;

/* Starts the workers. options may be NULL (all defaults); session_options may be NULL and may be
 * freed after the call. Keeps the model alive. */
OBOL_API obol_status* obol_batcher_create(obol_model* model, const obol_session_options* session_options,
                                          const obol_batcher_options* options, obol_batcher** out);
/* Shuts down (see below) and joins the workers. No call on this batcher may be in progress. */
OBOL_API void obol_batcher_free(obol_batcher* batcher);

/* Queues one request and blocks until its outputs are ready. Thread-safe: any number of threads
 * may submit at once. inputs: one tensor per model input, in model order, all with the same
 * leading dim (the request's rows, 1 .. max_batch); they are read until the call returns.
 * outputs: n_outputs (the model's output count) slots that receive new tensors with the request's
 * rows, owned by the caller. priority: 0 .. priority_levels-1. timeout_us: the longest the request
 * may wait in the queue (0: the default timeout; a request taken into a batch before it runs out
 * always finishes). Errors: OBOL_ERROR_QUEUE_FULL when max_queue requests are already waiting,
 * OBOL_ERROR_TIMEOUT when the timeout passed before the request ran, OBOL_ERROR_UNAVAILABLE after
 * obol_batcher_shutdown, OBOL_ERROR_INVALID_ARGUMENT for inputs that cannot be batched, and the
 * model's own errors (which fail every request of that batch). */
OBOL_API obol_status* obol_batcher_submit(obol_batcher* batcher, const obol_tensor* const* inputs, size_t n_inputs,
                                          obol_tensor** outputs, size_t n_outputs, int priority, int64_t timeout_us);

/* Stops accepting requests: queued ones and later submits fail with OBOL_ERROR_UNAVAILABLE, batches
 * already running finish. Safe from any thread while other threads are in obol_batcher_submit (they
 * return); idempotent. */
OBOL_API obol_status* obol_batcher_shutdown(obol_batcher* batcher);

/* Requests waiting in the queue now. Thread-safe. */
OBOL_API obol_status* obol_batcher_queue_size(const obol_batcher* batcher, size_t* out);

/* Counters since creation. Each counter is read atomically; the set is not one snapshot. Set
 * struct_size before the call. */
typedef struct obol_batcher_stats {
  size_t struct_size;             /* sizeof(obol_batcher_stats) */
  uint64_t accepted;              /* requests queued */
  uint64_t rejected;              /* OBOL_ERROR_QUEUE_FULL */
  uint64_t timed_out;             /* OBOL_ERROR_TIMEOUT */
  uint64_t cancelled_by_shutdown; /* queued when obol_batcher_shutdown began */
  uint64_t completed;             /* ran and returned outputs */
  uint64_t failed;                /* ran in a batch that failed */
  uint64_t batches;               /* batches sent (model runs) */
  double mean_batch_rows;         /* rows per batch sent, on average */
  double queue_us_sum;            /* time from submit to being taken into a batch, of requests that ran */
  double queue_us_max;
} obol_batcher_stats;
OBOL_API obol_status* obol_batcher_get_stats(const obol_batcher* batcher, obol_batcher_stats* out);

/* The batch sizes actually formed: rows[r] = batches sent with r rows, requests[n] = batches sent
 * holding n requests, for indices 0 .. n_counts-1 (entries above max_batch, and index 0, are 0).
 * Either array may be NULL. */
OBOL_API obol_status* obol_batcher_batch_counts(const obol_batcher* batcher, uint64_t* rows, uint64_t* requests,
                                                size_t n_counts);

/* The batcher's metrics in Prometheus text format 0.0.4: obol_batcher_{accepted,rejected,timed_out,
 * completed,failed}_total, the obol_batcher_batch_rows and obol_batcher_queue_seconds histograms.
 * Thread-safe. *out: owned by the caller (obol_string_free). */
OBOL_API obol_status* obol_batcher_metrics_prometheus(const obol_batcher* batcher, char** out);

/* ---------------------------------------------------------------------------------------------
 * Cache: model outputs keyed by model identity, options and input bytes
 * ------------------------------------------------------------------------------------------- */

/* Exact tier: entries are keyed by a 128-bit XXH3 hash of (model_id, options, every input's dtype,
 * shape and bytes), hold copies of the outputs, and are limited by max_bytes (output bytes plus 256
 * bytes per entry; least recently used first out), an optional time to live and tags
 * (obol_cache_invalidate_tag drops every entry stored with a tag). The exact tier is split into
 * `shards` LRUs of max_bytes / shards each; an entry larger than one shard is not stored.
 * Semantic tier (optional, `embed` set): each entry also stores an embedding of its inputs; a lookup
 * that misses the exact tier takes the stored entry of highest cosine similarity if it reaches
 * `threshold` (a near-hit), unless `verify` refuses it (a rejected near-hit; the lookup misses).
 * Thread-safety: every function may be called from any number of threads at once, except
 * obol_cache_free. The callbacks are called from those threads, concurrently, and must be
 * thread-safe; they must not call this cache. */
typedef struct obol_cache obol_cache;
/* One cached result (shared, immutable): valid until obol_cache_value_free, whatever happens to
 * the cache meanwhile. */
typedef struct obol_cache_value obol_cache_value;

/* Writes the embedding of `inputs` (borrowed for the call) into out[0 .. embedding_dim-1]; returns
 * 0 on success, anything else for an error (the cache then goes on without the semantic tier for
 * that call and counts an embed error). */
typedef int (*obol_cache_embed_fn)(void* user, const obol_tensor* const* inputs, size_t n_inputs, float* out,
                                   size_t embedding_dim);
/* Returns non-zero to accept a near-hit: the query inputs, the candidate's outputs (all borrowed for
 * the call) and their cosine similarity. */
typedef int (*obol_cache_verify_fn)(void* user, const obol_tensor* const* query, size_t n_query,
                                    const obol_tensor* const* candidate_outputs, size_t n_candidate_outputs,
                                    float cosine);

typedef struct obol_cache_options {
  size_t struct_size;  /* sizeof(obol_cache_options) */
  size_t max_bytes;    /* 0: 256 MiB */
  int64_t ttl_us;      /* an entry older than this is dropped at its next lookup; 0: never */
  int shards;          /* 0: 16; 1: one exact LRU */
  /* The time in nanoseconds on any monotonic scale, for the TTL; NULL: the steady clock. */
  int64_t (*clock_ns)(void* user);
  void* clock_user;
  /* Semantic tier: off when embed is NULL. */
  obol_cache_embed_fn embed;
  void* embed_user;
  size_t embedding_dim;        /* floats embed writes; >= 1 when embed is set */
  float threshold;             /* cosine needed for a near-hit, in (0, 1]; 0: 0.95 */
  obol_cache_verify_fn verify; /* NULL: every near-hit is accepted */
  void* verify_user;
  size_t semantic_max_entries; /* embeddings kept (the oldest go first); 0: 100000 */
} obol_cache_options;

/* Creates an empty cache. Stored outputs are copied with env's allocator (the cache keeps env
 * alive). options may be NULL (defaults); the callbacks and their user data must stay valid until
 * the cache is freed. */
OBOL_API obol_status* obol_cache_create(obol_env* env, const obol_cache_options* options, obol_cache** out);
/* Frees the cache (values handed out stay valid). No other call on it may be in progress. */
OBOL_API void obol_cache_free(obol_cache* cache);

/* A stable identity of a model for model_id: a hash of its graph and weights, 32 hex digits. Reads
 * every weight once (milliseconds per 100 MB): compute it once per model. *out: owned by the
 * caller (obol_string_free). */
OBOL_API obol_status* obol_model_fingerprint(const obol_model* model, char** out);

/* Exact lookup, then a near-hit when the semantic tier is on. model_id and options (NULL: "") are
 * any strings that tell results apart (e.g. obol_model_fingerprint and the run options). On a hit
 * *out receives a value owned by the caller; on a miss *out is set to NULL (and the call succeeds).
 * semantic (may be NULL) is set to 1 when a near-hit answered, else 0. */
OBOL_API obol_status* obol_cache_lookup(obol_cache* cache, const char* model_id, const char* options,
                                        const obol_tensor* const* inputs, size_t n_inputs, obol_cache_value** out,
                                        int* semantic);
/* Stores copies of `outputs` under the key of (model_id, options, inputs), replacing an entry with
 * that key and evicting least recently used entries as needed; with the semantic tier on, the
 * inputs are embedded and indexed. tags: n_tags strings (copied). stored (may be NULL) is set to 0
 * when the entry was larger than one shard and so not kept, else 1. */
OBOL_API obol_status* obol_cache_insert(obol_cache* cache, const char* model_id, const char* options,
                                        const obol_tensor* const* inputs, size_t n_inputs,
                                        const obol_tensor* const* outputs, size_t n_outputs,
                                        const char* const* tags, size_t n_tags, int* stored);

/* A value's outputs: the count, and output `index` (borrowed, read-only, valid while the value
 * lives). */
OBOL_API obol_status* obol_cache_value_output_count(const obol_cache_value* value, size_t* out);
OBOL_API obol_status* obol_cache_value_output(const obol_cache_value* value, size_t index, const obol_tensor** out);
OBOL_API void obol_cache_value_free(obol_cache_value* value);

/* Runs `session` through the cache: answers from it on a hit (outputs are copies), else runs the
 * session (as obol_session_run) and stores the outputs with `tags`. The key is the fingerprint of
 * the model as the session runs it (computed once per model and remembered by the cache), no
 * options, and the inputs: for a session at the default opt_level, obol_cache_lookup with
 * obol_model_fingerprint and options NULL finds the same entries. The backends are not part of the
 * key. outputs: n_outputs (the model's output count) slots that receive
 * new tensors owned by the caller. hit (may be NULL) is set to 1 when the cache answered. The
 * session runs one call at a time, as with obol_session_run. */
OBOL_API obol_status* obol_cache_run(obol_cache* cache, obol_session* session, const obol_tensor* const* inputs,
                                     size_t n_inputs, obol_tensor** outputs, size_t n_outputs,
                                     const char* const* tags, size_t n_tags, int* hit);

/* Drops every entry stored with `tag`; dropped (may be NULL) receives how many. */
OBOL_API obol_status* obol_cache_invalidate_tag(obol_cache* cache, const char* tag, size_t* dropped);
/* Drops every entry. */
OBOL_API obol_status* obol_cache_clear(obol_cache* cache);

/* Counters since creation and the current size. Set struct_size before the call. */
typedef struct obol_cache_stats {
  size_t struct_size;          /* sizeof(obol_cache_stats) */
  uint64_t hits;               /* exact hits */
  uint64_t misses;             /* lookups that found nothing (rejected near-hits included) */
  uint64_t semantic_hits;      /* near-hits accepted */
  uint64_t rejected_near_hits; /* near-hits verify refused */
  uint64_t inserts;
  uint64_t evictions;          /* dropped by the byte limit */
  uint64_t expired;            /* dropped by the TTL */
  uint64_t invalidated;        /* dropped by obol_cache_invalidate_tag or obol_cache_clear */
  uint64_t too_large;          /* inserts not kept: larger than one shard */
  uint64_t embed_errors;       /* embed callbacks that failed */
  uint64_t entries;            /* now */
  uint64_t bytes;              /* now, as counted against max_bytes */
  uint64_t semantic_entries;   /* now */
} obol_cache_stats;
OBOL_API obol_status* obol_cache_get_stats(const obol_cache* cache, obol_cache_stats* out);

/* Prometheus text 0.0.4: obol_cache_{hits,misses,semantic_hits,rejected_near_hits,evictions}_total.
 * *out: owned by the caller (obol_string_free). */
OBOL_API obol_status* obol_cache_metrics_prometheus(const obol_cache* cache, char** out);

/* ---------------------------------------------------------------------------------------------
 * Router: a small and a large model, and which one each query needs
 * ------------------------------------------------------------------------------------------- */

/* Every query gets an escalation score; it goes to the large model when score > threshold.
 *   OBOL_ROUTER_PRE_ROUTE: scores the inputs and runs one model (signals INPUT_LENGTH, CLASSIFIER).
 *   OBOL_ROUTER_CASCADE:   runs the small model, scores its outputs (TOP_PROBABILITY, ENTROPY,
 *                          TOP2_MARGIN, CLASSIFIER) and runs the large model when the score is above
 *                          the threshold; its outputs then replace the small model's.
 * obol_router_calibrate sets the threshold so that a chosen share of sample queries escalates.
 * Thread-safety: run, calibrate, set_threshold, get_stats and metrics may be called from any number
 * of threads at once (sessions come from an internal pool); a run sees the old or the new
 * threshold. The classifier is called from those threads, concurrently. */
typedef struct obol_router obol_router;

/* Append-only. */
typedef enum obol_router_mode {
  OBOL_ROUTER_PRE_ROUTE = 0,
  OBOL_ROUTER_CASCADE = 1
} obol_router_mode;

/* Append-only. The score for each signal: */
typedef enum obol_route_signal {
  OBOL_ROUTE_SIGNAL_INPUT_LENGTH = 0,    /* dim length_axis of input length_input (or its non-zero count) */
  OBOL_ROUTE_SIGNAL_CLASSIFIER = 1,      /* what the classifier callback returns */
  OBOL_ROUTE_SIGNAL_TOP_PROBABILITY = 2, /* 1 - p(top class) of the small model's output */
  OBOL_ROUTE_SIGNAL_ENTROPY = 3,         /* entropy (nats) of the small model's class distribution */
  OBOL_ROUTE_SIGNAL_TOP2_MARGIN = 4      /* 1 - (p(top) - p(second)) */
} obol_route_signal;

/* Append-only. Which model answered. */
typedef enum obol_route {
  OBOL_ROUTE_SMALL = 0,
  OBOL_ROUTE_LARGE = 1
} obol_route;

/* Sets *score (higher: more in need of the large model) and returns 0, or returns non-zero for an
 * error. small_outputs are the small model's outputs in a cascade (n_small_outputs 0 before
 * routing). Every tensor is borrowed for the call. */
typedef int (*obol_route_classifier_fn)(void* user, const obol_tensor* const* inputs, size_t n_inputs,
                                        const obol_tensor* const* small_outputs, size_t n_small_outputs,
                                        double* score);

typedef struct obol_router_options {
  size_t struct_size;          /* sizeof(obol_router_options) */
  obol_router_mode mode;
  obol_route_signal signal;    /* must suit the mode */
  double threshold;            /* escalate when score > threshold (calibrate sets it) */
  int length_input;            /* INPUT_LENGTH: which input */
  int length_axis;             /* its dim (negative counts from the end) */
  int count_nonzero;           /* non-zero: the most non-zero elements in one row instead (a mask) */
  obol_route_classifier_fn classifier; /* CLASSIFIER; must stay valid while the router lives */
  void* classifier_user;
  int confidence_output;       /* confidence signals: the small model's output holding class scores
                                  (last axis = classes; over several rows the least confident counts) */
  int outputs_are_probabilities; /* 0: the scores are logits (softmax first); non-zero: probabilities */
  /* Cost of each model: a price per 1,000 queries, or else (if > 0) a price per hour applied to its
   * measured mean latency. */
  double small_usd_per_1k, small_usd_per_hour;
  double large_usd_per_1k, large_usd_per_hour;
} obol_router_options;

/* Both models must have the same number of inputs and of outputs. session_options may be NULL.
 * Keeps both models alive. */
OBOL_API obol_status* obol_router_create(obol_model* small_model, obol_model* large_model,
                                         const obol_session_options* session_options,
                                         const obol_router_options* options, obol_router** out);
/* No other call on the router may be in progress. */
OBOL_API void obol_router_free(obol_router* router);

/* Routes and runs one query. outputs: n_outputs (the models' output count) slots that receive new
 * tensors owned by the caller. route (may be NULL) says which model's outputs these are. */
OBOL_API obol_status* obol_router_run(obol_router* router, const obol_tensor* const* inputs, size_t n_inputs,
                                      obol_tensor** outputs, size_t n_outputs, obol_route* route);

/* Scores n_samples sample queries (samples[s * n_inputs + i] is input i of sample s; a cascade runs
 * the small model on each, uncounted) and sets the threshold so that the share of samples scoring
 * above it is as close as possible to target_large_fraction (in [0, 1]); ties can make the exact
 * share unreachable. threshold (may be NULL) receives the new threshold. */
OBOL_API obol_status* obol_router_calibrate(obol_router* router, const obol_tensor* const* samples, size_t n_samples,
                                            size_t n_inputs, double target_large_fraction, double* threshold);
OBOL_API obol_status* obol_router_set_threshold(obol_router* router, double threshold);

typedef struct obol_router_stats {
  size_t struct_size;     /* sizeof(obol_router_stats) */
  uint64_t queries;       /* obol_router_run calls that succeeded */
  uint64_t escalated;     /* of which ran the large model */
  double share_escalated; /* escalated / queries */
  uint64_t small_runs, large_runs;
  double small_mean_ms, large_mean_ms; /* measured mean latency per run of each model */
  double usd_per_query;   /* mean cost per query so far, from the options' prices */
  double usd_per_1k;
  double threshold;       /* in use now */
} obol_router_stats;
OBOL_API obol_status* obol_router_get_stats(const obol_router* router, obol_router_stats* out);

/* Prometheus text 0.0.4: obol_router_queries_total, obol_router_escalated_total. *out: owned by the
 * caller (obol_string_free). */
OBOL_API obol_status* obol_router_metrics_prometheus(const obol_router* router, char** out);

#ifdef __cplusplus
}
#endif

#endif /* OBOL_OBOL_H_ */
