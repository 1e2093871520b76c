// reduce kernels for the avx512 tier. Compiled with only this tier's flags (cmake/Isa.cmake).
#include "register.hpp"

namespace obol::kernels {

void register_reduce__avx512(KernelTable& t) { (void)t; }

}  // namespace obol::kernels
