// Helpers of the fused-op kernels (FusedGemm, FusedConv, FusedMatMulBias, attention): the
// activation attributes ONNX Runtime's fused ops carry, mapped onto the GEMM epilogue's UnaryOp.
#pragma once

#include <limits>
#include <string>

#include "common.hpp"
#include "obol/kernels/ops.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

struct FusedActivation {
  kernels::UnaryOp op = kernels::UnaryOp::identity;
  kernels::UnaryParams params{};
};

// Maps an activation name and its parameters (LeakyRelu: alpha; Clip: min, max) onto the epilogue.
// An unknown name or missing parameter is an error naming the node.
inline Result<FusedActivation> parse_activation(const graph::Node& node, const std::string& name, float p0, float p1,
                                                bool has_p0, bool has_p1) {
  FusedActivation a;
  using kernels::UnaryOp;
  if (name.empty() || name == "Identity") a.op = UnaryOp::identity;
  else if (name == "Relu") a.op = UnaryOp::relu;
  else if (name == "Tanh") a.op = UnaryOp::tanh;
  else if (name == "Sigmoid") a.op = UnaryOp::sigmoid;
  else if (name == "Gelu") a.op = UnaryOp::gelu_erf;
  else if (name == "GeluTanh") a.op = UnaryOp::gelu_tanh;
  else if (name == "LeakyRelu") {
    a.op = UnaryOp::leaky_relu;
    a.params.alpha = has_p0 ? p0 : 0.01f;
  } else if (name == "Clip") {
    a.op = UnaryOp::clip;
    a.params.alpha = has_p0 ? p0 : -std::numeric_limits<float>::infinity();
    a.params.beta = has_p1 ? p1 : std::numeric_limits<float>::infinity();
  } else {
    return node_error(StatusCode::unsupported, node, "activation '", name,
                      "' is not supported (Relu, Tanh, Sigmoid, LeakyRelu, Clip, Gelu, GeluTanh)");
  }
  return a;
}

// FusedGemm / FusedMatMulBias style: activation, activation_alpha, activation_beta.
inline Result<FusedActivation> activation_from_attributes(const graph::Node& node) {
  OBOL_ASSIGN_OR_RETURN(const std::string name, node.attr_string("activation", ""));
  const graph::Attribute* a = node.find_attribute("activation_alpha");
  const graph::Attribute* b = node.find_attribute("activation_beta");
  OBOL_ASSIGN_OR_RETURN(const float alpha, node.attr_float("activation_alpha", 0.0f));
  OBOL_ASSIGN_OR_RETURN(const float beta, node.attr_float("activation_beta", 0.0f));
  return parse_activation(node, name, alpha, beta, a != nullptr, b != nullptr);
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
