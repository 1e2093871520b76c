// Helpers shared by the elementwise kernels: scalar conversions, N-way broadcasting with threads,
// dtype sets and the per-part registration hooks of the family.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>

#include "common.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

void register_elementwise_unary(CpuOpRegistry& r);
void register_elementwise_binary(CpuOpRegistry& r);
void register_elementwise_misc(CpuOpRegistry& r);

namespace ew {

using KernelPtr = std::unique_ptr<backend::Kernel>;

// Elements per task below which threading costs more than it saves.
inline constexpr int64_t kGrain = 16384;

// Enough of a node to name it in run-time errors, captured by value.
struct NodeTag {
  std::string op_type;
  std::string name;

  explicit NodeTag(const graph::Node& node) : op_type(graph::op_info(node.op).op_type), name(node.name) {}
  template <class... Args>
  Status error(StatusCode code, const Args&... args) const {
    return Status(code, str_cat("[", op_type, "] node '", name, "': ", args...));
  }
};

// --- dtype sets ---------------------------------------------------------------------------------

template <class... Ts>
struct Types {};

using FloatTypes = Types<float, double, F16, BF16>;
using SignedTypes = Types<float, double, F16, BF16, int8_t, int16_t, int32_t, int64_t>;
using NumericTypes =
    Types<float, double, F16, BF16, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t>;
using AllTypes =
    Types<float, double, F16, BF16, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t, bool>;
using UnsignedTypes = Types<uint8_t, uint16_t, uint32_t, uint64_t>;
using BoolTypes = Types<bool>;

template <class... Ts>
constexpr bool contains(Types<Ts...>, DType t) {
  return ((dtype_for<Ts>() == t) || ...);
}

template <class... Ts>
std::string type_names(Types<Ts...>) {
  std::string s;
  ((s += (s.empty() ? "" : ", "), s += std::string(dtype_name(dtype_for<Ts>()))), ...);
  return s;
}

// Calls f(T{}) for the listed type matching `t`; the caller has checked that one does.
template <class... Ts, class F>
Status dispatch(Types<Ts...>, DType t, F&& f) {
  return dispatch_dtype<Ts...>(t, "cpu", std::forward<F>(f));
}

// Load-time check of an input's declared dtype (unknown types pass; run() checks again).
template <class Set>
Status check_input_type(const graph::Graph& g, const graph::Node& node, int i, Set set) {
  const DType t = input_type(g, node, i).dtype;
  if (t == DType::invalid || contains(set, t)) return Status::ok();
  return node_error(StatusCode::unsupported, node, "input ", i, " has element type ", dtype_name(t),
                    ", expected one of ", type_names(set));
}

template <class Set>
Status check_run_type(const NodeTag& tag, const TensorView& x, int i, Set set) {
  if (contains(set, x.dtype())) return Status::ok();
  return tag.error(StatusCode::unsupported, "input ", i, " has element type ", dtype_name(x.dtype()),
                   ", expected one of ", type_names(set));
}

// --- scalar conversions -------------------------------------------------------------------------

// The type arithmetic on T is done in: float for the half types, T otherwise.
template <class T>
using calc_t = std::conditional_t<std::is_same_v<T, F16> || std::is_same_v<T, BF16>, float, T>;

template <class T>
inline calc_t<T> load(T v) {
  if constexpr (std::is_same_v<T, F16>)
    return f16_to_f32(v.bits);
  else if constexpr (std::is_same_v<T, BF16>)
    return bf16_to_f32(v.bits);
  else
    return v;
}

// Float to integer without undefined behaviour: truncation toward zero, NaN gives 0 and values
// outside the range saturate (ONNX leaves both undefined).
template <class I, class F>
inline I float_to_int(F v) {
  if (v != v) return 0;
  constexpr F lo = static_cast<F>(std::numeric_limits<I>::min());
  // 2^bits (or 2^(bits-1)) is exact in F; anything at or above it saturates.
  constexpr F hi = static_cast<F>(std::numeric_limits<I>::max() / 2 + 1) * F(2);
  if (v <= lo) return std::numeric_limits<I>::min();
  if (v >= hi) return std::numeric_limits<I>::max();
  return static_cast<I>(v);
}

// A double narrowed to float rounding to odd, so that a second rounding to a half type gives the
// correctly rounded result (plain double -> float -> half can round twice).
inline float double_to_float_odd(double d) {
  float f = static_cast<float>(d);
  if (static_cast<double>(f) == d || f != f || std::isinf(f)) return f;
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if (std::fabs(static_cast<double>(f)) > std::fabs(d)) --bits;  // step toward zero: truncation
  bits |= 1u;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Converts one value of any supported type to To, as ONNX Cast does.
template <class To, class From>
inline To convert(From v) {
  if constexpr (std::is_same_v<From, F16> || std::is_same_v<From, BF16>) {
    return convert<To>(load(v));
  } else if constexpr (std::is_same_v<To, F16>) {
    if constexpr (std::is_same_v<From, double>)
      return F16{f32_to_f16(double_to_float_odd(v))};
    else
      return F16{f32_to_f16(static_cast<float>(v))};
  } else if constexpr (std::is_same_v<To, BF16>) {
    if constexpr (std::is_same_v<From, double>)
      return BF16{f32_to_bf16(double_to_float_odd(v))};
    else
      return BF16{f32_to_bf16(static_cast<float>(v))};
  } else if constexpr (std::is_same_v<To, bool>) {
    return v != From(0);
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    return float_to_int<To>(v);
  } else {
    return static_cast<To>(v);
  }
}

// Stores a computed value (float for half types) as T.
template <class T, class C>
inline T store(C v) {
  if constexpr (std::is_same_v<T, F16>)
    return F16{f32_to_f16(static_cast<float>(v))};
  else if constexpr (std::is_same_v<T, BF16>)
    return BF16{f32_to_bf16(static_cast<float>(v))};
  else
    return static_cast<T>(v);
}

// --- N-way broadcasting -------------------------------------------------------------------------

// The iteration plan of an elementwise op with K inputs broadcast to `out`: dimensions where every
// input moves alike are merged, so inner runs are as long as possible.
template <int K>
struct BroadcastPlan {
  int rank = 0;
  int64_t dims[Shape::kMaxRank] = {};
  int64_t strides[K][Shape::kMaxRank] = {};
  int64_t inner = 1;  // elements per run
  int64_t rows = 0;   // number of runs
};

// Inputs must be broadcastable to `out` (checked by the caller with broadcast_shapes).
template <int K>
BroadcastPlan<K> plan_broadcast(const Shape& out, const Shape* const (&in)[K]) {
  BroadcastPlan<K> p;
  const int r = out.rank();
  int64_t st[K][Shape::kMaxRank] = {};
  for (int k = 0; k < K; ++k) {
    int64_t c = 1;
    for (int i = r - 1; i >= 0; --i) {
      const int j = i - (r - in[k]->rank());
      const int64_t d = j >= 0 ? (*in[k])[j] : 1;
      st[k][i] = d == 1 ? 0 : c;
      c *= d;
    }
  }
  // Walk from the innermost dimension outwards, dropping size-1 dims and merging compatible ones.
  int64_t dims_rev[Shape::kMaxRank];
  int64_t st_rev[K][Shape::kMaxRank];
  int n = 0;
  for (int i = r - 1; i >= 0; --i) {
    if (out[i] == 1) continue;
    bool merge = n > 0;
    for (int k = 0; k < K && merge; ++k) merge = st[k][i] == st_rev[k][n - 1] * dims_rev[n - 1];
    if (merge) {
      dims_rev[n - 1] *= out[i];
      continue;
    }
    dims_rev[n] = out[i];
    for (int k = 0; k < K; ++k) st_rev[k][n] = st[k][i];
    ++n;
  }
  p.rank = n;
  for (int i = 0; i < n; ++i) {
    p.dims[i] = dims_rev[n - 1 - i];
    for (int k = 0; k < K; ++k) p.strides[k][i] = st_rev[k][n - 1 - i];
  }
  p.inner = n > 0 ? p.dims[n - 1] : 1;
  p.rows = out.numel() / (p.inner > 0 ? p.inner : 1);
  if (out.numel() == 0) p.rows = 0;
  return p;
}

// Calls run(off, inc, out_offset, n) for runs [row_begin, row_end) of the plan; off[k] and inc[k]
// are the element offset and increment (0 or 1) of input k.
template <int K, class F>
void for_each_run(const BroadcastPlan<K>& p, int64_t row_begin, int64_t row_end, F&& run) {
  int64_t idx[Shape::kMaxRank] = {};
  int64_t rem = row_begin;
  for (int i = p.rank - 2; i >= 0; --i) {
    idx[i] = rem % p.dims[i];
    rem /= p.dims[i];
  }
  int64_t inc[K];
  for (int k = 0; k < K; ++k) inc[k] = p.rank > 0 ? p.strides[k][p.rank - 1] : 0;
  for (int64_t row = row_begin; row < row_end; ++row) {
    int64_t off[K] = {};
    for (int i = 0; i < p.rank - 1; ++i)
      for (int k = 0; k < K; ++k) off[k] += idx[i] * p.strides[k][i];
    run(static_cast<const int64_t*>(off), static_cast<const int64_t*>(inc), row * p.inner, p.inner);
    for (int i = p.rank - 2; i >= 0; --i) {
      if (++idx[i] < p.dims[i]) break;
      idx[i] = 0;
    }
  }
}

// for_each_run over the whole plan, split across threads.
template <int K, class F>
void parallel_runs(const BroadcastPlan<K>& p, F&& run) {
  if (p.rows <= 0 || p.inner <= 0) return;
  const int64_t grain_rows = p.inner >= kGrain ? 1 : kGrain / p.inner;
  parallel_for_range(p.rows, grain_rows, [&](int64_t b, int64_t e) { for_each_run(p, b, e, run); });
}

// Broadcast shape of several inputs, or an error naming the node.
inline Result<Shape> broadcast_all(const NodeTag& tag, const TensorView* const* in, int n) {
  Shape s = in[0]->shape();
  for (int i = 1; i < n; ++i) {
    auto r = broadcast_shapes(s, in[i]->shape());
    if (!r.is_ok())
      return tag.error(StatusCode::invalid_argument, "inputs are not broadcastable: ", r.status().message());
    s = *r;
  }
  return s;
}

// y[i] = f(x[i]) over the whole tensor, threaded. y may be x itself.
template <class Ti, class To, class F>
void map_unary(const TensorView& x, const TensorView& y, F&& f) {
  const Ti* px = x.data_as<const Ti>();
  To* py = y.data_as<To>();
  parallel_for_range(x.numel(), kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) py[i] = f(px[i]);
  });
}

// out = f(a, b) with numpy broadcasting, threaded. out must have the broadcast shape.
template <class Ta, class Tb, class To, class F>
void map_binary(const TensorView& a, const TensorView& b, const TensorView& out, F&& f) {
  const Shape* shapes[2] = {&a.shape(), &b.shape()};
  const BroadcastPlan<2> p = plan_broadcast<2>(out.shape(), shapes);
  const Ta* pa = a.data_as<const Ta>();
  const Tb* pb = b.data_as<const Tb>();
  To* po = out.data_as<To>();
  parallel_runs(p, [&](const int64_t* off, const int64_t* inc, int64_t oo, int64_t n) {
    const Ta* xa = pa + off[0];
    const Tb* xb = pb + off[1];
    To* y = po + oo;
    if (inc[0] && inc[1]) {
      for (int64_t i = 0; i < n; ++i) y[i] = f(xa[i], xb[i]);
    } else if (inc[0]) {
      const Tb vb = xb[0];
      for (int64_t i = 0; i < n; ++i) y[i] = f(xa[i], vb);
    } else if (inc[1]) {
      const Ta va = xa[0];
      for (int64_t i = 0; i < n; ++i) y[i] = f(va, xb[i]);
    } else {
      const To v = f(xa[0], xb[0]);
      for (int64_t i = 0; i < n; ++i) y[i] = v;
    }
  });
}

}  // namespace ew
}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
