// obol/graph/graph.hpp — the graph IR every loader produces and every pass rewrites.
//
// A Graph holds Values (typed tensors, possibly with symbolic dimensions) and Nodes (an OpKind with
// attributes, reading and writing Values by id). Loaders build it; passes rewrite it; the planner
// turns it into an executable plan. Ids are indices, stable until compact() is called.
//
// Constant data (initializers, Constant attributes) is referenced, not copied: a ConstantData holds
// a TensorView and a shared owner (for example the memory-mapped model file) that keeps the bytes
// alive for as long as any graph or plan refers to them.
//
// Thread-safety: a Graph is a plain value; build or rewrite it from one thread, then share it
// read-only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "obol/core/status.hpp"
#include "obol/core/tensor.hpp"
#include "obol/graph/op_kind.hpp"

namespace obol {
inline namespace v1 {
namespace graph {

using ValueId = int32_t;
using NodeId = int32_t;
inline constexpr ValueId kNoValue = -1;  // an omitted optional input or output
inline constexpr NodeId kNoNode = -1;

// One dimension: a known size (value >= 0), a named symbol (value < 0, symbol non-empty, e.g.
// "batch"), or unknown (value < 0, symbol empty).
struct Dim {
  int64_t value = -1;
  std::string symbol;

  static Dim known(int64_t v) { return Dim{v, {}}; }
  static Dim named(std::string s) { return Dim{-1, std::move(s)}; }
  bool is_known() const noexcept { return value >= 0; }
  friend bool operator==(const Dim& a, const Dim& b) { return a.value == b.value && a.symbol == b.symbol; }
};

// Type and (possibly partial) shape of a Value. rank_known == false means even the rank is unknown.
struct ValueType {
  DType dtype = DType::invalid;
  std::vector<Dim> dims;
  bool rank_known = false;

  static ValueType tensor(DType t, const Shape& s);
  bool is_static() const noexcept;          // rank and every dimension known
  Result<Shape> static_shape() const;       // fails unless is_static()
  std::string to_string() const;            // "f32[batch, 3, 224, 224]", "f32[?]" when unranked
};

// Bytes of a constant and what keeps them alive.
struct ConstantData {
  TensorView view;
  std::shared_ptr<const void> owner;
};

struct Value {
  std::string name;
  ValueType type;
  NodeId producer = kNoNode;                    // kNoNode for graph inputs and constants
  std::shared_ptr<const ConstantData> constant;  // set for initializers and folded constants
  bool is_graph_input = false;
  bool is_graph_output = false;
  // In a subgraph (If/Loop/Scan body): a value of an enclosing graph, bound by name at run time.
  bool is_outer_scope = false;
};

class Graph;

// A node attribute. Exactly the member named by `kind` is meaningful.
struct Attribute {
  enum class Kind : uint8_t { f, i, s, t, g, floats, ints, strings, tensors, graphs };
  std::string name;
  Kind kind = Kind::i;
  float f = 0.0f;
  int64_t i = 0;
  std::string s;
  std::shared_ptr<const ConstantData> t;
  std::shared_ptr<const Graph> g;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<std::shared_ptr<const ConstantData>> tensors;
  std::vector<std::shared_ptr<const Graph>> graphs;
};
const char* attribute_kind_name(Attribute::Kind k) noexcept;

// Attributes of the common kinds, for code that builds graphs (passes, the quantizer, tests).
inline Attribute attr_int(std::string name, int64_t v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Attribute::Kind::i;
  a.i = v;
  return a;
}
inline Attribute attr_float(std::string name, float v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Attribute::Kind::f;
  a.f = v;
  return a;
}
inline Attribute attr_string(std::string name, std::string v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Attribute::Kind::s;
  a.s = std::move(v);
  return a;
}
inline Attribute attr_ints(std::string name, std::vector<int64_t> v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Attribute::Kind::ints;
  a.ints = std::move(v);
  return a;
}
inline Attribute attr_floats(std::string name, std::vector<float> v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Attribute::Kind::floats;
  a.floats = std::move(v);
  return a;
}

struct Node {
  OpKind op{};
  std::string name;
  std::string domain;  // as written in the model ("" = ai.onnx)
  int opset = 0;       // the opset version of the node's domain
  std::vector<ValueId> inputs;   // kNoValue for an omitted optional input
  std::vector<ValueId> outputs;  // kNoValue for an omitted optional output
  std::vector<Attribute> attributes;
  // If/Loop/Scan: the last `implicit_inputs` entries of `inputs` are values of this graph that the
  // node's subgraphs read by name (is_outer_scope values there). They are inputs like any other, so
  // liveness and memory planning see them.
  int implicit_inputs = 0;
  bool removed = false;  // set by passes; dropped by compact()

  const Attribute* find_attribute(std::string_view name) const noexcept;
  // Typed attribute getters: the default when absent, an error naming the node when the attribute
  // has another kind.
  Result<int64_t> attr_int(std::string_view name, int64_t fallback) const;
  Result<float> attr_float(std::string_view name, float fallback) const;
  Result<std::string> attr_string(std::string_view name, std::string fallback) const;
  Result<std::vector<int64_t>> attr_ints(std::string_view name, std::vector<int64_t> fallback = {}) const;
  Result<std::vector<float>> attr_floats(std::string_view name, std::vector<float> fallback = {}) const;
  // "[graph] node 'Conv_3' (Conv): " — the prefix for messages about this node.
  std::string describe() const;
};

class Graph {
 public:
  std::string name;

  // Adds a value; names must be unique among non-empty names (checked by validate()).
  ValueId add_value(std::string name, ValueType type = {});
  // Adds a node and records it as the producer of its outputs.
  NodeId add_node(Node node);
  void add_input(ValueId v);
  void add_output(ValueId v);

  Value& value(ValueId id) { return values_[static_cast<size_t>(id)]; }
  const Value& value(ValueId id) const { return values_[static_cast<size_t>(id)]; }
  Node& node(NodeId id) { return nodes_[static_cast<size_t>(id)]; }
  const Node& node(NodeId id) const { return nodes_[static_cast<size_t>(id)]; }
  int32_t value_count() const noexcept { return static_cast<int32_t>(values_.size()); }
  int32_t node_count() const noexcept { return static_cast<int32_t>(nodes_.size()); }
  const std::vector<ValueId>& inputs() const noexcept { return inputs_; }
  const std::vector<ValueId>& outputs() const noexcept { return outputs_; }

  // The id of the value with this name, or kNoValue. Linear in the number of values.
  ValueId find_value(std::string_view name) const noexcept;

  // Nodes (not removed) that read each value, indexed by ValueId.
  std::vector<std::vector<NodeId>> consumers() const;

  // Live nodes in an order where every node follows the producers of its inputs. Fails with the
  // names of the nodes on a cycle.
  Result<std::vector<NodeId>> topological_order() const;

  // Structural checks: ids in range, each value produced at most once, every node input is a
  // graph input, a constant or produced by a live node, outputs are produced or are inputs/constants,
  // value names unique, no cycle. The message names the first offending node or value.
  Status validate() const;

  // Marks nodes whose outputs reach no graph output as removed; returns how many.
  int remove_dead_nodes();

  // Drops removed nodes and values nothing refers to, renumbering ids.
  void compact();

 private:
  std::vector<Value> values_;
  std::vector<Node> nodes_;
  std::vector<ValueId> inputs_;
  std::vector<ValueId> outputs_;
};

}  // namespace graph
}  // inline namespace v1
}  // namespace obol
