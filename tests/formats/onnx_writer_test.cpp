// The ONNX writer: every importable model of the backend test data survives write → load → import
// with the same nodes, attributes, values and constant bytes; writing refuses what ONNX cannot hold.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "obol/formats/onnx.hpp"
#include "obol/formats/onnx_graph.hpp"
#include "obol/formats/onnx_writer.hpp"
#include "formats/suite_models.hpp"
#include "obol/graph/graph.hpp"

namespace fs = std::filesystem;
using namespace obol;

namespace {

using obol::test::suite_models;

// Compares two graphs node by node; returns a description of the first difference, or "".
std::string diff_graphs(const graph::Graph& a, const graph::Graph& b) {
  auto oa = a.topological_order();
  auto ob = b.topological_order();
  if (!oa || !ob) return "topological order failed";
  if (oa.value().size() != ob.value().size()) return "node counts differ";
  auto vname = [](const graph::Graph& g, graph::ValueId id) { return id == graph::kNoValue ? std::string() : g.value(id).name; };
  for (size_t k = 0; k < oa.value().size(); ++k) {
    const graph::Node& x = a.node(oa.value()[k]);
    const graph::Node& y = b.node(ob.value()[k]);
    if (x.op != y.op) return "op differs at node " + x.name;
    if (x.inputs.size() != y.inputs.size() || x.outputs.size() != y.outputs.size()) return "arity differs at " + x.name;
    for (size_t i = 0; i < x.inputs.size(); ++i)
      if (vname(a, x.inputs[i]) != vname(b, y.inputs[i])) return "input differs at " + x.name;
    for (size_t i = 0; i < x.outputs.size(); ++i)
      if (vname(a, x.outputs[i]) != vname(b, y.outputs[i])) return "output differs at " + x.name;
    if (x.attributes.size() != y.attributes.size()) return "attribute count differs at " + x.name;
    for (size_t i = 0; i < x.attributes.size(); ++i) {
      const graph::Attribute& p = x.attributes[i];
      const graph::Attribute& q = y.attributes[i];
      if (p.name != q.name || p.kind != q.kind || p.i != q.i || p.s != q.s || p.ints != q.ints ||
          p.strings != q.strings || p.floats.size() != q.floats.size() ||
          std::memcmp(&p.f, &q.f, sizeof(float)) != 0)
        return "attribute '" + p.name + "' differs at " + x.name;
      if (p.g && q.g) {
        const std::string sub = diff_graphs(*p.g, *q.g);
        if (!sub.empty()) return "subgraph '" + p.name + "' of " + x.name + ": " + sub;
      }
    }
  }
  auto names = [](const graph::Graph& g, const std::vector<graph::ValueId>& ids) {
    std::vector<std::string> n;
    for (auto id : ids) n.push_back(g.value(id).name);
    return n;
  };
  if (names(a, a.outputs()) != names(b, b.outputs())) return "graph outputs differ";
  for (graph::ValueId id = 0; id < a.value_count(); ++id) {
    const graph::Value& v = a.value(id);
    if (!v.constant || v.name.empty()) continue;
    const graph::ValueId w = b.find_value(v.name);
    if (w == graph::kNoValue || !b.value(w).constant) return "constant " + v.name + " missing";
    const TensorView& x = v.constant->view;
    const TensorView& y = b.value(w).constant->view;
    if (x.dtype() != y.dtype() || !(x.shape() == y.shape()) || x.nbytes() != y.nbytes() ||
        (x.nbytes() && std::memcmp(x.data(), y.data(), x.nbytes()) != 0))
      return "constant " + v.name + " differs";
  }
  return "";
}

}  // namespace

TEST_CASE("every importable suite model round-trips through the ONNX writer", "[formats][onnx][writer]") {
  const auto models = suite_models();
  if (models.empty()) WARN("ONNX backend test data not installed (libonnx-testdata)");
  int round_tripped = 0;
  for (const auto& path : models) {
    auto model = onnx::load_onnx_file(path);
    if (!model) continue;
    auto g = onnx::to_graph(model.value());
    if (!g) continue;  // ops obol does not import are the importer's business
    INFO(path);
    auto bytes = onnx::write_model(*g.value());
    if (!bytes) FAIL_CHECK(bytes.status().message());
    if (!bytes) continue;
    auto again = onnx::load_onnx_bytes(bytes.value().data(), bytes.value().size());
    REQUIRE(again.is_ok());
    auto g2 = onnx::to_graph(again.value());
    if (!g2) FAIL_CHECK(g2.status().message());
    if (!g2) continue;
    CHECK(diff_graphs(*g.value(), *g2.value()) == "");
    ++round_tripped;
  }
  if (!models.empty()) CHECK(round_tripped > 800);
}

TEST_CASE("the ONNX writer keeps symbolic dims and refuses internal ops", "[formats][onnx][writer]") {
  graph::Graph g;
  g.name = "g";
  graph::ValueType t;
  t.dtype = DType::f32;
  t.rank_known = true;
  t.dims = {graph::Dim::named("batch"), graph::Dim::known(4)};
  const auto x = g.add_value("x", t);
  const auto y = g.add_value("y", t);
  g.add_input(x);
  graph::Node n;
  n.op = graph::OpKind::Relu;
  n.name = "relu";
  n.inputs = {x};
  n.outputs = {y};
  g.add_node(n);
  g.add_output(y);
  auto bytes = onnx::write_model(g);
  REQUIRE(bytes.is_ok());
  auto m = onnx::load_onnx_bytes(bytes.value().data(), bytes.value().size());
  REQUIRE(m.is_ok());
  auto g2 = onnx::to_graph(m.value());
  REQUIRE(g2.is_ok());
  const auto& in = g2.value()->value(g2.value()->inputs().at(0));
  REQUIRE(in.type.dims.size() == 2);
  CHECK(in.type.dims[0].symbol == "batch");
  CHECK(in.type.dims[1].value == 4);

  // A node of the obol domain has no ONNX meaning.
  g.node(0).domain = "obol";
  auto refused = onnx::write_model(g);
  REQUIRE_FALSE(refused.is_ok());
  CHECK(refused.status().message().find("relu") != std::string::npos);
  onnx::WriteOptions internal;
  internal.allow_internal_ops = true;
  CHECK(onnx::write_model(g, internal).is_ok());

  CHECK_FALSE(onnx::save_model(g, "/nonexistent-dir/x.onnx", internal).is_ok());
}

TEST_CASE("misaligned inline weights are copied into one aligned block with the right values",
          "[formats][onnx]") {
  // A model with a 12 KB and a 12-byte float initializer, decoded at every byte offset: at some
  // offsets the raw bytes are misaligned and must be copied (the large one into the shared block).
  graph::Graph g;
  g.name = "g";
  const int64_t n = 3000;
  auto make_const = [&](const char* name, int64_t count, float base) {
    auto t = std::make_shared<Tensor>(Tensor::empty(DType::f32, Shape{count}).value());
    for (int64_t i = 0; i < count; ++i) t->data_as<float>()[i] = base + 0.25f * static_cast<float>(i);
    auto c = std::make_shared<graph::ConstantData>();
    c->view = t->view();
    c->owner = t;
    const auto v = g.add_value(name, graph::ValueType::tensor(DType::f32, Shape{count}));
    g.value(v).constant = c;
    return v;
  };
  const auto w = make_const("w", n, 1.0f);
  const auto s = make_const("s", 3, -7.0f);
  const auto x = g.add_value("x", graph::ValueType::tensor(DType::f32, Shape{n}));
  const auto y = g.add_value("y", graph::ValueType::tensor(DType::f32, Shape{n}));
  const auto z = g.add_value("z", graph::ValueType::tensor(DType::f32, Shape{3}));
  g.add_input(x);
  graph::Node add;
  add.op = graph::OpKind::Add;
  add.name = "add";
  add.inputs = {x, w};
  add.outputs = {y};
  g.add_node(add);
  graph::Node neg;
  neg.op = graph::OpKind::Neg;
  neg.name = "neg";
  neg.inputs = {s};
  neg.outputs = {z};
  g.add_node(neg);
  g.add_output(y);
  g.add_output(z);
  auto bytes = onnx::write_model(g);
  REQUIRE(bytes.is_ok());
  const std::string& b = bytes.value();
  std::vector<char> buf(b.size() + 128);
  char* base = buf.data() + (64 - reinterpret_cast<uintptr_t>(buf.data()) % 64);
  int misaligned_big = 0;
  for (int off = 0; off < 8; ++off) {
    INFO("offset " << off);
    std::memcpy(base + off, b.data(), b.size());
    auto m = onnx::load_onnx_bytes(base + off, b.size());
    REQUIRE(m.is_ok());
    for (const auto& init : m.value().graph().initializer)
      if (init.name == "w" && onnx::raw_data_misaligned(init)) ++misaligned_big;
    auto g2 = onnx::to_graph(m.value());
    REQUIRE(g2.is_ok());
    for (const auto& [name, count, first] : {std::tuple<const char*, int64_t, float>{"w", n, 1.0f},
                                             std::tuple<const char*, int64_t, float>{"s", 3, -7.0f}}) {
      const graph::Value* val = nullptr;
      for (graph::ValueId v = 0; v < g2.value()->value_count(); ++v)
        if (g2.value()->value(v).name == name) val = &g2.value()->value(v);
      REQUIRE(val);
      REQUIRE(val->constant);
      const TensorView& view = val->constant->view;
      REQUIRE(view.numel() == count);
      CHECK(reinterpret_cast<uintptr_t>(view.data()) % 4 == 0);
      for (int64_t i = 0; i < count; ++i) REQUIRE(view.data_as<const float>()[i] == first + 0.25f * static_cast<float>(i));
    }
  }
  CHECK(misaligned_big >= 4);  // three of every four offsets misalign a float
}
