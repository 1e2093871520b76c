// obol/formats/onnx_graph.hpp — turning a decoded ONNX model into obol's graph IR.
#pragma once

#include <memory>

#include "obol/formats/onnx.hpp"
#include "obol/graph/graph.hpp"

namespace obol {
inline namespace v1 {
namespace onnx {

// Builds the graph of `model`:
//   - initializers become constant values that point into the model's bytes where possible (the
//     constants keep the model's storage alive);
//   - Constant nodes become constant values;
//   - every other node must be an operator in obol's op list (obol/graph/ops.def); otherwise the
//     Status names the op, its domain, the imported opset and the node;
//   - graph inputs and outputs must be tensors (sequence, map and optional types are rejected with
//     their kind); value_info types are recorded;
//   - If/Loop/Scan bodies are imported recursively as graph attributes, with names they use from
//     enclosing graphs marked is_outer_scope.
// The graph is validated before it is returned.
Result<std::shared_ptr<graph::Graph>> to_graph(const OnnxModel& model);

}  // namespace onnx
}  // inline namespace v1
}  // namespace obol
