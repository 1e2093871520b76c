// Scaled dot-product attention -> ScaledDotProductAttention (obol):
//
//   s = MatMul(Q, Kt);  s = s * c | s / c | c * s   (optional, c a constant scalar)
//   s = s + mask | mask + s                          (optional, any f32 tensor)
//   p = Softmax(s, axis = last);  out = MatMul(p, V)
//
// Q, Kt and V must be known to have rank >= 2 (declared or inferred), so that MatMul's 1-D
// promotion never applies; the mask must have the scores' rank or less.
#include "fusion_util.hpp"

namespace obol {
inline namespace v1 {
namespace graph {

namespace {

using fusion::Rewriter;

bool rank_at_least_2(const Graph& g, ValueId v) {
  const ValueType& t = g.value(v).type;
  return t.rank_known && t.dims.size() >= 2;
}

bool fuse_one(Rewriter& rw, NodeId sm) {
  const Graph& g = rw.graph();
  const Node& soft = g.node(sm);
  if (soft.inputs.size() != 1 || soft.outputs.size() != 1) return false;
  auto axis = soft.attr_int("axis", soft.opset > 0 && soft.opset < 13 ? 1 : -1);
  if (!axis.is_ok()) return false;
  const ValueId s = soft.inputs[0];
  const ValueType& st = g.value(s).type;
  // Before opset 13 Softmax flattens at `axis`; over the last axis that is the same function.
  if (!fusion::is_last_axis(st, *axis)) return false;
  std::vector<NodeId> nodes{sm};
  ValueId cur = s, mask = kNoValue;
  float scale = 1.0f;
  // Walk up from the softmax input: Add(mask), then Mul/Div(scale), then MatMul.
  NodeId p = rw.producer(cur);
  if (p != kNoNode && g.node(p).op == OpKind::Add && rw.sole_consumer(cur) == sm) {
    const Node& add = g.node(p);
    if (add.inputs.size() != 2) return false;
    // The scores side is the one a Mul/Div/MatMul produces.
    int side = -1;
    for (int i = 0; i < 2; ++i) {
      const NodeId q = rw.producer(add.inputs[static_cast<size_t>(i)]);
      if (q != kNoNode && (g.node(q).op == OpKind::MatMul || g.node(q).op == OpKind::Mul || g.node(q).op == OpKind::Div))
        side = side == -1 ? i : side;
    }
    if (side < 0) return false;
    mask = add.inputs[static_cast<size_t>(1 - side)];
    const ValueType& mt = g.value(mask).type;
    if (mt.dtype != DType::f32 || !mt.rank_known || !st.rank_known || mt.dims.size() > st.dims.size()) return false;
    nodes.push_back(p);
    cur = add.inputs[static_cast<size_t>(side)];
    if (rw.sole_consumer(cur) != p) return false;
    p = rw.producer(cur);
  } else if (rw.sole_consumer(cur) != sm) {
    return false;
  }
  if (p != kNoNode && (g.node(p).op == OpKind::Mul || g.node(p).op == OpKind::Div)) {
    const Node& sc = g.node(p);
    if (sc.inputs.size() != 2) return false;
    int side = -1;
    for (int i = 0; i < 2; ++i)
      if (rw.producer_op(sc.inputs[static_cast<size_t>(i)], OpKind::MatMul) != kNoNode &&
          fusion::scalar_constant(g, sc.inputs[static_cast<size_t>(1 - i)]))
        side = i;
    if (side < 0 || (sc.op == OpKind::Div && side != 0)) return false;
    const double c = *fusion::scalar_constant(g, sc.inputs[static_cast<size_t>(1 - side)]);
    if (sc.op == OpKind::Div && c == 0.0) return false;
    scale = static_cast<float>(sc.op == OpKind::Div ? 1.0 / c : c);
    nodes.push_back(p);
    cur = sc.inputs[static_cast<size_t>(side)];
    if (rw.sole_consumer(cur) != p) return false;
    p = rw.producer(cur);
  }
  if (p == kNoNode || g.node(p).op != OpKind::MatMul || g.node(p).inputs.size() != 2) return false;
  const ValueId q = g.node(p).inputs[0], kt = g.node(p).inputs[1];
  nodes.push_back(p);
  if (mask != kNoValue) {
    // The mask must not widen the scores' last two dimensions (it broadcasts into them).
    const ValueType& raw = g.value(g.node(p).outputs[0]).type;
    if (!raw.rank_known || raw.dims.size() < 2 || raw.dims.size() != st.dims.size()) return false;
    for (size_t i = raw.dims.size() - 2; i < raw.dims.size(); ++i) {
      const Dim& a = raw.dims[i];
      const Dim& b = st.dims[i];
      if (!(a == b && (a.is_known() || !a.symbol.empty()))) return false;
    }
  }
  const NodeId mm2 = rw.sole_consumer_op(soft.outputs[0], OpKind::MatMul);
  if (mm2 == kNoNode || g.node(mm2).inputs[0] != soft.outputs[0] || g.node(mm2).outputs.size() != 1) return false;
  const ValueId v = g.node(mm2).inputs[1];
  nodes.push_back(mm2);
  for (ValueId t : {q, kt, v})
    if (g.value(t).type.dtype != DType::f32 || !rank_at_least_2(g, t)) return false;
  Node f = fusion::make_node(OpKind::ObolAttention, g.node(p).name + "/attention", 1, {q, kt, v},
                             {g.node(mm2).outputs[0]});
  if (mask != kNoValue) f.inputs.push_back(mask);
  f.attributes.push_back(fusion::attr_float("scale", scale));
  rw.replace(nodes, std::move(f));
  return true;
}

}  // namespace

Result<int> fuse_attention(Graph& g) {
  Rewriter rw(g);
  int fused = 0;
  const NodeId count = g.node_count();
  for (NodeId n = 0; n < count; ++n)
    if (!g.node(n).removed && g.node(n).op == OpKind::Softmax && fuse_one(rw, n)) ++fused;
  return fused;
}

}  // namespace graph
}  // inline namespace v1
}  // namespace obol
