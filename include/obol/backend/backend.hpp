// obol/backend/backend.hpp — the interface every execution backend implements.
//
// A session lists backends in priority order; the CPU backend is always last and claims every node
// the loaders accept. Each node goes to the first backend that supports it, and every node that
// falls back records why (Session::placement()).
//
// Backends are registered by an explicit list (src/backends/registry.cpp); there are no static
// initialisers. probe() never aborts: a missing library or device is an Availability with a reason.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "obol/backend/kernel.hpp"
#include "obol/graph/graph.hpp"

namespace obol {
inline namespace v1 {
namespace backend {

struct Availability {
  bool ok = true;
  std::string reason;  // why not, when !ok: "libedgetpu.so.1 not found", "no CUDA device"
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const noexcept = 0;
  // Whether the backend can be used in this process at all. Cheap after the first call.
  virtual Availability probe() = 0;
  // Whether node `n` of `g` can run here. When not, `why_not` (if given) receives a reason for the
  // placement report, e.g. "Conv with 3 spatial dims is not implemented".
  virtual bool supports(const graph::Graph& g, graph::NodeId n, std::string* why_not) const = 0;
  // Compiles node `n`, validating its attributes and the input types the graph knows. Constant
  // inputs (weights) may be pre-packed here; the kernel keeps what it needs alive.
  virtual Result<std::unique_ptr<Kernel>> create_kernel(const graph::Graph& g, graph::NodeId n) const = 0;
};

// Backends compiled into this build, in default priority order (CPU last). Each call makes fresh
// instances.
std::vector<std::unique_ptr<Backend>> builtin_backends();
// The one named (e.g. "cpu"), or not_found listing the names that exist.
Result<std::unique_ptr<Backend>> make_backend(std::string_view name);

}  // namespace backend
}  // inline namespace v1
}  // namespace obol
