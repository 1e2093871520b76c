/* Loads an ONNX model with one input and one f32 output, runs it on ones, prints the output. */
#include <stdio.h>
#include <obol/obol.h>
#define TRY(call) if ((st = (call)) != NULL) goto done
int main(int argc, char** argv) {
  obol_status* st = NULL; obol_env* env = NULL; obol_model* model = NULL; obol_session* session = NULL;
  obol_tensor *input = NULL, *output = NULL; obol_tensor_info info = {.struct_size = sizeof info};
  int64_t dims[OBOL_MAX_RANK], n, i; void *x, *y;
  if (argc != 2) { fprintf(stderr, "usage: %s model.onnx\n", argv[0]); return 2; }
  TRY(obol_env_create(OBOL_API_VERSION, NULL, &env));
  TRY(obol_model_load_file(env, argv[1], &model));
  TRY(obol_session_create(model, NULL, &session));
  TRY(obol_model_input_info(model, 0, &info));
  for (i = 0; i < info.rank; ++i) dims[i] = info.dims[i] < 0 ? 1 : info.dims[i]; /* batch etc.: 1 */
  TRY(obol_tensor_create(env, OBOL_DTYPE_F32, dims, (size_t)info.rank, &input));
  TRY(obol_tensor_data(input, &x)); TRY(obol_tensor_element_count(input, &n));
  for (i = 0; i < n; ++i) ((float*)x)[i] = 1.0f;
  TRY(obol_session_run(session, (const obol_tensor* const*)&input, 1, &output, 1));
  TRY(obol_tensor_data(output, &y)); TRY(obol_tensor_element_count(output, &n));
  for (i = 0; i < n; ++i) printf("%g%s", ((float*)y)[i], i + 1 < n ? " " : "\n");
done:
  if (st) fprintf(stderr, "error: %s\n", obol_status_message(st));
  n = st != NULL; obol_status_free(st);
  obol_tensor_free(output); obol_tensor_free(input); obol_session_free(session);
  obol_model_free(model); obol_env_free(env);
  return (int)n;
}
