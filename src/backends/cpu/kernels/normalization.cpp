// CPU kernels: normalization operators.
#include "common.hpp"

namespace obol::cpu {

void register_normalization(CpuOpRegistry& r) { (void)r; }

}  // namespace obol::cpu
