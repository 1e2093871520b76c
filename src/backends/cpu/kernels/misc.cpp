// CPU kernels: operators that belong to no larger family (image resizing, ...).
#include "common.hpp"

namespace obol::cpu {

void register_resize(CpuOpRegistry& r);

void register_misc(CpuOpRegistry& r) { register_resize(r); }

}  // namespace obol::cpu
