#include "formats/onnx/decode.hpp"

#include <string>

namespace obol {
inline namespace v1 {
namespace onnx {

namespace {

using pb::Field;
using pb::Reader;

Status decode_graph(Reader r, GraphProto* out);

Status decode_string_entry(Reader r, StringStringEntry* out) {
  Field f;
  while (!r.at_end()) {
    OBOL_RETURN_IF_ERROR(r.next(&f));
    switch (f.number) {
      case 1: OBOL_RETURN_IF_ERROR(r.read_bytes(f, "key", &out->key)); break;
      case 2: OBOL_RETURN_IF_ERROR(r.read_bytes(f, "value", &out->value)); break;
      default: OBOL_RETURN_IF_ERROR(r.skip(f));
    }
  }
  return Status::ok();
}

Status read_string_entry(Reader& r, const Field& f, const char* name, std::vector<StringStringEntry>* out) {
  Reader sub = r;
  OBOL_RETURN_IF_ERROR(r.read_message(f, name, "StringStringEntryProto", &sub));
  out->emplace_back();
  return decode_string_entry(sub, &out->back());
}

Status read_string(Reader& r, const Field& f, const char* name, std::vector<std::string_view>* out) {
  std::string_view s;
  OBOL_RETURN_IF_ERROR(r.read_bytes(f, name, &s));
  out->push_back(s);
  return Status::ok();
}

Status decode_opset(Reader r, OperatorSetId* out) {
  Field f;
  while (!r.at_end()) {
    OBOL_RETURN_IF_ERROR(r.next(&f));
    switch (f.number) {
      case 1: OBOL_RETURN_IF_ERROR(r.read_bytes(f, "domain", &out->domain)); break;
      case 2: OBOL_RETURN_IF_ERROR(r.read_int64(f, "version", &out->version)); break;
      default: OBOL_RETURN_IF_ERROR(r.skip(f));
    }
  }
  return Status::ok();
}

Status decode_dim(Reader r, TypeProto::Dim* out) {
  Field f;
  while (!r.at_end()) {
    OBOL_RETURN_IF_ERROR(r.next(&f));
    switch (f.number) {
      case 1:
        OBOL_RETURN_IF_ERROR(r.read_int64(f, "dim_value", &out->value));
        out->has_value = true;
        break;
      case 2: OBOL_RETURN_IF_ERROR(r.read_bytes(f, "dim_param", &out->param)); break;
      case 3: OBOL_RETURN_IF_ERROR(r.read_bytes(f, "denotation", &out->denotation)); break;
      default: OBOL_RETURN_IF_ERROR(r.skip(f));
    }
  }
  return Status::ok();
}

Status decode_shape(Reader r, std::vector<TypeProto::Dim>* out) {
  Field f;
  while (!r.at_end()) {
    OBOL_RETURN_IF_ERROR(r.next(&f));
    if (f.number == 1) {
      Reader sub = r;
      OBOL_RETURN_IF_ERROR(r.read_message(f, "dim", "TensorShapeProto.Dimension", &sub));
      out->emplace_back();
      OBOL_RETURN_IF_ERROR(decode_dim(sub, &out->back()));
    } else {
      OBOL_RETURN_IF_ERROR(r.skip(f));
    }
  }
  return Status::ok();
}

// TypeProto.Tensor and TypeProto.SparseTensor share their layout: elem_type = 1, shape = 2.
Status decode_tensor_type(Reader r, TypeProto* out) {
  Field f;
  while (!r.at_end()) {
    OBOL_RETURN_IF_ERROR(r.next(&f));
    switch (f.number) {
      case 1: OBOL_RETURN_IF_ERROR(r.read_int32(f, "elem_type", &out->elem_type)); break;
      case 2: {
        Reader sub = r;
        OBOL_RETURN_IF_ERROR(r.read_message(f, "shape", "TensorShapeProto", &sub));
        out->has_shape = true;
        out->shape.clear();
        OBOL_RETURN_IF_ERROR(decode_shape(sub, &out->shape));
        break;
      }
      default: OBOL_RETURN_IF_ERROR(r.skip(f));
    }
  }
  return Status::ok();
}

Status decode_type(Reader r, TypeProto* out) {
  Field f;
  while (!r.at_end()) {
    OBOL_RETURN_IF_ERROR(r.next(&f));
    Reader sub = r;
    switch (f.number) {
      case 1:
        OBOL_RETURN_IF_ERROR(r.read_message(f, "tensor_type", "TypeProto.Tensor", &sub));
        out->kind = TypeProto::Kind::tensor;
        OBOL_RETURN_IF_ERROR(decode_tensor_type(sub, out));
        break;
      case 8:
        OBOL_RETURN_IF_ERROR(r.read_message(f, "sparse_tensor_type", "TypeProto.SparseTensor", &sub));
        out->kind = TypeProto::Kind::sparse_tensor;
        OBOL_RETURN_IF_ERROR(decode_tensor_type(sub, out));
        break;
      // Non-tensor types are recorded by kind only, so callers can reject them with a reason.
      case 4: OBOL_RETURN_IF_ERROR(r.skip(f)); out->kind = TypeProto::Kind::sequence; break;
      case 5: OBOL_RETURN_IF_ERROR(r.skip(f)); out->kind = TypeProto::Kind::map; break;
      case 7: OBOL_RETURN_IF_ERROR(r.skip(f)); out->kind = TypeProto::Kind::opaque; break;
      case 9: OBOL_RETURN_IF_ERROR(r.skip(f)); out->kind = TypeProto::Kind::optional; break;
      case 6: OBOL_RETURN_IF_ERROR(r.read_bytes(f, "denotation", &out->denotation)); break;
      default: OBOL_RETURN_IF_ERROR(r.skip(f));
    }
  }
  return Status::ok();
}

Status decode_value_info(Reader r, ValueInfoProto* out) {
  Field f;
  while (!r.at_end()) {
    OBOL_RETURN_IF_ERROR(r.next(&f));
    switch (f.number) {
      case 1: OBOL_RETURN_IF_ERROR(r.read_bytes(f, "name", &out->name)); break;
      case 2: {
        Reader sub = r;
        OBOL_RETURN_IF_ERROR(r.read_message(f, "type", "TypeProto", &sub));
        OBOL_RETURN_IF_ERROR(decode_type(sub, &out->type));
        break;
      }
      case 3: OBOL_RETURN_IF_ERROR(r.read_bytes(f, "doc_string", &out->doc_string)); break;
      default: OBOL_RETURN_IF_ERROR(r.skip(f));
    }
  }
  return Status::ok();
}

Status read_value_info(Reader& r, const Field& f, const char* name, std::vector<ValueInfoProto>* out) {
  Reader sub = r;
  OBOL_RETURN_IF_ERROR(r.read_message(f, name, "ValueInfoProto", &sub));
  out->emplace_back();
  return decode_value_info(sub, &out->back());
}

Status read_graph(Reader& r, const Field& f, const char* name, std::shared_ptr<const GraphProto>* out) {
  Reader sub = r;
  OBOL_RETURN_IF_ERROR(r.read_message(f, name, "GraphProto", &sub));
  auto g = std::make_shared<GraphProto>();
  OBOL_RETURN_IF_ERROR(decode_graph(sub, g.get()));
  *out = std::move(g);
  return Status::ok();
}

Status decode_attribute(Reader r, AttributeProto* out) {
  Field f;
  int32_t type = 0;
  while (!r.at_end()) {
    OBOL_RETURN_IF_ERROR(r.next(&f));
    Reader sub = r;
    switch (f.number) {
      case 1: OBOL_RETURN_IF_ERROR(r.read_bytes(f, "name", &out->name)); break;
      case 21: OBOL_RETURN_IF_ERROR(r.read_bytes(f, "ref_attr_name", &out->ref_attr_name)); break;
      case 13: OBOL_RETURN_IF_ERROR(r.read_bytes(f, "doc_string", &out->doc_string)); break;
      case 20: OBOL_RETURN_IF_ERROR(r.read_int32(f, "type", &type)); break;
      case 2: OBOL_RETURN_IF_ERROR(r.read_float(f, "f", &out->f)); break;
      case 3: OBOL_RETURN_IF_ERROR(r.read_int64(f, "i", &out->i)); break;
      case 4: OBOL_RETURN_IF_ERROR(r.read_bytes(f, "s", &out->s)); break;
      case 5: {
        OBOL_RETURN_IF_ERROR(r.read_message(f, "t", "TensorProto", &sub));
        auto t = std::make_shared<TensorProto>();
        OBOL_RETURN_IF_ERROR(decode_tensor(sub, t.get()));
        out->t = std::move(t);
        break;
      }
      case 6: OBOL_RETURN_IF_ERROR(read_graph(r, f, "g", &out->g)); break;
      case 7: OBOL_RETURN_IF_ERROR(r.read_repeated_float(f, "floats", &out->floats)); break;
      case 8: OBOL_RETURN_IF_ERROR(r.read_repeated_int64(f, "ints", &out->ints)); break;
      case 9: OBOL_RETURN_IF_ERROR(read_string(r, f, "strings", &out->strings)); break;
      case 10:
        OBOL_RETURN_IF_ERROR(r.read_message(f, "tensors", "TensorProto", &sub));
        out->tensors.emplace_back();
        OBOL_RETURN_IF_ERROR(decode_tensor(sub, &out->tensors.back()));
        break;
      case 11:
        out->graphs.emplace_back();
        OBOL_RETURN_IF_ERROR(read_graph(r, f, "graphs", &out->graphs.back()));
        break;
      // sparse_tensor(s) and type_proto(s) stay undecoded; `type` tells users what was there.
      default: OBOL_RETURN_IF_ERROR(r.skip(f));
    }
  }
  if (type < 0 || type > 14)
    return make_status(StatusCode::invalid_argument, "onnx", "AttributeProto '", out->name, "': invalid type ", type);
  out->type = static_cast<AttributeProto::Type>(type);
  return Status::ok();
}

Status decode_node(Reader r, NodeProto* out) {
  Field f;
  while (!r.at_end()) {
    OBOL_RETURN_IF_ERROR(r.next(&f));
    switch (f.number) {
      case 1: OBOL_RETURN_IF_ERROR(read_string(r, f, "input", &out->input)); break;
      case 2: OBOL_RETURN_IF_ERROR(read_string(r, f, "output", &out->output)); break;
      case 3: OBOL_RETURN_IF_ERROR(r.read_bytes(f, "name", &out->name)); break;
      case 4: OBOL_RETURN_IF_ERROR(r.read_bytes(f, "op_type", &out->op_type)); break;
      case 7: OBOL_RETURN_IF_ERROR(r.read_bytes(f, "domain", &out->domain)); break;
      case 6: OBOL_RETURN_IF_ERROR(r.read_bytes(f, "doc_string", &out->doc_string)); break;
      case 5: {
        Reader sub = r;
        OBOL_RETURN_IF_ERROR(r.read_message(f, "attribute", "AttributeProto", &sub));
        out->attribute.emplace_back();
        OBOL_RETURN_IF_ERROR(decode_attribute(sub, &out->attribute.back()));
        break;
      }
      default: OBOL_RETURN_IF_ERROR(r.skip(f));
    }
  }
  return Status::ok();
}

Status decode_graph(Reader r, GraphProto* out) {
  Field f;
  while (!r.at_end()) {
    OBOL_RETURN_IF_ERROR(r.next(&f));
    Reader sub = r;
    switch (f.number) {
      case 1:
        OBOL_RETURN_IF_ERROR(r.read_message(f, "node", "NodeProto", &sub));
        out->node.emplace_back();
        OBOL_RETURN_IF_ERROR(decode_node(sub, &out->node.back()));
        break;
      case 2: OBOL_RETURN_IF_ERROR(r.read_bytes(f, "name", &out->name)); break;
      case 5:
        OBOL_RETURN_IF_ERROR(r.read_message(f, "initializer", "TensorProto", &sub));
        out->initializer.emplace_back();
        OBOL_RETURN_IF_ERROR(decode_tensor(sub, &out->initializer.back()));
        break;
      case 15:
        return make_status(StatusCode::unsupported, "onnx", "GraphProto.sparse_initializer: sparse initializers are ",
                           "not supported (at offset ", f.offset, ")");
      case 10: OBOL_RETURN_IF_ERROR(r.read_bytes(f, "doc_string", &out->doc_string)); break;
      case 11: OBOL_RETURN_IF_ERROR(read_value_info(r, f, "input", &out->input)); break;
      case 12: OBOL_RETURN_IF_ERROR(read_value_info(r, f, "output", &out->output)); break;
      case 13: OBOL_RETURN_IF_ERROR(read_value_info(r, f, "value_info", &out->value_info)); break;
      default: OBOL_RETURN_IF_ERROR(r.skip(f));
    }
  }
  return Status::ok();
}

}  // namespace

Status decode_tensor(Reader r, TensorProto* out) {
  Field f;
  while (!r.at_end()) {
    OBOL_RETURN_IF_ERROR(r.next(&f));
    switch (f.number) {
      case 1: OBOL_RETURN_IF_ERROR(r.read_repeated_int64(f, "dims", &out->dims)); break;
      case 2: OBOL_RETURN_IF_ERROR(r.read_int32(f, "data_type", &out->data_type)); break;
      case 3:
        OBOL_RETURN_IF_ERROR(r.skip(f));
        out->has_segment = true;
        break;
      case 4: OBOL_RETURN_IF_ERROR(r.read_repeated_float(f, "float_data", &out->float_data)); break;
      case 5: OBOL_RETURN_IF_ERROR(r.read_repeated_int32(f, "int32_data", &out->int32_data)); break;
      case 6: OBOL_RETURN_IF_ERROR(read_string(r, f, "string_data", &out->string_data)); break;
      case 7: OBOL_RETURN_IF_ERROR(r.read_repeated_int64(f, "int64_data", &out->int64_data)); break;
      case 8: OBOL_RETURN_IF_ERROR(r.read_bytes(f, "name", &out->name)); break;
      case 9:
        OBOL_RETURN_IF_ERROR(r.read_bytes(f, "raw_data", &out->raw_data));
        out->has_raw_data = true;
        break;
      case 10: OBOL_RETURN_IF_ERROR(r.read_repeated_double(f, "double_data", &out->double_data)); break;
      case 11: OBOL_RETURN_IF_ERROR(r.read_repeated_uint64(f, "uint64_data", &out->uint64_data)); break;
      case 12: OBOL_RETURN_IF_ERROR(r.read_bytes(f, "doc_string", &out->doc_string)); break;
      case 13: OBOL_RETURN_IF_ERROR(read_string_entry(r, f, "external_data", &out->external_data)); break;
      case 14: {
        int32_t loc = 0;
        OBOL_RETURN_IF_ERROR(r.read_int32(f, "data_location", &loc));
        if (loc != 0 && loc != 1) return r.error("data_location", f.offset, "invalid value " + std::to_string(loc));
        out->data_location = static_cast<TensorProto::DataLocation>(loc);
        break;
      }
      default: OBOL_RETURN_IF_ERROR(r.skip(f));
    }
  }
  return Status::ok();
}

Status decode_model(Reader r, ModelProto* out) {
  Field f;
  while (!r.at_end()) {
    OBOL_RETURN_IF_ERROR(r.next(&f));
    Reader sub = r;
    switch (f.number) {
      case 1: OBOL_RETURN_IF_ERROR(r.read_int64(f, "ir_version", &out->ir_version)); break;
      case 8:
        OBOL_RETURN_IF_ERROR(r.read_message(f, "opset_import", "OperatorSetIdProto", &sub));
        out->opset_import.emplace_back();
        OBOL_RETURN_IF_ERROR(decode_opset(sub, &out->opset_import.back()));
        break;
      case 2: OBOL_RETURN_IF_ERROR(r.read_bytes(f, "producer_name", &out->producer_name)); break;
      case 3: OBOL_RETURN_IF_ERROR(r.read_bytes(f, "producer_version", &out->producer_version)); break;
      case 4: OBOL_RETURN_IF_ERROR(r.read_bytes(f, "domain", &out->domain)); break;
      case 5: OBOL_RETURN_IF_ERROR(r.read_int64(f, "model_version", &out->model_version)); break;
      case 6: OBOL_RETURN_IF_ERROR(r.read_bytes(f, "doc_string", &out->doc_string)); break;
      case 7:
        // A repeated singular message merges in protobuf; real models have one graph.
        OBOL_RETURN_IF_ERROR(r.read_message(f, "graph", "GraphProto", &sub));
        if (out->has_graph) return r.error("graph", f.offset, "more than one graph");
        out->has_graph = true;
        OBOL_RETURN_IF_ERROR(decode_graph(sub, &out->graph));
        break;
      case 14: OBOL_RETURN_IF_ERROR(read_string_entry(r, f, "metadata_props", &out->metadata_props)); break;
      case 25:
        OBOL_RETURN_IF_ERROR(r.skip(f));
        ++out->function_count;
        break;
      default: OBOL_RETURN_IF_ERROR(r.skip(f));
    }
  }
  return Status::ok();
}

}  // namespace onnx
}  // inline namespace v1
}  // namespace obol
