// parallel_for: obol's own pool against OpenMP (libgomp, its default wait policy) on a small
// operator-sized job: two tasks, each summing 32 K floats (tens of µs of work on one core).
//
// Names: parallel_for/<scheduler>/threads:<T>, scheduler = pool | openmp. Wall time per call. Run
// it once on an idle machine and once with the other cores busy (e.g. `yes > /dev/null &` per
// core): with a static split, a caller that must wait for an unscheduled worker pays a scheduler
// time slice, while obol's pool lets the caller run the unstarted task itself.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "obol/core/parallel.hpp"

namespace {

void bm_parallel_for(benchmark::State& state, obol::Scheduler scheduler, int threads) {
  obol::set_scheduler(scheduler);
  obol::set_max_threads(threads);
  std::vector<float> buf(size_t{1} << 16, 1.0f);
  float sink = 0.0f;
  for (auto _ : state) {
    float partial[2] = {0.0f, 0.0f};
    obol::parallel_for(2, [&](int64_t t) {
      float s = 0.0f;
      const size_t half = buf.size() / 2;
      for (size_t k = static_cast<size_t>(t) * half; k < (static_cast<size_t>(t) + 1) * half; ++k) s += buf[k];
      partial[t] = s;
    });
    sink += partial[0] + partial[1];
    benchmark::DoNotOptimize(sink);
  }
  obol::set_max_threads(0);
  obol::set_scheduler(obol::Scheduler::pool);
}

const bool registered = [] {
  for (int threads : {1, 2}) {
    benchmark::RegisterBenchmark(("parallel_for/pool/threads:" + std::to_string(threads)).c_str(), bm_parallel_for,
                                 obol::Scheduler::pool, threads)
        ->UseRealTime();
#if defined(_OPENMP)
    benchmark::RegisterBenchmark(("parallel_for/openmp/threads:" + std::to_string(threads)).c_str(), bm_parallel_for,
                                 obol::Scheduler::openmp, threads)
        ->UseRealTime();
#endif
  }
  return true;
}();

}  // namespace
