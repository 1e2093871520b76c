#include <catch2/catch.hpp>
#include <atomic>
#include <chrono>
#include <dirent.h>
#include <unistd.h>
#include <fstream>
#include <string>
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

TEST_CASE("parallel_for_range covers 0 to n with disjoint chunks", "[core][parallel]") {
  obol::set_max_threads(2);
  for (int64_t n : {1, 5, 64, 1001}) {
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    std::atomic<int> empty_chunks{0};  // Catch's assertions are not thread-safe: count, check after
    obol::parallel_for_range(n, 16, [&](int64_t b, int64_t e) {
      if (b >= e) empty_chunks.fetch_add(1);
      for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
    });
    CHECK(empty_chunks.load() == 0);
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

TEST_CASE("concurrent callers each get every index exactly once", "[core][parallel]") {
  // Several threads share the default pool; whoever finds it busy runs its job itself.
  std::vector<std::thread> callers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&failures, t] {
      for (int rep = 0; rep < 200; ++rep) {
        const int64_t n = 1 + (rep * 7 + t) % 97;
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        obol::parallel_for(n, [&](int64_t i) { hits[static_cast<size_t>(i)].fetch_add(1); });
        for (auto& h : hits)
          if (h.load() != 1) failures.fetch_add(1);
      }
    });
  for (auto& c : callers) c.join();
  CHECK(failures.load() == 0);
}

TEST_CASE("jobs larger than the pool's task counter run in blocks", "[core][parallel]") {
  const int64_t n = obol::detail::WorkerPool::kMaxTasks + 5;
  std::vector<std::atomic<uint8_t>> hits(static_cast<size_t>(n));
  obol::parallel_for(n, [&](int64_t i) { hits[static_cast<size_t>(i)].fetch_add(1, std::memory_order_relaxed); });
  int64_t wrong = 0;
  for (auto& h : hits) wrong += h.load() != 1;
  CHECK(wrong == 0);
}

#if defined(__linux__)
namespace {
// Scheduler states ('R' running, 'S' sleeping, ...) of this process's threads other than the caller.
std::vector<char> other_thread_states() {
  std::vector<char> states;
  const std::string self = std::to_string(static_cast<long>(gettid()));
  DIR* d = opendir("/proc/self/task");
  if (!d) return states;
  while (dirent* e = readdir(d)) {
    const std::string tid = e->d_name;
    if (tid == "." || tid == ".." || tid == self) continue;
    std::ifstream f("/proc/self/task/" + tid + "/stat");
    std::string line;
    std::getline(f, line);
    const size_t paren = line.rfind(')');
    if (paren != std::string::npos && paren + 2 < line.size()) states.push_back(line[paren + 2]);
  }
  closedir(d);
  return states;
}
}  // namespace

TEST_CASE("idle pool workers sleep instead of spinning", "[core][parallel]") {
  obol::set_scheduler(obol::Scheduler::pool);
  if (obol::max_threads() < 2) {
    WARN("one CPU: the pool has no workers to check");
    return;
  }
  std::atomic<int64_t> sum{0};
  obol::parallel_for(64, [&](int64_t i) { sum.fetch_add(i); });
  REQUIRE(sum.load() == 64 * 63 / 2);
  // Well past the 50 µs spin: every worker must be blocked, not runnable.
  int running = 0;
  for (int attempt = 0; attempt < 20; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    running = 0;
    for (char c : other_thread_states()) running += c == 'R';
    if (running == 0) break;
  }
  CHECK(running == 0);
}
#endif

#if defined(_OPENMP)
TEST_CASE("the OpenMP scheduler can be chosen instead of the pool", "[core][parallel]") {
  obol::set_scheduler(obol::Scheduler::openmp);
  CHECK(obol::scheduler() == obol::Scheduler::openmp);
  std::vector<std::atomic<int>> hits(333);
  obol::parallel_for(333, [&](int64_t i) { hits[static_cast<size_t>(i)].fetch_add(1); });
  obol::set_scheduler(obol::Scheduler::pool);
  for (auto& h : hits) CHECK(h.load() == 1);
}
#endif

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
