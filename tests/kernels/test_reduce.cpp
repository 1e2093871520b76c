// reduce_f32 of every tier against reference::reduce_f32 over [outer, n, inner] views.
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/test_util.hpp"
#include "obol/kernels/reference/reduce.hpp"

using namespace obol::kernels;

namespace {

const ReduceOp kOps[] = {ReduceOp::sum, ReduceOp::mean, ReduceOp::max,
                         ReduceOp::min, ReduceOp::prod, ReduceOp::sum_square};

// Any summation order is within (n + 1) u sum|terms| of the exact sum (u = 2^-24); the reference
// rounds once from double. Products likewise within (n + 1) u |prod|. max and min are exact.
float tolerance(ReduceOp op, const float* x, int64_t n, int64_t stride, float want) {
  const double u = 1.0 / (1 << 24);
  double mag = 0;
  for (int64_t j = 0; j < n; ++j) {
    const double v = x[j * stride];
    mag += op == ReduceOp::sum_square ? v * v : std::fabs(v);
  }
  switch (op) {
    case ReduceOp::sum:
    case ReduceOp::sum_square: return static_cast<float>((n + 1) * u * mag + 1e-30);
    case ReduceOp::mean: return static_cast<float>((n + 1) * u * mag / (n > 0 ? n : 1) + 1e-30);
    case ReduceOp::prod: return static_cast<float>((n + 1) * u * std::fabs(want) + 1e-30);
    default: return 0.0f;
  }
}

}  // namespace

TEST_CASE("reduce_f32 matches the reference on every tier and [outer, n, inner] shape", "[kernels][reduce]") {
  const ReduceOp op = GENERATE(from_range(std::begin(kOps), std::end(kOps)));
  const int64_t outer = GENERATE(1, 3);
  const int64_t inner = GENERATE(1, 2, 7, 8, 9, 16, 17, 33, 35, 67);
  const float lo = op == ReduceOp::prod ? 0.9f : -2.0f, hi = op == ReduceOp::prod ? 1.1f : 2.0f;
  for (const KernelTable* t : obol::test::tier_tables()) {
    for (int64_t n : obol::test::edge_lengths()) {
      if (n * inner > 20000) continue;
      std::vector<float> x(static_cast<size_t>(outer * n * inner + 1));
      obol::test::fill_random(x, lo, hi, static_cast<uint32_t>(n * 31 + inner));
      std::vector<float> want(static_cast<size_t>(outer * inner)), got(want.size(), 555.0f);
      reference::reduce_f32(op, x.data(), outer, n, inner, want.data());
      t->reduce_f32(op, x.data(), outer, n, inner, got.data());
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i = 0; i < inner; ++i) {
          const size_t k = static_cast<size_t>(o * inner + i);
          const float tol = tolerance(op, x.data() + o * n * inner + i, n, inner, want[k]);
          INFO(obol::test::tier_name(*t) << " " << reduce_op_name(op) << " outer=" << outer << " n=" << n
                                          << " inner=" << inner << " o=" << o << " i=" << i << " got=" << got[k]
                                          << " want=" << want[k] << " tol=" << tol);
          REQUIRE(obol::test::close(got[k], want[k], 0, tol));
        }
      }
    }
  }
}

TEST_CASE("reduce_f32 identities, NaN and infinities", "[kernels][reduce]") {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const KernelTable* t : obol::test::tier_tables()) {
    INFO(obol::test::tier_name(*t));
    float y[3] = {5, 5, 5};
    const float* none = nullptr;
    auto reduce0 = [&](ReduceOp op) {
      t->reduce_f32(op, none, 1, 0, 1, y);
      return y[0];
    };
    CHECK(reduce0(ReduceOp::sum) == 0.0f);
    CHECK(reduce0(ReduceOp::prod) == 1.0f);
    CHECK(reduce0(ReduceOp::sum_square) == 0.0f);
    CHECK(reduce0(ReduceOp::max) == -inf);
    CHECK(reduce0(ReduceOp::min) == inf);
    CHECK(std::isnan(reduce0(ReduceOp::mean)));
    // A NaN anywhere (vector body or tail, contiguous or strided) poisons max, min and sum.
    std::vector<float> strided(37);
    for (int64_t pos : {0, 5, 16, 36}) {
      std::vector<float> x(37, 1.0f);
      x[static_cast<size_t>(pos)] = nan;
      for (ReduceOp op : {ReduceOp::max, ReduceOp::min, ReduceOp::sum}) {
        INFO(reduce_op_name(op) << " NaN at " << pos);
        t->reduce_f32(op, x.data(), 1, 37, 1, y);
        CHECK(std::isnan(y[0]));
        t->reduce_f32(op, x.data(), 1, 1, 37, strided.data());  // n == 1, vectorised along inner
        CHECK(std::isnan(strided[static_cast<size_t>(pos)]));
        CHECK(strided[static_cast<size_t>(pos == 0 ? 1 : 0)] == 1.0f);
      }
    }
    std::vector<float> x(19, -inf);
    t->reduce_f32(ReduceOp::max, x.data(), 1, 19, 1, y);
    CHECK(y[0] == -inf);
    x[7] = inf;
    t->reduce_f32(ReduceOp::sum, x.data(), 1, 19, 1, y);
    CHECK(std::isnan(y[0]));  // inf + -inf
    t->reduce_f32(ReduceOp::max, x.data(), 1, 19, 1, y);
    CHECK(y[0] == inf);
  }
}
