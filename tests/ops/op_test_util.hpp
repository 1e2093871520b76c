// Running one operator through Model and Session in the op tests: inputs (or constants) in,
// outputs or the error Status out.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
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

// A boolean tensor from 0/1 ints (std::vector<bool> has no data to copy from).
inline Arg bool_tensor(const Shape& s, const std::vector<int>& v) {
  auto t = std::make_shared<Tensor>(Tensor::empty(DType::boolean, s).value());
  REQUIRE(static_cast<int64_t>(v.size()) == s.numel());
  for (size_t i = 0; i < v.size(); ++i) t->data_as<bool>()[i] = v[i] != 0;
  return Arg{std::move(t), false};
}

// An f16 or bf16 tensor from floats, each rounded to `dt`.
inline Arg half_tensor(DType dt, const Shape& s, const std::vector<float>& v) {
  REQUIRE((dt == DType::f16 || dt == DType::bf16));
  auto t = std::make_shared<Tensor>(Tensor::empty(dt, s).value());
  REQUIRE(static_cast<int64_t>(v.size()) == s.numel());
  for (size_t i = 0; i < v.size(); ++i)
    t->data_as<uint16_t>()[i] = dt == DType::f16 ? f32_to_f16(v[i]) : f32_to_bf16(v[i]);
  return Arg{std::move(t), false};
}

inline Arg f16_tensor(const Shape& s, const std::vector<float>& v) { return half_tensor(DType::f16, s, v); }

inline Arg omitted() { return Arg{}; }

// An attribute with its name and kind set (for the kinds graph.hpp has no attr_* helper for).
inline graph::Attribute attr_of(const char* name, graph::Attribute::Kind kind) {
  graph::Attribute a;
  a.name = name;
  a.kind = kind;
  return a;
}
using graph::attr_ints;
inline graph::Attribute attr_i(const char* name, int64_t v) { return graph::attr_int(name, v); }
inline graph::Attribute attr_f(const char* name, float v) { return graph::attr_float(name, v); }
inline graph::Attribute attr_s(const char* name, std::string v) { return graph::attr_string(name, std::move(v)); }

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

inline std::vector<int> bools(const Tensor& t) {
  REQUIRE(t.dtype() == DType::boolean);
  std::vector<int> v(static_cast<size_t>(t.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = t.data_as<const bool>()[i] ? 1 : 0;
  return v;
}

// The values of an f16 or bf16 tensor, widened to float.
inline std::vector<float> half_values(const Tensor& t) {
  REQUIRE((t.dtype() == DType::f16 || t.dtype() == DType::bf16));
  std::vector<float> v(static_cast<size_t>(t.numel()));
  for (size_t i = 0; i < v.size(); ++i) {
    const uint16_t h = t.data_as<const uint16_t>()[i];
    v[i] = t.dtype() == DType::f16 ? f16_to_f32(h) : bf16_to_f32(h);
  }
  return v;
}

inline std::vector<float> f16_values(const Tensor& t) {
  REQUIRE(t.dtype() == DType::f16);
  return half_values(t);
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

// n floats in [-4, 4) from a linear congruential sequence started at `seed` (the same on every
// platform).
inline std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  for (auto& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = static_cast<float>(seed >> 8) / static_cast<float>(1u << 24) * 8.0f - 4.0f;
  }
  return v;
}

// n floats uniform in [lo, hi) from std::mt19937 seeded with `seed`.
inline std::vector<float> uniform_floats(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

}  // namespace op_test
}  // inline namespace v1
}  // namespace obol
