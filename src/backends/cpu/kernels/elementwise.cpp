// CPU kernels: elementwise operators. The family is split by kind into elementwise_unary.cpp,
// elementwise_binary.cpp and elementwise_misc.cpp.
#include "elementwise_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

void register_elementwise(CpuOpRegistry& r) {
  register_elementwise_unary(r);
  register_elementwise_binary(r);
  register_elementwise_misc(r);
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
