// Internal: what a Profiler keeps per compiled graph (shared by profiler.cpp and trace.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "obol/econ/profiler.hpp"

namespace obol {
inline namespace v1 {
namespace econ {

struct Profiler::GraphRecord {
  const graph::CompiledGraph* compiled = nullptr;
  std::vector<std::string> node_names;  // per step
  std::vector<std::string> op_types;    // per step
  std::vector<uint64_t> total_ns;       // per step
  std::vector<uint64_t> calls;          // per step
};

// Small per-thread ids for trace events (1, 2, ... in order of first use).
uint32_t trace_thread_id() noexcept;

}  // namespace econ
}  // inline namespace v1
}  // namespace obol
