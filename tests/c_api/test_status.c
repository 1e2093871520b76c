/* Versions, statuses, strings, dtypes, and the checks obol_env_create makes on its arguments. */
#include "harness.h"

static void test_versions(void) {
  const uint32_t v = obol_api_version();
  CHECK(v == OBOL_API_VERSION);
  CHECK(OBOL_API_VERSION_GET_MAJOR(v) == OBOL_API_VERSION_MAJOR);
  CHECK(OBOL_API_VERSION_GET_MINOR(v) == OBOL_API_VERSION_MINOR);
  CHECK(OBOL_API_VERSION_GET_PATCH(v) == OBOL_API_VERSION_PATCH);
  CHECK(obol_version_string() != NULL && strlen(obol_version_string()) >= 5);
}

static void test_null_status(void) {
  CHECK(obol_status_code(NULL) == OBOL_OK);
  CHECK(strcmp(obol_status_message(NULL), "") == 0);
  obol_status_free(NULL);
  obol_string_free(NULL);
}

static void test_error_code_names(void) {
  CHECK(strcmp(obol_error_code_name(OBOL_OK), "ok") == 0);
  CHECK(strcmp(obol_error_code_name(OBOL_ERROR_INVALID_ARGUMENT), "invalid_argument") == 0);
  CHECK(strcmp(obol_error_code_name(OBOL_ERROR_OUT_OF_RANGE), "out_of_range") == 0);
  CHECK(strcmp(obol_error_code_name(OBOL_ERROR_UNSUPPORTED), "unsupported") == 0);
  CHECK(strcmp(obol_error_code_name(OBOL_ERROR_NOT_FOUND), "not_found") == 0);
  CHECK(strcmp(obol_error_code_name(OBOL_ERROR_IO_ERROR), "io_error") == 0);
  CHECK(strcmp(obol_error_code_name(OBOL_ERROR_OUT_OF_MEMORY), "out_of_memory") == 0);
  CHECK(strcmp(obol_error_code_name(OBOL_ERROR_INTERNAL), "internal") == 0);
  CHECK(strcmp(obol_error_code_name(OBOL_ERROR_CANCELLED), "cancelled") == 0);
  CHECK(strcmp(obol_error_code_name(OBOL_ERROR_UNAVAILABLE), "unavailable") == 0);
  CHECK(strcmp(obol_error_code_name(OBOL_ERROR_VERSION_MISMATCH), "version_mismatch") == 0);
  CHECK(strcmp(obol_error_code_name(OBOL_ERROR_QUEUE_FULL), "queue_full") == 0);
  CHECK(strcmp(obol_error_code_name(OBOL_ERROR_TIMEOUT), "timeout") == 0);
  CHECK(strcmp(obol_error_code_name((obol_error_code)67), "unknown") == 0);
  CHECK(strcmp(obol_error_code_name((obol_error_code)40), "unknown") == 0);
  CHECK(strcmp(obol_error_code_name((obol_error_code)-1), "unknown") == 0);
}

static void test_dtypes(void) {
  CHECK(strcmp(obol_dtype_name(OBOL_DTYPE_F32), "f32") == 0);
  CHECK(strcmp(obol_dtype_name(OBOL_DTYPE_I64), "i64") == 0);
  CHECK(strcmp(obol_dtype_name(OBOL_DTYPE_BOOL), "bool") == 0);
  CHECK(strcmp(obol_dtype_name(OBOL_DTYPE_Q4_K), "q4_k") == 0);
  CHECK(strcmp(obol_dtype_name(OBOL_DTYPE_INVALID), "invalid") == 0);
  CHECK(strcmp(obol_dtype_name((obol_dtype)77), "invalid") == 0);
  CHECK(strcmp(obol_dtype_name((obol_dtype)-3), "invalid") == 0);
  CHECK(obol_dtype_size(OBOL_DTYPE_F32) == 4);
  CHECK(obol_dtype_size(OBOL_DTYPE_F16) == 2);
  CHECK(obol_dtype_size(OBOL_DTYPE_BF16) == 2);
  CHECK(obol_dtype_size(OBOL_DTYPE_I8) == 1);
  CHECK(obol_dtype_size(OBOL_DTYPE_U8) == 1);
  CHECK(obol_dtype_size(OBOL_DTYPE_I16) == 2);
  CHECK(obol_dtype_size(OBOL_DTYPE_U16) == 2);
  CHECK(obol_dtype_size(OBOL_DTYPE_I32) == 4);
  CHECK(obol_dtype_size(OBOL_DTYPE_U32) == 4);
  CHECK(obol_dtype_size(OBOL_DTYPE_I64) == 8);
  CHECK(obol_dtype_size(OBOL_DTYPE_U64) == 8);
  CHECK(obol_dtype_size(OBOL_DTYPE_F64) == 8);
  CHECK(obol_dtype_size(OBOL_DTYPE_BOOL) == 1);
  CHECK(obol_dtype_size(OBOL_DTYPE_Q8_0) == 0);
  CHECK(obol_dtype_size(OBOL_DTYPE_Q4_0) == 0);
  CHECK(obol_dtype_size(OBOL_DTYPE_INVALID) == 0);
  CHECK(obol_dtype_size((obol_dtype)-1) == 0);
}

static void test_version_mismatch(void) {
  obol_env* env = (obol_env*)&env; /* a sentinel: failures must leave it alone */
  obol_env* const sentinel = env;
  const uint32_t next_major = OBOL_MAKE_API_VERSION(OBOL_API_VERSION_MAJOR + 1, 0, 0);
  const uint32_t newer_minor = OBOL_MAKE_API_VERSION(OBOL_API_VERSION_MAJOR, OBOL_API_VERSION_MINOR + 1, 0);
  CHECK_ERR(obol_env_create(next_major, NULL, &env), OBOL_ERROR_VERSION_MISMATCH, "built against obol C API 2.0.0");
  CHECK_ERR(obol_env_create(newer_minor, NULL, &env), OBOL_ERROR_VERSION_MISMATCH, "the library is 1.1.0");
  CHECK_ERR(obol_env_create(0, NULL, &env), OBOL_ERROR_VERSION_MISMATCH, "major versions must match");
  CHECK(env == sentinel);
  /* A newer patch level is compatible. */
  CHECK_OK(obol_env_create(OBOL_MAKE_API_VERSION(OBOL_API_VERSION_MAJOR, OBOL_API_VERSION_MINOR, 99), NULL, &env));
  CHECK(env != sentinel);
  obol_env_free(env);
}

static void test_env_arguments(void) {
  obol_env* env = NULL;
  obol_env_options opt;
  obol_allocator half;
  obol_thread_pool pool;
  CHECK_ERR(obol_env_create(OBOL_API_VERSION, NULL, NULL), OBOL_ERROR_INVALID_ARGUMENT, "out must not be NULL");

  memset(&opt, 0, sizeof opt);
  CHECK_ERR(obol_env_create(OBOL_API_VERSION, &opt, &env), OBOL_ERROR_INVALID_ARGUMENT,
            "obol_env_options.struct_size is 0");
  opt.struct_size = sizeof opt + 8;
  CHECK_ERR(obol_env_create(OBOL_API_VERSION, &opt, &env), OBOL_ERROR_INVALID_ARGUMENT, "set it to sizeof");
  opt.struct_size = sizeof opt;

  memset(&half, 0, sizeof half);
  opt.allocator = &half;
  CHECK_ERR(obol_env_create(OBOL_API_VERSION, &opt, &env), OBOL_ERROR_INVALID_ARGUMENT, "obol_allocator.struct_size");
  half.struct_size = sizeof half;
  CHECK_ERR(obol_env_create(OBOL_API_VERSION, &opt, &env), OBOL_ERROR_INVALID_ARGUMENT, "both alloc and free");
  opt.allocator = NULL;

  memset(&pool, 0, sizeof pool);
  pool.struct_size = sizeof pool;
  opt.thread_pool = &pool;
  CHECK_ERR(obol_env_create(OBOL_API_VERSION, &opt, &env), OBOL_ERROR_INVALID_ARGUMENT, "both run and num_threads");
  opt.thread_pool = NULL;

  opt.num_threads = -2;
  CHECK_ERR(obol_env_create(OBOL_API_VERSION, &opt, &env), OBOL_ERROR_INVALID_ARGUMENT, "num_threads is -2");
  opt.num_threads = 0;
  opt.log_level = (obol_log_level)17;
  CHECK_ERR(obol_env_create(OBOL_API_VERSION, &opt, &env), OBOL_ERROR_INVALID_ARGUMENT, "log_level 17");
  opt.log_level = OBOL_LOG_DEFAULT;
  CHECK(env == NULL);

  /* All defaults through an options struct, and NULL-safe free. */
  CHECK_OK(obol_env_create(OBOL_API_VERSION, &opt, &env));
  CHECK(env != NULL);
  obol_env_free(env);
  obol_env_free(NULL);
}

int main(void) {
  RUN(test_versions);
  RUN(test_null_status);
  RUN(test_error_code_names);
  RUN(test_dtypes);
  RUN(test_version_mismatch);
  RUN(test_env_arguments);
  return HARNESS_RESULT();
}
