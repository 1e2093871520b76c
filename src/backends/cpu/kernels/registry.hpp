// The CPU backend's op table: one kernel factory per OpKind, filled by the families in families.def.
#pragma once

#include <memory>

#include "obol/backend/kernel.hpp"
#include "obol/graph/graph.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

// Compiles one node: validates attributes and whatever input types the graph knows, captures
// constant inputs (pre-packing weights), and returns a Kernel. Errors name the node.
using KernelFactory = Result<std::unique_ptr<backend::Kernel>> (*)(const graph::Graph& g, const graph::Node& node);

struct CpuOpRegistry {
  KernelFactory factory[graph::kOpKindCount] = {};
  void add(graph::OpKind op, KernelFactory f) noexcept { factory[static_cast<int>(op)] = f; }
  KernelFactory find(graph::OpKind op) const noexcept { return factory[static_cast<int>(op)]; }
};

#define OBOL_CPU_FAMILY(family) void register_##family(CpuOpRegistry& r);
#include "families.def"
#undef OBOL_CPU_FAMILY

// All families registered, built once.
const CpuOpRegistry& cpu_op_registry();

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
