// obol/formats/onnx_writer.hpp — writes an obol Graph as an ONNX model.
//
// The inverse of onnx_graph.hpp's import for graphs made of ONNX (and com.microsoft) operators:
// nodes keep their op_type, domain, attributes and subgraphs; constants become initializers with
// raw_data; graph inputs and outputs get their ValueType (symbolic dims as dim_param); every other
// typed value is written as value_info. Opset imports are the highest opset any node of a domain
// declares, or WriteOptions' defaults for nodes that declare none (graphs built in code).
//
// Nodes of the "obol" domain (created by obol's own fusion passes) have no ONNX meaning: writing
// them fails with a Status naming the node, unless WriteOptions::allow_internal_ops is set (then
// the file is only readable by obol). Block-quantized constants (q4_0, …) cannot be written either.
//
// Thread-safety: reads the graph only; any number of writers may run on one graph at once.
#pragma once

#include <cstdint>
#include <string>

#include "obol/core/status.hpp"
#include "obol/graph/graph.hpp"

namespace obol {
inline namespace v1 {
namespace onnx {

struct WriteOptions {
  int64_t ir_version = 8;
  int64_t default_opset = 17;           // ai.onnx opset for nodes whose opset is 0
  int64_t default_ms_opset = 1;         // com.microsoft opset for nodes whose opset is 0
  std::string producer_name = "obol";
  std::string producer_version = "0";
  std::string doc_string;
  bool allow_internal_ops = false;
};

// Serialises `g` as ONNX ModelProto bytes.
Result<std::string> write_model(const graph::Graph& g, const WriteOptions& options = {});

// Writes `g` to `path` (overwritten). The message names the path on I/O errors.
Status save_model(const graph::Graph& g, const std::string& path, const WriteOptions& options = {});

}  // namespace onnx
}  // inline namespace v1
}  // namespace obol
