// CPU kernels: Resize (opsets 10 to 19) and Upsample.
//
// Resizing is separable: each resized axis is interpolated on its own, with a table of taps
// (first input index, weights) per output position built from the ONNX reference formulas:
// coordinate transformation, then nearest / linear / cubic coefficients (antialiased variants for
// downscaling from opset 18), with edge clamping and optional exclude_outside renormalisation.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "common.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

namespace {

using graph::Graph;
using graph::Node;

enum class Mode { nearest, linear, cubic };
enum class Coord { half_pixel, half_pixel_symmetric, pytorch_half_pixel, align_corners, asymmetric, tf_half_pixel_for_nn, tf_crop_and_resize };
enum class NearestMode { round_prefer_floor, round_prefer_ceil, floor, ceil };
enum class AspectPolicy { stretch, not_larger, not_smaller };

struct ResizeAttrs {
  Mode mode = Mode::nearest;
  Coord coord = Coord::half_pixel;
  NearestMode nearest = NearestMode::round_prefer_floor;
  AspectPolicy policy = AspectPolicy::stretch;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  bool antialias = false;
  double extrapolation = 0.0;
  std::vector<int64_t> axes;
  bool legacy = false;  // Upsample and Resize-10: inputs (X, scales)
};

template <class E>
Result<E> parse_enum(const Node& node, const char* attr, const std::string& value,
                     std::initializer_list<std::pair<const char*, E>> options) {
  for (const auto& [name, e] : options)
    if (value == name) return e;
  return node_error(StatusCode::invalid_argument, node, "attribute ", attr, "='", value, "' is not supported");
}

Result<ResizeAttrs> parse_attrs(const Node& node) {
  ResizeAttrs a;
  a.legacy = node.op == graph::OpKind::Upsample || node.opset < 11;
  OBOL_ASSIGN_OR_RETURN(const std::string mode, node.attr_string("mode", "nearest"));
  OBOL_ASSIGN_OR_RETURN(a.mode, parse_enum<Mode>(node, "mode", mode == "bilinear" ? "linear" : mode,
                                                  {{"nearest", Mode::nearest}, {"linear", Mode::linear}, {"cubic", Mode::cubic}}));
  if (a.legacy) {
    a.coord = Coord::asymmetric;
    a.nearest = NearestMode::floor;
    return a;
  }
  OBOL_ASSIGN_OR_RETURN(const std::string coord, node.attr_string("coordinate_transformation_mode", "half_pixel"));
  OBOL_ASSIGN_OR_RETURN(a.coord, parse_enum<Coord>(node, "coordinate_transformation_mode", coord,
                                                    {{"half_pixel", Coord::half_pixel},
                                                     {"half_pixel_symmetric", Coord::half_pixel_symmetric},
                                                     {"pytorch_half_pixel", Coord::pytorch_half_pixel},
                                                     {"align_corners", Coord::align_corners},
                                                     {"asymmetric", Coord::asymmetric},
                                                     {"tf_half_pixel_for_nn", Coord::tf_half_pixel_for_nn},
                                                     {"tf_crop_and_resize", Coord::tf_crop_and_resize}}));
  OBOL_ASSIGN_OR_RETURN(const std::string nearest, node.attr_string("nearest_mode", "round_prefer_floor"));
  OBOL_ASSIGN_OR_RETURN(a.nearest, parse_enum<NearestMode>(node, "nearest_mode", nearest,
                                                            {{"round_prefer_floor", NearestMode::round_prefer_floor},
                                                             {"round_prefer_ceil", NearestMode::round_prefer_ceil},
                                                             {"floor", NearestMode::floor},
                                                             {"ceil", NearestMode::ceil}}));
  OBOL_ASSIGN_OR_RETURN(const std::string policy, node.attr_string("keep_aspect_ratio_policy", "stretch"));
  OBOL_ASSIGN_OR_RETURN(a.policy, parse_enum<AspectPolicy>(node, "keep_aspect_ratio_policy", policy,
                                                            {{"stretch", AspectPolicy::stretch},
                                                             {"not_larger", AspectPolicy::not_larger},
                                                             {"not_smaller", AspectPolicy::not_smaller}}));
  OBOL_ASSIGN_OR_RETURN(const float cubic_a, node.attr_float("cubic_coeff_a", -0.75f));
  OBOL_ASSIGN_OR_RETURN(const int64_t exclude, node.attr_int("exclude_outside", 0));
  OBOL_ASSIGN_OR_RETURN(const int64_t antialias, node.attr_int("antialias", 0));
  OBOL_ASSIGN_OR_RETURN(const float extrapolation, node.attr_float("extrapolation_value", 0.0f));
  OBOL_ASSIGN_OR_RETURN(a.axes, node.attr_ints("axes"));
  a.cubic_a = cubic_a;
  a.exclude_outside = exclude != 0;
  a.antialias = antialias != 0;
  a.extrapolation = extrapolation;
  if (a.antialias && a.mode == Mode::nearest)
    return node_error(StatusCode::invalid_argument, node, "antialias is not defined for mode nearest");
  return a;
}

// Interpolation coefficients for a source position with fractional part `ratio` in (0, 1].
void coefficients(const ResizeAttrs& a, double ratio, double scale, std::vector<double>& c) {
  c.clear();
  if (a.mode == Mode::nearest) {
    if (ratio == 1.0) {
      c = {0.0, 1.0};
      return;
    }
    bool right = false;
    switch (a.nearest) {
      case NearestMode::round_prefer_floor: right = ratio > 0.5; break;
      case NearestMode::round_prefer_ceil: right = ratio >= 0.5; break;
      case NearestMode::floor: right = false; break;
      case NearestMode::ceil: right = true; break;
    }
    c = {right ? 0.0 : 1.0, right ? 1.0 : 0.0};
    return;
  }
  if (a.mode == Mode::linear) {
    if (!a.antialias) {
      c = {1.0 - ratio, ratio};
      return;
    }
    const double s = std::min(scale, 1.0);
    const int start = static_cast<int>(std::floor(-1.0 / s) + 1);
    const int footprint = 2 - 2 * start;
    double sum = 0;
    for (int i = 0; i < footprint; ++i) {
      const double v = std::clamp(1.0 - std::fabs((start + i - ratio) * s), 0.0, 1.0);
      c.push_back(v);
      sum += v;
    }
    for (double& v : c) v /= sum;
    return;
  }
  const double A = a.cubic_a;
  if (!a.antialias) {
    const double r1 = ratio + 1, q = 1 - ratio, q1 = q + 1;
    c = {((A * r1 - 5 * A) * r1 + 8 * A) * r1 - 4 * A, ((A + 2) * ratio - (A + 3)) * ratio * ratio + 1,
         ((A + 2) * q - (A + 3)) * q * q + 1, ((A * q1 - 5 * A) * q1 + 8 * A) * q1 - 4 * A};
    return;
  }
  const double s = std::min(scale, 1.0);
  auto k = [A](double x) {
    x = std::fabs(x);
    if (x <= 1) return (A + 2) * x * x * x - (A + 3) * x * x + 1;
    if (x < 2) return A * x * x * x - 5 * A * x * x + 8 * A * x - 4 * A;
    return 0.0;
  };
  const int i_start = static_cast<int>(std::floor(-2.0 / s) + 1);
  const int i_end = 2 - i_start;
  double sum = 0;
  for (int i = i_start; i < i_end; ++i) {
    c.push_back(k(s * (i - ratio)));
    sum += c.back();
  }
  for (double& v : c) v /= sum;
}

// Taps of one axis: for output position o, weights[o * n + j] applies to input index idx[o * n + j];
// extrapolate[o] marks tf_crop_and_resize positions outside the input.
struct AxisTaps {
  int n = 0;
  std::vector<int64_t> idx;
  std::vector<double> w;
  std::vector<char> extrapolate;
};

AxisTaps build_taps(const ResizeAttrs& a, int64_t in, int64_t out, double scale, double roi_start, double roi_end) {
  AxisTaps t;
  const double out_w = scale * static_cast<double>(in);
  std::vector<double> c;
  t.extrapolate.assign(static_cast<size_t>(out), 0);
  for (int64_t o = 0; o < out; ++o) {
    const double y = static_cast<double>(o);
    double x = 0;
    switch (a.coord) {
      case Coord::half_pixel: x = (y + 0.5) / scale - 0.5; break;
      case Coord::half_pixel_symmetric: {
        const double adjustment = static_cast<double>(out) / out_w;
        const double center = static_cast<double>(in) / 2;
        x = center * (1 - adjustment) + (y + 0.5) / scale - 0.5;
        break;
      }
      case Coord::pytorch_half_pixel: x = out_w == 1 ? -0.5 : (y + 0.5) / scale - 0.5; break;
      case Coord::align_corners: x = out_w == 1 ? 0.0 : y * static_cast<double>(in - 1) / (out_w - 1); break;
      case Coord::asymmetric: x = y / scale; break;
      case Coord::tf_half_pixel_for_nn: x = (y + 0.5) / scale; break;
      case Coord::tf_crop_and_resize:
        x = out_w == 1 ? (roi_end - roi_start) * static_cast<double>(in - 1) / 2
                       : y * (roi_end - roi_start) * static_cast<double>(in - 1) / (out_w - 1);
        x += roi_start * static_cast<double>(in - 1);
        if (x < 0 || x > static_cast<double>(in - 1)) t.extrapolate[static_cast<size_t>(o)] = 1;
        break;
    }
    const double xf = std::floor(x);
    const double ratio = x == xf ? 1.0 : x - xf;
    coefficients(a, ratio, scale, c);
    const int n = static_cast<int>(c.size());
    if (t.n == 0) t.n = n;
    // The n points nearest to x (ties to the smaller index), in edge-padded coordinates.
    const int pad = (n + 1) / 2;
    const double xp = x + pad;
    const double p = std::floor(xp);
    const double frac = xp - p;
    int64_t offset;
    if (n % 2 == 0) {
      offset = frac == 0 ? -(n / 2) : -(n / 2) + 1;
    } else {
      const int64_t base = -((n - 1) / 2);
      offset = frac <= 0.5 ? base : base + 1;
    }
    const int64_t start = static_cast<int64_t>(p) + offset - pad;
    double sum = 0;
    for (int j = 0; j < n; ++j) {
      const int64_t i = start + j;
      if (a.exclude_outside && (i < 0 || i >= in)) c[static_cast<size_t>(j)] = 0;
      sum += c[static_cast<size_t>(j)];
    }
    for (int j = 0; j < n; ++j) {
      t.idx.push_back(std::clamp<int64_t>(start + j, 0, in - 1));
      t.w.push_back(a.exclude_outside && sum != 0 ? c[static_cast<size_t>(j)] / sum : c[static_cast<size_t>(j)]);
    }
  }
  return t;
}

// Resizes `src` (shape `in`) along `axis` into `dst` (shape `in` with that axis = out).
void resize_axis(const double* src, double* dst, const Shape& in, int axis, int64_t out, const AxisTaps& t,
                 double extrapolation) {
  const int64_t outer = in.numel_range(0, axis);
  const int64_t len = in[axis];
  const int64_t inner = in.numel_range(axis + 1, in.rank());
  parallel_for_range(outer, 1, [&](int64_t ob, int64_t oe) {
    for (int64_t o = ob; o < oe; ++o)
      for (int64_t q = 0; q < out; ++q) {
        double* d = dst + (o * out + q) * inner;
        if (t.extrapolate[static_cast<size_t>(q)]) {
          for (int64_t e = 0; e < inner; ++e) d[e] = extrapolation;
          continue;
        }
        for (int64_t e = 0; e < inner; ++e) d[e] = 0;
        for (int j = 0; j < t.n; ++j) {
          const double w = t.w[static_cast<size_t>(q * t.n + j)];
          if (w == 0) continue;
          const double* s = src + (o * len + t.idx[static_cast<size_t>(q * t.n + j)]) * inner;
          for (int64_t e = 0; e < inner; ++e) d[e] += w * s[e];
        }
      }
  });
}

template <class T>
double load(const void* p, int64_t i) {
  if constexpr (std::is_same_v<T, F16>) return f16_to_f32(static_cast<const uint16_t*>(p)[i]);
  else if constexpr (std::is_same_v<T, BF16>) return bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
  else return static_cast<double>(static_cast<const T*>(p)[i]);
}

template <class T>
void store(void* p, int64_t i, double v) {
  if constexpr (std::is_same_v<T, F16>) static_cast<uint16_t*>(p)[i] = f32_to_f16(static_cast<float>(v));
  else if constexpr (std::is_same_v<T, BF16>) static_cast<uint16_t*>(p)[i] = f32_to_bf16(static_cast<float>(v));
  else if constexpr (std::is_floating_point_v<T>) static_cast<T*>(p)[i] = static_cast<T>(v);
  else {
    const double lo = static_cast<double>(std::numeric_limits<T>::lowest());
    const double hi = static_cast<double>(std::numeric_limits<T>::max());
    static_cast<T*>(p)[i] = static_cast<T>(std::clamp(std::nearbyint(v), lo, hi));
  }
}

Result<std::unique_ptr<backend::Kernel>> make_resize(const Graph&, const Node& node) {
  OBOL_ASSIGN_OR_RETURN(const ResizeAttrs attrs, parse_attrs(node));
  if (attrs.legacy) OBOL_RETURN_IF_ERROR(check_arity(node, 1, 2, 1, 1));
  else OBOL_RETURN_IF_ERROR(check_arity(node, 1, 4, 1, 1));
  if (node.op == graph::OpKind::Upsample && node.opset < 9 && !node.find_attribute("scales"))
    return node_error(StatusCode::invalid_argument, node, "Upsample before opset 9 needs a 'scales' attribute");
  OBOL_ASSIGN_OR_RETURN(const std::vector<float> scales_attr, node.attr_floats("scales"));
  return make_kernel([node, attrs, scales_attr](backend::KernelContext& ctx) -> Status {
    const TensorView& x = ctx.input(0);
    const int r = x.rank();
    // Which axes are resized, in the order scales/sizes/roi list them.
    std::vector<int64_t> axes;
    for (int64_t ax : attrs.axes) {
      auto n = x.shape().normalize_axis(ax);
      if (!n.is_ok()) return node_error(StatusCode::invalid_argument, node, n.status().message());
      axes.push_back(*n);
    }
    if (axes.empty())
      for (int d = 0; d < r; ++d) axes.push_back(d);
    const size_t na = axes.size();

    std::vector<double> scale(static_cast<size_t>(r), 1.0);
    std::vector<int64_t> out(x.shape().begin(), x.shape().end());
    std::vector<double> roi_start(static_cast<size_t>(r), 0.0), roi_end(static_cast<size_t>(r), 1.0);
    const int scales_in = attrs.legacy ? 1 : 2;
    const int sizes_in = attrs.legacy ? -1 : 3;
    std::vector<double> scales;
    if (!scales_attr.empty()) scales.assign(scales_attr.begin(), scales_attr.end());
    if (ctx.has_input(scales_in) && ctx.input(scales_in).numel() > 0) {
      OBOL_ASSIGN_OR_RETURN(scales, read_doubles(ctx.input(scales_in), "scales"));
    }
    std::vector<int64_t> sizes;
    if (sizes_in > 0 && ctx.has_input(sizes_in) && ctx.input(sizes_in).numel() > 0) {
      OBOL_ASSIGN_OR_RETURN(sizes, read_ints(ctx.input(sizes_in), "sizes"));
    }
    if (!attrs.legacy && ctx.has_input(1) && ctx.input(1).numel() > 0) {
      OBOL_ASSIGN_OR_RETURN(std::vector<double> roi, read_doubles(ctx.input(1), "roi"));
      if (roi.size() != 2 * na && attrs.coord == Coord::tf_crop_and_resize)
        return node_error(StatusCode::invalid_argument, node, "roi has ", roi.size(), " values, expected ", 2 * na);
      if (roi.size() == 2 * na)
        for (size_t i = 0; i < na; ++i) {
          roi_start[static_cast<size_t>(axes[i])] = roi[i];
          roi_end[static_cast<size_t>(axes[i])] = roi[na + i];
        }
    }
    if (!sizes.empty() == !scales.empty())
      return node_error(StatusCode::invalid_argument, node, "exactly one of scales and sizes must be given");
    if (!scales.empty()) {
      if (scales.size() != na)
        return node_error(StatusCode::invalid_argument, node, "scales has ", scales.size(), " values, expected ", na);
      for (size_t i = 0; i < na; ++i) {
        if (!(scales[i] > 0)) return node_error(StatusCode::invalid_argument, node, "scales must be positive");
        const size_t d = static_cast<size_t>(axes[i]);
        scale[d] = scales[i];
        out[d] = static_cast<int64_t>(scales[i] * static_cast<double>(x.shape()[axes[i]]));
      }
    } else {
      if (sizes.size() != na)
        return node_error(StatusCode::invalid_argument, node, "sizes has ", sizes.size(), " values, expected ", na);
      for (size_t i = 0; i < na; ++i) {
        if (sizes[i] < 0) return node_error(StatusCode::invalid_argument, node, "sizes must be non-negative");
        const size_t d = static_cast<size_t>(axes[i]);
        scale[d] = static_cast<double>(sizes[i]) / static_cast<double>(x.shape()[axes[i]]);
        out[d] = sizes[i];
      }
      if (attrs.policy != AspectPolicy::stretch) {
        double s = attrs.policy == AspectPolicy::not_larger ? 1e300 : 0.0;
        for (int64_t ax : axes)
          s = attrs.policy == AspectPolicy::not_larger ? std::min(s, scale[static_cast<size_t>(ax)])
                                                      : std::max(s, scale[static_cast<size_t>(ax)]);
        for (int64_t ax : axes) {
          scale[static_cast<size_t>(ax)] = s;
          out[static_cast<size_t>(ax)] = static_cast<int64_t>(s * static_cast<double>(x.shape()[static_cast<int>(ax)]) + 0.5);
        }
      }
    }
    Shape out_shape;
    for (int64_t d : out) out_shape.push_back(d);
    OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, x.dtype(), out_shape));
    if (y.numel() == 0) return Status::ok();
    for (int d = 0; d < r; ++d)
      if (x.shape()[d] == 0) return node_error(StatusCode::invalid_argument, node, "cannot resize an empty axis to ", out[static_cast<size_t>(d)]);

    // Work in double, one axis at a time, ping-ponging between two scratch buffers.
    int64_t biggest = x.numel();
    {
      Shape s = x.shape();
      for (int d = 0; d < r; ++d) {
        s[d] = out[static_cast<size_t>(d)];
        biggest = std::max(biggest, s.numel());
      }
    }
    OBOL_ASSIGN_OR_RETURN(void* scratch, ctx.scratch(static_cast<size_t>(biggest) * 2 * sizeof(double)));
    double* a = static_cast<double*>(scratch);
    double* b = a + biggest;
    return dispatch_dtype<OBOL_CPU_ALL_TYPES>(x.dtype(), "Resize", [&](auto tag) -> Status {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, bool>) {
        return node_error(StatusCode::unsupported, node, "bool tensors cannot be resized");
      } else {
        for (int64_t i = 0; i < x.numel(); ++i) a[i] = load<T>(x.data(), i);
        Shape cur = x.shape();
        for (int d = 0; d < r; ++d) {
          const size_t du = static_cast<size_t>(d);
          const bool identity = out[du] == cur[d] && scale[du] == 1.0 && roi_start[du] == 0.0 && roi_end[du] == 1.0;
          if (identity) continue;
          const AxisTaps taps = build_taps(attrs, cur[d], out[du], scale[du], roi_start[du], roi_end[du]);
          resize_axis(a, b, cur, d, out[du], taps, attrs.extrapolation);
          cur[d] = out[du];
          std::swap(a, b);
        }
        for (int64_t i = 0; i < y.numel(); ++i) store<T>(y.data(), i, a[i]);
        return Status::ok();
      }
    });
  });
}

}  // namespace

void register_resize(CpuOpRegistry& r) {
  r.add(graph::OpKind::Resize, &make_resize);
  r.add(graph::OpKind::Upsample, &make_resize);
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
