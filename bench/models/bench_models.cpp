// End-to-end model latency: Session::run_into on real ONNX models, 1 and 2 threads.
//
//   obol-bench-models [MODEL.onnx ...] [--benchmark_* flags]
//   OBOL_BENCH_MODELS=a.onnx:b.onnx obol-bench-models
//
// With no model named, it takes the pytorch-converted conv models of the ONNX backend test data
// (test_Conv*, test_ConvTranspose*) and the encoders tools/make_encoder.py writes to build/models/.
// A model's inputs, in model input order, are DIR/test_data_set_0/input_<i>.pb or else
// DIR/input_<i>.npy, DIR being the model's folder. Rows are models/<DIR name>/threads:<T>.
//
// Timing scheme (tools/bench_ort.py times ONNX Runtime with the same one): 0.1 s warm-up, then 5
// repetitions of at least 0.1 s each; the `_median` row is the p50 of the repetitions' mean times.
// Any --benchmark_* flag given overrides these defaults. Loading, session creation and one
// untimed run (which sizes the outputs and plans the arena) happen outside the timed loop.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "obol/core/parallel.hpp"
#include "obol/io/tensor_file.hpp"
#include "obol/obol.hpp"

namespace {

namespace fs = std::filesystem;

constexpr const char* kConvData = "/usr/share/libonnx-testdata/data/pytorch-converted";
constexpr const char* kGenerated = "build/models";
constexpr int kThreads[] = {1, 2};

struct LoadedModel {
  std::string path, name;
  std::unique_ptr<obol::Session> session;
  std::vector<obol::Tensor> inputs, outputs;
  std::vector<obol::TensorView> input_views, output_views;
  std::string error;  // set when the model could not be prepared; its rows report it
};

std::vector<std::string> default_models() {
  std::vector<std::string> models;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(kConvData, ec)) {
    const std::string dir = e.path().filename().string();
    if (dir.rfind("test_Conv", 0) == 0 && fs::exists(e.path() / "model.onnx")) models.push_back((e.path() / "model.onnx").string());
  }
  std::sort(models.begin(), models.end());
  for (const char* name : {"minilm", "minilm-decomposed-ln", "bert-base"}) {
    const fs::path p = fs::path(kGenerated) / name / "model.onnx";
    if (fs::exists(p)) models.push_back(p.string());
  }
  return models;
}

std::string input_file(const fs::path& dir, size_t i) {
  const std::string n = std::to_string(i);
  for (const fs::path& p : {dir / "test_data_set_0" / ("input_" + n + ".pb"), dir / ("input_" + n + ".npy")})
    if (fs::exists(p)) return p.string();
  return {};
}

// Loads the model and its inputs, creates the session, runs once and allocates the outputs.
obol::Status prepare(LoadedModel& m) {
  OBOL_ASSIGN_OR_RETURN(std::shared_ptr<const obol::Model> model, obol::Model::load(m.path));
  const fs::path dir = fs::absolute(m.path).parent_path();
  const std::vector<obol::TensorInfo> infos = model->inputs();
  for (size_t i = 0; i < infos.size(); ++i) {
    const std::string file = input_file(dir, i);
    OBOL_CHECK_OR_RETURN(!file.empty(), not_found, "bench", m.path, ": no test_data_set_0/input_", i,
                         ".pb or input_", i, ".npy for input '", infos[i].name, "'");
    OBOL_ASSIGN_OR_RETURN(obol::io::NamedTensor t, obol::io::read_tensor_file(file));
    m.inputs.push_back(std::move(t.tensor));
  }
  for (const obol::Tensor& t : m.inputs) m.input_views.push_back(t.view());
  OBOL_ASSIGN_OR_RETURN(m.session, obol::Session::create(model));
  std::vector<obol::Tensor> first;
  OBOL_RETURN_IF_ERROR(m.session->run(m.input_views, first));
  for (const obol::Tensor& t : first) {
    OBOL_ASSIGN_OR_RETURN(obol::Tensor out, obol::Tensor::empty(t.dtype(), t.shape()));
    m.outputs.push_back(std::move(out));
  }
  for (const obol::Tensor& t : m.outputs) m.output_views.push_back(t.view());
  return m.session->run_into(m.input_views, m.output_views);  // the path the loop times
}

void bm_model(benchmark::State& state, LoadedModel* m, int threads) {
  if (!m->error.empty()) {
    state.SkipWithError(m->error.c_str());
    return;
  }
  obol::set_max_threads(threads);
  for (auto _ : state) {
    const obol::Status st = m->session->run_into(m->input_views, m->output_views);
    if (!st.is_ok()) {
      state.SkipWithError(st.message().c_str());
      break;
    }
  }
  obol::set_max_threads(0);
}

}  // namespace

int main(int argc, char** argv) {
  // Defaults first, so that flags from the command line (parsed later) win.
  std::vector<char*> args{argv[0]};
  static char d1[] = "--benchmark_repetitions=5", d2[] = "--benchmark_min_time=0.1",
              d3[] = "--benchmark_min_warmup_time=0.1", d4[] = "--benchmark_report_aggregates_only=true";
  for (char* d : {d1, d2, d3, d4}) args.push_back(d);
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]).rfind("--", 0) == 0)
      args.push_back(argv[i]);
    else
      paths.emplace_back(argv[i]);
  }
  if (const char* env = std::getenv("OBOL_BENCH_MODELS"); paths.empty() && env) {
    std::string list = env;
    for (size_t start = 0; start <= list.size();) {
      const size_t end = std::min(list.find(':', start), list.size());
      if (end > start) paths.push_back(list.substr(start, end - start));
      start = end + 1;
    }
  }
  if (paths.empty()) paths = default_models();
  if (paths.empty()) std::fprintf(stderr, "obol-bench-models: no models (name some, or set OBOL_BENCH_MODELS)\n");

  static std::vector<std::unique_ptr<LoadedModel>> models;
  for (const std::string& p : paths) {
    auto m = std::make_unique<LoadedModel>();
    m->path = p;
    m->name = fs::absolute(p).parent_path().filename().string();
    if (const obol::Status st = prepare(*m); !st.is_ok()) {
      m->error = st.message();
      std::fprintf(stderr, "obol-bench-models: %s: %s\n", p.c_str(), m->error.c_str());
    }
    for (int t : kThreads)
      benchmark::RegisterBenchmark(("models/" + m->name + "/threads:" + std::to_string(t)).c_str(), bm_model,
                                   m.get(), t)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    models.push_back(std::move(m));
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  models.clear();
  return 0;
}
