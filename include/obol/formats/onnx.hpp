// obol/formats/onnx.hpp — ONNX models as decoded protobuf messages, read in place.
//
// The structs mirror the parts of onnx.proto that inference needs. They are filled by obol's own
// bounds-checked wire-format decoder; untrusted bytes give a Status, never a crash.
//
// Lifetimes: every std::string_view in these structs (names, raw_data, attribute strings …) points
// into the model's bytes: the memory-mapped model file, a mapped external-data file, or, for
// load_onnx_bytes(), the caller's buffer. They stay valid while the OnnxModel, or any copy of its
// storage() handle, is alive (for load_onnx_bytes: while the caller's buffer is alive too).
// Numeric repeated fields (dims, float_data, ints …) are decoded into owned vectors.
//
// Thread-safety: an OnnxModel is immutable after loading; any number of threads may read it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "obol/core/dtype.hpp"
#include "obol/core/shape.hpp"
#include "obol/core/status.hpp"
#include "obol/core/tensor.hpp"

namespace obol {
inline namespace v1 {
namespace onnx {

// TensorProto.DataType values (onnx.proto); the numbers are ONNX's.
enum class DataType : int32_t {
  undefined = 0,
  float32 = 1,
  uint8 = 2,
  int8 = 3,
  uint16 = 4,
  int16 = 5,
  int32 = 6,
  int64 = 7,
  string = 8,
  boolean = 9,
  float16 = 10,
  float64 = 11,
  uint32 = 12,
  uint64 = 13,
  complex64 = 14,
  complex128 = 15,
  bfloat16 = 16,
  float8e4m3fn = 17,
  float8e4m3fnuz = 18,
  float8e5m2 = 19,
  float8e5m2fnuz = 20,
  uint4 = 21,
  int4 = 22,
};

// ONNX's name of a data type ("FLOAT", "INT64", …); "UNKNOWN(n)" for values outside the enum.
std::string data_type_name(int32_t data_type);
// The obol DType of an ONNX data type. STRING, complex, float8 and 4-bit types are unsupported
// (the Status names the type); unknown values are invalid_argument.
Result<DType> to_dtype(int32_t data_type);
// The ONNX data type of an obol scalar DType; DataType::undefined for block-quantized types.
DataType from_dtype(DType dtype) noexcept;

struct StringStringEntry {
  std::string_view key;
  std::string_view value;
};

struct OperatorSetId {
  std::string_view domain;  // "" and "ai.onnx" both mean the default domain
  int64_t version = 0;
};

struct TensorProto {
  enum class DataLocation : int32_t { default_ = 0, external = 1 };

  std::vector<int64_t> dims;
  int32_t data_type = 0;  // a DataType value; kept raw so unknown values can be reported
  std::string_view name;
  std::string_view doc_string;
  // Raw little-endian bytes. For external tensors the loader points this at the mapped range of
  // the external file after checking location, offset and length (external_resolved is then set).
  std::string_view raw_data;
  bool has_raw_data = false;
  // Typed storage (used when raw_data is absent). As in onnx.proto: float16, bfloat16, bool,
  // int8/uint8 and int16/uint16 values are stored one per int32_data element; uint32 in uint64_data.
  std::vector<float> float_data;
  std::vector<int32_t> int32_data;
  std::vector<int64_t> int64_data;
  std::vector<double> double_data;
  std::vector<uint64_t> uint64_data;
  std::vector<std::string_view> string_data;
  DataLocation data_location = DataLocation::default_;
  std::vector<StringStringEntry> external_data;  // keys: location, offset, length, checksum
  bool external_resolved = false;
  bool has_segment = false;  // segmented tensors are rejected by tensor_data()
};


// TypeProto: the kind is always recorded; elem_type and shape are filled for tensor types.
struct TypeProto {
  enum class Kind : uint8_t { none, tensor, sequence, map, optional, sparse_tensor, opaque };
  struct Dim {
    bool has_value = false;
    int64_t value = 0;        // when has_value
    std::string_view param;   // a symbolic name ("batch"), or "" for an unknown dimension
    std::string_view denotation;
  };
  Kind kind = Kind::none;
  int32_t elem_type = 0;  // DataType of a tensor (or sparse tensor)
  bool has_shape = false; // false: rank unknown
  std::vector<Dim> shape;
  std::string_view denotation;
};
// "tensor", "sequence", "map", …
const char* type_kind_name(TypeProto::Kind kind) noexcept;

struct ValueInfoProto {
  std::string_view name;
  TypeProto type;
  std::string_view doc_string;
};

struct GraphProto;

struct AttributeProto {
  // AttributeProto.AttributeType values.
  enum class Type : int32_t {
    undefined = 0, float_ = 1, int_ = 2, string = 3, tensor = 4, graph = 5, floats = 6, ints = 7,
    strings = 8, tensors = 9, graphs = 10, sparse_tensor = 11, sparse_tensors = 12, type_proto = 13,
    type_protos = 14,
  };
  std::string_view name;
  std::string_view ref_attr_name;  // set inside function bodies
  std::string_view doc_string;
  Type type = Type::undefined;
  float f = 0;
  int64_t i = 0;
  std::string_view s;
  std::shared_ptr<const TensorProto> t;  // set for type tensor
  std::shared_ptr<const GraphProto> g;   // set for type graph (If/Loop/Scan bodies)
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string_view> strings;
  std::vector<TensorProto> tensors;
  std::vector<std::shared_ptr<const GraphProto>> graphs;
};
// "FLOAT", "INTS", "GRAPH", …
const char* attribute_type_name(AttributeProto::Type type) noexcept;

struct NodeProto {
  std::vector<std::string_view> input;   // "" marks an omitted optional input
  std::vector<std::string_view> output;
  std::string_view name;
  std::string_view op_type;
  std::string_view domain;  // "" is the default (ai.onnx) domain
  std::string_view doc_string;
  std::vector<AttributeProto> attribute;

  // The attribute called `name`, or nullptr.
  const AttributeProto* find_attribute(std::string_view name) const noexcept;
};

struct GraphProto {
  std::vector<NodeProto> node;
  std::string_view name;
  std::vector<TensorProto> initializer;
  std::vector<ValueInfoProto> input;
  std::vector<ValueInfoProto> output;
  std::vector<ValueInfoProto> value_info;
  std::string_view doc_string;
};

struct ModelProto {
  int64_t ir_version = 0;
  std::vector<OperatorSetId> opset_import;
  std::string_view producer_name;
  std::string_view producer_version;
  std::string_view domain;
  int64_t model_version = 0;
  std::string_view doc_string;
  GraphProto graph;
  bool has_graph = false;
  std::vector<StringStringEntry> metadata_props;
  size_t function_count = 0;  // model-local functions are counted, not decoded
};

// Decoding limits for untrusted models.
struct LoadOptions {
  // Directory that external-data locations are relative to. load_onnx_file() uses the model's
  // own directory when this is empty; load_onnx_bytes() refuses external data when it is empty.
  // Locations are checked lexically (relative, no ".."); symbolic links inside the directory are
  // followed, so whoever can write to it decides what is read.
  std::string external_data_dir;
  // Whether to resolve (map and bounds-check) external data while loading. When false, external
  // tensors keep external_resolved == false and tensor_data() refuses them.
  bool load_external_data = true;
};

// Keeps the bytes that a model's views point into alive: the model mapping and any external-data
// mappings. Opaque; copy the shared_ptr to extend the lifetime of views beyond the OnnxModel.
struct ModelStorage;

class OnnxModel {
 public:
  OnnxModel() = default;
  const ModelProto& proto() const noexcept { return proto_; }
  const GraphProto& graph() const noexcept { return proto_.graph; }
  const std::shared_ptr<const ModelStorage>& storage() const noexcept { return storage_; }
  // The opset version imported for `domain` ("" or "ai.onnx" for the default), or -1.
  int64_t opset_version(std::string_view domain) const noexcept;
  // Bytes of the model file (0 for load_onnx_bytes), for reports.
  size_t file_size() const noexcept { return file_size_; }

 private:
  friend struct ModelLoader;
  ModelProto proto_;
  std::shared_ptr<const ModelStorage> storage_;
  size_t file_size_ = 0;
};

// Memory-maps `path` read-only and decodes it. Raw weights are not copied: their raw_data views
// point into the mapping. External data is resolved relative to the model's directory (see
// LoadOptions); locations that are absolute or that escape that directory with ".." are rejected,
// and offset + length must lie within the external file.
Result<OnnxModel> load_onnx_file(const std::string& path, const LoadOptions& options = {});
// Decodes a model held in memory. The model borrows `data`: it must outlive the model and every
// view taken from it.
Result<OnnxModel> load_onnx_bytes(const void* data, size_t size, const LoadOptions& options = {});

// Decodes one TensorProto message (the ONNX test suite's input_0.pb format). Views point into
// `data`, which must outlive the result. External data is not resolved.
Result<TensorProto> decode_tensor_proto(const void* data, size_t size);

// A tensor's contents as obol sees them.
//   - borrowed: `view` points into the model's bytes (raw_data that is suitably aligned for its
//     element type, on a little-endian host). Read-only: writing through it faults for mapped
//     files. Valid while the model's storage lives.
//   - owned: decoded from typed fields or copied from unaligned raw_data into `owned`; `view`
//     points into `owned` and is valid while this TensorData lives (moving it keeps it valid).
struct TensorData {
  TensorView view;
  Tensor owned;
  bool borrowed() const noexcept { return owned.data() == nullptr && view.data() != nullptr; }
};

// Materialises a TensorProto. Checks that the data type is supported, the rank is at most
// Shape::kMaxRank, dims are non-negative and their product does not overflow, and that the stored
// element count (or raw byte size) matches the dims exactly.
Result<TensorData> tensor_data(const TensorProto& tensor);
// The same, except that raw bytes which tensor_data() would copy because they are misaligned (see
// raw_data_misaligned) are copied to `dst` instead (64-byte aligned, at least raw_data.size() bytes,
// outliving the result); `view` then points there and `owned` stays empty. dst == nullptr: as above.
Result<TensorData> tensor_data(const TensorProto& tensor, void* dst);
// Whether the tensor's raw bytes (inline or resolved external) are not aligned for its element type,
// so that they cannot be used in place. Protobuf places a bytes field at any file offset.
bool raw_data_misaligned(const TensorProto& tensor);
// As tensor_data() but always returns an owned copy (for tensors that must outlive the model).
Result<Tensor> tensor_copy(const TensorProto& tensor);
// The shape of a tensor after the rank and dims checks of tensor_data().
Result<Shape> tensor_shape(const TensorProto& tensor);

}  // namespace onnx
}  // inline namespace v1
}  // namespace obol
