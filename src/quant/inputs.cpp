// Calibration and evaluation inputs for the quantizer: tensor files from a directory, or generated.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>

#include "obol/io/tensor_file.hpp"
#include "obol/quant/quantizer.hpp"

namespace obol {
inline namespace v1 {
namespace quant {

namespace {

namespace fs = std::filesystem;

Result<Shape> concrete_shape(const graph::Value& v, const QuantizeOptions& o) {
  if (!v.type.rank_known)
    return make_status(StatusCode::invalid_argument, "quantize", "input '", v.name,
                       "' has an unknown rank: give calibration inputs (--calibration DIR)");
  Shape s;
  for (const graph::Dim& d : v.type.dims) {
    if (d.is_known()) {
      s.push_back(d.value);
    } else {
      auto it = o.dim_values.find(d.symbol);
      s.push_back(it != o.dim_values.end() ? it->second : 1);
    }
  }
  return s;
}

Result<Tensor> generate(const graph::Value& v, const QuantizeOptions& o, std::mt19937_64& rng) {
  OBOL_ASSIGN_OR_RETURN(const Shape s, concrete_shape(v, o));
  OBOL_ASSIGN_OR_RETURN(Tensor t, Tensor::empty(v.type.dtype, s));
  const int64_t n = t.numel();
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> ints(0, 99);
  switch (v.type.dtype) {
    case DType::f32:
      for (int64_t i = 0; i < n; ++i) t.data_as<float>()[i] = normal(rng);
      break;
    case DType::f64:
      for (int64_t i = 0; i < n; ++i) t.data_as<double>()[i] = normal(rng);
      break;
    case DType::i64:
      for (int64_t i = 0; i < n; ++i) t.data_as<int64_t>()[i] = ints(rng);
      break;
    case DType::i32:
      for (int64_t i = 0; i < n; ++i) t.data_as<int32_t>()[i] = ints(rng);
      break;
    case DType::boolean:
      for (int64_t i = 0; i < n; ++i) t.data_as<uint8_t>()[i] = static_cast<uint8_t>(ints(rng) & 1);
      break;
    default:
      return make_status(StatusCode::unsupported, "quantize", "cannot generate values for input '", v.name, "' of type ",
                         dtype_name(v.type.dtype), ": give calibration inputs (--calibration DIR)");
  }
  return t;
}

bool is_tensor_file(const fs::path& p) { return p.extension() == ".npy" || p.extension() == ".pb"; }

}  // namespace

Result<std::vector<std::vector<Tensor>>> make_inputs(const graph::Graph& g, const QuantizeOptions& o) {
  const std::vector<graph::ValueId>& ins = g.inputs();
  std::vector<std::vector<Tensor>> sets;
  if (o.calibration_dir.empty()) {
    OBOL_CHECK_OR_RETURN(o.samples >= 1, invalid_argument, "quantize", "samples must be >= 1, found ", o.samples);
    std::mt19937_64 rng(o.seed);
    for (int s = 0; s < o.samples; ++s) {
      std::vector<Tensor> set;
      for (graph::ValueId v : ins) {
        OBOL_ASSIGN_OR_RETURN(Tensor t, generate(g.value(v), o, rng));
        set.push_back(std::move(t));
      }
      sets.push_back(std::move(set));
    }
    return sets;
  }
  std::error_code ec;
  if (!fs::is_directory(o.calibration_dir, ec))
    return make_status(StatusCode::not_found, "quantize", "calibration directory '", o.calibration_dir, "' does not exist");
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(o.calibration_dir, ec))
    if (e.is_regular_file() && is_tensor_file(e.path())) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  if (files.empty())
    return make_status(StatusCode::not_found, "quantize", "no .npy or .pb files in '", o.calibration_dir, "'");
  // Per model input, its tensors in file order.
  std::vector<std::vector<Tensor>> per_input(ins.size());
  for (const fs::path& f : files) {
    OBOL_ASSIGN_OR_RETURN(io::NamedTensor nt, io::read_tensor_file(f.string()));
    size_t which = ins.size();
    if (ins.size() == 1) {
      which = 0;
    } else {
      const std::string stem = f.stem().string();
      for (size_t i = 0; i < ins.size() && which == ins.size(); ++i) {
        const std::string& name = g.value(ins[i]).name;
        const bool by_file = stem == name || (stem.size() > name.size() && stem.compare(0, name.size(), name) == 0 &&
                                              stem[name.size()] == '_');
        if (nt.name == name || (nt.name.empty() && by_file)) which = i;
      }
      if (which == ins.size())
        return make_status(StatusCode::invalid_argument, "quantize", "calibration file '", f.string(),
                           "' matches no model input (name files after inputs: NAME.npy, NAME_0.npy, ...)");
    }
    const graph::Value& v = g.value(ins[which]);
    if (v.type.dtype != DType::invalid && nt.tensor.dtype() != v.type.dtype)
      return make_status(StatusCode::invalid_argument, "quantize", "calibration file '", f.string(), "' holds ",
                         dtype_name(nt.tensor.dtype()), ", input '", v.name, "' is ", dtype_name(v.type.dtype));
    per_input[which].push_back(std::move(nt.tensor));
  }
  size_t count = per_input[0].size();
  for (size_t i = 0; i < ins.size(); ++i) {
    if (per_input[i].empty())
      return make_status(StatusCode::invalid_argument, "quantize", "no calibration file for input '",
                         g.value(ins[i]).name, "' in '", o.calibration_dir, "'");
    count = std::min(count, per_input[i].size());
  }
  for (size_t s = 0; s < count; ++s) {
    std::vector<Tensor> set;
    for (size_t i = 0; i < ins.size(); ++i) set.push_back(std::move(per_input[i][s]));
    sets.push_back(std::move(set));
  }
  return sets;
}

}  // namespace quant
}  // inline namespace v1
}  // namespace obol
