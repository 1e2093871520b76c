// `obol quantize IN.onnx OUT.onnx`: post-training quantization with a quality report and budget.
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "obol/quant/quantizer.hpp"

namespace obol {
inline namespace v1 {
namespace cli {

namespace {

// A one-line progress bar on stderr, redrawn in place.
void draw_progress(const char* stage, int done, int total) {
  constexpr int kWidth = 30;
  const int filled = total > 0 ? done * kWidth / total : kWidth;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, '.');
  std::fprintf(stderr, "\r%-18s [%s] %d/%d", stage, bar.c_str(), done, total);
  if (done >= total) std::fputc('\n', stderr);
  std::fflush(stderr);
}

}  // namespace

void add_quantize_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("quantize", "Quantize a model's weights (int8 or int4) and report the quality it keeps");
  struct Args {
    std::string in, out, weights = "int8", activations = "dynamic", calibration;
    int block = 32, samples = 8, runs = 10;
    int64_t min_weight = 1024;
    double max_error = std::numeric_limits<double>::infinity();
    bool force = false, no_progress = false, reduce_range = false;
    std::vector<std::string> dims;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("input", a->in, "fp32 ONNX model")->required();
  cmd->add_option("output", a->out, "Quantized ONNX model to write")->required();
  cmd->add_option("--weights", a->weights, "int8 (QDQ or DynamicQuantizeMatMul) or int4 (MatMulNBits)")
      ->check(CLI::IsMember({"int8", "int4"}))
      ->capture_default_str();
  cmd->add_option("--block", a->block, "int4 block size along K (16 to 256, a power of two)")->capture_default_str();
  cmd->add_option("--activations", a->activations, "int8 activations: dynamic (per run) or static (calibrated)")
      ->check(CLI::IsMember({"dynamic", "static"}))
      ->capture_default_str();
  cmd->add_flag("--reduce-range", a->reduce_range,
                "int8: weights in [-64, 63] (7 bits, scale max|w|/63): one bit less weight precision; enables the "
                "exact fast int8 kernel on AVX2 CPUs without VNNI (no effect with VNNI/AMX). Off by default");
  cmd->add_option("--calibration", a->calibration, "Directory of .npy/.pb inputs (calibration and evaluation)");
  cmd->add_option("--samples", a->samples, "Generated inputs when no --calibration is given (fixed seed)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--dim", a->dims, "Value of a symbolic dimension for generated inputs: NAME=VALUE (repeatable)");
  cmd->add_option("--max-error", a->max_error, "Quality budget: largest absolute output error allowed");
  cmd->add_option("--min-weight-elements", a->min_weight, "Weights with fewer elements stay fp32")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--runs", a->runs, "Timed runs per model for the latency figures (0: skip)")->capture_default_str();
  cmd->add_flag("--force", a->force, "Write the model even when it breaks the --max-error budget");
  cmd->add_flag("--no-progress", a->no_progress, "No progress bar on stderr");
  cmd->callback([a, &exit_code] {
    quant::QuantizeOptions o;
    o.weights = a->weights == "int4" ? quant::WeightFormat::int4 : quant::WeightFormat::int8;
    o.activations = a->activations == "static" ? quant::ActivationMode::calibrated : quant::ActivationMode::dynamic;
    o.block_size = a->block;
    o.reduce_range = a->reduce_range;
    o.calibration_dir = a->calibration;
    o.samples = a->samples;
    o.max_error = a->max_error;
    o.latency_runs = a->runs;
    o.min_weight_elements = a->min_weight;
    for (const std::string& d : a->dims) {
      const size_t eq = d.find('=');
      char* end = nullptr;
      const long long v = eq == std::string::npos ? 0 : std::strtoll(d.c_str() + eq + 1, &end, 10);
      if (eq == std::string::npos || eq == 0 || !end || *end != '\0' || v < 0) {
        std::fprintf(stderr, "obol quantize: --dim wants NAME=VALUE, found '%s'\n", d.c_str());
        exit_code = 2;
        return;
      }
      o.dim_values[d.substr(0, eq)] = v;
    }
    if (!a->no_progress) o.progress = draw_progress;
    auto q = quant::quantize(a->in, o);
    if (!q.is_ok()) {
      std::fprintf(stderr, "obol quantize: %s\n", q.status().message().c_str());
      exit_code = 1;
      return;
    }
    std::printf("obol quantize %s -> %s (weights %s%s, activations %s)\n", a->in.c_str(), a->out.c_str(),
                a->weights.c_str(),
                a->weights == "int4" ? str_cat(", block ", a->block).c_str() : a->reduce_range ? ", reduce_range" : "",
                a->weights == "int4" ? "fp32" : a->activations.c_str());
    std::fputs(q->report.to_string().c_str(), stdout);
    const Status st = quant::write_quantized(*q, a->out, a->force);
    if (!st.is_ok()) {
      std::fflush(stdout);
      std::fprintf(stderr, "obol quantize: %s\n", st.message().c_str());
      exit_code = 1;
      return;
    }
    std::printf("wrote %s%s\n", a->out.c_str(), q->report.within_budget ? "" : " (over budget, --force)");
  });
}

}  // namespace cli
}  // inline namespace v1
}  // namespace obol
