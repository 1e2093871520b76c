// obol_cache: the C face of econ::Cache (exact and semantic tiers), and running a session through it.
#include <cmath>
#include <cstring>

#include "c_api/c_api_internal.hpp"
#include "obol/econ/cache.hpp"

using namespace obol::capi;

// Members are destroyed in reverse order: the cache first, then the registry it counts into, then
// the env whose allocator holds the entries' memory.
struct obol_cache {
  std::shared_ptr<EnvState> env;
  obol::econ::MetricsRegistry registry;
  std::unique_ptr<obol::econ::Cache> cache;
  // Fingerprints of the models obol_cache_run has seen (computed once per model).
  std::mutex mutex;
  std::vector<std::pair<std::weak_ptr<const obol::Model>, std::string>> fingerprints;
};

// A shared cached value and borrowed C tensors over its outputs. Keeps the env alive, since the
// outputs' memory came from its allocator.
struct obol_cache_value {
  std::shared_ptr<EnvState> env;
  obol::econ::CacheValue value;
  std::vector<obol_tensor> boxes;
  std::vector<const obol_tensor*> ptrs;
};

namespace obol {
inline namespace v1 {
namespace capi {
namespace {

constexpr size_t kCacheOptionsV1 = sizeof(obol_cache_options);
constexpr size_t kCacheStatsV1 = sizeof(obol_cache_stats);

std::vector<TensorView> views_of(const std::vector<Tensor>& tensors) {
  std::vector<TensorView> v;
  v.reserve(tensors.size());
  for (const Tensor& t : tensors) v.push_back(t.view());
  return v;
}

obol_status* read_tags(const char* function, const char* const* tags, size_t n_tags, std::vector<std::string>& out) {
  if (n_tags > 0 && !tags) return null_argument(function, "tags");
  out.reserve(n_tags);
  for (size_t i = 0; i < n_tags; ++i) {
    if (!tags[i])
      return make_error(OBOL_ERROR_INVALID_ARGUMENT, str_cat("[cache] ", function, ": tags[", i, "] is NULL"));
    out.emplace_back(tags[i]);
  }
  return nullptr;
}

// Copies of `views` with the env's allocator.
obol_status* copy_all(const std::vector<TensorView>& views, const Allocator& alloc, std::vector<Tensor>& out) {
  out.reserve(views.size());
  for (const TensorView& v : views) {
    OBOL_C_ASSIGN_OR_RETURN(Tensor t, Tensor::copy_of(v, alloc));
    out.push_back(std::move(t));
  }
  return nullptr;
}

obol_status* build_options(const obol_cache_options& o, econ::CacheOptions& c) {
  if (o.ttl_us < 0 || o.shards < 0)
    return make_error(OBOL_ERROR_INVALID_ARGUMENT, str_cat("[cache] obol_cache_options: ttl_us (", o.ttl_us,
                                                           ") and shards (", o.shards, ") must not be negative"));
  if (o.max_bytes > 0) c.max_bytes = o.max_bytes;
  c.ttl = std::chrono::microseconds(o.ttl_us);
  if (o.shards > 0) c.shards = o.shards;
  if (o.clock_ns) {
    int64_t (*fn)(void*) = o.clock_ns;
    void* user = o.clock_user;
    c.clock = [fn, user]() -> int64_t { return fn(user); };
  }
  if (!o.embed) {
    if (o.verify)
      return make_error(OBOL_ERROR_INVALID_ARGUMENT,
                        "[cache] obol_cache_options: verify is set but embed is not (verify judges semantic near-hits)");
    return nullptr;
  }
  if (o.embedding_dim == 0)
    return make_error(OBOL_ERROR_INVALID_ARGUMENT, "[cache] obol_cache_options: embed is set, embedding_dim is 0");
  if (!(o.threshold >= 0.0f && o.threshold <= 1.0f))
    return make_error(OBOL_ERROR_INVALID_ARGUMENT, str_cat("[cache] obol_cache_options: threshold ", o.threshold,
                                                           " is outside (0, 1] (0 for the default 0.95)"));
  if (o.threshold > 0.0f) c.semantic.threshold = o.threshold;
  if (o.semantic_max_entries > 0) c.semantic.max_entries = o.semantic_max_entries;
  obol_cache_embed_fn embed = o.embed;
  void* embed_user = o.embed_user;
  const size_t dim = o.embedding_dim;
  c.semantic.embed = [embed, embed_user, dim](const std::vector<TensorView>& inputs) -> Result<std::vector<float>> {
    std::vector<obol_tensor> boxes;
    std::vector<const obol_tensor*> ptrs;
    borrow(inputs, boxes, ptrs);
    std::vector<float> e(dim, 0.0f);
    const int rc = embed(embed_user, ptrs.data(), ptrs.size(), e.data(), dim);
    if (rc != 0) return make_status(StatusCode::internal, "cache", "the embed callback returned ", rc);
    return e;
  };
  if (o.verify) {
    obol_cache_verify_fn verify = o.verify;
    void* verify_user = o.verify_user;
    c.semantic.verify = [verify, verify_user](const std::vector<TensorView>& query, const econ::CacheEntry& candidate,
                                              float cosine) -> bool {
      std::vector<obol_tensor> qb, cb;
      std::vector<const obol_tensor*> qp, cp;
      borrow(query, qb, qp);
      borrow(views_of(candidate.outputs), cb, cp);
      return verify(verify_user, qp.data(), qp.size(), cp.data(), cp.size(), cosine) != 0;
    };
  }
  return nullptr;
}

obol_status* box_value(const obol_cache& c, econ::CacheValue v, obol_cache_value** out) {
  auto r = std::make_unique<obol_cache_value>();
  r->env = c.env;
  borrow(views_of(v->outputs), r->boxes, r->ptrs);
  r->value = std::move(v);
  *out = r.release();
  return nullptr;
}

// The fingerprint of a model obol_cache_run sees, computed outside the lock on first use.
std::string fingerprint_of(obol_cache& c, const std::shared_ptr<const Model>& m) {
  {
    std::lock_guard<std::mutex> lk(c.mutex);
    for (auto& [weak, fp] : c.fingerprints)
      if (weak.lock() == m) return fp;
  }
  std::string fp = econ::model_fingerprint(*m);
  std::lock_guard<std::mutex> lk(c.mutex);
  // Forget models that are gone, so the list stays as long as the set of live models.
  std::vector<std::pair<std::weak_ptr<const Model>, std::string>> keep;
  for (auto& e : c.fingerprints)
    if (!e.first.expired()) keep.push_back(std::move(e));
  keep.emplace_back(m, fp);
  c.fingerprints = std::move(keep);
  return fp;
}

}  // namespace
}  // namespace capi
}  // inline namespace v1
}  // namespace obol

extern "C" {

obol_status* obol_cache_create(obol_env* env, const obol_cache_options* options, obol_cache** out) {
  return guarded("obol_cache_create", [&]() -> obol_status* {
    if (!env) return null_argument("obol_cache_create", "env");
    if (!out) return null_argument("obol_cache_create", "out");
    obol::econ::CacheOptions co;
    if (options) {
      if (obol_status* s = check_struct_size("obol_cache_create", "obol_cache_options", options->struct_size,
                                             kCacheOptionsV1, sizeof(obol_cache_options)))
        return s;
      if (obol_status* s = build_options(*options, co)) return s;
    }
    auto c = std::make_unique<obol_cache>();
    c->env = env->state;
    co.metrics = &c->registry;
    c->cache = std::make_unique<obol::econ::Cache>(std::move(co));
    *out = c.release();
    return nullptr;
  });
}

void obol_cache_free(obol_cache* cache) {
  try {
    delete cache;
  } catch (...) {
  }
}

obol_status* obol_model_fingerprint(const obol_model* model, char** out) {
  return guarded("obol_model_fingerprint", [&]() -> obol_status* {
    if (!model) return null_argument("obol_model_fingerprint", "model");
    if (!out) return null_argument("obol_model_fingerprint", "out");
    OBOL_C_ASSIGN_OR_RETURN(std::shared_ptr<const obol::Model> m, model->state->model_at(ModelState::kDefaultLevel));
    char* s = copy_string(obol::econ::model_fingerprint(*m));
    if (!s) return out_of_memory();
    *out = s;
    return nullptr;
  });
}

obol_status* obol_cache_lookup(obol_cache* cache, const char* model_id, const char* options,
                               const obol_tensor* const* inputs, size_t n_inputs, obol_cache_value** out,
                               int* semantic) {
  return guarded("obol_cache_lookup", [&]() -> obol_status* {
    if (!cache) return null_argument("obol_cache_lookup", "cache");
    if (!model_id) return null_argument("obol_cache_lookup", "model_id");
    if (!out) return null_argument("obol_cache_lookup", "out");
    std::vector<obol::TensorView> in;
    if (obol_status* s = gather_views("cache", "obol_cache_lookup", inputs, n_inputs, in)) return s;
    const obol::econ::CacheKey key = obol::econ::make_cache_key(model_id, options ? options : "", in);
    bool near = false;
    obol::econ::CacheValue v = cache->cache->lookup(key, in, &near);
    obol_cache_value* boxed = nullptr;
    if (v) {
      if (obol_status* s = box_value(*cache, std::move(v), &boxed)) return s;
    }
    *out = boxed;
    if (semantic) *semantic = boxed && near ? 1 : 0;
    return nullptr;
  });
}

obol_status* obol_cache_insert(obol_cache* cache, const char* model_id, const char* options,
                               const obol_tensor* const* inputs, size_t n_inputs, const obol_tensor* const* outputs,
                               size_t n_outputs, const char* const* tags, size_t n_tags, int* stored) {
  return guarded("obol_cache_insert", [&]() -> obol_status* {
    if (!cache) return null_argument("obol_cache_insert", "cache");
    if (!model_id) return null_argument("obol_cache_insert", "model_id");
    std::vector<obol::TensorView> in, outv;
    if (obol_status* s = gather_views("cache", "obol_cache_insert", inputs, n_inputs, in)) return s;
    if (n_outputs > 0 && !outputs) return null_argument("obol_cache_insert", "outputs");
    for (size_t i = 0; i < n_outputs; ++i) {
      if (!outputs[i])
        return make_error(OBOL_ERROR_INVALID_ARGUMENT,
                          obol::str_cat("[cache] obol_cache_insert: outputs[", i, "] is NULL"));
      outv.push_back(outputs[i]->box.view);
    }
    std::vector<std::string> tag_list;
    if (obol_status* s = read_tags("obol_cache_insert", tags, n_tags, tag_list)) return s;
    std::vector<obol::Tensor> copies;
    if (obol_status* s = copy_all(outv, cache->env->allocator, copies)) return s;
    const obol::econ::CacheKey key = obol::econ::make_cache_key(model_id, options ? options : "", in);
    bool kept = false;
    cache->cache->put(key, std::move(copies), std::move(tag_list), in, &kept);
    if (stored) *stored = kept ? 1 : 0;
    return nullptr;
  });
}

obol_status* obol_cache_value_output_count(const obol_cache_value* value, size_t* out) {
  if (!value) return null_argument("obol_cache_value_output_count", "value");
  if (!out) return null_argument("obol_cache_value_output_count", "out");
  *out = value->ptrs.size();
  return nullptr;
}

obol_status* obol_cache_value_output(const obol_cache_value* value, size_t index, const obol_tensor** out) {
  return guarded("obol_cache_value_output", [&]() -> obol_status* {
    if (!value) return null_argument("obol_cache_value_output", "value");
    if (!out) return null_argument("obol_cache_value_output", "out");
    if (index >= value->ptrs.size())
      return make_error(OBOL_ERROR_OUT_OF_RANGE, obol::str_cat("[cache] obol_cache_value_output: index ", index,
                                                               " is outside the value's ", value->ptrs.size(),
                                                               " outputs"));
    *out = value->ptrs[index];
    return nullptr;
  });
}

void obol_cache_value_free(obol_cache_value* value) {
  try {
    delete value;
  } catch (...) {
  }
}

obol_status* obol_cache_run(obol_cache* cache, obol_session* session, const obol_tensor* const* inputs,
                            size_t n_inputs, obol_tensor** outputs, size_t n_outputs, const char* const* tags,
                            size_t n_tags, int* hit) {
  return guarded("obol_cache_run", [&]() -> obol_status* {
    if (!cache) return null_argument("obol_cache_run", "cache");
    if (!session) return null_argument("obol_cache_run", "session");
    if (n_outputs > 0 && !outputs) return null_argument("obol_cache_run", "outputs");
    const size_t want = session->model_state->outputs.size();
    if (n_outputs != want)
      return make_error(OBOL_ERROR_INVALID_ARGUMENT, obol::str_cat("[cache] obol_cache_run: the model has ", want,
                                                                   " outputs, n_outputs is ", n_outputs));
    std::vector<obol::TensorView> in;
    if (obol_status* s = gather_views("cache", "obol_cache_run", inputs, n_inputs, in)) return s;
    std::vector<std::string> tag_list;
    if (obol_status* s = read_tags("obol_cache_run", tags, n_tags, tag_list)) return s;
    const obol::econ::CacheKey key = obol::econ::make_cache_key(fingerprint_of(*cache, session->model), "", in);
    const std::shared_ptr<EnvState>& env = session->model_state->env;

    if (obol::econ::CacheValue v = cache->cache->lookup(key, in)) {
      std::vector<obol::Tensor> copies;
      if (obol_status* s = copy_all(views_of(v->outputs), env->allocator, copies)) return s;
      if (obol_status* s = hand_out("cache", "obol_cache_run", copies, env, outputs, n_outputs)) return s;
      if (hit) *hit = 1;
      return nullptr;
    }
    // A miss: run the session as obol_session_run does, then store copies of its outputs.
    std::vector<obol_tensor*> fresh(n_outputs, nullptr);
    if (obol_status* s = obol_session_run(session, inputs, n_inputs, fresh.data(), n_outputs)) return s;
    std::vector<std::unique_ptr<obol_tensor>> owned;
    owned.reserve(n_outputs);
    for (obol_tensor* t : fresh) owned.emplace_back(t);
    std::vector<obol::TensorView> outv;
    for (const auto& t : owned) outv.push_back(t->box.view);
    std::vector<obol::Tensor> copies;
    if (obol_status* s = copy_all(outv, cache->env->allocator, copies)) return s;
    cache->cache->put(key, std::move(copies), std::move(tag_list), in);
    for (size_t k = 0; k < n_outputs; ++k) outputs[k] = owned[k].release();
    if (hit) *hit = 0;
    return nullptr;
  });
}

obol_status* obol_cache_invalidate_tag(obol_cache* cache, const char* tag, size_t* dropped) {
  return guarded("obol_cache_invalidate_tag", [&]() -> obol_status* {
    if (!cache) return null_argument("obol_cache_invalidate_tag", "cache");
    if (!tag) return null_argument("obol_cache_invalidate_tag", "tag");
    const size_t n = cache->cache->invalidate_tag(tag);
    if (dropped) *dropped = n;
    return nullptr;
  });
}

obol_status* obol_cache_clear(obol_cache* cache) {
  return guarded("obol_cache_clear", [&]() -> obol_status* {
    if (!cache) return null_argument("obol_cache_clear", "cache");
    cache->cache->clear();
    return nullptr;
  });
}

obol_status* obol_cache_get_stats(const obol_cache* cache, obol_cache_stats* out) {
  return guarded("obol_cache_get_stats", [&]() -> obol_status* {
    if (!cache) return null_argument("obol_cache_get_stats", "cache");
    if (!out) return null_argument("obol_cache_get_stats", "out");
    if (obol_status* s = check_struct_size("obol_cache_get_stats", "obol_cache_stats", out->struct_size,
                                           kCacheStatsV1, sizeof(obol_cache_stats)))
      return s;
    const obol::econ::CacheStats st = cache->cache->stats();
    obol_cache_stats r;
    std::memset(&r, 0, sizeof r);
    r.struct_size = out->struct_size;
    r.hits = st.hits;
    r.misses = st.misses;
    r.semantic_hits = st.semantic_hits;
    r.rejected_near_hits = st.rejected_near_hits;
    r.inserts = st.puts;
    r.evictions = st.evictions;
    r.expired = st.expired;
    r.invalidated = st.invalidated;
    r.too_large = st.too_large;
    r.embed_errors = st.embed_errors;
    r.entries = st.entries;
    r.bytes = st.bytes;
    r.semantic_entries = st.semantic_entries;
    std::memcpy(out, &r, out->struct_size);
    return nullptr;
  });
}

obol_status* obol_cache_metrics_prometheus(const obol_cache* cache, char** out) {
  return guarded("obol_cache_metrics_prometheus", [&]() -> obol_status* {
    if (!cache) return null_argument("obol_cache_metrics_prometheus", "cache");
    if (!out) return null_argument("obol_cache_metrics_prometheus", "out");
    char* s = copy_string(obol::econ::to_prometheus(cache->registry));
    if (!s) return out_of_memory();
    *out = s;
    return nullptr;
  });
}

}  // extern "C"
