// int4 weight-only matmul driver: checks, activation quantization, the split over columns, the f32
// (dequantize + sgemm) path, and the scalar (reference) tier. Kernels: q4gemm__<isa>.cpp.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include "obol/core/dtype.hpp"
#include "obol/core/parallel.hpp"
#include "obol/kernels/cpu.hpp"
#include "obol/kernels/q4gemm.hpp"
#include "obol/quant/blocks.hpp"
#include "q4gemm_impl.hpp"
#include "qgemm_impl.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {

using namespace q4_detail;

namespace q4_detail {

namespace {

inline int nibble_nbits(const uint8_t* row, int64_t k) { return (row[k / 2] >> (4 * (k & 1))) & 15; }
inline int nibble_q4_0(const quant::block_q4_0& b, int64_t j) {
  return j < 16 ? (b.qs[j] & 15) : (b.qs[j - 16] >> 4);
}

}  // namespace

void q4_rows_int8__scalar(const Q4Weights& w, const Q8Act* rows, int64_t M, int64_t n0, int64_t n1, float* Y,
                          int64_t ldy, const float* bias) {
  const int64_t kb = q4_k_blocks(w), bs = q4_block_size(w);
  const quant::NBitsLayout l{w.K, w.N, bs};
  for (int64_t n = n0; n < n1; ++n) {
    for (int64_t m = 0; m < M; ++m) {
      const Q8Act& a = rows[m];
      float y = 0.0f;
      for (int64_t b = 0; b < kb; ++b) {
        float scale;
        int zp = 8;
        const quant::block_q4_0* qb = nullptr;
        const uint8_t* row = nullptr;
        if (w.format == Q4Format::q4_0) {
          qb = reinterpret_cast<const quant::block_q4_0*>(w.data) + n * kb + b;
          scale = obol::f16_to_f32(qb->d);
        } else {
          row = w.data + n * l.row_bytes();
          scale = w.scales[n * kb + b];
          zp = quant::nbits_zero_point(l, w.zero_points, n, b);
        }
        float sb = 0.0f;
        for (int64_t g0 = b * bs; g0 < (b + 1) * bs; g0 += std::min<int64_t>(bs, 32)) {
          const int64_t seg = std::min<int64_t>(bs, 32);
          int32_t dot = 0;
          for (int64_t k = g0; k < g0 + seg; ++k) {
            const int code = qb ? nibble_q4_0(*qb, k - b * bs) : nibble_nbits(row, k);
            dot += (code - zp) * a.qn[k];
          }
          sb += a.dx[g0 / 32] * static_cast<float>(dot);
        }
        y += scale * sb;
      }
      Y[m * ldy + n] = y + (bias ? bias[n] : 0.0f);
    }
  }
}

void q4_dequant_cols__scalar(const Q4Weights& w, int64_t n0, int64_t count, float* Wt) {
  if (w.format == Q4Format::q4_0) {
    const auto* blocks = reinterpret_cast<const quant::block_q4_0*>(w.data);
    for (int64_t n = n0; n < n0 + count; ++n)
      (void)quant::dequantize_q4_0(blocks + n * (w.K / 32), w.K, Wt + (n - n0) * w.K);
    return;
  }
  const quant::NBitsLayout l{w.K, w.N, w.block_size};
  (void)quant::nbits_dequantize_rows(l, w.data, w.scales, w.zero_points, n0, count, Wt, w.K);
}

}  // namespace q4_detail

namespace {

Status check(const Q4MatmulArgs& g, const Q4Weights& w) {
  if (w.K < 1 || w.N < 1)
    return make_status(StatusCode::invalid_argument, "q4gemm", "weights have K = ", w.K, ", N = ", w.N,
                       "; expected >= 1");
  if (!w.data) return make_status(StatusCode::invalid_argument, "q4gemm", "weight data is null");
  if (w.format == Q4Format::q4_0) {
    if (w.K % 32 != 0)
      return make_status(StatusCode::invalid_argument, "q4gemm", "q4_0 weights need K % 32 == 0, got K = ", w.K);
  } else if (w.format == Q4Format::nbits) {
    if (w.block_size < 16 || w.block_size > 256 || (w.block_size & (w.block_size - 1)) != 0)
      return make_status(StatusCode::invalid_argument, "q4gemm", "block_size ", w.block_size,
                         " is not a power of two in [16, 256]");
    if (!w.scales) return make_status(StatusCode::invalid_argument, "q4gemm", "scales are null");
  } else {
    return make_status(StatusCode::invalid_argument, "q4gemm", "unknown weight format ", static_cast<int>(w.format));
  }
  if (g.M < 0) return make_status(StatusCode::invalid_argument, "q4gemm", "M = ", g.M, " is negative");
  if (g.M > 0 && (!g.X || !g.Y)) return make_status(StatusCode::invalid_argument, "q4gemm", "X or Y is null");
  if (g.M > 0 && (g.ldx < w.K || g.ldy < w.N))
    return make_status(StatusCode::invalid_argument, "q4gemm", "ldx ", g.ldx, " / ldy ", g.ldy,
                       " is less than K = ", w.K, " / N = ", w.N);
  return Status::ok();
}

// Quantizes row x (K values) into the Q8Act arrays at `mem` (see q4gemm_impl.hpp); returns the view.
Q8Act quantize_row(const Q4Weights& w, const float* x, char* mem) {
  const int64_t K = w.K, Kpad = q4_kpad(w), groups = Kpad / 32, kb = q4_k_blocks(w), bs = q4_block_size(w);
  int8_t* qn = reinterpret_cast<int8_t*>(mem);
  int8_t* qp = qn + Kpad;
  float* dx = reinterpret_cast<float*>(qp + Kpad);
  float* dxv = dx + groups;
  float* xs = dxv + groups * 4;
  for (int64_t g = 0; g < groups; ++g) {
    float amax = 0.0f;
    for (int64_t k = g * 32; k < std::min(K, g * 32 + 32); ++k) amax = std::max(amax, std::fabs(x[k]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    dx[g] = d;
    for (int64_t k = g * 32; k < g * 32 + 32; ++k) {
      float v = k < K ? std::nearbyint(x[k] * id) : 0.0f;
      if (!(v == v)) v = 0.0f;
      qn[k] = static_cast<int8_t>(std::max(-127.0f, std::min(127.0f, v)));
    }
  }
  for (int64_t pr = 0; pr < groups / 2; ++pr) {
    const int8_t* s = qn + pr * 64;
    int8_t* d = qp + pr * 64;
    for (int i = 0; i < 16; ++i) {
      d[i] = s[2 * i];
      d[16 + i] = s[32 + 2 * i];
      d[32 + i] = s[2 * i + 1];
      d[48 + i] = s[32 + 2 * i + 1];
    }
    for (int i = 0; i < 4; ++i) {
      dxv[pr * 8 + i] = dx[2 * pr];
      dxv[pr * 8 + 4 + i] = dx[2 * pr + 1];
    }
  }
  for (int64_t b = 0; b < kb; ++b) {
    float s = 0.0f;
    for (int64_t g0 = b * bs; g0 < (b + 1) * bs; g0 += std::min<int64_t>(bs, 32)) {
      int32_t isum = 0;
      for (int64_t k = g0; k < g0 + std::min<int64_t>(bs, 32); ++k) isum += qn[k];
      s += dx[g0 / 32] * static_cast<float>(isum);
    }
    xs[b] = s;
  }
  return Q8Act{qn, qp, dx, dxv, xs};
}

size_t act_bytes(const Q4Weights& w) {
  const int64_t Kpad = q4_kpad(w);
  return static_cast<size_t>(2 * Kpad + (Kpad / 32) * 5 * 4 + q4_k_blocks(w) * 4 + 64);
}

}  // namespace

Status q4_matmul(const Q4MatmulArgs& g, const Q4Weights& w, QGemmIsa isa) {
  OBOL_RETURN_IF_ERROR(check(g, w));
  const int isa_i = static_cast<int>(isa);
  if (isa_i < 0 || isa_i >= kQGemmIsaCount || !qgemm_isa_supported(isa))
    return make_status(StatusCode::unavailable, "q4gemm", "tier ", qgemm_isa_name(isa),
                       " is not supported by this CPU, OS or build");
  if (g.M == 0) return Status::ok();
  const bool scalar = isa == QGemmIsa::scalar;
#if defined(OBOL_HAVE_X86_ISAS)
  const RowsFn rows_fn = scalar ? &q4_rows_int8__scalar : &q4_rows_int8__avx2;
  const DequantFn dequant_fn = scalar ? &q4_dequant_cols__scalar : &q4_dequant_cols__avx2;
#else
  const RowsFn rows_fn = &q4_rows_int8__scalar;
  const DequantFn dequant_fn = &q4_dequant_cols__scalar;
#endif
  const bool int8 = g.compute == Q4Compute::int8 || (g.compute == Q4Compute::automatic && g.M < 16);

  if (int8) {
    const size_t per_row = (act_bytes(w) + 63) / 64 * 64;
    char* mem = static_cast<char*>(
        qgemm_detail::qgemm_scratch(2, per_row * static_cast<size_t>(g.M) + sizeof(Q8Act) * static_cast<size_t>(g.M)));
    if (!mem) return make_status(StatusCode::out_of_memory, "q4gemm", "no memory to quantize ", g.M, " rows");
    Q8Act* acts = reinterpret_cast<Q8Act*>(mem + per_row * static_cast<size_t>(g.M));
    for (int64_t m = 0; m < g.M; ++m) acts[m] = quantize_row(w, g.X + m * g.ldx, mem + per_row * static_cast<size_t>(m));
    obol::parallel_for_range(w.N, 16, [&](int64_t n0, int64_t n1) { rows_fn(w, acts, g.M, n0, n1, g.Y, g.ldy, g.bias); });
    return Status::ok();
  }

  // f32: dequantize 64-column panels and multiply them with obol's f32 GEMM, one panel per task.
  const KernelTable* table = scalar ? cpu_kernels_for(Isa::scalar) : &cpu_kernels();
  constexpr int64_t kPanel = 64;
  const int64_t panels = (w.N + kPanel - 1) / kPanel;
  std::atomic<bool> ok{true};
  obol::parallel_for(panels, [&](int64_t pi) {
    const int64_t n0 = pi * kPanel, cnt = std::min(kPanel, w.N - n0);
    float* Wt = static_cast<float*>(qgemm_detail::qgemm_scratch(3, static_cast<size_t>(cnt * w.K) * sizeof(float)));
    if (!Wt) {
      ok.store(false);
      return;
    }
    dequant_fn(w, n0, cnt, Wt);
    SgemmArgs s;
    s.M = g.M;
    s.N = cnt;
    s.K = w.K;
    s.A = g.X;
    s.lda = g.ldx;
    s.B = Wt;
    s.ldb = w.K;
    s.trans_b = true;
    s.C = g.Y + n0;
    s.ldc = g.ldy;
    s.bias = g.bias ? g.bias + n0 : nullptr;
    table->sgemm(s);
  });
  if (!ok.load()) return make_status(StatusCode::out_of_memory, "q4gemm", "no memory for a dequantized panel");
  return Status::ok();
}

Status q4_matmul(const Q4MatmulArgs& args, const Q4Weights& w) { return q4_matmul(args, w, qgemm_default_isa()); }

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
