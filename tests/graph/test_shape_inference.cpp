// Shape and type inference: symbolic batch/seq dimensions through a transformer-shaped graph,
// static shapes through convolutions and layout ops, unknowns that stay unknown, and conflicts
// with declared types reported with the node's name.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "obol/graph/passes.hpp"
#include "obol/graph/shape_inference.hpp"

using namespace obol;
using namespace obol::graph;

namespace {

struct G {
  Graph g;
  int count = 0;

  ValueId input(DType t, std::vector<Dim> dims) {
    ValueType vt;
    vt.dtype = t;
    vt.rank_known = true;
    vt.dims = std::move(dims);
    const ValueId v = g.add_value("in" + std::to_string(count++), vt);
    g.add_input(v);
    return v;
  }
  template <class T>
  ValueId constant(const Shape& s, std::vector<T> data) {
    auto t = std::make_shared<Tensor>(Tensor::empty(dtype_of_v<T>, s).value());
    std::copy(data.begin(), data.end(), t->template data_as<T>());
    auto c = std::make_shared<ConstantData>();
    c->view = t->view();
    c->owner = t;
    const ValueId v = g.add_value("c" + std::to_string(count++), ValueType::tensor(t->dtype(), s));
    g.value(v).constant = c;
    return v;
  }
  ValueId ints(std::vector<int64_t> v) { return constant<int64_t>(Shape{static_cast<int64_t>(v.size())}, v); }
  ValueId op(OpKind k, std::vector<ValueId> in, std::vector<Attribute> attrs = {}, int opset = 17,
             const std::string& name = "") {
    Node n;
    n.op = k;
    n.name = name.empty() ? "n" + std::to_string(count++) : name;
    n.opset = opset;
    n.inputs = std::move(in);
    n.attributes = std::move(attrs);
    const ValueId out = g.add_value("v" + std::to_string(count++));
    n.outputs = {out};
    g.add_node(std::move(n));
    return out;
  }
  std::string type(ValueId v) const { return g.value(v).type.to_string(); }
};

Dim k(int64_t v) { return Dim::known(v); }
Dim sym(const char* s) { return Dim::named(s); }

}  // namespace

TEST_CASE("Shape inference carries batch and seq symbols through an attention block", "[graph][shape]") {
  G t;
  const ValueId x = t.input(DType::f32, {sym("batch"), sym("seq"), k(384)});
  const ValueId w = t.constant<float>(Shape{384, 384}, std::vector<float>(384 * 384, 0.0f));
  const ValueId b = t.constant<float>(Shape{384}, std::vector<float>(384, 0.0f));
  const ValueId lin = t.op(OpKind::Add, {b, t.op(OpKind::MatMul, {x, w})});
  const ValueId heads = t.op(OpKind::Reshape, {lin, t.ints({0, 0, 12, 32})}, {}, 14);
  const ValueId q = t.op(OpKind::Transpose, {heads}, {attr_ints("perm", {0, 2, 1, 3})});
  const ValueId kt = t.op(OpKind::Transpose, {heads}, {attr_ints("perm", {0, 2, 3, 1})});
  const ValueId scores = t.op(OpKind::MatMul, {q, kt});
  const ValueId probs = t.op(OpKind::Softmax, {scores}, {attr_int("axis", -1)}, 13);
  const ValueId ctx = t.op(OpKind::MatMul, {probs, q});
  const ValueId merged = t.op(OpKind::Reshape, {t.op(OpKind::Transpose, {ctx}, {attr_ints("perm", {0, 2, 1, 3})}),
                                                t.ints({0, 0, -1})}, {}, 14);
  const ValueId mean = t.op(OpKind::ReduceMean, {merged}, {attr_ints("axes", {-1})}, 13);
  const ValueId flat = t.op(OpKind::Reshape, {merged, t.ints({-1, 384})}, {}, 14);
  const ValueId shape = t.op(OpKind::Shape, {merged});
  const ValueId mask = t.input(DType::f32, {sym("batch"), k(1), k(1), sym("seq")});
  const ValueId masked = t.op(OpKind::Add, {scores, mask});
  const ValueId cast = t.op(OpKind::Cast, {masked}, {attr_int("to", 7)}, 13);  // INT64
  auto n = infer_shapes(t.g);
  REQUIRE(n.is_ok());
  CHECK(*n >= 13);
  CHECK(t.type(lin) == "f32[batch, seq, 384]");
  CHECK(t.type(heads) == "f32[batch, seq, 12, 32]");
  CHECK(t.type(q) == "f32[batch, 12, seq, 32]");
  CHECK(t.type(kt) == "f32[batch, 12, 32, seq]");
  CHECK(t.type(scores) == "f32[batch, 12, seq, seq]");
  CHECK(t.type(probs) == "f32[batch, 12, seq, seq]");
  CHECK(t.type(ctx) == "f32[batch, 12, seq, 32]");
  CHECK(t.type(merged) == "f32[batch, seq, 384]");  // -1 resolved: batch and seq cancel
  CHECK(t.type(mean) == "f32[batch, seq, 1]");
  CHECK(t.type(flat) == "f32[?, 384]");  // batch * seq has no name: unknown, not guessed
  CHECK(t.type(shape) == "i64[3]");
  CHECK(t.type(masked) == "f32[batch, 12, seq, seq]");
  CHECK(t.type(cast) == "i64[batch, 12, seq, seq]");
}

TEST_CASE("Shape inference on static convolution, pooling and layout ops", "[graph][shape]") {
  G t;
  const ValueId x = t.input(DType::f32, {k(2), k(3), k(32), k(31)});
  const ValueId w = t.constant<float>(Shape{8, 3, 3, 3}, std::vector<float>(8 * 27, 0.0f));
  const ValueId c = t.op(OpKind::Conv, {x, w}, {attr_ints("pads", {1, 1, 1, 1}), attr_ints("strides", {2, 2})}, 11);
  const ValueId same = t.op(OpKind::Conv, {x, w}, {[] {
                                                    Attribute a;
                                                    a.name = "auto_pad";
                                                    a.kind = Attribute::Kind::s;
                                                    a.s = "SAME_UPPER";
                                                    return a;
                                                  }(), attr_ints("strides", {3, 3})}, 11);
  const ValueId mp = t.op(OpKind::MaxPool, {c}, {attr_ints("kernel_shape", {3, 3}), attr_ints("strides", {2, 2}), attr_int("ceil_mode", 1)}, 12);
  const ValueId gap = t.op(OpKind::GlobalAveragePool, {c});
  const ValueId flat = t.op(OpKind::Flatten, {gap}, {attr_int("axis", 1)}, 13);
  const ValueId cat = t.op(OpKind::Concat, {c, c}, {attr_int("axis", 1)}, 13);
  const ValueId sl = t.op(OpKind::Slice, {cat, t.ints({1, -5}), t.ints({100, -1}), t.ints({1, 3})}, {}, 13);
  const ValueId sl_step = t.op(OpKind::Slice, {x, t.ints({-1}), t.ints({-100}), t.ints({3}), t.ints({-2})}, {}, 13);
  const ValueId idx = t.input(DType::i64, {k(5), k(2)});
  const ValueId ga = t.op(OpKind::Gather, {x, idx}, {attr_int("axis", 1)}, 13);
  const ValueId un = t.op(OpKind::Unsqueeze, {gap, t.ints({0, -1})}, {}, 13);
  const ValueId sq = t.op(OpKind::Squeeze, {un, t.ints({0})}, {}, 13);
  const ValueId sq_all = t.op(OpKind::Squeeze, {gap}, {}, 13);
  const ValueId rs = t.op(OpKind::Reshape, {x, t.ints({-1, 31})}, {}, 14);
  const ValueId red = t.op(OpKind::ReduceSum, {x, t.ints({1, 3})}, {attr_int("keepdims", 0)}, 13);
  const ValueId arg = t.op(OpKind::ArgMax, {x}, {attr_int("axis", 2), attr_int("keepdims", 0)}, 13);
  REQUIRE(infer_shapes(t.g).is_ok());
  CHECK(t.type(c) == "f32[2, 8, 16, 16]");
  CHECK(t.type(same) == "f32[2, 8, 11, 11]");
  CHECK(t.type(mp) == "f32[2, 8, 8, 8]");
  CHECK(t.type(gap) == "f32[2, 8, 1, 1]");
  CHECK(t.type(flat) == "f32[2, 8]");
  CHECK(t.type(cat) == "f32[2, 16, 16, 16]");
  CHECK(t.type(sl) == "f32[2, 15, 16, 4]");
  CHECK(t.type(sl_step) == "f32[2, 3, 32, 16]");
  CHECK(t.type(ga) == "f32[2, 5, 2, 32, 31]");
  CHECK(t.type(un) == "f32[1, 2, 8, 1, 1, 1]");
  CHECK(t.type(sq) == "f32[2, 8, 1, 1, 1]");
  CHECK(t.type(sq_all) == "f32[2, 8]");
  CHECK(t.type(rs) == "f32[192, 31]");
  CHECK(t.type(red) == "f32[2, 32]");
  CHECK(t.type(arg) == "i64[2, 3, 31]");
}

TEST_CASE("Shape inference leaves what it cannot know unknown", "[graph][shape]") {
  G t;
  const ValueId a = t.input(DType::f32, {sym("batch"), k(4)});
  const ValueId b = t.input(DType::f32, {sym("seq"), k(4)});
  const ValueId s = t.input(DType::i64, {k(2)});
  const ValueId sum = t.op(OpKind::Add, {a, b});          // batch vs seq: either may be 1
  const ValueId rs = t.op(OpKind::Reshape, {a, s}, {}, 14);  // shape known only at run time
  const ValueId q = t.op(OpKind::Squeeze, {a}, {}, 13);      // is batch 1?
  const ValueId nz = t.op(OpKind::NonZero, {a}, {}, 13);      // data-dependent
  REQUIRE(infer_shapes(t.g).is_ok());
  CHECK(t.type(sum) == "f32[?, 4]");
  CHECK(t.type(rs) == "f32[?]");
  CHECK_FALSE(t.g.value(rs).type.rank_known);
  CHECK(t.type(q) == "f32[?]");
  CHECK_FALSE(t.g.value(nz).type.rank_known);
}

TEST_CASE("A declared type that contradicts inference is an error naming the node", "[graph][shape]") {
  for (int variant = 0; variant < 3; ++variant) {
    INFO("variant " << variant);
    G t;
    const ValueId x = t.input(DType::f32, {sym("batch"), k(4)});
    const ValueId w = t.constant<float>(Shape{4, 3}, std::vector<float>(12, 1.0f));
    const ValueId y = t.op(OpKind::MatMul, {x, w}, {}, 13, "proj");
    ValueType declared;
    declared.dtype = variant == 1 ? DType::i32 : DType::f32;
    declared.rank_known = true;
    declared.dims = variant == 2 ? std::vector<Dim>{sym("batch"), k(3), k(1)} : std::vector<Dim>{sym("batch"), k(variant == 0 ? 4 : 3)};
    t.g.value(y).type = declared;
    t.g.add_output(y);
    auto r = optimize(t.g, OptLevel::basic);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().message().find("[shape inference]") != std::string::npos);
    CHECK(r.status().message().find("'proj'") != std::string::npos);
  }
}

TEST_CASE("Inference refines a symbolic declaration and keeps a matching one", "[graph][shape]") {
  G t;
  const ValueId x = t.input(DType::f32, {k(2), k(4)});
  const ValueId y = t.op(OpKind::Relu, {x});
  ValueType declared;
  declared.dtype = DType::f32;
  declared.rank_known = true;
  declared.dims = {sym("n"), Dim{}};
  t.g.value(y).type = declared;
  t.g.add_output(y);
  auto r = optimize(t.g, OptLevel::basic);
  REQUIRE(r.is_ok());
  CHECK(r->inferred_values == 1);
  CHECK(t.g.value(t.g.outputs()[0]).type.to_string() == "f32[2, 4]");
  // none runs no pass at all.
  G u;
  const ValueId ux = u.input(DType::f32, {k(2), k(4)});
  const ValueId uy = u.op(OpKind::Relu, {ux});
  u.g.add_output(uy);
  REQUIRE(optimize(u.g, OptLevel::none).is_ok());
  CHECK_FALSE(u.g.value(u.g.outputs()[0]).type.rank_known);
}

TEST_CASE("Shape inference through quantized matmuls and quantize/dequantize", "[graph][shape]") {
  G t;
  const ValueId x = t.input(DType::f32, {sym("batch"), sym("seq"), k(384)});
  const ValueId w8 = t.constant<int8_t>(Shape{384, 768}, std::vector<int8_t>(384 * 768, 1));
  const ValueId ws = t.constant<float>(Shape{768}, std::vector<float>(768, 0.01f));
  const ValueId dq = t.op(OpKind::MsDynamicQuantizeMatMul, {x, w8, ws});
  const ValueId qx = t.op(OpKind::DynamicQuantizeLinear, {x});
  const ValueId xs = t.constant<float>(Shape{}, {0.1f});
  const ValueId xz = t.constant<uint8_t>(Shape{}, {128});
  const ValueId q = t.op(OpKind::QuantizeLinear, {x, xs, xz}, {}, 13);
  const ValueId dqx = t.op(OpKind::DequantizeLinear, {q, xs, xz}, {}, 13);
  const ValueId mmi = t.op(OpKind::MatMulInteger, {q, w8}, {}, 10);
  const ValueId itf = t.op(OpKind::MsMatMulIntegerToFloat, {q, w8, xs, ws});
  const ValueId wz = t.constant<int8_t>(Shape{}, {0});
  const ValueId yz = t.constant<int8_t>(Shape{}, {0});
  const ValueId qlm = t.op(OpKind::QLinearMatMul, {q, xs, xz, w8, xs, wz, xs, yz}, {}, 10);
  const ValueId packed = t.constant<uint8_t>(Shape{1000, 12, 16}, std::vector<uint8_t>(1000 * 12 * 16, 0));
  const ValueId nb = t.op(OpKind::MsMatMulNBits, {x, packed, ws}, {attr_int("K", 384), attr_int("N", 1000), attr_int("bits", 4),
                                                                  attr_int("block_size", 32)});
  auto n = infer_shapes(t.g);
  REQUIRE(n.is_ok());
  CHECK(t.type(dq) == "f32[batch, seq, 768]");
  CHECK(t.type(qx) == "u8[batch, seq, 384]");
  CHECK(t.type(q) == "u8[batch, seq, 384]");
  CHECK(t.type(dqx) == "f32[batch, seq, 384]");
  CHECK(t.type(mmi) == "i32[batch, seq, 768]");
  CHECK(t.type(itf) == "f32[batch, seq, 768]");
  CHECK(t.type(qlm) == "i8[batch, seq, 768]");
  CHECK(t.type(nb) == "f32[batch, seq, 1000]");
}
