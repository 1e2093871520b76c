// CPU kernel: FusedConv (com.microsoft) — Conv whose activation runs in the GEMM epilogue (or right
// after each depthwise output plane), as ONNX Runtime defines it: attributes of Conv plus
// activation (Relu, Tanh, Sigmoid, LeakyRelu, Clip; obol also takes Gelu, GeluTanh) and
// activation_params (LeakyRelu: alpha; Clip: min, max).
#include "conv_util.hpp"
#include "fused_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

namespace {

Result<std::unique_ptr<backend::Kernel>> make_fused_conv(const graph::Graph& g, const graph::Node& node) {
  OBOL_ASSIGN_OR_RETURN(const std::string name, node.attr_string("activation", ""));
  OBOL_ASSIGN_OR_RETURN(const std::vector<float> params, node.attr_floats("activation_params"));
  OBOL_ASSIGN_OR_RETURN(const FusedActivation act,
                        parse_activation(node, name, params.size() > 0 ? params[0] : 0.0f,
                                         params.size() > 1 ? params[1] : 0.0f, params.size() > 0, params.size() > 1));
  return make_conv_activation(g, node, act.op, act.params);
}

}  // namespace

void register_fused_conv(CpuOpRegistry& r) { r.add(graph::OpKind::MsFusedConv, &make_fused_conv); }

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
