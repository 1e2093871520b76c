// CPU kernels: elementwise operators.
#include "common.hpp"

namespace obol::cpu {

void register_elementwise(CpuOpRegistry& r) { (void)r; }

}  // namespace obol::cpu
