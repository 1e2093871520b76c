// Tiny models built in code for the economics tests.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "obol/obol.hpp"

namespace econ_test {

// y = x * scale + bias, x: f32[batch, width] (width symbolic when width < 0). Every output row
// identifies its input row, so the batcher tests can tell whose result is whose.
inline std::shared_ptr<const obol::Model> affine_model(float scale = 2.0f, float bias = 1.0f, int64_t width = 4) {
  using namespace obol;
  auto g = std::make_shared<graph::Graph>();
  graph::ValueType xt;
  xt.dtype = DType::f32;
  xt.rank_known = true;
  xt.dims = {graph::Dim::named("batch"), width < 0 ? graph::Dim::named("width") : graph::Dim::known(width)};
  const graph::ValueId x = g->add_value("x", xt);
  g->add_input(x);
  auto constant = [&](const char* name, float v) {
    auto owner = std::make_shared<std::vector<float>>(1, v);
    auto c = std::make_shared<graph::ConstantData>();
    c->view = TensorView(owner->data(), DType::f32, Shape{1});
    c->owner = owner;
    const graph::ValueId id = g->add_value(name, graph::ValueType::tensor(DType::f32, Shape{1}));
    g->value(id).constant = c;
    return id;
  };
  const graph::ValueId s = constant("scale", scale), b = constant("bias", bias);
  const graph::ValueId m = g->add_value("m"), y = g->add_value("y");
  graph::Node mul;
  mul.op = graph::OpKind::Mul;
  mul.name = "mul";
  mul.opset = 14;
  mul.inputs = {x, s};
  mul.outputs = {m};
  g->add_node(mul);
  graph::Node add;
  add.op = graph::OpKind::Add;
  add.name = "add";
  add.opset = 14;
  add.inputs = {m, b};
  add.outputs = {y};
  g->add_node(add);
  g->add_output(y);
  auto model = Model::from_graph(g);
  if (!model.is_ok()) return nullptr;
  return *model;
}

inline obol::Tensor make_rows(const std::vector<std::vector<float>>& rows) {
  const int64_t n = static_cast<int64_t>(rows.size());
  const int64_t w = n ? static_cast<int64_t>(rows[0].size()) : 0;
  obol::Tensor t = std::move(obol::Tensor::empty(obol::DType::f32, obol::Shape{n, w})).value();
  float* p = t.data_as<float>();
  for (const auto& r : rows)
    for (float v : r) *p++ = v;
  return t;
}

}  // namespace econ_test
