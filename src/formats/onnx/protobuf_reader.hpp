// Protobuf wire-format reading over an untrusted byte range (internal to the ONNX loader).
//
// Every read is checked against the bytes that remain in the current message; nested messages get
// their own reader bounded by their length prefix, one level deeper, up to kMaxDepth. Errors name
// the message type and field and give the absolute byte offset in the buffer:
//   "[onnx] TensorProto.dims: truncated varint at offset 1234".
// Groups (wire types 3 and 4) are deprecated and never used by ONNX: they are an error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "obol/core/status.hpp"

namespace obol {
inline namespace v1 {
namespace onnx::pb {

enum class WireType : uint8_t { varint = 0, fixed64 = 1, len = 2, start_group = 3, end_group = 4, fixed32 = 5 };

// Enough for ONNX graphs nested through If/Loop/Scan bodies; protobuf's own default is 100.
inline constexpr int kMaxDepth = 64;

struct Field {
  uint32_t number = 0;
  WireType wire = WireType::varint;
  size_t offset = 0;  // absolute offset of the tag, for messages
};

class Reader {
 public:
  // Reads [begin, end); offsets in messages are relative to `base` (the start of the file).
  Reader(const uint8_t* begin, const uint8_t* end, const uint8_t* base, const char* message, int depth) noexcept
      : p_(begin), end_(end), base_(base), message_(message), depth_(depth) {}

  bool at_end() const noexcept { return p_ >= end_; }
  size_t offset() const noexcept { return static_cast<size_t>(p_ - base_); }
  const char* message() const noexcept { return message_; }
  int depth() const noexcept { return depth_; }
  const uint8_t* base() const noexcept { return base_; }

  // Reads the next tag. Field number 0, groups and unknown wire types are errors.
  Status next(Field* f);
  // Skips the value of an unknown field.
  Status skip(const Field& f);

  // Singular scalars; each checks the wire type. Varints wider than the target type are truncated
  // the way protobuf does (int32 fields are sign-extended 64-bit varints on the wire).
  Status read_int64(const Field& f, const char* name, int64_t* out);
  Status read_int32(const Field& f, const char* name, int32_t* out);
  Status read_uint64(const Field& f, const char* name, uint64_t* out);
  Status read_float(const Field& f, const char* name, float* out);
  Status read_double(const Field& f, const char* name, double* out);
  // A length-delimited field as a view into the buffer (strings and bytes).
  Status read_bytes(const Field& f, const char* name, std::string_view* out);
  // A nested message: a reader over its bytes, one level deeper, named `message`.
  Status read_message(const Field& f, const char* name, const char* message, Reader* out);

  // Repeated scalars, accepting both the packed and the unpacked encoding, appending to `out`.
  Status read_repeated_int64(const Field& f, const char* name, std::vector<int64_t>* out);
  Status read_repeated_int32(const Field& f, const char* name, std::vector<int32_t>* out);
  Status read_repeated_uint64(const Field& f, const char* name, std::vector<uint64_t>* out);
  Status read_repeated_float(const Field& f, const char* name, std::vector<float>* out);
  Status read_repeated_double(const Field& f, const char* name, std::vector<double>* out);

  // An error Status about field `name` of this message at offset `at`.
  Status error(std::string_view name, size_t at, std::string_view what) const;

 private:
  Status expect(const Field& f, const char* name, WireType w) const;
  bool varint(uint64_t* out) noexcept;
  Status varint_or_error(const char* name, uint64_t* out);
  Status len_prefixed(const char* name, const uint8_t** begin, size_t* size);

  const uint8_t* p_;
  const uint8_t* end_;
  const uint8_t* base_;
  const char* message_;
  int depth_;
};

}  // namespace onnx::pb
}  // inline namespace v1
}  // namespace obol
