// int8 GEMM: every tier exactly against a plain int32 reference (all output kinds), against
// dequantize-then-f32 within tolerance, on tile-edge shapes and extreme values.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <sstream>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "obol/core/parallel.hpp"
#include "obol/kernels/qgemm.hpp"

using obol::kernels::QGemmArgs;
using obol::kernels::QGemmB;
using obol::kernels::QGemmIsa;
using obol::kernels::QGemmOut;
using obol::kernels::QGemmPackedB;

namespace {

struct Problem {
  int64_t M = 0, N = 0, K = 0;
  bool a_signed = false, b_signed = true, trans_b = false, per_col_zp = false;
  std::vector<uint8_t> A, B;  // raw bytes
  int32_t a_zp = 0;
  std::vector<int32_t> b_zp;  // 1 or N
  std::vector<int32_t> bias_s32;
  std::vector<float> b_scale;  // 1 or N
  std::vector<float> bias_f32;
  float a_scale = 0.02f, c_scale = 0.5f;
  int32_t c_zp = 0;
};

int32_t a_val(const Problem& p, int64_t m, int64_t k) {
  const uint8_t v = p.A[static_cast<size_t>(m * p.K + k)];
  return p.a_signed ? static_cast<int8_t>(v) : v;
}
int32_t b_val(const Problem& p, int64_t k, int64_t n) {
  const uint8_t v = p.trans_b ? p.B[static_cast<size_t>(n * p.K + k)] : p.B[static_cast<size_t>(k * p.N + n)];
  return p.b_signed ? static_cast<int8_t>(v) : v;
}
int32_t b_zp_of(const Problem& p, int64_t n) { return p.b_zp[p.b_zp.size() == 1 ? 0 : static_cast<size_t>(n)]; }
float b_scale_of(const Problem& p, int64_t n) {
  return p.b_scale[p.b_scale.size() == 1 ? 0 : static_cast<size_t>(n)];
}

// The int32 reference: plain loops, wrap-around arithmetic.
std::vector<int32_t> reference_s32(const Problem& p, bool with_bias) {
  std::vector<int32_t> C(static_cast<size_t>(p.M * p.N));
  for (int64_t m = 0; m < p.M; ++m)
    for (int64_t n = 0; n < p.N; ++n) {
      uint32_t s = with_bias && !p.bias_s32.empty() ? static_cast<uint32_t>(p.bias_s32[static_cast<size_t>(n)]) : 0u;
      for (int64_t k = 0; k < p.K; ++k)
        s += static_cast<uint32_t>((a_val(p, m, k) - p.a_zp) * (b_val(p, k, n) - b_zp_of(p, n)));
      C[static_cast<size_t>(m * p.N + n)] = static_cast<int32_t>(s);
    }
  return C;
}

Problem make_problem(int64_t M, int64_t N, int64_t K, bool a_signed, bool b_signed, bool trans_b, bool per_col,
                     uint32_t seed) {
  Problem p;
  p.M = M;
  p.N = N;
  p.K = K;
  p.a_signed = a_signed;
  p.b_signed = b_signed;
  p.trans_b = trans_b;
  p.per_col_zp = per_col;
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  p.A.resize(static_cast<size_t>(M * K));
  p.B.resize(static_cast<size_t>(K * N));
  for (auto& v : p.A) v = static_cast<uint8_t>(byte(rng));
  for (auto& v : p.B) v = static_cast<uint8_t>(byte(rng));
  p.a_zp = a_signed ? byte(rng) - 128 : byte(rng);
  p.b_zp.resize(per_col ? static_cast<size_t>(N) : 1);
  for (auto& z : p.b_zp) z = b_signed ? byte(rng) % 9 - 4 : 124 + byte(rng) % 9;
  p.bias_s32.resize(static_cast<size_t>(N));
  for (auto& b : p.bias_s32) b = byte(rng) * 97 - 12000;
  p.b_scale.resize(per_col ? static_cast<size_t>(N) : 1);
  for (auto& s : p.b_scale) s = 0.001f + 0.0001f * static_cast<float>(byte(rng));
  p.bias_f32.resize(static_cast<size_t>(N));
  for (auto& b : p.bias_f32) b = static_cast<float>(byte(rng)) * 0.01f - 1.0f;
  p.c_scale = 0.05f + 0.05f * static_cast<float>(K) * 0.001f;
  p.c_zp = a_signed ? 3 : 120;
  return p;
}

QGemmB b_desc(const Problem& p) {
  QGemmB b;
  b.K = p.K;
  b.N = p.N;
  b.data = p.B.data();
  b.ldb = p.trans_b ? p.K : p.N;
  b.trans_b = p.trans_b;
  b.is_signed = p.b_signed;
  b.zero_point = p.b_zp.data();
  b.zero_point_count = static_cast<int64_t>(p.b_zp.size());
  return b;
}

QGemmArgs args_of(const Problem& p, QGemmOut out, void* C) {
  QGemmArgs g;
  g.M = p.M;
  g.A = p.A.data();
  g.lda = p.K;
  g.a_signed = p.a_signed;
  g.a_zero_point = p.a_zp;
  g.C = C;
  g.ldc = p.N;
  g.out = out;
  g.a_scale = p.a_scale;
  g.b_scale = p.b_scale.data();
  g.b_scale_count = static_cast<int64_t>(p.b_scale.size());
  g.c_scale = p.c_scale;
  g.c_zero_point = p.c_zp;
  return g;
}

std::string describe(QGemmIsa isa, const Problem& p) {
  std::ostringstream s;
  s << obol::kernels::qgemm_isa_name(isa) << " M=" << p.M << " N=" << p.N << " K=" << p.K
    << (p.a_signed ? " s8" : " u8") << "x" << (p.b_signed ? "s8" : "u8") << (p.trans_b ? " transB" : "")
    << (p.per_col_zp ? " per-column" : " per-tensor");
  return s.str();
}

// Runs every output kind on one tier and checks each against the reference formulas exactly.
void check_all_outputs(QGemmIsa isa, const Problem& p) {
  INFO(describe(isa, p));
  auto packed = obol::kernels::qgemm_pack_b(b_desc(p), isa);
  REQUIRE(packed.is_ok());
  const std::vector<int32_t> ref = reference_s32(p, false);
  const std::vector<int32_t> ref_bias = reference_s32(p, true);
  const size_t MN = static_cast<size_t>(p.M * p.N);

  std::vector<int32_t> c32(MN, 0x5a5a5a5a);
  QGemmArgs g = args_of(p, QGemmOut::s32, c32.data());
  REQUIRE(obol::kernels::qgemm(g, *packed).is_ok());
  CHECK(c32 == ref);
  g.bias_s32 = p.bias_s32.data();
  REQUIRE(obol::kernels::qgemm(g, *packed).is_ok());
  CHECK(c32 == ref_bias);

  std::vector<float> cf(MN);
  g = args_of(p, QGemmOut::f32, cf.data());
  g.bias_f32 = p.bias_f32.data();
  REQUIRE(obol::kernels::qgemm(g, *packed).is_ok());
  size_t bad = 0;
  for (int64_t m = 0; m < p.M; ++m)
    for (int64_t n = 0; n < p.N; ++n) {
      const size_t i = static_cast<size_t>(m * p.N + n);
      float want = static_cast<float>(ref[i]) * (p.a_scale * b_scale_of(p, n));
      want = want + p.bias_f32[static_cast<size_t>(n)];
      if (cf[i] != want) ++bad;
    }
  CHECK(bad == 0);

  for (QGemmOut out : {QGemmOut::u8, QGemmOut::s8}) {
    std::vector<uint8_t> cq(MN);
    g = args_of(p, out, cq.data());
    if (out == QGemmOut::s8) g.c_zero_point = -5;
    g.bias_s32 = p.bias_s32.data();
    REQUIRE(obol::kernels::qgemm(g, *packed).is_ok());
    const int lo = out == QGemmOut::u8 ? 0 : -128, hi = out == QGemmOut::u8 ? 255 : 127;
    bad = 0;
    for (int64_t m = 0; m < p.M; ++m)
      for (int64_t n = 0; n < p.N; ++n) {
        const size_t i = static_cast<size_t>(m * p.N + n);
        const float mult = p.a_scale * b_scale_of(p, n) / p.c_scale;
        const float r = std::nearbyint(static_cast<float>(ref_bias[i]) * mult);
        const int q = static_cast<int>(std::max(static_cast<float>(lo - g.c_zero_point),
                                                std::min(static_cast<float>(hi - g.c_zero_point), r))) +
                      g.c_zero_point;
        const int got = out == QGemmOut::u8 ? cq[i] : static_cast<int8_t>(cq[i]);
        if (got != q) ++bad;
      }
    CHECK(bad == 0);
  }
}

}  // namespace

TEST_CASE("qgemm tiers are listed and the default is one of them", "[qgemm]") {
  const auto isas = obol::kernels::qgemm_available_isas();
  REQUIRE(!isas.empty());
  CHECK(isas.front() == QGemmIsa::scalar);
  CHECK(std::find(isas.begin(), isas.end(), obol::kernels::qgemm_default_isa()) != isas.end());
  for (int i = 0; i < obol::kernels::kQGemmIsaCount; ++i) {
    const auto isa = static_cast<QGemmIsa>(i);
    const bool listed = std::find(isas.begin(), isas.end(), isa) != isas.end();
    CHECK(listed == obol::kernels::qgemm_isa_supported(isa));
    if (!listed) {
      QGemmB b;
      CHECK(obol::kernels::qgemm_pack_b(b, isa).status().code() == obol::StatusCode::unavailable);
    }
  }
}

TEST_CASE("qgemm matches the int32 reference on tile-edge shapes", "[qgemm]") {
  const int64_t M = GENERATE(1, 2, 5, 6, 7, 8, 9, 16, 17, 31, 33, 70);
  const int64_t N = GENERATE(1, 15, 16, 17, 32, 33, 48);
  const int64_t K = GENERATE(1, 2, 3, 4, 5, 63, 64, 65, 130);
  uint32_t seed = static_cast<uint32_t>(M * 1000003 + N * 1009 + K);
  const bool a_signed = seed % 2 == 0, b_signed = (seed / 2) % 3 != 0, trans_b = (seed / 7) % 2 == 0,
             per_col = (seed / 5) % 2 == 0;
  const Problem p = make_problem(M, N, K, a_signed, b_signed, trans_b, per_col, seed);
  for (QGemmIsa isa : obol::kernels::qgemm_available_isas()) check_all_outputs(isa, p);
}

TEST_CASE("qgemm covers every A and B signedness, layout and zero-point kind", "[qgemm]") {
  const bool a_signed = GENERATE(false, true);
  const bool b_signed = GENERATE(false, true);
  const bool trans_b = GENERATE(false, true);
  const bool per_col = GENERATE(false, true);
  const Problem p = make_problem(13, 37, 200, a_signed, b_signed, trans_b, per_col, 42);
  for (QGemmIsa isa : obol::kernels::qgemm_available_isas()) check_all_outputs(isa, p);
}

TEST_CASE("qgemm does not saturate on extreme values", "[qgemm]") {
  // 255 x 127 and 255 x -128 in every k: pairs of such products overflow int16 (vpmaddubsw).
  for (QGemmIsa isa : obol::kernels::qgemm_available_isas()) {
    for (int bval : {127, -128}) {
      for (int32_t a_zp : {0, 255}) {
        const int64_t M = 7, N = 19, K = 1001;
        Problem p = make_problem(M, N, K, false, true, false, false, 1);
        std::fill(p.A.begin(), p.A.end(), static_cast<uint8_t>(255));
        for (int64_t k = 0; k < K; ++k) p.A[static_cast<size_t>(k)] = 0;  // row 0: zeros
        std::fill(p.B.begin(), p.B.end(), static_cast<uint8_t>(static_cast<int8_t>(bval)));
        p.a_zp = a_zp;
        p.b_zp = {bval == 127 ? -128 : 127};
        INFO(describe(isa, p) << " b=" << bval << " a_zp=" << a_zp);
        check_all_outputs(isa, p);
        auto packed = obol::kernels::qgemm_pack_b(b_desc(p), isa);
        REQUIRE(packed.is_ok());
        std::vector<int32_t> c(static_cast<size_t>(M * N));
        REQUIRE(obol::kernels::qgemm(args_of(p, QGemmOut::s32, c.data()), *packed).is_ok());
        const int64_t per_k = (255 - a_zp) * (bval - p.b_zp[0]);
        CHECK(c[static_cast<size_t>(N + 3)] == static_cast<int32_t>(per_k * K));
        CHECK(c[3] == static_cast<int32_t>((0 - a_zp) * (bval - p.b_zp[0]) * K));
      }
    }
    // int8 A at -128 against int8 B at -128 (the most negative products), no zero points.
    Problem p = make_problem(3, 17, 777, true, true, true, false, 2);
    std::fill(p.A.begin(), p.A.end(), static_cast<uint8_t>(0x80));
    std::fill(p.B.begin(), p.B.end(), static_cast<uint8_t>(0x80));
    p.a_zp = 0;
    p.b_zp = {0};
    check_all_outputs(isa, p);
  }
}

namespace {

// B's stored int8 value at (k, n) set to v (uint8 B: v + 128).
void set_b(Problem& p, int64_t k, int64_t n, int v) {
  const size_t i = p.trans_b ? static_cast<size_t>(n * p.K + k) : static_cast<size_t>(k * p.N + n);
  p.B[i] = static_cast<uint8_t>(p.b_signed ? v : v + 128);
}

// Random 7-bit weights: stored int8 values in [-64, 63].
void make_7bit(Problem& p, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> w(-64, 63);
  for (int64_t k = 0; k < p.K; ++k)
    for (int64_t n = 0; n < p.N; ++n) set_b(p, k, n, w(rng));
}

bool has_avx2() {
  const auto isas = obol::kernels::qgemm_available_isas();
  return std::find(isas.begin(), isas.end(), QGemmIsa::avx2) != isas.end();
}

// Packs for avx2 and checks which kernel was chosen, then every output kind exactly.
void check_avx2_kernel(const Problem& p, bool want_maddubs) {
  INFO(describe(QGemmIsa::avx2, p));
  auto packed = obol::kernels::qgemm_pack_b(b_desc(p), QGemmIsa::avx2);
  REQUIRE(packed.is_ok());
  CHECK(packed->uses_maddubs() == want_maddubs);
  check_all_outputs(QGemmIsa::avx2, p);
}

}  // namespace

TEST_CASE("qgemm uses vpmaddubsw only on avx2", "[qgemm]") {
  Problem p = make_problem(5, 17, 33, false, true, false, false, 4);
  make_7bit(p, 4);
  for (QGemmIsa isa : obol::kernels::qgemm_available_isas()) {
    INFO(obol::kernels::qgemm_isa_name(isa));
    auto packed = obol::kernels::qgemm_pack_b(b_desc(p), isa);
    REQUIRE(packed.is_ok());
    CHECK(packed->uses_maddubs() == (isa == QGemmIsa::avx2));
  }
}

TEST_CASE("qgemm avx2 vpmaddubsw kernel is exact on tile edges with 7-bit weights", "[qgemm]") {
  if (!has_avx2()) return;
  const int64_t M = GENERATE(1, 5, 6, 7, 12, 13, 70);
  const int64_t N = GENERATE(1, 15, 16, 17, 33);
  const int64_t K = GENERATE(1, 2, 3, 4, 5, 7, 8, 63, 65, 130);
  const uint32_t seed = static_cast<uint32_t>(M * 7919 + N * 131 + K);
  const bool a_signed = seed % 2 == 0, b_signed = (seed / 2) % 3 != 0, trans_b = (seed / 7) % 2 == 0,
             per_col = (seed / 5) % 2 == 0;
  Problem p = make_problem(M, N, K, a_signed, b_signed, trans_b, per_col, seed);
  make_7bit(p, seed);
  check_avx2_kernel(p, true);
}

TEST_CASE("qgemm avx2 vpmaddubsw kernel is exact at the saturation boundary", "[qgemm]") {
  if (!has_avx2()) return;
  // k pairs at the limit (positive or negative parts summing to 128): with A = 255 (after the
  // int8 shift) the vpmaddubsw pair sums reach +-32640, just inside int16.
  const std::vector<std::pair<int, int>> pairs = {{-64, -64}, {63, 63}, {64, 64},  {-64, 63}, {127, 1},
                                                  {1, 127},   {-128, 0}, {0, -128}, {127, -128}, {-128, 127},
                                                  {-100, -28}, {28, 100}};
  for (bool a_signed : {false, true})
    for (bool b_signed : {true, false})
      for (int32_t a_zp : {0, 255}) {
        const int64_t M = 13, N = 33, K = 258;
        Problem p = make_problem(M, N, K, a_signed, b_signed, (a_zp + b_signed) % 2 == 0, true, 11);
        p.a_zp = a_signed ? a_zp - 128 : a_zp;
        std::fill(p.A.begin(), p.A.end(), static_cast<uint8_t>(a_signed ? 0x7f : 0xff));  // uint8 255 after the shift
        for (int64_t k = 0; k < p.K; ++k) p.A[static_cast<size_t>(2 * p.K + k)] = a_signed ? 0x80 : 0;  // row 2: 0
        for (int64_t n = 0; n < N; ++n)
          for (int64_t k = 0; k < K; k += 2) {
            const auto& w = pairs[static_cast<size_t>((n + k / 2) % static_cast<int64_t>(pairs.size()))];
            set_b(p, k, n, w.first);
            set_b(p, k + 1, n, w.second);
          }
        INFO("a_zp " << p.a_zp);
        check_avx2_kernel(p, true);
      }
  // An odd K: the last weight pairs with the zero padding, so -128 there still qualifies.
  Problem p = make_problem(7, 19, 9, false, true, false, false, 12);
  make_7bit(p, 12);
  std::fill(p.A.begin(), p.A.end(), static_cast<uint8_t>(255));
  for (int64_t n = 0; n < p.N; ++n) set_b(p, 8, n, -128);
  check_avx2_kernel(p, true);
}

TEST_CASE("qgemm avx2 falls back to the exact kernel when one weight pair could saturate", "[qgemm]") {
  if (!has_avx2()) return;
  // Pairs just past the limit: positive parts 129, negative parts 129, and a lone 8-bit value
  // next to a 7-bit one.
  const std::vector<std::pair<int, int>> bad = {{65, 64}, {64, 65}, {-65, -64}, {-128, -1}, {127, 2}, {-100, -29}};
  for (const auto& w : bad)
    for (bool trans_b : {false, true}) {
      Problem p = make_problem(14, 35, 130, false, true, trans_b, true, 13);
      make_7bit(p, 13);
      std::fill(p.A.begin(), p.A.end(), static_cast<uint8_t>(255));
      set_b(p, 126, 34, w.first);  // one pair, in the last column and the last full k pair
      set_b(p, 127, 34, w.second);
      INFO("pair " << w.first << ", " << w.second);
      check_avx2_kernel(p, false);
    }
  // The same pair values split over two different pairs qualify.
  Problem p = make_problem(14, 35, 130, false, true, false, true, 13);
  make_7bit(p, 13);
  set_b(p, 125, 34, 65);
  set_b(p, 126, 34, 64);
  set_b(p, 124, 34, 0);
  set_b(p, 127, 34, 0);
  check_avx2_kernel(p, true);
  // Full-range random weights (the other tests' B) take the fallback, and so do symmetric 8-bit
  // weights in [-127, 127] (what int8 quantizers write without reduce_range).
  check_avx2_kernel(make_problem(9, 20, 64, false, true, false, false, 14), false);
  Problem sym = make_problem(9, 20, 64, false, true, false, false, 15);
  std::mt19937 rng(15);
  std::uniform_int_distribution<int> w(-127, 127);
  for (int64_t k = 0; k < sym.K; ++k)
    for (int64_t n = 0; n < sym.N; ++n) set_b(sym, k, n, w(rng));
  set_b(sym, 0, 0, 127);  // one pair past the rule, so a small random B cannot pass it by chance
  set_b(sym, 1, 0, 127);
  check_avx2_kernel(sym, false);
}

TEST_CASE("qgemm agrees with dequantize-then-f32", "[qgemm]") {
  const Problem p = make_problem(23, 41, 300, false, true, false, true, 9);
  std::vector<double> ref(static_cast<size_t>(p.M * p.N));
  for (int64_t m = 0; m < p.M; ++m)
    for (int64_t n = 0; n < p.N; ++n) {
      double s = 0;
      for (int64_t k = 0; k < p.K; ++k) {
        const double a = p.a_scale * static_cast<double>(a_val(p, m, k) - p.a_zp);
        const double b = static_cast<double>(b_scale_of(p, n)) * static_cast<double>(b_val(p, k, n) - b_zp_of(p, n));
        s += a * b;
      }
      ref[static_cast<size_t>(m * p.N + n)] = s + p.bias_f32[static_cast<size_t>(n)];
    }
  for (QGemmIsa isa : obol::kernels::qgemm_available_isas()) {
    INFO(obol::kernels::qgemm_isa_name(isa));
    auto packed = obol::kernels::qgemm_pack_b(b_desc(p), isa);
    REQUIRE(packed.is_ok());
    std::vector<float> c(ref.size());
    QGemmArgs g = args_of(p, QGemmOut::f32, c.data());
    g.bias_f32 = p.bias_f32.data();
    REQUIRE(obol::kernels::qgemm(g, *packed).is_ok());
    for (size_t i = 0; i < c.size(); ++i) CHECK(std::fabs(c[i] - ref[i]) <= 1e-5 * (1.0 + std::fabs(ref[i])));
  }
}

TEST_CASE("qgemm gives the same bits with one thread and with all", "[qgemm]") {
  const Problem p = make_problem(300, 200, 96, true, true, false, true, 3);
  const std::vector<int32_t> ref = reference_s32(p, false);
  for (QGemmIsa isa : obol::kernels::qgemm_available_isas()) {
    auto packed = obol::kernels::qgemm_pack_b(b_desc(p), isa);
    REQUIRE(packed.is_ok());
    for (int threads : {1, 0}) {
      INFO(obol::kernels::qgemm_isa_name(isa) << " threads " << threads);
      obol::set_max_threads(threads);
      std::vector<int32_t> c(ref.size());
      const auto st = obol::kernels::qgemm(args_of(p, QGemmOut::s32, c.data()), *packed);
      obol::set_max_threads(0);
      REQUIRE(st.is_ok());
      CHECK(c == ref);
    }
  }
}

TEST_CASE("qgemm with strided A and C and the unpacked entry point", "[qgemm]") {
  const Problem p = make_problem(9, 21, 40, false, false, false, false, 77);
  const std::vector<int32_t> ref = reference_s32(p, false);
  const int64_t lda = 50, ldc = 30;
  std::vector<uint8_t> A(static_cast<size_t>(p.M * lda), 0xEE);
  for (int64_t m = 0; m < p.M; ++m)
    std::memcpy(&A[static_cast<size_t>(m * lda)], &p.A[static_cast<size_t>(m * p.K)], static_cast<size_t>(p.K));
  std::vector<int32_t> C(static_cast<size_t>(p.M * ldc), -7);
  QGemmArgs g = args_of(p, QGemmOut::s32, C.data());
  g.A = A.data();
  g.lda = lda;
  g.ldc = ldc;
  REQUIRE(obol::kernels::qgemm(g, b_desc(p)).is_ok());
  for (int64_t m = 0; m < p.M; ++m)
    for (int64_t n = 0; n < ldc; ++n) {
      if (n < p.N)
        CHECK(C[static_cast<size_t>(m * ldc + n)] == ref[static_cast<size_t>(m * p.N + n)]);
      else
        CHECK(C[static_cast<size_t>(m * ldc + n)] == -7);
    }
}

TEST_CASE("qgemm rejects bad arguments", "[qgemm]") {
  const Problem p = make_problem(4, 5, 6, false, true, false, false, 1);
  auto packed = obol::kernels::qgemm_pack_b(b_desc(p), QGemmIsa::scalar);
  REQUIRE(packed.is_ok());
  std::vector<int32_t> c(20);
  QGemmArgs g = args_of(p, QGemmOut::s32, c.data());
  g.lda = 5;
  CHECK(obol::kernels::qgemm(g, *packed).code() == obol::StatusCode::invalid_argument);
  g = args_of(p, QGemmOut::s32, c.data());
  g.a_zero_point = 300;
  CHECK(obol::kernels::qgemm(g, *packed).code() == obol::StatusCode::out_of_range);
  g = args_of(p, QGemmOut::u8, c.data());
  g.c_scale = 0.0f;
  CHECK(obol::kernels::qgemm(g, *packed).code() == obol::StatusCode::invalid_argument);
  g = args_of(p, QGemmOut::f32, c.data());
  g.b_scale_count = 3;
  CHECK(obol::kernels::qgemm(g, *packed).code() == obol::StatusCode::invalid_argument);
  QGemmB b = b_desc(p);
  const int32_t bad_zp = 200;
  b.zero_point = &bad_zp;
  b.zero_point_count = 1;
  CHECK(obol::kernels::qgemm_pack_b(b, QGemmIsa::scalar).status().code() == obol::StatusCode::out_of_range);
  b = b_desc(p);
  b.ldb = 2;
  CHECK(obol::kernels::qgemm_pack_b(b, QGemmIsa::scalar).status().code() == obol::StatusCode::invalid_argument);
  QGemmPackedB empty;
  CHECK(obol::kernels::qgemm(args_of(p, QGemmOut::s32, c.data()), empty).is_ok());  // N == 0: nothing to do
}
