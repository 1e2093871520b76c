#include <catch2/catch.hpp>
#include <string>

#include "obol/graph/graph.hpp"

using namespace obol::graph;
using obol::DType;
using obol::Shape;

namespace {

Node make_node(OpKind op, std::string name, std::vector<ValueId> in, std::vector<ValueId> out) {
  Node n;
  n.op = op;
  n.name = std::move(name);
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

// x -> Relu -> a -> Add(a, a) -> y ;  plus a dead branch x -> Neg -> dead
Graph small_graph() {
  Graph g;
  const ValueId x = g.add_value("x", ValueType::tensor(DType::f32, Shape{2, 3}));
  const ValueId a = g.add_value("a");
  const ValueId y = g.add_value("y");
  const ValueId dead = g.add_value("dead");
  g.add_input(x);
  g.add_node(make_node(OpKind::Add, "add", {a, a}, {y}));  // listed before its producer on purpose
  g.add_node(make_node(OpKind::Relu, "relu", {x}, {a}));
  g.add_node(make_node(OpKind::Neg, "neg", {x}, {dead}));
  g.add_output(y);
  return g;
}

}  // namespace

TEST_CASE("ops.def drives the op table and the ONNX lookup", "[graph][ops]") {
  CHECK(kOpKindCount > 150);
  CHECK(op_from_onnx("", "Conv") == OpKind::Conv);
  CHECK(op_from_onnx("ai.onnx", "MatMul") == OpKind::MatMul);
  CHECK(op_from_onnx("com.microsoft", "MatMulNBits") == OpKind::MsMatMulNBits);
  CHECK_FALSE(op_from_onnx("", "MatMulNBits").has_value());
  CHECK_FALSE(op_from_onnx("", "Adam").has_value());
  CHECK_FALSE(op_from_onnx("", "").has_value());
  CHECK(op_name(OpKind::LayerNormalization) == "LayerNormalization");
  CHECK(op_info(OpKind::MsQLinearAdd).domain == "com.microsoft");
  // Every entry round-trips through the lookup.
  for (int i = 0; i < kOpKindCount; ++i) {
    const OpInfo& info = op_info(static_cast<OpKind>(i));
    REQUIRE(op_from_onnx(info.domain, info.op_type) == static_cast<OpKind>(i));
  }
}

TEST_CASE("ValueType prints and resolves static shapes", "[graph]") {
  ValueType t;
  t.dtype = DType::f32;
  t.rank_known = true;
  t.dims = {Dim::named("batch"), Dim::known(3), Dim{}};
  CHECK(t.to_string() == "f32[batch, 3, ?]");
  CHECK_FALSE(t.is_static());
  CHECK(t.static_shape().status().message() == "[graph] shape f32[batch, 3, ?] is not static");
  const ValueType s = ValueType::tensor(DType::i64, Shape{4, 5});
  CHECK(s.is_static());
  CHECK(*s.static_shape() == Shape{4, 5});
  CHECK(ValueType{}.to_string() == "invalid[?]");
}

TEST_CASE("topological order, validation and dead-code removal", "[graph]") {
  Graph g = small_graph();
  REQUIRE(g.validate().is_ok());
  auto order = g.topological_order();
  REQUIRE(order.is_ok());
  REQUIRE(order->size() == 3);
  auto pos = [&](NodeId n) { return std::find(order->begin(), order->end(), n) - order->begin(); };
  CHECK(pos(1) < pos(0));  // relu before add

  CHECK(g.remove_dead_nodes() == 1);
  CHECK(g.node(2).removed);
  g.compact();
  CHECK(g.node_count() == 2);
  CHECK(g.value_count() == 3);
  CHECK(g.find_value("dead") == kNoValue);
  REQUIRE(g.validate().is_ok());
  const ValueId y = g.find_value("y");
  REQUIRE(y != kNoValue);
  CHECK(g.node(g.value(y).producer).name == "add");
  CHECK(g.outputs() == std::vector<ValueId>{y});
}

TEST_CASE("validation names what is wrong", "[graph]") {
  SECTION("an input nobody produces") {
    Graph g;
    const ValueId x = g.add_value("x");
    const ValueId ghost = g.add_value("ghost");
    const ValueId y = g.add_value("y");
    g.add_input(x);
    g.add_node(make_node(OpKind::Add, "add_1", {x, ghost}, {y}));
    g.add_output(y);
    CHECK(g.validate().message() ==
          "[graph] node 'add_1' (Add): input 'ghost' is not a graph input, an initializer or any node's output");
  }
  SECTION("two producers") {
    Graph g;
    const ValueId x = g.add_value("x");
    const ValueId y = g.add_value("y");
    g.add_input(x);
    g.add_node(make_node(OpKind::Relu, "r1", {x}, {y}));
    g.add_node(make_node(OpKind::Relu, "r2", {x}, {y}));
    g.add_output(y);
    CHECK(g.validate().message() == "[graph] node 'r2' (Relu): output 'y' is also produced by node 'r1'");
  }
  SECTION("a cycle") {
    Graph g;
    const ValueId a = g.add_value("a");
    const ValueId b = g.add_value("b");
    g.add_node(make_node(OpKind::Relu, "p", {b}, {a}));
    g.add_node(make_node(OpKind::Relu, "q", {a}, {b}));
    g.add_output(b);
    CHECK(g.validate().message() == "[graph] the graph has a cycle through 'p', 'q'");
  }
  SECTION("duplicate names and unproduced outputs") {
    Graph g;
    g.add_input(g.add_value("x"));
    g.add_value("x");
    CHECK(g.validate().message() == "[graph] value name 'x' is used twice");
    Graph h;
    h.add_output(h.add_value("nothing"));
    CHECK(h.validate().message() == "[graph] graph output 'nothing' is never produced");
  }
}

TEST_CASE("typed attribute getters report kind mismatches with the node", "[graph]") {
  Node n = make_node(OpKind::Conv, "conv_0", {}, {});
  Attribute group;
  group.name = "group";
  group.kind = Attribute::Kind::i;
  group.i = 2;
  Attribute pads;
  pads.name = "pads";
  pads.kind = Attribute::Kind::ints;
  pads.ints = {1, 1, 1, 1};
  n.attributes = {group, pads};
  CHECK(*n.attr_int("group", 1) == 2);
  CHECK(*n.attr_int("missing", 7) == 7);
  CHECK(*n.attr_ints("pads") == std::vector<int64_t>{1, 1, 1, 1});
  CHECK(n.attr_float("group", 0.f).status().message() ==
        "[graph] node 'conv_0' (Conv): attribute 'group' is int, expected float");
  CHECK(n.attr_int("pads", 0).status().code() == obol::StatusCode::invalid_argument);
}
