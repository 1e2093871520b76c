// `obol inspect MODEL`: what an ONNX model holds — inputs, outputs, ops, parameters, opsets.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "obol/formats/onnx.hpp"

namespace obol {
inline namespace v1 {
namespace cli {

namespace {

using onnx::GraphProto;
using onnx::TypeProto;
using onnx::ValueInfoProto;

std::string str(std::string_view s) { return std::string(s); }

std::string domain_name(std::string_view d) { return d.empty() ? "ai.onnx" : str(d); }

std::string dim_text(const TypeProto::Dim& d) {
  if (d.has_value) return std::to_string(d.value);
  return d.param.empty() ? "?" : str(d.param);
}

std::string type_text(const TypeProto& t) {
  if (t.kind != TypeProto::Kind::tensor && t.kind != TypeProto::Kind::sparse_tensor)
    return onnx::type_kind_name(t.kind);
  std::string s = onnx::data_type_name(t.elem_type);
  if (!t.has_shape) return s + " [unknown rank]";
  s += " [";
  for (size_t i = 0; i < t.shape.size(); ++i) s += (i ? ", " : "") + dim_text(t.shape[i]);
  return s + "]";
}

nlohmann::json value_json(const ValueInfoProto& v) {
  nlohmann::json j{{"name", str(v.name)}, {"kind", onnx::type_kind_name(v.type.kind)}};
  if (v.type.kind == TypeProto::Kind::tensor || v.type.kind == TypeProto::Kind::sparse_tensor) {
    j["elem_type"] = onnx::data_type_name(v.type.elem_type);
    if (v.type.has_shape) {
      nlohmann::json dims = nlohmann::json::array();
      for (const auto& d : v.type.shape) {
        if (d.has_value) dims.push_back(d.value);
        else if (!d.param.empty()) dims.push_back(str(d.param));
        else dims.push_back(nullptr);
      }
      j["shape"] = dims;
    } else {
      j["shape"] = nullptr;
    }
  }
  return j;
}

struct Summary {
  std::map<std::pair<std::string, std::string>, int64_t> ops;  // (domain, op) -> count
  int64_t nodes = 0;
  int64_t subgraphs = 0;
};

void count_ops(const GraphProto& g, Summary* s) {
  for (const auto& n : g.node) {
    ++s->ops[{str(n.domain == "ai.onnx" ? std::string_view() : n.domain), str(n.op_type)}];
    ++s->nodes;
    for (const auto& a : n.attribute) {
      if (a.g) {
        ++s->subgraphs;
        count_ops(*a.g, s);
      }
      for (const auto& sg : a.graphs) {
        ++s->subgraphs;
        count_ops(*sg, s);
      }
    }
  }
}

// Human-readable byte count: "12.3 MiB".
std::string bytes_text(uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

int inspect(const std::string& path, bool json) {
  const auto t0 = std::chrono::steady_clock::now();
  auto loaded = onnx::load_onnx_file(path);
  const double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!loaded) {
    std::fprintf(stderr, "obol inspect: %s\n", loaded.status().to_string().c_str());
    return 1;
  }
  const onnx::OnnxModel& m = *loaded;
  const auto& p = m.proto();
  const GraphProto& g = m.graph();

  // Before IR 4 initializers were also listed as graph inputs; those are not real inputs.
  std::map<std::string_view, const onnx::TensorProto*> inits;
  for (const auto& t : g.initializer) inits[t.name] = &t;
  std::vector<const ValueInfoProto*> inputs;
  for (const auto& v : g.input)
    if (!inits.count(v.name)) inputs.push_back(&v);

  int64_t params = 0;
  uint64_t param_bytes = 0, external_bytes = 0;
  std::vector<std::string> problems;
  for (const auto& t : g.initializer) {
    auto shape = onnx::tensor_shape(t);
    if (!shape) {
      problems.push_back(shape.status().message());
      continue;
    }
    params += shape->numel();
    auto dt = onnx::to_dtype(t.data_type);
    const uint64_t bytes = dt ? static_cast<uint64_t>(shape->numel()) * dtype_size(*dt) : t.raw_data.size();
    param_bytes += bytes;
    if (t.data_location == onnx::TensorProto::DataLocation::external) external_bytes += bytes;
  }

  Summary s;
  count_ops(g, &s);
  std::vector<std::pair<std::pair<std::string, std::string>, int64_t>> hist(s.ops.begin(), s.ops.end());
  std::stable_sort(hist.begin(), hist.end(), [](const auto& a, const auto& b) { return a.second > b.second; });

  if (json) {
    nlohmann::json j;
    j["path"] = path;
    j["file_bytes"] = m.file_size();
    j["load_ms"] = load_ms;
    j["ir_version"] = p.ir_version;
    j["producer_name"] = str(p.producer_name);
    j["producer_version"] = str(p.producer_version);
    j["graph_name"] = str(g.name);
    nlohmann::json opsets = nlohmann::json::array();
    for (const auto& o : p.opset_import) opsets.push_back({{"domain", domain_name(o.domain)}, {"version", o.version}});
    j["opset_import"] = opsets;
    j["inputs"] = nlohmann::json::array();
    for (const auto* v : inputs) j["inputs"].push_back(value_json(*v));
    j["outputs"] = nlohmann::json::array();
    for (const auto& v : g.output) j["outputs"].push_back(value_json(v));
    j["node_count"] = s.nodes;
    j["subgraph_count"] = s.subgraphs;
    j["ops"] = nlohmann::json::array();
    for (const auto& [key, n] : hist)
      j["ops"].push_back({{"domain", domain_name(key.first)}, {"op_type", key.second}, {"count", n}});
    j["initializer_count"] = g.initializer.size();
    j["parameter_count"] = params;
    j["parameter_bytes"] = param_bytes;
    j["external_data_bytes"] = external_bytes;
    j["problems"] = problems;
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }

  std::printf("model:       %s (%s, loaded in %.2f ms)\n", path.c_str(), bytes_text(m.file_size()).c_str(), load_ms);
  std::printf("ir version:  %lld\n", static_cast<long long>(p.ir_version));
  std::printf("producer:    %s %s\n", p.producer_name.empty() ? "(none)" : str(p.producer_name).c_str(),
              str(p.producer_version).c_str());
  std::string opsets;
  for (const auto& o : p.opset_import)
    opsets += (opsets.empty() ? "" : ", ") + domain_name(o.domain) + " " + std::to_string(o.version);
  std::printf("opsets:      %s\n", opsets.c_str());
  if (!g.name.empty()) std::printf("graph:       %s\n", str(g.name).c_str());
  size_t width = 4;
  for (const auto* v : inputs) width = std::max(width, v->name.size());
  for (const auto& v : g.output) width = std::max(width, v.name.size());
  std::printf("inputs (%zu):\n", inputs.size());
  for (const auto* v : inputs) std::printf("  %-*s  %s\n", static_cast<int>(width), str(v->name).c_str(), type_text(v->type).c_str());
  std::printf("outputs (%zu):\n", g.output.size());
  for (const auto& v : g.output) std::printf("  %-*s  %s\n", static_cast<int>(width), str(v.name).c_str(), type_text(v.type).c_str());
  std::printf("parameters:  %lld in %zu initializers (%s", static_cast<long long>(params), g.initializer.size(),
              bytes_text(param_bytes).c_str());
  if (external_bytes) std::printf(", %s in external data", bytes_text(external_bytes).c_str());
  std::printf(")\n");
  std::printf("ops (%lld nodes%s):\n", static_cast<long long>(s.nodes),
              s.subgraphs ? (", " + std::to_string(s.subgraphs) + " subgraphs included").c_str() : "");
  for (const auto& [key, n] : hist) {
    const std::string name = key.first.empty() ? key.second : key.first + "::" + key.second;
    std::printf("  %6lld  %s\n", static_cast<long long>(n), name.c_str());
  }
  for (const auto& pr : problems) std::printf("warning: %s\n", pr.c_str());
  return 0;
}

}  // namespace

void add_inspect_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("inspect", "Show an ONNX model's inputs, outputs, ops, parameters and opsets");
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("MODEL", *path, "Path to a .onnx file")->required();
  cmd->add_flag("--json", *json, "Print machine-readable JSON");
  cmd->callback([path, json, &exit_code] { exit_code = inspect(*path, *json); });
}

}  // namespace cli
}  // inline namespace v1
}  // namespace obol
