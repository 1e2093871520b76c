// Conv + BatchNormalization (+ activation) -> Conv (or FusedConv) with folded weights and bias;
// Conv + activation -> FusedConv.
#include <cmath>
#include <vector>

#include "fusion_util.hpp"

namespace obol {
inline namespace v1 {
namespace graph {

namespace {

using fusion::Activation;
using fusion::Rewriter;

// The activation node that is the sole reader of `v`, if FusedConv can apply it.
NodeId conv_activation(Rewriter& rw, ValueId v, std::optional<Activation>& act) {
  const NodeId c = rw.sole_consumer(v);
  if (c == kNoNode || rw.node(c).inputs.empty() || rw.node(c).inputs[0] != v || rw.main_output(c) == kNoValue)
    return kNoNode;
  act = fusion::activation_of(rw.graph(), rw.node(c));
  return act ? c : kNoNode;
}

// Turns `conv` into FusedConv with `act`.
void set_activation(Node& conv, const Activation& act) {
  conv.op = OpKind::MsFusedConv;
  conv.domain = "com.microsoft";
  conv.opset = 1;
  conv.attributes.push_back(fusion::attr_string("activation", act.name));
  if (!act.params.empty()) conv.attributes.push_back(fusion::attr_floats("activation_params", act.params));
}

// Reads a constant f32 vector of exactly n values.
const float* channel_vector(const Graph& g, ValueId v, int64_t n) {
  const ConstantData* c = fusion::f32_constant(g, v);
  return c && c->view.rank() == 1 && c->view.numel() == n ? c->view.data_as<const float>() : nullptr;
}

bool fuse_one_conv_bn(Rewriter& rw, NodeId cv) {
  Graph& g = rw.graph();
  const Node& conv = g.node(cv);
  if (conv.inputs.size() < 2 || conv.outputs.size() != 1) return false;
  const ConstantData* w = fusion::f32_constant(g, conv.inputs[1]);
  if (!w || w->view.rank() < 3 || w->view.numel() == 0) return false;
  const int64_t M = w->view.shape()[0], per = w->view.numel() / M;
  const float* b0 = nullptr;
  if (conv.inputs.size() > 2 && conv.inputs[2] != kNoValue) {
    b0 = channel_vector(g, conv.inputs[2], M);
    if (!b0) return false;
  }
  const NodeId bn = rw.sole_consumer_op(conv.outputs[0], OpKind::BatchNormalization);
  if (bn == kNoNode) return false;
  const Node& bnode = g.node(bn);
  if (bnode.inputs.size() != 5 || bnode.inputs[0] != conv.outputs[0] || rw.main_output(bn) == kNoValue) return false;
  auto training = bnode.attr_int("training_mode", 0);
  auto eps_attr = bnode.attr_float("epsilon", 1e-5f);
  if (!training.is_ok() || *training != 0 || !eps_attr.is_ok()) return false;
  const float* scale = channel_vector(g, bnode.inputs[1], M);
  const float* shift = channel_vector(g, bnode.inputs[2], M);
  const float* mean = channel_vector(g, bnode.inputs[3], M);
  const float* var = channel_vector(g, bnode.inputs[4], M);
  if (!scale || !shift || !mean || !var) return false;
  const double eps = *eps_attr;

  auto nw = Tensor::empty(DType::f32, w->view.shape());
  auto nb = Tensor::empty(DType::f32, Shape{M});
  if (!nw.is_ok() || !nb.is_ok()) return false;
  const float* pw = w->view.data_as<const float>();
  float* qw = nw->data_as<float>();
  float* qb = nb->data_as<float>();
  for (int64_t m = 0; m < M; ++m) {
    const double s = static_cast<double>(scale[m]) / std::sqrt(static_cast<double>(var[m]) + eps);
    for (int64_t i = 0; i < per; ++i) qw[m * per + i] = static_cast<float>(pw[m * per + i] * s);
    qb[m] = static_cast<float>(((b0 ? b0[m] : 0.0) - mean[m]) * s + shift[m]);
  }
  std::vector<NodeId> chain{cv, bn};
  ValueId out = bnode.outputs[0];
  std::optional<Activation> act;
  if (const NodeId a = conv_activation(rw, out, act); a != kNoNode) {
    chain.push_back(a);
    out = g.node(a).outputs[0];
  }
  Node f = conv;  // same attributes (strides, pads, group, ...)
  f.name = conv.name + "/bn_folded";
  f.removed = false;
  const std::string base = conv.name.empty() ? std::string("conv") : conv.name;
  f.inputs = {conv.inputs[0], rw.add_constant(base + "/W_bn", std::move(*nw)), rw.add_constant(base + "/B_bn", std::move(*nb))};
  f.outputs = {out};
  if (act) set_activation(f, *act);
  rw.replace(chain, std::move(f));
  return true;
}

bool fuse_one_conv_act(Rewriter& rw, NodeId cv) {
  Graph& g = rw.graph();
  const Node& conv = g.node(cv);
  if (conv.inputs.size() < 2 || conv.outputs.size() != 1) return false;
  // The epilogue is fp32: the weights (constant) or the input's declared type must say so.
  if (!fusion::f32_constant(g, conv.inputs[1]) && g.value(conv.inputs[0]).type.dtype != DType::f32) return false;
  std::optional<Activation> act;
  const NodeId a = conv_activation(rw, conv.outputs[0], act);
  if (a == kNoNode) return false;
  Node f = conv;
  f.name = conv.name + "/fused";
  f.removed = false;
  f.outputs = {g.node(a).outputs[0]};
  set_activation(f, *act);
  rw.replace({cv, a}, std::move(f));
  return true;
}

}  // namespace

Result<int> fuse_conv_batchnorm(Graph& g) {
  Rewriter rw(g);
  int fused = 0;
  const NodeId count = g.node_count();
  for (NodeId n = 0; n < count; ++n)
    if (!g.node(n).removed && g.node(n).op == OpKind::Conv && fuse_one_conv_bn(rw, n)) ++fused;
  return fused;
}

Result<int> fuse_conv_activation(Graph& g) {
  Rewriter rw(g);
  int fused = 0;
  const NodeId count = g.node_count();
  for (NodeId n = 0; n < count; ++n)
    if (!g.node(n).removed && g.node(n).op == OpKind::Conv && fuse_one_conv_act(rw, n)) ++fused;
  return fused;
}

}  // namespace graph
}  // inline namespace v1
}  // namespace obol
