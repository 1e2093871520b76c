// CPU kernels: conv operators.
#include "common.hpp"

namespace obol::cpu {

void register_conv(CpuOpRegistry& r) { (void)r; }

}  // namespace obol::cpu
