// The CPU backend's fused-op family: kernels for the ops obol's fusion passes create (and the
// matching ONNX Runtime contrib ops). Each lives in its own fused_<name>.cpp.
#include "registry.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

void register_fused_matmul(CpuOpRegistry& r);
void register_fused_conv(CpuOpRegistry& r);
void register_fused_attention(CpuOpRegistry& r);

void register_fused(CpuOpRegistry& r) {
  register_fused_matmul(r);
  register_fused_conv(r);
  register_fused_attention(r);
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
