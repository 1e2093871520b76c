// obol_status, versions, strings and dtype helpers of the C API.
#include <cstdlib>
#include <cstring>

#include "c_api/c_api_internal.hpp"

// One allocation holds the struct and its message. The out-of-memory status is a constant object
// (constant-initialised, so no static constructor) that obol_status_free recognises.
struct obol_status {
  obol_error_code code;
  const char* message;
  bool heap;
};

namespace obol {
inline namespace v1 {
namespace capi {
namespace {

obol_status g_out_of_memory = {OBOL_ERROR_OUT_OF_MEMORY, "[c_api] out of memory", false};

}  // namespace

obol_status* out_of_memory() noexcept { return &g_out_of_memory; }

obol_status* make_error(obol_error_code code, const char* message) noexcept {
  if (!message) message = "";
  const size_t len = std::strlen(message);
  void* mem = std::malloc(sizeof(obol_status) + len + 1);
  if (!mem) return out_of_memory();
  auto* s = static_cast<obol_status*>(mem);
  char* text = static_cast<char*>(mem) + sizeof(obol_status);
  std::memcpy(text, message, len + 1);
  s->code = code;
  s->message = text;
  s->heap = true;
  return s;
}

obol_status* make_error(obol_error_code code, const std::string& message) noexcept {
  return make_error(code, message.c_str());
}

obol_status* from_status(const Status& status) noexcept {
  if (status.is_ok()) return nullptr;
  // Codes 0-9 are the same numbers on both sides; the later C++ codes have C codes of their own.
  switch (status.code()) {
    case StatusCode::resource_exhausted: return make_error(OBOL_ERROR_QUEUE_FULL, status.message());
    case StatusCode::deadline_exceeded: return make_error(OBOL_ERROR_TIMEOUT, status.message());
    default: return make_error(static_cast<obol_error_code>(status.code()), status.message());
  }
}

obol_status* null_argument(const char* function, const char* argument) noexcept {
  char buf[256];
  std::snprintf(buf, sizeof buf, "[c_api] %s: %s must not be NULL", function, argument);
  return make_error(OBOL_ERROR_INVALID_ARGUMENT, buf);
}

char* copy_string(const std::string& s) noexcept {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (out) std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

obol_status* check_struct_size(const char* function, const char* type, size_t given, size_t min_size,
                               size_t current_size) noexcept {
  if (given >= min_size && given <= current_size) return nullptr;
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "[c_api] %s: %s.struct_size is %zu; this library accepts %zu to %zu (set it to sizeof(%s))",
                function, type, given, min_size, current_size, type);
  return make_error(OBOL_ERROR_INVALID_ARGUMENT, buf);
}

}  // namespace capi
}  // inline namespace v1
}  // namespace obol

extern "C" {

uint32_t obol_api_version(void) { return OBOL_API_VERSION; }

const char* obol_version_string(void) { return OBOL_VERSION_STRING; }

obol_error_code obol_status_code(const obol_status* status) { return status ? status->code : OBOL_OK; }

const char* obol_status_message(const obol_status* status) { return status ? status->message : ""; }

const char* obol_error_code_name(obol_error_code code) {
  const int c = obol::capi::enum_value(code);
  if (c == OBOL_ERROR_VERSION_MISMATCH) return "version_mismatch";
  if (c == OBOL_ERROR_QUEUE_FULL) return "queue_full";
  if (c == OBOL_ERROR_TIMEOUT) return "timeout";
  if (c < 0 || c > static_cast<int>(obol::StatusCode::unavailable)) return "unknown";
  return obol::status_code_name(static_cast<obol::StatusCode>(c));
}

void obol_status_free(obol_status* status) {
  if (status && status->heap) std::free(status);
}

void obol_string_free(char* string) { std::free(string); }

const char* obol_dtype_name(obol_dtype dtype) {
  const int d = obol::capi::enum_value(dtype);
  if (d < 0 || d > 255) return "invalid";
  // dtype_name() views static string literals, so data() is NUL-terminated.
  return obol::dtype_name(static_cast<obol::DType>(d)).data();
}

size_t obol_dtype_size(obol_dtype dtype) {
  const int d = obol::capi::enum_value(dtype);
  if (d < 0 || d > 255) return 0;
  return obol::dtype_size(static_cast<obol::DType>(d));
}

}  // extern "C"
