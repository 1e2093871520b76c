// `obol demo`: the economics of inference on this machine, end to end. It builds two small models
// in code (a transformer-encoder classifier and a CNN, fixed-seed weights), saves them as ONNX,
// quantizes them, benchmarks fp32 against int8 and int4 at a stated price per hour, and then shows
// what the dynamic batcher and the response cache do to throughput and to cost per 1,000 queries.
// `--machine` adds the compute roof of this CPU and obol's SGEMM against it.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli/bench.hpp"
#include "cli/commands.hpp"
#include "cli/econ_parts.hpp"
#include "demo/demo_models.hpp"
#include "obol/core/parallel.hpp"
#include "obol/core/platform.hpp"
#include "obol/core/tensor.hpp"
#include "obol/kernels/cpu.hpp"
#include "obol/kernels/peak.hpp"

#if OBOL_CLI_HAVE_ONNX_WRITER
#include "obol/formats/onnx_writer.hpp"
#endif
#if OBOL_CLI_HAVE_QUANTIZER
#include "obol/quant/quantizer.hpp"
#endif

namespace obol {
inline namespace v1 {
namespace cli {

namespace {

namespace fs = std::filesystem;

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

void machine_roof(double seconds) {
  using namespace obol::kernels;
  const KernelTable& k = cpu_kernels();
  set_max_threads(0);
  const int threads = max_threads();
  std::vector<int> thread_counts{1};
  if (threads > 1) thread_counts.push_back(threads);
  std::printf("\n== fp32 FMA peak (register-only loop, %s vectors) ==\n", isa_name(k.isa));
  std::vector<double> peak;
  for (int t : thread_counts) {
    peak.push_back(measure_fma_peak_gflops(k.isa, t, seconds));
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
      const double g = time_sgemm(k, s, seconds);
      std::printf("  %14.1f  %5.1f%%", g, peak[i] > 0 ? 100.0 * g / peak[i] : 0.0);
    }
    std::printf("\n");
  }
  set_max_threads(0);
  std::printf("\nM=1 is bound by memory bandwidth (weights stream from DRAM), not by the FMA roof.\n");
}

struct DemoArgs {
  std::string out_dir = "obol-demo";
  double usd_per_hour = 0.10;
  double seconds = 1.5;
  int concurrency = 16;
  bool machine = false;
  double repeat_share = 0.5;
  std::string opt_level = "all";
};

bool write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  return static_cast<bool>(f);
}

const VariantResult* find(const BenchReport& r, const std::string& variant) {
  for (const VariantResult& v : r.variants)
    if (v.variant == variant && v.ok()) return &v;
  return nullptr;
}

// The fp32/int8/int4 comparison of one model; returns false when fp32 itself failed.
bool compare_variants(const DemoArgs& a, const std::string& label, const std::string& path, BenchReport* out) {
  BenchConfig cfg;
  cfg.model_path = path;
  cfg.variants = {"fp32", "int8", "int4"};
  cfg.duration = a.seconds;
  cfg.usd_per_hour = a.usd_per_hour;
  cfg.label = label + " ";
  cfg.opt_level = a.opt_level;
  auto r = run_bench(cfg);
  if (!r.is_ok()) {
    std::printf("  %s\n", r.status().message().c_str());
    return false;
  }
  std::fputs(format_bench_table(*r).c_str(), stdout);
  const VariantResult* fp32 = find(*r, "fp32");
  if (!fp32) return false;
  for (const char* q : {"int8", "int4"}) {
    const VariantResult* v = find(*r, q);
    if (!v) continue;
    std::printf("  %s: %.1fx smaller, cost per 1k queries %+.0f%% against fp32, mean cosine %.5f, top-1 agreement %.1f%%\n", q,
                v->model_bytes ? static_cast<double>(fp32->model_bytes) / static_cast<double>(v->model_bytes) : 0.0,
                fp32->usd_per_1k > 0 ? (v->usd_per_1k / fp32->usd_per_1k - 1.0) * 100.0 : 0.0, v->cosine,
                v->top1_agreement * 100.0);
  }
  *out = std::move(*r);
  return true;
}

int run_demo(const DemoArgs& a) {
  const kernels::CpuFeatures& f = kernels::cpu_features();
  std::printf("== obol demo: what a query costs, and how to cut it ==\n");
  std::printf("cpu:      %s (%s)\n", f.brand.empty() ? f.vendor.c_str() : f.brand.c_str(),
              kernels::cpu_features_string(f).c_str());
  std::printf("kernels:  %s tier; %d threads\n", kernels::isa_name(kernels::cpu_kernels().isa), max_threads());
  std::printf("price:    $%.2f per hour for this machine (--usd-per-hour); cost per 1,000 queries = "
              "usd_per_hour x 1000 / (3600 x QPS)\n",
              a.usd_per_hour);
  if (a.machine) machine_roof(0.3);

  std::error_code ec;
  fs::create_directories(a.out_dir, ec);
  if (ec) {
    std::fprintf(stderr, "obol demo: cannot create %s: %s\n", a.out_dir.c_str(), ec.message().c_str());
    return 1;
  }
  struct Entry {
    const char* label;
    const char* what;
    std::shared_ptr<graph::Graph> graph;
    std::string path;
  };
  demo::EncoderSpec es;
  demo::CnnSpec cs;
  std::vector<Entry> models = {
      {"encoder", "transformer-encoder classifier: 2 layers, hidden 128, 4 heads, FFN 512, 16 tokens, 4 classes",
       demo::build_encoder_classifier(es), ""},
      {"cnn", "CNN: 2 conv blocks (16, 32 channels) on 3x32x32 images, FC 2048-128-10", demo::build_cnn_classifier(cs), ""},
  };
  std::printf("\n== 1. models built in code (fixed-seed weights), saved as ONNX ==\n");
#if OBOL_CLI_HAVE_ONNX_WRITER
  for (Entry& m : models) {
    m.path = (fs::path(a.out_dir) / (std::string(m.label) + ".onnx")).string();
    const Status st = onnx::save_model(*m.graph, m.path);
    if (!st.is_ok()) {
      std::fprintf(stderr, "obol demo: %s\n", st.message().c_str());
      return 1;
    }
    std::printf("  %-8s %-92s %s (%.2f MiB)\n", m.label, m.what, m.path.c_str(),
                static_cast<double>(fs::file_size(m.path, ec)) / 1048576.0);
  }
#else
  std::printf("  this build has no ONNX writer yet (obol/formats/onnx_writer.hpp); nothing more to show\n");
  return 0;
#endif

  std::printf("\n== 2. quantize (weights to int8 with dynamic activations; int4 weight-only, MatMulNBits) ==\n");
#if OBOL_CLI_HAVE_QUANTIZER
  for (const Entry& m : models) {
    for (auto fmt : {quant::WeightFormat::int8, quant::WeightFormat::int4}) {
      const char* name = fmt == quant::WeightFormat::int8 ? "int8" : "int4";
      quant::QuantizeOptions o;
      o.weights = fmt;
      o.latency_runs = 0;
      auto q = quant::quantize(m.path, o);
      if (!q.is_ok()) {
        std::printf("  %-8s %s: %s\n", m.label, name, q.status().message().c_str());
        continue;
      }
      const std::string out = (fs::path(a.out_dir) / (std::string(m.label) + "." + name + ".onnx")).string();
      const Status st = quant::write_quantized(*q, out, /*force=*/true);
      std::printf("  %-8s %s: %.2f MiB -> %.2f MiB, %d nodes quantized, worst-input cosine %.5f, top-1 %.1f%%  %s\n", m.label, name,
                  static_cast<double>(q->report.bytes_before) / 1048576.0,
                  static_cast<double>(q->report.bytes_after) / 1048576.0, q->report.quantized_nodes, q->report.cosine,
                  q->report.top1_agreement * 100.0, st.is_ok() ? out.c_str() : st.message().c_str());
    }
  }
#else
  std::printf("  this build has no quantizer yet (obol/quant/quantizer.hpp): the int8 and int4 rows below say so\n");
#endif

  std::printf("\n== 3. obol bench --compare fp32,int8,int4 at $%.2f/hour (1 client, %.1f s per variant) ==\n",
              a.usd_per_hour, a.seconds);
  std::vector<BenchReport> reports;
  for (const Entry& m : models) {
    std::printf("\n%s (%s):\n", m.label, m.path.c_str());
    BenchReport r;
    if (!compare_variants(a, m.label, m.path, &r)) return 1;
    const std::string html = (fs::path(a.out_dir) / (std::string(m.label) + "-report.html")).string();
    const std::string json = (fs::path(a.out_dir) / (std::string(m.label) + "-bench.json")).string();
    if (write_text(html, bench_html(r)) && write_text(json, bench_json(r)))
      std::printf("  report: %s, %s\n", html.c_str(), json.c_str());
    reports.push_back(std::move(r));
  }

  std::printf("\n== 4. the levers: %d concurrent clients on the encoder (fp32) ==\n", a.concurrency);
  struct Lever {
    const char* what;
    bool batcher, cache;
  };
  const Lever levers[] = {
      {"one session per client", false, false},
      {"dynamic batcher", true, false},
      {"batcher + exact cache", true, true},
  };
  std::vector<VariantResult> rows;
  for (const Lever& l : levers) {
    BenchConfig cfg;
    cfg.model_path = models[0].path;
    cfg.variants = {"fp32"};
    cfg.duration = a.seconds;
    cfg.usd_per_hour = a.usd_per_hour;
    cfg.concurrency = a.concurrency;
    cfg.quality_samples = 1;
    cfg.batcher = l.batcher;
    // One batcher worker per core, each taking whatever has queued when it is free (max_delay 0):
    // with clients that send their next request when the last returns, waiting for more only adds
    // latency, and a second worker gathers a batch while the first runs one.
    cfg.batcher_workers = std::max(1, max_threads());
    cfg.max_batch = std::max(1, a.concurrency / cfg.batcher_workers);
    cfg.max_delay_us = 0;
    cfg.cache = l.cache;
    cfg.repeat_share = a.repeat_share;
    cfg.label = "encoder ";
    cfg.opt_level = a.opt_level;
    auto r = run_bench(cfg);
    if (!r.is_ok()) {
      std::printf("  %-24s %s\n", l.what, r.status().message().c_str());
      continue;
    }
    VariantResult v = r->variants.front();
    v.note = l.what;
    rows.push_back(std::move(v));
  }
  std::printf("  %-24s %10s %9s %9s %12s %10s %9s\n", "", "QPS", "p50 ms", "p99 ms", "$/1k q", "mean batch", "cache hit");
  const VariantResult* base = nullptr;
  for (const VariantResult& v : rows) {
    if (!v.ok()) {
      std::printf("  %-24s unavailable: %s\n", v.note.c_str(), v.error.c_str());
      continue;
    }
    if (!base) base = &v;
    std::printf("  %-24s %10.1f %9.3f %9.3f %12.3g %10s %9s", v.note.c_str(), v.qps, v.latency.quantile(0.5) * 1e3,
                v.latency.quantile(0.99) * 1e3, v.usd_per_1k,
                v.batch_rows.empty() ? "-" : std::to_string(v.mean_batch).substr(0, 5).c_str(),
                v.cache_hit_rate < 0 ? "-" : (std::to_string(static_cast<int>(v.cache_hit_rate * 100 + 0.5)) + "%").c_str());
    if (base != &v && base->qps > 0)
      std::printf("   %.2fx QPS, cost %+.0f%%", v.qps / base->qps, (v.usd_per_1k / base->usd_per_1k - 1.0) * 100.0);
    std::printf("\n");
  }
  std::printf("\n(cache: %.0f%% of requests repeat an earlier input; a hit skips the model entirely)\n",
              a.repeat_share * 100.0);
  std::printf("files: %s/\n", a.out_dir.c_str());
  return 0;
}

}  // namespace

void add_demo_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "demo", "The economics of inference here: quantize, benchmark, batch and cache two small models built in code");
  auto a = std::make_shared<DemoArgs>();
  cmd->add_option("--out-dir", a->out_dir, "Where the models, reports and JSON go (default obol-demo)");
  cmd->add_option("--usd-per-hour", a->usd_per_hour, "Price of this machine per hour (default 0.10, a 2-vCPU cloud VM)")
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--seconds", a->seconds, "Timed seconds per measurement (default 1.5)")->check(CLI::Range(0.05, 600.0));
  cmd->add_option("--concurrency", a->concurrency, "Concurrent clients for the batcher and cache part (default 16)")
      ->check(CLI::Range(1, 512));
  cmd->add_option("--repeat-share", a->repeat_share, "Share of repeated requests for the cache part (default 0.5)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--opt-level", a->opt_level, "Graph passes when the models load (default all)")
      ->check(CLI::IsMember({"none", "basic", "extended", "all"}));
  cmd->add_flag("--machine", a->machine, "Also measure the CPU's FMA peak and obol's SGEMM against it");
  cmd->callback([a, &exit_code] { exit_code = run_demo(*a); });
}

}  // namespace cli
}  // inline namespace v1
}  // namespace obol
