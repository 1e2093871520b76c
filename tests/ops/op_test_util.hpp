// Running one operator through Model and Session in the op tests: inputs (or constants) in,
// outputs or the error Status out.
#pragma once

#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "obol/obol.hpp"

namespace obol {
inline namespace v1 {
namespace op_test {

using graph::OpKind;

// One input or constant of the test graph.
struct Arg {
  std::shared_ptr<Tensor> t;  // null: an omitted optional input
  bool constant = false;
  size_t misalign = 0;  // constants only: view the bytes this far into a larger buffer
};

template <class T>
Arg tensor(const Shape& s, const std::vector<T>& v, bool constant = false) {
  std::shared_ptr<Tensor> t = std::make_shared<Tensor>(Tensor::empty(dtype_of_v<T>, s).value());
  REQUIRE(static_cast<int64_t>(v.size()) == s.numel());
  for (size_t i = 0; i < v.size(); ++i) t->data_as<T>()[i] = v[i];
  return Arg{std::move(t), constant};
}

inline Arg i64s(const std::vector<int64_t>& v, bool constant = false) {
  return tensor<int64_t>(Shape{static_cast<int64_t>(v.size())}, v, constant);
}

inline Arg f16_tensor(const Shape& s, const std::vector<float>& v) {
  auto t = std::make_shared<Tensor>(Tensor::empty(DType::f16, s).value());
  for (size_t i = 0; i < v.size(); ++i) t->data_as<uint16_t>()[i] = f32_to_f16(v[i]);
  return Arg{std::move(t), false};
}

inline Arg omitted() { return Arg{}; }

inline graph::Attribute attr_i(const char* name, int64_t v) {
  graph::Attribute a;
  a.name = name;
  a.kind = graph::Attribute::Kind::i;
  a.i = v;
  return a;
}
inline graph::Attribute attr_ints(const char* name, std::vector<int64_t> v) {
  graph::Attribute a;
  a.name = name;
  a.kind = graph::Attribute::Kind::ints;
  a.ints = std::move(v);
  return a;
}
inline graph::Attribute attr_s(const char* name, const char* v) {
  graph::Attribute a;
  a.name = name;
  a.kind = graph::Attribute::Kind::s;
  a.s = v;
  return a;
}

// Adds `args` to g as inputs or constants of `node` (values named <node>_in<i>), collecting the
// feeds; `keep` holds what the constants point into.
inline void add_args(graph::Graph& g, graph::Node& node, const std::vector<Arg>& args, std::vector<TensorView>& feeds,
                     std::vector<std::shared_ptr<void>>& keep) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (!args[i].t) {
      node.inputs.push_back(graph::kNoValue);
      continue;
    }
    const Tensor& t = *args[i].t;
    const graph::ValueId v =
        g.add_value(node.name + "_in" + std::to_string(i), graph::ValueType::tensor(t.dtype(), t.shape()));
    if (args[i].constant) {
      auto c = std::make_shared<graph::ConstantData>();
      if (args[i].misalign) {
        auto buf = std::shared_ptr<char>(new char[t.nbytes() + 16], std::default_delete<char[]>());
        char* p = buf.get() + args[i].misalign;
        std::memcpy(p, t.data(), t.nbytes());
        c->view = TensorView(p, t.dtype(), t.shape());
        c->owner = buf;
      } else {
        c->view = t.view();
        c->owner = args[i].t;
      }
      g.value(v).constant = c;
    } else {
      g.add_input(v);
      feeds.push_back(t.view());
    }
    keep.push_back(args[i].t);
    node.inputs.push_back(v);
  }
}

// Builds a one-node graph (node name "n") and runs it. An Arg without a tensor in `args` is an
// omitted optional input. Returns the outputs, or the Status of the first failure.
inline Result<std::vector<Tensor>> run_op(OpKind op, int opset, std::vector<Arg> args,
                                          std::vector<graph::Attribute> attrs = {}, int n_outputs = 1) {
  auto g = std::make_shared<graph::Graph>();
  graph::Node node;
  node.op = op;
  node.name = "n";
  node.opset = opset;
  node.attributes = std::move(attrs);
  std::vector<TensorView> feeds;
  std::vector<std::shared_ptr<void>> keep;
  add_args(*g, node, args, feeds, keep);
  for (int i = 0; i < n_outputs; ++i) node.outputs.push_back(g->add_value("out" + std::to_string(i)));
  g->add_node(node);
  for (graph::ValueId v : node.outputs) g->add_output(v);
  OBOL_ASSIGN_OR_RETURN(std::shared_ptr<const Model> model, Model::from_graph(g));
  OBOL_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::create(model));
  std::vector<Tensor> outs;
  OBOL_RETURN_IF_ERROR(session->run(feeds, outs));
  return outs;
}

template <class T>
std::vector<T> values(const Tensor& t) {
  REQUIRE(t.dtype() == dtype_of_v<T>);
  std::vector<T> v(static_cast<size_t>(t.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = t.data_as<const T>()[i];
  return v;
}

inline std::vector<float> f16_values(const Tensor& t) {
  REQUIRE(t.dtype() == DType::f16);
  std::vector<float> v(static_cast<size_t>(t.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = f16_to_f32(t.data_as<const uint16_t>()[i]);
  return v;
}

inline std::vector<Tensor> ok(Result<std::vector<Tensor>> r) {
  INFO(r.status().to_string());
  REQUIRE(r.is_ok());
  return std::move(r).value();
}

inline std::string error_of(const Result<std::vector<Tensor>>& r) {
  REQUIRE_FALSE(r.is_ok());
  return r.status().message();
}

}  // namespace op_test
}  // inline namespace v1
}  // namespace obol
