// Model::load on a ~100 MB ONNX model: the file is memory-mapped and the weights are used in place,
// so loading costs the protobuf walk, the graph build and the load-time passes, not a copy.
//
//   python3 tools/make_encoder.py --out build/models/load-100mb --layers 4 --hidden 768 --ffn 3072
//   python3 tools/make_encoder.py --out build/models/load-100mb-inline --layers 4 --hidden 768
//       --ffn 3072 --external-mb 1000            # (one line) the same 113 MB inline in model.onnx
//   obol-bench-models --benchmark_filter=load/   # OBOL_LOAD_DIR=DIR to look for them in DIR
//
// Rows: load/<external|inline>/<level> for the optimisation levels none and all (the default).
// External data (make_encoder's default above 64 MB) is mapped in place; inline raw_data sits at
// unaligned offsets inside the protobuf, so the importer copies it into aligned storage. The page cache is warm
// after the first iteration, as it is for a service that restarts or loads a model twice; a cold
// first load adds the disk read. Session creation (which pre-packs the weights) is not included.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "obol/obol.hpp"

namespace {

std::string load_model_path(const char* folder) {
  const char* env = std::getenv("OBOL_LOAD_DIR");
  return std::string(env ? env : "build/models") + "/" + folder + "/model.onnx";
}

void bm_load(benchmark::State& state, const char* folder, obol::OptLevel level) {
  const std::string path = load_model_path(folder);
  std::error_code ec;
  auto bytes = std::filesystem::file_size(path, ec);
  if (!ec && std::filesystem::exists(path + ".data")) bytes += std::filesystem::file_size(path + ".data", ec);
  if (ec) {
    state.SkipWithError((path + ": not found (see bench/models/bench_load.cpp for the command that makes it)").c_str());
    return;
  }
  obol::ModelOptions options;
  options.opt_level = level;
  for (auto _ : state) {
    auto model = obol::Model::load(path, options);
    if (!model.is_ok()) {
      state.SkipWithError(model.status().message().c_str());
      break;
    }
    benchmark::DoNotOptimize(model->get());
  }
  state.counters["file_MB"] = static_cast<double>(bytes) / 1e6;
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes));
}

BENCHMARK_CAPTURE(bm_load, external_none, "load-100mb", obol::OptLevel::none)
    ->Name("load/external/none")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_load, external_all, "load-100mb", obol::OptLevel::all)
    ->Name("load/external/all")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_load, inline_none, "load-100mb-inline", obol::OptLevel::none)
    ->Name("load/inline/none")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_load, inline_all, "load-100mb-inline", obol::OptLevel::all)
    ->Name("load/inline/all")->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
