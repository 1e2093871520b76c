// Pooling attributes and window geometry (ONNX MaxPool/AveragePool/LpPool/MaxUnpool conventions).
#include "pool_util.hpp"

#include <algorithm>
#include <string>

namespace obol {
inline namespace v1 {
namespace cpu {

namespace {

Status check_len(const graph::Node& node, const char* name, const std::vector<int64_t>& v, size_t want) {
  if (v.size() != want)
    return node_error(StatusCode::invalid_argument, node, "attribute ", name, " has ", v.size(),
                      " values, expected ", want, " (one per axis of kernel_shape)");
  return Status::ok();
}

}  // namespace

Result<PoolAttrs> read_pool_attrs(const graph::Graph& g, const graph::Node& node) {
  PoolAttrs a;
  OBOL_ASSIGN_OR_RETURN(a.kernel, node.attr_ints("kernel_shape"));
  if (a.kernel.empty()) return node_error(StatusCode::invalid_argument, node, "attribute kernel_shape is required");
  const size_t k = a.kernel.size();
  if (k > static_cast<size_t>(kPoolDims))
    return node_error(StatusCode::unsupported, node, "pooling over ", k, " spatial axes is not supported (at most ",
                      kPoolDims, ")");
  OBOL_ASSIGN_OR_RETURN(a.strides, node.attr_ints("strides", std::vector<int64_t>(k, 1)));
  OBOL_ASSIGN_OR_RETURN(a.dilations, node.attr_ints("dilations", std::vector<int64_t>(k, 1)));
  OBOL_ASSIGN_OR_RETURN(a.pads, node.attr_ints("pads", std::vector<int64_t>(2 * k, 0)));
  OBOL_RETURN_IF_ERROR(check_len(node, "strides", a.strides, k));
  OBOL_RETURN_IF_ERROR(check_len(node, "dilations", a.dilations, k));
  if (a.pads.size() != 2 * k)
    return node_error(StatusCode::invalid_argument, node, "attribute pads has ", a.pads.size(), " values, expected ",
                      2 * k, " (a begin and an end per spatial axis)");
  for (size_t i = 0; i < k; ++i) {
    if (a.kernel[i] < 1 || a.strides[i] < 1 || a.dilations[i] < 1)
      return node_error(StatusCode::invalid_argument, node, "kernel_shape, strides and dilations must be positive, found ",
                        a.kernel[i], ", ", a.strides[i], " and ", a.dilations[i], " on spatial axis ", i);
  }
  for (int64_t p : a.pads)
    if (p < 0) return node_error(StatusCode::invalid_argument, node, "pads must not be negative, found ", p);
  // Bounded so that window arithmetic cannot overflow int64.
  constexpr int64_t kMaxAttr = int64_t{1} << 30;
  for (const std::vector<int64_t>* v : {&a.kernel, &a.strides, &a.dilations, &a.pads})
    for (int64_t e : *v)
      if (e > kMaxAttr)
        return node_error(StatusCode::invalid_argument, node, "pooling attribute value ", e, " exceeds ", kMaxAttr);

  OBOL_ASSIGN_OR_RETURN(const std::string auto_pad, node.attr_string("auto_pad", "NOTSET"));
  if (auto_pad == "NOTSET" || auto_pad.empty()) a.auto_pad = AutoPad::notset;
  else if (auto_pad == "SAME_UPPER") a.auto_pad = AutoPad::same_upper;
  else if (auto_pad == "SAME_LOWER") a.auto_pad = AutoPad::same_lower;
  else if (auto_pad == "VALID") a.auto_pad = AutoPad::valid;
  else
    return node_error(StatusCode::invalid_argument, node, "auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, found '",
                      auto_pad, "'");

  OBOL_ASSIGN_OR_RETURN(const int64_t ceil_mode, node.attr_int("ceil_mode", 0));
  OBOL_ASSIGN_OR_RETURN(const int64_t count_include_pad, node.attr_int("count_include_pad", 0));
  OBOL_ASSIGN_OR_RETURN(const int64_t storage_order, node.attr_int("storage_order", 0));
  if (storage_order != 0 && storage_order != 1)
    return node_error(StatusCode::invalid_argument, node, "storage_order must be 0 or 1, found ", storage_order);
  a.ceil_mode = ceil_mode != 0;
  a.count_include_pad = count_include_pad != 0;
  a.storage_order = static_cast<int>(storage_order);
  // LpPool-1 has a float p, later versions an integer one.
  if (const graph::Attribute* p = node.find_attribute("p")) {
    if (p->kind == graph::Attribute::Kind::i) a.p = static_cast<float>(p->i);
    else if (p->kind == graph::Attribute::Kind::f) a.p = p->f;
    else return node_error(StatusCode::invalid_argument, node, "attribute p must be an int or a float");
    if (!(a.p > 0.0f)) return node_error(StatusCode::invalid_argument, node, "attribute p must be positive, found ", a.p);
  }

  const graph::ValueType xt = input_type(g, node, 0);
  if (xt.rank_known && xt.dims.size() != k + 2)
    return node_error(StatusCode::invalid_argument, node, "input X has rank ", xt.dims.size(), ", expected ", k + 2,
                      " (N, C and ", k, " spatial axes of kernel_shape)");
  return a;
}

Result<PoolGeometry> pool_geometry(const graph::Node& node, const PoolAttrs& a, const Shape& x) {
  const int k = static_cast<int>(a.kernel.size());
  if (x.rank() != k + 2)
    return node_error(StatusCode::invalid_argument, node, "input X has shape ", x.to_string(), ", expected rank ", k + 2,
                      " (N, C and ", k, " spatial axes of kernel_shape)");
  PoolGeometry g;
  g.planes = x[0] * x[1];
  g.spatial = k;
  g.out_shape = x;
  for (int i = 0; i < k; ++i) {
    const int j = kPoolDims - k + i;
    const int64_t in = x[2 + i];
    const int64_t kern = a.kernel[static_cast<size_t>(i)];
    const int64_t s = a.strides[static_cast<size_t>(i)];
    const int64_t d = a.dilations[static_cast<size_t>(i)];
    const int64_t eff = (kern - 1) * d + 1;
    int64_t pb = 0, pe = 0, out = 0;
    switch (a.auto_pad) {
      case AutoPad::notset: {
        pb = a.pads[static_cast<size_t>(i)];
        pe = a.pads[static_cast<size_t>(k + i)];
        const int64_t span = in + pb + pe - eff;
        if (a.ceil_mode) {
          out = ceil_div(span, s) + 1;
          // A window may not start in the end padding.
          if (out > 0 && (out - 1) * s >= in + pb) --out;
        } else {
          out = floor_div(span, s) + 1;
        }
        break;
      }
      case AutoPad::valid:
        out = floor_div(in - eff, s) + 1;
        break;
      case AutoPad::same_upper:
      case AutoPad::same_lower: {
        out = ceil_div(in, s);
        const int64_t total = std::max<int64_t>(0, (out - 1) * s + eff - in);
        pb = a.auto_pad == AutoPad::same_upper ? total / 2 : total - total / 2;
        pe = total - pb;
        break;
      }
    }
    if (in == 0) out = std::max<int64_t>(out, 0);
    else if (out < 1)
      return node_error(StatusCode::invalid_argument, node, "the pooling window (", eff, " wide with dilation) does not fit ",
                        "spatial axis ", i, " of X ", x.to_string(), " padded by ", pb, " and ", pe);
    g.in[j] = in;
    g.out[j] = out;
    g.kernel[j] = kern;
    g.stride[j] = s;
    g.dilation[j] = d;
    g.pad_begin[j] = pb;
    g.pad_end[j] = pe;
    g.out_shape[2 + i] = out;
  }
  return g;
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
