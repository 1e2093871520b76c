/* A few macros for the C API tests (C99). Each test file is one executable: main() runs its
 * cases with RUN() and returns non-zero if any CHECK failed. */
#ifndef OBOL_TESTS_C_API_HARNESS_H_
#define OBOL_TESTS_C_API_HARNESS_H_

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obol/obol.h"

static int harness_failures = 0;

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);   \
      ++harness_failures;                                                        \
    }                                                                            \
  } while (0)

/* The call must succeed. */
#define CHECK_OK(expr)                                                                              \
  do {                                                                                              \
    obol_status* check_st_ = (expr);                                                                \
    if (check_st_) {                                                                                \
      fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr, obol_status_message(check_st_)); \
      obol_status_free(check_st_);                                                                  \
      ++harness_failures;                                                                           \
    }                                                                                               \
  } while (0)

/* The call must fail with `code` and a message that contains `text`. */
#define CHECK_ERR(expr, code, text) harness_check_err((expr), (code), (text), #expr, __FILE__, __LINE__)

static inline void harness_check_err(obol_status* st, obol_error_code code, const char* text, const char* expr,
                              const char* file, int line) {
  if (!st) {
    fprintf(stderr, "%s:%d: %s succeeded; expected %s\n", file, line, expr, obol_error_code_name(code));
    ++harness_failures;
    return;
  }
  if (obol_status_code(st) != code) {
    fprintf(stderr, "%s:%d: %s gave %s (%s); expected %s\n", file, line, expr,
            obol_error_code_name(obol_status_code(st)), obol_status_message(st), obol_error_code_name(code));
    ++harness_failures;
  } else if (!strstr(obol_status_message(st), text)) {
    fprintf(stderr, "%s:%d: %s: message \"%s\" lacks \"%s\"\n", file, line, expr, obol_status_message(st), text);
    ++harness_failures;
  }
  obol_status_free(st);
}

#define RUN(test)                                        \
  do {                                                   \
    int before_ = harness_failures;                      \
    test();                                              \
    printf("%-48s %s\n", #test, harness_failures == before_ ? "ok" : "FAILED"); \
  } while (0)

#define HARNESS_RESULT() (harness_failures == 0 ? 0 : 1)

/* Paths of the test models (tests/data/c_api, made by tools/make_c_api_models.py). */
#ifndef OBOL_TEST_DATA_DIR
#error "OBOL_TEST_DATA_DIR must be defined"
#endif
#define MODEL_PATH(name) OBOL_TEST_DATA_DIR "/" name

/* tiny_mlp.onnx computed in C: y = relu(x W1 + b1) W2 + b2 with the weights the generator writes. */
static inline void tiny_mlp_reference(const float* x, int batch, float* y) {
  int n, i, j;
  for (n = 0; n < batch; ++n) {
    float h[8];
    for (j = 0; j < 8; ++j) {
      float s = (float)(j % 3 - 1) / 2.0f;
      for (i = 0; i < 4; ++i) s += x[n * 4 + i] * (float)((i * 8 + j) % 7 - 3) / 4.0f;
      h[j] = s > 0.0f ? s : 0.0f;
    }
    for (j = 0; j < 3; ++j) {
      float s = (float)j / 4.0f;
      for (i = 0; i < 8; ++i) s += h[i] * (float)((i * 3 + j) % 5 - 2) / 4.0f;
      y[n * 3 + j] = s;
    }
  }
}

static inline int close_enough(const float* a, const float* b, size_t n) {
  size_t i;
  for (i = 0; i < n; ++i) {
    float d = a[i] - b[i];
    if (d < 0) d = -d;
    if (d > 1e-4f * (1.0f + (b[i] < 0 ? -b[i] : b[i]))) return 0;
  }
  return 1;
}

/* A whole file in malloc'ed memory (NULL on failure). */
static inline void* read_file(const char* path, size_t* size) {
  FILE* f = fopen(path, "rb");
  void* data;
  long n;
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  data = malloc(n > 0 ? (size_t)n : 1);
  if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
    free(data);
    data = NULL;
  }
  fclose(f);
  *size = (size_t)n;
  return data;
}

#endif
