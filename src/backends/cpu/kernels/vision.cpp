// CPU kernels: detection and sampling operators (NonMaxSuppression, GridSample, RoiAlign) and Det.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "common.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

namespace {

using graph::Graph;
using graph::Node;

// --- NonMaxSuppression ----------------------------------------------------------------------------

struct Box {
  double x1, y1, x2, y2;
};

Box read_box(const float* p, bool center_point) {
  if (center_point) {
    const double hw = p[2] / 2.0, hh = p[3] / 2.0;
    return {p[0] - hw, p[1] - hh, p[0] + hw, p[1] + hh};
  }
  // [y1, x1, y2, x2], either corner pair may come first.
  return {std::min(p[1], p[3]), std::min(p[0], p[2]), std::max(p[1], p[3]), std::max(p[0], p[2])};
}

bool suppressed_by(const Box& a, const Box& b, double iou_threshold) {
  const double ix1 = std::max(a.x1, b.x1), ix2 = std::min(a.x2, b.x2);
  if (ix2 <= ix1) return false;
  const double iy1 = std::max(a.y1, b.y1), iy2 = std::min(a.y2, b.y2);
  if (iy2 <= iy1) return false;
  const double inter = (ix2 - ix1) * (iy2 - iy1);
  const double area_a = (a.x2 - a.x1) * (a.y2 - a.y1), area_b = (b.x2 - b.x1) * (b.y2 - b.y1);
  const double uni = area_a + area_b - inter;
  if (area_a <= 0 || area_b <= 0 || uni <= 0) return false;
  return inter / uni > iou_threshold;
}

Result<double> scalar_input(const Node& node, backend::KernelContext& ctx, int i, double fallback) {
  if (i >= ctx.input_count() || !ctx.has_input(i) || ctx.input(i).numel() == 0) return fallback;
  const TensorView& t = ctx.input(i);
  if (t.numel() != 1) return node_error(StatusCode::invalid_argument, node, "input ", i, " must be a scalar, found ", t.shape().to_string());
  OBOL_ASSIGN_OR_RETURN(const std::vector<double> v, read_doubles(t, "NonMaxSuppression threshold"));
  return v[0];
}

Result<std::unique_ptr<backend::Kernel>> make_nms(const Graph&, const Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 5, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const int64_t cpb, node.attr_int("center_point_box", 0));
  if (cpb != 0 && cpb != 1) return node_error(StatusCode::invalid_argument, node, "center_point_box must be 0 or 1, found ", cpb);
  const bool center_point = cpb == 1;
  return make_kernel([node, center_point](backend::KernelContext& ctx) -> Status {
    const TensorView& boxes = ctx.input(0);
    const TensorView& scores = ctx.input(1);
    if (boxes.dtype() != DType::f32 || scores.dtype() != DType::f32)
      return node_error(StatusCode::unsupported, node, "boxes and scores must be float32, found ", dtype_name(boxes.dtype()),
                        " and ", dtype_name(scores.dtype()));
    if (boxes.rank() != 3 || boxes.shape()[2] != 4)
      return node_error(StatusCode::invalid_argument, node, "boxes must have shape [batch, boxes, 4], found ", boxes.shape().to_string());
    const int64_t nb = boxes.shape()[0], n = boxes.shape()[1];
    if (scores.rank() != 3 || scores.shape()[0] != nb || scores.shape()[2] != n)
      return node_error(StatusCode::invalid_argument, node, "scores must have shape [", nb, ", classes, ", n, "], found ",
                        scores.shape().to_string());
    const int64_t nc = scores.shape()[1];
    int64_t max_out = 0;
    if (ctx.input_count() > 2 && ctx.has_input(2) && ctx.input(2).numel() > 0) {
      OBOL_ASSIGN_OR_RETURN(const std::vector<int64_t> m, read_ints(ctx.input(2), "max_output_boxes_per_class"));
      max_out = m[0];
    }
    OBOL_ASSIGN_OR_RETURN(const double iou, scalar_input(node, ctx, 3, 0.0));
    const bool has_score = ctx.input_count() > 4 && ctx.has_input(4) && ctx.input(4).numel() > 0;
    OBOL_ASSIGN_OR_RETURN(const double score_threshold, scalar_input(node, ctx, 4, 0.0));
    if (iou < 0.0 || iou > 1.0) return node_error(StatusCode::invalid_argument, node, "iou_threshold must be in [0, 1], found ", iou);

    std::vector<int64_t> selected;  // triples
    const float* pb = boxes.data_as<const float>();
    const float* ps = scores.data_as<const float>();
    std::vector<int64_t> order;
    std::vector<int64_t> kept;
    for (int64_t b = 0; b < nb && max_out > 0; ++b) {
      for (int64_t c = 0; c < nc; ++c) {
        const float* sc = ps + (b * nc + c) * n;
        order.clear();
        for (int64_t i = 0; i < n; ++i)
          if (!has_score || sc[i] > score_threshold) order.push_back(i);
        std::stable_sort(order.begin(), order.end(), [&](int64_t i, int64_t j) { return sc[i] > sc[j]; });
        kept.clear();
        for (int64_t i : order) {
          if (static_cast<int64_t>(kept.size()) >= max_out) break;
          const Box bi = read_box(pb + (b * n + i) * 4, center_point);
          bool drop = false;
          for (int64_t k : kept)
            if (suppressed_by(bi, read_box(pb + (b * n + k) * 4, center_point), iou)) {
              drop = true;
              break;
            }
          if (drop) continue;
          kept.push_back(i);
          selected.insert(selected.end(), {b, c, i});
        }
      }
    }
    OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, DType::i64, Shape{static_cast<int64_t>(selected.size() / 3), 3}));
    if (!selected.empty()) std::memcpy(y.data(), selected.data(), selected.size() * sizeof(int64_t));
    return Status::ok();
  });
}

// --- GridSample -----------------------------------------------------------------------------------

enum class GsMode { linear, nearest, cubic };
enum class GsPad { zeros, border, reflection };

double gs_reflect(double x, double lo, double hi) {
  const double range = hi - lo;
  if (range <= 0) return lo;
  if (x < lo) {
    const double dx = lo - x;
    const auto k = static_cast<int64_t>(dx / range);
    const double r = dx - static_cast<double>(k) * range;
    return k % 2 == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const double dx = x - hi;
    const auto k = static_cast<int64_t>(dx / range);
    const double r = dx - static_cast<double>(k) * range;
    return k % 2 == 0 ? hi - r : lo + r;
  }
  return x;
}

template <class T>
Status run_grid_sample(const TensorView& x, const TensorView& grid, const TensorView& y, GsMode mode, GsPad pad, bool align) {
  const int64_t N = x.shape()[0], C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
  const int64_t Ho = grid.shape()[1], Wo = grid.shape()[2];
  const T* px = x.data_as<const T>();
  const T* pg = grid.data_as<const T>();
  T* py = y.data_as<T>();
  const double bx_lo = align ? 0.0 : -0.5, bx_hi = align ? W - 1.0 : W - 0.5;
  const double by_lo = align ? 0.0 : -0.5, by_hi = align ? H - 1.0 : H - 0.5;
  auto denorm = [&](double v, int64_t len) { return align ? (v + 1) / 2.0 * static_cast<double>(len - 1) : ((v + 1) * static_cast<double>(len) - 1) / 2.0; };
  auto adjust = [&](double v, int64_t len, double lo, double hi) {
    if (v < lo || v > hi) {
      if (pad == GsPad::border) return std::clamp(v, 0.0, static_cast<double>(len - 1));
      if (pad == GsPad::reflection) return gs_reflect(v, lo, hi);
    }
    return v;
  };
  auto pixel = [&](const T* img, int64_t yy, int64_t xx) -> double {
    if (pad == GsPad::zeros) {
      if (yy < 0 || yy >= H || xx < 0 || xx >= W) return 0.0;
    } else if (pad == GsPad::border) {
      yy = std::clamp<int64_t>(yy, 0, H - 1);
      xx = std::clamp<int64_t>(xx, 0, W - 1);
    } else {
      yy = std::clamp<int64_t>(static_cast<int64_t>(gs_reflect(static_cast<double>(yy), by_lo, by_hi)), 0, H - 1);
      xx = std::clamp<int64_t>(static_cast<int64_t>(gs_reflect(static_cast<double>(xx), bx_lo, bx_hi)), 0, W - 1);
    }
    return static_cast<double>(img[yy * W + xx]);
  };
  auto cubic = [](double t, double c[4]) {
    const double a = -0.75;
    t = std::abs(t);
    c[0] = ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a;
    c[1] = ((a + 2) * t - (a + 3)) * t * t + 1;
    c[2] = ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1;
    c[3] = ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a;
  };
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t oy = 0; oy < Ho; ++oy) {
      for (int64_t ox = 0; ox < Wo; ++ox) {
        const T* g = pg + ((n * Ho + oy) * Wo + ox) * 2;
        double fx = denorm(static_cast<double>(g[0]), W), fy = denorm(static_cast<double>(g[1]), H);
        if (mode == GsMode::nearest) {
          fx = std::nearbyint(fx);
          fy = std::nearbyint(fy);
        }
        fx = adjust(fx, W, bx_lo, bx_hi);
        fy = adjust(fy, H, by_lo, by_hi);
        for (int64_t c = 0; c < C; ++c) {
          const T* img = px + (n * C + c) * H * W;
          double v = 0;
          if (!std::isfinite(fx) || !std::isfinite(fy)) {
            v = 0;
          } else if (mode == GsMode::nearest) {
            v = pixel(img, static_cast<int64_t>(fy), static_cast<int64_t>(fx));
          } else if (mode == GsMode::linear) {
            const double x0 = std::floor(fx), y0 = std::floor(fy);
            const double lx = fx - x0, ly = fy - y0;
            const auto ix = static_cast<int64_t>(x0), iy = static_cast<int64_t>(y0);
            v = (1 - ly) * ((1 - lx) * pixel(img, iy, ix) + lx * pixel(img, iy, ix + 1)) +
                ly * ((1 - lx) * pixel(img, iy + 1, ix) + lx * pixel(img, iy + 1, ix + 1));
          } else {
            const double x0 = std::floor(fx), y0 = std::floor(fy);
            double cx[4], cy[4];
            cubic(fx - x0, cx);
            cubic(fy - y0, cy);
            const auto ix = static_cast<int64_t>(x0), iy = static_cast<int64_t>(y0);
            for (int i = 0; i < 4; ++i) {
              double row = 0;
              for (int j = 0; j < 4; ++j) row += cx[j] * pixel(img, iy - 1 + i, ix - 1 + j);
              v += cy[i] * row;
            }
          }
          py[((n * C + c) * Ho + oy) * Wo + ox] = static_cast<T>(v);
        }
      }
    }
  }
  return Status::ok();
}

Result<std::unique_ptr<backend::Kernel>> make_grid_sample(const Graph&, const Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 2, 2, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const std::string mode_s, node.attr_string("mode", node.opset >= 20 ? "linear" : "bilinear"));
  OBOL_ASSIGN_OR_RETURN(const std::string pad_s, node.attr_string("padding_mode", "zeros"));
  OBOL_ASSIGN_OR_RETURN(const int64_t align, node.attr_int("align_corners", 0));
  GsMode mode;
  if (mode_s == "bilinear" || mode_s == "linear") mode = GsMode::linear;
  else if (mode_s == "nearest") mode = GsMode::nearest;
  else if (mode_s == "bicubic" || mode_s == "cubic") mode = GsMode::cubic;
  else return node_error(StatusCode::invalid_argument, node, "mode must be bilinear, nearest or bicubic, found '", mode_s, "'");
  GsPad pad;
  if (pad_s == "zeros") pad = GsPad::zeros;
  else if (pad_s == "border") pad = GsPad::border;
  else if (pad_s == "reflection") pad = GsPad::reflection;
  else return node_error(StatusCode::invalid_argument, node, "padding_mode must be zeros, border or reflection, found '", pad_s, "'");
  return make_kernel([node, mode, pad, align](backend::KernelContext& ctx) -> Status {
    const TensorView& x = ctx.input(0);
    const TensorView& grid = ctx.input(1);
    if (x.rank() != 4) return node_error(StatusCode::unsupported, node, "X must be 4-D [N, C, H, W], found ", x.shape().to_string());
    if (grid.rank() != 4 || grid.shape()[0] != x.shape()[0] || grid.shape()[3] != 2)
      return node_error(StatusCode::invalid_argument, node, "grid must have shape [", x.shape()[0], ", H_out, W_out, 2], found ",
                        grid.shape().to_string());
    if (grid.dtype() != x.dtype())
      return node_error(StatusCode::invalid_argument, node, "grid must have X's element type ", dtype_name(x.dtype()), ", found ",
                        dtype_name(grid.dtype()));
    OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, x.dtype(), Shape{x.shape()[0], x.shape()[1], grid.shape()[1], grid.shape()[2]}));
    if (y.numel() == 0) return Status::ok();
    if (x.shape()[2] == 0 || x.shape()[3] == 0) return node_error(StatusCode::invalid_argument, node, "cannot sample an empty image");
    return dispatch_dtype<OBOL_CPU_FLOAT_TYPES>(x.dtype(), "GridSample", [&](auto t) {
      return run_grid_sample<decltype(t)>(x, grid, y, mode, pad, align != 0);
    });
  });
}

// --- RoiAlign -------------------------------------------------------------------------------------

template <class T>
void run_roi_align(const TensorView& x, const TensorView& rois, const std::vector<int64_t>& batch, const TensorView& y, bool max_mode,
                   bool half_pixel, double scale, int64_t sampling) {
  const int64_t C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
  const int64_t R = y.shape()[0], PH = y.shape()[2], PW = y.shape()[3];
  const T* px = x.data_as<const T>();
  const T* pr = rois.data_as<const T>();
  T* py = y.data_as<T>();
  struct Tap {
    int64_t p[4];
    double w[4];
  };
  std::vector<Tap> taps;
  for (int64_t r = 0; r < R; ++r) {
    const double off = half_pixel ? 0.5 : 0.0;
    const double sw = pr[r * 4 + 0] * scale - off, sh = pr[r * 4 + 1] * scale - off;
    const double ew = pr[r * 4 + 2] * scale - off, eh = pr[r * 4 + 3] * scale - off;
    double rw = ew - sw, rh = eh - sh;
    if (!half_pixel) {
      rw = std::max(rw, 1.0);
      rh = std::max(rh, 1.0);
    }
    const double bh = rh / static_cast<double>(PH), bw = rw / static_cast<double>(PW);
    const int64_t gh = sampling > 0 ? sampling : static_cast<int64_t>(std::ceil(rh / static_cast<double>(PH)));
    const int64_t gw = sampling > 0 ? sampling : static_cast<int64_t>(std::ceil(rw / static_cast<double>(PW)));
    const double count = static_cast<double>(std::max<int64_t>(gh * gw, 1));
    taps.clear();
    for (int64_t ph = 0; ph < PH; ++ph)
      for (int64_t pw = 0; pw < PW; ++pw)
        for (int64_t iy = 0; iy < gh; ++iy) {
          const double yy = sh + static_cast<double>(ph) * bh + (static_cast<double>(iy) + 0.5) * bh / static_cast<double>(gh);
          for (int64_t ix = 0; ix < gw; ++ix) {
            double xx = sw + static_cast<double>(pw) * bw + (static_cast<double>(ix) + 0.5) * bw / static_cast<double>(gw);
            double yv = yy;
            Tap t{{0, 0, 0, 0}, {0, 0, 0, 0}};
            if (yv < -1.0 || yv > static_cast<double>(H) || xx < -1.0 || xx > static_cast<double>(W)) {
              taps.push_back(t);
              continue;
            }
            yv = std::max(yv, 0.0);
            xx = std::max(xx, 0.0);
            auto ylo = static_cast<int64_t>(yv), xlo = static_cast<int64_t>(xx);
            int64_t yhi, xhi;
            if (ylo >= H - 1) {
              yhi = ylo = H - 1;
              yv = static_cast<double>(ylo);
            } else {
              yhi = ylo + 1;
            }
            if (xlo >= W - 1) {
              xhi = xlo = W - 1;
              xx = static_cast<double>(xlo);
            } else {
              xhi = xlo + 1;
            }
            const double ly = yv - static_cast<double>(ylo), lx = xx - static_cast<double>(xlo);
            const double hy = 1 - ly, hx = 1 - lx;
            t = Tap{{ylo * W + xlo, ylo * W + xhi, yhi * W + xlo, yhi * W + xhi}, {hy * hx, hy * lx, ly * hx, ly * lx}};
            taps.push_back(t);
          }
        }
    const int64_t bi = batch[static_cast<size_t>(r)];
    for (int64_t c = 0; c < C; ++c) {
      const T* img = px + (bi * C + c) * H * W;
      size_t k = 0;
      for (int64_t ph = 0; ph < PH; ++ph)
        for (int64_t pw = 0; pw < PW; ++pw) {
          double acc = 0;
          bool first = true;
          for (int64_t s = 0; s < gh * gw; ++s, ++k) {
            const Tap& t = taps[k];
            if (max_mode) {
              double v = t.w[0] * static_cast<double>(img[t.p[0]]);
              for (int q = 1; q < 4; ++q) v = std::max(v, t.w[q] * static_cast<double>(img[t.p[q]]));
              acc = first ? v : std::max(acc, v);
              first = false;
            } else {
              for (int q = 0; q < 4; ++q) acc += t.w[q] * static_cast<double>(img[t.p[q]]);
            }
          }
          if (!max_mode) acc /= count;
          py[((r * C + c) * PH + ph) * PW + pw] = static_cast<T>(acc);
        }
    }
  }
}

Result<std::unique_ptr<backend::Kernel>> make_roi_align(const Graph&, const Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 3, 3, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const std::string ctm, node.attr_string("coordinate_transformation_mode", "half_pixel"));
  OBOL_ASSIGN_OR_RETURN(const std::string mode, node.attr_string("mode", "avg"));
  OBOL_ASSIGN_OR_RETURN(const int64_t oh, node.attr_int("output_height", 1));
  OBOL_ASSIGN_OR_RETURN(const int64_t ow, node.attr_int("output_width", 1));
  OBOL_ASSIGN_OR_RETURN(const int64_t sampling, node.attr_int("sampling_ratio", 0));
  OBOL_ASSIGN_OR_RETURN(const float scale, node.attr_float("spatial_scale", 1.0f));
  if (ctm != "half_pixel" && ctm != "output_half_pixel")
    return node_error(StatusCode::invalid_argument, node, "coordinate_transformation_mode must be half_pixel or output_half_pixel, found '", ctm, "'");
  if (mode != "avg" && mode != "max") return node_error(StatusCode::invalid_argument, node, "mode must be avg or max, found '", mode, "'");
  if (oh <= 0 || ow <= 0) return node_error(StatusCode::invalid_argument, node, "output_height and output_width must be positive");
  if (sampling < 0) return node_error(StatusCode::invalid_argument, node, "sampling_ratio must be >= 0, found ", sampling);
  // Opset 10 had no coordinate_transformation_mode and behaved as output_half_pixel.
  const bool half_pixel = node.opset >= 16 ? ctm == "half_pixel" : false;
  const bool max_mode = mode == "max";
  return make_kernel([node, half_pixel, max_mode, oh, ow, sampling, scale](backend::KernelContext& ctx) -> Status {
    const TensorView& x = ctx.input(0);
    const TensorView& rois = ctx.input(1);
    if (x.rank() != 4) return node_error(StatusCode::invalid_argument, node, "X must be 4-D [N, C, H, W], found ", x.shape().to_string());
    if (rois.rank() != 2 || rois.shape()[1] != 4)
      return node_error(StatusCode::invalid_argument, node, "rois must have shape [num_rois, 4], found ", rois.shape().to_string());
    if (rois.dtype() != x.dtype())
      return node_error(StatusCode::invalid_argument, node, "rois must have X's element type ", dtype_name(x.dtype()));
    OBOL_ASSIGN_OR_RETURN(const std::vector<int64_t> batch, read_ints(ctx.input(2), "batch_indices"));
    const int64_t R = rois.shape()[0];
    if (static_cast<int64_t>(batch.size()) != R)
      return node_error(StatusCode::invalid_argument, node, "batch_indices must have ", R, " entries, found ", batch.size());
    for (int64_t b : batch)
      if (b < 0 || b >= x.shape()[0])
        return node_error(StatusCode::out_of_range, node, "batch index ", b, " is outside [0, ", x.shape()[0], ")");
    OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, x.dtype(), Shape{R, x.shape()[1], oh, ow}));
    if (y.numel() == 0) return Status::ok();
    if (x.shape()[2] == 0 || x.shape()[3] == 0) return node_error(StatusCode::invalid_argument, node, "X has an empty image");
    return dispatch_dtype<OBOL_CPU_FLOAT_TYPES>(x.dtype(), "RoiAlign", [&](auto t) {
      run_roi_align<decltype(t)>(x, rois, batch, y, max_mode, half_pixel, scale, sampling);
      return Status::ok();
    });
  });
}

// --- Det ------------------------------------------------------------------------------------------

template <class T>
void run_det(const T* x, T* y, int64_t count, int64_t n, double* lu) {
  for (int64_t m = 0; m < count; ++m) {
    for (int64_t i = 0; i < n * n; ++i) lu[i] = static_cast<double>(x[m * n * n + i]);
    double det = 1.0;
    for (int64_t k = 0; k < n; ++k) {
      int64_t p = k;
      for (int64_t i = k + 1; i < n; ++i)
        if (std::abs(lu[i * n + k]) > std::abs(lu[p * n + k])) p = i;
      if (lu[p * n + k] == 0.0) {
        det = 0.0;
        break;
      }
      if (p != k) {
        for (int64_t j = 0; j < n; ++j) std::swap(lu[k * n + j], lu[p * n + j]);
        det = -det;
      }
      const double piv = lu[k * n + k];
      det *= piv;
      for (int64_t i = k + 1; i < n; ++i) {
        const double f = lu[i * n + k] / piv;
        for (int64_t j = k + 1; j < n; ++j) lu[i * n + j] -= f * lu[k * n + j];
      }
    }
    y[m] = static_cast<T>(det);
  }
}

Result<std::unique_ptr<backend::Kernel>> make_det(const Graph&, const Node& node) {
  OBOL_RETURN_IF_ERROR(check_arity(node, 1, 1, 1, 1));
  return make_kernel([node](backend::KernelContext& ctx) -> Status {
    const TensorView& x = ctx.input(0);
    const int r = x.rank();
    if (r < 2 || x.shape()[r - 1] != x.shape()[r - 2])
      return node_error(StatusCode::invalid_argument, node, "X must be [..., M, M], found ", x.shape().to_string());
    Shape out;
    {
      int64_t dims[Shape::kMaxRank];
      for (int i = 0; i < r - 2; ++i) dims[i] = x.shape()[i];
      OBOL_ASSIGN_OR_RETURN(out, Shape::make(dims, static_cast<size_t>(r - 2)));
    }
    OBOL_ASSIGN_OR_RETURN(TensorView y, ctx.output(0, x.dtype(), out));
    const int64_t n = x.shape()[r - 1];
    OBOL_ASSIGN_OR_RETURN(void* lu, ctx.scratch(static_cast<size_t>(std::max<int64_t>(n * n, 1)) * sizeof(double)));
    return dispatch_dtype<OBOL_CPU_FLOAT_TYPES>(x.dtype(), "Det", [&](auto t) {
      using T = decltype(t);
      run_det<T>(x.data_as<const T>(), y.data_as<T>(), y.numel(), n, static_cast<double*>(lu));
      return Status::ok();
    });
  });
}

}  // namespace

void register_vision(CpuOpRegistry& r) {
  r.add(graph::OpKind::NonMaxSuppression, &make_nms);
  r.add(graph::OpKind::GridSample, &make_grid_sample);
  r.add(graph::OpKind::RoiAlign, &make_roi_align);
  r.add(graph::OpKind::Det, &make_det);
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
