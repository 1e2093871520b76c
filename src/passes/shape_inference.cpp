// Shape and type inference with symbolic dimensions (obol/graph/shape_inference.hpp).
#include "obol/graph/shape_inference.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "obol/formats/onnx.hpp"

namespace obol {
inline namespace v1 {
namespace graph {

namespace {

using Dims = std::vector<Dim>;

Dim unknown() { return Dim{}; }
bool is_one(const Dim& d) { return d.is_known() && d.value == 1; }
// Same size for sure: equal known values, or the same symbol.
bool same(const Dim& a, const Dim& b) {
  if (a.is_known() || b.is_known()) return a.is_known() && b.is_known() && a.value == b.value;
  return !a.symbol.empty() && a.symbol == b.symbol;
}

ValueType ranked(DType t, Dims dims) {
  ValueType v;
  v.dtype = t;
  v.dims = std::move(dims);
  v.rank_known = true;
  return v;
}
ValueType unranked(DType t) {
  ValueType v;
  v.dtype = t;
  return v;
}

const ValueType& type_of(const Graph& g, const Node& n, size_t i) {
  static const ValueType kNone;
  if (i >= n.inputs.size() || n.inputs[i] == kNoValue) return kNone;
  return g.value(n.inputs[i]).type;
}
bool has_input(const Node& n, size_t i) { return i < n.inputs.size() && n.inputs[i] != kNoValue; }

// Integer data of a constant input (i32/i64), if it is one.
std::optional<std::vector<int64_t>> const_ints(const Graph& g, const Node& n, size_t i) {
  if (!has_input(n, i)) return std::nullopt;
  const ConstantData* c = g.value(n.inputs[i]).constant.get();
  if (!c) return std::nullopt;
  std::vector<int64_t> r(static_cast<size_t>(c->view.numel()));
  // Constants may sit at any byte offset of the model file: read them with memcpy.
  const auto* bytes = static_cast<const unsigned char*>(c->view.data());
  if (c->view.dtype() == DType::i64) {
    for (size_t k = 0; k < r.size(); ++k) std::memcpy(&r[k], bytes + k * sizeof(int64_t), sizeof(int64_t));
  } else if (c->view.dtype() == DType::i32) {
    for (size_t k = 0; k < r.size(); ++k) {
      int32_t v = 0;
      std::memcpy(&v, bytes + k * sizeof(int32_t), sizeof(int32_t));
      r[k] = v;
    }
  } else {
    return std::nullopt;
  }
  return r;
}

// Normalises axis into [0, rank), or nullopt.
std::optional<size_t> norm_axis(int64_t axis, size_t rank) {
  const int64_t r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= r) return std::nullopt;
  return static_cast<size_t>(axis < 0 ? axis + r : axis);
}

// Numpy broadcasting of two shapes. nullopt when known sizes clash.
std::optional<Dims> broadcast(const Dims& a, const Dims& b) {
  const size_t r = std::max(a.size(), b.size());
  Dims out(r);
  for (size_t i = 0; i < r; ++i) {
    const bool ha = i + a.size() >= r, hb = i + b.size() >= r;
    const Dim da = ha ? a[i + a.size() - r] : Dim::known(1);
    const Dim db = hb ? b[i + b.size() - r] : Dim::known(1);
    if (is_one(da)) out[i] = db;
    else if (is_one(db)) out[i] = da;
    else if (da.is_known() && db.is_known()) {
      if (da.value != db.value) return std::nullopt;
      out[i] = da;
    } else if (da.is_known()) out[i] = da;  // db must be 1 or da
    else if (db.is_known()) out[i] = db;
    else out[i] = same(da, db) ? da : unknown();
  }
  return out;
}

// The type of a broadcasting op over inputs [first, last).
ValueType broadcast_inputs(const Graph& g, const Node& n, size_t first, size_t last, DType out_type) {
  std::optional<Dims> dims = Dims{};
  for (size_t i = first; i < last && i < n.inputs.size(); ++i) {
    const ValueType& t = type_of(g, n, i);
    if (!t.rank_known) return unranked(out_type);
    dims = broadcast(*dims, t.dims);
    if (!dims) return unranked(out_type);
  }
  return ranked(out_type, std::move(*dims));
}

ValueType same_as_input(const Graph& g, const Node& n, size_t i = 0) { return type_of(g, n, i); }

// Reduction axes from attribute or input (opset-dependent).
// Newer opsets take axes as an input, older ones as an attribute; a node has one or the other.
std::optional<std::vector<int64_t>> reduce_axes(const Graph& g, const Node& n) {
  if (has_input(n, 1)) return const_ints(g, n, 1);
  auto a = n.attr_ints("axes");
  if (!a.is_ok()) return std::nullopt;
  return *a;
}

ValueType reduce(const Graph& g, const Node& n, DType out_type) {
  const ValueType& x = type_of(g, n, 0);
  auto keep = n.attr_int("keepdims", 1);
  auto noop = n.attr_int("noop_with_empty_axes", 0);
  auto axes = reduce_axes(g, n);
  if (!x.rank_known || !keep.is_ok() || !noop.is_ok() || !axes) return unranked(out_type);
  if (axes->empty()) {
    if (*noop) return ranked(out_type, x.dims);
    for (size_t i = 0; i < x.dims.size(); ++i) axes->push_back(static_cast<int64_t>(i));
  }
  std::vector<char> red(x.dims.size(), 0);
  for (int64_t a : *axes) {
    auto ax = norm_axis(a, x.dims.size());
    if (!ax) return unranked(out_type);
    red[*ax] = 1;
  }
  Dims out;
  for (size_t i = 0; i < x.dims.size(); ++i) {
    if (!red[i]) out.push_back(x.dims[i]);
    else if (*keep) out.push_back(Dim::known(1));
  }
  return ranked(out_type, std::move(out));
}

ValueType matmul(const ValueType& a, const ValueType& b, DType t) {
  if (!a.rank_known || !b.rank_known || a.dims.empty() || b.dims.empty()) return unranked(t);
  Dims da = a.dims, db = b.dims;
  const bool av = da.size() == 1, bv = db.size() == 1;
  if (av) da.insert(da.begin(), Dim::known(1));
  if (bv) db.push_back(Dim::known(1));
  Dims ba(da.begin(), da.end() - 2), bb(db.begin(), db.end() - 2);
  auto batch = broadcast(ba, bb);
  if (!batch) return unranked(t);
  Dims out = *batch;
  if (!av) out.push_back(da[da.size() - 2]);
  if (!bv) out.push_back(db.back());
  return ranked(t, std::move(out));
}

ValueType gemm(const Graph& g, const Node& n) {
  const ValueType& a = type_of(g, n, 0);
  const ValueType& b = type_of(g, n, 1);
  auto ta = n.attr_int("transA", 0);
  auto tb = n.attr_int("transB", 0);
  if (!a.rank_known || !b.rank_known || a.dims.size() != 2 || b.dims.size() != 2 || !ta.is_ok() || !tb.is_ok())
    return unranked(a.dtype);
  return ranked(a.dtype, {a.dims[*ta ? 1 : 0], b.dims[*tb ? 0 : 1]});
}

// Output spatial size of a convolution or pooling window.
Dim window_out(const Dim& in, int64_t k, int64_t stride, int64_t dil, int64_t pad_begin, int64_t pad_sum,
               const std::string& auto_pad, bool ceil_mode) {
  if (!in.is_known() || stride < 1 || dil < 1 || k < 1) return unknown();
  const int64_t ek = dil * (k - 1) + 1;
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") return Dim::known((in.value + stride - 1) / stride);
  const int64_t span = in.value + (auto_pad == "VALID" ? 0 : pad_sum) - ek;
  if (span < 0) return unknown();
  int64_t o = ceil_mode ? (span + stride - 1) / stride + 1 : span / stride + 1;
  // A last window that would start inside the end padding is dropped.
  if (ceil_mode && (o - 1) * stride >= in.value + (auto_pad == "VALID" ? 0 : pad_begin)) --o;
  return Dim::known(o);
}

ValueType conv_or_pool(const Graph& g, const Node& n, bool is_conv) {
  const ValueType& x = type_of(g, n, 0);
  if (!x.rank_known || x.dims.size() < 3) return unranked(x.dtype);
  const size_t sp = x.dims.size() - 2;
  auto ks = n.attr_ints("kernel_shape");
  auto strides = n.attr_ints("strides");
  auto dils = n.attr_ints("dilations");
  auto pads = n.attr_ints("pads");
  auto ap = n.attr_string("auto_pad", "NOTSET");
  auto ceil = n.attr_int("ceil_mode", 0);
  if (!ks.is_ok() || !strides.is_ok() || !dils.is_ok() || !pads.is_ok() || !ap.is_ok() || !ceil.is_ok())
    return unranked(x.dtype);
  Dims out{x.dims[0], x.dims[1]};
  std::vector<int64_t> k = *ks;
  if (is_conv) {
    const ValueType& w = type_of(g, n, 1);
    if (!w.rank_known || w.dims.size() != x.dims.size()) return unranked(x.dtype);
    out[1] = w.dims[0];
    if (k.empty())
      for (size_t i = 0; i < sp; ++i) k.push_back(w.dims[2 + i].is_known() ? w.dims[2 + i].value : -1);
  }
  if (k.size() != sp) return unranked(x.dtype);
  for (size_t i = 0; i < sp; ++i) {
    const int64_t s = strides->empty() ? 1 : (i < strides->size() ? (*strides)[i] : -1);
    const int64_t d = dils->empty() ? 1 : (i < dils->size() ? (*dils)[i] : -1);
    const int64_t p = pads->empty() ? 0 : (pads->size() == 2 * sp ? (*pads)[i] + (*pads)[i + sp] : -1);
    if (p < 0) return unranked(x.dtype);
    const int64_t pb = pads->empty() ? 0 : (*pads)[i];
    out.push_back(window_out(x.dims[2 + i], k[i], s, d, pb, p, *ap, *ceil != 0));
  }
  return ranked(x.dtype, std::move(out));
}

ValueType reshape(const Graph& g, const Node& n) {
  const ValueType& x = type_of(g, n, 0);
  auto shape = const_ints(g, n, 1);
  if (!shape) return unranked(x.dtype);
  auto allow_zero = n.attr_int("allowzero", 0);
  if (!allow_zero.is_ok()) return unranked(x.dtype);
  Dims out;
  int minus = -1;
  for (size_t i = 0; i < shape->size(); ++i) {
    const int64_t s = (*shape)[i];
    if (s == 0 && !*allow_zero) {
      if (!x.rank_known || i >= x.dims.size()) return unranked(x.dtype);
      out.push_back(x.dims[i]);
    } else if (s == -1) {
      if (minus >= 0) return unranked(x.dtype);
      minus = static_cast<int>(i);
      out.push_back(unknown());
    } else if (s < 0) {
      return unranked(x.dtype);
    } else {
      out.push_back(Dim::known(s));
    }
  }
  if (minus >= 0 && x.rank_known) {
    // -1: the input's element count over the others', when both are known (or the same symbols
    // appear on both sides and cancel).
    std::vector<Dim> in_left = x.dims, out_left;
    for (size_t i = 0; i < out.size(); ++i)
      if (static_cast<int>(i) != minus) out_left.push_back(out[i]);
    for (auto it = out_left.begin(); it != out_left.end();) {
      auto m = std::find_if(in_left.begin(), in_left.end(), [&](const Dim& d) { return !d.symbol.empty() && same(d, *it); });
      if (!it->is_known() && m != in_left.end()) {
        in_left.erase(m);
        it = out_left.erase(it);
      } else {
        ++it;
      }
    }
    int64_t in_n = 1, out_n = 1;
    bool known = true;
    std::vector<Dim> in_sym;
    for (const Dim& d : in_left) {
      if (d.is_known()) in_n *= d.value;
      else in_sym.push_back(d);
    }
    for (const Dim& d : out_left) {
      if (d.is_known()) out_n *= d.value;
      else known = false;
    }
    if (known && out_n > 0) {
      if (in_sym.empty() && in_n % out_n == 0) out[static_cast<size_t>(minus)] = Dim::known(in_n / out_n);
      else if (in_sym.size() == 1 && in_n == out_n) out[static_cast<size_t>(minus)] = in_sym[0];
    }
  }
  return ranked(x.dtype, std::move(out));
}

ValueType transpose(const Graph& g, const Node& n) {
  const ValueType& x = type_of(g, n, 0);
  if (!x.rank_known) return unranked(x.dtype);
  auto perm = n.attr_ints("perm");
  if (!perm.is_ok()) return unranked(x.dtype);
  std::vector<int64_t> p = *perm;
  if (p.empty())
    for (size_t i = x.dims.size(); i-- > 0;) p.push_back(static_cast<int64_t>(i));
  if (p.size() != x.dims.size()) return unranked(x.dtype);
  Dims out;
  for (int64_t a : p) {
    if (a < 0 || a >= static_cast<int64_t>(x.dims.size())) return unranked(x.dtype);
    out.push_back(x.dims[static_cast<size_t>(a)]);
  }
  return ranked(x.dtype, std::move(out));
}

ValueType concat(const Graph& g, const Node& n) {
  DType t = DType::invalid;
  for (size_t i = 0; i < n.inputs.size(); ++i)
    if (type_of(g, n, i).dtype != DType::invalid) t = type_of(g, n, i).dtype;
  auto axis = n.attr_int("axis", 0);
  if (!axis.is_ok() || n.inputs.empty()) return unranked(t);
  Dims out;
  std::optional<size_t> ax;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    const ValueType& v = type_of(g, n, i);
    if (!v.rank_known) return unranked(t);
    if (i == 0) {
      out = v.dims;
      ax = norm_axis(*axis, out.size());
      if (!ax) return unranked(t);
      continue;
    }
    if (v.dims.size() != out.size()) return unranked(t);
    for (size_t d = 0; d < out.size(); ++d) {
      if (d == *ax) {
        out[d] = out[d].is_known() && v.dims[d].is_known() ? Dim::known(out[d].value + v.dims[d].value) : unknown();
      } else if (!out[d].is_known() && v.dims[d].is_known()) {
        out[d] = v.dims[d];
      } else if (!out[d].is_known() && !same(out[d], v.dims[d])) {
        out[d] = unknown();
      }
    }
  }
  return ranked(t, std::move(out));
}

ValueType gather(const Graph& g, const Node& n) {
  const ValueType& x = type_of(g, n, 0);
  const ValueType& idx = type_of(g, n, 1);
  auto axis = n.attr_int("axis", 0);
  if (!x.rank_known || !idx.rank_known || !axis.is_ok()) return unranked(x.dtype);
  auto ax = norm_axis(*axis, x.dims.size());
  if (!ax) return unranked(x.dtype);
  Dims out(x.dims.begin(), x.dims.begin() + static_cast<std::ptrdiff_t>(*ax));
  out.insert(out.end(), idx.dims.begin(), idx.dims.end());
  out.insert(out.end(), x.dims.begin() + static_cast<std::ptrdiff_t>(*ax) + 1, x.dims.end());
  return ranked(x.dtype, std::move(out));
}

ValueType slice(const Graph& g, const Node& n) {
  const ValueType& x = type_of(g, n, 0);
  if (!x.rank_known) return unranked(x.dtype);
  std::vector<int64_t> starts, ends, axes, steps;
  if (!has_input(n, 1)) {
    auto s = n.attr_ints("starts");
    auto e = n.attr_ints("ends");
    auto a = n.attr_ints("axes");
    if (!s.is_ok() || !e.is_ok() || !a.is_ok()) return unranked(x.dtype);
    starts = *s;
    ends = *e;
    axes = *a;
  } else {
    auto s = const_ints(g, n, 1);
    auto e = const_ints(g, n, 2);
    if (!s || !e) return unranked(x.dtype);
    starts = *s;
    ends = *e;
    if (has_input(n, 3)) {
      auto a = const_ints(g, n, 3);
      if (!a) return unranked(x.dtype);
      axes = *a;
    }
    if (has_input(n, 4)) {
      auto st = const_ints(g, n, 4);
      if (!st) return unranked(x.dtype);
      steps = *st;
    }
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (starts.size() != ends.size() || axes.size() != starts.size() || steps.size() != starts.size())
    return unranked(x.dtype);
  Dims out = x.dims;
  for (size_t i = 0; i < axes.size(); ++i) {
    auto ax = norm_axis(axes[i], x.dims.size());
    if (!ax || steps[i] == 0) return unranked(x.dtype);
    const Dim& d = x.dims[*ax];
    if (!d.is_known()) {
      out[*ax] = unknown();
      continue;
    }
    const int64_t dim = d.value, step = steps[i];
    auto clampi = [](int64_t v, int64_t lo, int64_t hi) { return std::min(std::max(v, lo), hi); };
    int64_t s = starts[i], e = ends[i];
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    int64_t len;
    if (step > 0) {
      s = clampi(s, 0, dim);
      e = clampi(e, 0, dim);
      len = e > s ? (e - s + step - 1) / step : 0;
    } else {
      s = clampi(s, 0, dim - 1);
      e = clampi(e, -1, dim - 1);
      len = s > e ? (s - e + (-step) - 1) / (-step) : 0;
    }
    out[*ax] = Dim::known(len);
  }
  return ranked(x.dtype, std::move(out));
}

ValueType unsqueeze(const Graph& g, const Node& n) {
  const ValueType& x = type_of(g, n, 0);
  std::optional<std::vector<int64_t>> axes = reduce_axes(g, n);
  if (!x.rank_known || !axes) return unranked(x.dtype);
  const size_t r = x.dims.size() + axes->size();
  std::vector<char> ins(r, 0);
  for (int64_t a : *axes) {
    auto ax = norm_axis(a, r);
    if (!ax || ins[*ax]) return unranked(x.dtype);
    ins[*ax] = 1;
  }
  Dims out;
  size_t k = 0;
  for (size_t i = 0; i < r; ++i) out.push_back(ins[i] ? Dim::known(1) : x.dims[k++]);
  return ranked(x.dtype, std::move(out));
}

ValueType squeeze(const Graph& g, const Node& n) {
  const ValueType& x = type_of(g, n, 0);
  std::optional<std::vector<int64_t>> axes = reduce_axes(g, n);
  if (!x.rank_known || !axes) return unranked(x.dtype);
  std::vector<char> drop(x.dims.size(), 0);
  if (axes->empty()) {
    for (size_t i = 0; i < x.dims.size(); ++i) {
      if (!x.dims[i].is_known()) return unranked(x.dtype);  // may or may not be 1
      drop[i] = x.dims[i].value == 1;
    }
  }
  for (int64_t a : *axes) {
    auto ax = norm_axis(a, x.dims.size());
    if (!ax) return unranked(x.dtype);
    drop[*ax] = 1;
  }
  Dims out;
  for (size_t i = 0; i < x.dims.size(); ++i)
    if (!drop[i]) out.push_back(x.dims[i]);
  return ranked(x.dtype, std::move(out));
}

ValueType flatten(const Graph& g, const Node& n) {
  const ValueType& x = type_of(g, n, 0);
  auto axis = n.attr_int("axis", 1);
  if (!x.rank_known || !axis.is_ok()) return unranked(x.dtype);
  const int64_t r = static_cast<int64_t>(x.dims.size());
  int64_t a = *axis < 0 ? *axis + r : *axis;
  if (a < 0 || a > r) return unranked(x.dtype);
  auto prod = [&](int64_t lo, int64_t hi) {
    if (hi - lo == 1) return x.dims[static_cast<size_t>(lo)];
    int64_t p = 1;
    for (int64_t i = lo; i < hi; ++i) {
      if (!x.dims[static_cast<size_t>(i)].is_known()) return unknown();
      p *= x.dims[static_cast<size_t>(i)].value;
    }
    return Dim::known(p);
  };
  return ranked(x.dtype, {prod(0, a), prod(a, r)});
}

ValueType expand(const Graph& g, const Node& n) {
  const ValueType& x = type_of(g, n, 0);
  auto shape = const_ints(g, n, 1);
  if (!x.rank_known || !shape) return unranked(x.dtype);
  Dims s;
  for (int64_t v : *shape) {
    if (v < 0) return unranked(x.dtype);
    s.push_back(Dim::known(v));
  }
  auto out = broadcast(x.dims, s);
  return out ? ranked(x.dtype, std::move(*out)) : unranked(x.dtype);
}

std::optional<DType> attr_dtype(const Node& n, const char* name) {
  auto to = n.attr_int(name, -1);
  if (!to.is_ok() || *to < 0) return std::nullopt;
  auto d = onnx::to_dtype(static_cast<int32_t>(*to));
  if (!d.is_ok()) return std::nullopt;
  return *d;
}

ValueType attention(const Graph& g, const Node& n) {
  const ValueType& q = type_of(g, n, 0);
  const ValueType& k = type_of(g, n, 1);
  const ValueType& v = type_of(g, n, 2);
  if (!q.rank_known || !k.rank_known || !v.rank_known || q.dims.size() < 2 || k.dims.size() < 2 || v.dims.size() < 2)
    return unranked(q.dtype);
  std::optional<Dims> batch = Dims(q.dims.begin(), q.dims.end() - 2);
  for (const ValueType* t : {&k, &v}) {
    batch = broadcast(*batch, Dims(t->dims.begin(), t->dims.end() - 2));
    if (!batch) return unranked(q.dtype);
  }
  if (has_input(n, 3)) {
    const ValueType& m = type_of(g, n, 3);
    if (!m.rank_known) return unranked(q.dtype);
    const size_t mb = m.dims.size() > 2 ? m.dims.size() - 2 : 0;
    batch = broadcast(*batch, Dims(m.dims.begin(), m.dims.begin() + static_cast<std::ptrdiff_t>(mb)));
    if (!batch) return unranked(q.dtype);
  }
  Dims out = *batch;
  out.push_back(q.dims[q.dims.size() - 2]);
  out.push_back(v.dims.back());
  return ranked(q.dtype, std::move(out));
}

}  // namespace

std::vector<ValueType> infer_node_types(const Graph& g, const Node& n) {
  std::vector<ValueType> out(n.outputs.size());
  if (out.empty()) return out;
  const DType t0 = type_of(g, n, 0).dtype;
  ValueType& y = out[0];
  switch (n.op) {
    // Same type and shape as the first input.
    case OpKind::Abs: case OpKind::Acos: case OpKind::Acosh: case OpKind::Asin: case OpKind::Asinh:
    case OpKind::Atan: case OpKind::Atanh: case OpKind::Ceil: case OpKind::Celu: case OpKind::Clip:
    case OpKind::Cos: case OpKind::Cosh: case OpKind::Elu: case OpKind::Erf: case OpKind::Exp:
    case OpKind::Floor: case OpKind::Gelu: case OpKind::HardSigmoid: case OpKind::HardSwish:
    case OpKind::Hardmax: case OpKind::Identity: case OpKind::LeakyRelu: case OpKind::Log:
    case OpKind::LogSoftmax: case OpKind::LpNormalization: case OpKind::Mish: case OpKind::Neg:
    case OpKind::Reciprocal: case OpKind::Relu: case OpKind::Round: case OpKind::Selu: case OpKind::Shrink:
    case OpKind::Sigmoid: case OpKind::Sign: case OpKind::Sin: case OpKind::Sinh: case OpKind::Softmax:
    case OpKind::Softplus: case OpKind::Softsign: case OpKind::Sqrt: case OpKind::Tan: case OpKind::Tanh:
    case OpKind::ThresholdedRelu: case OpKind::Not: case OpKind::InstanceNormalization:
    case OpKind::MeanVarianceNormalization: case OpKind::LRN: case OpKind::MsGelu:
      y = same_as_input(g, n);
      break;
    case OpKind::Dropout:
    case OpKind::LayerNormalization:
    case OpKind::BatchNormalization:
      y = same_as_input(g, n);  // further outputs (mask, statistics) are left as declared
      break;
    case OpKind::IsNaN:
    case OpKind::IsInf: {
      y = same_as_input(g, n);
      y.dtype = DType::boolean;
      break;
    }
    case OpKind::Cast: {
      y = same_as_input(g, n);
      auto d = attr_dtype(n, "to");
      y.dtype = d ? *d : DType::invalid;
      break;
    }
    case OpKind::CastLike:
      y = same_as_input(g, n);
      y.dtype = type_of(g, n, 1).dtype;
      break;
    // Broadcasting.
    case OpKind::Add: case OpKind::Sub: case OpKind::Mul: case OpKind::Div: case OpKind::Pow:
    case OpKind::Mod: case OpKind::PRelu: case OpKind::BitShift:
      y = broadcast_inputs(g, n, 0, 2, t0);
      break;
    case OpKind::Max: case OpKind::Min: case OpKind::Mean: case OpKind::Sum:
      y = broadcast_inputs(g, n, 0, n.inputs.size(), t0);
      break;
    case OpKind::And: case OpKind::Or: case OpKind::Xor: case OpKind::Equal: case OpKind::Less:
    case OpKind::Greater: case OpKind::LessOrEqual: case OpKind::GreaterOrEqual:
      y = broadcast_inputs(g, n, 0, 2, DType::boolean);
      break;
    case OpKind::Where:
      y = broadcast_inputs(g, n, 0, 3, type_of(g, n, 1).dtype);
      break;
    // GEMMs.
    case OpKind::MatMul:
      y = matmul(type_of(g, n, 0), type_of(g, n, 1), t0);
      break;
    case OpKind::Gemm:
    case OpKind::MsFusedGemm:
      y = gemm(g, n);
      break;
    case OpKind::ObolFusedMatMulBias: {
      const ValueType& a = type_of(g, n, 0);
      const ValueType& b = type_of(g, n, 1);
      if (a.rank_known && !a.dims.empty() && b.rank_known && b.dims.size() == 2) {
        Dims d(a.dims.begin(), a.dims.end() - 1);
        d.push_back(b.dims[1]);
        y = ranked(t0, std::move(d));
      } else {
        y = unranked(t0);
      }
      break;
    }
    case OpKind::ObolAttention:
      y = attention(g, n);
      break;
    // Quantize / dequantize: the input's shape; the zero point's (or the scale's) element type.
    case OpKind::QuantizeLinear:
    case OpKind::MsQuantizeLinear:
      y = same_as_input(g, n);
      y.dtype = has_input(n, 2) ? type_of(g, n, 2).dtype : DType::invalid;  // else output_dtype or uint8
      break;
    case OpKind::DequantizeLinear:
    case OpKind::MsDequantizeLinear:
      y = same_as_input(g, n);
      y.dtype = type_of(g, n, 1).dtype;
      break;
    case OpKind::DynamicQuantizeLinear:
      y = same_as_input(g, n);
      y.dtype = DType::u8;
      if (out.size() > 1) out[1] = ranked(DType::f32, Dims{});
      if (out.size() > 2) out[2] = ranked(DType::u8, Dims{});
      break;
    // Integer and quantized GEMMs: the shape of the MatMul of A and B.
    case OpKind::MatMulInteger:
      y = matmul(type_of(g, n, 0), type_of(g, n, 1), DType::i32);
      break;
    case OpKind::QLinearMatMul:
      y = matmul(type_of(g, n, 0), type_of(g, n, 3), has_input(n, 7) ? type_of(g, n, 7).dtype : t0);
      break;
    case OpKind::MsDynamicQuantizeMatMul:
      y = matmul(type_of(g, n, 0), type_of(g, n, 1), t0);
      break;
    case OpKind::MsMatMulIntegerToFloat:
      y = matmul(type_of(g, n, 0), type_of(g, n, 1), type_of(g, n, 2).dtype);
      break;
    case OpKind::MsMatMulNBits: {  // B is packed; the attribute N gives the output's last dimension
      const ValueType& a = type_of(g, n, 0);
      auto cols = n.attr_int("N", 0);
      if (a.rank_known && !a.dims.empty() && cols.is_ok() && *cols > 0) {
        Dims d(a.dims.begin(), a.dims.end() - 1);
        d.push_back(Dim::known(*cols));
        y = ranked(t0, std::move(d));
      } else {
        y = unranked(t0);
      }
      break;
    }
    // Convolution and pooling.
    case OpKind::Conv:
    case OpKind::MsFusedConv:
      y = conv_or_pool(g, n, true);
      break;
    case OpKind::MaxPool:
    case OpKind::AveragePool:
    case OpKind::LpPool:
      y = conv_or_pool(g, n, false);
      if (n.op == OpKind::MaxPool && out.size() > 1) {
        out[1] = y;
        out[1].dtype = DType::i64;
      }
      break;
    case OpKind::GlobalAveragePool:
    case OpKind::GlobalMaxPool:
    case OpKind::GlobalLpPool: {
      const ValueType& x = type_of(g, n, 0);
      if (x.rank_known && x.dims.size() >= 2) {
        Dims d{x.dims[0], x.dims[1]};
        d.resize(x.dims.size(), Dim::known(1));
        y = ranked(x.dtype, std::move(d));
      } else {
        y = unranked(x.dtype);
      }
      break;
    }
    // Layout.
    case OpKind::Reshape: y = reshape(g, n); break;
    case OpKind::Transpose: y = transpose(g, n); break;
    case OpKind::Concat: y = concat(g, n); break;
    case OpKind::Gather: y = gather(g, n); break;
    case OpKind::Slice: y = slice(g, n); break;
    case OpKind::Unsqueeze: y = unsqueeze(g, n); break;
    case OpKind::Squeeze: y = squeeze(g, n); break;
    case OpKind::Flatten: y = flatten(g, n); break;
    case OpKind::Expand: y = expand(g, n); break;
    // Reductions.
    case OpKind::ReduceSum:
      y = reduce(g, n, t0);
      break;
    case OpKind::ReduceMean: case OpKind::ReduceMax: case OpKind::ReduceMin: case OpKind::ReduceProd:
    case OpKind::ReduceL1: case OpKind::ReduceL2: case OpKind::ReduceLogSum: case OpKind::ReduceLogSumExp:
    case OpKind::ReduceSumSquare:
      y = reduce(g, n, t0);
      break;
    case OpKind::ArgMax:
    case OpKind::ArgMin: {
      const ValueType& x = type_of(g, n, 0);
      auto axis = n.attr_int("axis", 0);
      auto keep = n.attr_int("keepdims", 1);
      auto ax = x.rank_known && axis.is_ok() ? norm_axis(*axis, x.dims.size()) : std::nullopt;
      if (ax && keep.is_ok()) {
        Dims d = x.dims;
        if (*keep) d[*ax] = Dim::known(1);
        else d.erase(d.begin() + static_cast<std::ptrdiff_t>(*ax));
        y = ranked(DType::i64, std::move(d));
      } else {
        y = unranked(DType::i64);
      }
      break;
    }
    // Shapes and constants.
    case OpKind::Shape: {
      const ValueType& x = type_of(g, n, 0);
      auto start = n.attr_int("start", 0);
      auto end = n.attr_int("end", INT64_MAX);
      if (x.rank_known && start.is_ok() && end.is_ok()) {
        const int64_t r = static_cast<int64_t>(x.dims.size());
        int64_t s = *start < 0 ? *start + r : *start, e = *end < 0 ? *end + r : *end;
        s = std::clamp<int64_t>(s, 0, r);
        e = std::clamp<int64_t>(e, 0, r);
        y = ranked(DType::i64, {Dim::known(std::max<int64_t>(0, e - s))});
      } else {
        y = ranked(DType::i64, {unknown()});
      }
      break;
    }
    case OpKind::Size:
      y = ranked(DType::i64, {});
      break;
    case OpKind::Constant: {
      const Attribute* v = n.find_attribute("value");
      if (v && v->kind == Attribute::Kind::t && v->t) y = ValueType::tensor(v->t->view.dtype(), v->t->view.shape());
      else if (n.find_attribute("value_float")) y = ranked(DType::f32, {});
      else if (n.find_attribute("value_int")) y = ranked(DType::i64, {});
      else if (const Attribute* fs = n.find_attribute("value_floats"))
        y = ranked(DType::f32, {Dim::known(static_cast<int64_t>(fs->floats.size()))});
      else if (const Attribute* is = n.find_attribute("value_ints"))
        y = ranked(DType::i64, {Dim::known(static_cast<int64_t>(is->ints.size()))});
      break;
    }
    case OpKind::ConstantOfShape: {
      const Attribute* v = n.find_attribute("value");
      const DType dt = v && v->kind == Attribute::Kind::t && v->t ? v->t->view.dtype() : DType::f32;
      auto shape = const_ints(g, n, 0);
      if (shape) {
        Dims d;
        for (int64_t s : *shape) d.push_back(s >= 0 ? Dim::known(s) : unknown());
        y = ranked(dt, std::move(d));
      } else {
        y = unranked(dt);
      }
      break;
    }
    default:
      break;
  }
  return out;
}

Result<bool> merge_value_type(ValueType& declared, const ValueType& inferred, const std::string& what) {
  ValueType merged = declared;
  if (inferred.dtype != DType::invalid) {
    if (merged.dtype == DType::invalid) merged.dtype = inferred.dtype;
    else if (merged.dtype != inferred.dtype)
      return make_status(StatusCode::invalid_argument, "shape inference", what, " is declared ", declared.to_string(),
                         " but inferred ", inferred.to_string(), " (element type differs)");
  }
  if (inferred.rank_known) {
    if (!merged.rank_known) {
      merged.rank_known = true;
      merged.dims = inferred.dims;
    } else if (merged.dims.size() != inferred.dims.size()) {
      return make_status(StatusCode::invalid_argument, "shape inference", what, " is declared ", declared.to_string(),
                         " but inferred ", inferred.to_string(), " (rank differs)");
    } else {
      for (size_t i = 0; i < merged.dims.size(); ++i) {
        Dim& d = merged.dims[i];
        const Dim& e = inferred.dims[i];
        if (d.is_known() && e.is_known() && d.value != e.value)
          return make_status(StatusCode::invalid_argument, "shape inference", what, " is declared ",
                             declared.to_string(), " but inferred ", inferred.to_string(), " (dimension ", i,
                             " differs)");
        if (!d.is_known() && (e.is_known() || (d.symbol.empty() && !e.symbol.empty()))) d = e;
      }
    }
  }
  const bool changed = merged.dtype != declared.dtype || merged.rank_known != declared.rank_known ||
                       !(merged.dims == declared.dims);
  declared = std::move(merged);
  return changed;
}

Result<int> infer_shapes(Graph& g) {
  OBOL_ASSIGN_OR_RETURN(std::vector<NodeId> order, g.topological_order());
  int changed = 0;
  for (NodeId id : order) {
    const Node& n = g.node(id);
    std::vector<ValueType> types = infer_node_types(g, n);
    for (size_t i = 0; i < types.size(); ++i) {
      const ValueId v = n.outputs[i];
      if (v == kNoValue) continue;
      Value& val = g.value(v);
      if (val.constant) continue;
      const std::string what =
          str_cat("node '", n.name, "' (", op_info(n.op).op_type, "): output '", val.name, "'");
      OBOL_ASSIGN_OR_RETURN(const bool c, merge_value_type(val.type, types[i], what));
      changed += c ? 1 : 0;
    }
  }
  return changed;
}

}  // namespace graph
}  // inline namespace v1
}  // namespace obol
