// obol/graph/passes.hpp — graph rewrites run when a model is loaded.
//
// Every pass takes a valid graph and leaves a valid graph (validate() holds): rewritten nodes are
// marked removed, new nodes appended, and optimize() compacts at the end. A pass that cannot prove
// a rewrite exact (same outputs up to float rounding, same graph outputs, no value another node
// still reads) leaves the nodes as they are. Passes run on one thread; the graph is not shared
// while they run. Errors are Status values naming the pass and the node.
#pragma once

#include <string>
#include <vector>

#include "obol/core/status.hpp"
#include "obol/graph/graph.hpp"

namespace obol {
inline namespace v1 {
namespace graph {

// Graph optimisation levels, as in ONNX Runtime. Each level includes the ones below it.
//
//   none      the graph as loaded: no pass runs (only compaction of what the loader removed).
//   basic     shape and type inference (infer_shapes; a conflict with a declared type is an error),
//             constant folding (fold_constants), dead-code elimination.
//   extended  + operator fusions into ops with the same semantics in fewer, fused kernels:
//             fuse_gelu, fuse_layer_norm, fuse_attention, fuse_matmul_bias_activation,
//             fuse_conv_batchnorm (in this order: MatMul + Gelu needs the Gelu node first).
//   all       + CPU-specific rewrites: fuse_conv_activation (Conv + Relu/Clip/... without a
//             BatchNormalization into FusedConv, whose activation runs in the GEMM epilogue).
//
// Ops the fusions create (ops.def):
//   com.microsoft FusedGemm(A, B, C?)   Gemm's attributes plus activation (string: Relu, Tanh,
//       Sigmoid, LeakyRelu, Clip, HardSigmoid as in ONNX Runtime; obol also accepts Gelu and
//       GeluTanh), activation_alpha, activation_beta.
//   com.microsoft FusedConv(X, W, B?)   Conv's attributes plus activation and activation_params
//       (floats: LeakyRelu alpha, Clip min/max), as in ONNX Runtime.
//   obol FusedMatMulBias(A, B, bias?)   numpy matmul of A [..., M, K] by a 2-D B [K, N], plus a 1-D
//       bias [N], then the activation (attributes as FusedGemm's).
//   obol ScaledDotProductAttention(Q, Kt, V, mask?)   softmax(scale * Q x Kt + mask) x V over the
//       last two dimensions, batch dimensions broadcast as in MatMul. Q [..., S, D], Kt [..., D, T],
//       V [..., T, Dv], mask broadcastable to [..., S, T]; attribute scale (float, default 1).
//   LayerNormalization (axis -1, epsilon) and Gelu (approximate "none" or "tanh") from ai.onnx.
enum class OptLevel : int {
  none = 0,
  basic = 1,
  extended = 2,
  all = 3,
};

// What the passes did, for reports and tests.
struct PassReport {
  int folded_nodes = 0;   // nodes replaced by constants
  int removed_nodes = 0;  // dead nodes dropped
  int inferred_values = 0;  // values whose type shape inference refined
  int fused_gelu = 0;         // decomposed GELUs replaced by Gelu
  int fused_layer_norm = 0;   // decomposed layer norms replaced by LayerNormalization
  int fused_matmul = 0;       // MatMul/Gemm (+bias) (+activation) chains fused
  int fused_conv_bn = 0;      // Conv + BatchNormalization (+activation) folded
  int fused_conv_act = 0;     // Conv + activation fused (level all)
  int fused_attention = 0;    // attention blocks replaced by ScaledDotProductAttention
  std::vector<std::string> notes;
};

// Replaces every deterministic node whose inputs are all constants by constant outputs, computed
// with the CPU backend's kernels. Outputs larger than `max_bytes` each are left to run time.
Result<int> fold_constants(Graph& g, size_t max_bytes = size_t{64} << 20);

// Shape and type inference: obol/graph/shape_inference.hpp (infer_shapes).

// x * 0.5 * (1 + erf(x / sqrt 2)) in its usual orderings (also x * sqrt(1/2) inside erf, and the
// 0.5 applied to either factor), and 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), become one
// Gelu node. Returns the number of patterns replaced.
Result<int> fuse_gelu(Graph& g);

// ReduceMean(x) -> Sub -> (Pow 2 | Mul self) -> ReduceMean -> Add eps -> Sqrt -> Div (or Reciprocal
// and Mul) -> Mul gamma -> Add beta over the last axis becomes LayerNormalization(x, gamma, beta)
// (gamma and beta constants; a missing beta is allowed).
Result<int> fuse_layer_norm(Graph& g);

// MatMul(A, constant 2-D B) -> Add(constant 1-D bias) -> activation becomes FusedMatMulBias (bias and
// activation each optional, at least one present); Gemm -> activation becomes FusedGemm. Activations:
// Relu, Tanh, Sigmoid, LeakyRelu, Clip with constant bounds, Gelu.
Result<int> fuse_matmul_bias_activation(Graph& g);

// Conv (constant f32 W and B) -> BatchNormalization (constant, inference mode) becomes a Conv with
// W' = W * gamma / sqrt(var + eps) and B' = (B - mean) * gamma / sqrt(var + eps) + beta; a following
// Relu, or Clip with constant bounds (Relu6), makes it a FusedConv.
Result<int> fuse_conv_batchnorm(Graph& g);

// Conv -> Relu/LeakyRelu/Sigmoid/Tanh/Clip becomes FusedConv.
Result<int> fuse_conv_activation(Graph& g);

// MatMul(Q, Kt) -> (Mul or Div by a constant scalar) -> (Add mask) -> Softmax(last axis) ->
// MatMul(., V) becomes ScaledDotProductAttention(Q, Kt, V, mask).
Result<int> fuse_attention(Graph& g);

// QDQ patterns with constant int8 weights become integer nodes (runs first at extended, before
// constant folding would turn DequantizeLinear(weight) into fp32): MatMul(DQ(x), DQ(W)) -> Q becomes
// QLinearMatMul, MatMul(DQ(x), DQ(W)) com.microsoft MatMulIntegerToFloat, Conv(DQ(x), DQ(W), B) -> Q
// QLinearConv (B as int32). Per-tensor activation parameters, per-tensor or per-channel weights.
Result<int> fuse_qdq(Graph& g);

// Runs the passes of `level` in order and compacts the graph. The graph stays valid.
Result<PassReport> optimize(Graph& g, OptLevel level);

}  // namespace graph
}  // inline namespace v1
}  // namespace obol
