// A minimal protobuf wire-format writer (internal): enough to write TensorProto files and, in the
// tests, to build ONNX models byte by byte.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace obol {
inline namespace v1 {
namespace onnx::pb {

class Writer {
 public:
  void varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void tag(uint32_t field, uint32_t wire) { varint((static_cast<uint64_t>(field) << 3) | wire); }
  void int_field(uint32_t field, int64_t v) {
    tag(field, 0);
    varint(static_cast<uint64_t>(v));
  }
  void float_field(uint32_t field, float v) {
    tag(field, 5);
    append_raw(&v, 4);
  }
  void bytes_field(uint32_t field, std::string_view b) {
    tag(field, 2);
    varint(b.size());
    out_.append(b.data(), b.size());
  }
  // A nested message is written as bytes built with another Writer.
  void message_field(uint32_t field, const Writer& w) { bytes_field(field, w.str()); }
  void packed_int64(uint32_t field, const int64_t* v, size_t n) {
    Writer p;
    for (size_t i = 0; i < n; ++i) p.varint(static_cast<uint64_t>(v[i]));
    bytes_field(field, p.str());
  }
  void append_raw(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }

  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace onnx::pb
}  // inline namespace v1
}  // namespace obol
