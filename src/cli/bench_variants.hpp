// Internal to `obol bench`: making the model variants and sending requests through a session, the
// batcher or the cache.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cli/bench.hpp"
#include "obol/obol.hpp"

namespace obol {
inline namespace v1 {
namespace cli {

struct PreparedVariant {
  std::shared_ptr<const Model> model;
  uint64_t model_bytes = 0;  // serialized size
  std::string id;            // identity for cache keys
  std::string note;
};

// "fp32": the model file as is; "int8", "int4": quantized in-process from it.
Result<PreparedVariant> prepare_variant(const std::string& name, const BenchConfig& config);

// Sends one request; one instance serves all clients (client = 0 .. concurrency-1).
class RequestRunner {
 public:
  virtual ~RequestRunner() = default;
  // `inputs` stay valid during the call; `outputs` is the client's own vector (may stay empty on a
  // cache hit, whose value is shared rather than copied).
  virtual Status run(int client, const std::vector<TensorView>& inputs, std::vector<Tensor>& outputs) = 0;
  // Adds what the runner counted (batch sizes, cache hits) to the result and the registry.
  virtual void finish(VariantResult& result) { (void)result; }
};

Result<std::unique_ptr<RequestRunner>> make_runner(const BenchConfig& config, PreparedVariant& variant,
                                                   std::shared_ptr<econ::Profiler> profiler,
                                                   econ::MetricsRegistry& registry, const econ::Labels& labels);

// The inputs of request `idx` from the pool (with the cache: a repeated or a unique input; unique
// ones are built in `scratch`, the client's own buffers).
std::vector<TensorView> request_inputs(const BenchConfig& config, const std::vector<std::vector<Tensor>>& pool,
                                       uint64_t idx, std::vector<Tensor>& scratch);

}  // namespace cli
}  // inline namespace v1
}  // namespace obol
