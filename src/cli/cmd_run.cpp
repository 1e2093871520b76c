// `obol run MODEL --input NAME=FILE ... --output-dir DIR`: run a model on tensors from files.
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/conformance.hpp"
#include "obol/io/tensor_file.hpp"
#include "obol/obol.hpp"

namespace obol {
inline namespace v1 {
namespace cli {

namespace {

// A file name for a tensor: the value name with path separators and odd characters replaced.
std::string safe_file_name(const std::string& name, size_t index) {
  std::string s;
  for (char c : name) s += (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.') ? c : '_';
  if (s.empty() || s == "." || s == "..") s = "output_" + std::to_string(index);
  return s;
}

int run_model(const std::string& model_path, const std::vector<std::string>& input_specs, const std::string& out_dir,
              const std::string& format, int repeat, const std::vector<std::string>& expect_specs) {
  auto model = Model::load(model_path);
  if (!model.is_ok()) {
    std::fprintf(stderr, "obol run: %s\n", model.status().message().c_str());
    return 1;
  }
  const std::vector<TensorInfo> inputs = (*model)->inputs();
  std::vector<Tensor> tensors(inputs.size());
  std::vector<bool> given(inputs.size(), false);
  size_t positional = 0;
  for (const std::string& spec : input_specs) {
    const size_t eq = spec.find('=');
    std::string name = eq == std::string::npos ? std::string() : spec.substr(0, eq);
    const std::string file = eq == std::string::npos ? spec : spec.substr(eq + 1);
    size_t k = inputs.size();
    if (name.empty()) {
      while (positional < inputs.size() && given[positional]) ++positional;
      k = positional;
    } else {
      for (size_t i = 0; i < inputs.size(); ++i)
        if (inputs[i].name == name) k = i;
    }
    if (k >= inputs.size()) {
      std::string names;
      for (const TensorInfo& t : inputs) names += (names.empty() ? "" : ", ") + t.name;
      std::fprintf(stderr, "obol run: %s: the model has no %s input (inputs: %s)\n", spec.c_str(),
                   name.empty() ? "further" : ("'" + name + "'").c_str(), names.c_str());
      return 1;
    }
    auto t = io::read_tensor_file(file);
    if (!t.is_ok()) {
      std::fprintf(stderr, "obol run: %s\n", t.status().message().c_str());
      return 1;
    }
    tensors[k] = std::move(t->tensor);
    given[k] = true;
  }
  for (size_t i = 0; i < inputs.size(); ++i)
    if (!given[i]) {
      std::fprintf(stderr, "obol run: no tensor given for input '%s' (use --input %s=FILE)\n", inputs[i].name.c_str(),
                   inputs[i].name.c_str());
      return 1;
    }
  auto session = Session::create(*model);
  if (!session.is_ok()) {
    std::fprintf(stderr, "obol run: %s\n", session.status().message().c_str());
    return 1;
  }
  std::vector<TensorView> views;
  for (const Tensor& t : tensors) views.push_back(t.view());
  std::vector<Tensor> outputs;
  double best_ms = 1e300;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const Status st = (*session)->run(views, outputs);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!st.is_ok()) {
      std::fprintf(stderr, "obol run: %s\n", st.message().c_str());
      return 1;
    }
    best_ms = ms < best_ms ? ms : best_ms;
  }
  const std::vector<TensorInfo> out_info = (*model)->outputs();
  std::error_code ec;
  if (!out_dir.empty()) std::filesystem::create_directories(out_dir, ec);
  for (size_t k = 0; k < outputs.size(); ++k) {
    const std::string& name = out_info[k].name;
    std::printf("%-24s %-5s %s", name.c_str(), std::string(dtype_name(outputs[k].dtype())).c_str(),
                outputs[k].shape().to_string().c_str());
    if (!out_dir.empty()) {
      const std::string path = out_dir + "/" + safe_file_name(name, k) + "." + format;
      const Status st = io::write_tensor_file(path, outputs[k].view(), name);
      if (!st.is_ok()) {
        std::fprintf(stderr, "\nobol run: %s\n", st.message().c_str());
        return 1;
      }
      std::printf("  -> %s", path.c_str());
    }
    std::printf("\n");
  }
  std::printf("run time: %.3f ms (best of %d)\n", best_ms, repeat);
  int mismatches = 0;
  for (const std::string& spec : expect_specs) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos) {
      std::fprintf(stderr, "obol run: --expect %s: expected NAME=FILE\n", spec.c_str());
      return 1;
    }
    const std::string name = spec.substr(0, eq);
    size_t k = out_info.size();
    for (size_t i = 0; i < out_info.size(); ++i)
      if (out_info[i].name == name) k = i;
    if (k >= out_info.size()) {
      std::fprintf(stderr, "obol run: --expect %s: the model has no output '%s'\n", spec.c_str(), name.c_str());
      return 1;
    }
    auto want = io::read_tensor_file(spec.substr(eq + 1));
    if (!want.is_ok()) {
      std::fprintf(stderr, "obol run: %s\n", want.status().message().c_str());
      return 1;
    }
    const std::string diff = compare_tensors(outputs[k].view(), want->tensor.view(), name);
    std::printf("expect %-17s %s\n", name.c_str(), diff.empty() ? "ok" : diff.c_str());
    if (!diff.empty()) ++mismatches;
  }
  return mismatches ? 3 : 0;
}

}  // namespace

void add_run_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("run", "Run a model on input tensors read from .npy or .pb files");
  struct Args {
    std::string model, out_dir, format = "npy";
    std::vector<std::string> inputs;
    int repeat = 1;
    std::vector<std::string> expect;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("model", a->model, "ONNX model file")->required();
  cmd->add_option("-i,--input", a->inputs, "NAME=FILE (.npy or .pb); FILE alone fills the next input in order");
  cmd->add_option("-o,--output-dir", a->out_dir, "Write each output to DIR/<name>.<format>");
  cmd->add_option("--format", a->format, "Output file format")->check(CLI::IsMember({"npy", "pb"}));
  cmd->add_option("--expect", a->expect,
                  "NAME=FILE: compare output NAME with a reference tensor (rtol 1e-3, atol 1e-7); exit 3 on a mismatch");
  cmd->add_option("--repeat", a->repeat, "Run this many times and report the best time")->check(CLI::Range(1, 100000));
  cmd->callback([a, &exit_code] { exit_code = run_model(a->model, a->inputs, a->out_dir, a->format, a->repeat, a->expect); });
}

}  // namespace cli
}  // inline namespace v1
}  // namespace obol
