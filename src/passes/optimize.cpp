// optimize(): the pass pipeline of each optimisation level (obol/graph/passes.hpp).
#include "obol/graph/passes.hpp"
#include "obol/graph/shape_inference.hpp"

namespace obol {
inline namespace v1 {
namespace graph {

Result<PassReport> optimize(Graph& g, OptLevel level) {
  PassReport report;
  if (level >= OptLevel::extended) {
    OBOL_ASSIGN_OR_RETURN(const int qdq, fuse_qdq(g));
    if (qdq > 0) report.notes.push_back(str_cat("fuse_qdq: ", qdq, " QDQ patterns to integer nodes"));
  }
  if (level >= OptLevel::basic) {
    OBOL_ASSIGN_OR_RETURN(int inferred, infer_shapes(g));
    OBOL_ASSIGN_OR_RETURN(report.folded_nodes, fold_constants(g));
    report.removed_nodes = g.remove_dead_nodes();
    // Folding turns shapes (Reshape targets, Slice bounds) into constants: infer again.
    if (report.folded_nodes > 0) {
      OBOL_ASSIGN_OR_RETURN(const int more, infer_shapes(g));
      inferred += more;
    }
    report.inferred_values = inferred;
  }
  if (level >= OptLevel::extended) {
    OBOL_ASSIGN_OR_RETURN(report.fused_gelu, fuse_gelu(g));
    OBOL_ASSIGN_OR_RETURN(report.fused_layer_norm, fuse_layer_norm(g));
    OBOL_ASSIGN_OR_RETURN(report.fused_attention, fuse_attention(g));
    OBOL_ASSIGN_OR_RETURN(report.fused_matmul, fuse_matmul_bias_activation(g));
    OBOL_ASSIGN_OR_RETURN(report.fused_conv_bn, fuse_conv_batchnorm(g));
  }
  if (level >= OptLevel::all) {
    OBOL_ASSIGN_OR_RETURN(report.fused_conv_act, fuse_conv_activation(g));
  }
  g.compact();
  OBOL_RETURN_IF_ERROR(g.validate());
  return report;
}

}  // namespace graph
}  // inline namespace v1
}  // namespace obol
