#include "demo/demo_models.hpp"

#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace obol {
inline namespace v1 {
namespace demo {

namespace {

using graph::Attribute;
using graph::Dim;
using graph::Graph;
using graph::Node;
using graph::OpKind;
using graph::ValueId;
using graph::ValueType;

using graph::attr_float;
using graph::attr_int;
using graph::attr_ints;

// Adds named constants and nodes to a graph; weights are N(0, std^2) from one fixed-seed stream.
// Value names are short ("l0.q.w", "t17"); node names carry the structure ("l0.q/MatMul").
class Builder {
 public:
  Builder(Graph& g, uint64_t seed) : g_(g), rng_(seed) {}

  template <class T>
  ValueId constant(const std::string& name, std::vector<T> data, const Shape& shape, DType dtype) {
    auto owner = std::make_shared<std::vector<T>>(std::move(data));
    auto c = std::make_shared<graph::ConstantData>();
    c->view = TensorView(owner->data(), dtype, shape);
    c->owner = owner;
    const ValueId v = g_.add_value(name, ValueType::tensor(dtype, shape));
    g_.value(v).constant = c;
    return v;
  }
  ValueId weight(const std::string& name, const Shape& shape, float stddev) {
    std::normal_distribution<float> nd(0.0f, stddev);
    std::vector<float> w(static_cast<size_t>(shape.numel()));
    for (float& x : w) x = nd(rng_);
    return constant(name, std::move(w), shape, DType::f32);
  }
  ValueId filled(const std::string& name, const Shape& shape, float value) {
    return constant(name, std::vector<float>(static_cast<size_t>(shape.numel()), value), shape, DType::f32);
  }
  ValueId scalar(const std::string& name, float value) { return constant(name, std::vector<float>{value}, Shape{}, DType::f32); }
  ValueId shape_const(const std::string& name, std::vector<int64_t> dims) {
    const int64_t n = static_cast<int64_t>(dims.size());
    return constant(name, std::move(dims), Shape{n}, DType::i64);
  }

  ValueId op(OpKind kind, const std::string& name, std::vector<ValueId> inputs, std::vector<Attribute> attrs = {}) {
    Node n;
    n.op = kind;
    n.name = name;
    n.opset = 17;
    n.inputs = std::move(inputs);
    const ValueId out = g_.add_value("t" + std::to_string(next_value_++));
    n.outputs = {out};
    n.attributes = std::move(attrs);
    g_.add_node(std::move(n));
    return out;
  }

  // x W + b, x: [..., n_in]
  ValueId linear(ValueId x, int64_t n_in, int64_t n_out, const std::string& name) {
    const float stddev = 1.0f / std::sqrt(static_cast<float>(n_in));
    const ValueId w = weight(name + ".w", Shape{n_in, n_out}, stddev);
    const ValueId b = weight(name + ".b", Shape{n_out}, 0.02f);
    return op(OpKind::Add, name + "/Add", {op(OpKind::MatMul, name + "/MatMul", {x, w}), b});
  }

  ValueId layer_norm(ValueId x, int64_t hidden, const std::string& name) {
    return op(OpKind::LayerNormalization, name, {x, filled(name + ".g", Shape{hidden}, 1.0f), filled(name + ".b", Shape{hidden}, 0.0f)},
              {attr_int("axis", -1), attr_float("epsilon", 1e-12f)});
  }

  // GELU as torch exports it: 0.5 x (1 + erf(x / sqrt 2)).
  ValueId gelu(ValueId x, const std::string& name) {
    const ValueId e = op(OpKind::Erf, name + "/Erf", {op(OpKind::Div, name + "/Div", {x, scalar(name + ".sqrt2", std::sqrt(2.0f))})});
    const ValueId y = op(OpKind::Mul, name + "/Mul", {x, op(OpKind::Add, name + "/Add", {e, scalar(name + ".one", 1.0f)})});
    return op(OpKind::Mul, name + "/Mul_1", {y, scalar(name + ".half", 0.5f)});
  }

 private:
  Graph& g_;
  std::mt19937_64 rng_;
  int next_value_ = 0;
};

}  // namespace

std::shared_ptr<graph::Graph> build_encoder_classifier(const EncoderSpec& s) {
  auto g = std::make_shared<Graph>();
  g->name = "obol-demo-encoder";
  Builder b(*g, s.seed);
  const int64_t S = s.seq, H = s.hidden, NH = s.heads, DH = s.hidden / s.heads;
  ValueType xt;
  xt.dtype = DType::f32;
  xt.rank_known = true;
  xt.dims = {Dim::named("batch"), Dim::known(S), Dim::known(H)};
  ValueId x = g->add_value("embeddings", xt);
  g->add_input(x);
  const ValueId heads_shape = b.shape_const("heads_shape", {0, S, NH, DH});
  const ValueId merge_shape = b.shape_const("merge_shape", {0, S, H});
  for (int l = 0; l < s.layers; ++l) {
    const std::string p = "l" + std::to_string(l);
    auto split = [&](ValueId t, const std::string& n, std::vector<int64_t> perm) {
      const ValueId r = b.op(OpKind::Reshape, p + "/" + n + "/Reshape", {t, heads_shape});
      return b.op(OpKind::Transpose, p + "/" + n + "/Transpose", {r}, {attr_ints("perm", std::move(perm))});
    };
    const ValueId q = split(b.linear(x, H, H, p + ".q"), "q", {0, 2, 1, 3});
    const ValueId k = split(b.linear(x, H, H, p + ".k"), "k", {0, 2, 3, 1});
    const ValueId v = split(b.linear(x, H, H, p + ".v"), "v", {0, 2, 1, 3});
    ValueId scores = b.op(OpKind::MatMul, p + "/scores", {q, k});
    scores = b.op(OpKind::Div, p + "/scale", {scores, b.scalar(p + ".sqrt_dh", std::sqrt(static_cast<float>(DH)))});
    const ValueId probs = b.op(OpKind::Softmax, p + "/Softmax", {scores}, {attr_int("axis", -1)});
    ValueId ctx = b.op(OpKind::MatMul, p + "/context", {probs, v});
    ctx = b.op(OpKind::Transpose, p + "/merge/Transpose", {ctx}, {attr_ints("perm", {0, 2, 1, 3})});
    ctx = b.op(OpKind::Reshape, p + "/merge/Reshape", {ctx, merge_shape});
    const ValueId attn = b.linear(ctx, H, H, p + ".o");
    x = b.layer_norm(b.op(OpKind::Add, p + "/attention/residual", {attn, x}), H, p + ".ln1");
    const ValueId up = b.gelu(b.linear(x, H, s.ffn, p + ".f1"), p + ".gelu");
    const ValueId down = b.linear(up, s.ffn, H, p + ".f2");
    x = b.layer_norm(b.op(OpKind::Add, p + "/output/residual", {down, x}), H, p + ".ln2");
  }
  const ValueId pooled = b.op(OpKind::ReduceMean, "pool", {x}, {attr_ints("axes", {1}), attr_int("keepdims", 0)});
  const ValueId logits = b.linear(pooled, H, s.classes, "cls");
  g->value(logits).name = "logits";
  g->add_output(logits);
  return g;
}

std::shared_ptr<graph::Graph> build_cnn_classifier(const CnnSpec& s) {
  auto g = std::make_shared<Graph>();
  g->name = "obol-demo-cnn";
  Builder b(*g, s.seed);
  ValueType xt;
  xt.dtype = DType::f32;
  xt.rank_known = true;
  xt.dims = {Dim::named("batch"), Dim::known(3), Dim::known(s.size), Dim::known(s.size)};
  ValueId x = g->add_value("image", xt);
  g->add_input(x);
  int64_t c_in = 3;
  for (int64_t c_out : {16, 32}) {
    const std::string p = "conv" + std::to_string(c_out);
    const float stddev = std::sqrt(2.0f / static_cast<float>(c_in * 9));
    const ValueId w = b.weight(p + ".w", Shape{c_out, c_in, 3, 3}, stddev);
    const ValueId bias = b.weight(p + ".b", Shape{c_out}, 0.02f);
    x = b.op(OpKind::Conv, p, {x, w, bias},
             {attr_ints("kernel_shape", {3, 3}), attr_ints("pads", {1, 1, 1, 1}), attr_ints("strides", {1, 1})});
    x = b.op(OpKind::Relu, p + "/Relu", {x});
    x = b.op(OpKind::MaxPool, p + "/MaxPool", {x}, {attr_ints("kernel_shape", {2, 2}), attr_ints("strides", {2, 2})});
    c_in = c_out;
  }
  const int64_t flat = c_in * (s.size / 4) * (s.size / 4);
  x = b.op(OpKind::Flatten, "flatten", {x}, {attr_int("axis", 1)});
  auto gemm = [&](ValueId in, int64_t n_in, int64_t n_out, const std::string& name) {
    const ValueId w = b.weight(name + ".w", Shape{n_in, n_out}, std::sqrt(2.0f / static_cast<float>(n_in)));
    const ValueId bias = b.weight(name + ".b", Shape{n_out}, 0.02f);
    return b.op(OpKind::Gemm, name, {in, w, bias});
  };
  x = b.op(OpKind::Relu, "fc1/Relu", {gemm(x, flat, s.hidden, "fc1")});
  const ValueId logits = gemm(x, s.hidden, s.classes, "fc2");
  g->value(logits).name = "logits";
  g->add_output(logits);
  return g;
}

}  // namespace demo
}  // inline namespace v1
}  // namespace obol
