// Fusion passes: each fused graph computes what the unfused graph computes (random weights and
// inputs, a tolerance for float reassociation), and each pass fires exactly when its pattern
// matches — not when an intermediate value has another reader or is a graph output.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "obol/graph/passes.hpp"
#include "obol/obol.hpp"

using namespace obol;
using graph::attr_float;
using graph::attr_int;
using graph::attr_ints;
using graph::Attribute;
using graph::Dim;
using graph::Graph;
using graph::Node;
using graph::OpKind;
using graph::OptLevel;
using graph::ValueId;
using graph::ValueType;

namespace {

// Builds test graphs: inputs, random or given constants, nodes with one output each.
class Builder {
 public:
  explicit Builder(uint32_t seed = 1) : rng_(seed) {}
  std::shared_ptr<Graph> g = std::make_shared<Graph>();

  ValueId input(const std::string& name, const std::vector<Dim>& dims) {
    ValueType t;
    t.dtype = DType::f32;
    t.rank_known = true;
    t.dims = dims;
    const ValueId v = g->add_value(name, t);
    g->add_input(v);
    return v;
  }
  ValueId constant(const Shape& s, std::vector<float> data) {
    auto t = std::make_shared<Tensor>(Tensor::empty(DType::f32, s).value());
    REQUIRE(static_cast<int64_t>(data.size()) == s.numel());
    std::copy(data.begin(), data.end(), t->data_as<float>());
    auto c = std::make_shared<graph::ConstantData>();
    c->view = t->view();
    c->owner = t;
    const ValueId v = g->add_value("c" + std::to_string(count_++), ValueType::tensor(DType::f32, s));
    g->value(v).constant = c;
    return v;
  }
  ValueId scalar(float x) { return constant(Shape{}, {x}); }
  ValueId ints(std::vector<int64_t> v) {
    auto t = std::make_shared<Tensor>(Tensor::empty(DType::i64, Shape{static_cast<int64_t>(v.size())}).value());
    std::copy(v.begin(), v.end(), t->data_as<int64_t>());
    auto c = std::make_shared<graph::ConstantData>();
    c->view = t->view();
    c->owner = t;
    const ValueId id = g->add_value("i" + std::to_string(count_++), ValueType::tensor(DType::i64, t->shape()));
    g->value(id).constant = c;
    return id;
  }
  ValueId random(const Shape& s, float lo = -1.0f, float hi = 1.0f) {
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(static_cast<size_t>(s.numel()));
    for (float& x : v) x = d(rng_);
    return constant(s, std::move(v));
  }
  ValueId op(OpKind k, std::vector<ValueId> in, std::vector<Attribute> attrs = {}, int opset = 17) {
    Node n;
    n.op = k;
    n.name = "n" + std::to_string(count_++);
    n.opset = opset;
    n.inputs = std::move(in);
    n.attributes = std::move(attrs);
    const ValueId out = g->add_value("v" + std::to_string(count_++));
    n.outputs = {out};
    g->add_node(std::move(n));
    return out;
  }
  void output(ValueId v) { g->add_output(v); }

 private:
  std::mt19937 rng_;
  int count_ = 0;
};

std::vector<Dim> dims(std::initializer_list<int64_t> d) {
  std::vector<Dim> r;
  for (int64_t v : d) r.push_back(Dim::known(v));
  return r;
}

Tensor random_tensor(const Shape& s, uint32_t seed, float scale = 1.0f) {
  Tensor t = Tensor::empty(DType::f32, s).value();
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  for (int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = d(rng);
  return t;
}

// Tensors are move-only, so a braced list cannot build a vector of them.
template <class... Ts>
std::vector<Tensor> tensors(Ts&&... t) {
  std::vector<Tensor> v;
  (v.push_back(std::forward<Ts>(t)), ...);
  return v;
}

struct Outcome {
  std::vector<Tensor> outputs;
  graph::PassReport report;
  int nodes = 0;
  std::vector<OpKind> ops;
};

// Loads the graph `build` makes at `level` and runs it on `inputs`.
Outcome run_at(const std::function<std::shared_ptr<Graph>()>& build, OptLevel level, const std::vector<Tensor>& inputs) {
  ModelOptions mo;
  mo.opt_level = level;
  auto model = Model::from_graph(build(), mo);
  REQUIRE(model.is_ok());
  Outcome o;
  o.report = (*model)->pass_report();
  const Graph& g = (*model)->graph();
  for (int32_t n = 0; n < g.node_count(); ++n) {
    ++o.nodes;
    o.ops.push_back(g.node(n).op);
  }
  auto session = Session::create(*model);
  REQUIRE(session.is_ok());
  std::vector<TensorView> views;
  for (const Tensor& t : inputs) views.push_back(t.view());
  const Status st = (*session)->run(views, o.outputs);
  INFO(st.message());
  REQUIRE(st.is_ok());
  return o;
}

bool has_op(const Outcome& o, OpKind k) { return std::find(o.ops.begin(), o.ops.end(), k) != o.ops.end(); }

void require_close(const std::vector<Tensor>& a, const std::vector<Tensor>& b, double tol = 1e-4) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    REQUIRE(a[i].shape() == b[i].shape());
    double worst = 0;
    for (int64_t k = 0; k < a[i].numel(); ++k) {
      const double x = a[i].data_as<const float>()[k], y = b[i].data_as<const float>()[k];
      worst = std::max(worst, std::fabs(x - y) / (1.0 + std::fabs(y)));
    }
    INFO("output " << i << " worst relative difference " << worst);
    CHECK(worst <= tol);
  }
}

// Runs at basic (the reference: no fusion) and at `level`, compares, and returns the fused outcome.
Outcome fused_vs_basic(const std::function<std::shared_ptr<Graph>()>& build, const std::vector<Tensor>& inputs,
                       OptLevel level = OptLevel::extended, double tol = 1e-4) {
  const Outcome ref = run_at(build, OptLevel::basic, inputs);
  Outcome got = run_at(build, level, inputs);
  require_close(got.outputs, ref.outputs, tol);
  return got;
}

// --- GELU pieces -----------------------------------------------------------------------------

// x * 0.5 * (1 + erf(x / sqrt2)) in the ordering `form` selects.
ValueId gelu_erf(Builder& b, ValueId x, int form) {
  const ValueId t = form == 2 ? b.op(OpKind::Mul, {b.scalar(0.70710678f), x}) : b.op(OpKind::Div, {x, b.scalar(1.41421356f)});
  const ValueId a = b.op(OpKind::Add, {b.op(OpKind::Erf, {t}), b.scalar(1.0f)});
  switch (form) {
    case 0: return b.op(OpKind::Mul, {b.op(OpKind::Mul, {x, a}), b.scalar(0.5f)});   // (x * a) * 0.5
    case 1: return b.op(OpKind::Mul, {b.op(OpKind::Mul, {x, b.scalar(0.5f)}), a});   // (x * 0.5) * a
    default: return b.op(OpKind::Mul, {x, b.op(OpKind::Mul, {a, b.scalar(0.5f)})});  // x * (a * 0.5)
  }
}

ValueId gelu_tanh(Builder& b, ValueId x) {
  const ValueId cube = b.op(OpKind::Pow, {x, b.scalar(3.0f)});
  const ValueId inner = b.op(OpKind::Add, {x, b.op(OpKind::Mul, {b.scalar(0.044715f), cube})});
  const ValueId th = b.op(OpKind::Tanh, {b.op(OpKind::Mul, {inner, b.scalar(0.7978845608f)})});
  const ValueId a = b.op(OpKind::Add, {b.scalar(1.0f), th});
  return b.op(OpKind::Mul, {b.op(OpKind::Mul, {b.scalar(0.5f), x}), a});
}

}  // namespace

TEST_CASE("GELU fusion covers the erf orderings and the tanh form", "[graph][fusion]") {
  for (int form = 0; form < 4; ++form) {
    INFO("form " << form);
    auto build = [form] {
      Builder b;
      const ValueId x = b.input("x", dims({3, 17}));
      b.output(form == 3 ? gelu_tanh(b, x) : gelu_erf(b, x, form));
      return b.g;
    };
    const Outcome o = fused_vs_basic(build, tensors(random_tensor(Shape{3, 17}, 7, 2.0f)));
    CHECK(o.report.fused_gelu == 1);
    CHECK(o.nodes == 1);
    CHECK(o.ops[0] == OpKind::Gelu);
  }
}

TEST_CASE("GELU fusion does not fire when an intermediate is read elsewhere or is an output", "[graph][fusion]") {
  for (int variant = 0; variant < 3; ++variant) {
    INFO("variant " << variant);
    auto build = [variant] {
      Builder b;
      const ValueId x = b.input("x", dims({4, 8}));
      const ValueId t = b.op(OpKind::Div, {x, b.scalar(variant == 2 ? 1.5f : 1.41421356f)});
      const ValueId e = b.op(OpKind::Erf, {t});
      const ValueId a = b.op(OpKind::Add, {e, b.scalar(1.0f)});
      const ValueId y = b.op(OpKind::Mul, {b.op(OpKind::Mul, {x, a}), b.scalar(0.5f)});
      b.output(y);
      if (variant == 0) b.output(e);                          // erf(.) is a graph output
      if (variant == 1) b.output(b.op(OpKind::Neg, {a}));     // 1 + erf(.) has a second reader
      return b.g;
    };
    const Outcome o = fused_vs_basic(build, tensors(random_tensor(Shape{4, 8}, 3)));
    CHECK(o.report.fused_gelu == 0);
    CHECK_FALSE(has_op(o, OpKind::Gelu));
  }
}

TEST_CASE("LayerNorm fusion replaces the decomposed pattern over the last axis", "[graph][fusion]") {
  for (int variant = 0; variant < 3; ++variant) {
    INFO("variant " << variant);
    auto build = [variant] {
      Builder b(5);
      const ValueId x = b.input("x", {Dim::named("batch"), Dim::known(6), Dim::known(32)});
      const int64_t axis = variant == 2 ? 1 : -1;  // variant 2: not the last axis -> no fusion
      const ValueId mean = b.op(OpKind::ReduceMean, {x}, {attr_ints("axes", {axis}), attr_int("keepdims", 1)}, 13);
      const ValueId d = b.op(OpKind::Sub, {x, mean});
      const ValueId sq = variant == 1 ? b.op(OpKind::Mul, {d, d}) : b.op(OpKind::Pow, {d, b.scalar(2.0f)});
      const ValueId var = b.op(OpKind::ReduceMean, {sq}, {attr_ints("axes", {axis}), attr_int("keepdims", 1)}, 13);
      const ValueId sd = b.op(OpKind::Sqrt, {b.op(OpKind::Add, {var, b.scalar(1e-5f)})});
      const ValueId y = b.op(OpKind::Div, {d, sd});
      const int64_t n = variant == 2 ? 6 : 32;
      const ValueId gamma = b.random(Shape{variant == 2 ? 1 : n}, 0.5f, 1.5f);
      const ValueId scaled = b.op(OpKind::Mul, {gamma, y});
      b.output(variant == 1 ? scaled : b.op(OpKind::Add, {scaled, b.random(Shape{variant == 2 ? 1 : n})}));
      return b.g;
    };
    const Outcome o = fused_vs_basic(build, tensors(random_tensor(Shape{2, 6, 32}, 11, 3.0f)));
    CHECK(o.report.fused_layer_norm == (variant == 2 ? 0 : 1));
    CHECK(has_op(o, OpKind::LayerNormalization) == (variant != 2));
    if (variant != 2) CHECK(o.nodes == 1);
  }
}

TEST_CASE("MatMul + bias + activation fuses into one FusedMatMulBias", "[graph][fusion]") {
  const OpKind acts[] = {OpKind::Relu, OpKind::Tanh, OpKind::Sigmoid, OpKind::LeakyRelu, OpKind::Clip};
  for (int variant = 0; variant < 7; ++variant) {
    INFO("variant " << variant);
    auto build = [&, variant] {
      Builder b(9);
      const ValueId x = b.input("x", {Dim::named("batch"), Dim::known(5), Dim::known(24)});
      const ValueId w = b.random(Shape{24, 40});
      ValueId y = b.op(OpKind::MatMul, {x, w});
      if (variant != 5) y = variant % 2 ? b.op(OpKind::Add, {b.random(Shape{40}), y}) : b.op(OpKind::Add, {y, b.random(Shape{40})});
      if (variant < 5) {
        const OpKind k = acts[variant];
        if (k == OpKind::Clip) y = b.op(k, {y, b.scalar(-0.25f), b.scalar(0.5f)}, {}, 13);
        else if (k == OpKind::LeakyRelu) y = b.op(k, {y}, {attr_float("alpha", 0.2f)});
        else y = b.op(k, {y});
      } else if (variant == 5) {
        y = b.op(OpKind::Relu, {y});  // no bias
      } else {
        y = gelu_erf(b, y, 0);  // bias + decomposed GELU: two passes, one node
      }
      b.output(y);
      return b.g;
    };
    const Outcome o = fused_vs_basic(build, tensors(random_tensor(Shape{3, 5, 24}, 2)));
    CHECK(o.report.fused_matmul == 1);
    CHECK(o.nodes == 1);
    CHECK(o.ops[0] == OpKind::ObolFusedMatMulBias);
    if (variant == 6) CHECK(o.report.fused_gelu == 1);
  }
}

TEST_CASE("MatMul fusion stops where an intermediate is needed elsewhere", "[graph][fusion]") {
  for (int variant = 0; variant < 4; ++variant) {
    INFO("variant " << variant);
    auto build = [variant] {
      Builder b(4);
      const ValueId x = b.input("x", dims({7, 16}));
      const ValueId mm = b.op(OpKind::MatMul, {x, variant == 3 ? b.input("w", dims({16, 8})) : b.random(Shape{16, 8})});
      const ValueId add = b.op(OpKind::Add, {mm, variant == 2 ? b.random(Shape{7, 8}) : b.random(Shape{8})});
      const ValueId r = b.op(OpKind::Relu, {add});
      b.output(r);
      if (variant == 0) b.output(mm);                      // MatMul result is an output: nothing fuses
      if (variant == 1) b.output(b.op(OpKind::Neg, {add}));  // biased value read twice: MatMul + Add only
      return b.g;
    };
    std::vector<Tensor> in = tensors(random_tensor(Shape{7, 16}, 5));
    if (variant == 3) in.push_back(random_tensor(Shape{16, 8}, 6));
    const Outcome o = fused_vs_basic(build, in);
    switch (variant) {
      case 0: CHECK(o.report.fused_matmul == 0); break;
      case 1:
        CHECK(o.report.fused_matmul == 1);
        CHECK(has_op(o, OpKind::Relu));
        break;
      default:  // a 2-D bias or a non-constant B: not this pattern
        CHECK(o.report.fused_matmul == 0);
        CHECK_FALSE(has_op(o, OpKind::ObolFusedMatMulBias));
    }
  }
}

TEST_CASE("Gemm + activation fuses into FusedGemm", "[graph][fusion]") {
  for (int variant = 0; variant < 3; ++variant) {
    INFO("variant " << variant);
    auto build = [variant] {
      Builder b(12);
      const ValueId a = b.input("a", dims({6, 10}));
      const ValueId w = b.random(variant == 1 ? Shape{12, 10} : Shape{10, 12});
      const ValueId c = variant == 2 ? b.random(Shape{6, 12}) : b.random(Shape{12});
      const ValueId y = b.op(OpKind::Gemm, {a, w, c},
                             {attr_int("transB", variant == 1 ? 1 : 0), attr_float("alpha", 0.7f), attr_float("beta", 1.3f)}, 13);
      b.output(b.op(variant == 0 ? OpKind::Sigmoid : OpKind::Relu, {y}));
      return b.g;
    };
    const Outcome o = fused_vs_basic(build, tensors(random_tensor(Shape{6, 10}, 8)));
    CHECK(o.report.fused_matmul == 1);
    CHECK(o.nodes == 1);
    CHECK(o.ops[0] == OpKind::MsFusedGemm);
  }
}

TEST_CASE("Conv + BatchNormalization folds into the convolution", "[graph][fusion]") {
  // variant: 0 plain, 1 + Relu, 2 + Clip(0, 6), 3 depthwise + Relu, 4 no conv bias
  for (int variant = 0; variant < 5; ++variant) {
    INFO("variant " << variant);
    auto build = [variant] {
      Builder b(21);
      const bool dw = variant == 3;
      const ValueId x = b.input("x", dims({2, 4, 9, 9}));
      const int64_t M = dw ? 4 : 6;
      std::vector<ValueId> in{x, b.random(Shape{M, dw ? 1 : 4, 3, 3})};
      if (variant != 4) in.push_back(b.random(Shape{M}));
      std::vector<Attribute> at{attr_ints("pads", {1, 1, 1, 1}), attr_ints("strides", {2, 2})};
      if (dw) at.push_back(attr_int("group", 4));
      ValueId y = b.op(OpKind::Conv, in, at, 11);
      y = b.op(OpKind::BatchNormalization,
               {y, b.random(Shape{M}, 0.5f, 2.0f), b.random(Shape{M}), b.random(Shape{M}), b.random(Shape{M}, 0.1f, 2.0f)},
               {attr_float("epsilon", 1e-3f)}, 15);
      if (variant == 1 || variant == 3) y = b.op(OpKind::Relu, {y});
      if (variant == 2) y = b.op(OpKind::Clip, {y, b.scalar(0.0f), b.scalar(6.0f)}, {}, 13);
      b.output(y);
      return b.g;
    };
    const Outcome o = fused_vs_basic(build, tensors(random_tensor(Shape{2, 4, 9, 9}, 13, 3.0f)));
    CHECK(o.report.fused_conv_bn == 1);
    CHECK(o.nodes == 1);
    CHECK(o.ops[0] == (variant == 0 || variant == 4 ? OpKind::Conv : OpKind::MsFusedConv));
  }
}

TEST_CASE("Conv + BatchNormalization is left alone when the conv output is read elsewhere", "[graph][fusion]") {
  auto build = [] {
    Builder b(22);
    const ValueId x = b.input("x", dims({1, 3, 5, 5}));
    const ValueId y = b.op(OpKind::Conv, {x, b.random(Shape{4, 3, 3, 3}), b.random(Shape{4})}, {}, 11);
    const ValueId z = b.op(OpKind::BatchNormalization,
                           {y, b.random(Shape{4}), b.random(Shape{4}), b.random(Shape{4}), b.random(Shape{4}, 0.5f, 1.0f)},
                           {}, 15);
    b.output(z);
    b.output(y);
    return b.g;
  };
  const Outcome o = fused_vs_basic(build, tensors(random_tensor(Shape{1, 3, 5, 5}, 1)), OptLevel::all);
  CHECK(o.report.fused_conv_bn == 0);
  CHECK(has_op(o, OpKind::BatchNormalization));
}

TEST_CASE("Attention fusion: scores, scale, mask, softmax and the V product become one node", "[graph][fusion]") {
  // variant: 0 Div scale + mask, 1 Mul scale no mask, 2 no scale + mask (mask first), 3 larger rows
  for (int variant = 0; variant < 4; ++variant) {
    INFO("variant " << variant);
    const int64_t B = 2, H = 3, S = variant == 3 ? 150 : 7, D = 8, T = variant == 3 ? 130 : 5;
    auto build = [=] {
      Builder b(31);
      const ValueId q = b.input("q", {Dim::named("batch"), Dim::known(H), Dim::named("seq"), Dim::known(D)});
      const ValueId k = b.input("k", {Dim::named("batch"), Dim::known(H), Dim::known(D), Dim::known(T)});
      const ValueId v = b.input("v", {Dim::named("batch"), Dim::known(H), Dim::known(T), Dim::known(D)});
      const ValueId m = b.input("m", {Dim::named("batch"), Dim::known(1), Dim::known(1), Dim::known(T)});
      ValueId s = b.op(OpKind::MatMul, {q, k});
      if (variant == 0) s = b.op(OpKind::Div, {s, b.scalar(2.828427f)});
      if (variant == 1) s = b.op(OpKind::Mul, {b.scalar(0.35f), s});
      if (variant == 0 || variant == 3) s = b.op(OpKind::Add, {s, m});
      if (variant == 2) s = b.op(OpKind::Add, {m, s});
      const ValueId p = b.op(OpKind::Softmax, {s}, {attr_int("axis", -1)}, 13);
      b.output(b.op(OpKind::MatMul, {p, v}));
      return b.g;
    };
    std::vector<Tensor> in = tensors(random_tensor(Shape{B, H, S, D}, 1), random_tensor(Shape{B, H, D, T}, 2),
                           random_tensor(Shape{B, H, T, D}, 3), random_tensor(Shape{B, 1, 1, T}, 4));
    const Outcome o = fused_vs_basic(build, in);
    CHECK(o.report.fused_attention == 1);
    CHECK(o.nodes == 1);
    CHECK(o.ops[0] == OpKind::ObolAttention);
  }
}

TEST_CASE("Attention fusion needs the softmax over the last axis and private intermediates", "[graph][fusion]") {
  for (int variant = 0; variant < 2; ++variant) {
    INFO("variant " << variant);
    auto build = [variant] {
      Builder b(32);
      const ValueId q = b.input("q", dims({2, 4, 6}));
      const ValueId k = b.input("k", dims({2, 6, 4}));
      const ValueId v = b.input("v", dims({2, 4, 3}));
      const ValueId s = b.op(OpKind::MatMul, {q, k});
      const ValueId p = b.op(OpKind::Softmax, {s}, {attr_int("axis", variant == 0 ? 1 : -1)}, 13);
      b.output(b.op(OpKind::MatMul, {p, v}));
      if (variant == 1) b.output(p);
      return b.g;
    };
    const Outcome o = fused_vs_basic(build, tensors(random_tensor(Shape{2, 4, 6}, 1), random_tensor(Shape{2, 6, 4}, 2),
                                             random_tensor(Shape{2, 4, 3}, 3)));
    CHECK(o.report.fused_attention == 0);
  }
}

TEST_CASE("Optimisation levels none, basic, extended and all differ", "[graph][fusion]") {
  // Conv + Relu (fused only at all), MatMul + Add (extended), a constant subexpression (basic).
  auto build = [] {
    Builder b(40);
    const ValueId x = b.input("x", dims({1, 2, 6, 6}));
    const ValueId c = b.op(OpKind::Relu, {b.op(OpKind::Conv, {x, b.random(Shape{3, 2, 3, 3})}, {}, 11)});
    const ValueId f = b.op(OpKind::Reshape, {c, b.ints({1, 48})}, {}, 14);
    const ValueId bias = b.op(OpKind::Neg, {b.random(Shape{5})});  // folded at basic
    b.output(b.op(OpKind::Add, {b.op(OpKind::MatMul, {f, b.random(Shape{48, 5})}), bias}));
    return b.g;
  };
  const std::vector<Tensor> in = tensors(random_tensor(Shape{1, 2, 6, 6}, 9));
  const Outcome none = run_at(build, OptLevel::none, in);
  const Outcome basic = run_at(build, OptLevel::basic, in);
  const Outcome ext = run_at(build, OptLevel::extended, in);
  const Outcome all = run_at(build, OptLevel::all, in);
  CHECK(none.nodes == 6);
  CHECK(basic.nodes == 5);
  CHECK(basic.report.folded_nodes == 1);
  CHECK(ext.nodes == 4);
  CHECK(ext.report.fused_matmul == 1);
  CHECK(all.nodes == 3);
  CHECK(all.report.fused_conv_act == 1);
  require_close(basic.outputs, none.outputs);
  require_close(ext.outputs, none.outputs);
  require_close(all.outputs, none.outputs);
}
