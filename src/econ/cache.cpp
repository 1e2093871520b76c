// The response cache: sharded LRUs keyed by XXH3-128, a tag index per shard, and a brute-force
// cosine index over one contiguous matrix of normalised embeddings for the semantic tier.
#include "obol/econ/cache.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <list>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "econ/session_pool.hpp"
#include "obol/kernels/cpu.hpp"

namespace obol {
inline namespace v1 {
namespace econ {

namespace detail {
#if defined(OBOL_HAVE_X86_ISAS)
void dot_rows__avx2(const float* matrix, size_t rows, size_t dim, const float* query, float* out);
#endif
}  // namespace detail

namespace {

struct KeyHash {
  size_t operator()(const CacheKey& k) const noexcept { return static_cast<size_t>(k.lo ^ (k.hi * 0x9E3779B97F4A7C15ull)); }
};

// Eight independent accumulators so the compiler vectorises the baseline loop without -ffast-math.
void dot_rows_portable(const float* matrix, size_t rows, size_t dim, const float* query, float* out) {
  for (size_t r = 0; r < rows; ++r) {
    const float* row = matrix + r * dim;
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t j = 0;
    for (; j + 8 <= dim; j += 8)
      for (size_t k = 0; k < 8; ++k) acc[k] += row[j + k] * query[j + k];
    float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; j < dim; ++j) s += row[j] * query[j];
    out[r] = s;
  }
}

using DotRowsFn = void (*)(const float*, size_t, size_t, const float*, float*);
DotRowsFn pick_dot_rows() {
#if defined(OBOL_HAVE_X86_ISAS)
  if (kernels::cpu_kernels().isa >= kernels::Isa::avx2) return &detail::dot_rows__avx2;
#endif
  return &dot_rows_portable;
}

// Normalises in place; false for an all-zero or non-finite vector.
bool normalise(std::vector<float>& v) {
  double ss = 0;
  for (float x : v) ss += static_cast<double>(x) * x;
  if (!(ss > 0) || !std::isfinite(ss)) return false;
  const float inv = static_cast<float>(1.0 / std::sqrt(ss));
  for (float& x : v) x *= inv;
  return true;
}

size_t entry_bytes(const std::vector<Tensor>& outputs, const std::vector<std::string>& tags) {
  size_t b = kCacheEntryOverhead;
  for (const Tensor& t : outputs) b += t.nbytes();
  for (const std::string& s : tags) b += s.size() + 32;
  return b;
}

void hash_graph(XXH3_state_t* st, const graph::Graph& g);

void hash_bytes(XXH3_state_t* st, const void* p, size_t n) {
  const uint64_t len = n;
  XXH3_128bits_update(st, &len, sizeof len);
  if (n) XXH3_128bits_update(st, p, n);
}
void hash_str(XXH3_state_t* st, std::string_view s) { hash_bytes(st, s.data(), s.size()); }
void hash_u64(XXH3_state_t* st, uint64_t v) { XXH3_128bits_update(st, &v, sizeof v); }

void hash_constant(XXH3_state_t* st, const graph::ConstantData* c) {
  if (!c) return hash_u64(st, 0);
  hash_u64(st, static_cast<uint64_t>(c->view.dtype()));
  hash_u64(st, static_cast<uint64_t>(c->view.rank()));
  for (int64_t d : c->view.shape()) hash_u64(st, static_cast<uint64_t>(d));
  hash_bytes(st, c->view.data(), c->view.data() ? c->view.nbytes() : 0);
}

void hash_graph(XXH3_state_t* st, const graph::Graph& g) {
  hash_u64(st, static_cast<uint64_t>(g.value_count()));
  for (graph::ValueId v = 0; v < g.value_count(); ++v) {
    const graph::Value& val = g.value(v);
    hash_str(st, val.name);
    hash_u64(st, static_cast<uint64_t>(val.type.dtype));
    hash_u64(st, val.type.rank_known ? val.type.dims.size() + 1 : 0);
    for (const graph::Dim& d : val.type.dims) {
      hash_u64(st, static_cast<uint64_t>(d.value));
      hash_str(st, d.symbol);
    }
    hash_u64(st, (val.is_graph_input ? 1u : 0u) | (val.is_graph_output ? 2u : 0u) | (val.is_outer_scope ? 4u : 0u));
    hash_constant(st, val.constant.get());
  }
  hash_u64(st, static_cast<uint64_t>(g.node_count()));
  for (graph::NodeId n = 0; n < g.node_count(); ++n) {
    const graph::Node& node = g.node(n);
    if (node.removed) continue;
    hash_u64(st, static_cast<uint64_t>(node.op));
    hash_str(st, node.domain);
    hash_u64(st, static_cast<uint64_t>(node.opset));
    hash_u64(st, static_cast<uint64_t>(node.implicit_inputs));
    hash_u64(st, node.inputs.size());
    for (graph::ValueId v : node.inputs) hash_u64(st, static_cast<uint64_t>(v));
    hash_u64(st, node.outputs.size());
    for (graph::ValueId v : node.outputs) hash_u64(st, static_cast<uint64_t>(v));
    hash_u64(st, node.attributes.size());
    for (const graph::Attribute& a : node.attributes) {
      hash_str(st, a.name);
      hash_u64(st, static_cast<uint64_t>(a.kind));
      hash_bytes(st, &a.f, sizeof a.f);
      hash_u64(st, static_cast<uint64_t>(a.i));
      hash_str(st, a.s);
      hash_constant(st, a.t.get());
      hash_bytes(st, a.floats.data(), a.floats.size() * sizeof(float));
      hash_bytes(st, a.ints.data(), a.ints.size() * sizeof(int64_t));
      hash_u64(st, a.strings.size());
      for (const std::string& s : a.strings) hash_str(st, s);
      hash_u64(st, a.tensors.size());
      for (const auto& t : a.tensors) hash_constant(st, t.get());
      if (a.g) hash_graph(st, *a.g);
      hash_u64(st, a.graphs.size());
      for (const auto& sub : a.graphs)
        if (sub) hash_graph(st, *sub);
    }
  }
  for (graph::ValueId v : g.inputs()) hash_u64(st, static_cast<uint64_t>(v));
  for (graph::ValueId v : g.outputs()) hash_u64(st, static_cast<uint64_t>(v));
}

std::string hex128(uint64_t hi, uint64_t lo) {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(hi),
                static_cast<unsigned long long>(lo));
  return buf;
}

}  // namespace

// ---- keys --------------------------------------------------------------------------------------

std::string CacheKey::to_string() const { return hex128(hi, lo); }

KeyBuilder::KeyBuilder() : state_(new XXH3_state_t) { XXH3_128bits_reset(static_cast<XXH3_state_t*>(state_)); }
KeyBuilder::~KeyBuilder() { delete static_cast<XXH3_state_t*>(state_); }

KeyBuilder& KeyBuilder::add(std::string_view bytes) {
  hash_str(static_cast<XXH3_state_t*>(state_), bytes);
  return *this;
}
KeyBuilder& KeyBuilder::add_u64(uint64_t v) {
  hash_u64(static_cast<XXH3_state_t*>(state_), v);
  return *this;
}
KeyBuilder& KeyBuilder::add_tensor(std::string_view name, const TensorView& t) {
  auto* st = static_cast<XXH3_state_t*>(state_);
  hash_str(st, name);
  // dtype, rank and dims in one update: fewer calls on the hit path.
  uint64_t head[2 + Shape::kMaxRank];
  head[0] = static_cast<uint64_t>(t.dtype());
  head[1] = static_cast<uint64_t>(t.rank());
  for (int i = 0; i < t.rank(); ++i) head[2 + i] = static_cast<uint64_t>(t.shape()[i]);
  XXH3_128bits_update(st, head, sizeof(uint64_t) * static_cast<size_t>(2 + t.rank()));
  hash_bytes(st, t.data(), t.data() ? t.nbytes() : 0);
  return *this;
}
CacheKey KeyBuilder::finish() const {
  const XXH128_hash_t h = XXH3_128bits_digest(static_cast<XXH3_state_t*>(state_));
  return CacheKey{h.low64, h.high64};
}

CacheKey make_cache_key(std::string_view model_id, std::string_view options, const std::vector<TensorView>& inputs,
                        const std::vector<std::string>& names) {
  KeyBuilder b;
  b.add(model_id).add(options).add_u64(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) b.add_tensor(i < names.size() ? std::string_view(names[i]) : "", inputs[i]);
  return b.finish();
}

std::string model_fingerprint(const Model& model) {
  XXH3_state_t st;
  XXH3_128bits_reset(&st);
  hash_graph(&st, model.graph());
  const XXH128_hash_t h = XXH3_128bits_digest(&st);
  return hex128(h.high64, h.low64);
}

float cosine_similarity(const float* a, const float* b, size_t n) noexcept {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < n; ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  if (!(aa > 0) || !(bb > 0)) return 0.0f;
  return static_cast<float>(ab / std::sqrt(aa * bb));
}

// ---- exact tier --------------------------------------------------------------------------------

struct Cache::Shard {
  struct Node {
    CacheKey key;
    CacheValue value;
    int64_t inserted_ns = 0;
  };
  using List = std::list<Node>;

  std::mutex mutex;
  List lru;  // front = most recently used
  std::unordered_map<CacheKey, List::iterator, KeyHash> map;
  std::unordered_map<std::string, std::unordered_set<CacheKey, KeyHash>> tags;
  size_t bytes = 0;
  size_t budget = 0;

  void erase(List::iterator it) {
    for (const std::string& t : it->value->tags) {
      auto ti = tags.find(t);
      if (ti == tags.end()) continue;
      ti->second.erase(it->key);
      if (ti->second.empty()) tags.erase(ti);
    }
    bytes -= it->value->bytes;
    map.erase(it->key);
    lru.erase(it);
  }
};

// ---- semantic tier -----------------------------------------------------------------------------

struct Cache::SemanticIndex {
  std::shared_mutex mutex;
  size_t dim = 0;
  std::vector<float> matrix;  // rows x dim, each row L2-normalised
  std::vector<CacheKey> row_keys;
  std::unordered_map<CacheKey, size_t, KeyHash> row_of;
  std::deque<CacheKey> order;  // insertion order (may hold keys already removed)
  size_t max_entries = 0;
  DotRowsFn dot_rows = pick_dot_rows();

  void remove_locked(const CacheKey& key) {
    auto it = row_of.find(key);
    if (it == row_of.end()) return;
    const size_t row = it->second, last = row_keys.size() - 1;
    row_of.erase(it);
    if (row != last) {
      std::copy_n(matrix.begin() + static_cast<std::ptrdiff_t>(last * dim), dim,
                  matrix.begin() + static_cast<std::ptrdiff_t>(row * dim));
      row_keys[row] = row_keys[last];
      row_of[row_keys[row]] = row;
    }
    row_keys.pop_back();
    matrix.resize(row_keys.size() * dim);
  }

  // False when the embedding's length differs from the index's.
  bool insert(const CacheKey& key, const std::vector<float>& e) {
    std::unique_lock<std::shared_mutex> lk(mutex);
    if (dim == 0) dim = e.size();
    if (e.size() != dim) return false;
    auto it = row_of.find(key);
    if (it != row_of.end()) {
      std::copy(e.begin(), e.end(), matrix.begin() + static_cast<std::ptrdiff_t>(it->second * dim));
      return true;
    }
    while (row_keys.size() >= max_entries && !order.empty()) {
      remove_locked(order.front());
      order.pop_front();
    }
    if (row_keys.size() >= max_entries) return true;  // max_entries == 0
    row_of[key] = row_keys.size();
    row_keys.push_back(key);
    matrix.insert(matrix.end(), e.begin(), e.end());
    order.push_back(key);
    if (order.size() > 2 * row_keys.size() + 1024) {  // drop keys removed meanwhile
      std::deque<CacheKey> live;
      for (const CacheKey& k : order)
        if (row_of.count(k)) live.push_back(k);
      order.swap(live);
    }
    return true;
  }

  // The most similar row: (found, key, cosine).
  bool best(const std::vector<float>& q, CacheKey& key, float& score) {
    std::shared_lock<std::shared_mutex> lk(mutex);
    if (row_keys.empty() || q.size() != dim) return false;
    thread_local std::vector<float> scores;
    scores.resize(row_keys.size());
    dot_rows(matrix.data(), row_keys.size(), dim, q.data(), scores.data());
    const size_t i = static_cast<size_t>(std::max_element(scores.begin(), scores.end()) - scores.begin());
    key = row_keys[i];
    score = scores[i];
    return true;
  }

  size_t size() {
    std::shared_lock<std::shared_mutex> lk(mutex);
    return row_keys.size();
  }
};

// ---- Cache -------------------------------------------------------------------------------------

Cache::Cache(CacheOptions options) : options_(std::move(options)) {
  if (options_.shards < 1) options_.shards = 1;
  const size_t n = static_cast<size_t>(options_.shards);
  for (size_t i = 0; i < n; ++i) {
    shards_.push_back(std::make_unique<Shard>());
    shards_.back()->budget = options_.max_bytes / n;
  }
  if (MetricsRegistry* m = options_.metrics) {
    const Labels& l = options_.metrics_labels;
    m_hits_ = &m->counter("obol_cache_hits_total", "Exact cache hits", l);
    m_misses_ = &m->counter("obol_cache_misses_total", "Cache lookups that found nothing", l);
    m_semantic_hits_ = &m->counter("obol_cache_semantic_hits_total", "Near-hits the semantic tier answered", l);
    m_rejected_ = &m->counter("obol_cache_rejected_near_hits_total", "Near-hits refused by the verify hook", l);
    m_evictions_ = &m->counter("obol_cache_evictions_total", "Entries dropped by the byte limit", l);
  }
  if (options_.semantic.embed) {
    semantic_ = std::make_unique<SemanticIndex>();
    semantic_->max_entries = options_.semantic.max_entries;
  }
}

Cache::~Cache() = default;

int64_t Cache::now() const {
  if (options_.clock) return options_.clock();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Cache::Shard& Cache::shard_for(const CacheKey& key) const {
  return *shards_[static_cast<size_t>(key.hi % shards_.size())];
}

void Cache::drop_semantic(const CacheKey& key) {
  if (!semantic_) return;
  std::unique_lock<std::shared_mutex> lk(semantic_->mutex);
  semantic_->remove_locked(key);
}

namespace {
// Looks up without touching the hit/miss counters. Returns the value and whether it expired.
CacheValue find_in(Cache::Shard& s, const CacheKey& key, bool ttl_on, int64_t now_ns, int64_t ttl_ns, bool& expired) {
  expired = false;
  std::lock_guard<std::mutex> lk(s.mutex);
  auto it = s.map.find(key);
  if (it == s.map.end()) return nullptr;
  if (ttl_on && now_ns - it->second->inserted_ns >= ttl_ns) {
    s.erase(it->second);
    expired = true;
    return nullptr;
  }
  s.lru.splice(s.lru.begin(), s.lru, it->second);
  return it->second->value;
}
}  // namespace

CacheValue Cache::get(const CacheKey& key) {
  const bool ttl_on = options_.ttl.count() > 0;
  bool expired = false;
  CacheValue v = find_in(shard_for(key), key, ttl_on, ttl_on ? now() : 0, options_.ttl.count(), expired);
  if (expired) {
    expired_.fetch_add(1, std::memory_order_relaxed);
    drop_semantic(key);
  }
  (v ? hits_ : misses_).fetch_add(1, std::memory_order_relaxed);
  if (Counter* c = v ? m_hits_ : m_misses_) c->inc();
  return v;
}

CacheValue Cache::lookup(const CacheKey& key, const std::vector<TensorView>& inputs, bool* semantic_hit) {
  if (semantic_hit) *semantic_hit = false;
  const bool ttl_on = options_.ttl.count() > 0;
  const int64_t now_ns = ttl_on ? now() : 0;
  bool expired = false;
  CacheValue v = find_in(shard_for(key), key, ttl_on, now_ns, options_.ttl.count(), expired);
  if (expired) {
    expired_.fetch_add(1, std::memory_order_relaxed);
    drop_semantic(key);
  }
  if (v) {
    hits_.fetch_add(1, std::memory_order_relaxed);
    if (m_hits_) m_hits_->inc();
    return v;
  }
  if (semantic_ && !inputs.empty()) {
    Result<std::vector<float>> e = options_.semantic.embed(inputs);
    if (!e.is_ok()) {
      embed_errors_.fetch_add(1, std::memory_order_relaxed);
    } else if (normalise(*e)) {
      CacheKey near;
      float score = 0;
      if (semantic_->best(*e, near, score) && score >= options_.semantic.threshold) {
        CacheValue cand = find_in(shard_for(near), near, ttl_on, now_ns, options_.ttl.count(), expired);
        if (!cand) {
          if (expired) expired_.fetch_add(1, std::memory_order_relaxed);
          drop_semantic(near);
        } else if (options_.semantic.verify && !options_.semantic.verify(inputs, *cand, score)) {
          rejected_.fetch_add(1, std::memory_order_relaxed);
          if (m_rejected_) m_rejected_->inc();
        } else {
          semantic_hits_.fetch_add(1, std::memory_order_relaxed);
          if (m_semantic_hits_) m_semantic_hits_->inc();
          if (semantic_hit) *semantic_hit = true;
          return cand;
        }
      }
    }
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  if (m_misses_) m_misses_->inc();
  return nullptr;
}

CacheValue Cache::put(const CacheKey& key, std::vector<Tensor> outputs, std::vector<std::string> tags,
                      const std::vector<TensorView>& inputs, bool* stored) {
  if (stored) *stored = false;
  puts_.fetch_add(1, std::memory_order_relaxed);
  auto entry = std::make_shared<CacheEntry>();
  entry->bytes = entry_bytes(outputs, tags);
  entry->outputs = std::move(outputs);
  entry->tags = std::move(tags);
  std::sort(entry->tags.begin(), entry->tags.end());
  entry->tags.erase(std::unique(entry->tags.begin(), entry->tags.end()), entry->tags.end());
  Shard& s = shard_for(key);
  if (entry->bytes > s.budget) {
    too_large_.fetch_add(1, std::memory_order_relaxed);
    return entry;
  }
  if (stored) *stored = true;
  CacheValue value = entry;
  const int64_t now_ns = options_.ttl.count() > 0 ? now() : 0;
  std::vector<CacheKey> evicted;
  {
    std::lock_guard<std::mutex> lk(s.mutex);
    auto it = s.map.find(key);
    if (it != s.map.end()) s.erase(it->second);
    s.lru.push_front(Shard::Node{key, value, now_ns});
    s.map[key] = s.lru.begin();
    s.bytes += value->bytes;
    for (const std::string& t : value->tags) s.tags[t].insert(key);
    while (s.bytes > s.budget) {
      auto last = std::prev(s.lru.end());
      evicted.push_back(last->key);
      s.erase(last);
    }
  }
  if (!evicted.empty()) {
    evictions_.fetch_add(evicted.size(), std::memory_order_relaxed);
    if (m_evictions_) m_evictions_->inc(static_cast<double>(evicted.size()));
    for (const CacheKey& k : evicted) drop_semantic(k);
  }
  if (semantic_ && !inputs.empty()) {
    Result<std::vector<float>> e = options_.semantic.embed(inputs);
    if (!e.is_ok() || !normalise(*e) || !semantic_->insert(key, *e)) embed_errors_.fetch_add(1, std::memory_order_relaxed);
  }
  return value;
}

bool Cache::invalidate(const CacheKey& key) {
  Shard& s = shard_for(key);
  bool dropped = false;
  {
    std::lock_guard<std::mutex> lk(s.mutex);
    auto it = s.map.find(key);
    if (it != s.map.end()) {
      s.erase(it->second);
      dropped = true;
    }
  }
  if (dropped) {
    invalidated_.fetch_add(1, std::memory_order_relaxed);
    drop_semantic(key);
  }
  return dropped;
}

size_t Cache::invalidate_tag(std::string_view tag) {
  std::vector<CacheKey> dropped;
  const std::string t(tag);
  for (auto& sp : shards_) {
    Shard& s = *sp;
    std::lock_guard<std::mutex> lk(s.mutex);
    auto ti = s.tags.find(t);
    if (ti == s.tags.end()) continue;
    const std::vector<CacheKey> keys(ti->second.begin(), ti->second.end());
    for (const CacheKey& k : keys) {
      auto it = s.map.find(k);
      if (it == s.map.end()) continue;
      s.erase(it->second);
      dropped.push_back(k);
    }
  }
  invalidated_.fetch_add(dropped.size(), std::memory_order_relaxed);
  for (const CacheKey& k : dropped) drop_semantic(k);
  return dropped.size();
}

void Cache::clear() {
  size_t n = 0;
  for (auto& sp : shards_) {
    std::lock_guard<std::mutex> lk(sp->mutex);
    n += sp->map.size();
    sp->lru.clear();
    sp->map.clear();
    sp->tags.clear();
    sp->bytes = 0;
  }
  invalidated_.fetch_add(n, std::memory_order_relaxed);
  if (semantic_) {
    std::unique_lock<std::shared_mutex> lk(semantic_->mutex);
    semantic_->matrix.clear();
    semantic_->row_keys.clear();
    semantic_->row_of.clear();
    semantic_->order.clear();
  }
}

CacheStats Cache::stats() const {
  CacheStats s;
  s.hits = hits_.load();
  s.misses = misses_.load();
  s.semantic_hits = semantic_hits_.load();
  s.rejected_near_hits = rejected_.load();
  s.puts = puts_.load();
  s.evictions = evictions_.load();
  s.expired = expired_.load();
  s.invalidated = invalidated_.load();
  s.too_large = too_large_.load();
  s.embed_errors = embed_errors_.load();
  for (const auto& sp : shards_) {
    std::lock_guard<std::mutex> lk(sp->mutex);
    s.entries += sp->map.size();
    s.bytes += sp->bytes;
  }
  if (semantic_) s.semantic_entries = semantic_->size();
  return s;
}

// ---- embedder from a model ---------------------------------------------------------------------

std::function<Result<std::vector<float>>(const std::vector<TensorView>&)> model_embedder(
    std::shared_ptr<const Model> model, int output_index, const SessionOptions& options) {
  auto holder = std::make_shared<std::pair<std::mutex, std::unique_ptr<detail::SessionPool>>>();
  return [model, output_index, options, holder](const std::vector<TensorView>& inputs) -> Result<std::vector<float>> {
    detail::SessionPool* pool;
    {
      std::lock_guard<std::mutex> lk(holder->first);
      if (!holder->second) {
        OBOL_ASSIGN_OR_RETURN(holder->second, detail::SessionPool::create(model, options));
      }
      pool = holder->second.get();
    }
    std::vector<Tensor> out;
    OBOL_RETURN_IF_ERROR(pool->run(inputs, out));
    OBOL_CHECK_OR_RETURN(output_index >= 0 && static_cast<size_t>(output_index) < out.size(), out_of_range, "cache",
                         "embedder output ", output_index, " does not exist (the model has ", out.size(), ")");
    const Tensor& t = out[static_cast<size_t>(output_index)];
    OBOL_CHECK_OR_RETURN(t.dtype() == DType::f32, invalid_argument, "cache", "embedder output is ",
                         dtype_name(t.dtype()), ", expected f32");
    const float* p = t.data_as<const float>();
    if (t.rank() == 3) {
      OBOL_CHECK_OR_RETURN(t.shape()[0] == 1, invalid_argument, "cache", "embedder output ", t.shape().to_string(),
                           " has batch ", t.shape()[0], ", expected 1");
      const int64_t T = t.shape()[1], D = t.shape()[2];
      OBOL_CHECK_OR_RETURN(T > 0 && D > 0, invalid_argument, "cache", "embedder output ", t.shape().to_string(), " is empty");
      std::vector<float> e(static_cast<size_t>(D), 0.0f);
      for (int64_t i = 0; i < T; ++i)
        for (int64_t d = 0; d < D; ++d) e[static_cast<size_t>(d)] += p[i * D + d];
      for (float& x : e) x /= static_cast<float>(T);
      return e;
    }
    OBOL_CHECK_OR_RETURN(t.rank() == 0 || t.shape()[0] == 1, invalid_argument, "cache", "embedder output ",
                         t.shape().to_string(), " has batch ", t.rank() ? t.shape()[0] : 0, ", expected 1");
    return std::vector<float>(p, p + t.numel());
  };
}

// ---- CachedSession -----------------------------------------------------------------------------

Result<std::unique_ptr<CachedSession>> CachedSession::create(std::shared_ptr<const Model> model,
                                                             std::shared_ptr<Cache> cache,
                                                             CachedSessionOptions options) {
  OBOL_CHECK_OR_RETURN(model != nullptr, invalid_argument, "cache", "model is null");
  OBOL_CHECK_OR_RETURN(cache != nullptr, invalid_argument, "cache", "cache is null");
  std::unique_ptr<CachedSession> cs(new CachedSession());
  OBOL_ASSIGN_OR_RETURN(cs->session_, Session::create(model, options.session));
  cs->cache_ = std::move(cache);
  cs->model_id_ = options.model_id.empty() ? model_fingerprint(*model) : options.model_id;
  std::string opt = "backends=";
  for (const std::string& b : options.session.backends) opt += b + ",";
  opt += options.session.strict_placement ? ";strict" : "";
  cs->options_id_ = std::move(opt);
  for (const TensorInfo& i : model->inputs()) cs->input_names_.push_back(i.name);
  cs->tags_ = std::move(options.tags);
  return cs;
}

CacheKey CachedSession::key_for(const std::vector<TensorView>& inputs) const {
  return make_cache_key(model_id_, options_id_, inputs, input_names_);
}

Result<CacheValue> CachedSession::run_shared(const std::vector<TensorView>& inputs, bool* hit) {
  const CacheKey key = key_for(inputs);
  if (CacheValue v = cache_->lookup(key, inputs)) {
    if (hit) *hit = true;
    return v;
  }
  if (hit) *hit = false;
  std::vector<Tensor> outputs;
  OBOL_RETURN_IF_ERROR(session_->run(inputs, outputs));
  return cache_->put(key, std::move(outputs), tags_, inputs);
}

Status CachedSession::run(const std::vector<TensorView>& inputs, std::vector<Tensor>& outputs, bool* hit) {
  OBOL_ASSIGN_OR_RETURN(CacheValue v, run_shared(inputs, hit));
  outputs.clear();
  outputs.reserve(v->outputs.size());
  for (const Tensor& t : v->outputs) {
    OBOL_ASSIGN_OR_RETURN(Tensor c, t.clone());
    outputs.push_back(std::move(c));
  }
  return Status::ok();
}

}  // namespace econ
}  // inline namespace v1
}  // namespace obol
