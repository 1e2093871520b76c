// CPU kernels: signal processing (DFT, STFT, the Hann / Hamming / Blackman windows, MelWeightMatrix).
//
// Transforms run in double precision: a radix-2 FFT when the length is a power of two, a direct
// O(n^2) DFT otherwise.
#include <cmath>
#include <complex>
#include <cstring>
#include <vector>

#include "common.hpp"
#include "tensor_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

namespace {

using graph::Graph;
using graph::Node;
using cd = std::complex<double>;

constexpr double kPi = 3.14159265358979323846;

// In-place transform of `a` (inverse: positive exponent, no scaling).
void transform(std::vector<cd>& a, bool inverse, std::vector<cd>& work) {
  const size_t n = a.size();
  if (n <= 1) return;
  const double sign = inverse ? 1.0 : -1.0;
  if ((n & (n - 1)) == 0) {
    for (size_t i = 1, j = 0; i < n; ++i) {
      size_t bit = n >> 1;
      for (; j & bit; bit >>= 1) j ^= bit;
      j ^= bit;
      if (i < j) std::swap(a[i], a[j]);
    }
    for (size_t len = 2; len <= n; len <<= 1) {
      for (size_t i = 0; i < n; i += len)
        for (size_t k = 0; k < len / 2; ++k) {
          const double ang = sign * 2.0 * kPi * static_cast<double>(k) / static_cast<double>(len);
          const cd w(std::cos(ang), std::sin(ang));
          const cd u = a[i + k], v = a[i + k + len / 2] * w;
          a[i + k] = u + v;
          a[i + k + len / 2] = u - v;
        }
    }
    return;
  }
  work.assign(n, cd(0, 0));
  for (size_t k = 0; k < n; ++k) {
    cd s(0, 0);
    for (size_t t = 0; t < n; ++t) {
      // (k * t) mod n keeps the angle small, so large lengths stay accurate.
      const double ang = sign * 2.0 * kPi * static_cast<double>((k * t) % n) / static_cast<double>(n);
      s += a[t] * cd(std::cos(ang), std::sin(ang));
    }
    work[k] = s;
  }
  a.swap(work);
}

template <class T>
double load(const T* p) {
  return static_cast<double>(*p);
}

Result<int64_t> scalar_int(const Node& node, const TensorView& t, const char* what) {
  if (t.numel() != 1) return node_error(StatusCode::invalid_argument, node, what, " must be a scalar, found ", t.shape().to_string());
  OBOL_ASSIGN_OR_RETURN(const std::vector<int64_t> v, read_ints(t, what));
  return v[0];
}

Result<double> scalar_real(const Node& node, const TensorView& t, const char* what) {
  if (t.numel() != 1) return node_error(StatusCode::invalid_argument, node, what, " must be a scalar, found ", t.shape().to_string());
  OBOL_ASSIGN_OR_RETURN(const std::vector<double> v, read_doubles(t, what));
  return v[0];
}

// --- DFT ------------------------------------------------------------------------------------------

Result<std::unique_ptr<backend::Kernel>> make_dft(const Graph&, const Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 3, 1, 1));
  // Opset 20 moved axis from an attribute (default 1) to input 2 (default -2).
  const bool axis_input = node.opset >= 20;
  OBOL_ASSIGN_OR_RETURN(const int64_t axis_default, node.attr_int("axis", axis_input ? -2 : 1));
  OBOL_ASSIGN_OR_RETURN(const int64_t inverse, node.attr_int("inverse", 0));
  OBOL_ASSIGN_OR_RETURN(const int64_t onesided, node.attr_int("onesided", 0));
  return make_kernel([node, axis_input, axis_default, inverse, onesided](backend::KernelContext& ctx) -> Status {
    const TensorView& x = ctx.input(0);
    const int r = x.rank();
    int64_t axis_attr = axis_default;
    if (axis_input && ctx.has_input(2)) {
      OBOL_ASSIGN_OR_RETURN(axis_attr, scalar_int(node, ctx.input(2), "axis"));
    }
    if (r < 2 || (x.shape()[r - 1] != 1 && x.shape()[r - 1] != 2))
      return node_error(StatusCode::invalid_argument, node, "input must be [..., 1] (real) or [..., 2] (complex), found ",
                        x.shape().to_string());
    const int64_t axis = axis_attr < 0 ? axis_attr + r : axis_attr;
    if (axis < 0 || axis > r - 2)
      return node_error(StatusCode::out_of_range, node, "axis ", axis_attr, " is outside [", -r, ", ", r - 2, "]");
    const bool complex_in = x.shape()[r - 1] == 2;
    const int64_t in_len = x.shape()[static_cast<int>(axis)];
    int64_t n = inverse != 0 && onesided != 0 ? 2 * (in_len - 1) : in_len;
    if (ctx.input_count() > 1 && ctx.has_input(1)) {
      OBOL_ASSIGN_OR_RETURN(n, scalar_int(node, ctx.input(1), "dft_length"));
      if (n <= 0) return node_error(StatusCode::invalid_argument, node, "dft_length must be positive, found ", n);
    }
    const bool irfft = inverse != 0 && onesided != 0;
    const int64_t out_len = irfft ? n : onesided != 0 ? n / 2 + 1 : n;
    Shape out_shape = x.shape();
    out_shape[static_cast<int>(axis)] = out_len;
    out_shape[r - 1] = irfft ? 1 : 2;
    OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, x.dtype(), out_shape));
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < axis; ++i) outer *= x.shape()[i];
    for (int i = static_cast<int>(axis) + 1; i < r - 1; ++i) inner *= x.shape()[i];
    const int64_t cin = x.shape()[r - 1], cout = out_shape[r - 1];
    return dispatch_dtype<OBOL_CPU_FLOAT_TYPES>(x.dtype(), "DFT", [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.data_as<const T>();
      T* py = y.data_as<T>();
      std::vector<cd> a, work;
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          a.assign(static_cast<size_t>(n), cd(0, 0));
          auto at = [&](int64_t k) { return px + ((o * in_len + k) * inner + i) * cin; };
          if (irfft) {
            // Rebuild the full Hermitian spectrum from its first half.
            for (int64_t k = 0; k < n; ++k) {
              const int64_t src = k < in_len ? k : n - k;
              if (src < 0 || src >= in_len) continue;
              const cd v(load(at(src)), complex_in ? load(at(src) + 1) : 0.0);
              a[static_cast<size_t>(k)] = k < in_len ? v : std::conj(v);
            }
          } else {
            for (int64_t k = 0; k < std::min(n, in_len); ++k)
              a[static_cast<size_t>(k)] = cd(load(at(k)), complex_in ? load(at(k) + 1) : 0.0);
          }
          transform(a, inverse != 0, work);
          const double scale = inverse != 0 ? 1.0 / static_cast<double>(n) : 1.0;
          for (int64_t k = 0; k < out_len; ++k) {
            T* q = py + ((o * out_len + k) * inner + i) * cout;
            q[0] = static_cast<T>(a[static_cast<size_t>(k)].real() * scale);
            if (cout == 2) q[1] = static_cast<T>(a[static_cast<size_t>(k)].imag() * scale);
          }
        }
      return Status::ok();
    });
  });
}

// --- STFT -----------------------------------------------------------------------------------------

Result<std::unique_ptr<backend::Kernel>> make_stft(const Graph&, const Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 4, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const int64_t onesided, node.attr_int("onesided", 1));
  return make_kernel([node, onesided](backend::KernelContext& ctx) -> Status {
    const TensorView& x = ctx.input(0);
    if (x.rank() != 3 || (x.shape()[2] != 1 && x.shape()[2] != 2))
      return node_error(StatusCode::invalid_argument, node, "signal must be [batch, length, 1 or 2], found ", x.shape().to_string());
    OBOL_ASSIGN_OR_RETURN(const int64_t step, scalar_int(node, ctx.input(1), "frame_step"));
    if (step <= 0) return node_error(StatusCode::invalid_argument, node, "frame_step must be positive, found ", step);
    const bool has_window = ctx.input_count() > 2 && ctx.has_input(2);
    const bool has_len = ctx.input_count() > 3 && ctx.has_input(3);
    const int64_t len = x.shape()[1];
    int64_t frame_len = len;
    if (has_window) {
      const TensorView& w = ctx.input(2);
      if (w.rank() != 1) return node_error(StatusCode::invalid_argument, node, "window must be 1-D, found ", w.shape().to_string());
      if (w.dtype() != x.dtype()) return node_error(StatusCode::invalid_argument, node, "window must have the signal's element type");
      frame_len = w.shape()[0];
    }
    if (has_len) {
      OBOL_ASSIGN_OR_RETURN(const int64_t fl, scalar_int(node, ctx.input(3), "frame_length"));
      if (has_window && fl != frame_len)
        return node_error(StatusCode::invalid_argument, node, "frame_length ", fl, " differs from the window length ", frame_len);
      frame_len = fl;
    }
    if (frame_len <= 0 || frame_len > len)
      return node_error(StatusCode::invalid_argument, node, "frame length ", frame_len, " must be in [1, ", len, "]");
    const int64_t frames = 1 + (len - frame_len) / step;
    const int64_t bins = onesided != 0 ? frame_len / 2 + 1 : frame_len;
    const int64_t batch = x.shape()[0], cin = x.shape()[2];
    OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, x.dtype(), Shape{batch, frames, bins, 2}));
    return dispatch_dtype<OBOL_CPU_FLOAT_TYPES>(x.dtype(), "STFT", [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.data_as<const T>();
      const T* pw = has_window ? ctx.input(2).data_as<const T>() : nullptr;
      T* py = y.data_as<T>();
      std::vector<cd> a, work;
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t f = 0; f < frames; ++f) {
          a.assign(static_cast<size_t>(frame_len), cd(0, 0));
          for (int64_t k = 0; k < frame_len; ++k) {
            const T* p = px + (b * len + f * step + k) * cin;
            const double w = pw != nullptr ? static_cast<double>(pw[k]) : 1.0;
            a[static_cast<size_t>(k)] = cd(load(p) * w, cin == 2 ? load(p + 1) * w : 0.0);
          }
          transform(a, false, work);
          for (int64_t k = 0; k < bins; ++k) {
            T* q = py + ((b * frames + f) * bins + k) * 2;
            q[0] = static_cast<T>(a[static_cast<size_t>(k)].real());
            q[1] = static_cast<T>(a[static_cast<size_t>(k)].imag());
          }
        }
      return Status::ok();
    });
  });
}

// --- Windows --------------------------------------------------------------------------------------

enum class WindowKind { hann, hamming, blackman };

template <WindowKind K>
Result<std::unique_ptr<backend::Kernel>> make_window(const Graph&, const Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 1, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const int64_t periodic, node.attr_int("periodic", 1));
  OBOL_ASSIGN_OR_RETURN(const int64_t odt, node.attr_int("output_datatype", 1));
  OBOL_ASSIGN_OR_RETURN(const DType dt, dtype_from_onnx(node, odt, "output_datatype"));
  const NodeTag tag(node);
  return make_kernel([node, tag, periodic, dt](backend::KernelContext& ctx) -> Status {
    OBOL_ASSIGN_OR_RETURN(const int64_t size, scalar_int(node, ctx.input(0), "size"));
    if (size < 0) return node_error(StatusCode::invalid_argument, node, "size must be >= 0, found ", size);
    OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, dt, Shape{size}));
    const double denom = static_cast<double>(periodic != 0 ? size : size - 1);
    const size_t es = dtype_size(dt);
    for (int64_t i = 0; i < size; ++i) {
      const double t = denom > 0 ? 2.0 * kPi * static_cast<double>(i) / denom : 0.0;
      double v = 0;
      if constexpr (K == WindowKind::hann) v = 0.5 - 0.5 * std::cos(t);
      else if constexpr (K == WindowKind::hamming) v = 25.0 / 46.0 - (1.0 - 25.0 / 46.0) * std::cos(t);
      else v = 0.42 - 0.5 * std::cos(t) + 0.08 * std::cos(2.0 * t);
      OBOL_RETURN_IF_ERROR(encode_scalar(tag, dt, v, static_cast<char*>(y.data()) + static_cast<size_t>(i) * es));
    }
    return Status::ok();
  });
}

// --- MelWeightMatrix ------------------------------------------------------------------------------

Result<std::unique_ptr<backend::Kernel>> make_mel(const Graph&, const Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 5, 5, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const int64_t odt, node.attr_int("output_datatype", 1));
  OBOL_ASSIGN_OR_RETURN(const DType dt, dtype_from_onnx(node, odt, "output_datatype"));
  const NodeTag tag(node);
  return make_kernel([node, tag, dt](backend::KernelContext& ctx) -> Status {
    OBOL_ASSIGN_OR_RETURN(const int64_t mels, scalar_int(node, ctx.input(0), "num_mel_bins"));
    OBOL_ASSIGN_OR_RETURN(const int64_t dft_len, scalar_int(node, ctx.input(1), "dft_length"));
    OBOL_ASSIGN_OR_RETURN(const int64_t rate, scalar_int(node, ctx.input(2), "sample_rate"));
    OBOL_ASSIGN_OR_RETURN(const double lo, scalar_real(node, ctx.input(3), "lower_edge_hertz"));
    OBOL_ASSIGN_OR_RETURN(const double hi, scalar_real(node, ctx.input(4), "upper_edge_hertz"));
    if (mels <= 0 || dft_len <= 0 || rate <= 0)
      return node_error(StatusCode::invalid_argument, node, "num_mel_bins, dft_length and sample_rate must be positive");
    if (lo < 0 || hi <= lo || hi > static_cast<double>(rate) / 2.0)
      return node_error(StatusCode::invalid_argument, node, "edge frequencies must satisfy 0 <= lower < upper <= sample_rate / 2, found ",
                        lo, " and ", hi);
    const int64_t spec_bins = dft_len / 2 + 1;
    // Mel-spaced band edges mapped to spectrogram bin indices.
    const double lo_mel = 2595.0 * std::log10(1.0 + lo / 700.0), hi_mel = 2595.0 * std::log10(1.0 + hi / 700.0);
    const double step = (hi_mel - lo_mel) / static_cast<double>(mels + 2);
    std::vector<int64_t> edges(static_cast<size_t>(mels + 2));
    for (int64_t i = 0; i < mels + 2; ++i) {
      const double hz = 700.0 * (std::pow(10.0, (static_cast<double>(i) * step + lo_mel) / 2595.0) - 1.0);
      edges[static_cast<size_t>(i)] = static_cast<int64_t>(std::floor(static_cast<double>(dft_len + 1) * hz / static_cast<double>(rate)));
    }
    std::vector<double> w(static_cast<size_t>(spec_bins * mels), 0.0);
    auto set = [&](int64_t j, int64_t i, double v) {
      if (j >= 0 && j < spec_bins) w[static_cast<size_t>(j * mels + i)] = v;
    };
    for (int64_t i = 0; i < mels; ++i) {
      const int64_t l = edges[static_cast<size_t>(i)], c = edges[static_cast<size_t>(i + 1)], h = edges[static_cast<size_t>(i + 2)];
      if (c == l) set(c, i, 1.0);
      else
        for (int64_t j = l; j <= c; ++j) set(j, i, static_cast<double>(j - l) / static_cast<double>(c - l));
      if (h > c)
        for (int64_t j = c; j < h; ++j) set(j, i, static_cast<double>(h - j) / static_cast<double>(h - c));
    }
    OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, dt, Shape{spec_bins, mels}));
    const size_t es = dtype_size(dt);
    for (size_t k = 0; k < w.size(); ++k) OBOL_RETURN_IF_ERROR(encode_scalar(tag, dt, w[k], static_cast<char*>(y.data()) + k * es));
    return Status::ok();
  });
}

}  // namespace

void register_signal(CpuOpRegistry& r) {
  r.add(graph::OpKind::DFT, &make_dft);
  r.add(graph::OpKind::STFT, &make_stft);
  r.add(graph::OpKind::HannWindow, &make_window<WindowKind::hann>);
  r.add(graph::OpKind::HammingWindow, &make_window<WindowKind::hamming>);
  r.add(graph::OpKind::BlackmanWindow, &make_window<WindowKind::blackman>);
  r.add(graph::OpKind::MelWeightMatrix, &make_mel);
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
