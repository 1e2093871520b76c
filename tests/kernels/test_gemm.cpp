// fp32 GEMM of every ISA tier against the plain-loop reference: tile-edge shapes, transposes,
// leading dimensions, alpha/beta, bias + activations, threads, special values, pre-packed B.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "obol/core/parallel.hpp"
#include "obol/kernels/cpu.hpp"
#include "obol/kernels/reference/gemm.hpp"

namespace {

using obol::kernels::Isa;
using obol::kernels::KernelTable;
using obol::kernels::SgemmArgs;
using obol::kernels::UnaryOp;
using obol::kernels::UnaryParams;

// Tile sizes of each tier (src/backends/cpu/isa/gemm__<isa>.cpp): shapes are chosen around them.
struct Tiles {
  int64_t mr, nr, kc, mc;
};
Tiles tiles_of(Isa isa) {
  switch (isa) {
    case Isa::scalar: return {4, 4, 64, 16};
    case Isa::avx2: return {6, 16, 256, 144};
    case Isa::avx512:
    case Isa::avx512vnni:
    case Isa::amx: return {12, 32, 256, 144};
  }
  return {1, 1, 1, 1};
}

// Restores the thread cap when a test ends, even when a REQUIRE fails.
struct ThreadCap {
  explicit ThreadCap(int n) { obol::set_max_threads(n); }
  ~ThreadCap() { obol::set_max_threads(0); }
};

struct Case {
  int64_t M = 1, N = 1, K = 1;
  bool trans_a = false, trans_b = false;
  int64_t pad_a = 0, pad_b = 0, pad_c = 0;  // leading dimension minus width
  float alpha = 1.0f, beta = 0.0f;
  bool bias = false;
  UnaryOp act = UnaryOp::identity;
  UnaryParams act_params{};
  bool packed = false;
  int threads = 1;

  std::string describe(Isa isa) const {
    std::ostringstream s;
    s << obol::kernels::isa_name(isa) << " M=" << M << " N=" << N << " K=" << K << " ta=" << trans_a
      << " tb=" << trans_b << " pads=" << pad_a << "/" << pad_b << "/" << pad_c << " alpha=" << alpha
      << " beta=" << beta << " bias=" << bias << " act=" << obol::kernels::unary_op_name(act)
      << " packed=" << packed << " threads=" << threads;
    return s.str();
  }
};

// Operands of one case, with room for padding columns (filled with a sentinel that must not leak).
struct Operands {
  int64_t lda, ldb, ldc;
  std::vector<float> a, b, c, bias;
};

Operands make_operands(const Case& t, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Operands o;
  const int64_t a_rows = t.trans_a ? t.K : t.M, a_cols = t.trans_a ? t.M : t.K;
  const int64_t b_rows = t.trans_b ? t.N : t.K, b_cols = t.trans_b ? t.K : t.N;
  o.lda = a_cols + t.pad_a;
  o.ldb = b_cols + t.pad_b;
  o.ldc = t.N + t.pad_c;
  const float sentinel = 1.0e30f;  // would swamp any result it leaked into
  o.a.assign(static_cast<size_t>(a_rows * o.lda + 1), sentinel);
  o.b.assign(static_cast<size_t>(b_rows * o.ldb + 1), sentinel);
  o.c.assign(static_cast<size_t>(t.M * o.ldc + 1), sentinel);
  for (int64_t i = 0; i < a_rows; ++i)
    for (int64_t j = 0; j < a_cols; ++j) o.a[i * o.lda + j] = u(rng);
  for (int64_t i = 0; i < b_rows; ++i)
    for (int64_t j = 0; j < b_cols; ++j) o.b[i * o.ldb + j] = u(rng);
  for (int64_t i = 0; i < t.M; ++i)
    for (int64_t j = 0; j < t.N; ++j) o.c[i * o.ldc + j] = u(rng);
  o.bias.resize(static_cast<size_t>(t.N) + 1);
  for (auto& x : o.bias) x = u(rng);
  return o;
}

SgemmArgs args_for(const Case& t, Operands& o, float* c) {
  SgemmArgs g;
  g.M = t.M;
  g.N = t.N;
  g.K = t.K;
  g.A = o.a.data();
  g.lda = o.lda;
  g.trans_a = t.trans_a;
  g.B = o.b.data();
  g.ldb = o.ldb;
  g.trans_b = t.trans_b;
  g.C = c;
  g.ldc = o.ldc;
  g.alpha = t.alpha;
  g.beta = t.beta;
  g.bias = t.bias ? o.bias.data() : nullptr;
  g.act = t.act;
  g.act_params = t.act_params;
  return g;
}

// The 64-byte aligned buffer sgemm_pack_b requires.
struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};
std::unique_ptr<float, FreeDeleter> packed_buffer(const KernelTable& k, int64_t K, int64_t N) {
  const size_t bytes = k.sgemm_packed_b_bytes(K, N);
  return std::unique_ptr<float, FreeDeleter>(static_cast<float*>(std::aligned_alloc(64, (bytes + 64) / 64 * 64)));
}

// Runs the tier's kernel (direct or pre-packed) on a copy of C.
std::vector<float> run_tier(const KernelTable& k, const Case& t, Operands& o) {
  std::vector<float> c = o.c;
  SgemmArgs g = args_for(t, o, c.data());
  ThreadCap cap(t.threads);
  if (t.packed) {
    auto packed = packed_buffer(k, t.K, t.N);
    REQUIRE(packed);
    k.sgemm_pack_b(t.K, t.N, o.b.data(), o.ldb, t.trans_b, packed.get());
    g.B = nullptr;  // sgemm_packed must not look at B
    k.sgemm_packed(g, packed.get());
  } else {
    k.sgemm(g);
  }
  return c;
}

float act_of(const Case& t, float x) { return obol::kernels::reference::unary_one(t.act, t.act_params, x); }

// Checks the tier against the reference. The error bound of a length-K fp32 dot product computed in
// any order is about K * eps * sum|a||b|; both sides carry it, so the allowed difference is twice that
// (plus the beta * C and bias terms). An activation widens it by its slope over that interval, and by
// a small relative slack for the tier's own approximation of the function.
void check_case(const KernelTable& k, const Case& t, uint32_t seed = 1) {
  INFO(t.describe(k.isa));
  Operands o = make_operands(t, seed);
  const std::vector<float> got = run_tier(k, t, o);

  Case pre = t;
  pre.act = UnaryOp::identity;
  std::vector<float> want = o.c;
  SgemmArgs g = args_for(pre, o, want.data());
  obol::kernels::reference::sgemm(g);

  const float eps = std::numeric_limits<float>::epsilon();
  int64_t bad = 0;
  std::string first_bad;
  for (int64_t i = 0; i < t.M; ++i) {
    for (int64_t j = 0; j < t.N; ++j) {
      double mag = 0.0;
      for (int64_t kk = 0; kk < t.K; ++kk) {
        const float a = t.trans_a ? o.a[kk * o.lda + i] : o.a[i * o.lda + kk];
        const float b = t.trans_b ? o.b[j * o.ldb + kk] : o.b[kk * o.ldb + j];
        mag += std::fabs(static_cast<double>(a) * b);
      }
      const double bound = std::fabs(t.alpha) * mag + std::fabs(t.beta * o.c[i * o.ldc + j]) +
                           (t.bias ? std::fabs(o.bias[j]) : 0.0);
      const double e = 2.0 * (static_cast<double>(t.K) + 3.0) * eps * bound + 1e-30;
      const float x = want[i * o.ldc + j];
      const float expect = act_of(t, x);
      double tol = e;
      if (t.act != UnaryOp::identity) {
        tol = std::fabs(act_of(t, static_cast<float>(x + e)) - expect) +
              std::fabs(act_of(t, static_cast<float>(x - e)) - expect) + 1e-4 * std::fabs(expect) + 1e-5;
      }
      const float v = got[i * o.ldc + j];
      const bool ok = std::isnan(expect) ? std::isnan(v) : (v == expect || std::fabs(v - expect) <= tol);
      if (!ok && bad++ == 0) {
        std::ostringstream s;
        s << "C[" << i << "," << j << "] = " << v << ", expected " << expect << " +- " << tol;
        first_bad = s.str();
      }
    }
    // Padding between rows of C must be untouched.
    for (int64_t j = t.N; j < o.ldc; ++j)
      if (got[i * o.ldc + j] != o.c[i * o.ldc + j] && bad++ == 0) first_bad = "C padding was written";
  }
  INFO(first_bad);
  REQUIRE(bad == 0);
}

std::vector<const KernelTable*> tiers() {
  std::vector<const KernelTable*> v;
  for (Isa isa : obol::kernels::available_isas()) {
    const KernelTable* k = obol::kernels::cpu_kernels_for(isa);
    if (k && k->sgemm) v.push_back(k);
  }
  return v;
}

}  // namespace

TEST_CASE("sgemm: every tier has the GEMM entries", "[gemm]") {
  for (const KernelTable* k : tiers()) {
    INFO(obol::kernels::isa_name(k->isa));
    CHECK(k->sgemm_packed_b_bytes != nullptr);
    CHECK(k->sgemm_pack_b != nullptr);
    CHECK(k->sgemm_packed != nullptr);
  }
  CHECK(tiers().size() == obol::kernels::available_isas().size());
}

TEST_CASE("sgemm: tile-edge shapes, direct and pre-packed", "[gemm]") {
  for (const KernelTable* k : tiers()) {
    const Tiles tl = tiles_of(k->isa);
    const int64_t ms[] = {1, tl.mr - 1, tl.mr, tl.mr + 1, 2 * tl.mr + 1, 13};
    const int64_t ns[] = {1, tl.nr - 1, tl.nr, tl.nr + 1, 2 * tl.nr + 3, 37};
    const int64_t ks[] = {1, 7, tl.kc - 1, tl.kc, tl.kc + 1, 2 * tl.kc + 3};
    for (int64_t m : ms)
      for (int64_t n : ns)
        for (int64_t kk : ks)
          for (bool packed : {false, true}) {
            if (m < 1 || n < 1) continue;
            Case t;
            t.M = m;
            t.N = n;
            t.K = kk;
            t.packed = packed;
            check_case(*k, t);
          }
  }
}

TEST_CASE("sgemm: blocks larger than the cache blocks, 1 and 2 threads", "[gemm]") {
  for (const KernelTable* k : tiers()) {
    const Tiles tl = tiles_of(k->isa);
    for (int threads : {1, 2})
      for (bool packed : {false, true}) {
        Case t;
        t.M = tl.mc + 1;
        t.N = 1031;  // prime, past the per-call B block (NC)
        t.K = tl.kc + 5;
        t.packed = packed;
        t.threads = threads;
        t.beta = 0.5f;
        t.bias = true;
        check_case(*k, t);
        t.M = 97;
        t.N = 61;
        t.K = 2 * tl.kc + 1;
        check_case(*k, t);
      }
  }
}

TEST_CASE("sgemm: transposed operands, leading dimensions, alpha and beta", "[gemm]") {
  const float alphas[] = {1.0f, -0.5f};
  const float betas[] = {0.0f, 1.0f, 0.75f};
  for (const KernelTable* k : tiers()) {
    const Tiles tl = tiles_of(k->isa);
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (int64_t pad : {0, 3})
          for (float alpha : alphas)
            for (float beta : betas)
              for (bool packed : {false, true})
                for (int64_t m : {int64_t{1}, tl.mr + 1, int64_t{29}}) {
                  Case t;
                  t.M = m;
                  t.N = tl.nr * 2 + 5;
                  t.K = tl.kc + 9;
                  t.trans_a = ta;
                  t.trans_b = tb;
                  t.pad_a = pad;
                  t.pad_b = pad + 1;
                  t.pad_c = pad;
                  t.alpha = alpha;
                  t.beta = beta;
                  t.packed = packed;
                  t.threads = m == 29 ? 2 : 1;
                  check_case(*k, t);
                }
  }
}

TEST_CASE("sgemm: bias with every activation", "[gemm]") {
  const UnaryOp acts[] = {UnaryOp::identity,  UnaryOp::relu, UnaryOp::leaky_relu, UnaryOp::gelu_erf,
                          UnaryOp::gelu_tanh, UnaryOp::silu, UnaryOp::sigmoid,    UnaryOp::tanh,
                          UnaryOp::exp,       UnaryOp::log,  UnaryOp::sqrt,       UnaryOp::reciprocal,
                          UnaryOp::abs,       UnaryOp::neg,  UnaryOp::clip};
  for (const KernelTable* k : tiers()) {
    const Tiles tl = tiles_of(k->isa);
    for (UnaryOp act : acts)
      for (bool packed : {false, true})
        for (int64_t m : {int64_t{1}, 2 * tl.mr + 1}) {
          Case t;
          t.M = m;
          t.N = tl.nr + 3;
          t.K = tl.kc + 2;  // two K blocks: the activation must run once, after the last
          t.bias = true;
          t.beta = 0.25f;
          t.act = act;
          t.act_params = act == UnaryOp::clip ? UnaryParams{-0.5f, 0.5f} : UnaryParams{0.1f, 0.0f};
          t.packed = packed;
          check_case(*k, t);
        }
  }
}

TEST_CASE("sgemm: GEMV (M = 1) paths", "[gemm]") {
  for (const KernelTable* k : tiers())
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (bool packed : {false, true})
          for (int threads : {1, 2})
            for (int64_t n : {int64_t{1}, int64_t{3}, int64_t{67}, int64_t{1000}})
              for (int64_t kk : {int64_t{1}, int64_t{5}, int64_t{515}}) {
                Case t;
                t.M = 1;
                t.N = n;
                t.K = kk;
                t.trans_a = ta;
                t.trans_b = tb;
                t.pad_a = ta ? 2 : 0;
                t.packed = packed;
                t.threads = threads;
                t.beta = 0.5f;
                t.bias = true;
                check_case(*k, t);
              }
}

TEST_CASE("sgemm: empty shapes", "[gemm]") {
  for (const KernelTable* k : tiers()) {
    for (bool packed : {false, true}) {
      // M or N zero: nothing is written (C keeps its sentinel values).
      for (auto [m, n] : {std::pair<int64_t, int64_t>{0, 5}, {5, 0}, {0, 0}}) {
        Case t;
        t.M = m;
        t.N = n;
        t.K = 4;
        t.packed = packed;
        t.bias = true;
        check_case(*k, t);
      }
      // K zero: C = act(beta * C + bias), and beta == 0 ignores C.
      for (float beta : {0.0f, 2.0f})
        for (int64_t m : {int64_t{1}, int64_t{7}}) {
          Case t;
          t.M = m;
          t.N = 9;
          t.K = 0;
          t.beta = beta;
          t.bias = true;
          t.act = UnaryOp::relu;
          t.packed = packed;
          check_case(*k, t);
        }
    }
  }
}

TEST_CASE("sgemm: inf and NaN in A propagate, beta = 0 never reads C", "[gemm]") {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const KernelTable* k : tiers()) {
    const Tiles tl = tiles_of(k->isa);
    for (bool packed : {false, true})
      for (int64_t m : {int64_t{1}, tl.mr + 2}) {
        INFO(obol::kernels::isa_name(k->isa) << " packed=" << packed << " M=" << m);
        const int64_t n = tl.nr + 1, kk = 33;
        std::vector<float> a(static_cast<size_t>(m * kk)), b(static_cast<size_t>(kk * n)),
            c(static_cast<size_t>(m * n), nan);
        for (size_t i = 0; i < a.size(); ++i) a[i] = 0.01f * static_cast<float>(i % 17) - 0.07f;
        for (size_t i = 0; i < b.size(); ++i) b[i] = 0.02f * static_cast<float>(i % 13) + 0.01f;  // all > 0
        a[3] = inf;  // row 0: +inf in every column (B is positive)
        if (m > 1) a[static_cast<size_t>((m - 1) * kk + 5)] = nan;  // last row: NaN in every column
        SgemmArgs g;
        g.M = m;
        g.N = n;
        g.K = kk;
        g.A = a.data();
        g.lda = kk;
        g.B = b.data();
        g.ldb = n;
        g.C = c.data();
        g.ldc = n;
        g.beta = 0.0f;
        if (packed) {
          auto packed_b = packed_buffer(*k, kk, n);
          REQUIRE(packed_b);
          k->sgemm_pack_b(kk, n, b.data(), n, false, packed_b.get());
          k->sgemm_packed(g, packed_b.get());
        } else {
          k->sgemm(g);
        }
        for (int64_t j = 0; j < n; ++j) {
          CHECK(c[static_cast<size_t>(j)] == inf);
          if (m > 1) CHECK(std::isnan(c[static_cast<size_t>((m - 1) * n + j)]));
          for (int64_t i = 1; i + 1 < m; ++i) CHECK(std::isfinite(c[static_cast<size_t>(i * n + j)]));
        }
      }
  }
}
