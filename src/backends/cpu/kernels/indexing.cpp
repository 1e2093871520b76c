// CPU kernels: indexing operators.
#include "common.hpp"

namespace obol::cpu {

void register_indexing(CpuOpRegistry& r) { (void)r; }

}  // namespace obol::cpu
