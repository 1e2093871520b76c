// CPU kernels: rnn operators.
#include "common.hpp"

namespace obol::cpu {

void register_rnn(CpuOpRegistry& r) { (void)r; }

}  // namespace obol::cpu
