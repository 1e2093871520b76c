// Shared helpers for the CPU op kernels: kernel wrappers, node checks, dtype dispatch, broadcasting.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "obol/backend/kernel.hpp"
#include "obol/core/parallel.hpp"
#include "obol/graph/graph.hpp"
#include "registry.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

// --- Kernels from callables ---------------------------------------------------------------------

// A Kernel whose run() calls `f(ctx)`. `f` is called concurrently by several sessions: it must not
// modify captured state (capture by value, treat it as const).
template <class F>
class FnKernel final : public backend::Kernel {
 public:
  FnKernel(F f, int inplace_input0) : f_(std::move(f)), inplace_(inplace_input0) {}
  Status run(backend::KernelContext& ctx) const override { return f_(ctx); }
  int inplace_input(int output) const noexcept override { return output == 0 ? inplace_ : -1; }

 private:
  F f_;
  int inplace_;
};

// Wraps a callable `Status(backend::KernelContext&)` as a kernel. `inplace_input0`: the input whose
// buffer output 0 may reuse (elementwise ops with equal shapes and sizes), or -1.
template <class F>
Result<std::unique_ptr<backend::Kernel>> make_kernel(F f, int inplace_input0 = -1) {
  return std::unique_ptr<backend::Kernel>(new FnKernel<F>(std::move(f), inplace_input0));
}

// --- Node checks --------------------------------------------------------------------------------

// An error about `node`, prefixed "[OpType] node 'name': ".
template <class... Args>
Status node_error(StatusCode code, const graph::Node& node, const Args&... args) {
  return Status(code, str_cat("[", graph::op_info(node.op).op_type, "] node '", node.name, "': ", args...));
}

inline Status check_arity(const graph::Node& node, int min_in, int max_in, int min_out, int max_out) {
  const int ni = static_cast<int>(node.inputs.size());
  const int no = static_cast<int>(node.outputs.size());
  if (ni < min_in || ni > max_in)
    return node_error(StatusCode::invalid_argument, node, "expected ", min_in == max_in ? "" : "between ", min_in,
                      min_in == max_in ? "" : str_cat(" and ", max_in), " inputs, found ", ni);
  if (no < min_out || no > max_out)
    return node_error(StatusCode::invalid_argument, node, "expected ", min_out == max_out ? "" : "between ", min_out,
                      min_out == max_out ? "" : str_cat(" and ", max_out), " outputs, found ", no);
  return Status::ok();
}

// The constant data of input i, or nullptr when it is not a constant (or omitted).
inline const graph::ConstantData* constant_input(const graph::Graph& g, const graph::Node& node, int i) {
  if (i < 0 || i >= static_cast<int>(node.inputs.size())) return nullptr;
  const graph::ValueId v = node.inputs[static_cast<size_t>(i)];
  if (v == graph::kNoValue) return nullptr;
  return g.value(v).constant.get();
}

// The declared type of input i (dtype invalid when unknown or omitted).
inline graph::ValueType input_type(const graph::Graph& g, const graph::Node& node, int i) {
  if (i < 0 || i >= static_cast<int>(node.inputs.size()) || node.inputs[static_cast<size_t>(i)] == graph::kNoValue)
    return {};
  return g.value(node.inputs[static_cast<size_t>(i)]).type;
}

// Reads an integer tensor (i32 or i64, any shape) as int64 values. `what` names it in errors.
inline Result<std::vector<int64_t>> read_ints(const TensorView& t, const char* what) {
  std::vector<int64_t> r(static_cast<size_t>(t.numel()));
  if (t.dtype() == DType::i64) {
    if (!r.empty()) std::memcpy(r.data(), t.data(), r.size() * sizeof(int64_t));
  } else if (t.dtype() == DType::i32) {
    for (size_t i = 0; i < r.size(); ++i) r[i] = t.data_as<const int32_t>()[i];
  } else {
    return make_status(StatusCode::invalid_argument, "cpu", what, " must be int32 or int64, found ", dtype_name(t.dtype()));
  }
  return r;
}

// Reads a tensor of any real or integer dtype as doubles (for scalar parameters such as Clip's min).
Result<std::vector<double>> read_doubles(const TensorView& t, const char* what);

// --- dtype dispatch -----------------------------------------------------------------------------

// Calls f(T{}) with the C++ type of `t` among the listed dtypes; unsupported otherwise.
struct F16 {
  uint16_t bits;
};
struct BF16 {
  uint16_t bits;
};

template <class T>
constexpr DType dtype_for() {
  if constexpr (std::is_same_v<T, F16>) return DType::f16;
  else if constexpr (std::is_same_v<T, BF16>) return DType::bf16;
  else return dtype_of_v<T>;
}

// Every scalar dtype obol supports, in DType order.
#define OBOL_CPU_ALL_TYPES float, F16, BF16, int8_t, uint8_t, int32_t, int64_t, bool, double, int16_t, uint16_t, uint32_t, uint64_t
#define OBOL_CPU_NUMERIC_TYPES float, double, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t
#define OBOL_CPU_FLOAT_TYPES float, double

template <class... Ts, class F>
Status dispatch_dtype(DType t, const char* op, F&& f) {
  bool done = false;
  Status st;
  ((!done && dtype_for<Ts>() == t ? (done = true, st = f(Ts{}), 0) : 0), ...);
  if (!done) return make_status(StatusCode::unsupported, op, "element type ", dtype_name(t), " is not supported");
  return st;
}

// --- broadcasting -------------------------------------------------------------------------------

// Walks the output of a numpy-broadcast binary op. For each contiguous run of the innermost output
// dimension it calls run(a_offset, a_inc, b_offset, b_inc, out_offset, n) with element offsets and
// increments of 0 or 1. Shapes must already be validated (broadcast_shapes).
template <class F>
void for_each_broadcast_run(const Shape& a, const Shape& b, const Shape& out, F&& run) {
  const int r = out.rank();
  int64_t sa[Shape::kMaxRank] = {}, sb[Shape::kMaxRank] = {};
  {
    int64_t ca = 1, cb = 1;
    for (int i = r - 1; i >= 0; --i) {
      const int ia = i - (r - a.rank()), ib = i - (r - b.rank());
      const int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
      sa[i] = da == 1 ? 0 : ca;
      sb[i] = db == 1 ? 0 : cb;
      ca *= da;
      cb *= db;
    }
  }
  const int64_t total = out.numel();
  if (total == 0) return;
  if (r == 0) {
    run(int64_t{0}, int64_t{0}, int64_t{0}, int64_t{0}, int64_t{0}, int64_t{1});
    return;
  }
  const int64_t inner = out[r - 1];
  const int64_t rows = total / inner;
  int64_t idx[Shape::kMaxRank] = {};
  for (int64_t row = 0; row < rows; ++row) {
    int64_t oa = 0, ob = 0;
    for (int i = 0; i < r - 1; ++i) {
      oa += idx[i] * sa[i];
      ob += idx[i] * sb[i];
    }
    run(oa, sa[r - 1], ob, sb[r - 1], row * inner, inner);
    for (int i = r - 2; i >= 0; --i) {
      if (++idx[i] < out[i]) break;
      idx[i] = 0;
    }
  }
}

// out[i] = f(a[..], b[..]) with numpy broadcasting, for any element types.
template <class Ta, class Tb, class To, class F>
void broadcast_binary(const TensorView& a, const TensorView& b, const TensorView& out, F&& f) {
  const Ta* pa = a.data_as<const Ta>();
  const Tb* pb = b.data_as<const Tb>();
  To* po = out.data_as<To>();
  for_each_broadcast_run(a.shape(), b.shape(), out.shape(),
                         [&](int64_t oa, int64_t ia, int64_t ob, int64_t ib, int64_t oo, int64_t n) {
                           for (int64_t i = 0; i < n; ++i) po[oo + i] = f(pa[oa + i * ia], pb[ob + i * ib]);
                         });
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
