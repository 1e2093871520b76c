// Reference (plain-loop) 2-D transpose: the tests' truth and the scalar tier.
#pragma once

#include <cstdint>
#include <cstring>

#include "obol/kernels/isa_namespace.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {
OBOL_KERNELS_BEGIN
namespace reference {

// y (cols x rows, leading dimension ldy) = transpose of x (rows x cols, leading dimension ldx), for
// elements of `elem` bytes. Elements are moved as bytes, so NaN payloads and -0 survive unchanged.
inline void transpose_2d(const void* x, int64_t ldx, void* y, int64_t ldy, int64_t rows, int64_t cols,
                         size_t elem) {
  const char* xs = static_cast<const char*>(x);
  char* yd = static_cast<char*>(y);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      std::memcpy(yd + static_cast<size_t>(c * ldy + r) * elem, xs + static_cast<size_t>(r * ldx + c) * elem, elem);
}

// Same as KernelTable::transpose_2d_32.
inline void transpose_2d_32(const void* x, int64_t ldx, void* y, int64_t ldy, int64_t rows, int64_t cols) {
  transpose_2d(x, ldx, y, ldy, rows, cols, 4);
}

}  // namespace reference
OBOL_KERNELS_END
}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
