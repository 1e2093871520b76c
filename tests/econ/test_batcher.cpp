// The dynamic batcher: results reach their callers under load, max_delay, preferred sizes,
// max_queue rejection, timeouts, priorities, signatures, validation and shutdown.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "econ_models.hpp"
#include "obol/econ/batcher.hpp"

using namespace obol;
using namespace obol::econ;
using econ_test::affine_model;
using econ_test::make_rows;
using std::chrono::microseconds;
using std::chrono::milliseconds;

namespace {

std::unique_ptr<Batcher> make_batcher(const BatcherOptions& o, std::shared_ptr<const Model> model = nullptr) {
  if (!model) model = affine_model();
  REQUIRE(model != nullptr);
  auto b = Batcher::create(model, o);
  INFO(b.status().to_string());
  REQUIRE(b.is_ok());
  return std::move(b).value();
}

// The row of request `id`, row `r`: distinct values per request and row.
std::vector<float> row_of(int64_t id, int r) {
  const float v = static_cast<float>(id);
  return {v, v + 0.25f * static_cast<float>(r + 1), -v, static_cast<float>(r)};
}

// True when `out` is exactly 2x+1 of the rows of request `id`.
bool matches(const BatchOutputs& out, int64_t id, int rows) {
  if (out.size() != 1 || out[0].shape() != Shape{rows, 4}) return false;
  const float* y = out[0].data_as<const float>();
  for (int r = 0; r < rows; ++r) {
    const std::vector<float> x = row_of(id, r);
    for (int c = 0; c < 4; ++c)
      if (y[r * 4 + c] != x[static_cast<size_t>(c)] * 2.0f + 1.0f) return false;
  }
  return true;
}

std::vector<Tensor> one(Tensor t) {
  std::vector<Tensor> v;
  v.push_back(std::move(t));
  return v;
}

Tensor request_tensor(int64_t id, int rows) {
  std::vector<std::vector<float>> r;
  for (int i = 0; i < rows; ++i) r.push_back(row_of(id, i));
  return make_rows(r);
}

// Blocks the (single) worker inside a callback until release() is called, so that requests queue
// up deterministically behind it.
struct WorkerGate {
  std::promise<void> entered, release_promise;
  std::shared_future<void> release_future = release_promise.get_future().share();
  void hold(Batcher& b) {
    auto fut = release_future;
    auto* in = &entered;
    b.submit_async(one(make_rows({{0, 0, 0, 0}})), [in, fut](Result<BatchOutputs>) {
      in->set_value();
      fut.wait();
    });
    entered.get_future().wait();
  }
  void release() { release_promise.set_value(); }
};

}  // namespace

TEST_CASE("batcher: 8 threads x 10000 requests each reach their own caller exactly once", "[batcher]") {
  BatcherOptions o;
  o.max_batch = 16;
  o.max_delay = microseconds(200);
  o.workers = 2;
  o.max_queue = 0;  // unbounded: the async threads put everything in flight
  auto b = make_batcher(o);

  constexpr int kThreads = 8, kPerThread = 10000;
  constexpr int64_t kTotal = int64_t{kThreads} * kPerThread;
  auto rows_of = [](int64_t id) { return id % 7 == 0 ? 3 : (id % 5 == 0 ? 2 : 1); };
  std::vector<std::atomic<int>> delivered(static_cast<size_t>(kTotal));
  for (auto& d : delivered) d.store(0);
  std::atomic<int64_t> wrong{0}, errors{0}, done{0}, rows_total{0};
  std::mutex m;
  std::condition_variable cv;

  auto check = [&](int64_t id, Result<BatchOutputs>& r) {
    if (!r.is_ok()) {
      errors.fetch_add(1);
    } else if (!matches(*r, id, rows_of(id))) {
      wrong.fetch_add(1);
    }
    delivered[static_cast<size_t>(id)].fetch_add(1);
    if (done.fetch_add(1) + 1 == kTotal) {
      std::lock_guard<std::mutex> lk(m);
      cv.notify_all();
    }
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int64_t id = int64_t{t} * kPerThread + i;
        const int rows = rows_of(id);
        rows_total.fetch_add(rows);
        Tensor x = request_tensor(id, rows);
        if (t < 4) {  // synchronous callers
          Result<BatchOutputs> r = b->submit({x.view()});
          check(id, r);
        } else if (t < 6) {  // futures, a window of 16 in flight
          std::vector<std::pair<int64_t, std::future<Result<BatchOutputs>>>> window;
          window.emplace_back(id, b->submit_async(one(std::move(x))));
          while (i + 1 < kPerThread && window.size() < 16) {
            ++i;
            const int64_t id2 = int64_t{t} * kPerThread + i;
            rows_total.fetch_add(rows_of(id2));
            window.emplace_back(id2, b->submit_async(one(request_tensor(id2, rows_of(id2)))));
          }
          for (auto& [wid, f] : window) {
            Result<BatchOutputs> r = f.get();
            check(wid, r);
          }
        } else {  // callbacks, all in flight at once
          b->submit_async(one(std::move(x)), [&, id](Result<BatchOutputs> r) { check(id, r); });
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  {
    std::unique_lock<std::mutex> lk(m);
    cv.wait(lk, [&] { return done.load() == kTotal; });
  }
  CHECK(errors.load() == 0);
  CHECK(wrong.load() == 0);
  int64_t not_once = 0;
  for (auto& d : delivered) not_once += d.load() != 1;
  CHECK(not_once == 0);

  const BatcherStats s = b->stats();
  CHECK(s.accepted == static_cast<uint64_t>(kTotal));
  CHECK(s.completed == static_cast<uint64_t>(kTotal));
  CHECK(s.rejected == 0);
  CHECK(s.timed_out == 0);
  CHECK(s.failed == 0);
  // The batch-size histograms account for every row and every request exactly once.
  uint64_t rows = 0, requests = 0, batches = 0;
  for (size_t r = 0; r < s.batch_rows.size(); ++r) {
    rows += r * s.batch_rows[r];
    batches += s.batch_rows[r];
  }
  for (size_t n = 0; n < s.batch_requests.size(); ++n) requests += n * s.batch_requests[n];
  CHECK(rows == static_cast<uint64_t>(rows_total.load()));
  CHECK(requests == static_cast<uint64_t>(kTotal));
  CHECK(batches == s.batches);
  CHECK(s.batch_rows[0] == 0);
  uint64_t queued = 0;
  for (uint64_t c : s.queue_us_buckets) queued += c;
  CHECK(queued == static_cast<uint64_t>(kTotal));
}

TEST_CASE("batcher: a lone request waits max_delay for company, not much longer", "[batcher]") {
  BatcherOptions o;
  o.max_batch = 64;
  o.max_delay = milliseconds(20);
  auto b = make_batcher(o);
  Tensor x = request_tensor(5, 1);
  const auto t0 = std::chrono::steady_clock::now();
  Result<BatchOutputs> r = b->submit({x.view()});
  const auto waited = std::chrono::steady_clock::now() - t0;
  REQUIRE(r.is_ok());
  CHECK(matches(*r, 5, 1));
  // A partial batch is never sent before max_delay, and a lone request is not held for 10x max_delay.
  CHECK(waited >= milliseconds(20));
  CHECK(waited < milliseconds(200));
  CHECK(b->stats().batch_rows[1] == 1);
}

TEST_CASE("batcher: a full batch or a preferred size is sent without waiting for max_delay", "[batcher]") {
  BatcherOptions o;
  o.max_batch = 8;
  o.preferred_batch = {4};
  o.max_delay = std::chrono::seconds(60);
  auto b = make_batcher(o);
  // 1, 2, 3 rows wait (max_delay is a minute); the fourth makes the preferred size.
  std::vector<std::future<Result<BatchOutputs>>> fs;
  for (int i = 0; i < 4; ++i) fs.push_back(b->submit_async(one(request_tensor(100 + i, 1))));
  for (int i = 0; i < 4; ++i) {
    REQUIRE(fs[static_cast<size_t>(i)].wait_for(std::chrono::seconds(30)) == std::future_status::ready);
    Result<BatchOutputs> r = fs[static_cast<size_t>(i)].get();
    REQUIRE(r.is_ok());
    CHECK(matches(*r, 100 + i, 1));
  }
  const BatcherStats s = b->stats();
  CHECK(s.batch_rows[4] == 1);
  CHECK(s.batch_requests[4] == 1);

  // Without preferred sizes, reaching max_batch rows sends at once: 3 + 3 + 2 rows = 8.
  BatcherOptions full;
  full.max_batch = 8;
  full.max_delay = std::chrono::seconds(60);
  auto b2 = make_batcher(full);
  auto f1 = b2->submit_async(one(request_tensor(1, 3)));
  auto f2 = b2->submit_async(one(request_tensor(2, 3)));
  auto f3 = b2->submit_async(one(request_tensor(3, 2)));
  REQUIRE(f3.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  Result<BatchOutputs> r1 = f1.get(), r2 = f2.get(), r3 = f3.get();
  REQUIRE(r1.is_ok());
  REQUIRE(r2.is_ok());
  REQUIRE(r3.is_ok());
  CHECK(matches(*r1, 1, 3));
  CHECK(matches(*r2, 2, 3));
  CHECK(matches(*r3, 3, 2));
  CHECK(b2->stats().batch_rows[8] == 1);
}

TEST_CASE("batcher: max_queue rejects at once and shutdown fails what is queued", "[batcher]") {
  BatcherOptions o;
  o.max_batch = 100;
  o.max_delay = std::chrono::seconds(60);  // nothing is sent while the test runs
  o.max_queue = 3;
  auto b = make_batcher(o);
  std::vector<std::future<Result<BatchOutputs>>> queued;
  for (int i = 0; i < 3; ++i) queued.push_back(b->submit_async(one(request_tensor(i, 1))));
  CHECK(b->queue_size() == 3);

  Tensor x = request_tensor(9, 1);
  Result<BatchOutputs> r = b->submit({x.view()});
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == StatusCode::resource_exhausted);
  CHECK(r.status().message().find("[batcher] queue full") == 0);
  auto rejected_async = b->submit_async(one(request_tensor(10, 1)));
  REQUIRE(rejected_async.wait_for(std::chrono::seconds(0)) == std::future_status::ready);
  CHECK(rejected_async.get().status().message().find("queue full") != std::string::npos);
  CHECK(b->stats().rejected == 2);
  CHECK(b->stats().accepted == 3);

  b->shutdown();
  for (auto& f : queued) {
    Result<BatchOutputs> q = f.get();
    REQUIRE_FALSE(q.is_ok());
    CHECK(q.status().message().find("[batcher] shutting down") == 0);
  }
  CHECK(b->stats().cancelled_by_shutdown == 3);
  CHECK(b->stats().batches == 0);
  Result<BatchOutputs> after = b->submit({x.view()});
  REQUIRE_FALSE(after.is_ok());
  CHECK(after.status().message().find("shutting down") != std::string::npos);
  b->shutdown();  // idempotent
}

TEST_CASE("batcher: requests past their timeout fail and never run", "[batcher]") {
  BatcherOptions o;
  o.max_batch = 100;
  o.max_delay = std::chrono::seconds(60);
  auto b = make_batcher(o);

  RequestOptions ro;
  ro.timeout = milliseconds(20);
  Tensor x = request_tensor(1, 1);
  Result<BatchOutputs> r = b->submit({x.view()}, ro);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == StatusCode::deadline_exceeded);
  CHECK(r.status().message().find("[batcher] timed out") == 0);

  // Async: the worker notices the deadline by itself.
  auto f = b->submit_async(one(request_tensor(2, 1)), ro);
  REQUIRE(f.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  Result<BatchOutputs> r2 = f.get();
  REQUIRE_FALSE(r2.is_ok());
  CHECK(r2.status().message().find("timed out") != std::string::npos);

  // The default timeout applies to requests without their own.
  BatcherOptions d = o;
  d.default_timeout = milliseconds(10);
  auto b2 = make_batcher(d);
  Result<BatchOutputs> r3 = b2->submit({x.view()});
  REQUIRE_FALSE(r3.is_ok());
  CHECK(r3.status().message().find("timed out") != std::string::npos);

  const BatcherStats s = b->stats();
  CHECK(s.timed_out == 2);
  CHECK(s.batches == 0);
  CHECK(s.completed == 0);
  CHECK(b->queue_size() == 0);
}

TEST_CASE("batcher: higher priorities run first, FIFO within a level", "[batcher]") {
  BatcherOptions o;
  o.max_batch = 1;
  o.max_delay = microseconds(0);
  o.priority_levels = 3;
  auto b = make_batcher(o);
  WorkerGate gate;
  gate.hold(*b);

  std::mutex m;
  std::vector<int> order;
  std::atomic<int> done{0};
  const std::vector<std::pair<int, int>> reqs = {{1, 0}, {2, 2}, {3, 1}, {4, 2}, {5, 0}, {6, 1}, {7, 9}};
  for (const auto& [id, prio] : reqs) {
    RequestOptions ro;
    ro.priority = prio;  // 9 is clamped to the top level
    b->submit_async(one(request_tensor(id, 1)),
                    [&, id = id](Result<BatchOutputs> r) {
                      REQUIRE(r.is_ok());
                      std::lock_guard<std::mutex> lk(m);
                      order.push_back(id);
                      done.fetch_add(1);
                    },
                    ro);
  }
  CHECK(b->queue_size() == reqs.size());
  gate.release();
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (done.load() < static_cast<int>(reqs.size()) && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(milliseconds(1));
  std::lock_guard<std::mutex> lk(m);
  CHECK(order == std::vector<int>{2, 4, 7, 3, 6, 1, 5});
}

TEST_CASE("batcher: only requests of the same shape share a batch, each gets its rows back", "[batcher]") {
  BatcherOptions o;
  o.max_batch = 16;
  o.max_delay = microseconds(0);
  auto b = make_batcher(o, affine_model(2.0f, 1.0f, -1));  // width is symbolic
  WorkerGate gate;
  gate.hold(*b);
  auto wide = [](float v, int rows) {
    std::vector<std::vector<float>> r(static_cast<size_t>(rows), std::vector<float>(4, v));
    return make_rows(r);
  };
  auto narrow = [](float v, int rows) {
    std::vector<std::vector<float>> r(static_cast<size_t>(rows), std::vector<float>(3, v));
    return make_rows(r);
  };
  auto a = b->submit_async(one(wide(1, 1)));
  auto n1 = b->submit_async(one(narrow(2, 2)));
  auto c = b->submit_async(one(wide(3, 2)));
  auto n2 = b->submit_async(one(narrow(4, 1)));
  auto d = b->submit_async(one(wide(5, 3)));
  gate.release();
  auto value_ok = [](std::future<Result<BatchOutputs>>& f, float v, int rows, int width) {
    Result<BatchOutputs> r = f.get();
    REQUIRE(r.is_ok());
    REQUIRE(r->size() == 1);
    const Tensor& y = (*r)[0];
    REQUIRE(y.shape() == Shape{rows, width});
    for (int64_t i = 0; i < y.numel(); ++i)
      if (y.data_as<const float>()[i] != v * 2 + 1) return false;
    return true;
  };
  CHECK(value_ok(a, 1, 1, 4));
  CHECK(value_ok(n1, 2, 2, 3));
  CHECK(value_ok(c, 3, 2, 4));
  CHECK(value_ok(n2, 4, 1, 3));
  CHECK(value_ok(d, 5, 3, 4));
  const BatcherStats s = b->stats();
  // The gate's own batch, then the wide requests (6 rows) and the narrow ones (3 rows).
  CHECK(s.batches == 3);
  CHECK(s.batch_rows[6] == 1);
  CHECK(s.batch_rows[3] == 1);
  CHECK(s.batch_requests[3] == 1);
  CHECK(s.batch_requests[2] == 1);
}

TEST_CASE("batcher: inputs that cannot be batched are refused at submit", "[batcher]") {
  BatcherOptions o;
  o.max_batch = 4;
  o.max_delay = microseconds(0);
  auto b = make_batcher(o);
  Tensor scalar = std::move(Tensor::zeros(DType::f32, Shape{})).value();
  Tensor too_many = request_tensor(1, 5);
  Tensor wrong_width = make_rows({{1, 2, 3}});
  Tensor ints = std::move(Tensor::zeros(DType::i32, Shape{1, 4})).value();
  Tensor ok = request_tensor(1, 1);
  for (const auto& in : std::vector<std::vector<TensorView>>{
           {scalar.view()}, {too_many.view()}, {wrong_width.view()}, {ints.view()}, {ok.view(), ok.view()}, {}}) {
    Result<BatchOutputs> r = b->submit(in);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == StatusCode::invalid_argument);
    CHECK(r.status().message().find("[batcher]") == 0);
  }
  CHECK(b->stats().accepted == 0);
  BatcherOptions bad;
  bad.max_batch = 0;
  CHECK_FALSE(Batcher::create(affine_model(), bad).is_ok());
  bad.max_batch = 4;
  bad.preferred_batch = {5};
  CHECK_FALSE(Batcher::create(affine_model(), bad).is_ok());
}

TEST_CASE("batcher: counts into a MetricsRegistry", "[batcher]") {
  MetricsRegistry registry;
  const Labels labels = {{"model", "affine"}};
  BatcherOptions o;
  o.max_batch = 4;
  o.max_delay = microseconds(0);
  o.metrics = &registry;
  o.metrics_labels = labels;
  {
    auto b = make_batcher(o);
    for (int i = 0; i < 3; ++i) {
      Tensor x = request_tensor(i, 2);
      Result<BatchOutputs> r = b->submit({x.view()});
      REQUIRE(r.is_ok());
    }
  }
  double v = -1;
  REQUIRE(registry.value("obol_batcher_accepted_total", labels, &v));
  CHECK(v == 3.0);
  REQUIRE(registry.value("obol_batcher_completed_total", labels, &v));
  CHECK(v == 3.0);
  REQUIRE(registry.value("obol_batcher_rejected_total", labels, &v));
  CHECK(v == 0.0);
  const std::string text = to_prometheus(registry);
  CHECK(text.find("obol_batcher_batch_rows_count{model=\"affine\"} 3") != std::string::npos);
  CHECK(text.find("obol_batcher_queue_seconds_count{model=\"affine\"} 3") != std::string::npos);
}
