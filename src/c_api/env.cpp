// obol_env: the allocator (per env) and the process-wide log, thread pool and width.
#include <cstring>

#include "c_api/c_api_internal.hpp"

namespace obol {
inline namespace v1 {
namespace capi {
namespace {

// The core keeps one log, one thread pool and one width per process. An env that sets one of them
// holds it (reference counted: envs asking for the same setting share it) until the env dies.
struct ProcessHooks {
  std::mutex mutex;
  int log_users = 0;
  obol_log_fn log = nullptr;
  void* log_user = nullptr;
  obol_log_level log_level = OBOL_LOG_DEFAULT;
  int pool_users = 0;
  ThreadPoolHooks pool{};
  int threads_users = 0;
  int num_threads = 0;
};

ProcessHooks& process_hooks() {
  static ProcessHooks hooks;  // constructed on first use: no static initializer
  return hooks;
}

LogLevel to_core_level(obol_log_level level) {
  switch (level) {
    case OBOL_LOG_DEBUG: return LogLevel::debug;
    case OBOL_LOG_INFO: return LogLevel::info;
    case OBOL_LOG_ERROR: return LogLevel::error;
    case OBOL_LOG_OFF: return LogLevel::off;
    case OBOL_LOG_DEFAULT:
    case OBOL_LOG_WARNING: break;
  }
  return LogLevel::warning;
}

obol_log_level to_c_level(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return OBOL_LOG_DEBUG;
    case LogLevel::info: return OBOL_LOG_INFO;
    case LogLevel::warning: return OBOL_LOG_WARNING;
    case LogLevel::error: return OBOL_LOG_ERROR;
    case LogLevel::off: break;
  }
  return OBOL_LOG_OFF;
}

// The core calls this with user = &process_hooks(); the host's callback is read under no lock:
// it only changes while no env with a log exists (documented: set hooks before running models).
void log_trampoline(void* user, LogLevel level, const char* message) {
  const auto* h = static_cast<const ProcessHooks*>(user);
  if (h->log) h->log(h->log_user, to_c_level(level), message);
}

void apply_log(const ProcessHooks& h) {
  PlatformHooks p;  // default now_ns
  if (h.log) {
    p.log = &log_trampoline;
    p.user = const_cast<ProcessHooks*>(&h);
  }
  p.min_level = to_core_level(h.log_level);
  set_platform_hooks(p);
}

bool same_pool(const ThreadPoolHooks& a, const ThreadPoolHooks& b) {
  return a.run == b.run && a.num_threads == b.num_threads && a.user == b.user;
}

}  // namespace

EnvState::~EnvState() {
  ProcessHooks& h = process_hooks();
  std::lock_guard<std::mutex> lock(h.mutex);
  if (owns_log && --h.log_users == 0) {
    h.log = nullptr;
    h.log_user = nullptr;
    h.log_level = OBOL_LOG_DEFAULT;
    apply_log(h);
  }
  if (owns_pool && --h.pool_users == 0) {
    h.pool = ThreadPoolHooks{};
    set_thread_pool(nullptr);
  }
  if (owns_threads && --h.threads_users == 0) {
    h.num_threads = 0;
    set_max_threads(0);
  }
}

namespace {

// Takes the process-wide settings `env` asks for, or says which one another env holds.
obol_status* install_process_hooks(EnvState& env, bool wants_log, bool wants_pool, bool wants_threads) {
  ProcessHooks& h = process_hooks();
  std::lock_guard<std::mutex> lock(h.mutex);
  if (wants_log && h.log_users > 0 && (h.log != env.log || h.log_user != env.log_user || h.log_level != env.log_level))
    return make_error(OBOL_ERROR_INVALID_ARGUMENT,
                      "[env] another live obol_env set a different log callback or level; the log is process-wide "
                      "(free that env and everything made from it first, or pass the same settings)");
  if (wants_pool && h.pool_users > 0 && !same_pool(h.pool, env.pool))
    return make_error(OBOL_ERROR_INVALID_ARGUMENT,
                      "[env] another live obol_env installed a different thread pool; the thread pool is "
                      "process-wide (free that env and everything made from it first, or pass the same pool)");
  if (wants_threads && h.threads_users > 0 && h.num_threads != env.num_threads)
    return make_error(OBOL_ERROR_INVALID_ARGUMENT,
                      str_cat("[env] another live obol_env set num_threads to ", h.num_threads, ", this one asks for ",
                              env.num_threads, "; the width is process-wide"));
  if (wants_log) {
    if (h.log_users++ == 0) {
      h.log = env.log;
      h.log_user = env.log_user;
      h.log_level = env.log_level;
      apply_log(h);
    }
    env.owns_log = true;
  }
  if (wants_pool) {
    if (h.pool_users++ == 0) {
      h.pool = env.pool;
      set_thread_pool(&h.pool);
    }
    env.owns_pool = true;
  }
  if (wants_threads) {
    if (h.threads_users++ == 0) {
      h.num_threads = env.num_threads;
      set_max_threads(env.num_threads);
    }
    env.owns_threads = true;
  }
  return nullptr;
}

// The first released sizes of the public structs (struct_size may grow, never shrink).
constexpr size_t kEnvOptionsV1 = sizeof(obol_env_options);
constexpr size_t kAllocatorV1 = sizeof(obol_allocator);
constexpr size_t kThreadPoolV1 = sizeof(obol_thread_pool);

}  // namespace
}  // namespace capi
}  // inline namespace v1
}  // namespace obol

using namespace obol::capi;

extern "C" {

obol_status* obol_env_create(uint32_t api_version, const obol_env_options* options, obol_env** out) {
  return guarded("obol_env_create", [&]() -> obol_status* {
    const uint32_t lib = OBOL_API_VERSION;
    if (OBOL_API_VERSION_GET_MAJOR(api_version) != OBOL_API_VERSION_GET_MAJOR(lib) ||
        OBOL_API_VERSION_GET_MINOR(api_version) > OBOL_API_VERSION_GET_MINOR(lib)) {
      char buf[320];
      std::snprintf(buf, sizeof buf,
                    "[env] the program was built against obol C API %u.%u.%u but the library is %u.%u.%u "
                    "(%s); the major versions must match and the library's minor version must be at least "
                    "the header's: rebuild against this library's obol.h or install a matching libobol",
                    OBOL_API_VERSION_GET_MAJOR(api_version), OBOL_API_VERSION_GET_MINOR(api_version),
                    OBOL_API_VERSION_GET_PATCH(api_version), OBOL_API_VERSION_GET_MAJOR(lib),
                    OBOL_API_VERSION_GET_MINOR(lib), OBOL_API_VERSION_GET_PATCH(lib), obol_version_string());
      return make_error(OBOL_ERROR_VERSION_MISMATCH, buf);
    }
    if (!out) return null_argument("obol_env_create", "out");

    // Copy the options with defaults for whatever an older caller's struct does not have.
    obol_env_options opt;
    std::memset(&opt, 0, sizeof opt);
    if (options) {
      if (obol_status* s = check_struct_size("obol_env_create", "obol_env_options", options->struct_size,
                                             kEnvOptionsV1, sizeof(obol_env_options)))
        return s;
      std::memcpy(&opt, options, options->struct_size);
    }
    auto env = std::make_shared<EnvState>();
    if (opt.allocator) {
      const obol_allocator& a = *opt.allocator;
      if (obol_status* s = check_struct_size("obol_env_create", "obol_allocator", a.struct_size, kAllocatorV1,
                                             sizeof(obol_allocator)))
        return s;
      if (!a.alloc || !a.free)
        return make_error(OBOL_ERROR_INVALID_ARGUMENT,
                          "[env] obol_allocator needs both alloc and free (or pass no allocator for the default)");
      env->allocator = obol::Allocator(obol::AllocatorHooks{a.alloc, a.free, a.user});
    }
    const int level = enum_value(opt.log_level);
    if (level < OBOL_LOG_DEFAULT || level > OBOL_LOG_OFF)
      return make_error(OBOL_ERROR_INVALID_ARGUMENT,
                        obol::str_cat("[env] log_level ", level, " is not an obol_log_level"));
    env->log = opt.log;
    env->log_user = opt.log_user;
    env->log_level = static_cast<obol_log_level>(level);
    if (opt.thread_pool) {
      const obol_thread_pool& p = *opt.thread_pool;
      if (obol_status* s = check_struct_size("obol_env_create", "obol_thread_pool", p.struct_size, kThreadPoolV1,
                                             sizeof(obol_thread_pool)))
        return s;
      if (!p.run || !p.num_threads)
        return make_error(OBOL_ERROR_INVALID_ARGUMENT, "[env] obol_thread_pool needs both run and num_threads");
      env->pool.run = p.run;
      env->pool.num_threads = p.num_threads;
      env->pool.user = p.user;
    }
    if (opt.num_threads < 0)
      return make_error(OBOL_ERROR_INVALID_ARGUMENT,
                        obol::str_cat("[env] num_threads is ", opt.num_threads, "; expected 0 (default) or more"));
    env->num_threads = opt.num_threads;

    auto box = std::make_unique<obol_env>();
    if (obol_status* s = install_process_hooks(*env, opt.log != nullptr || level != OBOL_LOG_DEFAULT,
                                               opt.thread_pool != nullptr, opt.num_threads != 0))
      return s;
    box->state = std::move(env);
    *out = box.release();
    return nullptr;
  });
}

void obol_env_free(obol_env* env) {
  try {
    delete env;
  } catch (...) {  // a destructor that throws is a bug; never let it reach C
  }
}

}  // extern "C"
