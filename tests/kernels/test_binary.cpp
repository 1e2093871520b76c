// binary_f32 of every tier against reference::binary_f32, for every a_inc/b_inc combination.
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/test_util.hpp"
#include "obol/kernels/reference/binary.hpp"

using namespace obol::kernels;

namespace {
const BinaryOp kOps[] = {BinaryOp::add, BinaryOp::sub, BinaryOp::mul, BinaryOp::div,
                         BinaryOp::pow, BinaryOp::min, BinaryOp::max};
}  // namespace

TEST_CASE("binary_f32 matches the reference on every tier, broadcast pattern and tile edge", "[kernels][binary]") {
  const BinaryOp op = GENERATE(from_range(std::begin(kOps), std::end(kOps)));
  const int64_t a_inc = GENERATE(0, 1);
  const int64_t b_inc = GENERATE(0, 1);
  // pow(x, 2) with a broadcast exponent takes the x * x path: within 1 ulp of powf. All else is exact.
  const float scalar_b = GENERATE(0.75f, 2.0f);
  const int64_t max_ulp = op == BinaryOp::pow ? 1 : 0;
  for (const KernelTable* t : obol::test::tier_tables()) {
    for (int64_t n : obol::test::edge_lengths()) {
      const size_t len = static_cast<size_t>(n > 0 ? n : 1);
      std::vector<float> a(len), b(len), want(len), got(len, 777.0f);
      obol::test::fill_random(a, -4, 4, static_cast<uint32_t>(n) * 3 + 1, true);
      obol::test::fill_random(b, -4, 4, static_cast<uint32_t>(n) * 5 + 2, true);
      if (b_inc == 0) b[0] = scalar_b;
      reference::binary_f32(op, a.data(), a_inc, b.data(), b_inc, want.data(), n);
      t->binary_f32(op, a.data(), a_inc, b.data(), b_inc, got.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        INFO(obol::test::tier_name(*t) << " " << binary_op_name(op) << " a_inc=" << a_inc << " b_inc=" << b_inc
                                        << " n=" << n << " i=" << i << " a=" << a[i * a_inc] << " b=" << b[i * b_inc]
                                        << " got=" << got[i] << " want=" << want[i]);
        REQUIRE(obol::test::close(got[i], want[i], max_ulp));
      }
      if (n == 0) CHECK(got[0] == 777.0f);  // nothing written
    }
  }
}

TEST_CASE("binary_f32 min and max propagate NaN and return the second of equal operands", "[kernels][binary]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const KernelTable* t : obol::test::tier_tables()) {
    INFO(obol::test::tier_name(*t));
    // Long enough to take the vector path, with the interesting pairs at the front.
    std::vector<float> a(19, 1.0f), b(19, 2.0f), y(19);
    a[0] = nan, b[0] = 1.0f;
    a[1] = 1.0f, b[1] = nan;
    a[2] = -0.0f, b[2] = 0.0f;
    a[3] = 0.0f, b[3] = -0.0f;
    t->binary_f32(BinaryOp::max, a.data(), 1, b.data(), 1, y.data(), 19);
    CHECK(std::isnan(y[0]));
    CHECK(std::isnan(y[1]));
    CHECK_FALSE(std::signbit(y[2]));
    CHECK(std::signbit(y[3]));
    CHECK(y[4] == 2.0f);
    t->binary_f32(BinaryOp::min, a.data(), 1, b.data(), 1, y.data(), 19);
    CHECK(std::isnan(y[0]));
    CHECK(std::isnan(y[1]));
    CHECK_FALSE(std::signbit(y[2]));
    CHECK(y[4] == 1.0f);
    // pow special cases follow C's powf.
    const float pa[] = {0.0f, 0.0f, -8.0f, nan, -2.0f, 4.0f, 1.0f, 2.0f, 3.0f};
    const float pb[] = {0.0f, -1.0f, 1.0f / 3.0f, 0.0f, 3.0f, 0.5f, nan, 10.0f, -2.0f};
    float py[9];
    t->binary_f32(BinaryOp::pow, pa, 1, pb, 1, py, 9);
    CHECK(py[0] == 1.0f);
    CHECK(py[1] == std::numeric_limits<float>::infinity());
    CHECK(std::isnan(py[2]));
    CHECK(py[3] == 1.0f);
    CHECK(py[4] == -8.0f);
    CHECK(py[5] == 2.0f);
    CHECK(py[6] == 1.0f);
    CHECK(py[7] == 1024.0f);
    CHECK(py[8] == Approx(1.0f / 9.0f));
  }
}

TEST_CASE("binary_f32 may write in place over an operand", "[kernels][binary]") {
  for (const KernelTable* t : obol::test::tier_tables()) {
    std::vector<float> a(37), b(37), want(37);
    obol::test::fill_random(a, -3, 3, 11);
    obol::test::fill_random(b, -3, 3, 12);
    reference::binary_f32(BinaryOp::sub, a.data(), 1, b.data(), 1, want.data(), 37);
    t->binary_f32(BinaryOp::sub, a.data(), 1, b.data(), 1, a.data(), 37);
    for (size_t i = 0; i < a.size(); ++i) REQUIRE(a[i] == want[i]);
  }
}
