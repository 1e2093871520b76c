#include "formats/onnx/protobuf_reader.hpp"

#include <cstring>
#include <string>

namespace obol {
inline namespace v1 {
namespace onnx::pb {

namespace {

const char* wire_name(WireType w) {
  switch (w) {
    case WireType::varint: return "varint";
    case WireType::fixed64: return "fixed64";
    case WireType::len: return "length-delimited";
    case WireType::start_group: return "start-group";
    case WireType::end_group: return "end-group";
    case WireType::fixed32: return "fixed32";
  }
  return "invalid";
}

}  // namespace

Status Reader::error(std::string_view name, size_t at, std::string_view what) const {
  return make_status(StatusCode::invalid_argument, "onnx", message_, ".", name, ": ", what, " at offset ", at);
}

bool Reader::varint(uint64_t* out) noexcept {
  uint64_t v = 0;
  const uint8_t* p = p_;
  for (int shift = 0; shift < 70; shift += 7) {
    if (p >= end_) return false;
    const uint8_t b = *p++;
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      p_ = p;
      *out = v;
      return true;
    }
  }
  return false;  // more than 10 bytes
}

Status Reader::varint_or_error(const char* name, uint64_t* out) {
  const size_t at = offset();
  if (varint(out)) return Status::ok();
  const bool truncated = static_cast<size_t>(end_ - p_) < 10;
  return error(name, at, truncated ? "truncated varint" : "varint longer than 10 bytes");
}

Status Reader::next(Field* f) {
  const size_t at = offset();
  uint64_t tag;
  if (!varint(&tag)) return error("tag", at, "truncated or overlong varint");
  const uint64_t number = tag >> 3;
  const uint8_t wire = static_cast<uint8_t>(tag & 7);
  if (number == 0 || number > 536870911u) return error("tag", at, "invalid field number " + std::to_string(number));
  if (wire == 3 || wire == 4)
    return error("field " + std::to_string(number), at, "protobuf groups are not supported");
  if (wire > 5) return error("field " + std::to_string(number), at, "invalid wire type " + std::to_string(wire));
  f->number = static_cast<uint32_t>(number);
  f->wire = static_cast<WireType>(wire);
  f->offset = at;
  return Status::ok();
}

Status Reader::len_prefixed(const char* name, const uint8_t** begin, size_t* size) {
  const size_t at = offset();
  uint64_t n;
  OBOL_RETURN_IF_ERROR(varint_or_error(name, &n));
  const size_t left = static_cast<size_t>(end_ - p_);
  if (n > left)
    return error(name, at, "length " + std::to_string(n) + " exceeds the " + std::to_string(left) + " bytes left");
  *begin = p_;
  *size = static_cast<size_t>(n);
  p_ += n;
  return Status::ok();
}

Status Reader::skip(const Field& f) {
  const std::string name = "field " + std::to_string(f.number);
  switch (f.wire) {
    case WireType::varint: {
      uint64_t v;
      return varint_or_error(name.c_str(), &v);
    }
    case WireType::fixed64:
    case WireType::fixed32: {
      const size_t n = f.wire == WireType::fixed64 ? 8 : 4;
      if (static_cast<size_t>(end_ - p_) < n) return error(name, offset(), "truncated fixed-width value");
      p_ += n;
      return Status::ok();
    }
    case WireType::len: {
      const uint8_t* b;
      size_t n;
      return len_prefixed(name.c_str(), &b, &n);
    }
    default: break;
  }
  return error(name, f.offset, "cannot skip wire type");
}

Status Reader::expect(const Field& f, const char* name, WireType w) const {
  if (f.wire == w) return Status::ok();
  return error(name, f.offset, std::string("wire type ") + wire_name(f.wire) + ", expected " + wire_name(w));
}

Status Reader::read_uint64(const Field& f, const char* name, uint64_t* out) {
  OBOL_RETURN_IF_ERROR(expect(f, name, WireType::varint));
  return varint_or_error(name, out);
}

Status Reader::read_int64(const Field& f, const char* name, int64_t* out) {
  uint64_t v;
  OBOL_RETURN_IF_ERROR(read_uint64(f, name, &v));
  *out = static_cast<int64_t>(v);
  return Status::ok();
}

Status Reader::read_int32(const Field& f, const char* name, int32_t* out) {
  uint64_t v;
  OBOL_RETURN_IF_ERROR(read_uint64(f, name, &v));
  *out = static_cast<int32_t>(static_cast<uint32_t>(v));
  return Status::ok();
}

Status Reader::read_float(const Field& f, const char* name, float* out) {
  OBOL_RETURN_IF_ERROR(expect(f, name, WireType::fixed32));
  if (end_ - p_ < 4) return error(name, offset(), "truncated fixed32");
  std::memcpy(out, p_, 4);  // little-endian hosts only (static_assert in tensor.cpp)
  p_ += 4;
  return Status::ok();
}

Status Reader::read_double(const Field& f, const char* name, double* out) {
  OBOL_RETURN_IF_ERROR(expect(f, name, WireType::fixed64));
  if (end_ - p_ < 8) return error(name, offset(), "truncated fixed64");
  std::memcpy(out, p_, 8);
  p_ += 8;
  return Status::ok();
}

Status Reader::read_bytes(const Field& f, const char* name, std::string_view* out) {
  OBOL_RETURN_IF_ERROR(expect(f, name, WireType::len));
  const uint8_t* b;
  size_t n;
  OBOL_RETURN_IF_ERROR(len_prefixed(name, &b, &n));
  *out = std::string_view(reinterpret_cast<const char*>(b), n);
  return Status::ok();
}

Status Reader::read_message(const Field& f, const char* name, const char* message, Reader* out) {
  OBOL_RETURN_IF_ERROR(expect(f, name, WireType::len));
  if (depth_ + 1 > kMaxDepth)
    return error(name, f.offset, "messages nested deeper than " + std::to_string(kMaxDepth) + " levels");
  const uint8_t* b;
  size_t n;
  OBOL_RETURN_IF_ERROR(len_prefixed(name, &b, &n));
  *out = Reader(b, b + n, base_, message, depth_ + 1);
  return Status::ok();
}

namespace {

// Shared body of the repeated varint readers: packed (one length-delimited run) or one value.
template <class T>
Status repeated_varint(Reader& r, const Field& f, const char* name, std::vector<T>* out,
                       Status (Reader::*single)(const Field&, const char*, T*)) {
  if (f.wire != WireType::len) {
    T v{};
    OBOL_RETURN_IF_ERROR((r.*single)(f, name, &v));
    out->push_back(v);
    return Status::ok();
  }
  std::string_view run;
  OBOL_RETURN_IF_ERROR(r.read_bytes(f, name, &run));
  const auto* b = reinterpret_cast<const uint8_t*>(run.data());
  Reader inner(b, b + run.size(), r.base(), r.message(), r.depth());
  const Field as_varint{f.number, WireType::varint, f.offset};
  out->reserve(out->size() + run.size() / 2);
  while (!inner.at_end()) {
    T v{};
    OBOL_RETURN_IF_ERROR((inner.*single)(as_varint, name, &v));
    out->push_back(v);
  }
  return Status::ok();
}

template <class T>
Status repeated_fixed(Reader& r, const Field& f, const char* name, std::vector<T>* out,
                      Status (Reader::*single)(const Field&, const char*, T*)) {
  if (f.wire != WireType::len) {
    T v{};
    OBOL_RETURN_IF_ERROR((r.*single)(f, name, &v));
    out->push_back(v);
    return Status::ok();
  }
  const size_t at = f.offset;
  std::string_view run;
  OBOL_RETURN_IF_ERROR(r.read_bytes(f, name, &run));
  if (run.size() % sizeof(T) != 0)
    return r.error(name, at,
                   "packed run of " + std::to_string(run.size()) + " bytes is not a multiple of " +
                       std::to_string(sizeof(T)));
  const size_t n = run.size() / sizeof(T);
  const size_t old = out->size();
  out->resize(old + n);
  if (n) std::memcpy(out->data() + old, run.data(), run.size());
  return Status::ok();
}

}  // namespace

Status Reader::read_repeated_int64(const Field& f, const char* name, std::vector<int64_t>* out) {
  return repeated_varint<int64_t>(*this, f, name, out, &Reader::read_int64);
}
Status Reader::read_repeated_int32(const Field& f, const char* name, std::vector<int32_t>* out) {
  return repeated_varint<int32_t>(*this, f, name, out, &Reader::read_int32);
}
Status Reader::read_repeated_uint64(const Field& f, const char* name, std::vector<uint64_t>* out) {
  return repeated_varint<uint64_t>(*this, f, name, out, &Reader::read_uint64);
}
Status Reader::read_repeated_float(const Field& f, const char* name, std::vector<float>* out) {
  return repeated_fixed<float>(*this, f, name, out, &Reader::read_float);
}
Status Reader::read_repeated_double(const Field& f, const char* name, std::vector<double>* out) {
  return repeated_fixed<double>(*this, f, name, out, &Reader::read_double);
}

}  // namespace onnx::pb
}  // inline namespace v1
}  // namespace obol
