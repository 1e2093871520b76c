// obol/econ/batcher.hpp — a dynamic batcher with Triton's semantics.
//
//   obol::econ::BatcherOptions opt;
//   opt.max_batch = 16;
//   opt.max_delay = std::chrono::microseconds(2000);
//   auto batcher = obol::econ::Batcher::create(model, opt);          // Result<std::unique_ptr<Batcher>>
//   auto out = (*batcher)->submit({x_view});                         // Result<std::vector<Tensor>>
//
// What it does: concurrent requests for one stateless model whose every input and output has a
// leading batch dimension are queued, coalesced into one batch (inputs concatenated along dim 0; a
// request may itself carry batch > 1), run as one Session::run, and the outputs are split back
// along dim 0 so each caller gets exactly its own rows.
//
// Batch formation (one queue per priority level, higher levels first, FIFO within a level):
//   - Only requests with the same input dtypes and the same trailing dims (everything but dim 0)
//     share a batch; the others wait for a batch of their own kind.
//   - A batch is sent at once when the compatible rows waiting reach max_batch, or reach the largest
//     `preferred_batch` size (the batch sent is then the longest prefix whose rows equal a preferred
//     size, else the longest prefix that fits max_batch).
//   - Otherwise the batcher waits until the oldest compatible request has waited `max_delay`, then
//     sends the longest prefix whose rows equal a preferred size, or, when none does, everything
//     that fits max_batch. max_delay = 0 sends whatever is queued whenever a worker is free.
//   - Requests are taken whole and in order: a request never splits across batches.
//
// Errors (all are Status values; the batcher never throws or aborts on bad input):
//   - "[batcher] queue full ..."       (StatusCode::resource_exhausted) at submit when max_queue requests
//                                      are already waiting: rejected at once, never queued.
//   - "[batcher] timed out ..."        (StatusCode::deadline_exceeded) when a request's timeout passes
//                                      before it was taken into a batch; it never runs.
//   - "[batcher] shutting down ..."    (StatusCode::unavailable) for requests still queued when
//                                      shutdown() begins and for submits after it.
//   - "[batcher] ..." invalid_argument for inputs that cannot be batched (wrong count, rank 0,
//     leading dims that differ across a request's inputs, rows > max_batch), at submit.
//   - A failing Session::run fails every request of that batch with its Status.
//
// Threading and ownership: `workers` threads, each owning one Session of the model, started by
// create() and joined by shutdown() or the destructor (no thread outlives the Batcher). submit()
// and submit_async() may be called from any number of threads. The synchronous submit() borrows the
// caller's input memory until it returns; submit_async() takes its inputs by value (owned tensors).
// Callbacks run on a worker thread (or on the submitting thread when a request is rejected at
// submit) and must not block for long nor call shutdown() or destroy the Batcher.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <vector>

#include "obol/econ/metrics.hpp"
#include "obol/obol.hpp"

namespace obol {
inline namespace v1 {
namespace econ {

struct BatcherOptions {
  // Most rows (sum of the requests' leading dims) in one batch. >= 1.
  int max_batch = 8;
  // Batch sizes (rows) the batcher prefers to send, each in [1, max_batch]; empty = none.
  std::vector<int> preferred_batch;
  // How long the oldest waiting request may be held for company before its batch is sent.
  std::chrono::microseconds max_delay{1000};
  // Priority levels 0 .. priority_levels-1; a higher level is always served first. >= 1.
  int priority_levels = 1;
  // Most requests waiting in the queue (all levels); a submit beyond it is rejected. 0 = no limit.
  size_t max_queue = 4096;
  // Timeout for requests that do not set their own; 0 = none. Counted from submit.
  std::chrono::microseconds default_timeout{0};
  // Worker threads, each with its own Session. >= 1.
  int workers = 1;
  SessionOptions session;
  // Optional: also record into this registry, which must outlive the Batcher. Counters
  // obol_batcher_{accepted,rejected,timed_out,completed,failed}_total, histograms
  // obol_batcher_batch_rows (rows per batch sent) and obol_batcher_queue_seconds, each with
  // `metrics_labels`. stats() works either way.
  MetricsRegistry* metrics = nullptr;
  Labels metrics_labels;
};

struct RequestOptions {
  int priority = 0;                         // 0 .. priority_levels-1, clamped into range
  std::chrono::microseconds timeout{0};     // 0 = BatcherOptions::default_timeout
};

using BatchOutputs = std::vector<Tensor>;
using BatchCallback = std::function<void(Result<BatchOutputs>)>;

// A consistent-enough snapshot of the batcher's counters (each counter is read atomically; the
// set is not read as one transaction).
struct BatcherStats {
  uint64_t accepted = 0;    // requests queued
  uint64_t rejected = 0;    // refused at submit because the queue was full
  uint64_t timed_out = 0;   // expired before they ran
  uint64_t cancelled_by_shutdown = 0;
  uint64_t completed = 0;   // ran and returned outputs
  uint64_t failed = 0;      // ran in a batch whose Session::run or split failed
  uint64_t batches = 0;     // Session::run calls made
  // batch_rows[r] = batches sent with r rows, r in 0..max_batch (index 0 unused).
  std::vector<uint64_t> batch_rows;
  // batch_requests[n] = batches sent holding n requests, n in 0..max_batch.
  std::vector<uint64_t> batch_requests;
  // Queue time (submit to taken into a batch) of the requests that ran.
  double queue_us_sum = 0;
  double queue_us_max = 0;
  // queue_us_buckets[i] counts queue times <= kQueueBucketsUs[i] (not cumulative; the last bucket
  // is everything above the previous bound).
  std::vector<uint64_t> queue_us_buckets;
  double mean_batch_rows() const noexcept;
};
// Upper bounds (µs) of the queue-time buckets; the last is +infinity.
inline constexpr double kQueueBucketsUs[] = {10,    25,    50,     100,    250,    500,   1000,  2500,
                                             5000,  10000, 25000,  50000,  100000, 250000, 1e300};

class Batcher {
 public:
  // Validates the options, creates one Session per worker and starts the workers.
  static Result<std::unique_ptr<Batcher>> create(std::shared_ptr<const Model> model,
                                                 const BatcherOptions& options = {});
  ~Batcher();  // shutdown()
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Queues one request (one view per model input, in model input order, each with the same leading
  // dim) and blocks until its outputs (one tensor per model output, leading dim = the request's
  // rows) or an error. If the timeout passes while the request is still queued, returns the timeout
  // Status at once. The views must stay valid until it returns.
  Result<BatchOutputs> submit(const std::vector<TensorView>& inputs, const RequestOptions& request = {});

  // Queues one request that owns its inputs and returns at once. The future (or the callback) gets
  // the outputs or the error; a request rejected at submit is completed before this returns.
  std::future<Result<BatchOutputs>> submit_async(std::vector<Tensor> inputs, const RequestOptions& request = {});
  void submit_async(std::vector<Tensor> inputs, BatchCallback done, const RequestOptions& request = {});

  // Stops accepting requests, fails every queued request with "shutting down", lets batches already
  // running finish, and joins the workers. Idempotent; called by the destructor.
  void shutdown();

  BatcherStats stats() const;
  const BatcherOptions& options() const noexcept;
  // Requests waiting in the queue now.
  size_t queue_size() const;

  struct Impl;

 private:
  explicit Batcher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace econ
}  // inline namespace v1
}  // namespace obol
