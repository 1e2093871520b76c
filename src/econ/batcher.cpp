// The dynamic batcher: per-priority FIFO queues under one mutex, worker threads that each own a
// Session, batches formed by signature (input dtypes and trailing dims) as documented in batcher.hpp.
#include "obol/econ/batcher.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <mutex>
#include <thread>

namespace obol {
inline namespace v1 {
namespace econ {

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kQueueBuckets = sizeof(kQueueBucketsUs) / sizeof(kQueueBucketsUs[0]);

struct Request {
  std::vector<TensorView> views;
  std::vector<Tensor> owned;  // submit_async: keeps `views` alive
  int64_t rows = 0;
  int priority = 0;
  Clock::time_point enqueued;
  Clock::time_point deadline = Clock::time_point::max();
  std::chrono::microseconds timeout{0};
  bool queued = false;  // guarded by Impl::mutex
  std::promise<Result<BatchOutputs>> promise;
  BatchCallback callback;

  void complete(Result<BatchOutputs> r) {
    if (callback)
      callback(std::move(r));
    else
      promise.set_value(std::move(r));
  }
};
using RequestPtr = std::shared_ptr<Request>;

bool same_signature(const Request& a, const Request& b) {
  if (a.views.size() != b.views.size()) return false;
  for (size_t i = 0; i < a.views.size(); ++i) {
    const TensorView& x = a.views[i];
    const TensorView& y = b.views[i];
    if (x.dtype() != y.dtype() || x.rank() != y.rank()) return false;
    for (int d = 1; d < x.rank(); ++d)
      if (x.shape()[d] != y.shape()[d]) return false;
  }
  return true;
}

Status timeout_status(const Request& r) {
  const auto waited = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - r.enqueued).count();
  return make_status(StatusCode::deadline_exceeded, "batcher", "timed out after ", waited, " us in the queue (timeout ",
                     r.timeout.count(), " us); the request did not run");
}

Status shutdown_status() {
  return make_status(StatusCode::unavailable, "batcher", "shutting down: the request was not run");
}

// Copies rows [row0, row0 + rows) of `src` (dense, leading dim = src rows) into a new tensor.
Result<Tensor> slice_rows(const Tensor& src, int64_t row0, int64_t rows) {
  Shape s = src.shape();
  const int64_t total = s[0];
  s[0] = rows;
  OBOL_ASSIGN_OR_RETURN(Tensor t, Tensor::empty(src.dtype(), s));
  if (total > 0 && t.nbytes() > 0) {
    const size_t row_bytes = src.nbytes() / static_cast<size_t>(total);
    std::memcpy(t.data(), static_cast<const char*>(src.data()) + static_cast<size_t>(row0) * row_bytes, t.nbytes());
  }
  return t;
}

}  // namespace

double BatcherStats::mean_batch_rows() const noexcept {
  double n = 0, sum = 0;
  for (size_t r = 0; r < batch_rows.size(); ++r) {
    n += static_cast<double>(batch_rows[r]);
    sum += static_cast<double>(batch_rows[r]) * static_cast<double>(r);
  }
  return n > 0 ? sum / n : 0;
}

struct Batcher::Impl {
  BatcherOptions options;
  std::shared_ptr<const Model> model;
  std::vector<TensorInfo> input_info;
  std::vector<std::unique_ptr<Session>> sessions;
  std::vector<std::thread> threads;
  std::vector<int> preferred;  // sorted ascending, deduplicated

  mutable std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::deque<RequestPtr>> levels;  // index = priority
  size_t queued = 0;
  size_t queued_with_deadline = 0;  // lets the common no-timeout case skip the expiry scan
  bool stopping = false;
  std::mutex join_mutex;
  bool joined = false;

  std::atomic<uint64_t> accepted{0}, rejected{0}, timed_out{0}, cancelled_by_shutdown{0}, completed{0}, failed{0},
      batches{0};
  std::unique_ptr<std::atomic<uint64_t>[]> batch_rows, batch_requests;
  std::atomic<uint64_t> queue_ns_sum{0}, queue_ns_max{0};
  std::atomic<uint64_t> queue_buckets[kQueueBuckets] = {};
  // Optional registry mirrors (BatcherOptions::metrics).
  Counter *m_accepted = nullptr, *m_rejected = nullptr, *m_timed_out = nullptr, *m_completed = nullptr,
          *m_failed = nullptr;
  Histogram *m_rows = nullptr, *m_queue = nullptr;
  static void inc(Counter* c, double n = 1) {
    if (c) c->inc(n);
  }

  Status validate(const std::vector<TensorView>& inputs, int64_t& rows) const;
  Status enqueue(const RequestPtr& r, const RequestOptions& ro);
  bool remove_locked(const RequestPtr& r);
  void dequeued_locked(const Request& r) {
    --queued;
    if (r.deadline != Clock::time_point::max()) --queued_with_deadline;
  }
  void worker(size_t index);
  // Takes expired requests out of the queue; returns the earliest deadline still queued.
  Clock::time_point expire_locked(Clock::time_point now, std::vector<RequestPtr>& expired);
  // Picks the next batch, or returns false and sets `wake` to when one may be ready.
  bool form_batch_locked(Clock::time_point now, std::vector<RequestPtr>& batch, Clock::time_point& wake);
  void run_batch(Session& session, std::vector<RequestPtr>& batch);
  void record_queue_time(Clock::duration d);
};

Status Batcher::Impl::validate(const std::vector<TensorView>& inputs, int64_t& rows) const {
  OBOL_CHECK_OR_RETURN(inputs.size() == input_info.size(), invalid_argument, "batcher", "got ", inputs.size(),
                       " inputs, the model has ", input_info.size());
  rows = -1;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const TensorView& v = inputs[i];
    const TensorInfo& info = input_info[i];
    OBOL_CHECK_OR_RETURN(v.rank() >= 1, invalid_argument, "batcher", "input '", info.name,
                         "' has rank 0; batching needs a leading batch dimension");
    OBOL_CHECK_OR_RETURN(v.data() != nullptr || v.nbytes() == 0, invalid_argument, "batcher", "input '", info.name,
                         "' has no data");
    if (info.dtype != DType::invalid)
      OBOL_CHECK_OR_RETURN(v.dtype() == info.dtype, invalid_argument, "batcher", "input '", info.name, "' is ",
                           dtype_name(v.dtype()), ", the model expects ", dtype_name(info.dtype));
    if (info.rank_known) {
      OBOL_CHECK_OR_RETURN(static_cast<size_t>(v.rank()) == info.dims.size(), invalid_argument, "batcher", "input '",
                           info.name, "' has rank ", v.rank(), ", the model expects ", info.dims.size());
      for (int d = 1; d < v.rank(); ++d)
        OBOL_CHECK_OR_RETURN(info.dims[static_cast<size_t>(d)] < 0 || info.dims[static_cast<size_t>(d)] == v.shape()[d],
                             invalid_argument, "batcher", "input '", info.name, "' has shape ", v.shape().to_string(),
                             ", the model expects dim ", d, " = ", info.dims[static_cast<size_t>(d)]);
    }
    if (rows < 0) rows = v.shape()[0];
    OBOL_CHECK_OR_RETURN(v.shape()[0] == rows, invalid_argument, "batcher", "input '", info.name,
                         "' has leading dim ", v.shape()[0], " but input 0 has ", rows,
                         "; every input of a request needs the same batch size");
  }
  OBOL_CHECK_OR_RETURN(rows >= 1, invalid_argument, "batcher", "a request needs at least one row (batch dim ", rows,
                       ")");
  OBOL_CHECK_OR_RETURN(rows <= options.max_batch, invalid_argument, "batcher", "request of ", rows,
                       " rows exceeds max_batch ", options.max_batch);
  return Status::ok();
}

Status Batcher::Impl::enqueue(const RequestPtr& r, const RequestOptions& ro) {
  r->priority = std::clamp(ro.priority, 0, options.priority_levels - 1);
  r->timeout = ro.timeout.count() > 0 ? ro.timeout : options.default_timeout;
  r->enqueued = Clock::now();
  if (r->timeout.count() > 0) r->deadline = r->enqueued + r->timeout;
  {
    std::lock_guard<std::mutex> lk(mutex);
    if (stopping) return shutdown_status();
    if (options.max_queue > 0 && queued >= options.max_queue) {
      rejected.fetch_add(1, std::memory_order_relaxed);
      inc(m_rejected);
      return make_status(StatusCode::resource_exhausted, "batcher", "queue full (max_queue ", options.max_queue,
                         "): request rejected");
    }
    levels[static_cast<size_t>(r->priority)].push_back(r);
    r->queued = true;
    ++queued;
    if (r->deadline != Clock::time_point::max()) ++queued_with_deadline;
    accepted.fetch_add(1, std::memory_order_relaxed);
  }
  inc(m_accepted);
  cv.notify_one();
  return Status::ok();
}

bool Batcher::Impl::remove_locked(const RequestPtr& r) {
  if (!r->queued) return false;
  auto& q = levels[static_cast<size_t>(r->priority)];
  auto it = std::find(q.begin(), q.end(), r);
  if (it == q.end()) return false;
  q.erase(it);
  r->queued = false;
  dequeued_locked(*r);
  return true;
}

Clock::time_point Batcher::Impl::expire_locked(Clock::time_point now, std::vector<RequestPtr>& expired) {
  Clock::time_point earliest = Clock::time_point::max();
  if (queued_with_deadline == 0) return earliest;
  for (auto& q : levels) {
    for (auto it = q.begin(); it != q.end();) {
      if ((*it)->deadline <= now) {
        (*it)->queued = false;
        dequeued_locked(**it);
        expired.push_back(std::move(*it));
        it = q.erase(it);
      } else {
        earliest = std::min(earliest, (*it)->deadline);
        ++it;
      }
    }
  }
  return earliest;
}

bool Batcher::Impl::form_batch_locked(Clock::time_point now, std::vector<RequestPtr>& batch, Clock::time_point& wake) {
  wake = Clock::time_point::max();
  if (queued == 0) return false;
  const int64_t max_batch = options.max_batch;
  const Request* head = nullptr;
  std::vector<std::pair<size_t, size_t>> picks;  // (level, index) of the in-order compatible prefix
  int64_t rows = 0;
  bool full = false;
  Clock::time_point oldest = Clock::time_point::max();
  for (size_t l = levels.size(); l-- > 0 && !full;) {
    auto& q = levels[l];
    for (size_t i = 0; i < q.size(); ++i) {
      const Request& r = *q[i];
      if (head == nullptr) head = &r;
      if (!same_signature(*head, r)) continue;
      if (rows + r.rows > max_batch) {
        full = true;
        break;
      }
      picks.emplace_back(l, i);
      rows += r.rows;
      oldest = std::min(oldest, r.enqueued);
      if (rows == max_batch) {
        full = true;
        break;
      }
    }
  }
  if (picks.empty()) return false;

  // How many of the picks to send: all of them, or the longest prefix whose rows are a preferred size.
  size_t take = 0;
  auto preferred_prefix = [&]() -> size_t {
    int64_t sum = 0;
    size_t best = 0;
    for (size_t k = 0; k < picks.size(); ++k) {
      sum += levels[picks[k].first][picks[k].second]->rows;
      if (std::binary_search(preferred.begin(), preferred.end(), static_cast<int>(sum))) best = k + 1;
    }
    return best;
  };
  const bool delay_passed = now >= oldest + options.max_delay;
  if (!preferred.empty()) {
    if (full || rows >= preferred.back() || delay_passed) {
      take = preferred_prefix();
      if (take == 0) take = picks.size();
    }
  } else if (full || delay_passed) {
    take = picks.size();
  }
  if (take == 0) {
    wake = oldest + options.max_delay;
    return false;
  }
  picks.resize(take);
  batch.reserve(take);
  for (const auto& [l, i] : picks) batch.push_back(levels[l][i]);
  // Erase from the back of each level so earlier indices stay valid.
  std::sort(picks.begin(), picks.end(), [](const auto& a, const auto& b) { return a > b; });
  for (const auto& [l, i] : picks) {
    levels[l][i]->queued = false;
    dequeued_locked(*levels[l][i]);
    levels[l].erase(levels[l].begin() + static_cast<std::ptrdiff_t>(i));
  }
  return true;
}

void Batcher::Impl::record_queue_time(Clock::duration d) {
  const uint64_t ns = static_cast<uint64_t>(std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()));
  queue_ns_sum.fetch_add(ns, std::memory_order_relaxed);
  uint64_t prev = queue_ns_max.load(std::memory_order_relaxed);
  while (ns > prev && !queue_ns_max.compare_exchange_weak(prev, ns, std::memory_order_relaxed)) {
  }
  const double us = static_cast<double>(ns) / 1000.0;
  size_t b = 0;
  while (b + 1 < kQueueBuckets && us > kQueueBucketsUs[b]) ++b;
  queue_buckets[b].fetch_add(1, std::memory_order_relaxed);
  if (m_queue) m_queue->record(static_cast<double>(ns) * 1e-9);
}

void Batcher::Impl::run_batch(Session& session, std::vector<RequestPtr>& batch) {
  const Clock::time_point start = Clock::now();
  int64_t total = 0;
  for (const RequestPtr& r : batch) {
    record_queue_time(start - r->enqueued);
    total += r->rows;
  }
  batches.fetch_add(1, std::memory_order_relaxed);
  batch_rows[static_cast<size_t>(total)].fetch_add(1, std::memory_order_relaxed);
  batch_requests[batch.size()].fetch_add(1, std::memory_order_relaxed);
  if (m_rows) m_rows->record(static_cast<double>(total));

  auto fail_all = [&](const Status& s) {
    failed.fetch_add(batch.size(), std::memory_order_relaxed);
    inc(m_failed, static_cast<double>(batch.size()));
    for (RequestPtr& r : batch) r->complete(s);
  };

  std::vector<Tensor> outputs;
  if (batch.size() == 1) {
    // Nothing to concatenate or split.
    Status st = session.run(batch[0]->views, outputs);
    if (!st.is_ok()) return fail_all(st);
    completed.fetch_add(1, std::memory_order_relaxed);
    inc(m_completed);
    batch[0]->complete(std::move(outputs));
    return;
  }

  const Request& first = *batch[0];
  std::vector<Tensor> staged;
  std::vector<TensorView> views;
  staged.reserve(first.views.size());
  for (size_t i = 0; i < first.views.size(); ++i) {
    Shape s = first.views[i].shape();
    s[0] = total;
    Result<Tensor> t = Tensor::empty(first.views[i].dtype(), s);
    if (!t.is_ok()) return fail_all(t.status());
    char* dst = static_cast<char*>(t->data());
    for (const RequestPtr& r : batch) {
      const size_t n = r->views[i].nbytes();
      if (n) std::memcpy(dst, r->views[i].data(), n);
      dst += n;
    }
    views.push_back(t->view());
    staged.push_back(std::move(t).value());
  }
  Status st = session.run(views, outputs);
  if (!st.is_ok()) return fail_all(st);
  for (size_t o = 0; o < outputs.size(); ++o) {
    const Tensor& t = outputs[o];
    if (t.rank() < 1 || t.shape()[0] != total) {
      const std::vector<TensorInfo> out_info = model->outputs();
      const std::string name = o < out_info.size() ? out_info[o].name : std::to_string(o);
      return fail_all(make_status(StatusCode::unsupported, "batcher", "output '", name, "' has shape ",
                                  t.shape().to_string(), " after a batch of ", total,
                                  " rows; its leading dimension must be the batch dimension to split it back"));
    }
  }
  std::vector<std::vector<Tensor>> per(batch.size());
  int64_t row0 = 0;
  for (size_t k = 0; k < batch.size(); ++k) {
    per[k].reserve(outputs.size());
    for (const Tensor& t : outputs) {
      Result<Tensor> part = slice_rows(t, row0, batch[k]->rows);
      if (!part.is_ok()) return fail_all(part.status());
      per[k].push_back(std::move(part).value());
    }
    row0 += batch[k]->rows;
  }
  completed.fetch_add(batch.size(), std::memory_order_relaxed);
  inc(m_completed, static_cast<double>(batch.size()));
  for (size_t k = 0; k < batch.size(); ++k) batch[k]->complete(std::move(per[k]));
}

void Batcher::Impl::worker(size_t index) {
  Session& session = *sessions[index];
  std::unique_lock<std::mutex> lk(mutex);
  std::vector<RequestPtr> expired, batch;
  while (!stopping) {
    const Clock::time_point now = Clock::now();
    const Clock::time_point earliest_deadline = expire_locked(now, expired);
    if (!expired.empty()) {
      lk.unlock();
      timed_out.fetch_add(expired.size(), std::memory_order_relaxed);
      inc(m_timed_out, static_cast<double>(expired.size()));
      for (RequestPtr& r : expired) r->complete(timeout_status(*r));
      expired.clear();
      lk.lock();
      continue;
    }
    Clock::time_point wake;
    if (form_batch_locked(now, batch, wake)) {
      const bool more = queued > 0;
      lk.unlock();
      if (more) cv.notify_one();  // another worker may form the next batch meanwhile
      run_batch(session, batch);
      batch.clear();
      lk.lock();
      continue;
    }
    wake = std::min(wake, earliest_deadline);
    if (wake == Clock::time_point::max())
      cv.wait(lk);
    else
      cv.wait_until(lk, wake);
  }
}

Batcher::Batcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Batcher::~Batcher() { shutdown(); }

Result<std::unique_ptr<Batcher>> Batcher::create(std::shared_ptr<const Model> model, const BatcherOptions& options) {
  OBOL_CHECK_OR_RETURN(model != nullptr, invalid_argument, "batcher", "model is null");
  OBOL_CHECK_OR_RETURN(options.max_batch >= 1, invalid_argument, "batcher", "max_batch must be >= 1, got ",
                       options.max_batch);
  OBOL_CHECK_OR_RETURN(options.priority_levels >= 1, invalid_argument, "batcher",
                       "priority_levels must be >= 1, got ", options.priority_levels);
  OBOL_CHECK_OR_RETURN(options.workers >= 1, invalid_argument, "batcher", "workers must be >= 1, got ",
                       options.workers);
  OBOL_CHECK_OR_RETURN(options.max_delay.count() >= 0, invalid_argument, "batcher", "max_delay is negative");
  for (int p : options.preferred_batch)
    OBOL_CHECK_OR_RETURN(p >= 1 && p <= options.max_batch, invalid_argument, "batcher", "preferred batch size ", p,
                         " is outside [1, max_batch = ", options.max_batch, "]");
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->model = model;
  impl->input_info = model->inputs();
  OBOL_CHECK_OR_RETURN(!impl->input_info.empty(), invalid_argument, "batcher", "the model has no inputs to batch");
  impl->preferred = options.preferred_batch;
  std::sort(impl->preferred.begin(), impl->preferred.end());
  impl->preferred.erase(std::unique(impl->preferred.begin(), impl->preferred.end()), impl->preferred.end());
  impl->levels.resize(static_cast<size_t>(options.priority_levels));
  const size_t hist = static_cast<size_t>(options.max_batch) + 1;
  impl->batch_rows = std::make_unique<std::atomic<uint64_t>[]>(hist);
  impl->batch_requests = std::make_unique<std::atomic<uint64_t>[]>(hist);
  for (size_t i = 0; i < hist; ++i) {
    impl->batch_rows[i].store(0);
    impl->batch_requests[i].store(0);
  }
  if (MetricsRegistry* m = options.metrics) {
    const Labels& l = options.metrics_labels;
    impl->m_accepted = &m->counter("obol_batcher_accepted_total", "Requests the batcher queued", l);
    impl->m_rejected = &m->counter("obol_batcher_rejected_total", "Requests refused because the queue was full", l);
    impl->m_timed_out = &m->counter("obol_batcher_timed_out_total", "Requests that expired before they ran", l);
    impl->m_completed = &m->counter("obol_batcher_completed_total", "Requests that ran and returned outputs", l);
    impl->m_failed = &m->counter("obol_batcher_failed_total", "Requests whose batch failed", l);
    impl->m_rows = &m->histogram("obol_batcher_batch_rows", "Rows per batch the batcher sent",
                                 Histogram::batch_size_bounds(), l);
    impl->m_queue = &m->histogram("obol_batcher_queue_seconds", "Time from submit to being taken into a batch",
                                  Histogram::latency_bounds(), l);
  }
  for (int w = 0; w < options.workers; ++w) {
    OBOL_ASSIGN_OR_RETURN(std::unique_ptr<Session> s, Session::create(model, options.session));
    impl->sessions.push_back(std::move(s));
  }
  Impl* raw = impl.get();
  for (size_t w = 0; w < raw->sessions.size(); ++w) raw->threads.emplace_back([raw, w] { raw->worker(w); });
  return std::unique_ptr<Batcher>(new Batcher(std::move(impl)));
}

void Batcher::shutdown() {
  std::lock_guard<std::mutex> join_lock(impl_->join_mutex);
  if (impl_->joined) return;
  std::vector<RequestPtr> pending;
  {
    std::lock_guard<std::mutex> lk(impl_->mutex);
    impl_->stopping = true;
    for (auto& q : impl_->levels) {
      for (RequestPtr& r : q) {
        r->queued = false;
        pending.push_back(std::move(r));
      }
      q.clear();
    }
    impl_->queued = 0;
    impl_->queued_with_deadline = 0;
  }
  impl_->cv.notify_all();
  impl_->cancelled_by_shutdown.fetch_add(pending.size(), std::memory_order_relaxed);
  for (RequestPtr& r : pending) r->complete(shutdown_status());
  for (std::thread& t : impl_->threads) t.join();
  impl_->threads.clear();
  impl_->joined = true;
}

Result<BatchOutputs> Batcher::submit(const std::vector<TensorView>& inputs, const RequestOptions& request) {
  int64_t rows = 0;
  OBOL_RETURN_IF_ERROR(impl_->validate(inputs, rows));
  auto r = std::make_shared<Request>();
  r->views = inputs;
  r->rows = rows;
  std::future<Result<BatchOutputs>> future = r->promise.get_future();
  OBOL_RETURN_IF_ERROR(impl_->enqueue(r, request));
  if (r->deadline != Clock::time_point::max() &&
      future.wait_until(r->deadline) == std::future_status::timeout) {
    // Still queued at the deadline: take it out ourselves rather than wait for a worker to notice.
    bool removed;
    {
      std::lock_guard<std::mutex> lk(impl_->mutex);
      removed = impl_->remove_locked(r);
    }
    if (removed) {
      impl_->timed_out.fetch_add(1, std::memory_order_relaxed);
      Impl::inc(impl_->m_timed_out);
      return timeout_status(*r);
    }
  }
  return future.get();
}

std::future<Result<BatchOutputs>> Batcher::submit_async(std::vector<Tensor> inputs, const RequestOptions& request) {
  auto r = std::make_shared<Request>();
  std::future<Result<BatchOutputs>> future = r->promise.get_future();
  r->owned = std::move(inputs);
  for (const Tensor& t : r->owned) r->views.push_back(t.view());
  Status st = impl_->validate(r->views, r->rows);
  if (st.is_ok()) st = impl_->enqueue(r, request);
  if (!st.is_ok()) r->promise.set_value(std::move(st));
  return future;
}

void Batcher::submit_async(std::vector<Tensor> inputs, BatchCallback done, const RequestOptions& request) {
  auto r = std::make_shared<Request>();
  r->callback = std::move(done);
  r->owned = std::move(inputs);
  for (const Tensor& t : r->owned) r->views.push_back(t.view());
  Status st = impl_->validate(r->views, r->rows);
  if (st.is_ok()) st = impl_->enqueue(r, request);
  if (!st.is_ok()) r->complete(std::move(st));
}

BatcherStats Batcher::stats() const {
  const Impl& m = *impl_;
  BatcherStats s;
  s.accepted = m.accepted.load();
  s.rejected = m.rejected.load();
  s.timed_out = m.timed_out.load();
  s.cancelled_by_shutdown = m.cancelled_by_shutdown.load();
  s.completed = m.completed.load();
  s.failed = m.failed.load();
  s.batches = m.batches.load();
  const size_t hist = static_cast<size_t>(m.options.max_batch) + 1;
  for (size_t i = 0; i < hist; ++i) {
    s.batch_rows.push_back(m.batch_rows[i].load());
    s.batch_requests.push_back(m.batch_requests[i].load());
  }
  s.queue_us_sum = static_cast<double>(m.queue_ns_sum.load()) / 1000.0;
  s.queue_us_max = static_cast<double>(m.queue_ns_max.load()) / 1000.0;
  for (size_t b = 0; b < kQueueBuckets; ++b) s.queue_us_buckets.push_back(m.queue_buckets[b].load());
  return s;
}

const BatcherOptions& Batcher::options() const noexcept { return impl_->options; }

size_t Batcher::queue_size() const {
  std::lock_guard<std::mutex> lk(impl_->mutex);
  return impl_->queued;
}

}  // namespace econ
}  // inline namespace v1
}  // namespace obol
