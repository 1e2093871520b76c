// Helpers shared by the tensor (shape and layout) operator family: these ops move bytes, so most of
// them work on the element size (1, 2, 4 or 8 bytes) rather than on the dtype.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "common.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

using KernelResult = Result<std::unique_ptr<backend::Kernel>>;

// The kernel factories of the family (registered in tensor.cpp).
KernelResult make_reshape(const graph::Graph& g, const graph::Node& node);
KernelResult make_shape(const graph::Graph& g, const graph::Node& node);
KernelResult make_size(const graph::Graph& g, const graph::Node& node);
KernelResult make_flatten(const graph::Graph& g, const graph::Node& node);
KernelResult make_squeeze(const graph::Graph& g, const graph::Node& node);
KernelResult make_unsqueeze(const graph::Graph& g, const graph::Node& node);
KernelResult make_transpose(const graph::Graph& g, const graph::Node& node);
KernelResult make_concat(const graph::Graph& g, const graph::Node& node);
KernelResult make_split(const graph::Graph& g, const graph::Node& node);
KernelResult make_slice(const graph::Graph& g, const graph::Node& node);
KernelResult make_expand(const graph::Graph& g, const graph::Node& node);
KernelResult make_tile(const graph::Graph& g, const graph::Node& node);
KernelResult make_depth_to_space(const graph::Graph& g, const graph::Node& node);
KernelResult make_space_to_depth(const graph::Graph& g, const graph::Node& node);
KernelResult make_pad(const graph::Graph& g, const graph::Node& node);
KernelResult make_constant_of_shape(const graph::Graph& g, const graph::Node& node);
KernelResult make_eye_like(const graph::Graph& g, const graph::Node& node);
KernelResult make_range(const graph::Graph& g, const graph::Node& node);
KernelResult make_one_hot(const graph::Graph& g, const graph::Node& node);
KernelResult make_trilu(const graph::Graph& g, const graph::Node& node);
KernelResult make_reverse_sequence(const graph::Graph& g, const graph::Node& node);
KernelResult make_compress(const graph::Graph& g, const graph::Node& node);
KernelResult make_non_zero(const graph::Graph& g, const graph::Node& node);
KernelResult make_unique(const graph::Graph& g, const graph::Node& node);

// What a kernel keeps of its node to name it in run-time errors (the graph may not outlive it).
struct NodeTag {
  graph::OpKind op{};
  std::string name;
  explicit NodeTag(const graph::Node& n) : op(n.op), name(n.name) {}
};

// "[OpType] node 'name': ..." at run time.
template <class... Args>
Status tag_error(StatusCode code, const NodeTag& tag, const Args&... args) {
  return Status(code, str_cat("[", graph::op_info(tag.op).op_type, "] node '", tag.name, "': ", args...));
}

// The element size of a scalar dtype (1, 2, 4 or 8 bytes); an error for block-quantized types.
inline Result<size_t> element_size(const NodeTag& tag, DType t, const char* what) {
  const size_t e = dtype_size(t);
  if (e != 1 && e != 2 && e != 4 && e != 8)
    return tag_error(StatusCode::unsupported, tag, what, " has dtype ", dtype_name(t),
                     ", expected a dtype with a fixed element size of 1, 2, 4 or 8 bytes");
  return e;
}

// Reads a short integer list (a shape, axes, pads...) from a rank-0 or rank-1 int32/int64 tensor
// into out[0..*n), at most `cap` values. No allocation; unaligned data is fine.
Status read_int_list(const NodeTag& tag, const TensorView& t, const char* what, int64_t* out, int cap, int* n);

// Reads a single integer from a one-element int32/int64 tensor.
Result<int64_t> read_int_scalar(const NodeTag& tag, const TensorView& t, const char* what);

// Normalises axis in [-rank, rank) (or [-rank, rank] with `inclusive`), naming it in the error.
Result<int> normalize_axis(const NodeTag& tag, int64_t axis, int rank, const char* what, bool inclusive = false);

// A copy of a strided view of `src` into a dense `dst`:
//   dst[i0, .., ir-1] = src[base + sum_k ik * strides[k]]     (offsets and strides in elements)
// Strides may be zero (broadcast) or negative (reversal). Up to kMaxRank dims, twice a tensor's,
// so that Tile and DepthToSpace can split each axis in two.
struct StridedCopy {
  static constexpr int kMaxRank = 2 * Shape::kMaxRank;
  int rank = 0;
  int64_t dims[kMaxRank] = {};
  int64_t strides[kMaxRank] = {};
  int64_t base = 0;

  void push(int64_t dim, int64_t stride) {
    dims[rank] = dim;
    strides[rank] = stride;
    ++rank;
  }
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < rank; ++i) n *= dims[i];
    return n;
  }
};
void strided_copy(const void* src, void* dst, StridedCopy v, size_t esize);

// Copies n elements of `esize` bytes from src[i * src_stride] to dst[i] (strides in elements).
void copy_elements(const char* src, int64_t src_stride, char* dst, int64_t n, size_t esize);

// Fills n elements of `esize` bytes with the element at `value`.
void fill_elements(char* dst, const void* value, int64_t n, size_t esize);

// Element i of a (possibly unaligned) array of T.
template <class T>
T load_element(const void* p, int64_t i) {
  T v;
  std::memcpy(&v, static_cast<const char*>(p) + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
  return v;
}

// A float, double, F16 or BF16 element as float/double; integers and bool unchanged.
template <class T>
auto element_value(T v) {
  if constexpr (std::is_same_v<T, F16>) return f16_to_f32(v.bits);
  else if constexpr (std::is_same_v<T, BF16>) return bf16_to_f32(v.bits);
  else return v;
}

// Writes `v` converted to the scalar dtype `t` at `out` (dtype_size(t) bytes).
Status encode_scalar(const NodeTag& tag, DType t, double v, void* out);

// The obol dtype of an ONNX TensorProto data type number (as in EyeLike's `dtype` attribute).
Result<DType> dtype_from_onnx(const graph::Node& node, int64_t data_type, const char* what);

// Output storage of a byte-moving kernel, with input 0's dtype: a dense copy of input 0 under a
// new shape (the same element count). Skips the copy when the executor let output and input share
// one buffer (the kernels declare input 0 in place).
Status copy_reshaped(const NodeTag& tag, backend::KernelContext& ctx, const Shape& shape);

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
