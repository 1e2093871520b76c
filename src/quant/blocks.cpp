// Reference (de)quantizers of the GGUF blocks and the MatMulNBits int4 layout (obol/quant/blocks.hpp).
// The GGUF quantizers follow ggml's reference algorithms operation by operation so the bytes agree.
#include "obol/quant/blocks.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "obol/core/dtype.hpp"

namespace obol {
inline namespace v1 {
namespace quant {

namespace {

Status check_multiple(const char* what, int64_t n, int64_t block) {
  if (n < 0 || n % block != 0)
    return make_status(StatusCode::invalid_argument, "quant", what, ": ", n, " values is not a multiple of the ",
                       block, "-value block");
  return Status::ok();
}

// Round to nearest, ties to even, for |f| <= 4194303 (ggml's nearest_int).
inline int nearest_int(float f) {
  const float v = f + 12582912.f;
  int32_t i;
  std::memcpy(&i, &v, sizeof(i));
  return (i & 0x007fffff) - 0x00400000;
}

// Weighted least-squares search of a 4-bit scale and min for n values (ggml's make_qkx2_quants with
// use_mad = false). Returns the scale; *the_min receives -min.
float make_qkx2(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min, uint8_t* Laux,
                float rmin, float rdelta, int nstep) {
  float min = x[0];
  float max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float w = weights[i];
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    *the_min = -min;
    return 0.f;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    const int l = nearest_int(iscale * (x[i] - min));
    L[i] = static_cast<uint8_t>(std::max(0, std::min(nmax, l)));
    float diff = scale * L[i] + min - x[i];
    diff = diff * diff;
    best_error += weights[i] * diff;
  }
  if (nstep < 1) {
    *the_min = -min;
    return scale;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * is + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearest_int(iscale * (x[i] - min));
      l = std::max(0, std::min(nmax, l));
      Laux[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      sum_l += w * l;
      sum_l2 += w * l * l;
      sum_xl += w * l * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float cur_error = 0;
      for (int i = 0; i < n; ++i) {
        float diff = this_scale * Laux[i] + this_min - x[i];
        diff = diff * diff;
        cur_error += weights[i] * diff;
      }
      if (cur_error < best_error) {
        for (int i = 0; i < n; ++i) L[i] = Laux[i];
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

// A float-to-code conversion that stays defined for NaN and huge values.
inline int clamp_trunc(float v, int lo, int hi) {
  if (!(v >= static_cast<float>(lo))) return lo;
  if (v >= static_cast<float>(hi)) return hi;
  return static_cast<int>(v);
}

}  // namespace

Status quantize_q8_0(const float* x, int64_t n, block_q8_0* y) {
  OBOL_RETURN_IF_ERROR(check_multiple("q8_0", n, kQK8_0));
  for (int64_t b = 0; b < n / kQK8_0; ++b, x += kQK8_0) {
    float amax = 0.0f;
    for (int j = 0; j < kQK8_0; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / ((1 << 7) - 1);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = f32_to_f16(d);
    for (int j = 0; j < kQK8_0; ++j) {
      const float r = std::roundf(x[j] * id);
      y[b].qs[j] = static_cast<int8_t>(r != r ? 0 : std::max(-128.0f, std::min(127.0f, r)));
    }
  }
  return Status::ok();
}

Status dequantize_q8_0(const block_q8_0* x, int64_t n, float* y) {
  OBOL_RETURN_IF_ERROR(check_multiple("q8_0", n, kQK8_0));
  for (int64_t b = 0; b < n / kQK8_0; ++b) {
    const float d = f16_to_f32(x[b].d);
    for (int j = 0; j < kQK8_0; ++j) y[b * kQK8_0 + j] = x[b].qs[j] * d;
  }
  return Status::ok();
}

Status quantize_q4_0(const float* x, int64_t n, block_q4_0* y) {
  OBOL_RETURN_IF_ERROR(check_multiple("q4_0", n, kQK4_0));
  constexpr int qk = kQK4_0;
  for (int64_t b = 0; b < n / qk; ++b, x += qk) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < qk; ++j) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -8;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = f32_to_f16(d);
    for (int j = 0; j < qk / 2; ++j) {
      const int lo = std::min(15, clamp_trunc(x[j] * id + 8.5f, 0, 127));
      const int hi = std::min(15, clamp_trunc(x[qk / 2 + j] * id + 8.5f, 0, 127));
      y[b].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
  return Status::ok();
}

Status dequantize_q4_0(const block_q4_0* x, int64_t n, float* y) {
  OBOL_RETURN_IF_ERROR(check_multiple("q4_0", n, kQK4_0));
  constexpr int qk = kQK4_0;
  for (int64_t b = 0; b < n / qk; ++b) {
    const float d = f16_to_f32(x[b].d);
    for (int j = 0; j < qk / 2; ++j) {
      y[b * qk + j] = ((x[b].qs[j] & 0x0F) - 8) * d;
      y[b * qk + j + qk / 2] = ((x[b].qs[j] >> 4) - 8) * d;
    }
  }
  return Status::ok();
}

Status quantize_q4_K(const float* x, int64_t n, block_q4_K* y) {
  OBOL_RETURN_IF_ERROR(check_multiple("q4_K", n, kQK_K));
  uint8_t L[kQK_K];
  uint8_t Laux[32];
  float weights[32];
  float mins[kQK_K / 32];
  float scales[kQK_K / 32];
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < kQK_K / 32; ++j) {
      float sum_x2 = 0;
      for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
      const float av_x = std::sqrt(sum_x2 / 32);
      for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
      scales[j] = make_qkx2(32, 15, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -1.f, 0.1f, 20);
      if (scales[j] > max_scale) max_scale = scales[j];
      if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    block_q4_K& out = y[i];
    std::memset(out.scales, 0, sizeof(out.scales));
    for (int j = 0; j < kQK_K / 32; ++j) {
      // nearest_int of a non-negative value, stored through uint8_t as ggml does.
      uint8_t ls = static_cast<uint8_t>(nearest_int(inv_scale * scales[j]));
      uint8_t lm = static_cast<uint8_t>(nearest_int(inv_min * mins[j]));
      ls = std::min<uint8_t>(63, ls);
      lm = std::min<uint8_t>(63, lm);
      if (j < 4) {
        out.scales[j] = ls;
        out.scales[j + 4] = lm;
      } else {
        out.scales[j + 4] = static_cast<uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
        out.scales[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
        out.scales[j - 0] |= static_cast<uint8_t>((lm >> 4) << 6);
      }
    }
    out.d = f32_to_f16(max_scale / 63.f);
    out.dmin = f32_to_f16(max_min / 63.f);
    for (int j = 0; j < kQK_K / 32; ++j) {
      uint8_t sc, m;
      q4_K_scale_min(j, out.scales, &sc, &m);
      const float d = f16_to_f32(out.d) * sc;
      if (d == 0.0f) continue;
      const float dm = f16_to_f32(out.dmin) * m;
      for (int ii = 0; ii < 32; ++ii) {
        const float v = (x[32 * j + ii] + dm) / d;
        const int l = (v != v || std::fabs(v) > 4194303.f) ? (v > 0 ? 15 : 0) : nearest_int(v);
        L[32 * j + ii] = static_cast<uint8_t>(std::max(0, std::min(15, l)));
      }
    }
    uint8_t* q = out.qs;
    for (int j = 0; j < kQK_K; j += 64, q += 32)
      for (int l = 0; l < 32; ++l) q[l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
  }
  return Status::ok();
}

Status dequantize_q4_K(const block_q4_K* x, int64_t n, float* y) {
  OBOL_RETURN_IF_ERROR(check_multiple("q4_K", n, kQK_K));
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const uint8_t* q = x[i].qs;
    const float d = f16_to_f32(x[i].d);
    const float min = f16_to_f32(x[i].dmin);
    for (int j = 0, is = 0; j < kQK_K; j += 64, q += 32, is += 2) {
      uint8_t sc, m;
      q4_K_scale_min(is + 0, x[i].scales, &sc, &m);
      const float d1 = d * sc, m1 = min * m;
      q4_K_scale_min(is + 1, x[i].scales, &sc, &m);
      const float d2 = d * sc, m2 = min * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
    }
  }
  return Status::ok();
}

// --- MatMulNBits ---------------------------------------------------------------------------------

Result<NBitsLayout> nbits_layout(int64_t K, int64_t N, int64_t block_size) {
  if (K < 1 || N < 1)
    return make_status(StatusCode::invalid_argument, "quant", "MatMulNBits: K = ", K, " and N = ", N,
                       " must both be at least 1");
  if (block_size < 16 || block_size > 256 || (block_size & (block_size - 1)) != 0)
    return make_status(StatusCode::invalid_argument, "quant", "MatMulNBits: block_size ", block_size,
                       " is not a power of two in [16, 256]");
  NBitsLayout l;
  l.K = K;
  l.N = N;
  l.block_size = block_size;
  return l;
}

namespace {
Status check_layout(const NBitsLayout& l) {
  Result<NBitsLayout> r = nbits_layout(l.K, l.N, l.block_size);
  return r.is_ok() ? Status::ok() : r.status();
}
}  // namespace

Status nbits_quantize(const NBitsLayout& l, const float* W, int64_t ldw, bool symmetric, uint8_t* B, float* scales,
                      uint8_t* zero_points) {
  OBOL_RETURN_IF_ERROR(check_layout(l));
  if (ldw < l.N)
    return make_status(StatusCode::invalid_argument, "quant", "MatMulNBits: ldw ", ldw, " is less than N = ", l.N);
  if (!symmetric && !zero_points)
    return make_status(StatusCode::invalid_argument, "quant",
                       "MatMulNBits: asymmetric quantization needs a zero_points buffer");
  const int64_t kb = l.k_blocks(), bs = l.block_size;
  if (!symmetric) std::memset(zero_points, 0, static_cast<size_t>(l.zp_bytes()));
  std::memset(B, 0, static_cast<size_t>(l.b_bytes()));
  for (int64_t n = 0; n < l.N; ++n) {
    for (int64_t b = 0; b < kb; ++b) {
      const int64_t k0 = b * bs, k1 = std::min(l.K, k0 + bs);
      float mn = std::numeric_limits<float>::max(), mx = -mn;
      for (int64_t k = k0; k < k1; ++k) {
        const float v = W[k * ldw + n];
        if (v < mn) mn = v;
        if (v > mx) mx = v;
      }
      float scale;
      int zp = 8;
      if (symmetric) {
        const float m = std::fabs(mx) > std::fabs(mn) ? mx : mn;
        scale = m / -8.0f;
      } else {
        mn = std::min(mn, 0.0f);
        mx = std::max(mx, 0.0f);
        scale = (mx - mn) / 15.0f;
        float zpf = mn;
        if (scale != 0.0f) zpf = 0.f - mn / scale;
        zp = zpf < 0.0f ? 0 : zpf > 15.0f ? 15 : static_cast<int>(std::roundf(zpf));
        zero_points[n * l.zp_row_bytes() + b / 2] |= static_cast<uint8_t>((b & 1) ? zp << 4 : zp);
      }
      scales[n * kb + b] = scale;
      const float r = scale != 0.0f ? 1.0f / scale : 0.0f;
      uint8_t* blob = B + n * l.row_bytes() + b * l.blob_bytes();
      for (int64_t k = k0; k < k0 + bs; ++k) {
        int code = zp;
        if (k < k1) {
          const float q = std::roundf(W[k * ldw + n] * r + static_cast<float>(zp));
          code = !(q >= 0.0f) ? 0 : q > 15.0f ? 15 : static_cast<int>(q);
        }
        blob[(k - k0) / 2] |= static_cast<uint8_t>(((k - k0) & 1) ? code << 4 : code);
      }
    }
  }
  return Status::ok();
}

Status nbits_pack(const NBitsLayout& l, const uint8_t* codes, int64_t ldq, uint8_t pad_code, uint8_t* B) {
  OBOL_RETURN_IF_ERROR(check_layout(l));
  if (ldq < l.K)
    return make_status(StatusCode::invalid_argument, "quant", "MatMulNBits: ldq ", ldq, " is less than K = ", l.K);
  const int64_t padded = l.k_blocks() * l.block_size;
  for (int64_t n = 0; n < l.N; ++n) {
    uint8_t* row = B + n * l.row_bytes();
    for (int64_t k = 0; k < padded; k += 2) {
      const int lo = (k < l.K ? codes[n * ldq + k] : pad_code) & 15;
      const int hi = (k + 1 < l.K ? codes[n * ldq + k + 1] : pad_code) & 15;
      row[k / 2] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
  return Status::ok();
}

Status nbits_unpack(const NBitsLayout& l, const uint8_t* B, uint8_t* codes, int64_t ldq) {
  OBOL_RETURN_IF_ERROR(check_layout(l));
  if (ldq < l.K)
    return make_status(StatusCode::invalid_argument, "quant", "MatMulNBits: ldq ", ldq, " is less than K = ", l.K);
  for (int64_t n = 0; n < l.N; ++n) {
    const uint8_t* row = B + n * l.row_bytes();
    for (int64_t k = 0; k < l.K; ++k) codes[n * ldq + k] = static_cast<uint8_t>((row[k / 2] >> (4 * (k & 1))) & 15);
  }
  return Status::ok();
}

Status nbits_dequantize_rows(const NBitsLayout& l, const uint8_t* B, const float* scales,
                             const uint8_t* zero_points, int64_t n0, int64_t count, float* Wt, int64_t ldwt) {
  OBOL_RETURN_IF_ERROR(check_layout(l));
  if (n0 < 0 || count < 0 || n0 + count > l.N || ldwt < l.K)
    return make_status(StatusCode::out_of_range, "quant", "MatMulNBits: columns [", n0, ", ", n0 + count,
                       ") with ldwt ", ldwt, " do not fit N = ", l.N, ", K = ", l.K);
  const int64_t kb = l.k_blocks();
  for (int64_t n = n0; n < n0 + count; ++n) {
    const uint8_t* row = B + n * l.row_bytes();
    float* out = Wt + (n - n0) * ldwt;
    for (int64_t k = 0; k < l.K; ++k) {
      const int64_t b = k / l.block_size;
      const int code = (row[k / 2] >> (4 * (k & 1))) & 15;
      out[k] = static_cast<float>(code - nbits_zero_point(l, zero_points, n, b)) * scales[n * kb + b];
    }
  }
  return Status::ok();
}

Status nbits_dequantize(const NBitsLayout& l, const uint8_t* B, const float* scales, const uint8_t* zero_points,
                        float* W, int64_t ldw) {
  OBOL_RETURN_IF_ERROR(check_layout(l));
  if (ldw < l.N)
    return make_status(StatusCode::invalid_argument, "quant", "MatMulNBits: ldw ", ldw, " is less than N = ", l.N);
  const int64_t kb = l.k_blocks();
  for (int64_t n = 0; n < l.N; ++n) {
    const uint8_t* row = B + n * l.row_bytes();
    for (int64_t k = 0; k < l.K; ++k) {
      const int64_t b = k / l.block_size;
      const int code = (row[k / 2] >> (4 * (k & 1))) & 15;
      W[k * ldw + n] = static_cast<float>(code - nbits_zero_point(l, zero_points, n, b)) * scales[n * kb + b];
    }
  }
  return Status::ok();
}

}  // namespace quant
}  // inline namespace v1
}  // namespace obol
