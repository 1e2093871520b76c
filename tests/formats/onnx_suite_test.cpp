// Every model of the installed ONNX backend test data decodes, and a few decode to known contents.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "formats/suite_models.hpp"
#include "obol/formats/onnx.hpp"
#include "obol/io/tensor_file.hpp"

namespace fs = std::filesystem;
using namespace obol;

namespace {

using obol::test::suite_models;
const char* const kDataRoot = obol::test::kOnnxDataRoot;

void check_tensors(const onnx::GraphProto& g, int* decoded, int* unsupported, std::vector<std::string>* errors) {
  auto one = [&](const onnx::TensorProto& t) {
    auto d = onnx::tensor_data(t);
    if (d) {
      ++*decoded;
    } else if (d.status().code() == StatusCode::unsupported) {
      ++*unsupported;
    } else {
      errors->push_back(d.status().message());
    }
  };
  for (const auto& t : g.initializer) one(t);
  for (const auto& n : g.node)
    for (const auto& a : n.attribute) {
      if (a.t) one(*a.t);
      for (const auto& t : a.tensors) one(t);
      if (a.g) check_tensors(*a.g, decoded, unsupported, errors);
      for (const auto& sg : a.graphs) check_tensors(*sg, decoded, unsupported, errors);
    }
}

const onnx::ValueInfoProto* find_value(const std::vector<onnx::ValueInfoProto>& v, std::string_view name) {
  for (const auto& x : v)
    if (x.name == name) return &x;
  return nullptr;
}

}  // namespace

TEST_CASE("every model.onnx of the ONNX test data decodes", "[onnx][suite]") {
  const auto models = suite_models();
  if (models.empty()) {
    WARN("no ONNX test data under " << kDataRoot << " (install libonnx-testdata)");
    return;
  }
  CHECK(models.size() > 1000);  // 1072 in Debian's libonnx-testdata 1.14
  std::vector<std::string> failures, tensor_errors;
  int nodes = 0, decoded = 0, unsupported = 0;
  for (const auto& path : models) {
    auto m = onnx::load_onnx_file(path);
    if (!m) {
      failures.push_back(m.status().message());
      continue;
    }
    CHECK(m->proto().has_graph);
    CHECK_FALSE(m->proto().opset_import.empty());  // training-op models import only ai.onnx.preview.training
    nodes += static_cast<int>(m->graph().node.size());
    check_tensors(m->graph(), &decoded, &unsupported, &tensor_errors);
  }
  for (const auto& f : failures) UNSCOPED_INFO(f);
  CHECK(failures.empty());
  for (const auto& f : tensor_errors) UNSCOPED_INFO(f);
  CHECK(tensor_errors.empty());
  INFO(models.size() << " models, " << nodes << " nodes, " << decoded << " tensors decoded, " << unsupported
                     << " with unsupported data types");
  CHECK(decoded > 350);  // 381 initializers and Constant tensors in libonnx-testdata 1.14
  CHECK(unsupported < 30);  // string constants
}

TEST_CASE("every tensor .pb of the ONNX test data reads or is refused with a Status", "[onnx][suite]") {
  int ok = 0, refused = 0;
  std::vector<std::string> unexpected;
  for (const char* cat : {"node", "simple", "pytorch-converted", "pytorch-operator"}) {
    const fs::path dir = fs::path(kDataRoot) / cat;
    if (!fs::is_directory(dir)) continue;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      if (e.path().extension() != ".pb") continue;
      auto t = io::read_tensor_pb(e.path().string());
      if (t) {
        ++ok;
        CHECK(t->tensor.nbytes() == dtype_storage_bytes(t->tensor.dtype(), static_cast<size_t>(t->tensor.numel())));
      } else {
        ++refused;  // sequences, optionals, strings
        if (t.status().message().rfind("[onnx]", 0) != 0) unexpected.push_back(t.status().message());
      }
    }
  }
  if (ok + refused == 0) return;
  for (const auto& u : unexpected) UNSCOPED_INFO(u);
  CHECK(unexpected.empty());
  INFO(ok << " read, " << refused << " refused");
  CHECK(ok > 2000);
  CHECK(refused < ok / 10);
}

TEST_CASE("node/test_add decodes to its known contents", "[onnx][suite]") {
  const std::string path = std::string(kDataRoot) + "/node/test_add/model.onnx";
  if (!fs::exists(path)) return;
  auto m = onnx::load_onnx_file(path);
  REQUIRE(m);
  const auto& g = m->graph();
  REQUIRE(g.node.size() == 1);
  CHECK(g.node[0].op_type == "Add");
  CHECK(g.node[0].domain.empty());
  REQUIRE(g.node[0].input.size() == 2);
  CHECK(g.node[0].input[0] == "x");
  CHECK(g.node[0].input[1] == "y");
  REQUIRE(g.node[0].output.size() == 1);
  CHECK(g.node[0].output[0] == "sum");
  REQUIRE(g.input.size() == 2);
  for (const auto& in : g.input) {
    CHECK(in.type.kind == onnx::TypeProto::Kind::tensor);
    CHECK(in.type.elem_type == static_cast<int32_t>(onnx::DataType::float32));
    REQUIRE(in.type.shape.size() == 3);
    CHECK(in.type.shape[0].value == 3);
    CHECK(in.type.shape[1].value == 4);
    CHECK(in.type.shape[2].value == 5);
  }
  CHECK(g.initializer.empty());
  CHECK(m->proto().ir_version >= 3);

  // Its inputs and outputs in the test set have the declared shapes.
  auto x = io::read_tensor_pb(std::string(kDataRoot) + "/node/test_add/test_data_set_0/input_0.pb");
  auto y = io::read_tensor_pb(std::string(kDataRoot) + "/node/test_add/test_data_set_0/input_1.pb");
  auto sum = io::read_tensor_pb(std::string(kDataRoot) + "/node/test_add/test_data_set_0/output_0.pb");
  REQUIRE(x);
  REQUIRE(y);
  REQUIRE(sum);
  CHECK(x->name == "x");
  CHECK(x->tensor.shape() == Shape{3, 4, 5});
  CHECK(x->tensor.dtype() == DType::f32);
  const float* a = x->tensor.data_as<float>();
  const float* b = y->tensor.data_as<float>();
  const float* s = sum->tensor.data_as<float>();
  for (int i = 0; i < 60; ++i) CHECK(s[i] == Approx(a[i] + b[i]));
}

TEST_CASE("symbolic dims, subgraphs, attributes and initializers of suite models", "[onnx][suite]") {
  const std::string root = kDataRoot;
  SECTION("If carries then/else subgraphs") {
    auto m = onnx::load_onnx_file(root + "/node/test_if/model.onnx");
    if (!m) return;
    REQUIRE(m->graph().node.size() == 1);
    const auto& n = m->graph().node[0];
    CHECK(n.op_type == "If");
    const auto* then_branch = n.find_attribute("then_branch");
    const auto* else_branch = n.find_attribute("else_branch");
    REQUIRE(then_branch);
    REQUIRE(else_branch);
    CHECK(then_branch->type == onnx::AttributeProto::Type::graph);
    REQUIRE(then_branch->g);
    REQUIRE(then_branch->g->node.size() == 1);
    CHECK(then_branch->g->node[0].op_type == "Constant");
    REQUIRE(then_branch->g->node[0].attribute.size() == 1);
    REQUIRE(then_branch->g->node[0].attribute[0].t);
    auto d = onnx::tensor_data(*then_branch->g->node[0].attribute[0].t);
    REQUIRE(d);
    CHECK(d->view.shape() == Shape{5});
    CHECK(d->view.data_as<float>()[0] == 1.0f);
  }
  SECTION("Conv attributes are ints") {
    auto m = onnx::load_onnx_file(root + "/node/test_conv_with_strides_padding/model.onnx");
    if (!m) return;
    const auto& n = m->graph().node[0];
    CHECK(n.op_type == "Conv");
    const auto* strides = n.find_attribute("strides");
    REQUIRE(strides);
    CHECK(strides->type == onnx::AttributeProto::Type::ints);
    CHECK(strides->ints == std::vector<int64_t>{2, 2});
    const auto* pads = n.find_attribute("pads");
    REQUIRE(pads);
    CHECK(pads->ints == std::vector<int64_t>{1, 1, 1, 1});
  }
  SECTION("pytorch-converted Conv2d has weight initializers matching their inputs") {
    auto m = onnx::load_onnx_file(root + "/pytorch-converted/test_Conv2d/model.onnx");
    if (!m) return;
    const auto& g = m->graph();
    REQUIRE(!g.initializer.empty());
    for (const auto& init : g.initializer) {
      auto d = onnx::tensor_data(init);
      REQUIRE(d);
      CHECK(d->view.dtype() == DType::f32);
      CHECK(d->view.rank() == static_cast<int>(init.dims.size()));
    }
  }
  SECTION("non-tensor types are recorded by kind") {
    auto m = onnx::load_onnx_file(root + "/node/test_sequence_insert_at_back/model.onnx");
    if (!m) return;
    const auto* seq = find_value(m->graph().input, "sequence");
    REQUIRE(seq);
    CHECK(seq->type.kind == onnx::TypeProto::Kind::sequence);
    CHECK(std::string(onnx::type_kind_name(seq->type.kind)) == "sequence");
  }
}
