// CPU kernels: reduce operators.
#include "common.hpp"

namespace obol::cpu {

void register_reduce(CpuOpRegistry& r) { (void)r; }

}  // namespace obol::cpu
