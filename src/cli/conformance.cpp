#include "cli/conformance.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <set>

#include "obol/formats/onnx.hpp"
#include "obol/io/tensor_file.hpp"
#include "obol/obol.hpp"

namespace fs = std::filesystem;

namespace obol {
inline namespace v1 {
namespace cli {

namespace {

// Operators outside obol's scope (dense tensor inference), with the reason reported for skips.
const char* excluded_reason(std::string_view op_type) {
  static const std::set<std::string_view> training{"Adagrad", "Adam", "Momentum", "Gradient"};
  static const std::set<std::string_view> strings{"StringNormalizer", "TfIdfVectorizer", "RegexFullMatch",
                                                  "StringConcat", "StringSplit"};
  if (training.count(op_type)) return "training operator (out of scope: obol runs inference)";
  if (strings.count(op_type)) return "string operator (out of scope: obol has no string tensors)";
  if (op_type.rfind("Sequence", 0) == 0 || op_type == "SplitToSequence" || op_type == "ConcatFromSequence" ||
      op_type.rfind("Optional", 0) == 0)
    return "sequence/optional operator (out of scope: obol runs dense tensors)";
  return nullptr;
}

const char* excluded_type_reason(const onnx::TypeProto& t) {
  using K = onnx::TypeProto::Kind;
  if (t.kind == K::sequence || t.kind == K::optional || t.kind == K::map)
    return "sequence/optional/map-typed input or output (out of scope: obol runs dense tensors)";
  if (t.kind == K::tensor && t.elem_type == static_cast<int32_t>(onnx::DataType::string))
    return "string tensors (out of scope: obol has no string tensors)";
  return nullptr;
}

const char* excluded(const onnx::GraphProto& g) {
  for (const auto& n : g.node) {
    if (const char* r = excluded_reason(n.op_type)) return r;
    for (const auto& a : n.attribute) {
      if (a.g)
        if (const char* r = excluded(*a.g)) return r;
      for (const auto& sg : a.graphs)
        if (const char* r = excluded(*sg)) return r;
    }
  }
  for (const auto& v : g.input)
    if (const char* r = excluded_type_reason(v.type)) return r;
  for (const auto& v : g.output)
    if (const char* r = excluded_type_reason(v.type)) return r;
  return nullptr;
}

double element(const TensorView& t, int64_t i) {
  switch (t.dtype()) {
    case DType::f32: return t.data_as<const float>()[i];
    case DType::f64: return t.data_as<const double>()[i];
    case DType::f16: return f16_to_f32(t.data_as<const uint16_t>()[i]);
    case DType::bf16: return bf16_to_f32(t.data_as<const uint16_t>()[i]);
    default: return 0;
  }
}

}  // namespace

std::string compare_tensors(const TensorView& got, const TensorView& want, const std::string& name) {
  if (got.dtype() != want.dtype())
    return str_cat("output '", name, "': dtype ", dtype_name(got.dtype()), ", expected ", dtype_name(want.dtype()));
  if (got.shape() != want.shape())
    return str_cat("output '", name, "': shape ", got.shape().to_string(), ", expected ", want.shape().to_string());
  const int64_t n = want.numel();
  const DTypeInfo info = dtype_info(want.dtype());
  if (info.is_float) {
    for (int64_t i = 0; i < n; ++i) {
      const double g = element(got, i), w = element(want, i);
      if (std::isnan(w) && std::isnan(g)) continue;
      if (std::isinf(w) && g == w) continue;
      if (!(std::fabs(g - w) <= 1e-7 + 1e-3 * std::fabs(w)))
        return str_cat("output '", name, "'[", i, "] = ", g, ", expected ", w);
    }
    return {};
  }
  if (want.nbytes() != 0 && std::memcmp(got.data(), want.data(), want.nbytes()) != 0) {
    const size_t es = dtype_size(want.dtype());
    for (int64_t i = 0; i < n; ++i)
      if (std::memcmp(static_cast<const char*>(got.data()) + i * es, static_cast<const char*>(want.data()) + i * es, es))
        return str_cat("output '", name, "': element ", i, " differs");
  }
  return {};
}

namespace {

std::vector<std::string> numbered_files(const fs::path& dir, const std::string& prefix) {
  std::vector<std::pair<int, std::string>> found;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string f = e.path().filename().string();
    if (f.rfind(prefix, 0) == 0 && f.size() > prefix.size() + 3 && f.substr(f.size() - 3) == ".pb")
      found.emplace_back(std::atoi(f.c_str() + prefix.size()), e.path().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> r;
  for (auto& [i, p] : found) r.push_back(p);
  return r;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> find_conformance_cases(const std::string& root) {
  std::vector<std::pair<std::string, std::string>> cases;
  std::error_code ec;
  const fs::path r(root);
  auto add_case_dir = [&](const fs::path& dir, const std::string& category) {
    if (fs::exists(dir / "model.onnx", ec)) cases.emplace_back(category, dir.string());
  };
  if (fs::exists(r / "model.onnx", ec)) {
    add_case_dir(r, r.parent_path().filename().string());
    return cases;
  }
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(r, ec))
    if (e.is_directory()) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  for (const fs::path& d : dirs) {
    if (fs::exists(d / "model.onnx", ec)) {
      add_case_dir(d, r.filename().string());
      continue;
    }
    std::vector<fs::path> sub;
    for (const auto& e : fs::directory_iterator(d, ec))
      if (e.is_directory()) sub.push_back(e.path());
    std::sort(sub.begin(), sub.end());
    for (const fs::path& s : sub) add_case_dir(s, d.filename().string());
  }
  return cases;
}

CaseResult run_conformance_case(const std::string& category, const std::string& dir) {
  CaseResult res;
  res.category = category;
  res.name = fs::path(dir).filename().string();
  const auto t0 = std::chrono::steady_clock::now();
  auto finish = [&](const char* status, std::string reason) {
    res.status = status;
    res.reason = std::move(reason);
    res.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return res;
  };
  const std::string model_path = (fs::path(dir) / "model.onnx").string();
  auto onnx_model = onnx::load_onnx_file(model_path);
  if (!onnx_model.is_ok()) return finish("fail", onnx_model.status().message());
  if (const char* why = excluded(onnx_model->graph())) return finish("skip", why);

  auto model = Model::load(model_path);
  if (!model.is_ok()) return finish("fail", model.status().message());
  auto session = Session::create(*model);
  if (!session.is_ok()) return finish("fail", session.status().message());

  std::vector<fs::path> sets;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) sets.push_back(e.path());
  std::sort(sets.begin(), sets.end());
  if (sets.empty()) return finish("skip", "no test_data_set_* folder");
  const std::vector<TensorInfo> outputs_info = (*model)->outputs();
  for (const fs::path& set : sets) {
    std::vector<io::NamedTensor> inputs, expected;
    for (const std::string& f : numbered_files(set, "input_")) {
      auto t = io::read_tensor_file(f);
      if (!t.is_ok()) return finish("fail", t.status().message());
      inputs.push_back(std::move(t.value()));
    }
    for (const std::string& f : numbered_files(set, "output_")) {
      auto t = io::read_tensor_file(f);
      if (!t.is_ok()) return finish("fail", t.status().message());
      expected.push_back(std::move(t.value()));
    }
    // The test data stores bfloat16 tensors as uint16 bit patterns (ONNX 1.12's numpy helpers have
    // no bfloat16); reinterpret them where the model says bf16.
    const std::vector<TensorInfo> inputs_info = (*model)->inputs();
    std::vector<TensorView> views;
    for (size_t k = 0; k < inputs.size(); ++k) {
      TensorView v = inputs[k].tensor.view();
      if (k < inputs_info.size() && inputs_info[k].dtype == DType::bf16 && v.dtype() == DType::u16)
        v = TensorView(v.data(), DType::bf16, v.shape());
      views.push_back(v);
    }
    std::vector<Tensor> got;
    const Status st = (*session)->run(views, got);
    if (!st.is_ok()) return finish("fail", st.message());
    if (got.size() != expected.size())
      return finish("fail", str_cat("produced ", got.size(), " outputs, expected ", expected.size()));
    for (size_t k = 0; k < got.size(); ++k) {
      const std::string name = k < outputs_info.size() ? outputs_info[k].name : std::to_string(k);
      TensorView want = expected[k].tensor.view();
      if (got[k].dtype() == DType::bf16 && want.dtype() == DType::u16) want = TensorView(want.data(), DType::bf16, want.shape());
      std::string diff = compare_tensors(got[k].view(), want, name);
      if (!diff.empty()) return finish("fail", str_cat(set.filename().string(), ": ", diff));
    }
  }
  return finish("pass", "");
}

}  // namespace cli
}  // inline namespace v1
}  // namespace obol
