// CPU kernels: matmul operators.
#include "common.hpp"

namespace obol::cpu {

void register_matmul(CpuOpRegistry& r) { (void)r; }

}  // namespace obol::cpu
