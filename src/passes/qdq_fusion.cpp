// QDQ fusion: DequantizeLinear -> MatMul/Conv (-> QuantizeLinear) with constant int8 weights becomes
// one integer node, so quantized models run on the int8 GEMM instead of dequantizing to fp32.
//
//   MatMul(DQ(xq), DQ(Wq)) -> Q   =>  QLinearMatMul(xq, ..., Wq, ..., y_scale, y_zero_point)
//   MatMul(DQ(xq), DQ(Wq))        =>  com.microsoft MatMulIntegerToFloat(xq, Wq, sx, sw, zx, zw)
//   Conv(DQ(xq), DQ(Wq), B) -> Q  =>  QLinearConv(xq, ..., Wq, ..., y_scale, y_zero_point, B_int32)
//
// It runs before constant folding, which would otherwise turn DQ(Wq) into an fp32 constant. The
// DequantizeLinear nodes are left in place; dead-code elimination drops those nothing reads.
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "obol/graph/passes.hpp"

namespace obol {
inline namespace v1 {
namespace graph {

namespace {

struct QdqContext {
  Graph& g;
  std::vector<std::vector<NodeId>> consumers;
};

const ConstantData* constant_of(const Graph& g, ValueId v) { return v >= 0 ? g.value(v).constant.get() : nullptr; }

NodeId live_producer(const Graph& g, ValueId v, OpKind op) {
  if (v < 0) return kNoNode;
  const NodeId p = g.value(v).producer;
  if (p == kNoNode || g.node(p).removed || g.node(p).op != op) return kNoNode;
  return p;
}

bool is_q8(DType t) { return t == DType::u8 || t == DType::i8; }

// A DequantizeLinear node's operands, when its parameters are constants obol's integer kernels take.
struct DqInfo {
  ValueId x = kNoValue, scale = kNoValue, zero_point = kNoValue;  // zero_point may be kNoValue
  DType type = DType::invalid;                                     // x's dtype
  int64_t axis = 1;
  int64_t params = 1;  // 1 (per tensor) or the per-axis count
};

std::optional<DqInfo> dq_info(const Graph& g, NodeId n) {
  const Node& node = g.node(n);
  if (node.inputs.size() < 2 || node.inputs.size() > 3) return std::nullopt;
  auto block = node.attr_int("block_size", 0);
  auto axis = node.attr_int("axis", 1);
  if (!block.is_ok() || *block != 0 || !axis.is_ok()) return std::nullopt;
  DqInfo d;
  d.x = node.inputs[0];
  d.scale = node.inputs[1];
  d.zero_point = node.inputs.size() > 2 ? node.inputs[2] : kNoValue;
  d.axis = *axis;
  const ConstantData* s = constant_of(g, d.scale);
  if (!s || s->view.dtype() != DType::f32 || s->view.rank() > 1) return std::nullopt;
  d.params = s->view.numel();
  if (d.zero_point != kNoValue) {
    const ConstantData* z = constant_of(g, d.zero_point);
    if (!z || !is_q8(z->view.dtype()) || z->view.numel() != d.params) return std::nullopt;
    d.type = z->view.dtype();
  }
  const ConstantData* xc = constant_of(g, d.x);
  const DType xt = xc ? xc->view.dtype() : g.value(d.x).type.dtype;
  if (xt != DType::invalid) {
    if (d.type != DType::invalid && xt != d.type) return std::nullopt;
    d.type = xt;
  }
  if (!is_q8(d.type)) return std::nullopt;  // unknown (no zero point, untyped) or int32
  return d;
}

ValueId add_constant(Graph& g, const std::string& base, Tensor t) {
  auto owned = std::make_shared<Tensor>(std::move(t));
  auto c = std::make_shared<ConstantData>();
  c->view = owned->view();
  c->owner = owned;
  std::string name = base;
  for (int k = 1; g.find_value(name) != kNoValue; ++k) name = base + "_" + std::to_string(k);
  const ValueId v = g.add_value(name, ValueType::tensor(c->view.dtype(), c->view.shape()));
  g.value(v).constant = std::move(c);
  return v;
}

// The zero point value to pass on: the DQ's own, or a new zero constant of its type.
Result<ValueId> zero_point_or_zero(Graph& g, const DqInfo& d, const std::string& base) {
  if (d.zero_point != kNoValue) return d.zero_point;
  OBOL_ASSIGN_OR_RETURN(Tensor z, Tensor::zeros(d.type, Shape{}));
  return add_constant(g, base, std::move(z));
}

// The single live node reading v (once), when v is not a graph output.
NodeId sole_consumer(const QdqContext& c, ValueId v) {
  if (c.g.value(v).is_graph_output) return kNoNode;
  NodeId only = kNoNode;
  for (NodeId n : c.consumers[static_cast<size_t>(v)]) {
    if (c.g.node(n).removed) continue;
    if (only != kNoNode) return kNoNode;
    only = n;
  }
  if (only == kNoNode) return kNoNode;
  int reads = 0;
  for (ValueId in : c.g.node(only).inputs) reads += in == v ? 1 : 0;
  return reads == 1 ? only : kNoNode;
}

// A QuantizeLinear that alone reads v, with constant per-tensor parameters of a known 8-bit type.
NodeId output_quantize(const QdqContext& c, ValueId v) {
  const NodeId q = sole_consumer(c, v);
  if (q == kNoNode || c.g.node(q).op != OpKind::QuantizeLinear) return kNoNode;
  const Node& node = c.g.node(q);
  if (node.inputs.size() != 3 || node.inputs[0] != v || node.outputs.size() != 1) return kNoNode;
  auto block = node.attr_int("block_size", 0);
  if (!block.is_ok() || *block != 0) return kNoNode;
  const ConstantData* s = constant_of(c.g, node.inputs[1]);
  const ConstantData* z = constant_of(c.g, node.inputs[2]);
  if (!s || s->view.dtype() != DType::f32 || s->view.numel() != 1) return kNoNode;
  if (!z || !is_q8(z->view.dtype()) || z->view.numel() != 1) return kNoNode;
  return q;
}

Node new_node(OpKind op, const Node& like, std::vector<ValueId> inputs, std::vector<ValueId> outputs) {
  Node n;
  n.op = op;
  n.name = like.name + "_quant";
  n.domain = std::string(op_info(op).domain);
  n.opset = n.domain.empty() ? std::max(like.opset, 10) : 1;
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  return n;
}

// MatMul(DQ(xq), DQ(Wq)) (-> Q). Returns whether it rewrote node n.
Result<bool> fuse_matmul(QdqContext& c, NodeId n) {
  Graph& g = c.g;
  const Node mm = g.node(n);
  if (mm.inputs.size() != 2 || mm.outputs.size() != 1) return false;
  const NodeId dqa = live_producer(g, mm.inputs[0], OpKind::DequantizeLinear);
  const NodeId dqb = live_producer(g, mm.inputs[1], OpKind::DequantizeLinear);
  if (dqa == kNoNode || dqb == kNoNode) return false;
  const auto a = dq_info(g, dqa);
  const auto b = dq_info(g, dqb);
  if (!a || !b || a->params != 1) return false;
  const ConstantData* w = constant_of(g, b->x);
  if (!w || w->view.rank() != 2) return false;
  const int64_t N = w->view.shape()[1];
  if (b->params != 1 && (b->params != N || (b->axis != 1 && b->axis != -1))) return false;
  OBOL_ASSIGN_OR_RETURN(const ValueId za, zero_point_or_zero(g, *a, mm.name + "_a_zero_point"));
  OBOL_ASSIGN_OR_RETURN(const ValueId zb, zero_point_or_zero(g, *b, mm.name + "_b_zero_point"));
  const ValueId y = mm.outputs[0];
  const NodeId q = output_quantize(c, y);
  Node fused;
  if (q != kNoNode) {
    const Node& qn = g.node(q);
    fused = new_node(OpKind::QLinearMatMul, mm, {a->x, a->scale, za, b->x, b->scale, zb, qn.inputs[1], qn.inputs[2]},
                     {qn.outputs[0]});
    g.node(q).removed = true;
  } else {
    fused = new_node(OpKind::MsMatMulIntegerToFloat, mm, {a->x, b->x, a->scale, b->scale, za, zb}, {y});
  }
  g.node(n).removed = true;
  const NodeId id = g.add_node(std::move(fused));
  for (ValueId o : g.node(id).outputs) g.value(o).producer = id;  // the outputs of the removed nodes
  c.consumers.resize(static_cast<size_t>(g.value_count()));
  for (ValueId in : g.node(id).inputs)
    if (in >= 0) c.consumers[static_cast<size_t>(in)].push_back(id);
  return true;
}

// Conv(DQ(xq), DQ(Wq), B?) -> Q. The fp32 bias becomes int32 at scale x_scale * w_scale[m].
Result<bool> fuse_conv(QdqContext& c, NodeId n) {
  Graph& g = c.g;
  const Node conv = g.node(n);
  if (conv.inputs.size() < 2 || conv.inputs.size() > 3 || conv.outputs.size() != 1) return false;
  const NodeId dqx = live_producer(g, conv.inputs[0], OpKind::DequantizeLinear);
  const NodeId dqw = live_producer(g, conv.inputs[1], OpKind::DequantizeLinear);
  if (dqx == kNoNode || dqw == kNoNode) return false;
  const auto x = dq_info(g, dqx);
  const auto wq = dq_info(g, dqw);
  if (!x || !wq || x->params != 1) return false;
  const ConstantData* w = constant_of(g, wq->x);
  if (!w || w->view.rank() < 3) return false;
  const int64_t M = w->view.shape()[0];
  if (wq->params != 1 && (wq->params != M || wq->axis != 0)) return false;
  const NodeId q = output_quantize(c, conv.outputs[0]);
  if (q == kNoNode) return false;
  // The bias: an fp32 constant, or DQ of a constant (int32 bias as exporters write it).
  std::vector<float> bias;
  if (conv.inputs.size() == 3 && conv.inputs[2] != kNoValue) {
    const ConstantData* bc = constant_of(g, conv.inputs[2]);
    if (bc && bc->view.dtype() == DType::f32 && bc->view.numel() == M) {
      bias.assign(bc->view.data_as<const float>(), bc->view.data_as<const float>() + M);
    } else if (const NodeId dqb = live_producer(g, conv.inputs[2], OpKind::DequantizeLinear); dqb != kNoNode) {
      const Node& bn = g.node(dqb);
      const ConstantData* bi = constant_of(g, bn.inputs[0]);
      const ConstantData* bs = bn.inputs.size() > 1 ? constant_of(g, bn.inputs[1]) : nullptr;
      if (!bi || bi->view.dtype() != DType::i32 || bi->view.numel() != M || !bs || bs->view.dtype() != DType::f32 ||
          (bs->view.numel() != 1 && bs->view.numel() != M) || (bn.inputs.size() > 2 && bn.inputs[2] != kNoValue))
        return false;
      bias.resize(static_cast<size_t>(M));
      for (int64_t m = 0; m < M; ++m)
        bias[static_cast<size_t>(m)] = static_cast<float>(bi->view.data_as<const int32_t>()[m]) *
                                       bs->view.data_as<const float>()[bs->view.numel() == 1 ? 0 : m];
    } else {
      return false;
    }
  }
  OBOL_ASSIGN_OR_RETURN(const ValueId zx, zero_point_or_zero(g, *x, conv.name + "_x_zero_point"));
  OBOL_ASSIGN_OR_RETURN(const ValueId zw, zero_point_or_zero(g, *wq, conv.name + "_w_zero_point"));
  const Node qn = g.node(q);
  std::vector<ValueId> inputs = {x->x, x->scale, zx, wq->x, wq->scale, zw, qn.inputs[1], qn.inputs[2]};
  if (!bias.empty()) {
    const float sx = constant_of(g, x->scale)->view.data_as<const float>()[0];
    const ConstantData* sw = constant_of(g, wq->scale);
    OBOL_ASSIGN_OR_RETURN(Tensor bt, Tensor::empty(DType::i32, Shape{M}));
    for (int64_t m = 0; m < M; ++m) {
      const double s = static_cast<double>(sx) * sw->view.data_as<const float>()[sw->view.numel() == 1 ? 0 : m];
      const double v = s != 0 ? std::nearbyint(bias[static_cast<size_t>(m)] / s) : 0.0;
      bt.data_as<int32_t>()[m] = static_cast<int32_t>(std::max(-2147483648.0, std::min(2147483647.0, v)));
    }
    inputs.push_back(add_constant(g, conv.name + "_bias_int32", std::move(bt)));
  }
  Node fused = new_node(OpKind::QLinearConv, conv, std::move(inputs), {qn.outputs[0]});
  fused.attributes = conv.attributes;
  g.node(n).removed = true;
  g.node(q).removed = true;
  const NodeId id = g.add_node(std::move(fused));
  for (ValueId o : g.node(id).outputs) g.value(o).producer = id;  // the outputs of the removed nodes
  c.consumers.resize(static_cast<size_t>(g.value_count()));
  for (ValueId in : g.node(id).inputs)
    if (in >= 0) c.consumers[static_cast<size_t>(in)].push_back(id);
  return true;
}

}  // namespace

Result<int> fuse_qdq(Graph& g) {
  QdqContext c{g, g.consumers()};
  int fused = 0;
  const NodeId count = g.node_count();
  for (NodeId n = 0; n < count; ++n) {
    if (g.node(n).removed) continue;
    bool done = false;
    if (g.node(n).op == OpKind::MatMul) {
      OBOL_ASSIGN_OR_RETURN(done, fuse_matmul(c, n));
    } else if (g.node(n).op == OpKind::Conv) {
      OBOL_ASSIGN_OR_RETURN(done, fuse_conv(c, n));
    }
    fused += done ? 1 : 0;
  }
  return fused;
}

}  // namespace graph
}  // inline namespace v1
}  // namespace obol
