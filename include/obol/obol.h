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
#define OBOL_API_VERSION_MINOR 0
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
  OBOL_ERROR_VERSION_MISMATCH = 64 /* the header and the library have incompatible API versions */
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

#ifdef __cplusplus
}
#endif

#endif /* OBOL_OBOL_H_ */
