// ONNX data types and the materialisation of TensorProto contents as obol tensors.
#include <cstdint>
#include <cstring>
#include <string>

#include "obol/formats/onnx.hpp"

namespace obol {
inline namespace v1 {
namespace onnx {

namespace {

// "[shape] dimension 0 is negative" -> "dimension 0 is negative", for re-prefixing with context.
std::string_view without_component(const std::string& m) {
  if (!m.empty() && m[0] == '[') {
    const size_t end = m.find("] ");
    if (end != std::string::npos) return std::string_view(m).substr(end + 2);
  }
  return m;
}

}  // namespace

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "ONNX raw_data is little-endian; big-endian hosts need byte swapping that is not implemented");

std::string data_type_name(int32_t t) {
  static const char* const kNames[] = {"UNDEFINED", "FLOAT",  "UINT8",      "INT8",         "UINT16",
                                       "INT16",     "INT32",  "INT64",      "STRING",       "BOOL",
                                       "FLOAT16",   "DOUBLE", "UINT32",     "UINT64",       "COMPLEX64",
                                       "COMPLEX128", "BFLOAT16", "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ",
                                       "FLOAT8E5M2", "FLOAT8E5M2FNUZ", "UINT4", "INT4"};
  if (t >= 0 && t < static_cast<int32_t>(sizeof kNames / sizeof kNames[0])) return kNames[t];
  return "UNKNOWN(" + std::to_string(t) + ")";
}

Result<DType> to_dtype(int32_t t) {
  switch (static_cast<DataType>(t)) {
    case DataType::float32: return DType::f32;
    case DataType::uint8: return DType::u8;
    case DataType::int8: return DType::i8;
    case DataType::uint16: return DType::u16;
    case DataType::int16: return DType::i16;
    case DataType::int32: return DType::i32;
    case DataType::int64: return DType::i64;
    case DataType::boolean: return DType::boolean;
    case DataType::float16: return DType::f16;
    case DataType::float64: return DType::f64;
    case DataType::uint32: return DType::u32;
    case DataType::uint64: return DType::u64;
    case DataType::bfloat16: return DType::bf16;
    default: break;
  }
  if (t > 0 && t <= static_cast<int32_t>(DataType::int4))
    return make_status(StatusCode::unsupported, "onnx", "data type ", data_type_name(t), " is not supported");
  return make_status(StatusCode::invalid_argument, "onnx", "invalid data type ", t);
}

DataType from_dtype(DType d) noexcept {
  switch (d) {
    case DType::f32: return DataType::float32;
    case DType::f16: return DataType::float16;
    case DType::bf16: return DataType::bfloat16;
    case DType::i8: return DataType::int8;
    case DType::u8: return DataType::uint8;
    case DType::i16: return DataType::int16;
    case DType::u16: return DataType::uint16;
    case DType::i32: return DataType::int32;
    case DType::u32: return DataType::uint32;
    case DType::i64: return DataType::int64;
    case DType::u64: return DataType::uint64;
    case DType::boolean: return DataType::boolean;
    case DType::f64: return DataType::float64;
    default: return DataType::undefined;
  }
}

const char* type_kind_name(TypeProto::Kind k) noexcept {
  switch (k) {
    case TypeProto::Kind::none: return "none";
    case TypeProto::Kind::tensor: return "tensor";
    case TypeProto::Kind::sequence: return "sequence";
    case TypeProto::Kind::map: return "map";
    case TypeProto::Kind::optional: return "optional";
    case TypeProto::Kind::sparse_tensor: return "sparse_tensor";
    case TypeProto::Kind::opaque: return "opaque";
  }
  return "unknown";
}

const char* attribute_type_name(AttributeProto::Type t) noexcept {
  static const char* const kNames[] = {"UNDEFINED", "FLOAT",   "INT",    "STRING",        "TENSOR",
                                       "GRAPH",     "FLOATS",  "INTS",   "STRINGS",       "TENSORS",
                                       "GRAPHS",    "SPARSE_TENSOR", "SPARSE_TENSORS", "TYPE_PROTO",
                                       "TYPE_PROTOS"};
  const auto i = static_cast<int32_t>(t);
  return i >= 0 && i <= 14 ? kNames[i] : "UNKNOWN";
}

Result<Shape> tensor_shape(const TensorProto& t) {
  if (t.dims.size() > static_cast<size_t>(Shape::kMaxRank))
    return make_status(StatusCode::unsupported, "onnx", "tensor '", t.name, "': rank ", t.dims.size(),
                       " exceeds the maximum of ", Shape::kMaxRank);
  auto shape = Shape::make(t.dims.data(), t.dims.size());
  if (!shape) return make_status(shape.status().code(), "onnx", "tensor '", t.name, "': ", without_component(shape.status().message()));
  auto n = shape->checked_numel();
  if (!n) return make_status(n.status().code(), "onnx", "tensor '", t.name, "': ", without_component(n.status().message()));
  return *shape;
}

namespace {

// Copies typed values into `out`, converting each stored element with `conv`.
template <class Dst, class Src, class Conv>
void convert(const std::vector<Src>& src, Tensor& out, Conv conv) {
  Dst* d = out.data_as<Dst>();
  for (size_t i = 0; i < src.size(); ++i) d[i] = conv(src[i]);
}

template <class Dst, class Src>
void cast_all(const std::vector<Src>& src, Tensor& out) {
  convert<Dst>(src, out, [](Src v) { return static_cast<Dst>(v); });
}

Status count_error(const TensorProto& t, const char* field, size_t have, int64_t want) {
  return make_status(StatusCode::invalid_argument, "onnx", "tensor '", t.name, "': ", field, " holds ", have,
                     " values but dims ", Shape::make(t.dims.data(), t.dims.size())->to_string(), " need ", want);
}

}  // namespace

bool raw_data_misaligned(const TensorProto& t) {
  if (!(t.has_raw_data || t.external_resolved) || t.raw_data.empty()) return false;
  auto dtype = to_dtype(t.data_type);
  if (!dtype) return false;
  const size_t esize = dtype_size(*dtype);
  return esize > 1 && reinterpret_cast<uintptr_t>(t.raw_data.data()) % esize != 0;
}

Result<TensorData> tensor_data(const TensorProto& t) { return tensor_data(t, nullptr); }

Result<TensorData> tensor_data(const TensorProto& t, void* dst) {
  if (t.has_segment)
    return make_status(StatusCode::unsupported, "onnx", "tensor '", t.name, "': segmented tensors are not supported");
  auto dtype_or = to_dtype(t.data_type);
  if (!dtype_or)
    return make_status(dtype_or.status().code(), "onnx", "tensor '", t.name, "': ", without_component(dtype_or.status().message()));
  const DType dtype = *dtype_or;
  OBOL_ASSIGN_OR_RETURN(const Shape shape, tensor_shape(t));
  const int64_t numel = shape.numel();
  const size_t esize = dtype_size(dtype);
  if (static_cast<uint64_t>(numel) > SIZE_MAX / esize)
    return make_status(StatusCode::out_of_range, "onnx", "tensor '", t.name, "': ", numel, " elements overflow size_t");
  const size_t bytes = static_cast<size_t>(numel) * esize;

  TensorData out;
  if (t.data_location == TensorProto::DataLocation::external && !t.external_resolved)
    return make_status(StatusCode::invalid_argument, "onnx", "tensor '", t.name,
                       "': external data was not loaded (LoadOptions::load_external_data is false)");
  if (t.has_raw_data || t.external_resolved) {
    if (t.raw_data.size() != bytes)
      return make_status(StatusCode::invalid_argument, "onnx", "tensor '", t.name, "': raw_data holds ",
                         t.raw_data.size(), " bytes but ", shape.to_string(), " of ", dtype_name(dtype), " needs ",
                         bytes);
    const auto addr = reinterpret_cast<uintptr_t>(t.raw_data.data());
    if (addr % esize == 0 || bytes == 0) {
      // In place: the tensor is read-only in the mapping, as documented on TensorData.
      out.view = TensorView(bytes ? const_cast<char*>(t.raw_data.data()) : nullptr, dtype, shape);
      return out;
    }
    if (dst) {
      std::memcpy(dst, t.raw_data.data(), bytes);
      out.view = TensorView(dst, dtype, shape);
      return out;
    }
    OBOL_ASSIGN_OR_RETURN(out.owned, Tensor::empty(dtype, shape));
    std::memcpy(out.owned.data(), t.raw_data.data(), bytes);
    out.view = out.owned.view();
    return out;
  }

  // The stored count is checked before allocating, so hostile dims cannot make us allocate more
  // than the file holds.
  const auto n = static_cast<size_t>(numel);
  size_t have = 0;
  const char* field = "int32_data";
  switch (dtype) {
    case DType::f32: have = t.float_data.size(), field = "float_data"; break;
    case DType::f64: have = t.double_data.size(), field = "double_data"; break;
    case DType::i64: have = t.int64_data.size(), field = "int64_data"; break;
    case DType::u64:
    case DType::u32: have = t.uint64_data.size(), field = "uint64_data"; break;
    default: have = t.int32_data.size(); break;
  }
  if (have != n) return count_error(t, field, have, numel);
  OBOL_ASSIGN_OR_RETURN(out.owned, Tensor::empty(dtype, shape));
  Tensor& o = out.owned;
  switch (dtype) {
    case DType::f32: cast_all<float>(t.float_data, o); break;
    case DType::f64: cast_all<double>(t.double_data, o); break;
    case DType::i64: cast_all<int64_t>(t.int64_data, o); break;
    case DType::u64: cast_all<uint64_t>(t.uint64_data, o); break;
    case DType::u32: cast_all<uint32_t>(t.uint64_data, o); break;
    case DType::i32: cast_all<int32_t>(t.int32_data, o); break;
    case DType::i16: cast_all<int16_t>(t.int32_data, o); break;
    case DType::i8: cast_all<int8_t>(t.int32_data, o); break;
    case DType::u8: cast_all<uint8_t>(t.int32_data, o); break;
    case DType::u16:
    case DType::f16:
    case DType::bf16:  // half types are stored as their bit patterns in int32_data
      cast_all<uint16_t>(t.int32_data, o);
      break;
    case DType::boolean:
      convert<uint8_t>(t.int32_data, o, [](int32_t v) { return static_cast<uint8_t>(v != 0); });
      break;
    default:
      return make_status(StatusCode::internal, "onnx", "tensor '", t.name, "': unhandled dtype ", dtype_name(dtype));
  }
  out.view = o.view();
  return out;
}

Result<Tensor> tensor_copy(const TensorProto& t) {
  OBOL_ASSIGN_OR_RETURN(TensorData d, tensor_data(t));
  if (d.owned.data() != nullptr) return std::move(d.owned);
  return Tensor::copy_of(d.view);  // borrowed, or empty (then only the shape is copied)
}

}  // namespace onnx
}  // inline namespace v1
}  // namespace obol
