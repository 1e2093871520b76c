// int8 GEMM driver: tier selection, B packing, argument checks, the per-call column terms, the split
// into per-thread blocks, and the scalar (reference) tier. Kernels: qgemm__<isa>.cpp.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "obol/core/allocator.hpp"
#include "obol/core/parallel.hpp"
#include "obol/kernels/cpu.hpp"
#include "obol/kernels/qgemm.hpp"
#include "qgemm_impl.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {

using namespace qgemm_detail;

namespace {

struct TierInfo {
  Layout layout;
  int64_t k_align;
  int64_t mr;       // row granularity of a block
  int64_t nr;       // column granularity of a block (multiple of 16)
  int64_t a_bytes;  // bytes of packed A per row and k (for the block height)
  BlockFn block;
};

TierInfo tier_info(QGemmIsa isa) {
  switch (isa) {
    case QGemmIsa::scalar: return {Layout::plain, 1, 1, 16, 1, &qgemm_block__scalar};
#if defined(OBOL_HAVE_X86_ISAS)
    case QGemmIsa::avx2: return {Layout::pair16, 2, 6, 16, 2, &qgemm_block__avx2};
#if defined(OBOL_HAVE_ISA_AVXVNNI)
    case QGemmIsa::avxvnni: return {Layout::quad16, 4, 6, 16, 1, &qgemm_block__avxvnni};
#endif
#if defined(OBOL_HAVE_ISA_AVX512VNNI)
    case QGemmIsa::avx512vnni: return {Layout::quad16, 4, 8, 32, 1, &qgemm_block__avx512vnni};
#endif
#if defined(OBOL_HAVE_ISA_AMX)
    case QGemmIsa::amx: return {Layout::quad16, 64, 32, 32, 1, &qgemm_block__amx};
#endif
#endif
    default: break;
  }
  return {Layout::plain, 1, 1, 16, 1, nullptr};
}

struct ScratchSlots {
  void* ptr[4] = {};
  size_t bytes[4] = {};
  ~ScratchSlots() {
    for (void* p : ptr) std::free(p);
  }
};
thread_local ScratchSlots t_scratch;

int32_t wrap_add(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}
int32_t wrap_sub(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) - static_cast<uint32_t>(b));
}
int32_t wrap_mul(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) * static_cast<uint32_t>(b));
}

}  // namespace

namespace qgemm_detail {

void* qgemm_scratch(int slot, size_t bytes) {
  if (slot < 0 || slot >= 4) return nullptr;
  ScratchSlots& s = t_scratch;
  if (s.bytes[slot] < bytes) {
    size_t want = std::max(bytes, s.bytes[slot] * 2);
    want = (want + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, want);
    if (!p) return nullptr;
    std::free(s.ptr[slot]);
    s.ptr[slot] = p;
    s.bytes[slot] = want;
  }
  return s.ptr[slot];
}

bool amx_permission() noexcept { return amx_tile_permission(); }

void qgemm_epilogue_scalar(const Plan& p, int64_t m, int64_t n, int64_t count, const int32_t* raw, int32_t rowsum) {
  for (int64_t i = 0; i < count; ++i) {
    const int64_t j = n + i;
    const int32_t acc = wrap_sub(wrap_add(raw[i], p.colterm[j]), wrap_mul(p.zb[j], rowsum));
    switch (p.out) {
      case QGemmOut::s32: static_cast<int32_t*>(p.C)[m * p.ldc + j] = acc; break;
      case QGemmOut::f32: {
        float v = static_cast<float>(acc) * p.mult[j];
        v = v + p.bias_f32[j];
        static_cast<float*>(p.C)[m * p.ldc + j] = v;
        break;
      }
      case QGemmOut::u8:
      case QGemmOut::s8: {
        float v = std::nearbyint(static_cast<float>(acc) * p.mult[j]);
        v = std::max(p.q_lo, std::min(p.q_hi, v));
        const int q = static_cast<int>(v) + p.c_zp;
        if (p.out == QGemmOut::u8)
          static_cast<uint8_t*>(p.C)[m * p.ldc + j] = static_cast<uint8_t>(q);
        else
          static_cast<int8_t*>(p.C)[m * p.ldc + j] = static_cast<int8_t>(q);
        break;
      }
    }
  }
}

// The reference tier: plain loops over the plain layout (uint8 A convention).
bool qgemm_block__scalar(const Plan& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  int32_t raw[16];
  const uint8_t flip = p.a_signed ? 0x80 : 0x00;
  for (int64_t m = m0; m < m1; ++m) {
    const uint8_t* a = p.A + m * p.lda;
    int32_t rowsum = 0;
    for (int64_t k = 0; k < p.K; ++k) rowsum += static_cast<uint8_t>(a[k] ^ flip);
    for (int64_t n = n0; n < n1; n += 16) {
      const int64_t cnt = std::min<int64_t>(16, n1 - n);
      for (int64_t i = 0; i < cnt; ++i) {
        const int8_t* b = p.B + (n + i) * p.Kp;
        uint32_t s = 0;
        for (int64_t k = 0; k < p.K; ++k)
          s += static_cast<uint32_t>(static_cast<int32_t>(static_cast<uint8_t>(a[k] ^ flip)) * b[k]);
        raw[i] = static_cast<int32_t>(s);
      }
      qgemm_epilogue_scalar(p, m, n, cnt, raw, rowsum);
    }
  }
  return true;
}

}  // namespace qgemm_detail

// --- tiers ---------------------------------------------------------------------------------------

const char* qgemm_isa_name(QGemmIsa isa) noexcept {
  switch (isa) {
    case QGemmIsa::scalar: return "scalar";
    case QGemmIsa::avx2: return "avx2";
    case QGemmIsa::avxvnni: return "avxvnni";
    case QGemmIsa::avx512vnni: return "avx512vnni";
    case QGemmIsa::amx: return "amx";
  }
  return "unknown";
}

bool qgemm_isa_supported(QGemmIsa isa) noexcept {
  if (tier_info(isa).block == nullptr) return false;
  switch (isa) {
    case QGemmIsa::scalar: return true;
    case QGemmIsa::avx2: return isa_supported(Isa::avx2);
    case QGemmIsa::avxvnni: return isa_supported(Isa::avx2) && cpu_features().avx_vnni;
    case QGemmIsa::avx512vnni: return isa_supported(Isa::avx512vnni);
    case QGemmIsa::amx: return isa_supported(Isa::amx);
  }
  return false;
}

std::vector<QGemmIsa> qgemm_available_isas() {
  std::vector<QGemmIsa> v;
  for (int i = 0; i < kQGemmIsaCount; ++i)
    if (qgemm_isa_supported(static_cast<QGemmIsa>(i))) v.push_back(static_cast<QGemmIsa>(i));
  return v;
}

QGemmIsa qgemm_default_isa() noexcept {
  switch (cpu_kernels().isa) {
    case Isa::scalar: return QGemmIsa::scalar;
    case Isa::avx2:
    case Isa::avx512:
      return qgemm_isa_supported(QGemmIsa::avxvnni) ? QGemmIsa::avxvnni
             : qgemm_isa_supported(QGemmIsa::avx2) ? QGemmIsa::avx2
                                                    : QGemmIsa::scalar;
    case Isa::avx512vnni:
      return qgemm_isa_supported(QGemmIsa::avx512vnni) ? QGemmIsa::avx512vnni : QGemmIsa::avx2;
    case Isa::amx:
      return qgemm_isa_supported(QGemmIsa::amx)          ? QGemmIsa::amx
             : qgemm_isa_supported(QGemmIsa::avx512vnni) ? QGemmIsa::avx512vnni
                                                         : QGemmIsa::avx2;
  }
  return QGemmIsa::scalar;
}

// --- packing -------------------------------------------------------------------------------------

void QGemmPackedB::Free::operator()(int8_t* p) const noexcept { Allocator::default_instance().deallocate(p, bytes); }

Result<QGemmPackedB> qgemm_pack_b(const QGemmB& b, QGemmIsa isa) {
  const int isa_i = static_cast<int>(isa);
  if (isa_i < 0 || isa_i >= kQGemmIsaCount || !qgemm_isa_supported(isa))
    return make_status(StatusCode::unavailable, "qgemm", "tier ", qgemm_isa_name(isa),
                       " is not supported by this CPU, OS or build");
  if (b.K < 0 || b.N < 0)
    return make_status(StatusCode::invalid_argument, "qgemm", "B has K = ", b.K, ", N = ", b.N, "; expected >= 0");
  if (b.K > 0 && b.N > 0 && !b.data)
    return make_status(StatusCode::invalid_argument, "qgemm", "B data is null");
  if (b.K > 0 && b.N > 0 && b.ldb < (b.trans_b ? b.K : b.N))
    return make_status(StatusCode::invalid_argument, "qgemm", "ldb ", b.ldb, " is less than the row length ",
                       b.trans_b ? b.K : b.N);
  if (b.zero_point && b.zero_point_count != 1 && b.zero_point_count != b.N)
    return make_status(StatusCode::invalid_argument, "qgemm", "B has ", b.zero_point_count,
                       " zero points; expected 1 or N = ", b.N);
  const int32_t lo = b.is_signed ? -128 : 0, hi = b.is_signed ? 127 : 255;
  if (b.zero_point) {
    for (int64_t i = 0; i < b.zero_point_count; ++i)
      if (b.zero_point[i] < lo || b.zero_point[i] > hi)
        return make_status(StatusCode::out_of_range, "qgemm", "B zero point ", i, " is ", b.zero_point[i],
                           ", outside [", lo, ", ", hi, "]");
  }
  TierInfo t = tier_info(isa);
  const uint8_t flip = b.is_signed ? 0x00 : 0x80;  // uint8 -> int8 by subtracting 128
  const uint8_t* src = static_cast<const uint8_t*>(b.data);
  auto b8 = [&](int64_t k, int64_t n) {
    return static_cast<int8_t>((b.trans_b ? src[n * b.ldb + k] : src[k * b.ldb + n]) ^ flip);
  };
  // avx2: the vpmaddubsw kernel when no k pair (2i, 2i + 1) can saturate its int16 sum for any
  // uint8 A (positive parts and negative parts each at most 128 in magnitude; see qgemm.hpp).
  bool maddubs = false;
#if defined(OBOL_HAVE_X86_ISAS)
  if (isa == QGemmIsa::avx2) {
    maddubs = true;
    for (int64_t n = 0; n < b.N && maddubs; ++n)
      for (int64_t k = 0; k < b.K; k += 2) {
        const int32_t v0 = b8(k, n), v1 = k + 1 < b.K ? b8(k + 1, n) : 0;
        const int32_t pos = std::max(v0, 0) + std::max(v1, 0), neg = std::max(-v0, 0) + std::max(-v1, 0);
        if (pos > 128 || neg > 128) {
          maddubs = false;
          break;
        }
      }
    if (maddubs) t = TierInfo{Layout::quad16, 4, 6, 16, 1, &qgemm_block__avx2_maddubs};
  }
#endif
  QGemmPackedB r;
  r.K_ = b.K;
  r.N_ = b.N;
  r.Kp_ = round_up(b.K, t.k_align);
  r.isa_ = isa;
  r.maddubs_ = maddubs;
  const int64_t N16 = round_up(std::max<int64_t>(b.N, 1), 16);
  const size_t bytes = static_cast<size_t>(t.layout == Layout::plain ? b.N * r.Kp_ : N16 * r.Kp_) + 64;
  int8_t* mem = static_cast<int8_t*>(Allocator::default_instance().allocate(bytes, 64));
  if (!mem) return make_status(StatusCode::out_of_memory, "qgemm", "packing B needs ", bytes, " bytes");
  r.data_ = std::unique_ptr<int8_t, QGemmPackedB::Free>(mem, QGemmPackedB::Free{bytes});
  r.data_bytes_ = bytes;
  std::memset(mem, 0, bytes);
  r.col_sum_.assign(static_cast<size_t>(N16), 0);
  r.zero_point_.assign(static_cast<size_t>(N16), 0);

  const int64_t Kp = r.Kp_;
  for (int64_t n = 0; n < b.N; ++n) {
    const int32_t zp = b.zero_point ? b.zero_point[b.zero_point_count == 1 ? 0 : n] : (b.is_signed ? 0 : 128);
    r.zero_point_[static_cast<size_t>(n)] = b.is_signed ? zp : zp - 128;
    int32_t sum = 0;
    for (int64_t k = 0; k < b.K; ++k) {
      const int8_t v = b8(k, n);
      sum += v;
      int64_t off = 0;
      switch (t.layout) {
        case Layout::plain: off = n * Kp + k; break;
        case Layout::pair16: off = (n / 16) * Kp * 16 + (k / 2) * 32 + (n % 16) * 2 + (k % 2); break;
        case Layout::quad16: off = (n / 16) * Kp * 16 + (k / 4) * 64 + (n % 16) * 4 + (k % 4); break;
      }
      mem[off] = v;
    }
    r.col_sum_[static_cast<size_t>(n)] = sum;
  }
  return r;
}

// --- the call ------------------------------------------------------------------------------------

Status qgemm(const QGemmArgs& g, const QGemmPackedB& b) {
  const int64_t K = b.K(), N = b.N();
  if (g.M < 0) return make_status(StatusCode::invalid_argument, "qgemm", "M = ", g.M, " is negative");
  if (g.M == 0 || N == 0) return Status::ok();
  if (!b.data()) return make_status(StatusCode::invalid_argument, "qgemm", "B is not packed");
  if (!g.C) return make_status(StatusCode::invalid_argument, "qgemm", "C is null");
  if (K > 0 && !g.A) return make_status(StatusCode::invalid_argument, "qgemm", "A is null");
  if (g.lda < K) return make_status(StatusCode::invalid_argument, "qgemm", "lda ", g.lda, " is less than K = ", K);
  if (g.ldc < N) return make_status(StatusCode::invalid_argument, "qgemm", "ldc ", g.ldc, " is less than N = ", N);
  const int32_t alo = g.a_signed ? -128 : 0, ahi = g.a_signed ? 127 : 255;
  if (g.a_zero_point < alo || g.a_zero_point > ahi)
    return make_status(StatusCode::out_of_range, "qgemm", "A zero point ", g.a_zero_point, " is outside [", alo,
                       ", ", ahi, "]");
  const bool scaled = g.out != QGemmOut::s32;
  if (scaled && g.b_scale && g.b_scale_count != 1 && g.b_scale_count != N)
    return make_status(StatusCode::invalid_argument, "qgemm", "B has ", g.b_scale_count,
                       " scales; expected 1 or N = ", N);
  const bool quant_out = g.out == QGemmOut::u8 || g.out == QGemmOut::s8;
  if (quant_out && !(g.c_scale > 0.0f && std::isfinite(g.c_scale)))
    return make_status(StatusCode::invalid_argument, "qgemm", "output scale ", g.c_scale,
                       " is not a positive finite number");
  const int32_t clo = g.out == QGemmOut::s8 ? -128 : 0, chi = g.out == QGemmOut::s8 ? 127 : 255;
  if (quant_out && (g.c_zero_point < clo || g.c_zero_point > chi))
    return make_status(StatusCode::out_of_range, "qgemm", "output zero point ", g.c_zero_point, " is outside [",
                       clo, ", ", chi, "]");
  if (!qgemm_isa_supported(b.isa()))
    return make_status(StatusCode::unavailable, "qgemm", "B was packed for tier ", qgemm_isa_name(b.isa()),
                       ", which this CPU cannot run");
  TierInfo t = tier_info(b.isa());
#if defined(OBOL_HAVE_X86_ISAS)
  if (b.uses_maddubs()) t = TierInfo{Layout::quad16, 4, 6, 16, 1, &qgemm_block__avx2_maddubs};
#endif

  // Per-call column terms (see qgemm_impl.hpp), in this thread's slot 2.
  const int64_t N16 = round_up(N, 16);
  char* cols = static_cast<char*>(qgemm_scratch(2, static_cast<size_t>(N16) * 12));
  if (!cols) return make_status(StatusCode::out_of_memory, "qgemm", "no memory for ", N16, " column terms");
  int32_t* colterm = reinterpret_cast<int32_t*>(cols);
  float* mult = reinterpret_cast<float*>(cols + N16 * 4);
  float* bias = reinterpret_cast<float*>(cols + N16 * 8);
  const bool u8_conv = t.layout != Layout::pair16;
  const int32_t azu = g.a_signed ? g.a_zero_point + 128 : g.a_zero_point;
  for (int64_t n = 0; n < N16; ++n) {
    int32_t c = 0;
    float m = 0.0f, bf = 0.0f;
    if (n < N) {
      c = g.bias_s32 ? g.bias_s32[n] : 0;
      if (u8_conv) {
        c = wrap_sub(c, wrap_mul(azu, b.col_sum()[n]));
        c = wrap_add(c, wrap_mul(wrap_mul(static_cast<int32_t>(K), azu), b.zero_point()[n]));
      }
      const float bs = g.b_scale ? g.b_scale[g.b_scale_count == 1 ? 0 : n] : 1.0f;
      m = g.a_scale * bs;
      if (quant_out) m = m / g.c_scale;
      bf = (g.out == QGemmOut::f32 && g.bias_f32) ? g.bias_f32[n] : 0.0f;
    }
    colterm[n] = c;
    mult[n] = m;
    bias[n] = bf;
  }

  Plan p;
  p.M = g.M;
  p.N = N;
  p.K = K;
  p.Kp = b.K_padded();
  p.A = static_cast<const uint8_t*>(g.A);
  p.lda = g.lda;
  p.a_signed = g.a_signed;
  p.a_zp = g.a_zero_point;
  p.B = b.data();
  p.zb = b.zero_point();
  p.colterm = colterm;
  p.mult = mult;
  p.bias_f32 = bias;
  p.out = g.out;
  p.C = g.C;
  p.ldc = g.ldc;
  p.c_zp = g.c_zero_point;
  p.q_lo = static_cast<float>(clo - g.c_zero_point);
  p.q_hi = static_cast<float>(chi - g.c_zero_point);

  // Blocks: MC rows (packed A about 256 KiB, an L2 share) x a run of NR-column units.
  const int64_t a_row_bytes = std::max<int64_t>(1, p.Kp * t.a_bytes);
  int64_t mc = std::max<int64_t>(t.mr, (256 * 1024 / a_row_bytes) / t.mr * t.mr);
  mc = std::min<int64_t>(mc, std::max<int64_t>(t.mr, 192 / t.mr * t.mr));
  const int64_t m_blocks = (g.M + mc - 1) / mc;
  const int64_t n_units = (N + t.nr - 1) / t.nr;
  const int threads = obol::max_threads();
  // About four tasks per thread, and at least one column split per thread so that the task count
  // divides evenly when M gives few row blocks (each task packs its own rows of A; that is cheap).
  int64_t n_chunks = std::max<int64_t>(threads, (4 * threads + m_blocks - 1) / m_blocks);
  n_chunks = std::min<int64_t>(n_units, n_chunks);
  if (threads == 1) n_chunks = 1;
  const int64_t tasks = m_blocks * n_chunks;
  std::atomic<bool> ok{true};
  obol::parallel_for(tasks, [&](int64_t task) {
    const int64_t mb = task / n_chunks, nc = task % n_chunks;
    const int64_t m0 = mb * mc, m1 = std::min(g.M, m0 + mc);
    const int64_t u0 = n_units * nc / n_chunks, u1 = n_units * (nc + 1) / n_chunks;
    const int64_t n0 = u0 * t.nr, n1 = std::min(N, u1 * t.nr);
    if (m0 < m1 && n0 < n1 && !t.block(p, m0, m1, n0, n1)) ok.store(false);
  });
  if (!ok.load())
    return make_status(StatusCode::out_of_memory, "qgemm", "no scratch memory for packing A (K = ", K, ")");
  return Status::ok();
}

Status qgemm(const QGemmArgs& args, const QGemmB& b) {
  OBOL_ASSIGN_OR_RETURN(QGemmPackedB packed, qgemm_pack_b(b, qgemm_default_isa()));
  return qgemm(args, packed);
}

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
