// Measures fp32 FMA throughput per tier (see obol/kernels/peak.hpp).
#include <atomic>
#include <cstdint>
#include <vector>

#include "obol/core/parallel.hpp"
#include "obol/core/platform.hpp"
#include "obol/kernels/peak.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {

#if defined(OBOL_HAVE_X86_ISAS)
float fma_peak__avx2(int64_t iters, float seed, int* lanes);
float fma_peak__avx512(int64_t iters, float seed, int* lanes);
#endif

namespace {

float fma_peak_scalar(int64_t iters, float seed, int* lanes) {
  *lanes = 1;
  float acc[8];
  for (int c = 0; c < 8; ++c) acc[c] = seed + static_cast<float>(c);
  for (int64_t i = 0; i < iters; ++i)
    for (int c = 0; c < 8; ++c) acc[c] = acc[c] * 0.999999f + 1e-7f;
  float s = 0;
  for (float v : acc) s += v;
  return s;
}

using PeakFn = float (*)(int64_t, float, int*);

PeakFn peak_fn(Isa isa) {
  switch (isa) {
    case Isa::scalar: return &fma_peak_scalar;
#if defined(OBOL_HAVE_X86_ISAS)
    case Isa::avx2: return &fma_peak__avx2;
    case Isa::avx512:
    case Isa::avx512vnni:
    case Isa::amx: return &fma_peak__avx512;
#else
    default: break;
#endif
  }
  return nullptr;
}

}  // namespace

double measure_fma_peak_gflops(Isa isa, int threads, double seconds) {
  if (!isa_supported(isa)) return 0.0;
  PeakFn fn = peak_fn(isa);
  if (!fn || threads < 1) return 0.0;
  const int fmas_per_iter = isa == Isa::scalar ? 8 : 24;
  // Calibrate on one thread: grow the iteration count until one run takes >= 20 ms.
  int lanes = 1;
  int64_t iters = 1 << 16;
  double t = 0;
  for (;;) {
    const uint64_t t0 = now_ns();
    volatile float sink = fn(iters, 1.0f, &lanes);
    (void)sink;
    t = static_cast<double>(now_ns() - t0) * 1e-9;
    if (t >= 0.02 || iters > (int64_t{1} << 40)) break;
    iters *= 2;
  }
  // Several short trials, keeping each thread's best: a shared machine's interruptions lower a
  // trial's rate but never raise it, so the best is the closest to the hardware's roof.
  constexpr int kTrials = 8;
  const int64_t run_iters = static_cast<int64_t>(static_cast<double>(iters) * (seconds / kTrials / t) + 1.0);
  const int old_limit = thread_limit();
  set_max_threads(0);
  if (threads > max_threads()) threads = max_threads();
  set_max_threads(threads);
  std::vector<double> rate(static_cast<size_t>(threads), 0.0);
  parallel_for(threads, [&](int64_t i) {
    int l = 1;
    for (int trial = 0; trial < kTrials; ++trial) {
      const uint64_t start = now_ns();
      volatile float sink = fn(run_iters, 1.0f + static_cast<float>(i), &l);
      (void)sink;
      const double dt = static_cast<double>(now_ns() - start) * 1e-9;
      const double r = 2.0 * fmas_per_iter * l * static_cast<double>(run_iters) / dt;
      if (r > rate[static_cast<size_t>(i)]) rate[static_cast<size_t>(i)] = r;
    }
  });
  set_max_threads(old_limit);
  double total = 0;
  for (double r : rate) total += r;
  return total * 1e-9;
}

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
