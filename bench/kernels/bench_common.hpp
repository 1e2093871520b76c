// Pieces the GEMM benchmarks share: shapes and names, thread setting for obol and OpenMP-based
// peers, rate counters, and oneDNN's matmul primitive as the peer (weights reordered once into the
// format the primitive asks for, as obol packs them once).
#pragma once

#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdint>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "obol/core/parallel.hpp"

namespace obol {
inline namespace v1 {
namespace bench {

struct GemmShape {
  int64_t M, N, K;
};

// Caps obol's threads and OpenMP's (oneDNN's runtime here); 0 restores the defaults for obol.
inline void set_threads(int threads) {
  omp_set_num_threads(threads);
  obol::set_max_threads(threads);
}

// <family>/<impl>/[<M>/]<N>/<K>/threads:<T>
inline std::string gemm_name(const char* family, const char* impl, const GemmShape& s, int threads,
                             bool with_m = true) {
  std::string n = std::string(family) + "/" + impl + "/";
  if (with_m) n += std::to_string(s.M) + "/";
  return n + std::to_string(s.N) + "/" + std::to_string(s.K) + "/threads:" + std::to_string(threads);
}

// counter = 2 M N K per iteration, as a rate (GFLOP/s or GOP/s).
inline void report_rate(benchmark::State& state, const GemmShape& s, const char* counter) {
  const double ops = 2.0 * static_cast<double>(s.M) * static_cast<double>(s.N) * static_cast<double>(s.K);
  state.counters[counter] = benchmark::Counter(ops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

// Times oneDNN's matmul primitive C = A x B (row-major user buffers of the given types); B is
// reordered once outside the timed loop. Labels the row with the implementation oneDNN chose.
inline void run_onednn_matmul(benchmark::State& state, const GemmShape& s, int threads,
                              dnnl::memory::data_type ta, dnnl::memory::data_type tb, dnnl::memory::data_type tc,
                              void* a, void* b, void* c, const char* counter) {
  set_threads(threads);  // oneDNN sizes its work split when the primitive is made
  using tag = dnnl::memory::format_tag;
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  const dnnl::memory::desc a_md({s.M, s.K}, ta, tag::ab);
  const dnnl::memory::desc b_any({s.K, s.N}, tb, tag::any);
  const dnnl::memory::desc b_user_md({s.K, s.N}, tb, tag::ab);
  const dnnl::memory::desc c_md({s.M, s.N}, tc, tag::ab);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_any, c_md), eng);
  dnnl::memory a_mem(a_md, eng, a), b_user(b_user_md, eng, b), c_mem(c_md, eng, c);
  dnnl::memory b_mem(pd.weights_desc(), eng);
  dnnl::reorder(b_user, b_mem).execute(strm, b_user, b_mem);
  const dnnl::matmul mm(pd);
  for (auto _ : state) {
    mm.execute(strm, {{DNNL_ARG_SRC, a_mem}, {DNNL_ARG_WEIGHTS, b_mem}, {DNNL_ARG_DST, c_mem}});
    strm.wait();
  }
  const char* impl = nullptr;
  if (dnnl_primitive_desc_query(pd.get(), dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl)
    state.SetLabel(impl);
  report_rate(state, s, counter);
  set_threads(0);
}

}  // namespace bench
}  // inline namespace v1
}  // namespace obol
