// CPU kernels: pool operators.
#include "common.hpp"

namespace obol::cpu {

void register_pool(CpuOpRegistry& r) { (void)r; }

}  // namespace obol::cpu
