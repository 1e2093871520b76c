// Fusion helpers that are not templates: which activations a fused GEMM or convolution can apply.
#include <limits>

#include "fusion_util.hpp"

namespace obol {
inline namespace v1 {
namespace graph::fusion {

std::optional<Activation> activation_of(const Graph& g, const Node& n) {
  if (n.inputs.empty() || n.inputs[0] == kNoValue) return std::nullopt;
  switch (n.op) {
    case OpKind::Relu:
      return Activation{"Relu", {}};
    case OpKind::Tanh:
      return Activation{"Tanh", {}};
    case OpKind::Sigmoid:
      return Activation{"Sigmoid", {}};
    case OpKind::LeakyRelu: {
      auto alpha = n.attr_float("alpha", 0.01f);
      if (!alpha.is_ok()) return std::nullopt;
      return Activation{"LeakyRelu", {*alpha}};
    }
    case OpKind::Gelu: {
      auto approx = n.attr_string("approximate", "none");
      if (!approx.is_ok()) return std::nullopt;
      if (*approx == "none") return Activation{"Gelu", {}};
      if (*approx == "tanh") return Activation{"GeluTanh", {}};
      return std::nullopt;
    }
    case OpKind::Clip: {
      float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
      if (n.opset > 0 && n.opset < 11) {
        auto a = n.attr_float("min", lo);
        auto b = n.attr_float("max", hi);
        if (!a.is_ok() || !b.is_ok()) return std::nullopt;
        lo = *a;
        hi = *b;
      } else {
        for (size_t i = 1; i < n.inputs.size() && i < 3; ++i) {
          if (n.inputs[i] == kNoValue) continue;
          const ConstantData* c = g.value(n.inputs[i]).constant.get();
          if (!c || c->view.dtype() != DType::f32 || c->view.numel() != 1) return std::nullopt;
          (i == 1 ? lo : hi) = c->view.data_as<const float>()[0];
        }
      }
      if (lo > hi) lo = hi;  // as the Clip kernel does
      return Activation{"Clip", {lo, hi}};
    }
    default:
      return std::nullopt;
  }
}

}  // namespace graph::fusion
}  // inline namespace v1
}  // namespace obol
