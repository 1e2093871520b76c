// quantize_graph(): MatMul/Gemm (and, for static int8, Conv) with constant fp32 weights rewritten to
// quantized standard ONNX (see obol/quant/quantizer.hpp for the forms).
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "obol/obol.hpp"
#include "obol/quant/blocks.hpp"
#include "obol/quant/quantizer.hpp"

namespace obol {
inline namespace v1 {
namespace quant {

namespace {

using graph::Graph;
using graph::Node;
using graph::NodeId;
using graph::OpKind;
using graph::ValueId;

// One node to quantize: y = x W (+ bias) with W [K, N] (alpha folded in), or a Conv.
struct Target {
  NodeId node = graph::kNoNode;
  NodeId bias_add = graph::kNoNode;  // an Add folded into the quantized node, or kNoNode
  ValueId x = graph::kNoValue, out = graph::kNoValue;
  bool conv = false;
  int64_t K = 0, N = 0;
  std::vector<float> w;     // [K, N] row-major (MatMul/Gemm); the Conv weight as stored
  Shape w_shape;            // Conv only
  std::vector<float> bias;  // empty when none
};

using graph::attr_int;

ValueId add_constant(Graph& g, const std::string& base, Tensor t) {
  auto owned = std::make_shared<Tensor>(std::move(t));
  auto c = std::make_shared<graph::ConstantData>();
  c->view = owned->view();
  c->owner = owned;
  std::string name = base;
  for (int k = 1; g.find_value(name) != graph::kNoValue; ++k) name = base + "_" + std::to_string(k);
  const ValueId v = g.add_value(name, graph::ValueType::tensor(c->view.dtype(), c->view.shape()));
  g.value(v).constant = std::move(c);
  return v;
}

template <class T>
Result<ValueId> add_constant_from(Graph& g, const std::string& base, const Shape& s, const std::vector<T>& v) {
  OBOL_ASSIGN_OR_RETURN(Tensor t, Tensor::empty(dtype_of_v<T>, s));
  if (!v.empty()) std::memcpy(t.data(), v.data(), v.size() * sizeof(T));
  return add_constant(g, base, std::move(t));
}

ValueId add_value_like(Graph& g, const std::string& base, graph::ValueType type) {
  std::string name = base;
  for (int k = 1; g.find_value(name) != graph::kNoValue; ++k) name = base + "_" + std::to_string(k);
  return g.add_value(name, std::move(type));
}

Node make_node(OpKind op, std::string name, int opset, std::vector<ValueId> in, std::vector<ValueId> out) {
  Node n;
  n.op = op;
  n.name = std::move(name);
  n.domain = std::string(graph::op_info(op).domain);
  n.opset = opset;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

// Adds a node that takes over outputs of removed nodes (add_node only claims unproduced values).
void add_replacing(Graph& g, Node n) {
  const NodeId id = g.add_node(std::move(n));
  for (ValueId o : g.node(id).outputs)
    if (o >= 0) g.value(o).producer = id;
}

const graph::ConstantData* f32_const(const Graph& g, ValueId v) {
  if (v < 0) return nullptr;
  const graph::ConstantData* c = g.value(v).constant.get();
  return c && c->view.dtype() == DType::f32 ? c : nullptr;
}

// An Add that alone reads `y` and adds a constant f32 vector of N values: its other operand's data.
const float* foldable_bias(const Graph& g, const std::vector<std::vector<NodeId>>& cons, ValueId y, int64_t N,
                           NodeId& add) {
  add = graph::kNoNode;
  if (g.value(y).is_graph_output) return nullptr;
  const auto& c = cons[static_cast<size_t>(y)];
  if (c.size() != 1 || g.node(c[0]).op != OpKind::Add || g.node(c[0]).inputs.size() != 2) return nullptr;
  const Node& n = g.node(c[0]);
  const ValueId other = n.inputs[0] == y ? n.inputs[1] : n.inputs[0];
  if (other == y) return nullptr;
  const graph::ConstantData* b = f32_const(g, other);
  if (!b || b->view.rank() != 1 || b->view.numel() != N) return nullptr;
  add = c[0];
  return b->view.data_as<const float>();
}

// Finds the nodes to quantize, with the reason for each one left in fp32.
std::vector<Target> find_targets(const Graph& g, const QuantizeOptions& o, QuantizeReport& r) {
  const auto cons = g.consumers();
  const bool static_int8 = o.weights == WeightFormat::int8 && o.activations == ActivationMode::calibrated;
  std::vector<Target> targets;
  for (NodeId id = 0; id < g.node_count(); ++id) {
    const Node& n = g.node(id);
    if (n.removed) continue;
    if (n.op != OpKind::MatMul && n.op != OpKind::Gemm && n.op != OpKind::Conv) continue;
    if (n.inputs.size() < 2 || n.outputs.size() != 1) continue;
    const graph::ConstantData* w = f32_const(g, n.inputs[1]);
    if (!w || g.value(n.inputs[0]).constant) continue;  // activation x activation: stays fp32
    auto keep = [&](const std::string& why) {
      ++r.kept_float_nodes;
      r.notes.push_back(str_cat(graph::op_info(n.op).op_type, " '", n.name, "' kept in fp32: ", why));
    };
    if (w->view.numel() < o.min_weight_elements) {
      keep(str_cat("weight of ", w->view.numel(), " elements is below the minimum of ", o.min_weight_elements));
      continue;
    }
    Target t;
    t.node = id;
    t.x = n.inputs[0];
    t.out = n.outputs[0];
    if (n.op == OpKind::Conv) {
      if (!static_int8) {
        keep(o.weights == WeightFormat::int4 ? "int4 covers MatMul/Gemm only" : "dynamic int8 covers MatMul/Gemm only");
        continue;
      }
      t.conv = true;
      t.w_shape = w->view.shape();
      t.w.assign(w->view.data_as<const float>(), w->view.data_as<const float>() + w->view.numel());
      if (n.inputs.size() > 2 && n.inputs[2] != graph::kNoValue) {
        const graph::ConstantData* b = f32_const(g, n.inputs[2]);
        if (!b) {
          keep("its bias is not a constant");
          continue;
        }
        t.bias.assign(b->view.data_as<const float>(), b->view.data_as<const float>() + b->view.numel());
      }
      targets.push_back(std::move(t));
      continue;
    }
    if (w->view.rank() != 2) {
      keep(str_cat("weight of shape ", w->view.shape().to_string(), " is not 2-D"));
      continue;
    }
    const Shape& ws = w->view.shape();
    const float* wp = w->view.data_as<const float>();
    float alpha = 1.0f, beta = 1.0f;
    bool trans_b = false;
    if (n.op == OpKind::Gemm) {
      const auto ta = n.attr_int("transA", 0);
      const auto tb = n.attr_int("transB", 0);
      const auto al = n.attr_float("alpha", 1.0f);
      const auto be = n.attr_float("beta", 1.0f);
      if (!ta.is_ok() || !tb.is_ok() || !al.is_ok() || !be.is_ok() || *ta != 0) {
        keep("transA = 1 (or malformed attributes)");
        continue;
      }
      trans_b = *tb != 0;
      alpha = *al;
      beta = *be;
    }
    t.K = trans_b ? ws[1] : ws[0];
    t.N = trans_b ? ws[0] : ws[1];
    t.w.resize(static_cast<size_t>(t.K * t.N));
    for (int64_t k = 0; k < t.K; ++k)
      for (int64_t j = 0; j < t.N; ++j)
        t.w[static_cast<size_t>(k * t.N + j)] = alpha * (trans_b ? wp[j * t.K + k] : wp[k * t.N + j]);
    if (n.op == OpKind::Gemm && n.inputs.size() > 2 && n.inputs[2] != graph::kNoValue) {
      const graph::ConstantData* c = f32_const(g, n.inputs[2]);
      if (!c || c->view.numel() != t.N || c->view.rank() < 1 || c->view.rank() > 2) {
        keep("its C is not a constant row of N values");
        continue;
      }
      t.bias.resize(static_cast<size_t>(t.N));
      for (int64_t j = 0; j < t.N; ++j) t.bias[static_cast<size_t>(j)] = beta * c->view.data_as<const float>()[j];
    } else if (n.op == OpKind::MatMul && !static_int8) {
      NodeId add = graph::kNoNode;
      if (const float* b = foldable_bias(g, cons, t.out, t.N, add)) {
        t.bias.assign(b, b + t.N);
        t.bias_add = add;
        t.out = g.node(add).outputs[0];
      }
    }
    if (o.weights == WeightFormat::int4 && n.op == OpKind::MatMul) {
      const graph::ValueType& xt = g.value(t.x).type;
      if (xt.rank_known && xt.dims.size() < 2) {
        keep("a 1-D activation (MatMulNBits needs rank >= 2)");
        continue;
      }
    }
    targets.push_back(std::move(t));
  }
  return targets;
}

// Per-output-channel symmetric int8: scale = max|w| / qmax, codes in [-qmax, qmax] (qmax = 127), or
// in [-64, 63] with `reduce_range` (qmax = 63; -64 is never produced since |w| / scale <= 63).
// `channel_of(i)` gives element i's channel; channels count `C`.
template <class F>
void quantize_symmetric(const std::vector<float>& w, int64_t C, F&& channel_of, bool reduce_range,
                        std::vector<int8_t>& q, std::vector<float>& scale) {
  const float qmax = reduce_range ? 63.0f : 127.0f;
  scale.assign(static_cast<size_t>(C), 0.0f);
  for (size_t i = 0; i < w.size(); ++i) {
    float& s = scale[static_cast<size_t>(channel_of(i))];
    s = std::max(s, std::fabs(w[i]));
  }
  for (float& s : scale) s = s > 0 ? s / qmax : 1.0f;
  q.resize(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    const float v = std::nearbyint(w[i] / scale[static_cast<size_t>(channel_of(i))]);
    q[i] = static_cast<int8_t>(std::max(-qmax, std::min(qmax, v)));
  }
}

// Activation ranges of `values` over the calibration inputs (the model run with those values as
// extra outputs).
Result<std::map<ValueId, std::pair<float, float>>> calibrate(const Graph& fp32, const std::vector<ValueId>& values,
                                                             const std::vector<std::vector<Tensor>>& inputs,
                                                             const QuantizeOptions& o) {
  OBOL_CHECK_OR_RETURN(!inputs.empty(), invalid_argument, "quantize", "static activations need calibration inputs");
  auto g = std::make_shared<Graph>(fp32);
  const size_t first_extra = g->outputs().size();
  for (ValueId v : values) g->add_output(v);
  ModelOptions mo;
  mo.opt_level = OptLevel::basic;
  OBOL_ASSIGN_OR_RETURN(std::shared_ptr<const Model> model, Model::from_graph(g, mo));
  OBOL_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::create(model));
  std::map<ValueId, std::pair<float, float>> range;
  for (ValueId v : values) range[v] = {0.0f, 0.0f};  // ranges always include 0
  for (size_t s = 0; s < inputs.size(); ++s) {
    std::vector<TensorView> feeds(inputs[s].begin(), inputs[s].end());
    std::vector<Tensor> outs;
    OBOL_RETURN_IF_ERROR(session->run(feeds, outs));
    for (size_t i = 0; i < values.size(); ++i) {
      const Tensor& t = outs[first_extra + i];
      if (t.dtype() != DType::f32) continue;
      auto& [lo, hi] = range[values[i]];
      for (int64_t k = 0; k < t.numel(); ++k) {
        const float x = t.data_as<const float>()[k];
        if (std::isfinite(x)) {
          lo = std::min(lo, x);
          hi = std::max(hi, x);
        }
      }
    }
    if (o.progress) o.progress("calibrate", static_cast<int>(s + 1), static_cast<int>(inputs.size()));
  }
  return range;
}

}  // namespace

Result<std::shared_ptr<Graph>> quantize_graph(const Graph& fp32, const QuantizeOptions& o,
                                              const std::vector<std::vector<Tensor>>& calibration,
                                              QuantizeReport* report) {
  QuantizeReport local;
  QuantizeReport& r = report ? *report : local;
  if (o.weights == WeightFormat::int4) OBOL_RETURN_IF_ERROR(nbits_layout(o.block_size, 1, o.block_size).status());
  auto g = std::make_shared<Graph>(fp32);
  OBOL_RETURN_IF_ERROR(g->validate());
  std::vector<Target> targets = find_targets(*g, o, r);
  const bool static_int8 = o.weights == WeightFormat::int8 && o.activations == ActivationMode::calibrated;

  std::map<ValueId, std::pair<float, float>> ranges;
  if (static_int8 && !targets.empty()) {
    std::vector<ValueId> xs;
    for (const Target& t : targets)
      if (std::find(xs.begin(), xs.end(), t.x) == xs.end()) xs.push_back(t.x);
    OBOL_ASSIGN_OR_RETURN(ranges, calibrate(fp32, xs, calibration, o));
    r.calibration_samples = static_cast<int>(calibration.size());
  }

  int max_opset = 0;
  for (NodeId id = 0; id < g->node_count(); ++id)
    if (g->node(id).domain.empty() || g->node(id).domain == "ai.onnx") max_opset = std::max(max_opset, g->node(id).opset);
  const int qdq_opset = std::max(max_opset, 13);  // per-axis DequantizeLinear needs opset 13
  std::map<ValueId, ValueId> dequantized;  // activation -> DQ(Q(activation)), shared by its readers

  for (const Target& t : targets) {
    const Node orig = g->node(t.node);
    const std::string base = orig.name.empty() ? g->value(orig.outputs[0]).name : orig.name;
    std::vector<ValueId> bias_in;
    if (!t.bias.empty() && !t.conv) {
      OBOL_ASSIGN_OR_RETURN(ValueId b, add_constant_from(*g, base + "_bias", Shape{t.N}, t.bias));
      bias_in.push_back(b);
    }
    if (o.weights == WeightFormat::int4) {
      OBOL_ASSIGN_OR_RETURN(const NBitsLayout l, nbits_layout(t.K, t.N, o.block_size));
      std::vector<uint8_t> b(static_cast<size_t>(l.b_bytes())), zp(static_cast<size_t>(l.zp_bytes()));
      std::vector<float> sc(static_cast<size_t>(l.scales_count()));
      OBOL_RETURN_IF_ERROR(nbits_quantize(l, t.w.data(), t.N, false, b.data(), sc.data(), zp.data()));
      OBOL_ASSIGN_OR_RETURN(ValueId vb, add_constant_from(*g, base + "_B4", Shape{t.N, l.k_blocks(), l.blob_bytes()}, b));
      OBOL_ASSIGN_OR_RETURN(ValueId vs, add_constant_from(*g, base + "_scales", Shape{l.scales_count()}, sc));
      OBOL_ASSIGN_OR_RETURN(ValueId vz, add_constant_from(*g, base + "_zero_points", Shape{l.zp_bytes()}, zp));
      std::vector<ValueId> in{t.x, vb, vs, vz};
      if (!bias_in.empty()) {
        in.push_back(graph::kNoValue);  // g_idx
        in.push_back(bias_in[0]);
      }
      Node n = make_node(OpKind::MsMatMulNBits, base + "_q4", 1, std::move(in), {t.out});
      n.attributes = {attr_int("K", t.K), attr_int("N", t.N), attr_int("bits", 4), attr_int("block_size", o.block_size)};
      g->node(t.node).removed = true;
      if (t.bias_add != graph::kNoNode) g->node(t.bias_add).removed = true;
      add_replacing(*g, std::move(n));
      ++r.quantized_nodes;
      continue;
    }
    if (!static_int8) {
      std::vector<int8_t> q;
      std::vector<float> sc;
      const int64_t N = t.N;
      quantize_symmetric(t.w, N, [N](size_t i) { return static_cast<int64_t>(i) % N; }, o.reduce_range, q, sc);
      OBOL_ASSIGN_OR_RETURN(ValueId vq, add_constant_from(*g, base + "_W8", Shape{t.K, t.N}, q));
      OBOL_ASSIGN_OR_RETURN(ValueId vs, add_constant_from(*g, base + "_W8_scale", Shape{t.N}, sc));
      std::vector<ValueId> in{t.x, vq, vs};
      if (!bias_in.empty()) {
        in.push_back(graph::kNoValue);  // b_zero_point: symmetric
        in.push_back(bias_in[0]);
      }
      Node n = make_node(OpKind::MsDynamicQuantizeMatMul, base + "_dq8", 1, std::move(in), {t.out});
      g->node(t.node).removed = true;
      if (t.bias_add != graph::kNoNode) g->node(t.bias_add).removed = true;
      add_replacing(*g, std::move(n));
      ++r.quantized_nodes;
      continue;
    }
    // Static int8: QDQ around the unchanged float op.
    ValueId xdq;
    if (auto it = dequantized.find(t.x); it != dequantized.end()) {
      xdq = it->second;
    } else {
      const auto [lo, hi] = ranges[t.x];
      const float scale = hi > lo ? (hi - lo) / 255.0f : 1.0f;
      const float zp = std::nearbyint(std::min(255.0f, std::max(0.0f, -lo / scale)));
      const std::string xn = g->value(t.x).name;
      OBOL_ASSIGN_OR_RETURN(ValueId vs, add_constant_from(*g, xn + "_scale", Shape{}, std::vector<float>{scale}));
      OBOL_ASSIGN_OR_RETURN(ValueId vz, add_constant_from(*g, xn + "_zero_point", Shape{},
                                                          std::vector<uint8_t>{static_cast<uint8_t>(zp)}));
      graph::ValueType qt = g->value(t.x).type;
      qt.dtype = DType::u8;
      const ValueId xq = add_value_like(*g, xn + "_quantized", qt);
      xdq = add_value_like(*g, xn + "_dequantized", g->value(t.x).type);
      g->add_node(make_node(OpKind::QuantizeLinear, xn + "_QuantizeLinear", qdq_opset, {t.x, vs, vz}, {xq}));
      g->add_node(make_node(OpKind::DequantizeLinear, xn + "_DequantizeLinear", qdq_opset, {xq, vs, vz}, {xdq}));
      dequantized[t.x] = xdq;
    }
    std::vector<int8_t> q;
    std::vector<float> sc;
    Shape wq_shape;
    int64_t axis = 1;
    if (t.conv) {
      const int64_t M = t.w_shape[0], per = static_cast<int64_t>(t.w.size()) / std::max<int64_t>(1, M);
      quantize_symmetric(t.w, M, [per](size_t i) { return static_cast<int64_t>(i) / per; }, o.reduce_range, q, sc);
      wq_shape = t.w_shape;
      axis = 0;
    } else {
      const int64_t N = t.N;
      quantize_symmetric(t.w, N, [N](size_t i) { return static_cast<int64_t>(i) % N; }, o.reduce_range, q, sc);
      wq_shape = Shape{t.K, t.N};
    }
    OBOL_ASSIGN_OR_RETURN(ValueId vq, add_constant_from(*g, base + "_W8", wq_shape, q));
    OBOL_ASSIGN_OR_RETURN(ValueId vs, add_constant_from(*g, base + "_W8_scale", Shape{static_cast<int64_t>(sc.size())}, sc));
    const ValueId wdq = add_value_like(*g, base + "_W8_dequantized", graph::ValueType::tensor(DType::f32, wq_shape));
    Node dq = make_node(OpKind::DequantizeLinear, base + "_W8_DequantizeLinear", qdq_opset, {vq, vs}, {wdq});
    dq.attributes = {attr_int("axis", axis)};
    g->add_node(std::move(dq));
    if (t.conv) {
      Node c = orig;
      c.inputs[0] = xdq;
      c.inputs[1] = wdq;
      g->node(t.node).removed = true;
      add_replacing(*g, std::move(c));
    } else if (!bias_in.empty()) {  // Gemm with C: MatMul then Add
      graph::ValueType yt = g->value(t.out).type;
      const ValueId mm = add_value_like(*g, base + "_matmul", yt);
      g->node(t.node).removed = true;
      g->add_node(make_node(OpKind::MatMul, base + "_MatMul", qdq_opset, {xdq, wdq}, {mm}));
      add_replacing(*g, make_node(OpKind::Add, base + "_Add", qdq_opset, {mm, bias_in[0]}, {t.out}));
    } else {
      g->node(t.node).removed = true;
      add_replacing(*g, make_node(OpKind::MatMul, base + "_MatMul", qdq_opset, {xdq, wdq}, {t.out}));
    }
    ++r.quantized_nodes;
  }
  if (static_int8 && max_opset > 0 && max_opset < 13)
    r.notes.push_back(str_cat("the model imports ai.onnx opset ", max_opset,
                              "; per-channel DequantizeLinear raised it to 13 (check ops whose meaning changed)"));
  if (o.reduce_range && o.weights == WeightFormat::int8 && r.quantized_nodes > 0)
    r.notes.push_back("reduce_range: int8 weights in [-64, 63] (7 bits; the exact vpmaddubsw kernel on AVX2)");
  if (o.reduce_range && o.weights == WeightFormat::int4) r.notes.push_back("reduce_range applies to int8 only: ignored");
  g->compact();
  OBOL_RETURN_IF_ERROR(g->validate());
  return g;
}

}  // namespace quant
}  // inline namespace v1
}  // namespace obol
