// obol/econ/cache.hpp — a response cache: an exact tier and an optional semantic tier.
//
//   auto cache = std::make_shared<obol::econ::Cache>(obol::econ::CacheOptions{});
//   auto cs = obol::econ::CachedSession::create(model, cache);      // Result<std::unique_ptr<...>>
//   std::vector<obol::Tensor> out;
//   bool hit = false;
//   obol::Status st = (*cs)->run({x_view}, out, &hit);
//
// Exact tier: entries are keyed by a 128-bit XXH3 hash (CacheKey) of the model identity, the run
// options and every input's name, dtype, shape and bytes (KeyBuilder). With 128 bits a false match
// is not a practical concern, so keys are not stored or compared beyond the hash. Values are the
// outputs of a run (immutable, shared: a hit copies nothing unless the caller wants its own
// tensors). Limits: `max_bytes` over all entries (output bytes plus a fixed per-entry overhead),
// least-recently-used eviction, an optional time to live read from an injectable clock, and tags:
// invalidate_tag("v2") drops every entry put with that tag.
//
// Sharding: the exact tier is split into `shards` independent LRUs by key, each with its own mutex
// and max_bytes / shards of the budget, so concurrent lookups rarely contend. shards = 1 gives an
// exact global LRU. An entry larger than one shard's budget is not stored (counted as too_large).
//
// Semantic tier (optional, SemanticOptions::embed set): put() also stores an L2-normalised
// embedding of the inputs; a lookup that misses the exact tier embeds the query and scans every
// stored embedding (brute force over one contiguous matrix; fine for up to ~100k entries) for the
// best cosine similarity. At or above `threshold` it is a near-hit; the optional `verify` hook may
// refuse it (counted as a rejected near-hit, and the lookup is a miss). The semantic index holds at
// most `max_entries` embeddings and drops the oldest beyond that; entries evicted from the exact tier
// leave it too.
//
// Thread-safety: every member of Cache is safe to call from any number of threads. The embedder
// and verify callbacks are called from the threads that call put()/lookup(), concurrently, and must
// be thread-safe themselves. CachedSession is used by one thread at a time (like Session); many
// CachedSessions may share one Cache.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "obol/econ/metrics.hpp"
#include "obol/obol.hpp"

namespace obol {
inline namespace v1 {
namespace econ {

struct CacheKey {
  uint64_t lo = 0, hi = 0;
  friend bool operator==(const CacheKey& a, const CacheKey& b) noexcept { return a.lo == b.lo && a.hi == b.hi; }
  friend bool operator!=(const CacheKey& a, const CacheKey& b) noexcept { return !(a == b); }
  std::string to_string() const;  // 32 hex digits
};

// Builds a CacheKey incrementally. Every field is length-prefixed, so ("ab","c") and ("a","bc")
// hash differently. Not thread-safe (one builder per thread); cheap to construct.
class KeyBuilder {
 public:
  KeyBuilder();
  ~KeyBuilder();
  KeyBuilder(const KeyBuilder&) = delete;
  KeyBuilder& operator=(const KeyBuilder&) = delete;

  KeyBuilder& add(std::string_view bytes);          // a string or any byte range
  KeyBuilder& add_u64(uint64_t v);
  // The name, dtype, shape and bytes of one tensor (its data must be dense, as every TensorView is).
  KeyBuilder& add_tensor(std::string_view name, const TensorView& t);
  CacheKey finish() const;

 private:
  void* state_;  // XXH3 state
};

// The usual key: model identity, options string, and the inputs with their names (names may be
// shorter than inputs; missing names hash as "").
CacheKey make_cache_key(std::string_view model_id, std::string_view options, const std::vector<TensorView>& inputs,
                        const std::vector<std::string>& names = {});

// A stable identity for a model: XXH3 over its graph (ops, attributes, value types, input/output
// names) and every constant's bytes, as 32 hex digits. Reads all weights once (milliseconds per
// 100 MB); compute it once per model and keep it.
std::string model_fingerprint(const Model& model);

// One cached value: the outputs of a run. Immutable once stored.
struct CacheEntry {
  std::vector<Tensor> outputs;
  std::vector<std::string> tags;
  size_t bytes = 0;  // what it counts against max_bytes
};
using CacheValue = std::shared_ptr<const CacheEntry>;

// Nanoseconds on some monotonic scale; the default is std::chrono::steady_clock.
using CacheClock = std::function<int64_t()>;

struct SemanticOptions {
  // Maps the inputs of a request to an embedding (any length, the same for every call; it is
  // normalised by the cache). Empty = no semantic tier. See model_embedder().
  std::function<Result<std::vector<float>>(const std::vector<TensorView>& inputs)> embed;
  // A near-hit needs cosine >= threshold.
  float threshold = 0.95f;
  // Optional: returns false to refuse a near-hit (a rejected near-hit: the lookup misses).
  std::function<bool(const std::vector<TensorView>& query, const CacheEntry& candidate, float cosine)> verify;
  size_t max_entries = 100000;
};

struct CacheOptions {
  size_t max_bytes = size_t{256} << 20;
  // 0 = entries never expire. An entry older than ttl is dropped at its next lookup.
  std::chrono::nanoseconds ttl{0};
  int shards = 16;  // >= 1
  CacheClock clock;  // empty = steady_clock
  SemanticOptions semantic;
  // Optional: also count into this registry, which must outlive the Cache: counters
  // obol_cache_{hits,misses,semantic_hits,rejected_near_hits,evictions}_total with
  // `metrics_labels`. stats() works either way (and also has bytes and entries).
  MetricsRegistry* metrics = nullptr;
  Labels metrics_labels;
};

struct CacheStats {
  uint64_t hits = 0;              // exact hits
  uint64_t misses = 0;            // lookups that returned nothing (semantic misses included)
  uint64_t semantic_hits = 0;     // near-hits accepted
  uint64_t rejected_near_hits = 0;  // near-hits refused by verify
  uint64_t puts = 0;
  uint64_t evictions = 0;         // dropped by the byte limit
  uint64_t expired = 0;           // dropped by ttl
  uint64_t invalidated = 0;       // dropped by invalidate / invalidate_tag / clear
  uint64_t too_large = 0;         // puts refused: bigger than one shard's budget
  uint64_t embed_errors = 0;      // embedder calls that failed (the lookup or put went on without it)
  uint64_t entries = 0;           // now
  uint64_t bytes = 0;             // now
  uint64_t semantic_entries = 0;  // now
};

// Per-entry bookkeeping on top of the output bytes, counted against max_bytes.
inline constexpr size_t kCacheEntryOverhead = 256;

class Cache {
 public:
  explicit Cache(CacheOptions options = {});
  ~Cache();
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  // Exact lookup; refreshes the entry's LRU position. nullptr on a miss (counted).
  CacheValue get(const CacheKey& key);
  // Exact lookup, then (when the semantic tier is on) a near-hit for `inputs`. `semantic_hit`, when
  // given, tells which tier answered.
  CacheValue lookup(const CacheKey& key, const std::vector<TensorView>& inputs, bool* semantic_hit = nullptr);

  // Stores (or replaces) the outputs under `key`, evicting least-recently-used entries as needed.
  // With the semantic tier on, `inputs` are embedded and indexed (pass {} to skip that).
  // Returns the value holding `outputs` (never null). A value larger than one shard's budget is
  // returned without being stored (counted as too_large; `stored`, when given, says which).
  CacheValue put(const CacheKey& key, std::vector<Tensor> outputs, std::vector<std::string> tags = {},
                 const std::vector<TensorView>& inputs = {}, bool* stored = nullptr);

  bool invalidate(const CacheKey& key);       // true when an entry was dropped
  size_t invalidate_tag(std::string_view tag);  // entries dropped
  void clear();

  CacheStats stats() const;
  const CacheOptions& options() const noexcept { return options_; }

  struct Shard;
  struct SemanticIndex;

 private:
  int64_t now() const;
  Shard& shard_for(const CacheKey& key) const;
  void drop_semantic(const CacheKey& key);

  CacheOptions options_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::unique_ptr<SemanticIndex> semantic_;
  mutable std::atomic<uint64_t> hits_{0}, misses_{0}, semantic_hits_{0}, rejected_{0}, puts_{0}, evictions_{0},
      expired_{0}, invalidated_{0}, too_large_{0}, embed_errors_{0};
  Counter *m_hits_ = nullptr, *m_misses_ = nullptr, *m_semantic_hits_ = nullptr, *m_rejected_ = nullptr,
          *m_evictions_ = nullptr;
};

// An embedder for SemanticOptions::embed from an obol model: runs `model` on the inputs (from a
// small pool of sessions, so concurrent calls are fine) and returns output `output_index` flattened
// (expects batch 1; an output of shape [1, T, D] is mean-pooled over T to D).
std::function<Result<std::vector<float>>(const std::vector<TensorView>&)> model_embedder(
    std::shared_ptr<const Model> model, int output_index = 0, const SessionOptions& options = {});

// Cosine similarity of two equal-length vectors (0 when either is all zeros).
float cosine_similarity(const float* a, const float* b, size_t n) noexcept;

struct CachedSessionOptions {
  std::string model_id;               // empty = model_fingerprint(model)
  SessionOptions session;
  std::vector<std::string> tags;      // attached to every entry this session stores
};

// A Session that answers from the cache when it can and stores what it computes. One thread at a
// time (like Session).
class CachedSession {
 public:
  static Result<std::unique_ptr<CachedSession>> create(std::shared_ptr<const Model> model, std::shared_ptr<Cache> cache,
                                                       CachedSessionOptions options = {});

  // As Session::run; `outputs` receives copies of the cached tensors on a hit. `hit` (optional)
  // tells whether the cache answered.
  Status run(const std::vector<TensorView>& inputs, std::vector<Tensor>& outputs, bool* hit = nullptr);
  // As run(), but hands out the shared cached value itself (no copy): the fastest hit path.
  Result<CacheValue> run_shared(const std::vector<TensorView>& inputs, bool* hit = nullptr);

  CacheKey key_for(const std::vector<TensorView>& inputs) const;
  Session& session() noexcept { return *session_; }
  Cache& cache() noexcept { return *cache_; }

 private:
  CachedSession() = default;
  std::shared_ptr<Cache> cache_;
  std::unique_ptr<Session> session_;
  std::string model_id_;
  std::string options_id_;
  std::vector<std::string> input_names_;
  std::vector<std::string> tags_;
};

}  // namespace econ
}  // inline namespace v1
}  // namespace obol
