// obol/io/npy.hpp — NumPy .npy tensor files.
//
// Reads format versions 1.0, 2.0 and 3.0 with C-order data of these descr codes: f2 f4 f8 i1 i2 i4
// i8 u1 u2 u4 u8 b1, little-endian ('<'), native ('=') or byte-order-free ('|'). Fortran order,
// big-endian data, structured and object dtypes are unsupported (a Status says which). Writes
// version 1.0 (2.0 when the header needs it) with the header padded to 64 bytes.
// The result is an owned Tensor; nothing points into the input. All functions are thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "obol/core/status.hpp"
#include "obol/core/tensor.hpp"

namespace obol {
inline namespace v1 {
namespace io {

// Decodes an .npy image held in memory.
Result<Tensor> parse_npy(std::string_view bytes);
Result<Tensor> read_npy(const std::string& path);

// Encodes a tensor. bf16 and block-quantized dtypes have no NumPy equivalent: unsupported.
Result<std::string> encode_npy(const TensorView& tensor);
Status write_npy(const std::string& path, const TensorView& tensor);

}  // namespace io
}  // inline namespace v1
}  // namespace obol
