#include "registry.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

const CpuOpRegistry& cpu_op_registry() {
  static const CpuOpRegistry registry = [] {
    CpuOpRegistry r;
#define OBOL_CPU_FAMILY(family) register_##family(r);
#include "families.def"
#undef OBOL_CPU_FAMILY
    return r;
  }();
  return registry;
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
