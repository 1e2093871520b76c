// ONNX writer: Graph → ModelProto (field numbers from onnx.proto).
#include "obol/formats/onnx_writer.hpp"

#include <cstdio>
#include <map>
#include <string_view>

#include "formats/onnx/protobuf_writer.hpp"
#include "obol/formats/onnx.hpp"

namespace obol {
inline namespace v1 {
namespace onnx {
namespace {

using pb::Writer;
using graph::Attribute;
using graph::Graph;
using graph::ValueType;

constexpr const char* kComp = "onnx-writer";

struct Ctx {
  const WriteOptions& opt;
  std::map<std::string, int64_t> opsets;  // domain → version
};

Result<Writer> tensor_proto(const TensorView& t, std::string_view name) {
  if (dtype_is_block(t.dtype()))
    return make_status(StatusCode::unsupported, kComp, "constant '", name, "' has block-quantized type ",
                       dtype_name(t.dtype()), ", which ONNX cannot store");
  const DataType dt = from_dtype(t.dtype());
  if (dt == DataType::undefined)
    return make_status(StatusCode::unsupported, kComp, "constant '", name, "' has type ", dtype_name(t.dtype()),
                       " with no ONNX equivalent");
  Writer w;
  for (int i = 0; i < t.rank(); ++i) w.int_field(1, t.shape()[i]);
  w.int_field(2, static_cast<int32_t>(dt));
  if (!name.empty()) w.bytes_field(8, name);
  w.bytes_field(9, std::string_view(static_cast<const char*>(t.data()), t.nbytes()));
  return w;
}

Result<Writer> type_proto(const ValueType& vt, std::string_view name) {
  const DataType dt = from_dtype(vt.dtype);
  if (dt == DataType::undefined)
    return make_status(StatusCode::unsupported, kComp, "value '", name, "' has type ", dtype_name(vt.dtype),
                       " with no ONNX equivalent");
  Writer tensor;
  tensor.int_field(1, static_cast<int32_t>(dt));
  if (vt.rank_known) {
    Writer shape;
    for (const graph::Dim& d : vt.dims) {
      Writer dim;
      if (d.is_known()) dim.int_field(1, d.value);
      else if (!d.symbol.empty()) dim.bytes_field(2, d.symbol);
      shape.message_field(1, dim);
    }
    tensor.message_field(2, shape);
  }
  Writer type;
  type.message_field(1, tensor);
  return type;
}

Result<Writer> value_info(const Graph& g, graph::ValueId id) {
  const graph::Value& v = g.value(id);
  Writer w;
  w.bytes_field(1, v.name);
  if (v.type.dtype != DType::invalid) {
    OBOL_ASSIGN_OR_RETURN(Writer type, type_proto(v.type, v.name));
    w.message_field(2, type);
  }
  return w;
}

Result<Writer> graph_proto(const Graph& g, Ctx& ctx);

Result<Writer> attribute_proto(const Attribute& a, const graph::Node& n, Ctx& ctx) {
  using K = Attribute::Kind;
  Writer w;
  w.bytes_field(1, a.name);
  int32_t type = 0;
  switch (a.kind) {
    case K::f: w.float_field(2, a.f); type = 1; break;
    case K::i: w.int_field(3, a.i); type = 2; break;
    case K::s: w.bytes_field(4, a.s); type = 3; break;
    case K::t: {
      if (!a.t) return make_status(StatusCode::invalid_argument, kComp, n.describe(), "tensor attribute '", a.name, "' is empty");
      OBOL_ASSIGN_OR_RETURN(Writer t, tensor_proto(a.t->view, ""));
      w.message_field(5, t);
      type = 4;
      break;
    }
    case K::g: {
      if (!a.g) return make_status(StatusCode::invalid_argument, kComp, n.describe(), "graph attribute '", a.name, "' is empty");
      OBOL_ASSIGN_OR_RETURN(Writer sg, graph_proto(*a.g, ctx));
      w.message_field(6, sg);
      type = 5;
      break;
    }
    case K::floats: for (float f : a.floats) w.float_field(7, f); type = 6; break;
    case K::ints: w.packed_int64(8, a.ints.data(), a.ints.size()); type = 7; break;
    case K::strings: for (const auto& s : a.strings) w.bytes_field(9, s); type = 8; break;
    case K::tensors:
      for (const auto& t : a.tensors) {
        if (!t) return make_status(StatusCode::invalid_argument, kComp, n.describe(), "tensor list attribute '", a.name, "' has an empty entry");
        OBOL_ASSIGN_OR_RETURN(Writer tw, tensor_proto(t->view, ""));
        w.message_field(10, tw);
      }
      type = 9;
      break;
    case K::graphs:
      for (const auto& sg : a.graphs) {
        if (!sg) return make_status(StatusCode::invalid_argument, kComp, n.describe(), "graph list attribute '", a.name, "' has an empty entry");
        OBOL_ASSIGN_OR_RETURN(Writer gw, graph_proto(*sg, ctx));
        w.message_field(11, gw);
      }
      type = 10;
      break;
  }
  w.int_field(20, type);
  return w;
}

Result<Writer> graph_proto(const Graph& g, Ctx& ctx) {
  Writer w;
  OBOL_ASSIGN_OR_RETURN(std::vector<graph::NodeId> order, g.topological_order());
  auto name_of = [&](graph::ValueId id) -> std::string_view {
    if (id == graph::kNoValue) return {};
    return g.value(id).name;  // a view of the graph's string, not of a temporary copy
  };
  for (graph::NodeId nid : order) {
    const graph::Node& n = g.node(nid);
    const graph::OpInfo& info = graph::op_info(n.op);
    std::string domain = n.domain.empty() ? std::string(info.domain) : n.domain;
    if (domain == "ai.onnx") domain.clear();
    if (domain == "obol" && !ctx.opt.allow_internal_ops)
      return make_status(StatusCode::unsupported, kComp, n.describe(),
                         "is an obol-internal fused op with no ONNX meaning; write the graph before fusion "
                         "(OptLevel::basic) or set allow_internal_ops");
    int64_t opset = n.opset;
    if (opset <= 0) opset = domain.empty() ? ctx.opt.default_opset : domain == "com.microsoft" ? ctx.opt.default_ms_opset : 1;
    int64_t& seen = ctx.opsets[domain];
    if (opset > seen) seen = opset;
    Writer nw;
    const size_t explicit_inputs = n.inputs.size() - static_cast<size_t>(n.implicit_inputs);
    for (size_t i = 0; i < explicit_inputs; ++i) nw.bytes_field(1, name_of(n.inputs[i]));
    for (graph::ValueId o : n.outputs) nw.bytes_field(2, name_of(o));
    if (!n.name.empty()) nw.bytes_field(3, n.name);
    nw.bytes_field(4, info.op_type);
    for (const Attribute& a : n.attributes) {
      OBOL_ASSIGN_OR_RETURN(Writer aw, attribute_proto(a, n, ctx));
      nw.message_field(5, aw);
    }
    if (!domain.empty()) nw.bytes_field(7, domain);
    w.message_field(1, nw);
  }
  if (!g.name.empty()) w.bytes_field(2, g.name);
  std::vector<char> is_io(static_cast<size_t>(g.value_count()), 0);
  for (graph::ValueId id = 0; id < g.value_count(); ++id) {
    const graph::Value& v = g.value(id);
    if (!v.constant || v.name.empty()) continue;
    OBOL_ASSIGN_OR_RETURN(Writer t, tensor_proto(v.constant->view, v.name));
    w.message_field(5, t);
  }
  for (graph::ValueId id : g.inputs()) {
    if (g.value(id).constant) continue;
    OBOL_ASSIGN_OR_RETURN(Writer vi, value_info(g, id));
    w.message_field(11, vi);
    is_io[static_cast<size_t>(id)] = 1;
  }
  for (graph::ValueId id : g.outputs()) {
    OBOL_ASSIGN_OR_RETURN(Writer vi, value_info(g, id));
    w.message_field(12, vi);
    is_io[static_cast<size_t>(id)] = 1;
  }
  for (graph::ValueId id = 0; id < g.value_count(); ++id) {
    const graph::Value& v = g.value(id);
    if (is_io[static_cast<size_t>(id)] || v.constant || v.name.empty() || v.is_outer_scope) continue;
    if (v.producer == graph::kNoNode || g.node(v.producer).removed) continue;
    if (v.type.dtype == DType::invalid || from_dtype(v.type.dtype) == DataType::undefined) continue;
    OBOL_ASSIGN_OR_RETURN(Writer vi, value_info(g, id));
    w.message_field(13, vi);
  }
  return w;
}

}  // namespace

Result<std::string> write_model(const graph::Graph& g, const WriteOptions& options) {
  OBOL_RETURN_IF_ERROR(g.validate());
  Ctx ctx{options, {}};
  OBOL_ASSIGN_OR_RETURN(Writer gw, graph_proto(g, ctx));
  if (ctx.opsets.find("") == ctx.opsets.end()) ctx.opsets[""] = options.default_opset;
  Writer m;
  m.int_field(1, options.ir_version);
  m.bytes_field(2, options.producer_name);
  m.bytes_field(3, options.producer_version);
  if (!options.doc_string.empty()) m.bytes_field(6, options.doc_string);
  m.message_field(7, gw);
  for (const auto& [domain, version] : ctx.opsets) {
    Writer op;
    if (!domain.empty()) op.bytes_field(1, domain);
    op.int_field(2, version);
    m.message_field(8, op);
  }
  return m.take();
}

Status save_model(const graph::Graph& g, const std::string& path, const WriteOptions& options) {
  OBOL_ASSIGN_OR_RETURN(std::string bytes, write_model(g, options));
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return make_status(StatusCode::io_error, kComp, "cannot open '", path, "' for writing");
  const size_t put = std::fwrite(bytes.data(), 1, bytes.size(), f);
  const bool closed = std::fclose(f) == 0;
  if (put != bytes.size() || !closed)
    return make_status(StatusCode::io_error, kComp, "writing '", path, "' failed after ", put, " of ",
                       bytes.size(), " bytes");
  return Status::ok();
}

}  // namespace onnx
}  // inline namespace v1
}  // namespace obol
