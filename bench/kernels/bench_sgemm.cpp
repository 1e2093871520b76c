// SGEMM: obol's own kernels against oneDNN's matmul primitive and Eigen, same process, same shapes.
//
// Names: sgemm/<impl>/<M>/<N>/<K>/threads:<T>, impl = obol | onednn | eigen. Each row reports
// GFLOP/s (2 M N K per call, wall time). As in inference, the constant B (weights) may be pre-packed
// once outside the timed loop: obol through sgemm_pack_b, oneDNN by reordering into the weights
// format its primitive asks for ("any"). The impls of one shape and thread count are registered next
// to each other so machine drift hits them alike.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "obol/core/parallel.hpp"
#include "obol/kernels/cpu.hpp"
#include "bench_common.hpp"
#include "sgemm_eigen.hpp"

namespace {

using Shape = obol::bench::GemmShape;
using obol::bench::set_threads;

// Shapes from real models: LLM decode GEMV and small batch, BERT-base projections and FFN, squares.
constexpr Shape kShapes[] = {{1, 4096, 4096},   {8, 4096, 4096},   {128, 768, 768},
                             {128, 3072, 768},  {512, 512, 512},   {1024, 1024, 1024}};
constexpr int kThreads[] = {1, 2};

std::vector<float> random_floats(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = u(rng);
  return v;
}

void report(benchmark::State& state, const Shape& s) { obol::bench::report_rate(state, s, "GFLOP/s"); }

void bm_obol(benchmark::State& state, Shape s, int threads) {
  set_threads(threads);
  const obol::kernels::KernelTable& k = obol::kernels::cpu_kernels();
  std::vector<float> a = random_floats(s.M * s.K, 1), b = random_floats(s.K * s.N, 2), c(static_cast<size_t>(s.M * s.N));
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  const size_t bytes = (k.sgemm_packed_b_bytes(s.K, s.N) + 63) / 64 * 64;
  std::unique_ptr<float, Free> packed(static_cast<float*>(std::aligned_alloc(64, bytes)));
  if (!packed) {
    state.SkipWithError("out of memory");
    return;
  }
  k.sgemm_pack_b(s.K, s.N, b.data(), s.N, false, packed.get());
  obol::kernels::SgemmArgs g;
  g.M = s.M;
  g.N = s.N;
  g.K = s.K;
  g.A = a.data();
  g.lda = s.K;
  g.C = c.data();
  g.ldc = s.N;
  for (auto _ : state) {
    k.sgemm_packed(g, packed.get());
    benchmark::ClobberMemory();
  }
  state.SetLabel(obol::kernels::isa_name(k.isa));
  report(state, s);
  set_threads(0);
}

void bm_onednn(benchmark::State& state, Shape s, int threads) {
  using dt = dnnl::memory::data_type;
  std::vector<float> a = random_floats(s.M * s.K, 1), b = random_floats(s.K * s.N, 2), c(static_cast<size_t>(s.M * s.N));
  obol::bench::run_onednn_matmul(state, s, threads, dt::f32, dt::f32, dt::f32, a.data(), b.data(), c.data(), "GFLOP/s");
}

void bm_eigen(benchmark::State& state, Shape s, int threads) {
  set_threads(threads);
  obol::bench::EigenSgemm* g = obol::bench::eigen_sgemm_create(s.M, s.N, s.K, threads);
  for (auto _ : state) {
    obol::bench::eigen_sgemm_run(g);
    benchmark::ClobberMemory();
  }
  obol::bench::eigen_sgemm_destroy(g);
  report(state, s);
  set_threads(0);
}

std::string name_of(const char* impl, const Shape& s, int threads) {
  return obol::bench::gemm_name("sgemm", impl, s, threads);
}

void register_all() {
  for (const Shape& s : kShapes) {
    for (int t : kThreads) {
      benchmark::RegisterBenchmark(name_of("obol", s, t).c_str(), bm_obol, s, t)->UseRealTime();
      benchmark::RegisterBenchmark(name_of("onednn", s, t).c_str(), bm_onednn, s, t)->UseRealTime();
      benchmark::RegisterBenchmark(name_of("eigen", s, t).c_str(), bm_eigen, s, t)->UseRealTime();
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
