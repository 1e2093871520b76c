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
#include "sgemm_eigen.hpp"

namespace {

struct Shape {
  int64_t M, N, K;
};

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

void set_threads(int threads) {
  omp_set_num_threads(threads);
  obol::set_max_threads(threads);
}

void report(benchmark::State& state, const Shape& s) {
  const double flops = 2.0 * static_cast<double>(s.M) * static_cast<double>(s.N) * static_cast<double>(s.K);
  state.counters["GFLOP/s"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

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
  set_threads(threads);  // oneDNN (OpenMP runtime here) sizes its work split when the primitive is made
  using tag = dnnl::memory::format_tag;
  using dt = dnnl::memory::data_type;
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  const dnnl::memory::desc a_md({s.M, s.K}, dt::f32, tag::ab);
  const dnnl::memory::desc b_any({s.K, s.N}, dt::f32, tag::any);
  const dnnl::memory::desc b_user_md({s.K, s.N}, dt::f32, tag::ab);
  const dnnl::memory::desc c_md({s.M, s.N}, dt::f32, tag::ab);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_any, c_md), eng);
  std::vector<float> a = random_floats(s.M * s.K, 1), b = random_floats(s.K * s.N, 2), c(static_cast<size_t>(s.M * s.N));
  dnnl::memory a_mem(a_md, eng, a.data()), b_user(b_user_md, eng, b.data()), c_mem(c_md, eng, c.data());
  dnnl::memory b_mem(pd.weights_desc(), eng);
  dnnl::reorder(b_user, b_mem).execute(strm, b_user, b_mem);  // pre-pack once, like obol
  const dnnl::matmul mm(pd);
  for (auto _ : state) {
    mm.execute(strm, {{DNNL_ARG_SRC, a_mem}, {DNNL_ARG_WEIGHTS, b_mem}, {DNNL_ARG_DST, c_mem}});
    strm.wait();
  }
  const char* impl = nullptr;
  if (dnnl_primitive_desc_query(pd.get(), dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl)
    state.SetLabel(impl);
  report(state, s);
  set_threads(0);
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
  return std::string("sgemm/") + impl + "/" + std::to_string(s.M) + "/" + std::to_string(s.N) + "/" +
         std::to_string(s.K) + "/threads:" + std::to_string(threads);
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
