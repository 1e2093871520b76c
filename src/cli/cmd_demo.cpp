// `obol demo`: what this machine can do and how close obol's kernels get to it.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "obol/core/parallel.hpp"
#include "obol/core/platform.hpp"
#include "obol/core/tensor.hpp"
#include "obol/kernels/cpu.hpp"
#include "obol/kernels/peak.hpp"

namespace obol::cli {

namespace {

struct GemmShape {
  int64_t M, N, K;
  const char* what;
};

// Best GFLOP/s of C = A * packed(B) over repeated runs lasting about `seconds`.
double time_sgemm(const kernels::KernelTable& k, const GemmShape& s, double seconds) {
  std::vector<float> A(static_cast<size_t>(s.M * s.K)), B(static_cast<size_t>(s.K * s.N)),
      C(static_cast<size_t>(s.M * s.N));
  for (size_t i = 0; i < A.size(); ++i) A[i] = static_cast<float>((i * 7) % 13) * 0.1f - 0.6f;
  for (size_t i = 0; i < B.size(); ++i) B[i] = static_cast<float>((i * 5) % 11) * 0.1f - 0.5f;
  const size_t packed_bytes = k.sgemm_packed_b_bytes(s.K, s.N);
  auto packed = Tensor::empty(DType::u8, Shape{static_cast<int64_t>(packed_bytes)});
  if (!packed) return 0.0;
  k.sgemm_pack_b(s.K, s.N, B.data(), s.N, false, packed->data_as<float>());
  kernels::SgemmArgs a;
  a.M = s.M, a.N = s.N, a.K = s.K;
  a.A = A.data(), a.lda = s.K;
  a.C = C.data(), a.ldc = s.N;
  const double flops = 2.0 * static_cast<double>(s.M) * static_cast<double>(s.N) * static_cast<double>(s.K);
  double best = 0;
  const uint64_t end = now_ns() + static_cast<uint64_t>(seconds * 1e9);
  int runs = 0;
  while (runs < 3 || now_ns() < end) {
    const uint64_t t0 = now_ns();
    k.sgemm_packed(a, packed->data_as<float>());
    const double dt = static_cast<double>(now_ns() - t0) * 1e-9;
    best = std::max(best, flops / dt * 1e-9);
    ++runs;
  }
  return best;
}

}  // namespace

void add_demo_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("demo", "Show this machine's compute roof and obol's GEMM against it");
  auto seconds = std::make_shared<double>(0.3);
  cmd->add_option("--seconds", *seconds, "Time spent per measurement")->check(CLI::Range(0.01, 10.0));
  cmd->callback([seconds, &exit_code] {
    using namespace obol::kernels;
    const CpuFeatures& f = cpu_features();
    const KernelTable& k = cpu_kernels();
    std::printf("== obol demo: the machine ==\n");
    std::printf("cpu:        %s\n", f.brand.empty() ? f.vendor.c_str() : f.brand.c_str());
    std::printf("features:   %s\n", cpu_features_string(f).c_str());
    std::printf("kernel tier %s (best supported: %s; force with OBOL_CPU_ISA)\n", isa_name(k.isa),
                isa_name(best_isa()));
    set_max_threads(0);
    const int threads = max_threads();
    std::printf("threads:    %d\n\n", threads);

    std::vector<int> thread_counts{1};
    if (threads > 1) thread_counts.push_back(threads);
    std::printf("== fp32 FMA peak (register-only loop, %s vectors) ==\n", isa_name(k.isa));
    std::vector<double> peak;
    for (int t : thread_counts) {
      peak.push_back(measure_fma_peak_gflops(k.isa, t, *seconds));
      std::printf("  %d thread%s: %8.1f GFLOP/s\n", t, t == 1 ? " " : "s", peak.back());
    }

    const GemmShape shapes[] = {
        {1, 4096, 4096, "decode GEMV, 4096x4096 weights"},
        {128, 768, 768, "BERT-base attention projection, 128 tokens"},
        {128, 3072, 768, "BERT-base FFN up-projection, 128 tokens"},
        {512, 512, 512, "square"},
        {1024, 1024, 1024, "square"},
    };
    std::printf("\n== obol SGEMM (weights pre-packed), best of repeated runs ==\n");
    std::printf("  %-16s %-46s", "M x N x K", "what");
    for (int t : thread_counts) std::printf("  %2d thr GFLOP/s  %% peak", t);
    std::printf("\n");
    for (const GemmShape& s : shapes) {
      char dims[64];
      std::snprintf(dims, sizeof dims, "%lldx%lldx%lld", static_cast<long long>(s.M), static_cast<long long>(s.N),
                    static_cast<long long>(s.K));
      std::printf("  %-16s %-46s", dims, s.what);
      for (size_t i = 0; i < thread_counts.size(); ++i) {
        set_max_threads(thread_counts[i]);
        const double g = time_sgemm(k, s, *seconds);
        std::printf("  %14.1f  %5.1f%%", g, peak[i] > 0 ? 100.0 * g / peak[i] : 0.0);
      }
      std::printf("\n");
    }
    set_max_threads(0);
    std::printf("\nM=1 is bound by memory bandwidth (weights stream from DRAM), not by the FMA roof.\n");
    exit_code = 0;
  });
}

}  // namespace obol::cli
