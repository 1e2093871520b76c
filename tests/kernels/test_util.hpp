// Shared helpers of the kernel tests: ulp distances, tile-edge lengths, special values, tiers.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "obol/kernels/cpu.hpp"

namespace obol {
inline namespace v1 {
namespace test {

// Lengths around the 8- and 16-lane tile edges, primes, empty and one.
inline const std::vector<int64_t>& edge_lengths() {
  static const std::vector<int64_t> v = {0, 1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 19, 31, 32, 33, 35, 37, 64, 97, 131, 1031};
  return v;
}

inline const std::vector<float>& special_values() {
  static const std::vector<float> v = {
      0.0f, -0.0f, std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
      std::numeric_limits<float>::quiet_NaN(), 1e-40f, -1e-40f, std::numeric_limits<float>::denorm_min(),
      std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(), std::numeric_limits<float>::min(),
      88.8f, 88.7f, -87.5f, -100.0f, -104.5f, 1e-30f, 1e30f, 1.0f, -1.0f};
  return v;
}

// Distance in units in the last place; both NaN counts as equal, one NaN as infinitely far.
inline int64_t ulp_distance(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return (std::isnan(a) && std::isnan(b)) ? 0 : INT64_MAX;
  auto ordered = [](float f) {
    int32_t i;
    std::memcpy(&i, &f, 4);
    return i < 0 ? static_cast<int64_t>(INT32_MIN) - i : static_cast<int64_t>(i);
  };
  const int64_t d = ordered(a) - ordered(b);
  return d < 0 ? -d : d;
}

// True when got is within max_ulp of want, or within abs_tol of it. Infinities must match exactly.
inline bool close(float got, float want, int64_t max_ulp, float abs_tol = 0.0f) {
  if (std::isnan(want) || std::isnan(got)) return std::isnan(want) && std::isnan(got);
  if (std::isinf(want) || std::isinf(got)) return got == want;
  return ulp_distance(got, want) <= max_ulp || std::fabs(got - want) <= abs_tol;
}

// Fills v with uniform values in [lo, hi) and puts special values at a few positions.
inline void fill_random(std::vector<float>& v, float lo, float hi, uint32_t seed, bool specials = false) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  for (float& x : v) x = d(rng);
  if (specials && !v.empty()) {
    const auto& s = special_values();
    for (size_t i = 0; i < s.size(); ++i) v[(i * 7919u + seed) % v.size()] = s[i];
  }
}

// The tables of every tier this machine can run.
inline std::vector<const kernels::KernelTable*> tier_tables() {
  std::vector<const kernels::KernelTable*> v;
  for (kernels::Isa isa : kernels::available_isas()) v.push_back(kernels::cpu_kernels_for(isa));
  return v;
}

inline std::string tier_name(const kernels::KernelTable& t) { return kernels::isa_name(t.isa); }

}  // namespace test
}  // inline namespace v1
}  // namespace obol
