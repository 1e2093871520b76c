// obol/io/tensor_file.hpp — tensors in ONNX TensorProto (.pb) files, and reading or writing a
// tensor file by its extension (.npy or .pb).
//
// A .pb file holds one serialized TensorProto, as in the ONNX backend test data
// (test_data_set_0/input_0.pb). Raw and typed storage are both read; external data, strings and
// other unsupported data types give a Status. Results are owned Tensors. Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "obol/core/status.hpp"
#include "obol/core/tensor.hpp"

namespace obol {
inline namespace v1 {
namespace io {

struct NamedTensor {
  std::string name;  // TensorProto.name; empty for .npy files
  Tensor tensor;
};

Result<NamedTensor> parse_tensor_pb(std::string_view bytes);
Result<NamedTensor> read_tensor_pb(const std::string& path);
// Encodes `tensor` as a TensorProto with raw_data. Block-quantized dtypes are unsupported.
Result<std::string> encode_tensor_pb(const TensorView& tensor, std::string_view name);
Status write_tensor_pb(const std::string& path, const TensorView& tensor, std::string_view name);

// By extension: ".npy" or ".pb"; anything else is invalid_argument.
Result<NamedTensor> read_tensor_file(const std::string& path);
Status write_tensor_file(const std::string& path, const TensorView& tensor, std::string_view name = {});

}  // namespace io
}  // inline namespace v1
}  // namespace obol
