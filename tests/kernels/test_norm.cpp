// layer_norm_f32 and rms_norm_f32 of every tier against the references.
#include <cmath>
#include <vector>

#include "kernels/test_util.hpp"
#include "obol/kernels/reference/norm.hpp"

using namespace obol::kernels;

TEST_CASE("layer_norm_f32 matches the reference on every tier", "[kernels][norm]") {
  const bool with_gamma = GENERATE(false, true);
  const bool with_beta = GENERATE(false, true);
  const float offset = GENERATE(0.0f, 100.0f);  // a large common offset must not cost precision
  const int64_t rows = GENERATE(1, 3);
  for (const KernelTable* t : obol::test::tier_tables()) {
    for (int64_t n : obol::test::edge_lengths()) {
      if (n == 0) continue;
      std::vector<float> x(static_cast<size_t>(rows * n)), gamma(static_cast<size_t>(n)), beta(gamma.size());
      obol::test::fill_random(x, offset - 3, offset + 3, static_cast<uint32_t>(n));
      obol::test::fill_random(gamma, 0.5f, 1.5f, 2);
      obol::test::fill_random(beta, -1, 1, 3);
      const float* g = with_gamma ? gamma.data() : nullptr;
      const float* b = with_beta ? beta.data() : nullptr;
      std::vector<float> want(x.size()), got(x.size());
      reference::layer_norm_f32(x.data(), g, b, want.data(), rows, n, 1e-5f);
      t->layer_norm_f32(x.data(), g, b, got.data(), rows, n, 1e-5f);
      for (size_t i = 0; i < x.size(); ++i) {
        INFO(obol::test::tier_name(*t) << " n=" << n << " rows=" << rows << " offset=" << offset << " i=" << i
                                        << " got=" << got[i] << " want=" << want[i]);
        REQUIRE(obol::test::close(got[i], want[i], 0, 2e-5f * std::max(1.0f, std::fabs(want[i]))));
      }
    }
  }
}

TEST_CASE("rms_norm_f32 matches the reference on every tier", "[kernels][norm]") {
  const bool with_gamma = GENERATE(false, true);
  const int64_t rows = GENERATE(1, 3);
  for (const KernelTable* t : obol::test::tier_tables()) {
    for (int64_t n : obol::test::edge_lengths()) {
      if (n == 0) continue;
      std::vector<float> x(static_cast<size_t>(rows * n)), gamma(static_cast<size_t>(n));
      obol::test::fill_random(x, -4, 4, static_cast<uint32_t>(n) + 5);
      obol::test::fill_random(gamma, 0.5f, 1.5f, 4);
      const float* g = with_gamma ? gamma.data() : nullptr;
      std::vector<float> want(x.size()), got(x.size());
      reference::rms_norm_f32(x.data(), g, want.data(), rows, n, 1e-6f);
      t->rms_norm_f32(x.data(), g, got.data(), rows, n, 1e-6f);
      for (size_t i = 0; i < x.size(); ++i) {
        INFO(obol::test::tier_name(*t) << " n=" << n << " i=" << i << " got=" << got[i] << " want=" << want[i]);
        REQUIRE(obol::test::close(got[i], want[i], 0, 1e-5f * std::fabs(want[i]) + 1e-6f));
      }
    }
  }
}

TEST_CASE("norms: constant rows, eps and in-place use", "[kernels][norm]") {
  for (const KernelTable* t : obol::test::tier_tables()) {
    INFO(obol::test::tier_name(*t));
    std::vector<float> x(17, 3.0f), y(17);
    t->layer_norm_f32(x.data(), nullptr, nullptr, y.data(), 1, 17, 1e-5f);
    for (float v : y) CHECK(v == 0.0f);  // zero variance: eps keeps it finite
    t->rms_norm_f32(x.data(), nullptr, y.data(), 1, 17, 0.0f);
    for (float v : y) CHECK(v == Approx(1.0f));
    obol::test::fill_random(x, -2, 2, 8);
    std::vector<float> want(17);
    reference::layer_norm_f32(x.data(), nullptr, nullptr, want.data(), 1, 17, 1e-5f);
    t->layer_norm_f32(x.data(), nullptr, nullptr, x.data(), 1, 17, 1e-5f);
    for (size_t i = 0; i < x.size(); ++i) CHECK(x[i] == Approx(want[i]).margin(1e-5));
  }
}
