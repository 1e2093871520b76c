// unary_f32 of every tier against reference::unary_f32.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "kernels/test_util.hpp"
#include "obol/kernels/reference/unary.hpp"

using namespace obol::kernels;
using obol::test::close;

namespace {

struct UnaryCase {
  UnaryOp op;
  float lo, hi;     // random input range
  int64_t max_ulp;  // tolerance against the reference
  float abs_tol;    // absolute tolerance per unit of max(1, |x|), for cancellation-prone forms
};

const UnaryCase kCases[] = {
    {UnaryOp::identity, -10, 10, 0, 0},     {UnaryOp::relu, -10, 10, 0, 0},
    {UnaryOp::leaky_relu, -10, 10, 0, 0},   {UnaryOp::gelu_erf, -8, 8, 4, 3e-7f},
    {UnaryOp::gelu_tanh, -8, 8, 4, 3e-7f},  {UnaryOp::silu, -95, 95, 4, 0},
    {UnaryOp::sigmoid, -95, 95, 3, 0},      {UnaryOp::tanh, -12, 12, 2, 0},
    {UnaryOp::exp, -105, 90, 2, 0},         {UnaryOp::log, -1, 1e6f, 2, 0},
    {UnaryOp::sqrt, -1, 1e6f, 0, 0},        {UnaryOp::reciprocal, -1e3f, 1e3f, 0, 0},
    {UnaryOp::abs, -10, 10, 0, 0},          {UnaryOp::neg, -10, 10, 0, 0},
    {UnaryOp::clip, -10, 10, 0, 0},
};

UnaryParams params_for(UnaryOp op) {
  if (op == UnaryOp::leaky_relu) return {0.01f, 0.0f};
  if (op == UnaryOp::clip) return {-2.5f, 3.0f};
  return {};
}

}  // namespace

TEST_CASE("unary_f32 matches the reference on every tier, tile edges and special values", "[kernels][unary]") {
  const UnaryCase c = GENERATE(from_range(std::begin(kCases), std::end(kCases)));
  const UnaryParams p = params_for(c.op);
  for (const KernelTable* t : obol::test::tier_tables()) {
    for (int64_t n : obol::test::edge_lengths()) {
      std::vector<float> x(static_cast<size_t>(n)), want(x.size()), got(x.size(), 12345.0f);
      obol::test::fill_random(x, c.lo, c.hi, static_cast<uint32_t>(n) + 1, true);
      reference::unary_f32(c.op, p, x.data(), want.data(), n);
      t->unary_f32(c.op, p, x.data(), got.data(), n);
      for (size_t i = 0; i < x.size(); ++i) {
        const float tol = c.abs_tol * std::max(1.0f, std::fabs(x[i]));
        INFO(obol::test::tier_name(*t) << " " << unary_op_name(c.op) << " n=" << n << " i=" << i << " x=" << x[i]
                                        << " got=" << got[i] << " want=" << want[i]);
        REQUIRE(close(got[i], want[i], c.max_ulp, tol));
      }
      // In place (x and y alias exactly) gives the same result.
      std::vector<float> inplace = x;
      t->unary_f32(c.op, p, inplace.data(), inplace.data(), n);
      for (size_t i = 0; i < x.size(); ++i) {
        INFO(obol::test::tier_name(*t) << " in place " << unary_op_name(c.op) << " n=" << n << " i=" << i);
        REQUIRE(obol::test::ulp_distance(inplace[i], got[i]) == 0);
      }
    }
  }
}

TEST_CASE("unary_f32 keeps the documented special-value semantics", "[kernels][unary]") {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const KernelTable* t : obol::test::tier_tables()) {
    INFO(obol::test::tier_name(*t));
    auto one = [&](UnaryOp op, float x, UnaryParams p = {}) {
      float y = 0;
      t->unary_f32(op, p, &x, &y, 1);
      return y;
    };
    CHECK(std::isnan(one(UnaryOp::relu, nan)));
    CHECK(one(UnaryOp::relu, -0.0f) == 0.0f);
    CHECK_FALSE(std::signbit(one(UnaryOp::relu, -0.0f)));
    CHECK(one(UnaryOp::relu, -inf) == 0.0f);
    CHECK(std::isnan(one(UnaryOp::clip, nan, {-1, 1})));
    CHECK(one(UnaryOp::clip, inf, {-1, 1}) == 1.0f);
    CHECK(one(UnaryOp::exp, 89.0f) == inf);
    CHECK(one(UnaryOp::exp, -inf) == 0.0f);
    CHECK(one(UnaryOp::exp, -90.0f) > 0.0f);  // gradual underflow, not flushed to zero
    CHECK(std::isnan(one(UnaryOp::exp, nan)));
    CHECK(one(UnaryOp::log, 0.0f) == -inf);
    CHECK(std::isnan(one(UnaryOp::log, -1.0f)));
    CHECK(one(UnaryOp::sigmoid, 200.0f) == 1.0f);
    CHECK(one(UnaryOp::sigmoid, -200.0f) == 0.0f);
    CHECK(one(UnaryOp::tanh, inf) == 1.0f);
    CHECK(std::signbit(one(UnaryOp::neg, 0.0f)));
    CHECK(one(UnaryOp::reciprocal, -0.0f) == -inf);
  }
}

// Prints the largest ulp error of each function over a dense sweep (hidden: run with "[accuracy]").
TEST_CASE("unary_f32 accuracy report", "[.][accuracy]") {
  for (const KernelTable* t : obol::test::tier_tables()) {
    for (const UnaryCase& c : kCases) {
      const int64_t n = 1 << 20;
      std::vector<float> x(static_cast<size_t>(n)), want(x.size()), got(x.size());
      obol::test::fill_random(x, c.lo, c.hi, 7);
      reference::unary_f32(c.op, params_for(c.op), x.data(), want.data(), n);
      t->unary_f32(c.op, params_for(c.op), x.data(), got.data(), n);
      int64_t worst = 0;
      for (size_t i = 0; i < x.size(); ++i)
        if (std::fabs(want[i]) > 1e-6f) worst = std::max(worst, obol::test::ulp_distance(got[i], want[i]));
      std::printf("%-7s %-11s max %lld ulp (|y| > 1e-6, x in [%g, %g])\n", obol::test::tier_name(*t).c_str(),
                  unary_op_name(c.op), static_cast<long long>(worst), c.lo, c.hi);
    }
  }
  SUCCEED();
}
