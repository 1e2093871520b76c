#include <catch2/catch.hpp>
#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "obol/core/parallel.hpp"
#include "obol/core/platform.hpp"

TEST_CASE("parallel_for calls every index exactly once", "[core][parallel]") {
  for (int threads : {1, 2, 4}) {
    obol::set_max_threads(threads);
    for (int64_t n : {0, 1, 2, 3, 17, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      obol::parallel_for(n, [&](int64_t i) { hits[static_cast<size_t>(i)].fetch_add(1); });
      for (int64_t i = 0; i < n; ++i) REQUIRE(hits[static_cast<size_t>(i)].load() == 1);
    }
  }
  obol::set_max_threads(0);
}

TEST_CASE("parallel_for_range covers [0, n) with disjoint chunks", "[core][parallel]") {
  obol::set_max_threads(2);
  for (int64_t n : {1, 5, 64, 1001}) {
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    obol::parallel_for_range(n, 16, [&](int64_t b, int64_t e) {
      REQUIRE(b < e);
      for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
    });
    for (int64_t i = 0; i < n; ++i) REQUIRE(hits[static_cast<size_t>(i)].load() == 1);
  }
  obol::set_max_threads(0);
}

TEST_CASE("set_max_threads caps and nested regions run serially", "[core][parallel]") {
  obol::set_max_threads(1);
  CHECK(obol::max_threads() == 1);
  CHECK(obol::thread_limit() == 1);
  obol::set_max_threads(0);
  std::atomic<int> inner_width{0};
  obol::parallel_for(2, [&](int64_t) { inner_width.store(obol::max_threads()); });
  CHECK(inner_width.load() == 1);  // in a task (or the serial fallback) nothing nests
}

namespace {
// An embedder's pool: runs tasks on its own std::threads.
struct HostPool {
  std::atomic<int> runs{0};
  static void run(void* user, int64_t n, void (*task)(void*, int64_t), void* ctx) {
    auto* self = static_cast<HostPool*>(user);
    self->runs.fetch_add(1);
    std::vector<std::thread> workers;
    for (int w = 0; w < 3; ++w)
      workers.emplace_back([=] {
        for (int64_t i = w; i < n; i += 3) task(ctx, i);
      });
    for (auto& t : workers) t.join();
  }
  static int width(void*) { return 3; }
};
}  // namespace

TEST_CASE("an embedder's thread pool replaces the default", "[core][parallel]") {
  HostPool pool;
  const obol::ThreadPoolHooks hooks{&HostPool::run, &HostPool::width, &pool};
  obol::set_thread_pool(&hooks);
  CHECK(obol::max_threads() == 3);
  std::mutex m;
  std::set<std::thread::id> ids;
  std::vector<std::atomic<int>> hits(50);
  obol::parallel_for(50, [&](int64_t i) {
    hits[static_cast<size_t>(i)].fetch_add(1);
    std::lock_guard<std::mutex> lock(m);
    ids.insert(std::this_thread::get_id());
  });
  obol::set_thread_pool(nullptr);
  CHECK(pool.runs.load() == 1);
  CHECK(ids.size() == 3);
  for (auto& h : hits) CHECK(h.load() == 1);
}

TEST_CASE("platform hooks route logs and the clock", "[core][platform]") {
  struct Sink {
    int messages = 0;
    std::string last;
  } sink;
  obol::PlatformHooks hooks;
  hooks.user = &sink;
  hooks.log = [](void* user, obol::LogLevel, const char* msg) {
    auto* s = static_cast<Sink*>(user);
    ++s->messages;
    s->last = msg;
  };
  hooks.now_ns = [](void*) -> uint64_t { return 42; };
  hooks.min_level = obol::LogLevel::info;
  obol::set_platform_hooks(hooks);
  obol::log_message(obol::LogLevel::debug, "dropped");
  obol::log_message(obol::LogLevel::warning, "[x] kept");
  CHECK(obol::now_ns() == 42);
  obol::set_platform_hooks(obol::PlatformHooks{});
  CHECK(sink.messages == 1);
  CHECK(sink.last == "[x] kept");
  CHECK(obol::now_ns() != 42);
}
