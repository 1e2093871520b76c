// The C API's handle structs and the guard that keeps C++ exceptions from crossing into C.
//
// Ownership graph (shared_ptr): tensor -> EnvState, session -> ModelState -> EnvState. The
// handles the C caller holds are thin boxes around these, so *_free only drops a reference and
// objects may be freed in any order.
#pragma once

#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "obol/core.hpp"
#include "obol/graph/executor.hpp"
#include "obol/obol.h"
#include "obol/obol.hpp"

namespace obol {
inline namespace v1 {
namespace capi {

// --- status ---------------------------------------------------------------------------------------

// An error for the caller, or the preallocated out-of-memory status when even that fails.
obol_status* make_error(obol_error_code code, const char* message) noexcept;
obol_status* make_error(obol_error_code code, const std::string& message) noexcept;
obol_status* from_status(const Status& status) noexcept;
obol_status* out_of_memory() noexcept;
obol_status* null_argument(const char* function, const char* argument) noexcept;

// A NUL-terminated copy the caller frees with obol_string_free (nullptr when allocation fails).
char* copy_string(const std::string& s) noexcept;

// Runs `body` (returning obol_status*) and turns anything it throws into an error status.
template <class F>
obol_status* guarded(const char* function, F&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return out_of_memory();
  } catch (const std::exception& e) {
    char buf[512];
    std::snprintf(buf, sizeof buf, "[c_api] %s: unexpected exception: %s", function, e.what());
    return make_error(OBOL_ERROR_INTERNAL, buf);
  } catch (...) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "[c_api] %s: unexpected exception", function);
    return make_error(OBOL_ERROR_INTERNAL, buf);
  }
}

// The integer a caller passed for an enum, read as bytes: a C caller may pass any int, and loading
// an out-of-range value as the enum type is undefined in C++ (and -fsanitize=enum flags it).
template <class E>
int enum_value(const E& e) noexcept {
  static_assert(sizeof(E) == sizeof(int), "C API enums are int-sized");
  int v;
  std::memcpy(&v, &e, sizeof v);
  return v;
}

// Result/Status plumbing for functions that return obol_status*.
#define OBOL_C_RETURN_IF_ERROR(...)                                                  \
  do {                                                                               \
    ::obol::Status obol_c_status_ = (__VA_ARGS__);                                   \
    if (!obol_c_status_.is_ok()) return ::obol::capi::from_status(obol_c_status_);   \
  } while (0)
#define OBOL_C_ASSIGN_OR_RETURN(lhs, ...) \
  OBOL_C_ASSIGN_OR_RETURN_IMPL_(OBOL_CONCAT_(obol_c_result_, __LINE__), lhs, (__VA_ARGS__))
#define OBOL_C_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr)                   \
  auto tmp = (expr);                                                    \
  if (!tmp.is_ok()) return ::obol::capi::from_status(tmp.status());     \
  lhs = std::move(tmp).value()

// Checks a struct_size: at least the first released size, at most what this library knows.
obol_status* check_struct_size(const char* function, const char* type, size_t given, size_t min_size,
                               size_t current_size) noexcept;

// --- env ------------------------------------------------------------------------------------------

struct EnvState {
  Allocator allocator;
  // Which process-wide settings this env installed (reset when it dies).
  bool owns_log = false;
  bool owns_pool = false;
  bool owns_threads = false;
  obol_log_fn log = nullptr;
  void* log_user = nullptr;
  obol_log_level log_level = OBOL_LOG_DEFAULT;
  ThreadPoolHooks pool{};
  int num_threads = 0;

  EnvState() = default;
  EnvState(const EnvState&) = delete;
  EnvState& operator=(const EnvState&) = delete;
  ~EnvState();
};

// --- model ----------------------------------------------------------------------------------------

struct IoInfo {
  std::string name;
  obol_dtype dtype = OBOL_DTYPE_INVALID;
  int64_t rank = -1;
  std::vector<int64_t> dims;
  std::vector<std::string> symbols;
  std::vector<const char*> symbol_ptrs;
};

struct ModelState {
  std::shared_ptr<EnvState> env;
  std::string path;                     // set for file models
  const void* bytes = nullptr;          // set for memory models (borrowed, or `copy` below)
  size_t size = 0;
  std::shared_ptr<void> copy;           // OBOL_MEMORY_COPY: the bytes, from the env's allocator
  std::vector<IoInfo> inputs, outputs;  // from the default-level model

  // One loaded model per optimisation level, made on first use (the default one at load time).
  // Declared after `copy` so that they are destroyed before the bytes they may point into.
  std::mutex mutex;
  std::shared_ptr<const Model> by_level[4];
  static constexpr int kDefaultLevel = static_cast<int>(OptLevel::all);

  Result<std::shared_ptr<const Model>> model_at(int level);
};

// --- tensor ---------------------------------------------------------------------------------------

struct TensorBox {
  Tensor owned;          // empty for wrapped caller memory
  TensorView view;       // what runs read and write
  std::shared_ptr<EnvState> env;  // keeps the allocator's owner alive for `owned`
  int64_t dims[Shape::kMaxRank] = {};
};

// A C tensor that owns `tensor` (allocated from `env`'s allocator).
std::unique_ptr<obol_tensor> box_owned(Tensor tensor, std::shared_ptr<EnvState> env);

// --- session options ------------------------------------------------------------------------------

struct SessionOptionsState {
  SessionOptions options;
  int opt_level = ModelState::kDefaultLevel;
  bool serial = false;
  bool metrics = false;
};

}  // namespace capi
}  // inline namespace v1
}  // namespace obol

// The opaque C types.
struct obol_env {
  std::shared_ptr<obol::capi::EnvState> state;
};
struct obol_model {
  std::shared_ptr<obol::capi::ModelState> state;
};
struct obol_tensor {
  obol::capi::TensorBox box;
};
struct obol_session_options {
  obol::capi::SessionOptionsState state;
};

namespace obol {
inline namespace v1 {
namespace econ {
class Profiler;
}  // namespace econ
}  // inline namespace v1
}  // namespace obol

namespace obol {
inline namespace v1 {
namespace capi {

// What a session records about its runs (sessions.cpp fills it; metrics export reads it).
struct SessionCounters {
  std::atomic<uint64_t> runs_ok{0};
  std::atomic<uint64_t> runs_cancelled{0};
  std::atomic<uint64_t> runs_failed{0};
};

}  // namespace capi
}  // inline namespace v1
}  // namespace obol

struct obol_session {
  // Order matters for destruction: the executor (and the compiled graph it holds) goes first,
  // then the model, then the bytes the model state keeps.
  std::shared_ptr<obol::capi::ModelState> model_state;
  std::shared_ptr<const obol::Model> model;
  std::unique_ptr<obol::graph::Executor> executor;
  std::atomic<bool> cancel{false};
  bool serial = false;
  std::shared_ptr<obol::econ::Profiler> profiler;  // option "metrics"
  obol::capi::SessionCounters counters;
};

// --- economics objects (batcher.cpp, cache.cpp, router.cpp) ---------------------------------------

namespace obol {
inline namespace v1 {
namespace capi {

// The SessionOptions and optimisation level for the sessions a batcher, cache or router makes
// itself. Refuses "threads" = "1" and "metrics" = "1", which only obol_session honours.
obol_status* econ_session_options(const char* component, const obol_session_options* options, int& level,
                                  SessionOptions& out);
// The views of n C tensors (each non-NULL; `inputs` may be NULL only when n is 0).
obol_status* gather_views(const char* component, const char* function, const obol_tensor* const* inputs, size_t n,
                          std::vector<TensorView>& views);
// Hands `results` out as new C tensors in outputs[0 .. n_outputs) (all or none): moved when the env
// allocates as obol's default allocator does, else copied with the env's allocator.
obol_status* hand_out(const char* component, const char* function, std::vector<Tensor>& results,
                      const std::shared_ptr<EnvState>& env, obol_tensor** outputs, size_t n_outputs);
// Borrowed C tensors over `views` (for callbacks), and the pointer array to pass.
void borrow(const std::vector<TensorView>& views, std::vector<obol_tensor>& boxes,
            std::vector<const obol_tensor*>& ptrs);

}  // namespace capi
}  // inline namespace v1
}  // namespace obol
