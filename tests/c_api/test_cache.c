/* The cache: options, lookup and insert, values outliving the cache, tags, clear, TTL (with an
 * injected clock), eviction, the semantic tier (embedder, verify, embed errors), running a session
 * through the cache, stats and metrics, and every argument error. */
#include "harness.h"

static obol_env* env_;
static obol_model* mlp_;

static void setup(void) {
  CHECK_OK(obol_env_create(OBOL_API_VERSION, NULL, &env_));
  CHECK_OK(obol_model_load_file(env_, MODEL_PATH("tiny_mlp.onnx"), &mlp_));
}

static void teardown(void) {
  obol_model_free(mlp_);
  obol_env_free(env_);
}

static obol_cache_options options(void) {
  obol_cache_options o;
  memset(&o, 0, sizeof o);
  o.struct_size = sizeof o;
  return o;
}

static obol_cache_stats stats_of(const obol_cache* c) {
  obol_cache_stats s;
  memset(&s, 0, sizeof s);
  s.struct_size = sizeof s;
  CHECK_OK(obol_cache_get_stats(c, &s));
  return s;
}

/* A [rows, 4] f32 tensor over `x` (caller memory). */
static obol_tensor* wrap(float* x, int64_t rows) {
  const int64_t dims[2] = {rows, 4};
  obol_tensor* t = NULL;
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, dims, 2, x, (size_t)rows * 4 * sizeof(float), &t));
  return t;
}

static int hit_count(obol_cache* c, const char* id, obol_tensor* in) {
  obol_cache_value* v = NULL;
  const obol_tensor* inputs[1];
  inputs[0] = in;
  CHECK_OK(obol_cache_lookup(c, id, NULL, inputs, 1, &v, NULL));
  obol_cache_value_free(v);
  return v != NULL;
}

static void insert(obol_cache* c, const char* id, obol_tensor* in, obol_tensor* out, const char* tag) {
  const obol_tensor* inputs[1];
  const obol_tensor* outputs[1];
  const char* tags[1];
  int stored = -1;
  inputs[0] = in;
  outputs[0] = out;
  tags[0] = tag;
  CHECK_OK(obol_cache_insert(c, id, NULL, inputs, 1, outputs, 1, tags, tag ? 1 : 0, &stored));
  CHECK(stored == 1);
}

static void test_create_errors(void) {
  obol_cache* c = NULL;
  obol_cache* const sentinel = (obol_cache*)&c;
  obol_cache_options o = options();
  c = sentinel;
  CHECK_ERR(obol_cache_create(NULL, NULL, &c), OBOL_ERROR_INVALID_ARGUMENT, "env must not be NULL");
  CHECK_ERR(obol_cache_create(env_, NULL, NULL), OBOL_ERROR_INVALID_ARGUMENT, "out must not be NULL");
  o.struct_size = 3;
  CHECK_ERR(obol_cache_create(env_, &o, &c), OBOL_ERROR_INVALID_ARGUMENT, "obol_cache_options.struct_size is 3");
  o = options();
  o.ttl_us = -1;
  CHECK_ERR(obol_cache_create(env_, &o, &c), OBOL_ERROR_INVALID_ARGUMENT, "must not be negative");
  o = options();
  o.shards = -2;
  CHECK_ERR(obol_cache_create(env_, &o, &c), OBOL_ERROR_INVALID_ARGUMENT, "must not be negative");
  CHECK(c == sentinel);
  obol_cache_free(NULL);
}

static void test_lookup_insert(void) {
  float x[12] = {1, 2, 3, 4, -1, -2, -3, -4, 0.5f, -0.5f, 2, 1};
  float other[12] = {0};
  float y[9];
  const int64_t ydims[2] = {3, 3};
  obol_cache* c = NULL;
  obol_tensor *in = wrap(x, 3), *in2 = wrap(other, 3), *out = NULL;
  const obol_tensor* inputs[1];
  const obol_tensor* outputs[1];
  const char* tags[1];
  obol_cache_value* v = (obol_cache_value*)&c;
  obol_cache_value* const sentinel = v;
  const obol_tensor* got = NULL;
  const int64_t* gdims = NULL;
  void* data = NULL;
  size_t n = 0;
  int semantic = -1, stored = -1;
  char* fp = NULL;
  char* text = NULL;
  obol_cache_stats s;
  tiny_mlp_reference(x, 3, y);
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, ydims, 2, y, sizeof y, &out));
  CHECK_OK(obol_cache_create(env_, NULL, &c));
  CHECK_OK(obol_model_fingerprint(mlp_, &fp));
  CHECK(fp && strlen(fp) == 32);
  inputs[0] = in;
  outputs[0] = out;
  tags[0] = "v1";

  CHECK_OK(obol_cache_lookup(c, fp, "opts", inputs, 1, &v, &semantic));
  CHECK(v == NULL && semantic == 0);
  CHECK_OK(obol_cache_insert(c, fp, "opts", inputs, 1, outputs, 1, tags, 1, &stored));
  CHECK(stored == 1);
  CHECK_OK(obol_cache_insert(c, fp, "opts", inputs, 1, outputs, 1, NULL, 0, NULL)); /* replaces it */
  CHECK_OK(obol_cache_lookup(c, fp, "opts", inputs, 1, &v, &semantic));
  CHECK(v != NULL && semantic == 0);
  CHECK_OK(obol_cache_value_output_count(v, &n));
  CHECK(n == 1);
  CHECK_OK(obol_cache_value_output(v, 0, &got));
  CHECK_OK(obol_tensor_dims(got, &gdims));
  CHECK(gdims[0] == 3 && gdims[1] == 3);
  CHECK_OK(obol_tensor_data(got, &data));
  CHECK(data != (void*)y && close_enough((const float*)data, y, 9)); /* a copy */
  CHECK_ERR(obol_cache_value_output(v, 1, &got), OBOL_ERROR_OUT_OF_RANGE, "index 1 is outside the value's 1 outputs");
  CHECK_ERR(obol_cache_value_output(NULL, 0, &got), OBOL_ERROR_INVALID_ARGUMENT, "value must not be NULL");
  CHECK_ERR(obol_cache_value_output(v, 0, NULL), OBOL_ERROR_INVALID_ARGUMENT, "out must not be NULL");
  CHECK_ERR(obol_cache_value_output_count(NULL, &n), OBOL_ERROR_INVALID_ARGUMENT, "value must not be NULL");
  CHECK_ERR(obol_cache_value_output_count(v, NULL), OBOL_ERROR_INVALID_ARGUMENT, "out must not be NULL");
  obol_cache_value_free(v);
  v = NULL;

  /* Other options, other inputs, another model id: misses. */
  CHECK(!hit_count(c, fp, in)); /* options NULL is "", not "opts" */
  inputs[0] = in2;
  CHECK_OK(obol_cache_lookup(c, fp, "opts", inputs, 1, &v, NULL));
  CHECK(v == NULL);
  CHECK(!hit_count(c, "another model", in));

  s = stats_of(c);
  CHECK(s.hits == 1 && s.misses == 4 && s.inserts == 2 && s.entries == 1);
  CHECK(s.bytes == 256 + 9 * sizeof(float));
  CHECK(s.evictions == 0 && s.expired == 0 && s.semantic_hits == 0);

  CHECK_OK(obol_cache_metrics_prometheus(c, &text));
  CHECK(text && strstr(text, "obol_cache_hits_total 1") != NULL);
  CHECK(text && strstr(text, "obol_cache_misses_total 4") != NULL);
  obol_string_free(text);

  /* Argument errors leave the out-parameters alone. */
  v = sentinel;
  inputs[0] = in;
  CHECK_ERR(obol_cache_lookup(NULL, fp, NULL, inputs, 1, &v, NULL), OBOL_ERROR_INVALID_ARGUMENT,
            "cache must not be NULL");
  CHECK_ERR(obol_cache_lookup(c, NULL, NULL, inputs, 1, &v, NULL), OBOL_ERROR_INVALID_ARGUMENT,
            "model_id must not be NULL");
  CHECK_ERR(obol_cache_lookup(c, fp, NULL, inputs, 1, NULL, NULL), OBOL_ERROR_INVALID_ARGUMENT,
            "out must not be NULL");
  CHECK_ERR(obol_cache_lookup(c, fp, NULL, NULL, 1, &v, NULL), OBOL_ERROR_INVALID_ARGUMENT,
            "inputs must not be NULL");
  inputs[0] = NULL;
  CHECK_ERR(obol_cache_lookup(c, fp, NULL, inputs, 1, &v, NULL), OBOL_ERROR_INVALID_ARGUMENT, "inputs[0] is NULL");
  CHECK(v == sentinel);
  inputs[0] = in;
  stored = -1;
  CHECK_ERR(obol_cache_insert(NULL, fp, NULL, inputs, 1, outputs, 1, NULL, 0, &stored), OBOL_ERROR_INVALID_ARGUMENT,
            "cache must not be NULL");
  CHECK_ERR(obol_cache_insert(c, NULL, NULL, inputs, 1, outputs, 1, NULL, 0, &stored), OBOL_ERROR_INVALID_ARGUMENT,
            "model_id must not be NULL");
  CHECK_ERR(obol_cache_insert(c, fp, NULL, inputs, 1, NULL, 1, NULL, 0, &stored), OBOL_ERROR_INVALID_ARGUMENT,
            "outputs must not be NULL");
  outputs[0] = NULL;
  CHECK_ERR(obol_cache_insert(c, fp, NULL, inputs, 1, outputs, 1, NULL, 0, &stored), OBOL_ERROR_INVALID_ARGUMENT,
            "outputs[0] is NULL");
  outputs[0] = out;
  CHECK_ERR(obol_cache_insert(c, fp, NULL, inputs, 1, outputs, 1, NULL, 1, &stored), OBOL_ERROR_INVALID_ARGUMENT,
            "tags must not be NULL");
  tags[0] = NULL;
  CHECK_ERR(obol_cache_insert(c, fp, NULL, inputs, 1, outputs, 1, tags, 1, &stored), OBOL_ERROR_INVALID_ARGUMENT,
            "tags[0] is NULL");
  CHECK(stored == -1);
  CHECK_ERR(obol_cache_get_stats(NULL, &s), OBOL_ERROR_INVALID_ARGUMENT, "cache must not be NULL");
  CHECK_ERR(obol_cache_get_stats(c, NULL), OBOL_ERROR_INVALID_ARGUMENT, "out must not be NULL");
  s.struct_size = 1;
  CHECK_ERR(obol_cache_get_stats(c, &s), OBOL_ERROR_INVALID_ARGUMENT, "obol_cache_stats.struct_size is 1");
  CHECK_ERR(obol_cache_metrics_prometheus(NULL, &text), OBOL_ERROR_INVALID_ARGUMENT, "cache must not be NULL");
  CHECK_ERR(obol_cache_metrics_prometheus(c, NULL), OBOL_ERROR_INVALID_ARGUMENT, "out must not be NULL");
  CHECK_ERR(obol_model_fingerprint(NULL, &text), OBOL_ERROR_INVALID_ARGUMENT, "model must not be NULL");
  CHECK_ERR(obol_model_fingerprint(mlp_, NULL), OBOL_ERROR_INVALID_ARGUMENT, "out must not be NULL");

  /* A value stays valid after clear and after the cache is gone. */
  v = NULL;
  CHECK_OK(obol_cache_lookup(c, fp, "opts", inputs, 1, &v, NULL));
  CHECK(v != NULL);
  CHECK_OK(obol_cache_clear(c));
  CHECK(stats_of(c).entries == 0);
  CHECK(!hit_count(c, fp, in));
  obol_cache_free(c);
  CHECK_OK(obol_cache_value_output(v, 0, &got));
  CHECK_OK(obol_tensor_data(got, &data));
  CHECK(close_enough((const float*)data, y, 9));
  obol_cache_value_free(v);
  obol_cache_value_free(NULL);
  CHECK_ERR(obol_cache_clear(NULL), OBOL_ERROR_INVALID_ARGUMENT, "cache must not be NULL");
  obol_string_free(fp);
  obol_tensor_free(in);
  obol_tensor_free(in2);
  obol_tensor_free(out);
}

static void test_tags(void) {
  float a[4] = {1, 0, 0, 0}, b[4] = {0, 1, 0, 0}, c4[4] = {0, 0, 1, 0};
  obol_tensor *ta = wrap(a, 1), *tb = wrap(b, 1), *tc = wrap(c4, 1);
  obol_cache* c = NULL;
  size_t dropped = 99;
  obol_cache_stats s;
  CHECK_OK(obol_cache_create(env_, NULL, &c));
  insert(c, "m", ta, ta, "old");
  insert(c, "m", tb, tb, "old");
  insert(c, "m", tc, tc, "new");
  CHECK_OK(obol_cache_invalidate_tag(c, "old", &dropped));
  CHECK(dropped == 2);
  CHECK(!hit_count(c, "m", ta) && !hit_count(c, "m", tb) && hit_count(c, "m", tc));
  CHECK_OK(obol_cache_invalidate_tag(c, "unknown", &dropped));
  CHECK(dropped == 0);
  CHECK_OK(obol_cache_invalidate_tag(c, "new", NULL));
  CHECK(!hit_count(c, "m", tc));
  s = stats_of(c);
  CHECK(s.invalidated == 3 && s.entries == 0 && s.bytes == 0);
  dropped = 99;
  CHECK_ERR(obol_cache_invalidate_tag(NULL, "old", &dropped), OBOL_ERROR_INVALID_ARGUMENT, "cache must not be NULL");
  CHECK_ERR(obol_cache_invalidate_tag(c, NULL, &dropped), OBOL_ERROR_INVALID_ARGUMENT, "tag must not be NULL");
  CHECK(dropped == 99);
  obol_cache_free(c);
  obol_tensor_free(ta);
  obol_tensor_free(tb);
  obol_tensor_free(tc);
}

static int64_t fake_clock(void* user) { return *(const int64_t*)user; }

static void test_ttl(void) {
  float a[4] = {1, 2, 3, 4};
  obol_tensor* ta = wrap(a, 1);
  obol_cache* c = NULL;
  obol_cache_options o = options();
  int64_t now = 1000;
  o.ttl_us = 1000;
  o.clock_ns = fake_clock;
  o.clock_user = &now;
  CHECK_OK(obol_cache_create(env_, &o, &c));
  insert(c, "m", ta, ta, NULL);
  now += 500 * 1000; /* 0.5 ms later: still fresh */
  CHECK(hit_count(c, "m", ta));
  now += 600 * 1000; /* 1.1 ms after the insert: expired */
  CHECK(!hit_count(c, "m", ta));
  CHECK(stats_of(c).expired == 1);
  CHECK(stats_of(c).entries == 0);
  obol_cache_free(c);
  obol_tensor_free(ta);
}

static void test_eviction(void) {
  float x[4][4] = {{1, 0, 0, 0}, {2, 0, 0, 0}, {3, 0, 0, 0}, {4, 0, 0, 0}};
  float big[64] = {0};
  obol_tensor* t[4];
  obol_tensor* tbig = wrap(big, 16); /* 256 bytes of output, 512 with the entry overhead */
  const obol_tensor* inputs[1];
  const obol_tensor* outputs[1];
  obol_cache* c = NULL;
  obol_cache_options o = options();
  int i, stored = -1;
  obol_cache_stats s;
  o.max_bytes = 3 * (256 + 16) + 100; /* three entries of one 16-byte output fit, four do not */
  o.shards = 1;
  CHECK_OK(obol_cache_create(env_, &o, &c));
  for (i = 0; i < 4; ++i) t[i] = wrap(x[i], 1);
  for (i = 0; i < 3; ++i) insert(c, "m", t[i], t[i], NULL);
  CHECK(hit_count(c, "m", t[0])); /* t[0] is now the most recently used; t[1] the least */
  insert(c, "m", t[3], t[3], NULL);
  CHECK(!hit_count(c, "m", t[1]));
  CHECK(hit_count(c, "m", t[0]) && hit_count(c, "m", t[2]) && hit_count(c, "m", t[3]));
  s = stats_of(c);
  CHECK(s.evictions == 1 && s.entries == 3);
  inputs[0] = tbig;
  outputs[0] = tbig;
  o.max_bytes = 400;
  obol_cache_free(c);
  CHECK_OK(obol_cache_create(env_, &o, &c));
  CHECK_OK(obol_cache_insert(c, "m", NULL, inputs, 1, outputs, 1, NULL, 0, &stored));
  CHECK(stored == 0);
  s = stats_of(c);
  CHECK(s.too_large == 1 && s.entries == 0);
  obol_cache_free(c);
  for (i = 0; i < 4; ++i) obol_tensor_free(t[i]);
  obol_tensor_free(tbig);
}

/* The embedding of a request is its first four input values; a value of 42 makes the embedder fail. */
static int embed_calls = 0;
static int embed(void* user, const obol_tensor* const* inputs, size_t n_inputs, float* out, size_t dim) {
  void* data = NULL;
  size_t i;
  (void)user;
  ++embed_calls;
  if (n_inputs != 1 || dim != 4) return 2;
  obol_status_free(obol_tensor_data(inputs[0], &data));
  if (((const float*)data)[0] == 42.0f) return 1;
  for (i = 0; i < 4; ++i) out[i] = ((const float*)data)[i];
  return 0;
}

typedef struct {
  int refuse;
  int calls;
  float last_cosine;
  size_t last_outputs;
} Verifier;

static int verify(void* user, const obol_tensor* const* query, size_t n_query,
                  const obol_tensor* const* candidate_outputs, size_t n_candidate_outputs, float cosine) {
  Verifier* v = (Verifier*)user;
  (void)query;
  (void)candidate_outputs;
  ++v->calls;
  v->last_cosine = cosine;
  v->last_outputs = n_candidate_outputs + (n_query == 1 ? 0 : 100);
  return !v->refuse;
}

static void test_semantic(void) {
  float a[4] = {1, 2, 3, 4}, scaled[4] = {2, 4, 6, 8}, far[4] = {-4, 3, -2, 1}, bad[4] = {42, 0, 0, 0};
  obol_tensor *ta = wrap(a, 1), *ts = wrap(scaled, 1), *tf = wrap(far, 1), *tb = wrap(bad, 1);
  const obol_tensor* inputs[1];
  obol_cache_value* v = NULL;
  obol_cache* c = NULL;
  obol_cache_options o = options();
  Verifier ver = {0, 0, 0.0f, 0};
  int semantic = -1;
  obol_cache_stats s;
  o.embed = embed;
  o.embedding_dim = 4;
  o.threshold = 0.99f;
  o.verify = verify;
  o.verify_user = &ver;
  CHECK_OK(obol_cache_create(env_, &o, &c));
  insert(c, "m", ta, ta, NULL);
  CHECK(stats_of(c).semantic_entries == 1);
  inputs[0] = ts;
  CHECK_OK(obol_cache_lookup(c, "m", NULL, inputs, 1, &v, &semantic));
  CHECK(v != NULL && semantic == 1);
  CHECK(ver.calls == 1 && ver.last_cosine > 0.999f && ver.last_outputs == 1);
  obol_cache_value_free(v);
  v = NULL;
  inputs[0] = tf;
  CHECK_OK(obol_cache_lookup(c, "m", NULL, inputs, 1, &v, &semantic));
  CHECK(v == NULL && semantic == 0);
  ver.refuse = 1;
  inputs[0] = ts;
  CHECK_OK(obol_cache_lookup(c, "m", NULL, inputs, 1, &v, &semantic));
  CHECK(v == NULL && semantic == 0);
  inputs[0] = tb;
  CHECK_OK(obol_cache_lookup(c, "m", NULL, inputs, 1, &v, &semantic));
  CHECK(v == NULL);
  s = stats_of(c);
  CHECK(s.semantic_hits == 1 && s.rejected_near_hits == 1 && s.embed_errors == 1 && s.misses == 3);
  CHECK(embed_calls >= 4);
  obol_cache_free(c);

  /* Options of the semantic tier. */
  o.embedding_dim = 0;
  c = NULL;
  CHECK_ERR(obol_cache_create(env_, &o, &c), OBOL_ERROR_INVALID_ARGUMENT, "embedding_dim is 0");
  o.embedding_dim = 4;
  o.threshold = 1.5f;
  CHECK_ERR(obol_cache_create(env_, &o, &c), OBOL_ERROR_INVALID_ARGUMENT, "threshold 1.5 is outside (0, 1]");
  o.threshold = 0.0f; /* the default */
  o.semantic_max_entries = 1;
  CHECK_OK(obol_cache_create(env_, &o, &c));
  insert(c, "m", ta, ta, NULL);
  insert(c, "m", tf, tf, NULL);
  CHECK(stats_of(c).semantic_entries == 1);
  obol_cache_free(c);
  c = NULL;
  o.embed = NULL;
  CHECK_ERR(obol_cache_create(env_, &o, &c), OBOL_ERROR_INVALID_ARGUMENT, "verify is set but embed is not");
  CHECK(c == NULL);
  obol_tensor_free(ta);
  obol_tensor_free(ts);
  obol_tensor_free(tf);
  obol_tensor_free(tb);
}

static void test_run_through_cache(void) {
  float x[8] = {1, 2, 3, 4, -1, 0.5f, 2, -3};
  float want[6];
  float wrong[5] = {0};
  const int64_t wdims[2] = {1, 5};
  obol_tensor *in = wrap(x, 2), *bad = NULL, *out = NULL;
  obol_tensor* const sentinel = (obol_tensor*)&in;
  const obol_tensor* inputs[1];
  const char* tags[1];
  obol_session* s = NULL;
  obol_cache* c = NULL;
  obol_cache_value* v = NULL;
  void* y = NULL;
  char* fp = NULL;
  int hit = -1, round;
  size_t dropped = 0;
  tiny_mlp_reference(x, 2, want);
  CHECK_OK(obol_tensor_wrap(OBOL_DTYPE_F32, wdims, 2, wrong, sizeof wrong, &bad));
  CHECK_OK(obol_session_create(mlp_, NULL, &s));
  CHECK_OK(obol_cache_create(env_, NULL, &c));
  inputs[0] = in;
  tags[0] = "mlp";
  for (round = 0; round < 3; ++round) {
    CHECK_OK(obol_cache_run(c, s, inputs, 1, &out, 1, tags, 1, &hit));
    CHECK(hit == (round > 0));
    CHECK_OK(obol_tensor_data(out, &y));
    CHECK(close_enough((const float*)y, want, 6));
    obol_tensor_free(out);
    out = NULL;
  }
  CHECK(stats_of(c).hits == 2 && stats_of(c).inserts == 1);
  /* The key is the model's fingerprint, no options, and the inputs. */
  CHECK_OK(obol_model_fingerprint(mlp_, &fp));
  CHECK_OK(obol_cache_lookup(c, fp, NULL, inputs, 1, &v, NULL));
  CHECK(v != NULL);
  obol_cache_value_free(v);
  CHECK_OK(obol_cache_invalidate_tag(c, "mlp", &dropped));
  CHECK(dropped == 1);
  CHECK_OK(obol_cache_run(c, s, inputs, 1, &out, 1, NULL, 0, NULL));
  obol_tensor_free(out);

  out = sentinel;
  CHECK_ERR(obol_cache_run(NULL, s, inputs, 1, &out, 1, NULL, 0, &hit), OBOL_ERROR_INVALID_ARGUMENT,
            "cache must not be NULL");
  CHECK_ERR(obol_cache_run(c, NULL, inputs, 1, &out, 1, NULL, 0, &hit), OBOL_ERROR_INVALID_ARGUMENT,
            "session must not be NULL");
  CHECK_ERR(obol_cache_run(c, s, inputs, 1, NULL, 1, NULL, 0, &hit), OBOL_ERROR_INVALID_ARGUMENT,
            "outputs must not be NULL");
  CHECK_ERR(obol_cache_run(c, s, inputs, 1, &out, 2, NULL, 0, &hit), OBOL_ERROR_INVALID_ARGUMENT,
            "the model has 1 outputs, n_outputs is 2");
  CHECK_ERR(obol_cache_run(c, s, inputs, 1, &out, 1, NULL, 1, &hit), OBOL_ERROR_INVALID_ARGUMENT,
            "tags must not be NULL");
  inputs[0] = bad; /* the session's own check */
  CHECK_ERR(obol_cache_run(c, s, inputs, 1, &out, 1, NULL, 0, &hit), OBOL_ERROR_INVALID_ARGUMENT, "[session]");
  CHECK(out == sentinel);
  obol_cache_free(c);
  obol_session_free(s);
  obol_string_free(fp);
  obol_tensor_free(in);
  obol_tensor_free(bad);
}

int main(void) {
  setup();
  RUN(test_create_errors);
  RUN(test_lookup_insert);
  RUN(test_tags);
  RUN(test_ttl);
  RUN(test_eviction);
  RUN(test_semantic);
  RUN(test_run_through_cache);
  teardown();
  return HARNESS_RESULT();
}
