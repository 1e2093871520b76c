/* The C API from an installed obol: print the library's version and the model's inputs. */
#include <stdio.h>

#include <obol/obol.h>

int main(int argc, char** argv) {
  obol_env* env = NULL;
  obol_model* model = NULL;
  obol_status* st = NULL;
  size_t n = 0, i;
  int64_t d;
  if (argc != 2) return 2;
  printf("obol %s, C API %u.%u\n", obol_version_string(), OBOL_API_VERSION_GET_MAJOR(obol_api_version()),
         OBOL_API_VERSION_GET_MINOR(obol_api_version()));
  if (!(st = obol_env_create(OBOL_API_VERSION, NULL, &env)) && !(st = obol_model_load_file(env, argv[1], &model)))
    st = obol_model_input_count(model, &n);
  for (i = 0; !st && i < n; ++i) {
    obol_tensor_info info = {.struct_size = sizeof info};
    if ((st = obol_model_input_info(model, i, &info)) != NULL) break;
    printf("input %s %s[", info.name, obol_dtype_name(info.dtype));
    for (d = 0; d < info.rank; ++d) printf(d ? ", %lld" : "%lld", (long long)info.dims[d]);
    printf("]\n");
  }
  if (st) fprintf(stderr, "%s\n", obol_status_message(st));
  i = st != NULL;
  obol_status_free(st);
  obol_model_free(model);
  obol_env_free(env);
  return (int)i;
}
