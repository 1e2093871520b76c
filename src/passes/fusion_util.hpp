// Helpers shared by the fusion passes: consumer bookkeeping, constant reading, node replacement.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "obol/graph/graph.hpp"
#include "obol/graph/passes.hpp"

namespace obol {
inline namespace v1 {
namespace graph::fusion {

// A graph being rewritten, with its consumer lists kept current across replacements.
class Rewriter {
 public:
  explicit Rewriter(Graph& g) : g_(g), cons_(g.consumers()) {}

  Graph& graph() noexcept { return g_; }
  const Graph& graph() const noexcept { return g_; }
  const Node& node(NodeId n) const { return g_.node(n); }
  const Value& value(ValueId v) const { return g_.value(v); }

  // The live node producing v, or kNoNode (graph inputs, constants, omitted values).
  NodeId producer(ValueId v) const {
    if (v < 0 || v >= g_.value_count()) return kNoNode;
    const NodeId p = g_.value(v).producer;
    return p != kNoNode && !g_.node(p).removed ? p : kNoNode;
  }
  // The live producer of v when it has op `op`, else kNoNode.
  NodeId producer_op(ValueId v, OpKind op) const {
    const NodeId p = producer(v);
    return p != kNoNode && g_.node(p).op == op ? p : kNoNode;
  }
  const std::vector<NodeId>& consumers(ValueId v) const { return cons_[static_cast<size_t>(v)]; }

  // The only node reading v when v is an intermediate (not a graph output, read by exactly one live
  // node, once), else kNoNode. Only such values may disappear inside a fused node.
  NodeId sole_consumer(ValueId v) const {
    if (v < 0 || v >= g_.value_count() || g_.value(v).is_graph_output) return kNoNode;
    const auto& c = cons_[static_cast<size_t>(v)];
    if (c.size() != 1) return kNoNode;
    int reads = 0;
    for (ValueId in : g_.node(c[0]).inputs) reads += in == v ? 1 : 0;
    return reads == 1 ? c[0] : kNoNode;
  }
  // The sole consumer of v when it has op `op`.
  NodeId sole_consumer_op(ValueId v, OpKind op) const {
    const NodeId c = sole_consumer(v);
    return c != kNoNode && g_.node(c).op == op ? c : kNoNode;
  }
  // True when v is an intermediate whose live readers are exactly `readers` (each reading it once).
  bool consumed_only_by(ValueId v, std::vector<NodeId> readers) const {
    if (v < 0 || g_.value(v).is_graph_output) return false;
    std::vector<NodeId> c = cons_[static_cast<size_t>(v)];
    std::sort(c.begin(), c.end());
    std::sort(readers.begin(), readers.end());
    if (c != readers) return false;
    for (NodeId r : readers) {
      int reads = 0;
      for (ValueId in : g_.node(r).inputs) reads += in == v ? 1 : 0;
      if (reads != 1) return false;
    }
    return true;
  }

  // The single output of node n when every other output is omitted or unused, else kNoValue.
  ValueId main_output(NodeId n) const {
    const Node& node = g_.node(n);
    if (node.outputs.empty()) return kNoValue;
    for (size_t i = 1; i < node.outputs.size(); ++i) {
      const ValueId o = node.outputs[i];
      if (o != kNoValue && (g_.value(o).is_graph_output || !cons_[static_cast<size_t>(o)].empty())) return kNoValue;
    }
    return node.outputs[0];
  }

  // For a binary node reading `v` once: its other operand (kNoValue if it reads v twice or not at all).
  ValueId other_input(NodeId n, ValueId v) const {
    const Node& node = g_.node(n);
    if (node.inputs.size() != 2) return kNoValue;
    if (node.inputs[0] == v && node.inputs[1] != v) return node.inputs[1];
    if (node.inputs[1] == v && node.inputs[0] != v) return node.inputs[0];
    return kNoValue;
  }

  // Marks `old_nodes` removed and adds `replacement`, keeping consumer lists current. The
  // replacement's outputs must be outputs of removed nodes (or new values).
  NodeId replace(const std::vector<NodeId>& old_nodes, Node replacement) {
    for (NodeId n : old_nodes) {
      Node& node = g_.node(n);
      node.removed = true;
      for (ValueId in : node.inputs)
        if (in >= 0) {
          auto& c = cons_[static_cast<size_t>(in)];
          c.erase(std::remove(c.begin(), c.end(), n), c.end());
        }
    }
    const NodeId id = g_.add_node(std::move(replacement));
    // add_node keeps an existing producer; the values taken over from removed nodes change hands.
    for (ValueId out : g_.node(id).outputs)
      if (out >= 0) g_.value(out).producer = id;
    cons_.resize(static_cast<size_t>(g_.value_count()));
    for (ValueId in : g_.node(id).inputs)
      if (in >= 0) {
        auto& c = cons_[static_cast<size_t>(in)];
        if (std::find(c.begin(), c.end(), id) == c.end()) c.push_back(id);
      }
    return id;
  }

  // Adds a constant value owning `t`, named uniquely after `base`.
  ValueId add_constant(const std::string& base, Tensor t) {
    auto owned = std::make_shared<Tensor>(std::move(t));
    auto c = std::make_shared<ConstantData>();
    c->view = owned->view();
    c->owner = owned;
    std::string name = base;
    for (int k = 1; g_.find_value(name) != kNoValue; ++k) name = base + "_" + std::to_string(k);
    const ValueId v = g_.add_value(name, ValueType::tensor(c->view.dtype(), c->view.shape()));
    g_.value(v).constant = std::move(c);
    cons_.resize(static_cast<size_t>(g_.value_count()));
    return v;
  }

 private:
  Graph& g_;
  std::vector<std::vector<NodeId>> cons_;
};

// The constant f32 data of v, or nullptr.
inline const ConstantData* f32_constant(const Graph& g, ValueId v) {
  if (v < 0) return nullptr;
  const ConstantData* c = g.value(v).constant.get();
  return c && c->view.dtype() == DType::f32 ? c : nullptr;
}

// The value of a constant f32 (or f64) tensor with exactly one element.
inline std::optional<double> scalar_constant(const Graph& g, ValueId v) {
  if (v < 0) return std::nullopt;
  const ConstantData* c = g.value(v).constant.get();
  if (!c || c->view.numel() != 1) return std::nullopt;
  if (c->view.dtype() == DType::f32) {
    float x = 0.0f;
    std::memcpy(&x, c->view.data(), sizeof(float));
    return static_cast<double>(x);
  }
  if (c->view.dtype() == DType::f64) return c->view.data_as<const double>()[0];
  return std::nullopt;
}

// A scalar f32 constant within a relative tolerance of `want`.
inline bool is_scalar(const Graph& g, ValueId v, double want, double rel = 1e-4) {
  const auto s = scalar_constant(g, v);
  return s && std::fabs(*s - want) <= rel * std::fabs(want) + 1e-12;
}

// Integer constant data (i32 or i64) as int64 values.
inline std::optional<std::vector<int64_t>> int_constant(const Graph& g, ValueId v) {
  if (v < 0) return std::nullopt;
  const ConstantData* c = g.value(v).constant.get();
  if (!c) return std::nullopt;
  std::vector<int64_t> r(static_cast<size_t>(c->view.numel()));
  // Constants may sit at any byte offset of the model file: read them with memcpy.
  const auto* bytes = static_cast<const unsigned char*>(c->view.data());
  if (c->view.dtype() == DType::i64) {
    for (size_t i = 0; i < r.size(); ++i) std::memcpy(&r[i], bytes + i * sizeof(int64_t), sizeof(int64_t));
  } else if (c->view.dtype() == DType::i32) {
    for (size_t i = 0; i < r.size(); ++i) {
      int32_t x = 0;
      std::memcpy(&x, bytes + i * sizeof(int32_t), sizeof(int32_t));
      r[i] = x;
    }
  } else {
    return std::nullopt;
  }
  return r;
}

// True when `axis` of a value of type `t` is its last axis (-1, or rank - 1 with the rank known).
inline bool is_last_axis(const ValueType& t, int64_t axis) {
  if (axis == -1) return true;
  return t.rank_known && axis == static_cast<int64_t>(t.dims.size()) - 1 && axis >= 0;
}

using graph::attr_float;
using graph::attr_floats;
using graph::attr_int;
using graph::attr_string;

// A new node of `op` (ai.onnx unless `domain`), named after the node it replaces.
inline Node make_node(OpKind op, const std::string& name, int opset, std::vector<ValueId> inputs,
                      std::vector<ValueId> outputs) {
  Node n;
  n.op = op;
  n.name = name;
  n.domain = std::string(op_info(op).domain);
  n.opset = opset;
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  return n;
}

// An activation that can follow a GEMM or convolution: the name FusedGemm/FusedConv use, and its
// parameters.
struct Activation {
  std::string name;  // "Relu", "Tanh", "Sigmoid", "LeakyRelu", "Clip", "HardSigmoid", "Gelu", "GeluTanh"
  std::vector<float> params;
};

// The activation node n computes on its first input, if it is one a fused kernel can apply.
std::optional<Activation> activation_of(const Graph& g, const Node& n);

}  // namespace graph::fusion
}  // inline namespace v1
}  // namespace obol
