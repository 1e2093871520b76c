// obol/core/status.hpp — error handling without exceptions.
//
// Every fallible call on the runtime path returns a Status or a Result<T>. A Status carries a code
// and a message that starts with the component that failed, in brackets, and says what was expected
// and what was found:  "[onnx] node 'Conv_3': input 'W' has rank 3, expected 4".
// Bad input never aborts the process; it becomes a Status.
#pragma once

#include <cstdint>
#include <new>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

namespace obol {
inline namespace v1 {

// Append-only: the C API mirrors these values.
enum class StatusCode : int {
  ok = 0,
  invalid_argument = 1,  // the caller passed something malformed (shape, dtype, option)
  out_of_range = 2,      // an index, size or offset outside its bounds
  unsupported = 3,       // well-formed, but not implemented (op, dtype, ISA, backend)
  not_found = 4,         // a named thing (file, input, backend) does not exist
  io_error = 5,          // reading or mapping a file failed
  out_of_memory = 6,     // an allocation failed
  internal = 7,          // a broken invariant inside obol: a bug, please report it
  cancelled = 8,         // the caller cancelled the call
  unavailable = 9,       // a backend or device exists in principle but cannot be used here
  resource_exhausted = 10,  // a queue or quota is full: rejected at once, retrying later may work
  deadline_exceeded = 11,   // the caller's deadline passed before the work ran
};

inline const char* status_code_name(StatusCode c) noexcept {
  switch (c) {
    case StatusCode::ok: return "ok";
    case StatusCode::invalid_argument: return "invalid_argument";
    case StatusCode::out_of_range: return "out_of_range";
    case StatusCode::unsupported: return "unsupported";
    case StatusCode::not_found: return "not_found";
    case StatusCode::io_error: return "io_error";
    case StatusCode::out_of_memory: return "out_of_memory";
    case StatusCode::internal: return "internal";
    case StatusCode::cancelled: return "cancelled";
    case StatusCode::unavailable: return "unavailable";
    case StatusCode::resource_exhausted: return "resource_exhausted";
    case StatusCode::deadline_exceeded: return "deadline_exceeded";
  }
  return "unknown";
}

// Concatenates any streamable values into a string: str_cat("rank ", 3, ", expected ", 4).
template <class... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

class [[nodiscard]] Status {
 public:
  Status() noexcept = default;  // ok
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() noexcept { return Status(); }

  bool is_ok() const noexcept { return code_ == StatusCode::ok; }
  explicit operator bool() const noexcept { return is_ok(); }
  StatusCode code() const noexcept { return code_; }
  // The full message, "[component] what".  Empty when ok.
  const std::string& message() const noexcept { return message_; }
  // "code: message", for logs.
  std::string to_string() const {
    return is_ok() ? std::string("ok") : str_cat(status_code_name(code_), ": ", message_);
  }

 private:
  StatusCode code_ = StatusCode::ok;
  std::string message_;
};

// Builds an error Status whose message starts with "[component] ".
template <class... Args>
Status make_status(StatusCode code, const char* component, const Args&... args) {
  return Status(code, str_cat("[", component, "] ", args...));
}

// Either a value or an error Status. Accessing value() of an error Result is a bug in the caller;
// it is checked in debug builds.
template <class T>
class [[nodiscard]] Result {
  static_assert(!std::is_reference_v<T>, "Result<T&> is not supported");

 public:
  Result(T value) : has_value_(true) { new (&storage_) T(std::move(value)); }  // NOLINT
  Result(Status status) : status_(std::move(status)) {                        // NOLINT
    if (status_.is_ok()) status_ = Status(StatusCode::internal, "[result] ok Status without a value");
  }
  Result(const Result& o) : status_(o.status_), has_value_(o.has_value_) {
    if (has_value_) new (&storage_) T(*o.ptr());
  }
  Result(Result&& o) noexcept(std::is_nothrow_move_constructible_v<T>)
      : status_(std::move(o.status_)), has_value_(o.has_value_) {
    if (has_value_) new (&storage_) T(std::move(*o.ptr()));
  }
  Result& operator=(Result o) {
    reset();
    status_ = std::move(o.status_);
    has_value_ = o.has_value_;
    if (has_value_) new (&storage_) T(std::move(*o.ptr()));
    return *this;
  }
  ~Result() { reset(); }

  bool is_ok() const noexcept { return has_value_; }
  explicit operator bool() const noexcept { return has_value_; }
  const Status& status() const noexcept { return status_; }

  T& value() & { return *ptr(); }
  const T& value() const& { return *ptr(); }
  T&& value() && { return std::move(*ptr()); }
  T* operator->() { return ptr(); }
  const T* operator->() const { return ptr(); }
  T& operator*() & { return *ptr(); }
  const T& operator*() const& { return *ptr(); }

 private:
  T* ptr() { return std::launder(reinterpret_cast<T*>(&storage_)); }
  const T* ptr() const { return std::launder(reinterpret_cast<const T*>(&storage_)); }
  void reset() {
    if (has_value_) ptr()->~T();
    has_value_ = false;
  }

  Status status_;
  bool has_value_ = false;
  std::aligned_storage_t<sizeof(T), alignof(T)> storage_;
};

}  // inline namespace v1
}  // namespace obol

#define OBOL_CONCAT_INNER_(a, b) a##b
#define OBOL_CONCAT_(a, b) OBOL_CONCAT_INNER_(a, b)

// Returns the Status of the expression from the enclosing function if it is an error. (Variadic so
// that template argument lists with commas need no extra parentheses.)
#define OBOL_RETURN_IF_ERROR(...)                           \
  do {                                                      \
    ::obol::Status obol_status_tmp_ = (__VA_ARGS__);        \
    if (!obol_status_tmp_.is_ok()) return obol_status_tmp_; \
  } while (0)

// If `cond` is false, returns make_status(code, component, message parts...).
#define OBOL_CHECK_OR_RETURN(cond, code, component, ...)                         \
  do {                                                                           \
    if (!(cond)) return ::obol::make_status(::obol::StatusCode::code, component, __VA_ARGS__); \
  } while (0)

// Declares `lhs` from a Result expression, or returns its Status.
#define OBOL_ASSIGN_OR_RETURN(lhs, ...) \
  OBOL_ASSIGN_OR_RETURN_IMPL_(OBOL_CONCAT_(obol_result_, __LINE__), lhs, (__VA_ARGS__))
#define OBOL_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.is_ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
