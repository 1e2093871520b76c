// CPU kernel: Pad (constant, reflect, edge and wrap modes; negative pads crop).
#include <algorithm>

#include "tensor_util.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

namespace {

constexpr int kMaxRank = Shape::kMaxRank;

enum class PadMode { constant, reflect, edge, wrap };

struct PadConfig {
  PadMode mode = PadMode::constant;
  bool from_inputs = false;  // opset >= 11: pads (and value, axes) are inputs
  std::vector<int64_t> pads;  // the attribute, before opset 11
  float value = 0.0f;         // the attribute, before opset 11
};

// Source index along one axis for output index o, or -1 for the constant. The input axis of size
// dim is first cropped by the negative pads to [crop_b, crop_b + m), then padded by pb/pe >= 0.
struct AxisPad {
  int64_t out = 0, crop_b = 0, m = 0, pb = 0;
};

int64_t source_index(PadMode mode, const AxisPad& p, int64_t o) {
  const int64_t j = o - p.pb;
  if (j >= 0 && j < p.m) return p.crop_b + j;
  switch (mode) {
    case PadMode::constant: return -1;
    case PadMode::edge: return p.crop_b + (j < 0 ? 0 : p.m - 1);
    case PadMode::wrap: return p.crop_b + ((j % p.m) + p.m) % p.m;
    case PadMode::reflect: {
      if (p.m == 1) return p.crop_b;
      const int64_t period = 2 * (p.m - 1);
      const int64_t t = ((j % period) + period) % period;
      return p.crop_b + (t < p.m ? t : period - t);
    }
  }
  return -1;
}

}  // namespace

KernelResult make_pad(const graph::Graph& g, const graph::Node& node) {
  (void)g;
  PadConfig cfg;
  cfg.from_inputs = node.opset >= 11;
  OBOL_RETURN_IF_ERROR(check_arity(node, cfg.from_inputs ? 2 : 1, cfg.from_inputs ? (node.opset >= 18 ? 4 : 3) : 1, 1, 1));
  OBOL_ASSIGN_OR_RETURN(const std::string mode, node.attr_string("mode", "constant"));
  if (mode == "constant") cfg.mode = PadMode::constant;
  else if (mode == "reflect") cfg.mode = PadMode::reflect;
  else if (mode == "edge") cfg.mode = PadMode::edge;
  else if (mode == "wrap") cfg.mode = PadMode::wrap;
  else
    return node_error(StatusCode::invalid_argument, node, "'mode' must be constant, reflect, edge or wrap, found '",
                      mode, "'");
  if (!cfg.from_inputs) {
    const char* name = node.opset < 2 ? "paddings" : "pads";
    if (node.find_attribute(name) == nullptr)
      return node_error(StatusCode::invalid_argument, node, "attribute '", name, "' is required");
    OBOL_ASSIGN_OR_RETURN(cfg.pads, node.attr_ints(name));
    OBOL_ASSIGN_OR_RETURN(cfg.value, node.attr_float("value", 0.0f));
    if (cfg.pads.size() > static_cast<size_t>(2 * kMaxRank))
      return node_error(StatusCode::invalid_argument, node, "'", name, "' has ", cfg.pads.size(), " values, at most ",
                        2 * kMaxRank, " are supported");
  }
  return make_kernel([tag = NodeTag(node), cfg](backend::KernelContext& ctx) -> Status {
    const TensorView& in = ctx.input(0);
    const int r = in.rank();
    OBOL_ASSIGN_OR_RETURN(const size_t es, element_size(tag, in.dtype(), "input"));
    int64_t pads[2 * kMaxRank];
    int np = 0;
    int64_t axes[kMaxRank];
    int na = r;
    for (int d = 0; d < r; ++d) axes[d] = d;
    alignas(8) unsigned char value[8] = {};
    if (cfg.from_inputs) {
      OBOL_RETURN_IF_ERROR(read_int_list(tag, ctx.input(1), "pads", pads, 2 * kMaxRank, &np));
      if (ctx.input_count() > 3 && ctx.has_input(3))
        OBOL_RETURN_IF_ERROR(read_int_list(tag, ctx.input(3), "axes", axes, kMaxRank, &na));
      if (ctx.input_count() > 2 && ctx.has_input(2) && ctx.input(2).numel() > 0) {
        const TensorView& v = ctx.input(2);
        if (v.dtype() != in.dtype())
          return tag_error(StatusCode::invalid_argument, tag, "constant_value has dtype ", dtype_name(v.dtype()),
                           ", expected ", dtype_name(in.dtype()), " (the input's)");
        if (v.numel() != 1)
          return tag_error(StatusCode::invalid_argument, tag, "constant_value must hold one value, found shape ",
                           v.shape().to_string());
        std::memcpy(value, v.data(), es);
      }
    } else {
      np = static_cast<int>(cfg.pads.size());
      std::copy(cfg.pads.begin(), cfg.pads.end(), pads);
      OBOL_RETURN_IF_ERROR(encode_scalar(tag, in.dtype(), cfg.value, value));
    }
    if (np != 2 * na)
      return tag_error(StatusCode::invalid_argument, tag, "'pads' has ", np, " values, expected ", 2 * na, " (2 x ",
                       cfg.from_inputs && na != r ? "the number of axes" : "the input rank", ")");
    int64_t pb[kMaxRank] = {}, pe[kMaxRank] = {};
    bool seen[kMaxRank] = {};
    for (int i = 0; i < na; ++i) {
      OBOL_ASSIGN_OR_RETURN(const int a, normalize_axis(tag, axes[i], r, "axis"));
      if (seen[a]) return tag_error(StatusCode::invalid_argument, tag, "axis ", axes[i], " is padded twice");
      seen[a] = true;
      pb[a] = pads[i];
      pe[a] = pads[i + na];
    }
    AxisPad ax[kMaxRank];
    Shape out_shape = in.shape();
    int64_t map_len = 0;
    for (int d = 0; d < r; ++d) {
      const int64_t dim = in.shape()[d];
      AxisPad& p = ax[d];
      p.crop_b = std::max<int64_t>(0, -pb[d]);
      const int64_t crop_e = std::max<int64_t>(0, -pe[d]);
      p.pb = std::max<int64_t>(0, pb[d]);
      p.m = dim - p.crop_b - crop_e;
      if (p.m < 0 || pb[d] > (int64_t{1} << 40) || pe[d] > (int64_t{1} << 40))
        return tag_error(StatusCode::invalid_argument, tag, "pads ", pb[d], " and ", pe[d], " on axis ", d,
                         " do not fit its size ", dim);
      p.out = p.m + p.pb + std::max<int64_t>(0, pe[d]);
      if (cfg.mode != PadMode::constant && p.m == 0 && p.out > 0)
        return tag_error(StatusCode::invalid_argument, tag, "cannot pad axis ", d, " in ", cfg.mode == PadMode::edge ? "edge" : cfg.mode == PadMode::wrap ? "wrap" : "reflect",
                         " mode: it has no elements to repeat");
      out_shape[d] = p.out;
      map_len += p.out;
    }
    OBOL_ASSIGN_OR_RETURN(TensorView out, ctx.output(0, in.dtype(), out_shape));
    const int64_t total = out_shape.numel();
    if (total == 0) return Status::ok();
    const char* src = static_cast<const char*>(in.data());
    char* dst = static_cast<char*>(out.data());
    if (r == 0) {
      std::memcpy(dst, src, es);
      return Status::ok();
    }
    // Per-axis source index tables, concatenated.
    OBOL_ASSIGN_OR_RETURN(void* scratch, ctx.scratch(static_cast<size_t>(map_len) * sizeof(int64_t)));
    int64_t* maps[kMaxRank];
    {
      int64_t* p = static_cast<int64_t*>(scratch);
      for (int d = 0; d < r; ++d) {
        maps[d] = p;
        for (int64_t o = 0; o < ax[d].out; ++o) p[o] = source_index(cfg.mode, ax[d], o);
        p += ax[d].out;
      }
    }
    int64_t in_stride[kMaxRank];
    contiguous_strides(in.shape(), in_stride);
    const AxisPad& last = ax[r - 1];
    const int64_t inner = last.out;
    const int64_t rows = total / inner;
    // The part of each row copied straight from the input, [lo, hi).
    const int64_t lo = last.pb, hi = last.pb + last.m;
    const int64_t* last_map = maps[r - 1];
    const PadMode mode = cfg.mode;
    parallel_for_range(rows, std::max<int64_t>(1, 4096 / inner), [&](int64_t begin, int64_t end) {
      int64_t idx[kMaxRank] = {};
      int64_t rest = begin;
      for (int k = r - 2; k >= 0; --k) {
        idx[k] = rest % ax[k].out;
        rest /= ax[k].out;
      }
      for (int64_t row = begin; row < end; ++row) {
        char* o = dst + row * inner * static_cast<int64_t>(es);
        int64_t off = 0;
        bool fill = false;
        for (int k = 0; k < r - 1; ++k) {
          const int64_t s = maps[k][idx[k]];
          if (s < 0) fill = true;
          off += s * in_stride[k];
        }
        if (fill) {
          fill_elements(o, value, inner, es);
        } else {
          const char* s = src + off * static_cast<int64_t>(es);
          if (hi > lo) std::memcpy(o + lo * static_cast<int64_t>(es), s + last.crop_b * static_cast<int64_t>(es),
                                   static_cast<size_t>(hi - lo) * es);
          if (mode == PadMode::constant) {
            fill_elements(o, value, lo, es);
            fill_elements(o + hi * static_cast<int64_t>(es), value, inner - hi, es);
          } else {
            for (int64_t i = 0; i < lo; ++i)
              std::memcpy(o + i * static_cast<int64_t>(es), s + last_map[i] * static_cast<int64_t>(es), es);
            for (int64_t i = hi; i < inner; ++i)
              std::memcpy(o + i * static_cast<int64_t>(es), s + last_map[i] * static_cast<int64_t>(es), es);
          }
        }
        for (int k = r - 2; k >= 0; --k) {
          if (++idx[k] < ax[k].out) break;
          idx[k] = 0;
        }
      }
    });
    return Status::ok();
  });
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
