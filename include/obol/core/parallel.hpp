// obol/core/parallel.hpp — the one threading seam.
//
// parallel_for(n, fn) calls fn(i) once for every i in [0, n), possibly concurrently, and returns
// when all calls are done. The default runs on OpenMP (when obol is built with it) with at most
// max_threads() threads; libgomp's default wait policy parks idle workers after a short spin, so an
// idle process burns no CPU. An embedder with its own job system installs ThreadPoolHooks instead.
//
// Contract for ThreadPoolHooks::run: call task(ctx, i) exactly once for each i in [0, n_tasks),
// from any threads, and return only when all have finished. It may run tasks on the calling
// thread. Nested parallel_for calls from inside a task run serially.
#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>
#include <utility>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace obol {

struct ThreadPoolHooks {
  void (*run)(void* user, int64_t n_tasks, void (*task)(void* ctx, int64_t i), void* ctx) = nullptr;
  int (*num_threads)(void* user) = nullptr;  // the pool's width, >= 1
  void* user = nullptr;
};

namespace detail {
struct ParallelState {
  ThreadPoolHooks hooks{};
  std::atomic<int> thread_limit{0};  // 0 = the runtime's default
};
inline ParallelState& parallel_state() {
  static ParallelState s;
  return s;
}
inline thread_local bool in_parallel_region = false;
}  // namespace detail

// Installs an embedder's pool (nullptr restores the default). Set it before running models.
inline void set_thread_pool(const ThreadPoolHooks* hooks) {
  detail::parallel_state().hooks = hooks ? *hooks : ThreadPoolHooks{};
}

// Caps the number of threads parallel_for uses; 0 restores the default.
inline void set_max_threads(int n) { detail::parallel_state().thread_limit.store(n < 0 ? 0 : n); }

// The cap set by set_max_threads (0 = none).
inline int thread_limit() { return detail::parallel_state().thread_limit.load(std::memory_order_relaxed); }

// The number of threads parallel_for may use now (1 inside a parallel task).
inline int max_threads() {
  if (detail::in_parallel_region) return 1;
  const detail::ParallelState& s = detail::parallel_state();
  int n = 1;
  if (s.hooks.run && s.hooks.num_threads) {
    n = s.hooks.num_threads(s.hooks.user);
  } else {
#if defined(_OPENMP)
    n = omp_get_max_threads();
#endif
  }
  const int limit = s.thread_limit.load(std::memory_order_relaxed);
  if (limit > 0 && limit < n) n = limit;
  return n < 1 ? 1 : n;
}

template <class F>
void parallel_for(int64_t n_tasks, F&& fn) {
  if (n_tasks <= 0) return;
  const int threads = max_threads();
  if (n_tasks == 1 || threads == 1) {
    for (int64_t i = 0; i < n_tasks; ++i) fn(i);
    return;
  }
  using Fn = std::remove_reference_t<F>;
  const detail::ParallelState& s = detail::parallel_state();
  if (s.hooks.run) {
    auto trampoline = [](void* ctx, int64_t i) {
      const bool was = detail::in_parallel_region;
      detail::in_parallel_region = true;
      (*static_cast<Fn*>(ctx))(i);
      detail::in_parallel_region = was;
    };
    s.hooks.run(s.hooks.user, n_tasks, trampoline, const_cast<void*>(static_cast<const void*>(&fn)));
    return;
  }
#if defined(_OPENMP)
  const int nt = static_cast<int>(n_tasks < threads ? n_tasks : threads);
#pragma omp parallel num_threads(nt)
  {
    detail::in_parallel_region = true;
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n_tasks; ++i) fn(i);
    detail::in_parallel_region = false;
  }
#else
  for (int64_t i = 0; i < n_tasks; ++i) fn(i);
#endif
}

// Splits [0, n) into at most max_threads() contiguous chunks of at least `grain` items and calls
// fn(begin, end) for each.
template <class F>
void parallel_for_range(int64_t n, int64_t grain, F&& fn) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  int64_t chunks = (n + grain - 1) / grain;
  const int64_t threads = max_threads();
  if (chunks > threads) chunks = threads;
  if (chunks <= 1) {
    fn(int64_t{0}, n);
    return;
  }
  parallel_for(chunks, [&](int64_t c) {
    const int64_t b = n * c / chunks;
    const int64_t e = n * (c + 1) / chunks;
    if (b < e) fn(b, e);
  });
}

}  // namespace obol
