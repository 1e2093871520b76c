/* Tensors: wrapping caller memory, allocating, queries, and every argument check. */
#include <stdint.h>

#include "harness.h"

static void test_wrap_and_query(void) {
  float data[6] = {1, 2, 3, 4, 5, 6};
  const int64_t dims[2] = {2, 3};
  obol_tensor* t = NULL;
  obol_dtype dtype = OBOL_DTYPE_INVALID;
  size_t rank = 99, bytes = 0;
  const int64_t* d = NULL;
  int64_t count = 0;
  void* p = NULL;
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, dims, 2, data, sizeof data, &t));
  CHECK_OK(obol_tensor_dtype(t, &dtype));
  CHECK(dtype == OBOL_DTYPE_F32);
  CHECK_OK(obol_tensor_rank(t, &rank));
  CHECK(rank == 2);
  CHECK_OK(obol_tensor_dims(t, &d));
  CHECK(d != NULL && d[0] == 2 && d[1] == 3);
  CHECK_OK(obol_tensor_element_count(t, &count));
  CHECK(count == 6);
  CHECK_OK(obol_tensor_size_bytes(t, &bytes));
  CHECK(bytes == sizeof data);
  CHECK_OK(obol_tensor_data(t, &p));
  CHECK(p == (void*)data); /* borrowed, not copied */
  obol_tensor_free(t);
  CHECK(data[5] == 6); /* freeing a wrapper leaves the caller's memory alone */
}

static void test_wrap_scalar_and_empty(void) {
  int64_t one = 42;
  const int64_t empty_dims[2] = {0, 5};
  obol_tensor* t = NULL;
  size_t rank = 9, bytes = 9;
  int64_t count = 0;
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_I64, NULL, 0, &one, sizeof one, &t));
  CHECK_OK(obol_tensor_rank(t, &rank));
  CHECK(rank == 0);
  CHECK_OK(obol_tensor_element_count(t, &count));
  CHECK(count == 1);
  obol_tensor_free(t);
  t = NULL;
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, empty_dims, 2, NULL, 0, &t));
  CHECK_OK(obol_tensor_size_bytes(t, &bytes));
  CHECK(bytes == 0);
  CHECK_OK(obol_tensor_element_count(t, &count));
  CHECK(count == 0);
  obol_tensor_free(t);
}

static void test_wrap_errors(void) {
  float data[6] = {0};
  const int64_t dims[2] = {2, 3};
  const int64_t negative[2] = {2, -3};
  const int64_t deep[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  const int64_t huge[3] = {INT64_MAX / 2, INT64_MAX / 2, 4};
  const int64_t q31[1] = {31};
  obol_tensor* const sentinel = (obol_tensor*)data;
  obol_tensor* t = sentinel;
  CHECK_ERR(obol_tensor_wrap(OBOL_DTYPE_F32, dims, 2, data, sizeof data - 4, &t), OBOL_ERROR_INVALID_ARGUMENT,
            "f32[2, 3] needs 24 bytes, but size is 20");
  CHECK_ERR(obol_tensor_wrap(OBOL_DTYPE_F32, dims, 2, NULL, sizeof data, &t), OBOL_ERROR_INVALID_ARGUMENT,
            "data must not be NULL");
  CHECK_ERR(obol_tensor_wrap((obol_dtype)99, dims, 2, data, sizeof data, &t), OBOL_ERROR_INVALID_ARGUMENT,
            "dtype 99 is not an obol_dtype");
  CHECK_ERR(obol_tensor_wrap(OBOL_DTYPE_INVALID, dims, 2, data, sizeof data, &t), OBOL_ERROR_INVALID_ARGUMENT,
            "is not an obol_dtype");
  CHECK_ERR(obol_tensor_wrap(OBOL_DTYPE_F32, negative, 2, data, sizeof data, &t), OBOL_ERROR_INVALID_ARGUMENT,
            "negative");
  CHECK_ERR(obol_tensor_wrap(OBOL_DTYPE_F32, deep, 9, data, 4, &t), OBOL_ERROR_UNSUPPORTED,
            "rank 9 exceeds the maximum of 8");
  CHECK_ERR(obol_tensor_wrap(OBOL_DTYPE_F32, NULL, 2, data, sizeof data, &t), OBOL_ERROR_INVALID_ARGUMENT,
            "dims is NULL for rank 2");
  CHECK_ERR(obol_tensor_wrap(OBOL_DTYPE_F32, huge, 3, data, sizeof data, &t), OBOL_ERROR_OUT_OF_RANGE,
            "overflows int64");
  CHECK_ERR(obol_tensor_wrap(OBOL_DTYPE_Q8_0, q31, 1, data, 17, &t), OBOL_ERROR_INVALID_ARGUMENT,
            "cannot be stored as q8_0");
  CHECK_ERR(obol_tensor_wrap(OBOL_DTYPE_F32, dims, 2, data, sizeof data, NULL), OBOL_ERROR_INVALID_ARGUMENT,
            "out must not be NULL");
  CHECK(t == sentinel);
}

static void test_block_dtype(void) {
  unsigned char blocks[68];
  const int64_t dims[2] = {1, 64};
  obol_tensor* t = NULL;
  size_t bytes = 0;
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_Q8_0, dims, 2, blocks, sizeof blocks, &t));
  CHECK_OK(obol_tensor_size_bytes(t, &bytes));
  CHECK(bytes == 68);
  obol_tensor_free(t);
}

static void test_create(void) {
  obol_env* env = NULL;
  const int64_t dims[3] = {2, 3, 5};
  obol_tensor* t = NULL;
  void* p = NULL;
  size_t bytes = 0, i;
  int all_zero = 1;
  CHECK_OK(obol_env_create(OBOL_API_VERSION, NULL, &env));
  CHECK_OK(obol_tensor_create(env, OBOL_DTYPE_I32, dims, 3, &t));
  CHECK_OK(obol_tensor_data(t, &p));
  CHECK_OK(obol_tensor_size_bytes(t, &bytes));
  CHECK(bytes == 2 * 3 * 5 * 4);
  CHECK(p != NULL && ((uintptr_t)p % 64) == 0);
  for (i = 0; p && i < bytes; ++i) all_zero &= ((unsigned char*)p)[i] == 0;
  CHECK(all_zero);
  /* The tensor keeps the env alive: free the env first. */
  obol_env_free(env);
  memset(p, 0xab, bytes);
  obol_tensor_free(t);
}

static void test_create_errors(void) {
  obol_env* env = NULL;
  const int64_t dims[1] = {4};
  const int64_t negative[1] = {-1};
  obol_tensor* t = NULL;
  CHECK_OK(obol_env_create(OBOL_API_VERSION, NULL, &env));
  CHECK_ERR(obol_tensor_create(NULL, OBOL_DTYPE_F32, dims, 1, &t), OBOL_ERROR_INVALID_ARGUMENT, "env must not be NULL");
  CHECK_ERR(obol_tensor_create(env, OBOL_DTYPE_F32, dims, 1, NULL), OBOL_ERROR_INVALID_ARGUMENT, "out must not be NULL");
  CHECK_ERR(obol_tensor_create(env, OBOL_DTYPE_F32, negative, 1, &t), OBOL_ERROR_INVALID_ARGUMENT, "negative");
  CHECK_ERR(obol_tensor_create(env, (obol_dtype)200, dims, 1, &t), OBOL_ERROR_INVALID_ARGUMENT, "obol_dtype");
  CHECK(t == NULL);
  obol_env_free(env);
}

static void test_queries_reject_null(void) {
  float x = 0;
  obol_tensor* t = NULL;
  obol_dtype dtype;
  size_t n;
  int64_t count;
  const int64_t* dims;
  void* p;
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, NULL, 0, &x, sizeof x, &t));
  CHECK_ERR(obol_tensor_dtype(NULL, &dtype), OBOL_ERROR_INVALID_ARGUMENT, "obol_tensor_dtype: tensor must not be NULL");
  CHECK_ERR(obol_tensor_dtype(t, NULL), OBOL_ERROR_INVALID_ARGUMENT, "out must not be NULL");
  CHECK_ERR(obol_tensor_rank(NULL, &n), OBOL_ERROR_INVALID_ARGUMENT, "tensor must not be NULL");
  CHECK_ERR(obol_tensor_rank(t, NULL), OBOL_ERROR_INVALID_ARGUMENT, "out must not be NULL");
  CHECK_ERR(obol_tensor_dims(NULL, &dims), OBOL_ERROR_INVALID_ARGUMENT, "tensor must not be NULL");
  CHECK_ERR(obol_tensor_dims(t, NULL), OBOL_ERROR_INVALID_ARGUMENT, "out must not be NULL");
  CHECK_ERR(obol_tensor_element_count(NULL, &count), OBOL_ERROR_INVALID_ARGUMENT, "tensor must not be NULL");
  CHECK_ERR(obol_tensor_element_count(t, NULL), OBOL_ERROR_INVALID_ARGUMENT, "out must not be NULL");
  CHECK_ERR(obol_tensor_size_bytes(NULL, &n), OBOL_ERROR_INVALID_ARGUMENT, "tensor must not be NULL");
  CHECK_ERR(obol_tensor_size_bytes(t, NULL), OBOL_ERROR_INVALID_ARGUMENT, "out must not be NULL");
  CHECK_ERR(obol_tensor_data(NULL, &p), OBOL_ERROR_INVALID_ARGUMENT, "tensor must not be NULL");
  CHECK_ERR(obol_tensor_data(t, NULL), OBOL_ERROR_INVALID_ARGUMENT, "out must not be NULL");
  obol_tensor_free(t);
  obol_tensor_free(NULL);
}

int main(void) {
  RUN(test_wrap_and_query);
  RUN(test_wrap_scalar_and_empty);
  RUN(test_wrap_errors);
  RUN(test_block_dtype);
  RUN(test_create);
  RUN(test_create_errors);
  RUN(test_queries_reject_null);
  return HARNESS_RESULT();
}
