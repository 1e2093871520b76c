// Decoding of ONNX protobuf messages into the structs of obol/formats/onnx.hpp (internal).
#pragma once

#include "formats/onnx/protobuf_reader.hpp"
#include "obol/formats/onnx.hpp"

namespace obol {
inline namespace v1 {
namespace onnx {

Status decode_model(pb::Reader r, ModelProto* out);
Status decode_tensor(pb::Reader r, TensorProto* out);

}  // namespace onnx
}  // inline namespace v1
}  // namespace obol
