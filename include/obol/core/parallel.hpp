// obol/core/parallel.hpp — the one threading seam.
//
// parallel_for(n, fn) calls fn(i) once for every i in [0, n), possibly concurrently, and returns
// when all calls are done. Three schedulers sit behind it:
//
//  * obol's own pool (the default): max_threads() - 1 worker threads, started on first use. Tasks
//    are claimed one at a time from a shared counter, and the calling thread claims too, so a worker
//    that the OS has not scheduled yet never holds the caller up: the caller simply runs the tasks
//    nobody has started. After a job, workers spin for a short while (set_worker_spin_us, default
//    50 µs, for back-to-back operators of one model) and then sleep on a condition variable, so an
//    idle process burns no CPU. If two threads call parallel_for at the same time, the second one
//    runs its tasks on its own thread (sessions on different threads never wait for each other).
//  * OpenMP (when obol is built with it), chosen with set_scheduler(Scheduler::openmp) or the
//    environment variable OBOL_SCHEDULER=openmp: for hosts that already run everything on one
//    OpenMP runtime and want obol to share it rather than add threads.
//  * An embedder's job system, installed with set_thread_pool (game engines own their threads).
//
// The default width is the number of CPUs this process may run on (sched_getaffinity), or
// OBOL_NUM_THREADS when set; set_max_threads caps it at run time.
//
// Contract for ThreadPoolHooks::run: call task(ctx, i) exactly once for each i in [0, n_tasks),
// from any threads, and return only when all have finished. It may run tasks on the calling
// thread. Nested parallel_for calls from inside a task run serially.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>

#if defined(__linux__)
#include <sched.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#if defined(_OPENMP)
#include <omp.h>
#endif

namespace obol {
inline namespace v1 {

struct ThreadPoolHooks {
  void (*run)(void* user, int64_t n_tasks, void (*task)(void* ctx, int64_t i), void* ctx) = nullptr;
  int (*num_threads)(void* user) = nullptr;  // the pool's width, >= 1
  void* user = nullptr;
};

// Which scheduler runs parallel_for when no ThreadPoolHooks are installed.
enum class Scheduler : int {
  pool = 0,    // obol's own pool (default)
  openmp = 1,  // the OpenMP runtime; falls back to the pool when obol was built without OpenMP
};

namespace detail {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

inline int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (end == v || x < 1 || x > 4096) return fallback;
  return static_cast<int>(x);
}

// CPUs this process may run on.
inline int available_cpus() {
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

// obol's default pool. One job at a time. The job's tasks are claimed with a compare-exchange on
// `slot_`, which packs the job's generation (16 bits), its task count (24 bits) and the next
// unclaimed index (24 bits): a claim succeeds only for an index below the count of the job that is
// current at that instant, and a job cannot finish while it has unclaimed tasks, so whoever wins a
// claim reads the job's task and context while they are stable.
class WorkerPool {
 public:
  static constexpr int64_t kMaxTasks = (int64_t{1} << 24) - 1;

  explicit WorkerPool(int workers) : workers_(workers < 0 ? 0 : workers) {
    for (int w = 0; w < workers_; ++w) std::thread([this, w] { worker_loop(w); }).detach();
  }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  int workers() const noexcept { return workers_; }
  std::atomic<int>& spin_us() noexcept { return spin_us_; }

  // Runs task(ctx, i) for i in [0, n) (n <= kMaxTasks) on the caller and up to `helpers` workers.
  // Returns false, running nothing, when another thread's job holds the pool.
  bool try_run(int64_t n, int helpers, void (*task)(void*, int64_t), void* ctx) {
    bool expected = false;
    if (!busy_.compare_exchange_strong(expected, true, std::memory_order_acquire)) return false;
    task_.store(task, std::memory_order_relaxed);
    ctx_.store(ctx, std::memory_order_relaxed);
    helpers_.store(helpers, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    gen_ = (gen_ + 1) & 0xffff;
    slot_.store(pack(gen_, n, 0), std::memory_order_seq_cst);  // publishes the fields above
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      cv_.notify_all();
    }
    int64_t i = 0;
    while (claim(gen_, &i)) {
      task(ctx, i);
      done_.fetch_add(1, std::memory_order_acq_rel);
    }
    // Wait for tasks that workers claimed; yield so a worker sharing this core can finish.
    for (int spins = 0; done_.load(std::memory_order_acquire) < n; ++spins) {
      if (spins < 64) cpu_relax();
      else std::this_thread::yield();
    }
    busy_.store(false, std::memory_order_release);
    return true;
  }

 private:
  static uint64_t pack(uint64_t gen, int64_t n, int64_t next) {
    return gen << 48 | static_cast<uint64_t>(n) << 24 | static_cast<uint64_t>(next);
  }
  static uint64_t gen_of(uint64_t v) { return v >> 48; }

  // Claims the next task of job `gen`; false when the job has none left (or is not current).
  bool claim(uint64_t gen, int64_t* index) {
    uint64_t v = slot_.load(std::memory_order_acquire);
    for (;;) {
      const auto next = static_cast<int64_t>(v & 0xffffff);
      const auto n = static_cast<int64_t>((v >> 24) & 0xffffff);
      if (gen_of(v) != gen || next >= n) return false;
      if (slot_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
        *index = next;
        return true;
      }
    }
  }

  void worker_loop(int w) {
    uint64_t seen = 0;
    for (;;) {
      uint64_t gen = gen_of(slot_.load(std::memory_order_acquire));
      if (gen == seen) {
        const int64_t spin_ns = int64_t{1000} * spin_us_.load(std::memory_order_relaxed);
        const auto t0 = std::chrono::steady_clock::now();
        for (int k = 1; (gen = gen_of(slot_.load(std::memory_order_acquire))) == seen; ++k) {
          if ((k & 63) == 0 &&
              std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
                      .count() >= spin_ns)
            break;
          cpu_relax();
        }
        if (gen == seen) {
          std::unique_lock<std::mutex> lock(mutex_);
          sleepers_.fetch_add(1, std::memory_order_seq_cst);
          cv_.wait(lock, [&] { return (gen = gen_of(slot_.load(std::memory_order_seq_cst))) != seen; });
          sleepers_.fetch_sub(1, std::memory_order_relaxed);
        }
      }
      seen = gen;
      if (w >= helpers_.load(std::memory_order_relaxed)) continue;  // a hint; claims are exact
      int64_t i = 0;
      while (claim(gen, &i)) {
        task_.load(std::memory_order_relaxed)(ctx_.load(std::memory_order_relaxed), i);
        done_.fetch_add(1, std::memory_order_acq_rel);
      }
    }
  }

  const int workers_;
  std::atomic<bool> busy_{false};
  uint64_t gen_ = 0;  // written only by the thread holding busy_
  std::atomic<uint64_t> slot_{0};
  std::atomic<void (*)(void*, int64_t)> task_{nullptr};
  std::atomic<void*> ctx_{nullptr};
  std::atomic<int> helpers_{0};
  std::atomic<int64_t> done_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<int> spin_us_{50};
  std::mutex mutex_;
  std::condition_variable cv_;
};

struct ParallelState {
  ThreadPoolHooks hooks{};
  std::atomic<int> thread_limit{0};  // 0 = the default width
  std::atomic<int> scheduler{-1};    // -1 = not chosen yet (read OBOL_SCHEDULER)
  std::atomic<int> spin_us{50};
  int default_width = env_int("OBOL_NUM_THREADS", available_cpus());
  std::once_flag pool_once;
  WorkerPool* pool = nullptr;  // created on first use; never destroyed (workers sleep at exit)
};
inline ParallelState& parallel_state() {
  static ParallelState s;
  return s;
}
inline thread_local bool in_parallel_region = false;

inline Scheduler current_scheduler() {
  ParallelState& s = parallel_state();
  int v = s.scheduler.load(std::memory_order_relaxed);
  if (v < 0) {
    const char* e = std::getenv("OBOL_SCHEDULER");
    v = (e && std::string_view(e) == "openmp") ? 1 : 0;
    s.scheduler.store(v, std::memory_order_relaxed);
  }
#if defined(_OPENMP)
  return static_cast<Scheduler>(v);
#else
  return Scheduler::pool;
#endif
}

inline WorkerPool& default_pool() {
  ParallelState& s = parallel_state();
  std::call_once(s.pool_once, [&] {
    s.pool = new WorkerPool(s.default_width - 1);
    s.pool->spin_us().store(s.spin_us.load());
  });
  return *s.pool;
}

}  // namespace detail

// Installs an embedder's pool (nullptr restores the default). Set it before running models.
inline void set_thread_pool(const ThreadPoolHooks* hooks) {
  detail::parallel_state().hooks = hooks ? *hooks : ThreadPoolHooks{};
}

// Chooses the default scheduler (see the top of this file). Set it before running models.
inline void set_scheduler(Scheduler s) { detail::parallel_state().scheduler.store(static_cast<int>(s)); }
inline Scheduler scheduler() { return detail::current_scheduler(); }

// How long obol's pool workers spin for new work after a job before they sleep (0 = sleep at once).
inline void set_worker_spin_us(int us) {
  detail::ParallelState& s = detail::parallel_state();
  s.spin_us.store(us < 0 ? 0 : us);
  if (s.pool) s.pool->spin_us().store(us < 0 ? 0 : us);
}

// Caps the number of threads parallel_for uses; 0 restores the default.
inline void set_max_threads(int n) { detail::parallel_state().thread_limit.store(n < 0 ? 0 : n); }

// The cap set by set_max_threads (0 = none).
inline int thread_limit() { return detail::parallel_state().thread_limit.load(std::memory_order_relaxed); }

// The number of threads parallel_for may use now (1 inside a parallel task).
inline int max_threads() {
  if (detail::in_parallel_region) return 1;
  detail::ParallelState& s = detail::parallel_state();
  int n = 1;
  if (s.hooks.run && s.hooks.num_threads) {
    n = s.hooks.num_threads(s.hooks.user);
  } else if (detail::current_scheduler() == Scheduler::openmp) {
#if defined(_OPENMP)
    n = omp_get_max_threads();
#endif
  } else {
    n = s.default_width;
  }
  const int limit = s.thread_limit.load(std::memory_order_relaxed);
  if (limit > 0 && limit < n) n = limit;
  return n < 1 ? 1 : n;
}

#if defined(__GNUC__)
#define OBOL_PARALLEL_NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define OBOL_PARALLEL_NOINLINE __declspec(noinline)
#else
#define OBOL_PARALLEL_NOINLINE
#endif

namespace detail {

using TaskFn = void (*)(void* ctx, int64_t i);
using RangeFn = void (*)(void* ctx, int64_t begin, int64_t end);

// The scheduling behind parallel_for, written once: templates only wrap the caller's callable in
// a task pointer, so each loop body is compiled once (into its task function) rather than once
// per scheduler path.
OBOL_PARALLEL_NOINLINE inline void run_tasks(int64_t n_tasks, TaskFn task, void* ctx) {
  if (n_tasks <= 0) return;
  const int threads = max_threads();
  if (n_tasks == 1 || threads == 1) {
    for (int64_t i = 0; i < n_tasks; ++i) task(ctx, i);
    return;
  }
  struct Marked {
    TaskFn task;
    void* ctx;
  } marked{task, ctx};
  // Tasks run with in_parallel_region set, so nested parallel_for calls run serially.
  auto marked_task = [](void* c, int64_t i) {
    const auto* m = static_cast<const Marked*>(c);
    const bool was = in_parallel_region;
    in_parallel_region = true;
    m->task(m->ctx, i);
    in_parallel_region = was;
  };
  const ParallelState& s = parallel_state();
  if (s.hooks.run) {
    s.hooks.run(s.hooks.user, n_tasks, marked_task, &marked);
    return;
  }
#if defined(_OPENMP)
  if (current_scheduler() == Scheduler::openmp) {
    const int nt = static_cast<int>(n_tasks < threads ? n_tasks : threads);
#pragma omp parallel num_threads(nt)
    {
      in_parallel_region = true;
#pragma omp for schedule(static)
      for (int64_t i = 0; i < n_tasks; ++i) task(ctx, i);
      in_parallel_region = false;
    }
    return;
  }
#endif
  if (n_tasks > WorkerPool::kMaxTasks) {
    // More tasks than the pool's counter holds: run contiguous blocks of indices, one per task.
    struct Blocks {
      TaskFn task;
      void* ctx;
      int64_t n;
    } blocks{task, ctx, n_tasks};
    auto block_task = [](void* c, int64_t b) {
      const auto* bl = static_cast<const Blocks*>(c);
      const bool was = in_parallel_region;
      in_parallel_region = true;
      const int64_t k = WorkerPool::kMaxTasks;
      const int64_t e = bl->n * (b + 1) / k;
      for (int64_t i = bl->n * b / k; i < e; ++i) bl->task(bl->ctx, i);
      in_parallel_region = was;
    };
    const int64_t k = WorkerPool::kMaxTasks;
    if (!default_pool().try_run(k, threads - 1, block_task, &blocks))
      for (int64_t b = 0; b < k; ++b) block_task(&blocks, b);
    return;
  }
  const int64_t helpers = (n_tasks < threads ? n_tasks : threads) - 1;
  if (!default_pool().try_run(n_tasks, static_cast<int>(helpers), marked_task, &marked)) {
    // Another thread's job holds the pool: run this one here.
    for (int64_t i = 0; i < n_tasks; ++i) marked_task(&marked, i);
  }
}

// parallel_for_range's chunking, written once (see run_tasks).
OBOL_PARALLEL_NOINLINE inline void run_range(int64_t n, int64_t grain, RangeFn fn, void* ctx) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  int64_t chunks = (n + grain - 1) / grain;
  const int64_t threads = max_threads();
  if (chunks > threads) chunks = threads;
  if (chunks <= 1) {
    fn(ctx, 0, n);
    return;
  }
  struct Chunks {
    RangeFn fn;
    void* ctx;
    int64_t n, chunks;
  } c{fn, ctx, n, chunks};
  run_tasks(
      chunks,
      [](void* p, int64_t i) {
        const auto* ch = static_cast<const Chunks*>(p);
        const int64_t b = ch->n * i / ch->chunks;
        const int64_t e = ch->n * (i + 1) / ch->chunks;
        if (b < e) ch->fn(ch->ctx, b, e);
      },
      &c);
}

}  // namespace detail

template <class F>
void parallel_for(int64_t n_tasks, F&& fn) {
  using Fn = std::remove_reference_t<F>;
  detail::run_tasks(
      n_tasks, [](void* ctx, int64_t i) { (*static_cast<Fn*>(ctx))(i); },
      const_cast<void*>(static_cast<const void*>(&fn)));
}

// Splits [0, n) into at most max_threads() contiguous chunks of at least `grain` items and calls
// fn(begin, end) for each.
template <class F>
void parallel_for_range(int64_t n, int64_t grain, F&& fn) {
  using Fn = std::remove_reference_t<F>;
  detail::run_range(
      n, grain, [](void* ctx, int64_t b, int64_t e) { (*static_cast<Fn*>(ctx))(b, e); },
      const_cast<void*>(static_cast<const void*>(&fn)));
}

}  // inline namespace v1
}  // namespace obol
