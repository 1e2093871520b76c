// softmax_f32 (and log-softmax) of every tier against reference::softmax_f32.
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/test_util.hpp"
#include "obol/kernels/reference/softmax.hpp"

using namespace obol::kernels;

TEST_CASE("softmax_f32 matches the reference on every tier and row length", "[kernels][softmax]") {
  const bool log = GENERATE(false, true);
  const float range = GENERATE(1.0f, 30.0f, 3000.0f);  // 3000: exp would overflow without the max shift
  const int64_t rows = GENERATE(1, 3);
  for (const KernelTable* t : obol::test::tier_tables()) {
    for (int64_t n : obol::test::edge_lengths()) {
      std::vector<float> x(static_cast<size_t>(rows * n + 1));
      obol::test::fill_random(x, -range, range, static_cast<uint32_t>(n) + 99);
      std::vector<float> want(x.size(), 9.0f), got(x.size(), 9.0f);
      reference::softmax_f32(x.data(), want.data(), rows, n, log);
      t->softmax_f32(x.data(), got.data(), rows, n, log);
      for (size_t i = 0; i < static_cast<size_t>(rows * n); ++i) {
        // softmax: relative 1e-5 (exp within 2 ulp, the row sum within n u); log-softmax: absolute
        // 1e-5 per unit of magnitude (the error of log(sum)).
        const float tol = log ? 1e-5f * std::max(1.0f, std::fabs(want[i])) : 1e-5f * std::fabs(want[i]) + 1e-38f;
        INFO(obol::test::tier_name(*t) << (log ? " log" : "") << "softmax rows=" << rows << " n=" << n << " i=" << i
                                        << " x=" << x[i] << " got=" << got[i] << " want=" << want[i]);
        REQUIRE(obol::test::close(got[i], want[i], 0, tol));
      }
      REQUIRE(got.back() == 9.0f);  // nothing written past the rows
    }
  }
}

TEST_CASE("softmax_f32 special rows", "[kernels][softmax]") {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const KernelTable* t : obol::test::tier_tables()) {
    INFO(obol::test::tier_name(*t));
    for (int64_t n : {3, 17}) {
      std::vector<float> x(static_cast<size_t>(n), 0.0f), y(x.size());
      // Huge equal values: uniform, no overflow.
      std::fill(x.begin(), x.end(), 1e30f);
      t->softmax_f32(x.data(), y.data(), 1, n, false);
      for (float v : y) CHECK(v == Approx(1.0f / static_cast<float>(n)));
      // -inf entries get probability 0 (log: -inf); the rest share the mass.
      std::fill(x.begin(), x.end(), -inf);
      x[1] = 2.0f;
      t->softmax_f32(x.data(), y.data(), 1, n, false);
      CHECK(y[0] == 0.0f);
      CHECK(y[1] == 1.0f);
      t->softmax_f32(x.data(), y.data(), 1, n, true);
      CHECK(y[0] == -inf);
      CHECK(y[1] == 0.0f);
      // A NaN poisons the row; so does an all -inf row (inf - inf), as in numpy.
      x[2] = nan;
      t->softmax_f32(x.data(), y.data(), 1, n, false);
      for (float v : y) CHECK(std::isnan(v));
      std::fill(x.begin(), x.end(), -inf);
      t->softmax_f32(x.data(), y.data(), 1, n, true);
      for (float v : y) CHECK(std::isnan(v));
      // In place.
      obol::test::fill_random(x, -5, 5, 3);
      std::vector<float> want(x.size());
      reference::softmax_f32(x.data(), want.data(), 1, n, false);
      t->softmax_f32(x.data(), x.data(), 1, n, false);
      for (size_t i = 0; i < x.size(); ++i) CHECK(x[i] == Approx(want[i]).epsilon(1e-5));
    }
  }
}
