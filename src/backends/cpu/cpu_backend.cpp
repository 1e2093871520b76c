// The CPU backend: obol's own kernels for every op in the registry.
#include <memory>

#include "obol/backend/backend.hpp"
#include "kernels/registry.hpp"

namespace obol {
inline namespace v1 {
namespace backend {

namespace {

class CpuBackend final : public Backend {
 public:
  std::string_view name() const noexcept override { return "cpu"; }
  Availability probe() override { return {}; }
  bool supports(const graph::Graph& g, graph::NodeId n, std::string* why_not) const override {
    if (cpu::cpu_op_registry().find(g.node(n).op)) return true;
    if (why_not) *why_not = str_cat("no CPU kernel for ", graph::op_info(g.node(n).op).op_type);
    return false;
  }
  Result<std::unique_ptr<Kernel>> create_kernel(const graph::Graph& g, graph::NodeId n) const override {
    const graph::Node& node = g.node(n);
    cpu::KernelFactory f = cpu::cpu_op_registry().find(node.op);
    OBOL_CHECK_OR_RETURN(f != nullptr, unsupported, "cpu", node.describe(), ": no CPU kernel");
    auto k = f(g, node);
    if (!k.is_ok() && k.status().message().find(node.name) == std::string::npos)
      return Status(k.status().code(), str_cat(k.status().message(), " (in ", node.describe(), ")"));
    return k;
  }
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace backend
}  // inline namespace v1
}  // namespace obol
