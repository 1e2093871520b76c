// minmax_f32 and quantize_u8_f32 of every tier against the references (exact), and the reference
// against ONNX's formula computed independently in double.
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/test_util.hpp"
#include "obol/kernels/reference/quantize.hpp"

using namespace obol::kernels;

namespace {

// ONNX QuantizeLinear to uint8, written from the spec: saturate(round_half_even(x / scale) + zp),
// NaN to 0. The division is done in float (as the spec's float inputs are), the rest in double.
uint8_t onnx_quantize(float x, float scale, int32_t zp) {
  const float q = x / scale;
  if (std::isnan(q)) return 0;
  const double r = std::nearbyint(static_cast<double>(q)) + zp;  // default mode: half to even
  return static_cast<uint8_t>(r < 0 ? 0 : r > 255 ? 255 : r);
}

std::vector<float> quant_inputs(int64_t n, float scale, uint32_t seed) {
  std::vector<float> x(static_cast<size_t>(n));
  obol::test::fill_random(x, -300.0f * scale, 300.0f * scale, seed, true);
  // Exact ties k + 0.5 (after division) at every fourth position, both signs.
  for (int64_t i = 0; i < n; i += 4)
    x[static_cast<size_t>(i)] = (static_cast<float>(i % 200) - 100.0f + 0.5f) * scale;
  return x;
}

}  // namespace

TEST_CASE("reference quantize_u8_f32 is ONNX QuantizeLinear's formula", "[kernels][quantize]") {
  const float scale = GENERATE(0.5f, 0.0137f, 3.0f);
  const int32_t zp = GENERATE(0, 3, 128, 255);
  const std::vector<float> x = quant_inputs(4099, scale, 11);
  std::vector<uint8_t> y(x.size());
  reference::quantize_u8_f32(x.data(), static_cast<int64_t>(x.size()), scale, zp, y.data());
  for (size_t i = 0; i < x.size(); ++i) {
    INFO("x=" << x[i] << " scale=" << scale << " zp=" << zp);
    REQUIRE(static_cast<int>(y[i]) == static_cast<int>(onnx_quantize(x[i], scale, zp)));
  }
}

TEST_CASE("quantize_u8_f32 matches the reference bit for bit on every tier, with ties, NaN and tails",
          "[kernels][quantize]") {
  const float scale = GENERATE(0.5f, 0.0137f, 1e-3f);
  const int32_t zp = GENERATE(0, 127, 255);
  for (const int64_t n : obol::test::edge_lengths()) {
    const std::vector<float> x = quant_inputs(n, scale, static_cast<uint32_t>(n) + 5u);
    std::vector<uint8_t> want(x.size() + 1, 0xa5), got(x.size() + 1, 0xa5);
    reference::quantize_u8_f32(x.data(), n, scale, zp, want.data());
    for (const KernelTable* t : obol::test::tier_tables()) {
      std::fill(got.begin(), got.end(), uint8_t{0xa5});
      t->quantize_u8_f32(x.data(), n, scale, zp, got.data());
      INFO(obol::test::tier_name(*t) << " n=" << n << " scale=" << scale << " zp=" << zp);
      REQUIRE(got == want);  // the byte past n stays untouched too
    }
  }
}

TEST_CASE("minmax_f32 matches the reference on every tier and skips NaN", "[kernels][quantize]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const int64_t n : obol::test::edge_lengths()) {
    std::vector<float> x(static_cast<size_t>(n));
    obol::test::fill_random(x, -5.0f, 7.0f, static_cast<uint32_t>(n) + 1u);
    for (int64_t i = 0; i < n; i += 3) x[static_cast<size_t>(i)] = nan;  // NaN at the start and in lanes
    float want_lo = 0, want_hi = 0;
    reference::minmax_f32(x.data(), n, &want_lo, &want_hi);
    // Independent truth: the smallest and largest non-NaN value, 0 / 0 for none.
    float lo = std::numeric_limits<float>::infinity(), hi = -lo;
    for (float v : x)
      if (!std::isnan(v)) lo = std::fmin(lo, v), hi = std::fmax(hi, v);
    if (lo > hi) lo = hi = 0.0f;
    REQUIRE(want_lo == lo);
    REQUIRE(want_hi == hi);
    for (const KernelTable* t : obol::test::tier_tables()) {
      float got_lo = 1, got_hi = -1;
      t->minmax_f32(x.data(), n, &got_lo, &got_hi);
      INFO(obol::test::tier_name(*t) << " n=" << n);
      REQUIRE(got_lo == lo);
      REQUIRE(got_hi == hi);
    }
  }
  SECTION("all NaN and infinities") {
    std::vector<float> all_nan(37, nan);
    std::vector<float> infs(40, 1.0f);
    infs[33] = std::numeric_limits<float>::infinity();
    infs[2] = -std::numeric_limits<float>::infinity();
    for (const KernelTable* t : obol::test::tier_tables()) {
      float lo = 1, hi = 1;
      t->minmax_f32(all_nan.data(), 37, &lo, &hi);
      REQUIRE(lo == 0.0f);
      REQUIRE(hi == 0.0f);
      t->minmax_f32(infs.data(), 40, &lo, &hi);
      REQUIRE(lo == -std::numeric_limits<float>::infinity());
      REQUIRE(hi == std::numeric_limits<float>::infinity());
    }
  }
}
