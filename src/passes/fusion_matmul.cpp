// MatMul (+ bias) (+ activation) -> FusedMatMulBias; Gemm + activation -> FusedGemm.
//
// Both run as one SGEMM whose epilogue adds the bias and applies the activation while the output
// tile is still in registers, instead of two or three passes over the output in memory.
#include "fusion_util.hpp"

namespace obol {
inline namespace v1 {
namespace graph {

namespace {

using fusion::Activation;
using fusion::Rewriter;

void add_activation_attributes(Node& n, const Activation& act) {
  n.attributes.push_back(fusion::attr_string("activation", act.name));
  if (!act.params.empty()) n.attributes.push_back(fusion::attr_float("activation_alpha", act.params[0]));
  if (act.params.size() > 1) n.attributes.push_back(fusion::attr_float("activation_beta", act.params[1]));
}

// The activation node reading `v` as its only intermediate use, if any.
NodeId activation_consumer(Rewriter& rw, ValueId v, std::optional<Activation>& act) {
  const NodeId c = rw.sole_consumer(v);
  if (c == kNoNode || rw.node(c).inputs.empty() || rw.node(c).inputs[0] != v) return kNoNode;
  if (rw.main_output(c) == kNoValue) return kNoNode;
  act = fusion::activation_of(rw.graph(), rw.node(c));
  return act ? c : kNoNode;
}

bool fuse_one_matmul(Rewriter& rw, NodeId mm) {
  const Graph& g = rw.graph();
  const Node& node = g.node(mm);
  if (node.inputs.size() != 2 || node.outputs.size() != 1) return false;
  const ConstantData* b = fusion::f32_constant(g, node.inputs[1]);
  if (!b || b->view.rank() != 2 || b->view.numel() == 0) return false;
  const int64_t N = b->view.shape()[1];
  std::vector<NodeId> chain{mm};
  ValueId out = node.outputs[0];
  ValueId bias = kNoValue;
  // + bias: Add(y, c) or Add(c, y) with c a constant 1-D f32 of N values.
  if (const NodeId add = rw.sole_consumer_op(out, OpKind::Add); add != kNoNode) {
    const ValueId c = rw.other_input(add, out);
    const ConstantData* cd = fusion::f32_constant(g, c);
    if (cd && cd->view.rank() == 1 && cd->view.shape()[0] == N) {
      bias = c;
      chain.push_back(add);
      out = g.node(add).outputs[0];
    }
  }
  std::optional<Activation> act;
  if (const NodeId a = activation_consumer(rw, out, act); a != kNoNode) {
    chain.push_back(a);
    out = g.node(a).outputs[0];
  }
  if (chain.size() == 1) return false;
  Node f = fusion::make_node(OpKind::ObolFusedMatMulBias, node.name + "/fused", 1, {node.inputs[0], node.inputs[1]}, {out});
  if (bias != kNoValue) f.inputs.push_back(bias);
  if (act) add_activation_attributes(f, *act);
  rw.replace(chain, std::move(f));
  return true;
}

bool fuse_one_gemm(Rewriter& rw, NodeId gm) {
  const Graph& g = rw.graph();
  const Node& node = g.node(gm);
  if (node.inputs.size() < 2 || node.outputs.size() != 1) return false;
  // FusedGemm's kernel is fp32; the constant B (pre-packed) or A's declared type must say so.
  const ValueType& ta = g.value(node.inputs[0]).type;
  if (!fusion::f32_constant(g, node.inputs[1]) && ta.dtype != DType::f32) return false;
  std::optional<Activation> act;
  const NodeId a = activation_consumer(rw, node.outputs[0], act);
  if (a == kNoNode) return false;
  Node f = fusion::make_node(OpKind::MsFusedGemm, node.name + "/fused", 1, node.inputs, {g.node(a).outputs[0]});
  f.attributes = node.attributes;
  add_activation_attributes(f, *act);
  rw.replace({gm, a}, std::move(f));
  return true;
}

}  // namespace

Result<int> fuse_matmul_bias_activation(Graph& g) {
  Rewriter rw(g);
  int fused = 0;
  const NodeId count = g.node_count();
  for (NodeId n = 0; n < count; ++n) {
    if (g.node(n).removed) continue;
    if (g.node(n).op == OpKind::MatMul && fuse_one_matmul(rw, n)) ++fused;
    else if (g.node(n).op == OpKind::Gemm && fuse_one_gemm(rw, n)) ++fused;
  }
  return fused;
}

}  // namespace graph
}  // inline namespace v1
}  // namespace obol
