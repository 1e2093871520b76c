#include <catch2/catch.hpp>
#include <random>

#include "obol/graph/memory_plan.hpp"

using obol::graph::BufferRequest;
using obol::graph::plan_memory;

namespace {

// No two buffers alive at the same step may overlap in the arena.
void check_no_conflicts(const std::vector<BufferRequest>& reqs, const obol::graph::MemoryPlan& plan, size_t align) {
  REQUIRE(plan.offsets.size() == reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i) {
    REQUIRE(plan.offsets[i] % align == 0);
    REQUIRE(plan.offsets[i] + reqs[i].bytes <= plan.arena_bytes);
    for (size_t j = i + 1; j < reqs.size(); ++j) {
      const bool time = !(reqs[i].last_step < reqs[j].first_step || reqs[j].last_step < reqs[i].first_step);
      if (!time || reqs[i].bytes == 0 || reqs[j].bytes == 0) continue;
      const bool space = plan.offsets[i] < plan.offsets[j] + reqs[j].bytes &&
                         plan.offsets[j] < plan.offsets[i] + reqs[i].bytes;
      INFO("buffers " << i << " and " << j);
      REQUIRE_FALSE(space);
    }
  }
}

}  // namespace

TEST_CASE("a chain reuses memory: two buffers suffice", "[graph][memory]") {
  // step k writes buffer k and reads buffer k-1: a linear network.
  std::vector<BufferRequest> reqs;
  for (int k = 0; k < 10; ++k) reqs.push_back({1000, k, k + 1});
  const auto plan = plan_memory(reqs, 64);
  check_no_conflicts(reqs, plan, 64);
  CHECK(plan.peak_live_bytes == 2 * 1024);
  CHECK(plan.arena_bytes == 2 * 1024);
}

TEST_CASE("disjoint lifetimes share one offset, overlapping ones do not", "[graph][memory]") {
  const std::vector<BufferRequest> reqs = {{256, 0, 1}, {256, 2, 3}, {128, 1, 2}};
  const auto plan = plan_memory(reqs, 64);
  check_no_conflicts(reqs, plan, 64);
  CHECK(plan.offsets[0] == plan.offsets[1]);
  CHECK(plan.arena_bytes == 384);
}

TEST_CASE("empty and zero-sized requests", "[graph][memory]") {
  CHECK(plan_memory({}, 64).arena_bytes == 0);
  const auto plan = plan_memory({{0, 0, 0}, {10, 0, 0}}, 64);
  CHECK(plan.arena_bytes == 64);
}

TEST_CASE("random lifetimes never conflict and stay near the live peak", "[graph][memory]") {
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<BufferRequest> reqs;
    const int n = 1 + static_cast<int>(rng() % 60);
    for (int i = 0; i < n; ++i) {
      const int first = static_cast<int>(rng() % 40);
      const int len = static_cast<int>(rng() % 8);
      reqs.push_back({static_cast<size_t>(rng() % 5000), first, first + len});
    }
    const auto plan = plan_memory(reqs, 64);
    check_no_conflicts(reqs, plan, 64);
    CHECK(plan.arena_bytes >= plan.peak_live_bytes);
    CHECK(plan.arena_bytes <= 2 * plan.peak_live_bytes + 64);  // greedy-by-size stays close in practice
  }
}
