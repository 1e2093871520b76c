// CPU kernels: tensor operators.
#include "common.hpp"

namespace obol::cpu {

void register_tensor(CpuOpRegistry& r) { (void)r; }

}  // namespace obol::cpu
