// Decomposed GELU -> Gelu (ai.onnx, opset 20).
//
//   erf form:   x * 0.5 * (1 + erf(x / sqrt 2))   (also x * (1/sqrt 2) inside erf, the factors in
//               any order and association: (x * (1 + e)) * 0.5, (x * 0.5) * (1 + e), ...)
//   tanh form:  x * 0.5 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))   (x^3 as Pow(x, 3),
//               x * x * x in either association)
#include <cmath>

#include "fusion_util.hpp"

namespace obol {
inline namespace v1 {
namespace graph {

namespace {

using fusion::Rewriter;

constexpr double kSqrt2 = 1.4142135623730951;
constexpr double kSqrt2OverPi = 0.7978845608028654;

// For erf's argument t: x when t = x / sqrt 2 or x * (1/sqrt 2); records the node.
ValueId erf_argument(const Rewriter& rw, ValueId t, std::vector<NodeId>& nodes) {
  const Graph& g = rw.graph();
  const NodeId p = rw.producer(t);
  if (p == kNoNode || rw.sole_consumer(t) == kNoNode) return kNoValue;
  const Node& n = g.node(p);
  if (n.inputs.size() != 2) return kNoValue;
  if (n.op == OpKind::Div && fusion::is_scalar(g, n.inputs[1], kSqrt2)) {
    nodes.push_back(p);
    return n.inputs[0];
  }
  if (n.op == OpKind::Mul) {
    for (int i = 0; i < 2; ++i)
      if (fusion::is_scalar(g, n.inputs[static_cast<size_t>(1 - i)], 1.0 / kSqrt2)) {
        nodes.push_back(p);
        return n.inputs[static_cast<size_t>(i)];
      }
  }
  return kNoValue;
}

// x^3 as Pow(x, 3), Mul(x, Mul(x, x)) or Mul(Mul(x, x), x): returns x.
ValueId cube_of(const Rewriter& rw, ValueId c, std::vector<NodeId>& nodes) {
  const Graph& g = rw.graph();
  const NodeId p = rw.producer(c);
  if (p == kNoNode || rw.sole_consumer(c) == kNoNode) return kNoValue;
  const Node& n = g.node(p);
  if (n.inputs.size() != 2) return kNoValue;
  if (n.op == OpKind::Pow && fusion::is_scalar(g, n.inputs[1], 3.0)) {
    nodes.push_back(p);
    return n.inputs[0];
  }
  if (n.op != OpKind::Mul) return kNoValue;
  for (int i = 0; i < 2; ++i) {
    const ValueId sq = n.inputs[static_cast<size_t>(i)], x = n.inputs[static_cast<size_t>(1 - i)];
    const NodeId q = rw.producer_op(sq, OpKind::Mul);
    if (q == kNoNode || rw.sole_consumer(sq) != p) continue;
    const Node& qn = g.node(q);
    if (qn.inputs.size() == 2 && qn.inputs[0] == x && qn.inputs[1] == x) {
      nodes.push_back(p);
      nodes.push_back(q);
      return x;
    }
  }
  return kNoValue;
}

// For tanh's argument t = sqrt(2/pi) * (x + 0.044715 * x^3): returns x.
ValueId tanh_argument(const Rewriter& rw, ValueId t, std::vector<NodeId>& nodes) {
  const Graph& g = rw.graph();
  const NodeId m = rw.producer_op(t, OpKind::Mul);
  if (m == kNoNode || rw.sole_consumer(t) == kNoNode) return kNoValue;
  const Node& mn = g.node(m);
  if (mn.inputs.size() != 2) return kNoValue;
  for (int i = 0; i < 2; ++i) {
    if (!fusion::is_scalar(g, mn.inputs[static_cast<size_t>(1 - i)], kSqrt2OverPi)) continue;
    const ValueId inner = mn.inputs[static_cast<size_t>(i)];
    const NodeId add = rw.producer_op(inner, OpKind::Add);
    if (add == kNoNode || rw.sole_consumer(inner) != m) continue;
    const Node& an = g.node(add);
    if (an.inputs.size() != 2) continue;
    for (int j = 0; j < 2; ++j) {
      const ValueId x = an.inputs[static_cast<size_t>(j)], term = an.inputs[static_cast<size_t>(1 - j)];
      const NodeId tm = rw.producer_op(term, OpKind::Mul);
      if (tm == kNoNode || rw.sole_consumer(term) != add) continue;
      const Node& tn = g.node(tm);
      if (tn.inputs.size() != 2) continue;
      for (int k = 0; k < 2; ++k) {
        if (!fusion::is_scalar(g, tn.inputs[static_cast<size_t>(1 - k)], 0.044715)) continue;
        std::vector<NodeId> cube_nodes;
        if (cube_of(rw, tn.inputs[static_cast<size_t>(k)], cube_nodes) != x) continue;
        nodes.insert(nodes.end(), {m, add, tm});
        nodes.insert(nodes.end(), cube_nodes.begin(), cube_nodes.end());
        return x;
      }
    }
  }
  return kNoValue;
}

// From a = 1 + f(x): the Mul chain multiplying a by x and 0.5 in any association. Returns the
// chain's output, or kNoValue.
ValueId product_with_half_x(Rewriter& rw, ValueId a, ValueId x, std::vector<NodeId>& nodes) {
  const Graph& g = rw.graph();
  bool have_x = false, have_half = false;
  ValueId cur = a;
  for (int step = 0; step < 2 && !(have_x && have_half); ++step) {
    const NodeId m = rw.sole_consumer_op(cur, OpKind::Mul);
    if (m == kNoNode) return kNoValue;
    const ValueId other = rw.other_input(m, cur);
    if (other == kNoValue) return kNoValue;
    if (other == x && !have_x) {
      have_x = true;
    } else if (fusion::is_scalar(g, other, 0.5) && !have_half) {
      have_half = true;
    } else if (const NodeId h = rw.producer_op(other, OpKind::Mul);
               h != kNoNode && !have_x && !have_half && rw.sole_consumer(other) == m &&
               rw.other_input(h, x) != kNoValue && fusion::is_scalar(g, rw.other_input(h, x), 0.5)) {
      have_x = have_half = true;  // (x * 0.5) computed aside
      nodes.push_back(h);
    } else {
      return kNoValue;
    }
    nodes.push_back(m);
    cur = g.node(m).outputs[0];
  }
  return have_x && have_half ? cur : kNoValue;
}

bool fuse_one(Rewriter& rw, NodeId f, bool tanh_form) {
  const Graph& g = rw.graph();
  const Node& fn = g.node(f);
  if (fn.inputs.size() != 1 || fn.outputs.size() != 1) return false;
  std::vector<NodeId> nodes{f};
  const ValueId x = tanh_form ? tanh_argument(rw, fn.inputs[0], nodes) : erf_argument(rw, fn.inputs[0], nodes);
  if (x == kNoValue) return false;
  const NodeId add = rw.sole_consumer_op(fn.outputs[0], OpKind::Add);
  if (add == kNoNode || !fusion::is_scalar(g, rw.other_input(add, fn.outputs[0]), 1.0)) return false;
  nodes.push_back(add);
  const ValueId out = product_with_half_x(rw, g.node(add).outputs[0], x, nodes);
  if (out == kNoValue) return false;
  Node gelu = fusion::make_node(OpKind::Gelu, fn.name + "/gelu", 20, {x}, {out});
  gelu.attributes.push_back(fusion::attr_string("approximate", tanh_form ? "tanh" : "none"));
  rw.replace(nodes, std::move(gelu));
  return true;
}

}  // namespace

Result<int> fuse_gelu(Graph& g) {
  Rewriter rw(g);
  int fused = 0;
  const NodeId count = g.node_count();
  for (NodeId n = 0; n < count; ++n) {
    if (g.node(n).removed) continue;
    if (g.node(n).op == OpKind::Erf && fuse_one(rw, n, false)) ++fused;
    else if (g.node(n).op == OpKind::Tanh && fuse_one(rw, n, true)) ++fused;
  }
  return fused;
}

}  // namespace graph
}  // inline namespace v1
}  // namespace obol
