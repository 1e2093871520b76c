// obol/core/platform.hpp — logging and clock hooks for embedders.
//
// By default obol logs warnings and errors to stderr and reads std::chrono::steady_clock.
// An embedder (a game engine, a mobile app) may route both through its own services by calling
// set_platform_hooks() once, before creating any obol object. The hooks may be called from any
// thread obol runs on and must be thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace obol {
inline namespace v1 {

enum class LogLevel : int { debug = 0, info = 1, warning = 2, error = 3, off = 4 };

struct PlatformHooks {
  // Receives one complete message without a trailing newline.
  void (*log)(void* user, LogLevel level, const char* message) = nullptr;
  // Monotonic nanoseconds.
  uint64_t (*now_ns)(void* user) = nullptr;
  void* user = nullptr;
  LogLevel min_level = LogLevel::warning;
};

namespace detail {
inline void default_log(void*, LogLevel level, const char* message) {
  static const char* const names[] = {"debug", "info", "warning", "error", "off"};
  std::fprintf(stderr, "obol %s: %s\n", names[static_cast<int>(level)], message);
}
inline uint64_t default_now_ns(void*) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}
inline PlatformHooks& platform_hooks_storage() {
  static PlatformHooks hooks{&default_log, &default_now_ns, nullptr, LogLevel::warning};
  return hooks;
}
}  // namespace detail

// Replaces the hooks; a null member keeps the default for that member.
inline void set_platform_hooks(const PlatformHooks& hooks) {
  PlatformHooks& h = detail::platform_hooks_storage();
  h.log = hooks.log ? hooks.log : &detail::default_log;
  h.now_ns = hooks.now_ns ? hooks.now_ns : &detail::default_now_ns;
  h.user = hooks.user;
  h.min_level = hooks.min_level;
}
inline const PlatformHooks& platform_hooks() { return detail::platform_hooks_storage(); }

inline void log_message(LogLevel level, const std::string& message) {
  const PlatformHooks& h = platform_hooks();
  if (level >= h.min_level && level != LogLevel::off) h.log(h.user, level, message.c_str());
}
inline uint64_t now_ns() {
  const PlatformHooks& h = platform_hooks();
  return h.now_ns(h.user);
}

}  // inline namespace v1
}  // namespace obol
