// CPU kernels: control_flow operators.
#include "common.hpp"

namespace obol::cpu {

void register_control_flow(CpuOpRegistry& r) { (void)r; }

}  // namespace obol::cpu
