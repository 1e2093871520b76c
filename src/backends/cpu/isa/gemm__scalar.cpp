// gemm kernels for the scalar tier. Compiled with only this tier's flags (cmake/Isa.cmake).
#include "register.hpp"

namespace obol::kernels {

void register_gemm__scalar(KernelTable& t) { (void)t; }

}  // namespace obol::kernels
