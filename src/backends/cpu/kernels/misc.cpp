// CPU kernels: operators that belong to no larger family (image resizing, ...).
#include "common.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

void register_resize(CpuOpRegistry& r);
void register_vision(CpuOpRegistry& r);
void register_signal(CpuOpRegistry& r);

void register_misc(CpuOpRegistry& r) {
  register_resize(r);
  register_vision(r);
  register_signal(r);
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
