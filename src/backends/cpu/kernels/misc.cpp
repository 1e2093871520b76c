// CPU kernels: misc operators.
#include "common.hpp"

namespace obol::cpu {

void register_misc(CpuOpRegistry& r) { (void)r; }

}  // namespace obol::cpu
