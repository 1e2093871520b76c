// The response cache: keys, LRU eviction by bytes, TTL with an injected clock, tags, concurrency,
// the semantic tier (threshold, verify, model embedder) and CachedSession.
#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <cstring>
#include <random>
#include <thread>

#include "econ_models.hpp"
#include "obol/econ/cache.hpp"

using namespace obol;
using namespace obol::econ;
using econ_test::affine_model;
using econ_test::make_rows;

namespace {

// One output tensor of `n` floats, all equal to `v`.
std::vector<Tensor> value_of(float v, int64_t n = 16) {
  Tensor t = std::move(Tensor::empty(DType::f32, Shape{1, n})).value();
  for (int64_t i = 0; i < n; ++i) t.data_as<float>()[i] = v;
  std::vector<Tensor> out;
  out.push_back(std::move(t));
  return out;
}

float first(const CacheValue& v) { return v->outputs.at(0).data_as<const float>()[0]; }

CacheKey key_of(int i) {
  KeyBuilder b;
  b.add("model").add_u64(static_cast<uint64_t>(i));
  return b.finish();
}

}  // namespace

TEST_CASE("cache key: covers names, dtypes, shapes and bytes", "[cache]") {
  Tensor a = make_rows({{1, 2, 3, 4}});
  Tensor b = make_rows({{1, 2, 3, 5}});
  Tensor c = make_rows({{1, 2}, {3, 4}});
  Tensor d = std::move(Tensor::empty(DType::i32, Shape{1, 4})).value();
  std::memcpy(d.data(), a.data(), a.nbytes());
  const CacheKey k = make_cache_key("m", "o", {a.view()}, {"x"});
  CHECK(k == make_cache_key("m", "o", {a.view()}, {"x"}));
  CHECK(k != make_cache_key("m", "o", {b.view()}, {"x"}));   // bytes
  CHECK(k != make_cache_key("m", "o", {c.view()}, {"x"}));   // shape, same bytes
  CHECK(k != make_cache_key("m", "o", {d.view()}, {"x"}));   // dtype, same bytes
  CHECK(k != make_cache_key("m", "o", {a.view()}, {"y"}));   // name
  CHECK(k != make_cache_key("m2", "o", {a.view()}, {"x"}));  // model
  CHECK(k != make_cache_key("m", "o2", {a.view()}, {"x"}));  // options
  // Length prefixes keep field boundaries: ("ab","c") differs from ("a","bc").
  CHECK(make_cache_key("ab", "c", {}) != make_cache_key("a", "bc", {}));
  CHECK(k.to_string().size() == 32);
}

TEST_CASE("cache: LRU eviction by bytes", "[cache]") {
  const size_t entry = kCacheEntryOverhead + 16 * sizeof(float);
  CacheOptions o;
  o.shards = 1;
  o.max_bytes = 3 * entry;
  Cache cache(o);
  cache.put(key_of(1), value_of(1));
  cache.put(key_of(2), value_of(2));
  cache.put(key_of(3), value_of(3));
  CHECK(cache.stats().bytes == 3 * entry);
  REQUIRE(cache.get(key_of(1)) != nullptr);  // 1 is now the most recently used; 2 is the oldest
  cache.put(key_of(4), value_of(4));
  CHECK(cache.get(key_of(2)) == nullptr);
  REQUIRE(cache.get(key_of(1)) != nullptr);
  CHECK(first(cache.get(key_of(1))) == 1.0f);
  CHECK(first(cache.get(key_of(3))) == 3.0f);
  CHECK(first(cache.get(key_of(4))) == 4.0f);
  CacheStats s = cache.stats();
  CHECK(s.evictions == 1);
  CHECK(s.entries == 3);
  CHECK(s.bytes == 3 * entry);
  CHECK(s.misses == 1);

  // A bigger entry pushes out as many as it needs; one larger than the budget is not stored.
  cache.put(key_of(5), value_of(5, 16 + 2 * static_cast<int64_t>(entry / sizeof(float))));
  CHECK(cache.stats().entries == 1);
  bool stored = true;
  CacheValue huge = cache.put(key_of(6), value_of(6, 4 * static_cast<int64_t>(entry)), {}, {}, &stored);
  CHECK_FALSE(stored);
  REQUIRE(huge != nullptr);
  CHECK(first(huge) == 6.0f);
  CHECK(cache.get(key_of(6)) == nullptr);
  CHECK(cache.stats().too_large == 1);
  CHECK(cache.stats().bytes <= o.max_bytes);

  // Replacing a key does not grow the cache.
  Cache c2(o);
  c2.put(key_of(1), value_of(1));
  c2.put(key_of(1), value_of(7));
  CHECK(c2.stats().entries == 1);
  CHECK(c2.stats().bytes == entry);
  CHECK(first(c2.get(key_of(1))) == 7.0f);
}

TEST_CASE("cache: entries expire after ttl on an injected clock", "[cache]") {
  auto now = std::make_shared<std::atomic<int64_t>>(1000);
  CacheOptions o;
  o.ttl = std::chrono::nanoseconds(100);
  o.clock = [now] { return now->load(); };
  Cache cache(o);
  cache.put(key_of(1), value_of(1));
  now->store(1050);
  cache.put(key_of(2), value_of(2));
  now->store(1099);
  CHECK(cache.get(key_of(1)) != nullptr);
  now->store(1100);  // exactly ttl old: expired
  CHECK(cache.get(key_of(1)) == nullptr);
  CHECK(cache.get(key_of(2)) != nullptr);
  now->store(1150);
  CHECK(cache.get(key_of(2)) == nullptr);
  const CacheStats s = cache.stats();
  CHECK(s.expired == 2);
  CHECK(s.entries == 0);
  CHECK(s.bytes == 0);
  CHECK(s.hits == 2);
  CHECK(s.misses == 2);
}

TEST_CASE("cache: tag and key invalidation", "[cache]") {
  Cache cache(CacheOptions{});
  cache.put(key_of(1), value_of(1), {"v1"});
  cache.put(key_of(2), value_of(2), {"v1", "v2"});
  cache.put(key_of(3), value_of(3), {"v2"});
  cache.put(key_of(4), value_of(4));
  CHECK(cache.invalidate_tag("v1") == 2);
  CHECK(cache.get(key_of(1)) == nullptr);
  CHECK(cache.get(key_of(2)) == nullptr);
  CHECK(cache.get(key_of(3)) != nullptr);
  CHECK(cache.invalidate_tag("v1") == 0);
  CHECK(cache.invalidate_tag("nope") == 0);
  // A replaced entry keeps only its new tags.
  cache.put(key_of(3), value_of(3), {"v3"});
  CHECK(cache.invalidate_tag("v2") == 0);
  CHECK(cache.invalidate(key_of(4)));
  CHECK_FALSE(cache.invalidate(key_of(4)));
  CHECK(cache.stats().entries == 1);
  cache.clear();
  CHECK(cache.stats().entries == 0);
  CHECK(cache.stats().bytes == 0);
  CHECK(cache.stats().invalidated == 4);
}

TEST_CASE("cache: concurrent puts, gets and invalidations return only the right values", "[cache]") {
  CacheOptions o;
  o.shards = 4;
  o.max_bytes = 40 * (kCacheEntryOverhead + 64 * sizeof(float));  // far fewer than the keys: evictions
  Cache cache(o);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<uint32_t>(t));
      for (int i = 0; i < 5000; ++i) {
        const int k = static_cast<int>(rng() % 200);
        const int op = static_cast<int>(rng() % 10);
        if (op < 6) {
          if (CacheValue v = cache.get(key_of(k))) {
            const float* p = v->outputs[0].data_as<const float>();
            for (int j = 0; j < 64; ++j)
              if (p[j] != static_cast<float>(k)) wrong.fetch_add(1);
          }
        } else if (op < 9) {
          cache.put(key_of(k), value_of(static_cast<float>(k), 64), {k % 2 ? "oddk" : "even"});
        } else if (i % 50 == 0) {
          cache.invalidate_tag(k % 2 ? "oddk" : "even");
        } else {
          cache.invalidate(key_of(k));
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(wrong.load() == 0);
  const CacheStats s = cache.stats();
  CHECK(s.hits + s.misses > 0);
  CHECK(s.evictions > 0);
  CHECK(s.bytes <= o.max_bytes);
  CHECK(s.bytes == s.entries * (kCacheEntryOverhead + 64 * sizeof(float) + 4 + 32));
}

TEST_CASE("cache: semantic near-hits, threshold and verify", "[cache]") {
  std::atomic<bool> accept{true};
  CacheOptions o;
  // The embedding of a request is its input row itself.
  o.semantic.embed = [](const std::vector<TensorView>& in) -> Result<std::vector<float>> {
    const float* p = in.at(0).data_as<const float>();
    return std::vector<float>(p, p + in[0].numel());
  };
  o.semantic.verify = [&accept](const std::vector<TensorView>&, const CacheEntry&, float cosine) {
    return cosine >= 0.95f && accept.load();
  };
  Cache cache(o);
  Tensor stored_in = make_rows({{1, 0, 0, 0}});
  Tensor close = make_rows({{0.99f, 0.05f, 0, 0}});     // cosine ~0.9987
  Tensor far = make_rows({{0.6f, 0.6f, 0, 0}});         // cosine ~0.707
  Tensor scaled = make_rows({{5, 0, 0, 0}});            // cosine 1 (direction only)
  const CacheKey k1 = make_cache_key("m", "", {stored_in.view()});
  cache.put(k1, value_of(42), {}, {stored_in.view()});
  CHECK(cache.stats().semantic_entries == 1);

  bool semantic = false;
  CacheValue v = cache.lookup(make_cache_key("m", "", {close.view()}), {close.view()}, &semantic);
  REQUIRE(v != nullptr);
  CHECK(semantic);
  CHECK(first(v) == 42.0f);
  CHECK(cache.lookup(make_cache_key("m", "", {far.view()}), {far.view()}, &semantic) == nullptr);
  CHECK_FALSE(semantic);
  CHECK(cache.lookup(make_cache_key("m", "", {scaled.view()}), {scaled.view()}) != nullptr);
  // Exact hits do not consult the semantic tier.
  CHECK(cache.lookup(k1, {stored_in.view()}, &semantic) != nullptr);
  CHECK_FALSE(semantic);

  accept = false;
  CHECK(cache.lookup(make_cache_key("m", "", {close.view()}), {close.view()}) == nullptr);
  CacheStats s = cache.stats();
  CHECK(s.hits == 1);
  CHECK(s.semantic_hits == 2);
  CHECK(s.rejected_near_hits == 1);
  CHECK(s.misses == 2);

  // Dropping the entry drops its embedding too.
  accept = true;
  CHECK(cache.invalidate(k1));
  CHECK(cache.stats().semantic_entries == 0);
  CHECK(cache.lookup(make_cache_key("m", "", {close.view()}), {close.view()}) == nullptr);
}

TEST_CASE("cache: the semantic index scans many entries and keeps at most max_entries", "[cache]") {
  CacheOptions o;
  o.semantic.max_entries = 500;
  o.semantic.embed = [](const std::vector<TensorView>& in) -> Result<std::vector<float>> {
    const float* p = in.at(0).data_as<const float>();
    return std::vector<float>(p, p + in[0].numel());
  };
  Cache cache(o);
  constexpr int kDim = 37;  // not a multiple of the SIMD width
  std::mt19937 rng(7);
  std::normal_distribution<float> nd;
  std::vector<Tensor> ins;
  for (int i = 0; i < 600; ++i) {
    std::vector<float> row(kDim);
    for (float& x : row) x = nd(rng);
    ins.push_back(make_rows({row}));
    cache.put(make_cache_key("m", "", {ins.back().view()}), value_of(static_cast<float>(i)), {}, {ins.back().view()});
  }
  CHECK(cache.stats().semantic_entries == 500);
  // A slightly perturbed copy of entry 550 finds entry 550; entry 5 was dropped from the index.
  for (int target : {550, 599, 100}) {
    std::vector<float> q(ins[static_cast<size_t>(target)].data_as<const float>(),
                         ins[static_cast<size_t>(target)].data_as<const float>() + kDim);
    q[3] += 0.01f;
    Tensor qt = make_rows({q});
    bool semantic = false;
    CacheValue v = cache.lookup(make_cache_key("m", "", {qt.view()}), {qt.view()}, &semantic);
    REQUIRE(v != nullptr);
    CHECK(semantic);
    CHECK(first(v) == static_cast<float>(target));
  }
  std::vector<float> q(ins[5].data_as<const float>(), ins[5].data_as<const float>() + kDim);
  q[3] += 0.01f;
  Tensor qt = make_rows({q});
  bool semantic = true;
  cache.lookup(make_cache_key("m", "", {qt.view()}), {qt.view()}, &semantic);
  CHECK_FALSE(semantic);
}

TEST_CASE("cache: model_embedder and cosine_similarity", "[cache]") {
  auto embed = model_embedder(affine_model(1.0f, 0.0f));  // the identity: embedding = input row
  Tensor x = make_rows({{3, 4, 0, 0}});
  Result<std::vector<float>> e = embed({x.view()});
  REQUIRE(e.is_ok());
  CHECK(*e == std::vector<float>{3, 4, 0, 0});
  const float a[3] = {1, 2, 3}, b[3] = {2, 4, 6}, c[3] = {-1, -2, -3}, z[3] = {0, 0, 0};
  CHECK(cosine_similarity(a, b, 3) == Approx(1.0f));
  CHECK(cosine_similarity(a, c, 3) == Approx(-1.0f));
  CHECK(cosine_similarity(a, z, 3) == 0.0f);
  Tensor two_rows = make_rows({{1, 2, 3, 4}, {1, 2, 3, 4}});
  CHECK_FALSE(embed({two_rows.view()}).is_ok());
}

TEST_CASE("cache: CachedSession answers repeats from the cache", "[cache]") {
  auto model = affine_model();
  auto cache = std::make_shared<Cache>(CacheOptions{});
  auto cs = CachedSession::create(model, cache, CachedSessionOptions{{}, {}, {"v1"}});
  REQUIRE(cs.is_ok());
  Tensor x = make_rows({{1, 2, 3, 4}});
  Tensor y = make_rows({{1, 2, 3, 5}});
  std::vector<Tensor> out;
  bool hit = true;
  REQUIRE((*cs)->run({x.view()}, out, &hit).is_ok());
  CHECK_FALSE(hit);
  REQUIRE(out.size() == 1);
  CHECK(out[0].data_as<const float>()[3] == 9.0f);
  REQUIRE((*cs)->run({x.view()}, out, &hit).is_ok());
  CHECK(hit);
  CHECK(out[0].data_as<const float>()[3] == 9.0f);
  REQUIRE((*cs)->run({y.view()}, out, &hit).is_ok());
  CHECK_FALSE(hit);
  CHECK(out[0].data_as<const float>()[3] == 11.0f);
  Result<CacheValue> shared = (*cs)->run_shared({y.view()}, &hit);
  REQUIRE(shared.is_ok());
  CHECK(hit);
  CHECK(cache->stats().hits == 2);
  CHECK(cache->invalidate_tag("v1") == 2);

  // The same graph built twice has one fingerprint; other weights, another.
  CHECK(model_fingerprint(*affine_model()) == model_fingerprint(*model));
  CHECK(model_fingerprint(*affine_model(3.0f)) != model_fingerprint(*model));
  // Two models never share entries.
  auto other = CachedSession::create(affine_model(3.0f), cache);
  REQUIRE(other.is_ok());
  REQUIRE((*other)->run({x.view()}, out, &hit).is_ok());
  CHECK_FALSE(hit);
  CHECK(out[0].data_as<const float>()[3] == 13.0f);
}

TEST_CASE("cache: counts into a MetricsRegistry", "[cache]") {
  MetricsRegistry registry;
  CacheOptions o;
  o.metrics = &registry;
  o.shards = 1;
  o.max_bytes = 2 * (kCacheEntryOverhead + 16 * sizeof(float));
  Cache cache(o);
  cache.put(key_of(1), value_of(1));
  cache.put(key_of(2), value_of(2));
  cache.put(key_of(3), value_of(3));  // evicts 1
  CHECK(cache.get(key_of(3)) != nullptr);
  CHECK(cache.get(key_of(1)) == nullptr);
  double v = -1;
  REQUIRE(registry.value("obol_cache_hits_total", {}, &v));
  CHECK(v == 1.0);
  REQUIRE(registry.value("obol_cache_misses_total", {}, &v));
  CHECK(v == 1.0);
  REQUIRE(registry.value("obol_cache_evictions_total", {}, &v));
  CHECK(v == 1.0);
}
