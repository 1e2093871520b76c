// obol/graph/shape_inference.hpp — static shape and type inference with symbolic dimensions.
//
// Propagates ValueType (dtype and Dims, including named symbols such as "batch" and "seq") from the
// graph inputs and constants through the nodes in topological order. Dimensions follow symbols
// where the op's arithmetic allows it without guessing: broadcasting keeps a symbol met on both
// sides or against a 1, MatMul carries the batch and row symbols, Reshape's 0 copies the input's
// dimension, Concat adds known sizes, Transpose/Gather/Slice/Unsqueeze/Squeeze move them. Anything
// the rules cannot decide stays unknown (value -1 without a symbol), never guessed.
//
// Covered: elementwise and broadcasting ops (unary, binary, variadic, comparisons, Where), Cast,
// MatMul, Gemm, the fused GEMMs, Conv/ConvTranspose-free convolution (Conv, FusedConv), pooling
// (Max/Average/Global), Reshape (constant shape, 0 and -1), Flatten, Transpose, Concat, Gather,
// Slice (constant arguments), Unsqueeze, Squeeze, Expand (constant shape), the reductions and
// ArgMax/ArgMin, Softmax/LogSoftmax, LayerNormalization, BatchNormalization, Dropout, Identity,
// Shape, Size, Constant, ConstantOfShape, ScaledDotProductAttention. Other ops leave their outputs
// as declared.
//
// Declared types (ValueInfoProto, graph inputs and outputs) are merged with what is inferred: an
// unknown part is filled in, a symbolic dimension may become a known size, and a known part that
// disagrees (declared f32[3], inferred f32[4]; another dtype; another rank) is an error naming the
// node and the value. Subgraph bodies (If/Loop/Scan) are not entered.
//
// Thread-safety: rewrites the graph in place; run it from one thread before the graph is shared.
#pragma once

#include <vector>

#include "obol/core/status.hpp"
#include "obol/graph/graph.hpp"

namespace obol {
inline namespace v1 {
namespace graph {

// Infers the output types of one node from the current types (and constant data) of its inputs.
// One entry per node output; an entry is left default (dtype invalid, rank unknown) where nothing is
// known. Never fails: inconsistent inputs give unknown outputs (the kernel reports them at run time).
std::vector<ValueType> infer_node_types(const Graph& g, const Node& node);

// Merges `inferred` into `declared`. Returns true when `declared` changed; an error (message starting
// "[shape inference]" and naming `what`) when a known part disagrees.
Result<bool> merge_value_type(ValueType& declared, const ValueType& inferred, const std::string& what);

// Runs inference over the whole graph in topological order, refining every node output's type.
// Returns the number of values whose type changed.
Result<int> infer_shapes(Graph& g);

}  // namespace graph
}  // inline namespace v1
}  // namespace obol
