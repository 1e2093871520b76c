#include "obol/io/tensor_file.hpp"

#include "formats/onnx/protobuf_writer.hpp"
#include "obol/formats/onnx.hpp"
#include "obol/io/mapped_file.hpp"
#include "obol/io/npy.hpp"

namespace obol {
inline namespace v1 {
namespace io {

namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Result<NamedTensor> parse_tensor_pb(std::string_view bytes) {
  OBOL_ASSIGN_OR_RETURN(const onnx::TensorProto proto, onnx::decode_tensor_proto(bytes.data(), bytes.size()));
  if (proto.data_location == onnx::TensorProto::DataLocation::external)
    return make_status(StatusCode::unsupported, "onnx", "tensor '", proto.name,
                       "': external data in a standalone tensor file is not supported");
  NamedTensor out;
  OBOL_ASSIGN_OR_RETURN(out.tensor, onnx::tensor_copy(proto));
  out.name = std::string(proto.name);
  return out;
}

Result<NamedTensor> read_tensor_pb(const std::string& path) {
  auto f = MappedFile::open(path);
  if (!f) return make_status(f.status().code(), "onnx", f.status().message());
  auto t = parse_tensor_pb((*f)->bytes());
  if (!t) return Status(t.status().code(), t.status().message() + " (in '" + path + "')");
  return t;
}

Result<std::string> encode_tensor_pb(const TensorView& t, std::string_view name) {
  const onnx::DataType type = onnx::from_dtype(t.dtype());
  if (type == onnx::DataType::undefined)
    return make_status(StatusCode::unsupported, "onnx", "dtype ", dtype_name(t.dtype()), " has no ONNX equivalent");
  onnx::pb::Writer w;
  for (int i = 0; i < t.rank(); ++i) w.int_field(1, t.shape()[i]);
  w.int_field(2, static_cast<int64_t>(type));
  if (!name.empty()) w.bytes_field(8, name);
  w.bytes_field(9, std::string_view(static_cast<const char*>(t.data()), t.nbytes()));
  return w.take();
}

Status write_tensor_pb(const std::string& path, const TensorView& t, std::string_view name) {
  OBOL_ASSIGN_OR_RETURN(const std::string bytes, encode_tensor_pb(t, name));
  return write_file(path, bytes);
}

Result<NamedTensor> read_tensor_file(const std::string& path) {
  if (ends_with(path, ".npy")) {
    NamedTensor out;
    OBOL_ASSIGN_OR_RETURN(out.tensor, read_npy(path));
    return out;
  }
  if (ends_with(path, ".pb")) return read_tensor_pb(path);
  return make_status(StatusCode::invalid_argument, "io", "'", path, "': unknown tensor file type (expected .npy or .pb)");
}

Status write_tensor_file(const std::string& path, const TensorView& t, std::string_view name) {
  if (ends_with(path, ".npy")) return write_npy(path, t);
  if (ends_with(path, ".pb")) return write_tensor_pb(path, t, name);
  return make_status(StatusCode::invalid_argument, "io", "'", path, "': unknown tensor file type (expected .npy or .pb)");
}

}  // namespace io
}  // inline namespace v1
}  // namespace obol
