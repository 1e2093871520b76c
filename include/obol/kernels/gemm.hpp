// obol/kernels/gemm.hpp — the fp32 GEMM kernel body, a template on an xsimd architecture.
//
// Implements the KernelTable GEMM entries (contract: SgemmArgs in obol/kernels/cpu.hpp). Each ISA
// translation unit (src/backends/cpu/isa/gemm__<isa>.cpp) instantiates it with its own tile sizes
// and flags; nothing here may be used from code compiled without those flags.
//
// Structure (the classic Goto/BLIS decomposition):
//   - op(B) is packed into column panels NR wide: within each K block of KC rows, panel p holds
//     kc x NR floats contiguous (zero-padded past N). Pre-packed weights use exactly this layout
//     for all of K, so the driver reads them in place.
//   - op(A) is packed per (MC x KC) block into row panels MR tall (kc x MR floats each) in a
//     per-thread scratch buffer.
//   - The microkernel keeps an MR x NR tile of C in registers (MR x NV vector accumulators),
//     broadcasting one A value and loading NV B vectors per k.
//   - The epilogue runs on the tile while it is cache-hot: alpha, beta (C is not read when beta is
//     0), bias on the last K block, then the activation through the tier's unary kernel.
//   - Threads split the output into a tm x tn grid of MR-row / NR-column aligned blocks.
//   - M == 1 is a GEMV: bandwidth-bound, so it streams B (packed or not) exactly once.
//
// Scratch memory comes from Services::scratch (thread-local, grown once and reused), so a
// steady-state call allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include <xsimd/xsimd.hpp>

#include "obol/kernels/cpu.hpp"
#include "obol/kernels/isa_namespace.hpp"

#ifndef OBOL_GEMV_STREAMS
#define OBOL_GEMV_STREAMS 4
#endif
namespace obol {
inline namespace v1 {
namespace kernels {
OBOL_KERNELS_BEGIN
namespace gemm {

// What the kernel needs from outside its translation unit (all out-of-line functions).
struct Services {
  void (*unary)(UnaryOp op, UnaryParams p, const float* x, float* y, int64_t n);
  int (*max_threads)();
  void (*parallel_run)(int64_t n_tasks, void (*task)(void* ctx, int64_t i), void* ctx);
  float* (*scratch)(int slot, size_t bytes);
};

// Tile and block sizes of one tier. NR = NV vectors of the architecture; MC is a multiple of MR and
// NC of NR.
template <class Arch, int MR_, int NV_, int KC_, int MC_, int NC_>
struct Config {
  using Batch = xsimd::batch<float, Arch>;
  static constexpr int W = static_cast<int>(Batch::size);
  static constexpr int MR = MR_;
  static constexpr int NV = NV_;
  static constexpr int NR = NV_ * W;
  static constexpr int KC = KC_;
  static constexpr int MC = MC_ / MR_ * MR_;
  static constexpr int NC = NC_ / NR * NR;
};

template <class T>
constexpr T min_of(T a, T b) {
  return a < b ? a : b;
}
template <class T>
constexpr T ceil_div(T a, T b) {
  return (a + b - 1) / b;
}

// --- packing ----------------------------------------------------------------------------------

// Packs columns [j0, j0 + n) and rows [k0, k0 + kc) of op(B) into ceil(n / NR) panels of kc x NR.
template <class Cfg>
void pack_b_block(const float* B, int64_t ldb, bool trans_b, int64_t k0, int64_t kc, int64_t j0, int64_t n,
                  float* dst) {
  using V = typename Cfg::Batch;
  constexpr int NR = Cfg::NR, W = Cfg::W;
  for (int64_t jp = 0; jp < n; jp += NR, dst += kc * NR) {
    const int64_t nv = min_of<int64_t>(NR, n - jp);
    if (!trans_b) {
      const float* src = B + k0 * ldb + j0 + jp;
      if (nv == NR) {
        for (int64_t k = 0; k < kc; ++k) {
#pragma GCC unroll 8
          for (int v = 0; v < Cfg::NV; ++v)
            V::load_unaligned(src + k * ldb + v * W).store_aligned(dst + k * NR + v * W);
        }
      } else {
        for (int64_t k = 0; k < kc; ++k) {
          int64_t c = 0;
          for (; c < nv; ++c) dst[k * NR + c] = src[k * ldb + c];
          for (; c < NR; ++c) dst[k * NR + c] = 0.0f;
        }
      }
    } else {
      // op(B)(k, j) = B[j * ldb + k]: walk each source row contiguously.
      const float* src = B + (j0 + jp) * ldb + k0;
      for (int64_t c = 0; c < nv; ++c)
        for (int64_t k = 0; k < kc; ++k) dst[k * NR + c] = src[c * ldb + k];
      for (int64_t c = nv; c < NR; ++c)
        for (int64_t k = 0; k < kc; ++k) dst[k * NR + c] = 0.0f;
    }
  }
}

// Packs rows [i0, i0 + mc) and columns [k0, k0 + kc) of op(A) into ceil(mc / MR) panels of kc x MR.
// Rows past mc in the last panel are left unset: the row-count-specialised microkernels never read
// them.
template <class Cfg>
void pack_a_block(const SgemmArgs& g, int64_t i0, int64_t mc, int64_t k0, int64_t kc, float* dst) {
  constexpr int MR = Cfg::MR;
  for (int64_t ip = 0; ip < mc; ip += MR, dst += kc * MR) {
    const int64_t rows = min_of<int64_t>(MR, mc - ip);
    if (!g.trans_a) {
      const float* src = g.A + (i0 + ip) * g.lda + k0;
      if (rows == MR) {
        for (int64_t k = 0; k < kc; ++k) {
#pragma GCC unroll 16
          for (int r = 0; r < MR; ++r) dst[k * MR + r] = src[r * g.lda + k];
        }
      } else {
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t k = 0; k < kc; ++k) dst[k * MR + r] = src[r * g.lda + k];
      }
    } else {
      const float* src = g.A + k0 * g.lda + i0 + ip;
      for (int64_t k = 0; k < kc; ++k)
        for (int64_t r = 0; r < rows; ++r) dst[k * MR + r] = src[k * g.lda + r];
    }
  }
}

// --- microkernel --------------------------------------------------------------------------------

// C[R x NR] = alpha * (A panel x B panel) + beta * C + bias, for R <= MR rows. beta == 0: C is not
// read. bias is null or points at NR entries.
template <class Cfg, int R>
void microkernel(int64_t kc, const float* __restrict a, const float* __restrict b, float* c, int64_t ldc,
                 float alpha, float beta, const float* bias) {
  using V = typename Cfg::Batch;
  constexpr int MR = Cfg::MR, NV = Cfg::NV, NR = Cfg::NR, W = Cfg::W;
  V acc[R][NV];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[r][v] = V(0.0f);

  // C is only touched after the K loop; start bringing its rows in now.
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    __builtin_prefetch(c + r * ldc);
    __builtin_prefetch(c + r * ldc + NR - 1);
  }
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    V bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) bv[v] = V::load_aligned(b + v * W);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const V av(a[r]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = xsimd::fma(av, bv[v], acc[r][v]);
    }
    a += MR;
    b += NR;
  }

  const V va(alpha);
  if (beta == 0.0f) {
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = acc[r][v] * va;
  } else {
    const V vb(beta);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v)
        acc[r][v] = xsimd::fma(acc[r][v], va, V::load_unaligned(c + r * ldc + v * W) * vb);
  }
  if (bias) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      const V vbias = V::load_unaligned(bias + v * W);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) acc[r][v] += vbias;
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[r][v].store_unaligned(c + r * ldc + v * W);
}

template <class Cfg>
using MicrokernelFn = void (*)(int64_t, const float*, const float*, float*, int64_t, float, float, const float*);

// microkernels<Cfg>()[R - 1] handles R rows.
template <class Cfg, class Seq>
struct MicrokernelTable;
template <class Cfg, size_t... I>
struct MicrokernelTable<Cfg, std::index_sequence<I...>> {
  static constexpr MicrokernelFn<Cfg> table[] = {&microkernel<Cfg, static_cast<int>(I) + 1>...};
};
template <class Cfg>
const MicrokernelFn<Cfg>* microkernels() {
  return MicrokernelTable<Cfg, std::make_index_sequence<Cfg::MR>>::table;
}

// --- fallback without scratch memory ------------------------------------------------------------

// Element (k, j) of op(B) in the pre-packed layout of pack_b().
template <class Cfg>
float packed_b_at(const float* packed, int64_t K, int64_t N, int64_t k, int64_t j) {
  const int64_t n_padded = ceil_div<int64_t>(N, Cfg::NR) * Cfg::NR;
  const int64_t pc = k / Cfg::KC * Cfg::KC, kc = min_of<int64_t>(Cfg::KC, K - pc);
  return packed[pc * n_padded + (j / Cfg::NR) * kc * Cfg::NR + (k - pc) * Cfg::NR + j % Cfg::NR];
}

// Rows [m0, m1) x columns [n0, n1) with plain loops, for when scratch memory cannot be had.
template <class Cfg>
void slow_block(const SgemmArgs& g, const float* packed_b, const Services& svc, int64_t m0, int64_t m1, int64_t n0,
                int64_t n1) {
  for (int64_t i = m0; i < m1; ++i) {
    float* c = g.C + i * g.ldc;
    for (int64_t j = n0; j < n1; ++j) {
      float acc = 0.0f;
      for (int64_t k = 0; k < g.K; ++k) {
        const float a = g.trans_a ? g.A[k * g.lda + i] : g.A[i * g.lda + k];
        const float b = packed_b ? packed_b_at<Cfg>(packed_b, g.K, g.N, k, j)
                                 : (g.trans_b ? g.B[j * g.ldb + k] : g.B[k * g.ldb + j]);
        acc += a * b;
      }
      float v = g.alpha * acc;
      if (g.beta != 0.0f) v += g.beta * c[j];
      if (g.bias) v += g.bias[j];
      c[j] = v;
    }
    if (g.act != UnaryOp::identity) svc.unary(g.act, g.act_params, c + n0, c + n0, n1 - n0);
  }
}

// --- blocked driver -----------------------------------------------------------------------------

// One call's shared state; tasks read it concurrently.
template <class Cfg>
struct Job {
  const SgemmArgs* g = nullptr;
  const float* packed_b = nullptr;  // whole op(B) pre-packed, or null: pack per block
  const Services* svc = nullptr;
  int64_t tm = 1, tn = 1;  // thread grid
};

// Multiplies the packed A block (mc x kc) by nc columns of packed B panels into C at (i0, j0).
template <class Cfg>
void macro_kernel(const SgemmArgs& g, const Services& svc, const float* a_pack, const float* b_pack, int64_t i0,
                  int64_t j0, int64_t mc, int64_t nc, int64_t kc, bool first, bool last) {
  constexpr int MR = Cfg::MR, NR = Cfg::NR;
  const MicrokernelFn<Cfg>* kernels = microkernels<Cfg>();
  const float beta = first ? g.beta : 1.0f;
  const float alpha = g.alpha;
  const bool act = last && g.act != UnaryOp::identity;
  alignas(64) float tile[MR * NR];
  for (int64_t jp = 0; jp < nc; jp += NR) {
    const int64_t nv = min_of<int64_t>(NR, nc - jp);
    const float* bp = b_pack + (jp / NR) * kc * NR;
    const float* bias = last && g.bias ? g.bias + j0 + jp : nullptr;
    for (int64_t ip = 0; ip < mc; ip += MR) {
      const int64_t rows = min_of<int64_t>(MR, mc - ip);
      const float* ap = a_pack + (ip / MR) * kc * MR;
      float* c = g.C + (i0 + ip) * g.ldc + j0 + jp;
      if (nv == NR) {
        kernels[rows - 1](kc, ap, bp, c, g.ldc, alpha, beta, bias);
      } else {
        // Right edge: compute the full-width tile aside, then apply the epilogue to valid columns.
        kernels[rows - 1](kc, ap, bp, tile, NR, 1.0f, 0.0f, nullptr);
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t j = 0; j < nv; ++j) {
            float v = alpha * tile[r * NR + j];
            if (beta != 0.0f) v += beta * c[r * g.ldc + j];
            if (bias) v += bias[j];
            c[r * g.ldc + j] = v;
          }
        }
      }
      if (act)
        for (int64_t r = 0; r < rows; ++r) svc.unary(g.act, g.act_params, c + r * g.ldc, c + r * g.ldc, nv);
    }
  }
}

template <class Cfg>
void run_task(Job<Cfg>& job, int64_t t) {
  constexpr int MR = Cfg::MR, NR = Cfg::NR, KC = Cfg::KC, MC = Cfg::MC, NC = Cfg::NC;
  const SgemmArgs& g = *job.g;
  const Services& svc = *job.svc;
  const int64_t ti = t / job.tn, tj = t % job.tn;
  // Rows in MR units and columns in NR units, spread as evenly as possible.
  const int64_t mtiles = ceil_div<int64_t>(g.M, MR), npanels = ceil_div<int64_t>(g.N, NR);
  const int64_t m0 = min_of<int64_t>(g.M, mtiles * ti / job.tm * MR);
  const int64_t m1 = min_of<int64_t>(g.M, mtiles * (ti + 1) / job.tm * MR);
  const int64_t n0 = min_of<int64_t>(g.N, npanels * tj / job.tn * NR);
  const int64_t n1 = min_of<int64_t>(g.N, npanels * (tj + 1) / job.tn * NR);
  if (m0 >= m1 || n0 >= n1) return;

  float* a_pack = svc.scratch(0, sizeof(float) * MC * KC);
  float* b_pack = job.packed_b ? nullptr : svc.scratch(1, sizeof(float) * KC * NC);
  if (!a_pack || (!job.packed_b && !b_pack)) {
    slow_block<Cfg>(g, job.packed_b, svc, m0, m1, n0, n1);
    return;
  }
  const int64_t n_padded = npanels * NR;
  for (int64_t jc = n0; jc < n1; jc += NC) {
    const int64_t nc = min_of<int64_t>(NC, n1 - jc);
    for (int64_t pc = 0; pc < g.K; pc += KC) {
      const int64_t kc = min_of<int64_t>(KC, g.K - pc);
      const float* bp;
      if (job.packed_b) {
        bp = job.packed_b + pc * n_padded + (jc / NR) * kc * NR;
      } else {
        pack_b_block<Cfg>(g.B, g.ldb, g.trans_b, pc, kc, jc, nc, b_pack);
        bp = b_pack;
      }
      for (int64_t ic = m0; ic < m1; ic += MC) {
        const int64_t mc = min_of<int64_t>(MC, m1 - ic);
        pack_a_block<Cfg>(g, ic, mc, pc, kc, a_pack);
        macro_kernel<Cfg>(g, svc, a_pack, bp, ic, jc, mc, nc, kc, pc == 0, pc + kc >= g.K);
      }
    }
  }
}

template <class Cfg>
void run_task_trampoline(void* ctx, int64_t t) {
  run_task<Cfg>(*static_cast<Job<Cfg>*>(ctx), t);
}

// Threads worth using for this much work: about 1 MFLOP per thread at least, so tiny products do not
// pay for waking workers.
template <class Cfg>
int64_t useful_threads(const SgemmArgs& g, const Services& svc) {
  const int64_t threads = svc.max_threads();
  const double flops = 2.0 * static_cast<double>(g.M) * static_cast<double>(g.N) * static_cast<double>(g.K);
  const int64_t by_work = static_cast<int64_t>(flops / 1.0e6) + 1;
  return min_of<int64_t>(threads, by_work);
}

// Picks the thread grid tm x tn = threads minimising the largest block; ties go to splitting N so
// each thread streams only its share of B (the weights).
template <class Cfg>
void choose_grid(Job<Cfg>& job, int64_t threads) {
  const SgemmArgs& g = *job.g;
  const int64_t mtiles = ceil_div<int64_t>(g.M, Cfg::MR), npanels = ceil_div<int64_t>(g.N, Cfg::NR);
  int64_t best_cost = -1;
  for (int64_t tm = 1; tm <= threads; ++tm) {
    if (threads % tm) continue;
    const int64_t tn = threads / tm;
    if (tm > mtiles || tn > npanels) continue;
    const int64_t cost = ceil_div(mtiles, tm) * Cfg::MR * ceil_div(npanels, tn) * Cfg::NR;
    if (best_cost < 0 || cost < best_cost) {
      best_cost = cost;
      job.tm = tm;
      job.tn = tn;
    }
  }
  if (best_cost < 0) {  // fewer tiles than threads in both directions: split the longer one
    job.tm = 1;
    job.tn = 1;
    if (npanels >= mtiles)
      job.tn = min_of(threads, npanels);
    else
      job.tm = min_of(threads, mtiles);
  }
}

// --- epilogue-only (K == 0) -----------------------------------------------------------------------

template <class Cfg>
void scale_bias_act(const SgemmArgs& g, const Services& svc) {
  for (int64_t i = 0; i < g.M; ++i) {
    float* c = g.C + i * g.ldc;
    for (int64_t j = 0; j < g.N; ++j) {
      float v = g.beta == 0.0f ? 0.0f : g.beta * c[j];
      if (g.bias) v += g.bias[j];
      c[j] = v;
    }
    if (g.act != UnaryOp::identity) svc.unary(g.act, g.act_params, c, c, g.N);
  }
}

// --- GEMV (M == 1) --------------------------------------------------------------------------------

// Shared by the GEMV variants: y[0, n) holds op(A) x op(B) for columns [j0, j0 + n); applies the
// epilogue into C.
template <class Cfg>
void gemv_epilogue(const SgemmArgs& g, const Services& svc, const float* y, int64_t j0, int64_t n) {
  using V = typename Cfg::Batch;
  constexpr int W = Cfg::W;
  float* c = g.C + j0;
  const V va(g.alpha), vb(g.beta);
  int64_t j = 0;
  for (; j + W <= n; j += W) {
    V v = V::load_unaligned(y + j) * va;
    if (g.beta != 0.0f) v = xsimd::fma(V::load_unaligned(c + j), vb, v);
    if (g.bias) v += V::load_unaligned(g.bias + j0 + j);
    v.store_unaligned(c + j);
  }
  for (; j < n; ++j) {
    float v = g.alpha * y[j];
    if (g.beta != 0.0f) v += g.beta * c[j];
    if (g.bias) v += g.bias[j0 + j];
    c[j] = v;
  }
  if (g.act != UnaryOp::identity) svc.unary(g.act, g.act_params, c, c, n);
}

// Packed B, panels [p0, p1) of one K block, S panels at a time: panel p, p + L, p + 2L, ... so the
// thread reads S separate contiguous streams at once. One core's DRAM bandwidth is bound by the
// misses it has in flight, and several streams keep more of them going than one.
template <class Cfg, int S>
void gemv_packed_streams(const float* a, int64_t a_inc, const float* b_block, int64_t kc, float* y, int64_t p0,
                         int64_t count, int64_t stride, bool first) {
  using V = typename Cfg::Batch;
  constexpr int NR = Cfg::NR, NV = Cfg::NV, W = Cfg::W;
  for (int64_t i = 0; i < count; ++i) {
    const float* b[S];
    float* yp[S];
#pragma GCC unroll 8
    for (int s = 0; s < S; ++s) {
      b[s] = b_block + (p0 + i + s * stride) * kc * NR;
      yp[s] = y + (i + s * stride) * NR;
    }
    V acc[S][NV];
#pragma GCC unroll 8
    for (int s = 0; s < S; ++s)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[s][v] = first ? V(0.0f) : V::load_aligned(yp[s] + v * W);
    for (int64_t k = 0; k < kc; ++k) {
      const V av(a[k * a_inc]);
#pragma GCC unroll 8
      for (int s = 0; s < S; ++s)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc[s][v] = xsimd::fma(av, V::load_aligned(b[s] + k * NR + v * W), acc[s][v]);
    }
#pragma GCC unroll 8
    for (int s = 0; s < S; ++s)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[s][v].store_aligned(yp[s] + v * W);
  }
}

// Packed B, panels [p0, p1): walks each K block of the packed weights, keeping the running sums of
// this thread's columns in y (L1/L2-resident).
template <class Cfg>
void gemv_packed_range(const SgemmArgs& g, const Services& svc, const float* packed_b, float* y, int64_t p0,
                       int64_t p1) {
  constexpr int NR = Cfg::NR, KC = Cfg::KC;
  constexpr int S = OBOL_GEMV_STREAMS;
  const int64_t n_padded = ceil_div<int64_t>(g.N, NR) * NR;
  const int64_t a_inc = g.trans_a ? g.lda : 1;
  const int64_t panels = p1 - p0, per_stream = panels / S, rest = panels - per_stream * S;
  for (int64_t pc = 0; pc < g.K; pc += KC) {
    const int64_t kc = min_of<int64_t>(KC, g.K - pc);
    const float* a = g.A + pc * a_inc;
    const float* block = packed_b + pc * n_padded;
    gemv_packed_streams<Cfg, S>(a, a_inc, block, kc, y, p0, per_stream, per_stream, pc == 0);
    gemv_packed_streams<Cfg, 1>(a, a_inc, block, kc, y + per_stream * S * NR, p0 + per_stream * S, rest, 0,
                                pc == 0);
  }
  const int64_t j0 = p0 * NR;
  gemv_epilogue<Cfg>(g, svc, y, j0, min_of<int64_t>(g.N, p1 * NR) - j0);
}

// Unpacked B, not transposed: y += a[k] * B[k, :] row by row, so every row of B is read once,
// contiguously; y (this thread's columns) stays in L1/L2.
template <class Cfg>
void gemv_rows_range(const SgemmArgs& g, const Services& svc, float* y, int64_t j0, int64_t n) {
  using V = typename Cfg::Batch;
  constexpr int W = Cfg::W;
  constexpr int U = 4;
  const int64_t a_inc = g.trans_a ? g.lda : 1;
  for (int64_t j = 0; j < n; ++j) y[j] = 0.0f;
  int64_t k = 0;
  for (; k + U <= g.K; k += U) {
    const float* b0 = g.B + k * g.ldb + j0;
    const float* b1 = b0 + g.ldb;
    const float* b2 = b1 + g.ldb;
    const float* b3 = b2 + g.ldb;
    const float s0 = g.A[k * a_inc], s1 = g.A[(k + 1) * a_inc], s2 = g.A[(k + 2) * a_inc],
                s3 = g.A[(k + 3) * a_inc];
    const V a0(s0), a1(s1), a2(s2), a3(s3);
    int64_t j = 0;
    for (; j + W <= n; j += W) {
      V s = V::load_aligned(y + j);
      s = xsimd::fma(a0, V::load_unaligned(b0 + j), s);
      s = xsimd::fma(a1, V::load_unaligned(b1 + j), s);
      s = xsimd::fma(a2, V::load_unaligned(b2 + j), s);
      s = xsimd::fma(a3, V::load_unaligned(b3 + j), s);
      s.store_aligned(y + j);
    }
    for (; j < n; ++j) y[j] = y[j] + s0 * b0[j] + s1 * b1[j] + s2 * b2[j] + s3 * b3[j];
  }
  for (; k < g.K; ++k) {
    const float* b0 = g.B + k * g.ldb + j0;
    const float s0 = g.A[k * a_inc];
    const V a0(s0);
    int64_t j = 0;
    for (; j + W <= n; j += W) xsimd::fma(a0, V::load_unaligned(b0 + j), V::load_aligned(y + j)).store_aligned(y + j);
    for (; j < n; ++j) y[j] += s0 * b0[j];
  }
  gemv_epilogue<Cfg>(g, svc, y, j0, n);
}

// Unpacked, transposed B (N x K, the usual [out, in] weight layout): one contiguous dot product per
// output, four outputs at a time.
template <class Cfg>
void gemv_dots_range(const SgemmArgs& g, const Services& svc, float* y, int64_t j0, int64_t n) {
  using V = typename Cfg::Batch;
  constexpr int W = Cfg::W;
  const int64_t a_inc = g.trans_a ? g.lda : 1;
  const float* a = g.A;
  float* a_dense = nullptr;
  if (a_inc != 1) {  // gather the strided A column once so the dots stream it
    a_dense = y + ceil_div<int64_t>(n, Cfg::NR) * Cfg::NR;
    for (int64_t k = 0; k < g.K; ++k) a_dense[k] = g.A[k * a_inc];
    a = a_dense;
  }
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const float* b0 = g.B + (j0 + j) * g.ldb;
    const float* b1 = b0 + g.ldb;
    const float* b2 = b1 + g.ldb;
    const float* b3 = b2 + g.ldb;
    V s0(0.0f), s1(0.0f), s2(0.0f), s3(0.0f);
    int64_t k = 0;
    for (; k + W <= g.K; k += W) {
      const V av = V::load_unaligned(a + k);
      s0 = xsimd::fma(av, V::load_unaligned(b0 + k), s0);
      s1 = xsimd::fma(av, V::load_unaligned(b1 + k), s1);
      s2 = xsimd::fma(av, V::load_unaligned(b2 + k), s2);
      s3 = xsimd::fma(av, V::load_unaligned(b3 + k), s3);
    }
    float t0 = xsimd::hadd(s0), t1 = xsimd::hadd(s1), t2 = xsimd::hadd(s2), t3 = xsimd::hadd(s3);
    for (; k < g.K; ++k) {
      t0 += a[k] * b0[k];
      t1 += a[k] * b1[k];
      t2 += a[k] * b2[k];
      t3 += a[k] * b3[k];
    }
    y[j] = t0;
    y[j + 1] = t1;
    y[j + 2] = t2;
    y[j + 3] = t3;
  }
  for (; j < n; ++j) {
    const float* b0 = g.B + (j0 + j) * g.ldb;
    V s0(0.0f);
    int64_t k = 0;
    for (; k + W <= g.K; k += W) s0 = xsimd::fma(V::load_unaligned(a + k), V::load_unaligned(b0 + k), s0);
    float t0 = xsimd::hadd(s0);
    for (; k < g.K; ++k) t0 += a[k] * b0[k];
    y[j] = t0;
  }
  gemv_epilogue<Cfg>(g, svc, y, j0, n);
}

template <class Cfg>
struct GemvJob {
  const SgemmArgs* g = nullptr;
  const float* packed_b = nullptr;
  const Services* svc = nullptr;
  int64_t tasks = 1;
};

template <class Cfg>
void gemv_task(void* ctx, int64_t t) {
  GemvJob<Cfg>& job = *static_cast<GemvJob<Cfg>*>(ctx);
  const SgemmArgs& g = *job.g;
  constexpr int NR = Cfg::NR;
  const int64_t npanels = ceil_div<int64_t>(g.N, NR);
  const int64_t p0 = npanels * t / job.tasks, p1 = npanels * (t + 1) / job.tasks;
  if (p0 >= p1) return;
  const int64_t j0 = p0 * NR, n = min_of<int64_t>(g.N, p1 * NR) - j0;
  const size_t floats = static_cast<size_t>((p1 - p0) * NR) + (g.trans_b ? static_cast<size_t>(g.K) : 0);
  float* y = job.svc->scratch(0, floats * sizeof(float));
  if (!y) {
    slow_block<Cfg>(g, job.packed_b, *job.svc, 0, 1, j0, j0 + n);
    return;
  }
  if (job.packed_b)
    gemv_packed_range<Cfg>(g, *job.svc, job.packed_b, y, p0, p1);
  else if (g.trans_b)
    gemv_dots_range<Cfg>(g, *job.svc, y, j0, n);
  else
    gemv_rows_range<Cfg>(g, *job.svc, y, j0, n);
}

// --- entry points ---------------------------------------------------------------------------------

// The whole product; packed_b is pack_b()'s output or null (then B is packed block by block).
template <class Cfg>
void sgemm_run(const SgemmArgs& g, const float* packed_b, const Services& svc) {
  if (g.M <= 0 || g.N <= 0) return;
  if (g.K <= 0) {
    scale_bias_act<Cfg>(g, svc);
    return;
  }
  const int64_t threads = useful_threads<Cfg>(g, svc);
  if (g.M == 1) {
    GemvJob<Cfg> job;
    job.g = &g;
    job.packed_b = packed_b;
    job.svc = &svc;
    job.tasks = min_of<int64_t>(threads, ceil_div<int64_t>(g.N, Cfg::NR));
    if (job.tasks <= 1)
      gemv_task<Cfg>(&job, 0);
    else
      svc.parallel_run(job.tasks, &gemv_task<Cfg>, &job);
    return;
  }
  Job<Cfg> job;
  job.g = &g;
  job.packed_b = packed_b;
  job.svc = &svc;
  choose_grid<Cfg>(job, threads);
  const int64_t tasks = job.tm * job.tn;
  if (tasks <= 1)
    run_task<Cfg>(job, 0);
  else
    svc.parallel_run(tasks, &run_task_trampoline<Cfg>, &job);
}

template <class Cfg>
size_t packed_b_bytes(int64_t K, int64_t N) {
  if (K <= 0 || N <= 0) return 0;
  return static_cast<size_t>(K) * static_cast<size_t>(ceil_div<int64_t>(N, Cfg::NR) * Cfg::NR) * sizeof(float);
}

// The whole of op(B) in the blocked-panel layout the driver reads: K blocks of KC rows, each holding
// all NR panels.
template <class Cfg>
void pack_b(int64_t K, int64_t N, const float* B, int64_t ldb, bool trans_b, float* packed) {
  if (K <= 0 || N <= 0) return;
  const int64_t n_padded = ceil_div<int64_t>(N, Cfg::NR) * Cfg::NR;
  for (int64_t pc = 0; pc < K; pc += Cfg::KC) {
    const int64_t kc = min_of<int64_t>(Cfg::KC, K - pc);
    pack_b_block<Cfg>(B, ldb, trans_b, pc, kc, 0, N, packed + pc * n_padded);
  }
}

}  // namespace gemm
OBOL_KERNELS_END
}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
