#include "obol/io/npy.hpp"

#include <cstring>
#include <vector>

#include "obol/io/mapped_file.hpp"

namespace obol {
inline namespace v1 {
namespace io {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

Status npy_error(StatusCode code, const std::string& what) { return make_status(code, "npy", what); }

// The header is a Python dict literal; this parser accepts the subset NumPy writes.
class HeaderParser {
 public:
  explicit HeaderParser(std::string_view s) : s_(s) {}

  Status parse(std::string* descr, bool* fortran, std::vector<int64_t>* shape) {
    bool seen_descr = false, seen_fortran = false, seen_shape = false;
    if (!eat('{')) return fail("expected '{'");
    while (true) {
      skip_ws();
      if (eat('}')) break;
      std::string key;
      OBOL_RETURN_IF_ERROR(string(&key));
      if (!eat(':')) return fail("expected ':' after '" + key + "'");
      if (key == "descr") {
        OBOL_RETURN_IF_ERROR(string(descr));
        seen_descr = true;
      } else if (key == "fortran_order") {
        skip_ws();
        if (s_.substr(i_, 4) == "True") {
          *fortran = true;
          i_ += 4;
        } else if (s_.substr(i_, 5) == "False") {
          *fortran = false;
          i_ += 5;
        } else {
          return fail("fortran_order is not True or False");
        }
        seen_fortran = true;
      } else if (key == "shape") {
        OBOL_RETURN_IF_ERROR(tuple(shape));
        seen_shape = true;
      } else {
        return fail("unexpected key '" + key + "'");
      }
      skip_ws();
      if (eat(',')) continue;
      if (eat('}')) break;
      return fail("expected ',' or '}'");
    }
    if (!seen_descr || !seen_fortran || !seen_shape) return fail("missing descr, fortran_order or shape");
    return Status::ok();
  }

 private:
  Status fail(const std::string& what) const {
    return npy_error(StatusCode::invalid_argument, "header: " + what + " at character " + std::to_string(i_));
  }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool eat(char c) {
    skip_ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  Status string(std::string* out) {
    skip_ws();
    if (i_ >= s_.size() || (s_[i_] != '\'' && s_[i_] != '"')) return fail("expected a string");
    const char q = s_[i_++];
    const size_t end = s_.find(q, i_);
    if (end == std::string_view::npos) return fail("unterminated string");
    *out = std::string(s_.substr(i_, end - i_));
    i_ = end + 1;
    return Status::ok();
  }
  Status tuple(std::vector<int64_t>* out) {
    if (!eat('(')) return fail("expected '(' for shape");
    while (true) {
      skip_ws();
      if (eat(')')) return Status::ok();
      int64_t v = 0;
      size_t digits = 0;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
        if (v > (INT64_MAX - 9) / 10) return fail("dimension overflows int64");
        v = v * 10 + (s_[i_++] - '0');
        ++digits;
      }
      if (digits == 0) return fail("expected a dimension");
      skip_ws();
      if (i_ < s_.size() && s_[i_] == 'L') ++i_;  // Python 2 longs
      out->push_back(v);
      if (out->size() > static_cast<size_t>(Shape::kMaxRank))
        return npy_error(StatusCode::unsupported, "rank exceeds the maximum of " + std::to_string(Shape::kMaxRank));
      if (eat(',')) continue;
      if (eat(')')) return Status::ok();
      return fail("expected ',' or ')' in shape");
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

Result<DType> descr_to_dtype(const std::string& d) {
  if (d.size() < 3) return npy_error(StatusCode::unsupported, "dtype '" + d + "' is not supported");
  const char order = d[0];
  const std::string code = d.substr(1);
  DType t = DType::invalid;
  if (code == "f2") t = DType::f16;
  else if (code == "f4") t = DType::f32;
  else if (code == "f8") t = DType::f64;
  else if (code == "i1") t = DType::i8;
  else if (code == "i2") t = DType::i16;
  else if (code == "i4") t = DType::i32;
  else if (code == "i8") t = DType::i64;
  else if (code == "u1") t = DType::u8;
  else if (code == "u2") t = DType::u16;
  else if (code == "u4") t = DType::u32;
  else if (code == "u8") t = DType::u64;
  else if (code == "b1") t = DType::boolean;
  if (t == DType::invalid) return npy_error(StatusCode::unsupported, "dtype '" + d + "' is not supported");
  if (order == '>' && dtype_size(t) > 1)
    return npy_error(StatusCode::unsupported, "big-endian dtype '" + d + "' is not supported");
  if (order != '<' && order != '|' && order != '=' && order != '>')
    return npy_error(StatusCode::invalid_argument, "dtype '" + d + "' has an invalid byte-order character");
  return t;
}

const char* dtype_to_descr(DType t) {
  switch (t) {
    case DType::f16: return "<f2";
    case DType::f32: return "<f4";
    case DType::f64: return "<f8";
    case DType::i8: return "|i1";
    case DType::i16: return "<i2";
    case DType::i32: return "<i4";
    case DType::i64: return "<i8";
    case DType::u8: return "|u1";
    case DType::u16: return "<u2";
    case DType::u32: return "<u4";
    case DType::u64: return "<u8";
    case DType::boolean: return "|b1";
    default: return nullptr;
  }
}

uint32_t read_le(const char* p, size_t n) {
  uint32_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

}  // namespace

Result<Tensor> parse_npy(std::string_view b) {
  if (b.size() < 10 || std::memcmp(b.data(), kMagic, kMagicLen) != 0)
    return npy_error(StatusCode::invalid_argument, "not an .npy file (bad magic)");
  const int major = static_cast<uint8_t>(b[6]);
  if (major < 1 || major > 3)
    return npy_error(StatusCode::unsupported, "format version " + std::to_string(major) + " is not supported");
  const size_t len_bytes = major == 1 ? 2 : 4;
  if (b.size() < 8 + len_bytes) return npy_error(StatusCode::invalid_argument, "truncated header");
  const size_t header_len = read_le(b.data() + 8, len_bytes);
  const size_t data_off = 8 + len_bytes + header_len;
  if (header_len > b.size() - 8 - len_bytes)
    return npy_error(StatusCode::invalid_argument, "header length " + std::to_string(header_len) + " exceeds the file");
  std::string descr;
  bool fortran = false;
  std::vector<int64_t> dims;
  OBOL_RETURN_IF_ERROR(HeaderParser(b.substr(8 + len_bytes, header_len)).parse(&descr, &fortran, &dims));
  if (fortran) return npy_error(StatusCode::unsupported, "Fortran-order arrays are not supported");
  OBOL_ASSIGN_OR_RETURN(const DType dtype, descr_to_dtype(descr));
  OBOL_ASSIGN_OR_RETURN(const Shape shape, Shape::make(dims.data(), dims.size()));
  OBOL_ASSIGN_OR_RETURN(const int64_t n, shape.checked_numel());
  const size_t avail = b.size() - data_off;
  if (static_cast<uint64_t>(n) > avail / dtype_size(dtype) || static_cast<size_t>(n) * dtype_size(dtype) != avail)
    return npy_error(StatusCode::invalid_argument, "data holds " + std::to_string(avail) + " bytes but " +
                                                        shape.to_string() + " of " + std::string(dtype_name(dtype)) +
                                                        " needs " + std::to_string(n * dtype_size(dtype)));
  OBOL_ASSIGN_OR_RETURN(Tensor t, Tensor::empty(dtype, shape));
  if (t.nbytes()) std::memcpy(t.data(), b.data() + data_off, t.nbytes());
  return t;
}

Result<Tensor> read_npy(const std::string& path) {
  auto f = MappedFile::open(path);
  if (!f) return make_status(f.status().code(), "npy", f.status().message());
  auto t = parse_npy((*f)->bytes());
  if (!t) return Status(t.status().code(), t.status().message() + " (in '" + path + "')");
  return t;
}

Result<std::string> encode_npy(const TensorView& t) {
  const char* descr = dtype_to_descr(t.dtype());
  if (!descr)
    return make_status(StatusCode::unsupported, "npy", "dtype ", dtype_name(t.dtype()), " has no NumPy equivalent");
  std::string dict = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (";
  for (int i = 0; i < t.rank(); ++i) dict += std::to_string(t.shape()[i]) + (t.rank() == 1 || i + 1 < t.rank() ? ", " : "");
  if (t.rank() > 0 && dict.back() == ' ') dict.pop_back();
  dict += "), }";
  const bool v2 = dict.size() + 11 > 65535;
  const size_t prefix = v2 ? 12 : 10;
  size_t total = prefix + dict.size() + 1;
  total = (total + 63) / 64 * 64;
  const size_t header_len = total - prefix;
  dict.append(header_len - dict.size() - 1, ' ');
  dict.push_back('\n');
  std::string out(kMagic, kMagicLen);
  out.push_back(static_cast<char>(v2 ? 2 : 1));
  out.push_back(0);
  for (size_t i = 0; i < (v2 ? 4u : 2u); ++i) out.push_back(static_cast<char>((header_len >> (8 * i)) & 0xff));
  out += dict;
  out.append(static_cast<const char*>(t.data()), t.nbytes());
  return out;
}

Status write_npy(const std::string& path, const TensorView& t) {
  OBOL_ASSIGN_OR_RETURN(const std::string bytes, encode_npy(t));
  return write_file(path, bytes);
}

}  // namespace io
}  // inline namespace v1
}  // namespace obol
