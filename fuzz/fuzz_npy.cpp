// libFuzzer target: .npy and TensorProto .pb tensor-file parsers.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "obol/io/npy.hpp"
#include "obol/io/tensor_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto npy = obol::io::parse_npy(bytes);
  if (npy) {
    auto again = obol::io::encode_npy(npy->view());
    if (again) (void)obol::io::parse_npy(*again);
  }
  (void)obol::io::parse_tensor_pb(bytes);
  return 0;
}
