// Decomposed layer normalisation over the last axis -> LayerNormalization (ai.onnx, opset 17):
//
//   mean = ReduceMean(x, [-1]);  d = x - mean;  var = ReduceMean(d^2, [-1])   (Pow(d, 2) or d * d)
//   y = d / Sqrt(var + eps)      (or d * Reciprocal(Sqrt(var + eps)))
//   out = y * gamma (+ beta)     gamma, beta constant f32 vectors (rank <= 1)
#include "fusion_util.hpp"

namespace obol {
inline namespace v1 {
namespace graph {

namespace {

using fusion::Rewriter;

// True for ReduceMean over exactly the last axis of its input, keeping dimensions.
bool reduces_last_axis(const Graph& g, const Node& n) {
  if (n.op != OpKind::ReduceMean || n.inputs.empty() || n.outputs.size() != 1) return false;
  auto keep = n.attr_int("keepdims", 1);
  if (!keep.is_ok() || *keep != 1) return false;
  std::vector<int64_t> axes;
  if (n.inputs.size() > 1 && n.inputs[1] != kNoValue) {
    auto c = fusion::int_constant(g, n.inputs[1]);
    if (!c) return false;
    axes = *c;
  } else {
    auto a = n.attr_ints("axes");
    if (!a.is_ok()) return false;
    axes = *a;
  }
  return axes.size() == 1 && fusion::is_last_axis(g.value(n.inputs[0]).type, axes[0]);
}

// A constant f32 parameter usable as LayerNormalization's Scale or B: rank 0 or 1.
bool ln_parameter(const Graph& g, ValueId v) {
  const ConstantData* c = fusion::f32_constant(g, v);
  return c && c->view.rank() <= 1 && c->view.numel() >= 1;
}

bool fuse_one(Rewriter& rw, NodeId r1) {
  const Graph& g = rw.graph();
  const Node& mean_node = g.node(r1);
  if (!reduces_last_axis(g, mean_node)) return false;
  const ValueId x = mean_node.inputs[0], mean = mean_node.outputs[0];
  const NodeId sub = rw.sole_consumer_op(mean, OpKind::Sub);
  if (sub == kNoNode || g.node(sub).inputs[0] != x || g.node(sub).inputs[1] != mean) return false;
  const ValueId d = g.node(sub).outputs[0];
  if (d == kNoValue || g.value(d).is_graph_output) return false;
  const auto& dc = rw.consumers(d);
  if (dc.size() != 2) return false;
  // One reader of d squares it, the other divides it (or multiplies it by a reciprocal).
  NodeId sq = kNoNode, div = kNoNode;
  for (NodeId c : dc) {
    const Node& n = g.node(c);
    if (n.inputs.size() != 2) return false;
    if (n.op == OpKind::Pow && n.inputs[0] == d && fusion::is_scalar(g, n.inputs[1], 2.0)) sq = c;
    else if (n.op == OpKind::Mul && n.inputs[0] == d && n.inputs[1] == d) sq = c;
    else if ((n.op == OpKind::Div && n.inputs[0] == d) || n.op == OpKind::Mul) div = c;
  }
  if (sq == kNoNode || div == kNoNode || sq == div) return false;
  std::vector<NodeId> nodes{r1, sub, sq};
  const NodeId r2 = rw.sole_consumer_op(g.node(sq).outputs[0], OpKind::ReduceMean);
  if (r2 == kNoNode || !reduces_last_axis(g, g.node(r2))) return false;
  nodes.push_back(r2);
  const ValueId var = g.node(r2).outputs[0];
  const NodeId add_eps = rw.sole_consumer_op(var, OpKind::Add);
  if (add_eps == kNoNode) return false;
  const auto eps = fusion::scalar_constant(g, rw.other_input(add_eps, var));
  if (!eps || *eps < 0) return false;
  nodes.push_back(add_eps);
  const NodeId sqrt = rw.sole_consumer_op(g.node(add_eps).outputs[0], OpKind::Sqrt);
  if (sqrt == kNoNode) return false;
  nodes.push_back(sqrt);
  const ValueId sd = g.node(sqrt).outputs[0];
  if (g.node(div).op == OpKind::Div) {
    if (g.node(div).inputs[1] != sd || rw.sole_consumer(sd) != div) return false;
  } else {
    const NodeId rec = rw.sole_consumer_op(sd, OpKind::Reciprocal);
    if (rec == kNoNode || rw.other_input(div, d) != g.node(rec).outputs[0] ||
        rw.sole_consumer(g.node(rec).outputs[0]) != div)
      return false;
    nodes.push_back(rec);
  }
  nodes.push_back(div);
  const ValueId y = g.node(div).outputs[0];
  const NodeId mul = rw.sole_consumer_op(y, OpKind::Mul);
  if (mul == kNoNode || !ln_parameter(g, rw.other_input(mul, y))) return false;
  const ValueId gamma = rw.other_input(mul, y);
  nodes.push_back(mul);
  ValueId out = g.node(mul).outputs[0], beta = kNoValue;
  if (const NodeId add = rw.sole_consumer_op(out, OpKind::Add);
      add != kNoNode && ln_parameter(g, rw.other_input(add, out))) {
    beta = rw.other_input(add, out);
    nodes.push_back(add);
    out = g.node(add).outputs[0];
  }
  Node ln = fusion::make_node(OpKind::LayerNormalization, mean_node.name + "/layer_norm", 17, {x, gamma}, {out});
  if (beta != kNoValue) ln.inputs.push_back(beta);
  ln.attributes.push_back(fusion::attr_int("axis", -1));
  ln.attributes.push_back(fusion::attr_float("epsilon", static_cast<float>(*eps)));
  rw.replace(nodes, std::move(ln));
  return true;
}

}  // namespace

Result<int> fuse_layer_norm(Graph& g) {
  Rewriter rw(g);
  int fused = 0;
  const NodeId count = g.node_count();
  for (NodeId n = 0; n < count; ++n)
    if (!g.node(n).removed && g.node(n).op == OpKind::ReduceMean && fuse_one(rw, n)) ++fused;
  return fused;
}

}  // namespace graph
}  // inline namespace v1
}  // namespace obol
