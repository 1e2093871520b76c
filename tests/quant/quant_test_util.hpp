// Small graphs built in code for the quantizer and QDQ fusion tests.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "obol/obol.hpp"

namespace obol {
inline namespace v1 {
namespace quant_test {

using graph::Graph;
using graph::OpKind;
using graph::ValueId;

inline std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

template <class T>
ValueId constant(Graph& g, const std::string& name, const Shape& s, const std::vector<T>& v) {
  auto t = std::make_shared<Tensor>(Tensor::empty(dtype_of_v<T>, s).value());
  REQUIRE(static_cast<int64_t>(v.size()) == s.numel());
  if (!v.empty()) std::memcpy(t->data(), v.data(), v.size() * sizeof(T));
  auto c = std::make_shared<graph::ConstantData>();
  c->view = t->view();
  c->owner = t;
  const ValueId id = g.add_value(name, graph::ValueType::tensor(dtype_of_v<T>, s));
  g.value(id).constant = c;
  return id;
}

inline ValueId node(Graph& g, OpKind op, const std::string& name, std::vector<ValueId> in,
                    std::vector<graph::Attribute> attrs = {}, int opset = 13) {
  graph::Node n;
  n.op = op;
  n.name = name;
  n.domain = std::string(graph::op_info(op).domain);
  n.opset = n.domain.empty() ? opset : 1;
  n.inputs = std::move(in);
  const ValueId out = g.add_value(name + "_out");
  n.outputs = {out};
  n.attributes = std::move(attrs);
  g.add_node(std::move(n));
  return out;
}

inline graph::Attribute attr_i(const char* name, int64_t v) { return graph::attr_int(name, v); }

inline ValueId input(Graph& g, const std::string& name, const Shape& s) {
  const ValueId v = g.add_value(name, graph::ValueType::tensor(DType::f32, s));
  g.add_input(v);
  return v;
}

// Runs a model on one input set.
inline std::vector<Tensor> run(const std::shared_ptr<const Model>& m, const std::vector<TensorView>& feeds) {
  auto s = Session::create(m);
  REQUIRE(s.is_ok());
  std::vector<Tensor> out;
  const Status st = (*s)->run(feeds, out);
  INFO(st.to_string());
  REQUIRE(st.is_ok());
  return out;
}

inline std::shared_ptr<const Model> model_of(const Graph& g, OptLevel level) {
  ModelOptions o;
  o.opt_level = level;
  auto m = Model::from_graph(std::make_shared<Graph>(g), o);
  INFO(m.status().to_string());
  REQUIRE(m.is_ok());
  return *m;
}

inline Tensor f32_tensor(const Shape& s, const std::vector<float>& v) {
  Tensor t = Tensor::empty(DType::f32, s).value();
  std::memcpy(t.data(), v.data(), v.size() * sizeof(float));
  return t;
}

inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    m = std::max(m, static_cast<double>(std::fabs(a.data_as<const float>()[i] - b.data_as<const float>()[i])));
  return m;
}

inline int count_ops(const Graph& g, OpKind op) {
  int n = 0;
  for (graph::NodeId i = 0; i < g.node_count(); ++i) n += !g.node(i).removed && g.node(i).op == op ? 1 : 0;
  return n;
}

}  // namespace quant_test
}  // inline namespace v1
}  // namespace obol
