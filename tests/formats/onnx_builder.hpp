// Builds small ONNX models byte by byte for the loader tests (field numbers from onnx.proto).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "formats/onnx/protobuf_writer.hpp"

namespace obol {
inline namespace v1 {
namespace test {

using onnx::pb::Writer;

inline Writer tensor_type(int32_t elem, const std::vector<std::pair<int64_t, std::string>>& dims) {
  Writer shape;
  for (const auto& [v, param] : dims) {
    Writer d;
    if (param.empty()) d.int_field(1, v);
    else d.bytes_field(2, param);
    shape.message_field(1, d);
  }
  Writer tt;
  tt.int_field(1, elem);
  tt.message_field(2, shape);
  Writer type;
  type.message_field(1, tt);
  return type;
}

inline Writer value_info(const std::string& name, const Writer& type) {
  Writer v;
  v.bytes_field(1, name);
  v.message_field(2, type);
  return v;
}

inline Writer raw_tensor(const std::string& name, int32_t dtype, const std::vector<int64_t>& dims,
                         const std::string& raw) {
  Writer t;
  for (int64_t d : dims) t.int_field(1, d);
  t.int_field(2, dtype);
  t.bytes_field(8, name);
  t.bytes_field(9, raw);
  return t;
}

inline Writer external_tensor(const std::string& name, int32_t dtype, const std::vector<int64_t>& dims,
                              const std::vector<std::pair<std::string, std::string>>& entries) {
  Writer t;
  t.packed_int64(1, dims.data(), dims.size());
  t.int_field(2, dtype);
  t.bytes_field(8, name);
  for (const auto& [k, v] : entries) {
    Writer e;
    e.bytes_field(1, k);
    e.bytes_field(2, v);
    t.message_field(13, e);
  }
  t.int_field(14, 1);
  return t;
}

inline Writer node(const std::string& op, const std::vector<std::string>& in, const std::vector<std::string>& out,
                   const std::string& name = {}, const std::string& domain = {}) {
  Writer n;
  for (const auto& s : in) n.bytes_field(1, s);
  for (const auto& s : out) n.bytes_field(2, s);
  if (!name.empty()) n.bytes_field(3, name);
  n.bytes_field(4, op);
  if (!domain.empty()) n.bytes_field(7, domain);
  return n;
}

inline std::string model(const Writer& graph, int64_t opset = 17, int64_t ir_version = 8) {
  Writer m;
  m.int_field(1, ir_version);
  m.bytes_field(2, "obol-test");
  m.message_field(7, graph);
  Writer o;
  o.bytes_field(1, "");
  o.int_field(2, opset);
  m.message_field(8, o);
  return m.take();
}

}  // namespace test
}  // inline namespace v1
}  // namespace obol
