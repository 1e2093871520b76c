// Quantized kernels: obol's int8 GEMM against oneDNN, the int4 decode GEMV, and the memory read
// bandwidth it is measured against — same process, same shapes.
//
// Names:
//   qgemm_u8s8/<impl>/<M>/<N>/<K>/threads:<T>   impl = obol | onednn | dnnl_gemm_u8s8s32
//       C (int32) = A (uint8, M x K) x B (int8, K x N), zero points 0. obol packs B once
//       (qgemm_pack_b, default tier); oneDNN's matmul primitive reorders B once into the format it
//       asks for; dnnl_gemm_u8s8s32 is oneDNN's BLAS-like call (it packs B on every call).
//       Counter GOP/s = 2 M N K per call.
//   qgemm_u8s8/obol_w7/<M>/<N>/<K>/threads:<T>
//       The same with B quantized to 7 bits (int8 values in [-64, 63], "reduce_range"): on an
//       AVX2-only CPU obol then runs its vpmaddubsw kernel (label "avx2 maddubs"); the obol row
//       above has full-range int8 B and runs the exact vpmaddwd fallback.
//   q4gemv/obol/<N>/<K>/threads:<T>
//       y (1 x N) = x (1 x K, f32) x W (MatMulNBits int4, block 32, with zero points), int8
//       activations. Several copies of W, together larger than the last-level cache, are used in
//       turn, so every call streams its weights from DRAM. bytes_per_second counts the weight bytes
//       read per call (codes, scales and zero points).
//   membw/read/<N>/<K>/threads:<T>
//       A plain read (sum of 64-bit words) of the same number of bytes, rotated over copies the same
//       way: the bandwidth the GEMV is measured against.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "obol/core/parallel.hpp"
#include "obol/kernels/q4gemm.hpp"
#include "obol/kernels/qgemm.hpp"
#include "obol/quant/blocks.hpp"
#include "bench_common.hpp"

namespace {

using Shape = obol::bench::GemmShape;
using obol::bench::set_threads;

constexpr Shape kShapes[] = {{128, 768, 768}, {128, 3072, 768}, {512, 512, 512}, {1024, 1024, 1024}, {1, 4096, 4096},
                             {128, 384, 384}, {128, 1536, 384}, {128, 384, 1536}};  // the last three: MiniLM
constexpr Shape kGemv[] = {{1, 4096, 4096}, {1, 11008, 4096}};
constexpr int kThreads[] = {1, 2};
constexpr size_t kRotateBytes = size_t{160} << 20;  // all copies together: well past a 32 MiB L3

std::vector<uint8_t> random_bytes(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<uint8_t>(rng());
  return v;
}

void report_ops(benchmark::State& state, const Shape& s) { obol::bench::report_rate(state, s, "GOP/s"); }

void bm_obol(benchmark::State& state, Shape s, int threads, bool w7) {
  set_threads(threads);
  const auto a = random_bytes(s.M * s.K, 1);
  auto b = random_bytes(s.K * s.N, 2);
  if (w7)  // 7-bit weights: halve the int8 value (arithmetic shift) into [-64, 63]
    for (auto& x : b) x = static_cast<uint8_t>(static_cast<int8_t>(x) >> 1);
  std::vector<int32_t> c(static_cast<size_t>(s.M * s.N));
  obol::kernels::QGemmB bd;
  bd.K = s.K;
  bd.N = s.N;
  bd.data = b.data();
  bd.ldb = s.N;
  bd.is_signed = true;
  auto packed = obol::kernels::qgemm_pack_b(bd);
  if (!packed.is_ok()) {
    state.SkipWithError(packed.status().message().c_str());
    return;
  }
  obol::kernels::QGemmArgs g;
  g.M = s.M;
  g.A = a.data();
  g.lda = s.K;
  g.C = c.data();
  g.ldc = s.N;
  for (auto _ : state) {
    if (!obol::kernels::qgemm(g, *packed).is_ok()) state.SkipWithError("qgemm failed");
    benchmark::ClobberMemory();
  }
  state.SetLabel(std::string(obol::kernels::qgemm_isa_name(packed->isa())) +
                 (packed->uses_maddubs() ? " maddubs" : ""));
  report_ops(state, s);
  set_threads(0);
}

void bm_onednn(benchmark::State& state, Shape s, int threads) {
  using dt = dnnl::memory::data_type;
  auto a = random_bytes(s.M * s.K, 1), b = random_bytes(s.K * s.N, 2);
  std::vector<int32_t> c(static_cast<size_t>(s.M * s.N));
  obol::bench::run_onednn_matmul(state, s, threads, dt::u8, dt::s8, dt::s32, a.data(), b.data(), c.data(), "GOP/s");
}

void bm_dnnl_gemm(benchmark::State& state, Shape s, int threads) {
  set_threads(threads);
  const auto a = random_bytes(s.M * s.K, 1), b = random_bytes(s.K * s.N, 2);
  std::vector<int32_t> c(static_cast<size_t>(s.M * s.N));
  const int32_t co = 0;
  for (auto _ : state) {
    const dnnl_status_t st =
        dnnl_gemm_u8s8s32('N', 'N', 'F', s.M, s.N, s.K, 1.0f, a.data(), s.K, 0, reinterpret_cast<const int8_t*>(b.data()),
                          s.N, 0, 0.0f, c.data(), s.N, &co);
    if (st != dnnl_success) state.SkipWithError("dnnl_gemm_u8s8s32 failed");
    benchmark::ClobberMemory();
  }
  report_ops(state, s);
  set_threads(0);
}

// Copies of one MatMulNBits weight (block 32, zero points) filling kRotateBytes.
struct GemvWeights {
  obol::quant::NBitsLayout l;
  int64_t bytes_per_copy = 0;
  std::vector<std::vector<uint8_t>> b, zp;
  std::vector<std::vector<float>> scales;
};

GemvWeights make_gemv_weights(int64_t N, int64_t K) {
  GemvWeights w;
  w.l = *obol::quant::nbits_layout(K, N, 32);
  w.bytes_per_copy = w.l.b_bytes() + w.l.zp_bytes() + w.l.scales_count() * 4;
  const int64_t copies = std::max<int64_t>(2, static_cast<int64_t>(kRotateBytes) / w.bytes_per_copy + 1);
  std::mt19937 rng(3);
  for (int64_t c = 0; c < copies; ++c) {
    w.b.push_back(random_bytes(w.l.b_bytes(), static_cast<uint32_t>(10 + c)));
    w.zp.push_back(random_bytes(w.l.zp_bytes(), static_cast<uint32_t>(100 + c)));
    std::vector<float> s(static_cast<size_t>(w.l.scales_count()));
    for (float& x : s) x = 0.01f + 0.001f * static_cast<float>(rng() % 16);
    w.scales.push_back(std::move(s));
  }
  return w;
}

void bm_q4gemv(benchmark::State& state, Shape s, int threads) {
  set_threads(threads);
  GemvWeights w = make_gemv_weights(s.N, s.K);
  std::vector<float> x(static_cast<size_t>(s.K)), y(static_cast<size_t>(s.N));
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (float& v : x) v = u(rng);
  obol::kernels::Q4MatmulArgs g;
  g.M = 1;
  g.X = x.data();
  g.ldx = s.K;
  g.Y = y.data();
  g.ldy = s.N;
  g.compute = obol::kernels::Q4Compute::int8;
  size_t copy = 0;
  for (auto _ : state) {
    obol::kernels::Q4Weights v;
    v.format = obol::kernels::Q4Format::nbits;
    v.K = s.K;
    v.N = s.N;
    v.block_size = 32;
    v.data = w.b[copy].data();
    v.scales = w.scales[copy].data();
    v.zero_points = w.zp[copy].data();
    if (!obol::kernels::q4_matmul(g, v).is_ok()) state.SkipWithError("q4_matmul failed");
    benchmark::ClobberMemory();
    copy = (copy + 1) % w.b.size();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * w.bytes_per_copy);
  report_ops(state, s);
  set_threads(0);
}

// Sum of 64-bit words, four independent chains per thread, each thread on its own contiguous share.
void bm_membw(benchmark::State& state, Shape s, int threads) {
  set_threads(threads);
  const GemvWeights shape = [&] {
    GemvWeights w;
    w.l = *obol::quant::nbits_layout(s.K, s.N, 32);
    w.bytes_per_copy = w.l.b_bytes() + w.l.zp_bytes() + w.l.scales_count() * 4;
    return w;
  }();
  const int64_t words = shape.bytes_per_copy / 8;
  const int64_t copies = std::max<int64_t>(2, static_cast<int64_t>(kRotateBytes) / shape.bytes_per_copy + 1);
  std::vector<uint64_t> buf(static_cast<size_t>(words * copies));
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = i * 0x9E3779B97F4A7C15ull;
  std::vector<uint64_t> sums(64);
  int64_t copy = 0;
  for (auto _ : state) {
    const uint64_t* base = buf.data() + copy * words;
    obol::parallel_for_range(words, 4096, [&](int64_t b, int64_t e) {
      uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      int64_t i = b;
      for (; i + 4 <= e; i += 4) {
        s0 += base[i];
        s1 += base[i + 1];
        s2 += base[i + 2];
        s3 += base[i + 3];
      }
      for (; i < e; ++i) s0 += base[i];
      sums[static_cast<size_t>((b * 8 / (words + 1)) % 64)] += s0 + s1 + s2 + s3;
    });
    benchmark::DoNotOptimize(sums.data());
    copy = (copy + 1) % copies;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * words * 8);
  set_threads(0);
}

std::string shape_name(const char* family, const char* impl, const Shape& s, int threads, bool with_m) {
  return obol::bench::gemm_name(family, impl, s, threads, with_m);
}

void register_all() {
  for (const Shape& s : kShapes)
    for (int t : kThreads) {
      benchmark::RegisterBenchmark(shape_name("qgemm_u8s8", "obol", s, t, true).c_str(), bm_obol, s, t, false)
          ->UseRealTime();
      benchmark::RegisterBenchmark(shape_name("qgemm_u8s8", "obol_w7", s, t, true).c_str(), bm_obol, s, t, true)
          ->UseRealTime();
      benchmark::RegisterBenchmark(shape_name("qgemm_u8s8", "onednn", s, t, true).c_str(), bm_onednn, s, t)
          ->UseRealTime();
      benchmark::RegisterBenchmark(shape_name("qgemm_u8s8", "dnnl_gemm_u8s8s32", s, t, true).c_str(), bm_dnnl_gemm, s,
                                   t)
          ->UseRealTime();
    }
  for (const Shape& s : kGemv)
    for (int t : kThreads) {
      benchmark::RegisterBenchmark(shape_name("q4gemv", "obol", s, t, false).c_str(), bm_q4gemv, s, t)->UseRealTime();
      benchmark::RegisterBenchmark(("membw/read/" + std::to_string(s.N) + "/" + std::to_string(s.K) +
                                    "/threads:" + std::to_string(t))
                                       .c_str(),
                                   bm_membw, s, t)
          ->UseRealTime();
    }
}

}  // namespace

// The benchmark binary has one main (bench_sgemm.cpp); this file registers through a static object.
namespace {
const bool kRegistered = (register_all(), true);
}
