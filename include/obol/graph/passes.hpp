// obol/graph/passes.hpp — graph rewrites run when a model is loaded.
#pragma once

#include <string>
#include <vector>

#include "obol/core/status.hpp"
#include "obol/graph/graph.hpp"

namespace obol::graph {

// Graph optimisation levels, as in ONNX Runtime. Each level includes the ones below it.
enum class OptLevel : int {
  none = 0,      // run the graph as loaded
  basic = 1,     // constant folding, dead-code elimination
  extended = 2,  // + operator fusions
  all = 3,       // + layout and backend-specific rewrites
};

// What the passes did, for reports and tests.
struct PassReport {
  int folded_nodes = 0;   // nodes replaced by constants
  int removed_nodes = 0;  // dead nodes dropped
  std::vector<std::string> notes;
};

// Replaces every deterministic node whose inputs are all constants by constant outputs, computed
// with the CPU backend's kernels. Outputs larger than `max_bytes` each are left to run time.
Result<int> fold_constants(Graph& g, size_t max_bytes = size_t{64} << 20);

// QDQ patterns with constant int8 weights become integer nodes (runs first at extended, before
// constant folding would turn DequantizeLinear(weight) into fp32): MatMul(DQ(x), DQ(W)) -> Q becomes
// QLinearMatMul, MatMul(DQ(x), DQ(W)) com.microsoft MatMulIntegerToFloat, Conv(DQ(x), DQ(W), B) -> Q
// QLinearConv (B as int32). Per-tensor activation parameters, per-tensor or per-channel weights.
Result<int> fuse_qdq(Graph& g);

// Runs the passes of `level` in order and compacts the graph. The graph stays valid.
Result<PassReport> optimize(Graph& g, OptLevel level);

}  // namespace obol::graph
