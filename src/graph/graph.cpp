#include "obol/graph/graph.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace obol {
inline namespace v1 {
namespace graph {

// --- ValueType ----------------------------------------------------------------------------------

ValueType ValueType::tensor(DType t, const Shape& s) {
  ValueType v;
  v.dtype = t;
  v.rank_known = true;
  for (int64_t d : s) v.dims.push_back(Dim::known(d));
  return v;
}

bool ValueType::is_static() const noexcept {
  if (!rank_known) return false;
  for (const Dim& d : dims)
    if (!d.is_known()) return false;
  return true;
}

Result<Shape> ValueType::static_shape() const {
  OBOL_CHECK_OR_RETURN(is_static(), invalid_argument, "graph", "shape ", to_string(), " is not static");
  std::vector<int64_t> d;
  for (const Dim& x : dims) d.push_back(x.value);
  return Shape::make(d.data(), d.size());
}

std::string ValueType::to_string() const {
  std::string s(dtype_name(dtype));
  if (!rank_known) return s + "[?]";
  s += "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ", ";
    s += dims[i].is_known() ? std::to_string(dims[i].value) : (dims[i].symbol.empty() ? "?" : dims[i].symbol);
  }
  return s + "]";
}

// --- Node ---------------------------------------------------------------------------------------

const char* attribute_kind_name(Attribute::Kind k) noexcept {
  switch (k) {
    case Attribute::Kind::f: return "float";
    case Attribute::Kind::i: return "int";
    case Attribute::Kind::s: return "string";
    case Attribute::Kind::t: return "tensor";
    case Attribute::Kind::g: return "graph";
    case Attribute::Kind::floats: return "floats";
    case Attribute::Kind::ints: return "ints";
    case Attribute::Kind::strings: return "strings";
    case Attribute::Kind::tensors: return "tensors";
    case Attribute::Kind::graphs: return "graphs";
  }
  return "unknown";
}

const Attribute* Node::find_attribute(std::string_view attr_name) const noexcept {
  for (const Attribute& a : attributes)
    if (a.name == attr_name) return &a;
  return nullptr;
}

std::string Node::describe() const {
  return str_cat("node '", name, "' (", op_info(op).op_type, ")");
}

namespace {

Status wrong_kind(const Node& n, std::string_view attr, Attribute::Kind found, const char* expected) {
  return make_status(StatusCode::invalid_argument, "graph", n.describe(), ": attribute '", attr, "' is ",
                     attribute_kind_name(found), ", expected ", expected);
}

}  // namespace

Result<int64_t> Node::attr_int(std::string_view attr_name, int64_t fallback) const {
  const Attribute* a = find_attribute(attr_name);
  if (!a) return fallback;
  if (a->kind != Attribute::Kind::i) return wrong_kind(*this, attr_name, a->kind, "int");
  return a->i;
}

Result<float> Node::attr_float(std::string_view attr_name, float fallback) const {
  const Attribute* a = find_attribute(attr_name);
  if (!a) return fallback;
  if (a->kind != Attribute::Kind::f) return wrong_kind(*this, attr_name, a->kind, "float");
  return a->f;
}

Result<std::string> Node::attr_string(std::string_view attr_name, std::string fallback) const {
  const Attribute* a = find_attribute(attr_name);
  if (!a) return fallback;
  if (a->kind != Attribute::Kind::s) return wrong_kind(*this, attr_name, a->kind, "string");
  return a->s;
}

Result<std::vector<int64_t>> Node::attr_ints(std::string_view attr_name, std::vector<int64_t> fallback) const {
  const Attribute* a = find_attribute(attr_name);
  if (!a) return fallback;
  if (a->kind != Attribute::Kind::ints) return wrong_kind(*this, attr_name, a->kind, "ints");
  return a->ints;
}

Result<std::vector<float>> Node::attr_floats(std::string_view attr_name, std::vector<float> fallback) const {
  const Attribute* a = find_attribute(attr_name);
  if (!a) return fallback;
  if (a->kind != Attribute::Kind::floats) return wrong_kind(*this, attr_name, a->kind, "floats");
  return a->floats;
}

// --- Graph --------------------------------------------------------------------------------------

ValueId Graph::add_value(std::string value_name, ValueType type) {
  Value v;
  v.name = std::move(value_name);
  v.type = std::move(type);
  values_.push_back(std::move(v));
  return static_cast<ValueId>(values_.size() - 1);
}

NodeId Graph::add_node(Node n) {
  const NodeId id = static_cast<NodeId>(nodes_.size());
  for (ValueId out : n.outputs)
    if (out >= 0 && out < value_count() && values_[static_cast<size_t>(out)].producer == kNoNode)
      values_[static_cast<size_t>(out)].producer = id;
  nodes_.push_back(std::move(n));
  return id;
}

void Graph::add_input(ValueId v) {
  inputs_.push_back(v);
  value(v).is_graph_input = true;
}

void Graph::add_output(ValueId v) {
  outputs_.push_back(v);
  value(v).is_graph_output = true;
}

ValueId Graph::find_value(std::string_view value_name) const noexcept {
  for (size_t i = 0; i < values_.size(); ++i)
    if (values_[i].name == value_name) return static_cast<ValueId>(i);
  return kNoValue;
}

std::vector<std::vector<NodeId>> Graph::consumers() const {
  std::vector<std::vector<NodeId>> c(values_.size());
  for (size_t n = 0; n < nodes_.size(); ++n) {
    if (nodes_[n].removed) continue;
    for (ValueId in : nodes_[n].inputs)
      if (in >= 0 && in < value_count()) {
        auto& list = c[static_cast<size_t>(in)];
        if (list.empty() || list.back() != static_cast<NodeId>(n)) list.push_back(static_cast<NodeId>(n));
      }
  }
  return c;
}

Result<std::vector<NodeId>> Graph::topological_order() const {
  // Kahn's algorithm, seeded in node order so an already-sorted graph keeps its order.
  std::vector<int> pending(nodes_.size(), 0);
  const auto cons = consumers();
  for (size_t n = 0; n < nodes_.size(); ++n) {
    if (nodes_[n].removed) continue;
    for (ValueId in : nodes_[n].inputs) {
      if (in < 0 || in >= value_count()) continue;
      const NodeId p = values_[static_cast<size_t>(in)].producer;
      if (p != kNoNode && !nodes_[static_cast<size_t>(p)].removed) ++pending[n];
    }
  }
  std::vector<NodeId> order, ready;
  for (size_t n = nodes_.size(); n-- > 0;)
    if (!nodes_[n].removed && pending[n] == 0) ready.push_back(static_cast<NodeId>(n));
  while (!ready.empty()) {
    const NodeId n = ready.back();
    ready.pop_back();
    order.push_back(n);
    std::vector<NodeId> released;
    for (ValueId out : nodes_[static_cast<size_t>(n)].outputs) {
      if (out < 0 || out >= value_count()) continue;
      for (NodeId c : cons[static_cast<size_t>(out)]) {
        // A consumer may read the same value several times; each read was counted.
        for (ValueId in : nodes_[static_cast<size_t>(c)].inputs)
          if (in == out && --pending[static_cast<size_t>(c)] == 0) released.push_back(c);
      }
    }
    std::sort(released.begin(), released.end(), std::greater<>());
    ready.insert(ready.end(), released.begin(), released.end());
  }
  size_t live = 0;
  for (const Node& n : nodes_) live += n.removed ? 0 : 1;
  if (order.size() != live) {
    std::string names;
    int shown = 0;
    for (size_t n = 0; n < nodes_.size() && shown < 5; ++n)
      if (!nodes_[n].removed && pending[n] > 0) {
        names += (shown++ ? ", '" : "'") + nodes_[n].name + "'";
      }
    return make_status(StatusCode::invalid_argument, "graph", "the graph has a cycle through ", names);
  }
  return order;
}

Status Graph::validate() const {
  std::unordered_map<std::string_view, ValueId> names;
  for (size_t v = 0; v < values_.size(); ++v) {
    const std::string& nm = values_[v].name;
    if (nm.empty()) continue;
    auto [it, inserted] = names.emplace(nm, static_cast<ValueId>(v));
    OBOL_CHECK_OR_RETURN(inserted, invalid_argument, "graph", "value name '", nm, "' is used twice");
  }
  std::vector<NodeId> producer(values_.size(), kNoNode);
  for (size_t n = 0; n < nodes_.size(); ++n) {
    const Node& node = nodes_[n];
    if (node.removed) continue;
    for (ValueId out : node.outputs) {
      if (out == kNoValue) continue;
      OBOL_CHECK_OR_RETURN(out >= 0 && out < value_count(), internal, "graph", node.describe(),
                           ": output id ", out, " is out of range");
      const Value& v = values_[static_cast<size_t>(out)];
      OBOL_CHECK_OR_RETURN(producer[static_cast<size_t>(out)] == kNoNode, invalid_argument, "graph",
                           node.describe(), ": output '", v.name, "' is also produced by node '",
                           nodes_[static_cast<size_t>(producer[static_cast<size_t>(out)])].name, "'");
      OBOL_CHECK_OR_RETURN(!v.is_graph_input && !v.constant, invalid_argument, "graph", node.describe(),
                           ": output '", v.name, "' is a graph input or a constant");
      producer[static_cast<size_t>(out)] = static_cast<NodeId>(n);
    }
  }
  for (size_t n = 0; n < nodes_.size(); ++n) {
    const Node& node = nodes_[n];
    if (node.removed) continue;
    for (ValueId in : node.inputs) {
      if (in == kNoValue) continue;
      OBOL_CHECK_OR_RETURN(in >= 0 && in < value_count(), internal, "graph", node.describe(), ": input id ", in,
                           " is out of range");
      const Value& v = values_[static_cast<size_t>(in)];
      OBOL_CHECK_OR_RETURN(v.is_graph_input || v.constant || v.is_outer_scope || producer[static_cast<size_t>(in)] != kNoNode,
                           invalid_argument, "graph", node.describe(), ": input '", v.name,
                           "' is not a graph input, an initializer or any node's output");
    }
  }
  for (ValueId out : outputs_) {
    OBOL_CHECK_OR_RETURN(out >= 0 && out < value_count(), internal, "graph", "graph output id ", out,
                         " is out of range");
    const Value& v = values_[static_cast<size_t>(out)];
    OBOL_CHECK_OR_RETURN(v.is_graph_input || v.constant || v.is_outer_scope || producer[static_cast<size_t>(out)] != kNoNode,
                         invalid_argument, "graph", "graph output '", v.name, "' is never produced");
  }
  auto order = topological_order();
  return order.is_ok() ? Status::ok() : order.status();
}

int Graph::remove_dead_nodes() {
  std::vector<char> live_value(values_.size(), 0);
  std::vector<ValueId> work;
  for (ValueId o : outputs_)
    if (o >= 0 && o < value_count() && !live_value[static_cast<size_t>(o)]) {
      live_value[static_cast<size_t>(o)] = 1;
      work.push_back(o);
    }
  std::vector<char> live_node(nodes_.size(), 0);
  while (!work.empty()) {
    const ValueId v = work.back();
    work.pop_back();
    const NodeId p = values_[static_cast<size_t>(v)].producer;
    if (p == kNoNode || nodes_[static_cast<size_t>(p)].removed || live_node[static_cast<size_t>(p)]) continue;
    live_node[static_cast<size_t>(p)] = 1;
    for (ValueId in : nodes_[static_cast<size_t>(p)].inputs)
      if (in >= 0 && in < value_count() && !live_value[static_cast<size_t>(in)]) {
        live_value[static_cast<size_t>(in)] = 1;
        work.push_back(in);
      }
  }
  int removed = 0;
  for (size_t n = 0; n < nodes_.size(); ++n)
    if (!nodes_[n].removed && !live_node[n]) {
      nodes_[n].removed = true;
      ++removed;
    }
  return removed;
}

void Graph::compact() {
  std::vector<NodeId> node_map(nodes_.size(), kNoNode);
  std::vector<Node> kept_nodes;
  for (size_t n = 0; n < nodes_.size(); ++n)
    if (!nodes_[n].removed) {
      node_map[n] = static_cast<NodeId>(kept_nodes.size());
      kept_nodes.push_back(std::move(nodes_[n]));
    }
  std::vector<char> used(values_.size(), 0);
  for (ValueId v : inputs_) used[static_cast<size_t>(v)] = 1;
  for (ValueId v : outputs_) used[static_cast<size_t>(v)] = 1;
  for (const Node& n : kept_nodes) {
    for (ValueId v : n.inputs)
      if (v >= 0) used[static_cast<size_t>(v)] = 1;
    for (ValueId v : n.outputs)
      if (v >= 0) used[static_cast<size_t>(v)] = 1;
  }
  std::vector<ValueId> value_map(values_.size(), kNoValue);
  std::vector<Value> kept_values;
  for (size_t v = 0; v < values_.size(); ++v)
    if (used[v]) {
      value_map[v] = static_cast<ValueId>(kept_values.size());
      Value val = std::move(values_[v]);
      val.producer = val.producer == kNoNode ? kNoNode : node_map[static_cast<size_t>(val.producer)];
      kept_values.push_back(std::move(val));
    }
  auto remap = [&](std::vector<ValueId>& ids) {
    for (ValueId& v : ids)
      if (v >= 0) v = value_map[static_cast<size_t>(v)];
  };
  for (Node& n : kept_nodes) {
    remap(n.inputs);
    remap(n.outputs);
  }
  remap(inputs_);
  remap(outputs_);
  nodes_ = std::move(kept_nodes);
  values_ = std::move(kept_values);
}

}  // namespace graph
}  // inline namespace v1
}  // namespace obol
