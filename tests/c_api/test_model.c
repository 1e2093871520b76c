/* Models: loading from a file and from memory (borrowed and copied), bad bytes, introspection. */
#include "harness.h"

static obol_env* new_env(void) {
  obol_env* env = NULL;
  CHECK_OK(obol_env_create(OBOL_API_VERSION, NULL, &env));
  return env;
}

/* Runs tiny_mlp once on a fixed batch of 2 and checks the result against the C reference. */
static void check_tiny_mlp_runs(obol_model* model) {
  float x[8] = {1.0f, -2.0f, 0.5f, 3.0f, -1.0f, 0.25f, 2.0f, -0.75f};
  float want[6];
  const int64_t dims[2] = {2, 4};
  obol_tensor* in = NULL;
  obol_tensor* out = NULL;
  obol_session* session = NULL;
  void* y = NULL;
  tiny_mlp_reference(x, 2, want);
  CHECK_OK(obol_session_create(model, NULL, &session));
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, dims, 2, x, sizeof x, &in));
  CHECK_OK(obol_session_run(session, (const obol_tensor* const*)&in, 1, &out, 1));
  CHECK_OK(obol_tensor_data(out, &y));
  CHECK(y && close_enough((const float*)y, want, 6));
  obol_tensor_free(out);
  obol_tensor_free(in);
  obol_session_free(session);
}

static void test_load_file(void) {
  obol_env* env = new_env();
  obol_model* model = NULL;
  CHECK_OK(obol_model_load_file(env, MODEL_PATH("tiny_mlp.onnx"), &model));
  CHECK(model != NULL);
  check_tiny_mlp_runs(model);
  obol_model_free(model);
  obol_env_free(env);
}

static void test_load_file_errors(void) {
  obol_env* env = new_env();
  obol_model* const sentinel = (obol_model*)&env;
  obol_model* model = sentinel;
  CHECK_ERR(obol_model_load_file(env, MODEL_PATH("no-such-model.onnx"), &model), OBOL_ERROR_NOT_FOUND,
            "no-such-model.onnx");
  CHECK_ERR(obol_model_load_file(env, OBOL_TEST_DATA_DIR, &model), OBOL_ERROR_INVALID_ARGUMENT, "is not a regular file");
  CHECK_ERR(obol_model_load_file(NULL, MODEL_PATH("tiny_mlp.onnx"), &model), OBOL_ERROR_INVALID_ARGUMENT,
            "env must not be NULL");
  CHECK_ERR(obol_model_load_file(env, NULL, &model), OBOL_ERROR_INVALID_ARGUMENT, "path must not be NULL");
  CHECK_ERR(obol_model_load_file(env, "", &model), OBOL_ERROR_INVALID_ARGUMENT, "the path is empty");
  CHECK_ERR(obol_model_load_file(env, MODEL_PATH("tiny_mlp.onnx"), NULL), OBOL_ERROR_INVALID_ARGUMENT,
            "out must not be NULL");
  CHECK(model == sentinel);
  obol_model_free(NULL);
  obol_env_free(env);
}

static void test_load_memory_borrowed(void) {
  obol_env* env = new_env();
  obol_model* model = NULL;
  size_t size = 0;
  void* bytes = read_file(MODEL_PATH("tiny_mlp.onnx"), &size);
  CHECK(bytes != NULL);
  CHECK_OK(obol_model_load_memory(env, bytes, size, OBOL_MEMORY_BORROW, &model));
  check_tiny_mlp_runs(model);
  obol_model_free(model); /* the bytes must outlive the model: free them after */
  free(bytes);
  obol_env_free(env);
}

static void test_load_memory_copied(void) {
  obol_env* env = new_env();
  obol_model* model = NULL;
  size_t size = 0;
  void* bytes = read_file(MODEL_PATH("tiny_mlp.onnx"), &size);
  CHECK(bytes != NULL);
  CHECK_OK(obol_model_load_memory(env, bytes, size, OBOL_MEMORY_COPY, &model));
  /* The model owns a copy: scribbling over and freeing the caller's buffer changes nothing. */
  memset(bytes, 0x5a, size);
  free(bytes);
  obol_env_free(env); /* the model keeps the env (and its allocator) alive */
  check_tiny_mlp_runs(model);
  obol_model_free(model);
}

static void test_bad_bytes(void) {
  obol_env* env = new_env();
  obol_model* model = NULL;
  unsigned char garbage[256];
  size_t i, size = 0;
  unsigned char* bytes = (unsigned char*)read_file(MODEL_PATH("tiny_mlp.onnx"), &size);
  obol_status* st;
  for (i = 0; i < sizeof garbage; ++i) garbage[i] = (unsigned char)(i * 37 + 11);
  st = obol_model_load_memory(env, garbage, sizeof garbage, OBOL_MEMORY_BORROW, &model);
  CHECK(st != NULL);
  CHECK(obol_status_code(st) != OBOL_OK && obol_status_message(st)[0] == '[');
  obol_status_free(st);
  /* Every truncation of a valid model fails cleanly (or, where the prefix is itself a valid
     message, loads: protobuf cannot tell). Nothing crashes and nothing leaks either way. */
  for (i = 1; bytes && i < size; i += 7) {
    st = obol_model_load_memory(env, bytes, i, OBOL_MEMORY_COPY, &model);
    if (st) {
      CHECK(obol_status_message(st)[0] == '[');
      obol_status_free(st);
    } else {
      obol_model_free(model);
    }
    model = NULL;
  }
  CHECK(model == NULL);
  CHECK_ERR(obol_model_load_memory(env, bytes, 0, OBOL_MEMORY_BORROW, &model), OBOL_ERROR_INVALID_ARGUMENT, "size is 0");
  CHECK_ERR(obol_model_load_memory(env, NULL, 10, OBOL_MEMORY_BORROW, &model), OBOL_ERROR_INVALID_ARGUMENT,
            "data must not be NULL");
  CHECK_ERR(obol_model_load_memory(NULL, bytes, size, OBOL_MEMORY_BORROW, &model), OBOL_ERROR_INVALID_ARGUMENT,
            "env must not be NULL");
  CHECK_ERR(obol_model_load_memory(env, bytes, size, (obol_memory_mode)7, &model), OBOL_ERROR_INVALID_ARGUMENT,
            "mode 7 is not an obol_memory_mode");
  CHECK_ERR(obol_model_load_memory(env, bytes, size, OBOL_MEMORY_COPY, NULL), OBOL_ERROR_INVALID_ARGUMENT,
            "out must not be NULL");
  CHECK(model == NULL);
  free(bytes);
  obol_env_free(env);
}

static void test_introspection(void) {
  obol_env* env = new_env();
  obol_model* model = NULL;
  size_t n = 99, index = 99;
  obol_tensor_info info;
  CHECK_OK(obol_model_load_file(env, MODEL_PATH("tiny_mlp.onnx"), &model));
  CHECK_OK(obol_model_input_count(model, &n));
  CHECK(n == 1);
  CHECK_OK(obol_model_output_count(model, &n));
  CHECK(n == 1);

  memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  CHECK_OK(obol_model_input_info(model, 0, &info));
  CHECK(strcmp(info.name, "x") == 0);
  CHECK(info.dtype == OBOL_DTYPE_F32);
  CHECK(info.rank == 2);
  CHECK(info.dims[0] == -1 && info.dims[1] == 4);
  CHECK(strcmp(info.dim_symbols[0], "batch") == 0 && strcmp(info.dim_symbols[1], "") == 0);
  CHECK_OK(obol_model_output_info(model, 0, &info));
  CHECK(strcmp(info.name, "y") == 0);
  CHECK(info.rank == 2 && info.dims[0] == -1 && info.dims[1] == 3);

  CHECK_OK(obol_model_input_index(model, "x", &index));
  CHECK(index == 0);
  CHECK_OK(obol_model_output_index(model, "y", &index));
  CHECK(index == 0);
  obol_model_free(model);

  CHECK_OK(obol_model_load_file(env, MODEL_PATH("two_outputs.onnx"), &model));
  CHECK_OK(obol_model_input_count(model, &n));
  CHECK(n == 2);
  CHECK_OK(obol_model_output_count(model, &n));
  CHECK(n == 2);
  CHECK_OK(obol_model_output_info(model, 1, &info));
  CHECK(strcmp(info.name, "index") == 0 && info.dtype == OBOL_DTYPE_I64 && info.rank == 1 && info.dims[0] == 2);
  CHECK_OK(obol_model_input_index(model, "b", &index));
  CHECK(index == 1);
  CHECK_OK(obol_model_output_index(model, "index", &index));
  CHECK(index == 1);
  obol_model_free(model);
  obol_env_free(env);
}

static void test_introspection_errors(void) {
  obol_env* env = new_env();
  obol_model* model = NULL;
  size_t n = 77;
  obol_tensor_info info;
  CHECK_OK(obol_model_load_file(env, MODEL_PATH("two_outputs.onnx"), &model));
  memset(&info, 0, sizeof info);
  CHECK_ERR(obol_model_input_info(model, 0, &info), OBOL_ERROR_INVALID_ARGUMENT, "obol_tensor_info.struct_size is 0");
  info.struct_size = sizeof info;
  CHECK_ERR(obol_model_input_info(model, 2, &info), OBOL_ERROR_OUT_OF_RANGE, "index 2 is out of range");
  CHECK_ERR(obol_model_output_info(model, 5, &info), OBOL_ERROR_OUT_OF_RANGE, "index 5 is out of range");
  CHECK(info.name == NULL);
  CHECK_ERR(obol_model_input_info(NULL, 0, &info), OBOL_ERROR_INVALID_ARGUMENT, "model must not be NULL");
  CHECK_ERR(obol_model_output_info(model, 0, NULL), OBOL_ERROR_INVALID_ARGUMENT, "out must not be NULL");
  CHECK_ERR(obol_model_input_count(NULL, &n), OBOL_ERROR_INVALID_ARGUMENT, "model must not be NULL");
  CHECK_ERR(obol_model_input_count(model, NULL), OBOL_ERROR_INVALID_ARGUMENT, "out must not be NULL");
  CHECK_ERR(obol_model_output_count(NULL, &n), OBOL_ERROR_INVALID_ARGUMENT, "model must not be NULL");
  CHECK_ERR(obol_model_output_count(model, NULL), OBOL_ERROR_INVALID_ARGUMENT, "out must not be NULL");
  CHECK_ERR(obol_model_input_index(model, "nope", &n), OBOL_ERROR_NOT_FOUND, "no input 'nope' (inputs: a, b)");
  CHECK_ERR(obol_model_output_index(model, "nope", &n), OBOL_ERROR_NOT_FOUND, "no output 'nope' (outputs: sum, index)");
  CHECK_ERR(obol_model_input_index(model, NULL, &n), OBOL_ERROR_INVALID_ARGUMENT, "name must not be NULL");
  CHECK_ERR(obol_model_output_index(NULL, "sum", &n), OBOL_ERROR_INVALID_ARGUMENT, "model must not be NULL");
  CHECK_ERR(obol_model_output_index(model, "sum", NULL), OBOL_ERROR_INVALID_ARGUMENT, "out must not be NULL");
  CHECK(n == 77);
  obol_model_free(model);
  obol_env_free(env);
}

int main(void) {
  RUN(test_load_file);
  RUN(test_load_file_errors);
  RUN(test_load_memory_borrowed);
  RUN(test_load_memory_copied);
  RUN(test_bad_bytes);
  RUN(test_introspection);
  RUN(test_introspection_errors);
  return HARNESS_RESULT();
}
