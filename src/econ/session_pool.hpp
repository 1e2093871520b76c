// A pool of Sessions of one model, so that several threads can run it at once through one object.
// Internal to src/econ (the router, the cascade and the model embedder use it).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include "obol/obol.hpp"

namespace obol {
inline namespace v1 {
namespace econ::detail {

class SessionPool {
 public:
  // Creates one session up front so that a model the backends cannot run fails here.
  static Result<std::unique_ptr<SessionPool>> create(std::shared_ptr<const Model> model, const SessionOptions& options) {
    OBOL_CHECK_OR_RETURN(model != nullptr, invalid_argument, "econ", "model is null");
    std::unique_ptr<SessionPool> pool(new SessionPool());
    pool->model_ = std::move(model);
    pool->options_ = options;
    OBOL_ASSIGN_OR_RETURN(std::unique_ptr<Session> s, Session::create(pool->model_, pool->options_));
    pool->free_.push_back(std::move(s));
    return pool;
  }

  // Runs on an idle session (a new one when all are busy) and, when `record`, counts the run and
  // its wall time.
  Status run(const std::vector<TensorView>& inputs, std::vector<Tensor>& outputs, bool record = true) {
    std::unique_ptr<Session> s;
    {
      std::lock_guard<std::mutex> lk(mutex_);
      if (!free_.empty()) {
        s = std::move(free_.back());
        free_.pop_back();
      }
    }
    if (!s) {
      OBOL_ASSIGN_OR_RETURN(s, Session::create(model_, options_));
    }
    const auto t0 = std::chrono::steady_clock::now();
    Status st = s->run(inputs, outputs);
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
    if (st.is_ok() && record) {
      runs_.fetch_add(1, std::memory_order_relaxed);
      ns_.fetch_add(static_cast<uint64_t>(ns), std::memory_order_relaxed);
    }
    std::lock_guard<std::mutex> lk(mutex_);
    free_.push_back(std::move(s));
    return st;
  }

  const Model& model() const noexcept { return *model_; }
  uint64_t runs() const noexcept { return runs_.load(); }
  double mean_ms() const noexcept {
    const uint64_t n = runs_.load();
    return n ? static_cast<double>(ns_.load()) / 1e6 / static_cast<double>(n) : 0.0;
  }

 private:
  SessionPool() = default;
  std::shared_ptr<const Model> model_;
  SessionOptions options_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Session>> free_;
  std::atomic<uint64_t> runs_{0}, ns_{0};
};

}  // namespace econ::detail
}  // inline namespace v1
}  // namespace obol
