#include "tensor_util.hpp"

#include <algorithm>

namespace obol {
inline namespace v1 {
namespace cpu {

Status read_int_list(const NodeTag& tag, const TensorView& t, const char* what, int64_t* out, int cap, int* n) {
  if (t.rank() > 1)
    return tag_error(StatusCode::invalid_argument, tag, what, " must be a 1-D tensor, found shape ",
                     t.shape().to_string());
  if (t.dtype() != DType::i64 && t.dtype() != DType::i32)
    return tag_error(StatusCode::invalid_argument, tag, what, " must be int64 or int32, found ", dtype_name(t.dtype()));
  const int64_t count = t.numel();
  if (count > cap)
    return tag_error(StatusCode::invalid_argument, tag, what, " has ", count, " values, at most ", cap,
                     " are supported");
  const char* p = static_cast<const char*>(t.data());
  for (int64_t i = 0; i < count; ++i) {
    if (t.dtype() == DType::i64) {
      std::memcpy(&out[i], p + i * 8, 8);
    } else {
      int32_t v;
      std::memcpy(&v, p + i * 4, 4);
      out[i] = v;
    }
  }
  *n = static_cast<int>(count);
  return Status::ok();
}

Result<int64_t> read_int_scalar(const NodeTag& tag, const TensorView& t, const char* what) {
  if (t.numel() != 1)
    return tag_error(StatusCode::invalid_argument, tag, what, " must hold one value, found shape ",
                     t.shape().to_string());
  int64_t v = 0;
  int n = 0;
  TensorView flat(t.data(), t.dtype(), Shape{1});
  OBOL_RETURN_IF_ERROR(read_int_list(tag, flat, what, &v, 1, &n));
  return v;
}

Result<int> normalize_axis(const NodeTag& tag, int64_t axis, int rank, const char* what, bool inclusive) {
  const int64_t lo = -static_cast<int64_t>(rank);
  const int64_t hi = inclusive ? rank : rank - 1;
  if (axis < lo || axis > hi)
    return tag_error(StatusCode::out_of_range, tag, what, " ", axis, " is out of range for rank ", rank, " (expected ",
                     lo, "..", hi, ")");
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

namespace {

template <size_t E>
void copy_elements_t(const char* src, int64_t src_stride, char* dst, int64_t n) {
  const int64_t step = src_stride * static_cast<int64_t>(E);
  for (int64_t i = 0; i < n; ++i) std::memcpy(dst + i * static_cast<int64_t>(E), src + i * step, E);
}

// Drops unit dimensions and merges neighbours that are contiguous with each other in the source.
void simplify(StridedCopy& v) {
  int r = 0;
  for (int i = 0; i < v.rank; ++i) {
    if (v.dims[i] == 1) continue;
    if (r > 0 && v.strides[r - 1] == v.strides[i] * v.dims[i]) {
      v.dims[r - 1] *= v.dims[i];
      v.strides[r - 1] = v.strides[i];
      continue;
    }
    v.dims[r] = v.dims[i];
    v.strides[r] = v.strides[i];
    ++r;
  }
  v.rank = r;
}

}  // namespace

void copy_elements(const char* src, int64_t src_stride, char* dst, int64_t n, size_t esize) {
  if (src_stride == 1) {
    std::memcpy(dst, src, static_cast<size_t>(n) * esize);
    return;
  }
  switch (esize) {
    case 1: copy_elements_t<1>(src, src_stride, dst, n); break;
    case 2: copy_elements_t<2>(src, src_stride, dst, n); break;
    case 4: copy_elements_t<4>(src, src_stride, dst, n); break;
    default: copy_elements_t<8>(src, src_stride, dst, n); break;
  }
}

void fill_elements(char* dst, const void* value, int64_t n, size_t esize) {
  if (n <= 0) return;
  const size_t total = static_cast<size_t>(n) * esize;
  std::memcpy(dst, value, esize);
  size_t done = esize;
  while (done < total) {
    const size_t c = std::min(done, total - done);
    std::memcpy(dst + done, dst, c);
    done += c;
  }
}

void strided_copy(const void* src, void* dst, StridedCopy v, size_t esize) {
  const int64_t total = v.numel();
  if (total == 0) return;
  simplify(v);
  const char* s = static_cast<const char*>(src);
  char* d = static_cast<char*>(dst);
  const int64_t es = static_cast<int64_t>(esize);
  if (v.rank == 0) {
    std::memcpy(d, s + v.base * es, esize);
    return;
  }
  const int r = v.rank;
  const int64_t inner = v.dims[r - 1];
  const int64_t inner_stride = v.strides[r - 1];
  const int64_t rows = total / inner;
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 15) / (inner * es));
  parallel_for_range(rows, grain, [&](int64_t begin, int64_t end) {
    int64_t idx[StridedCopy::kMaxRank] = {};
    int64_t off = v.base;
    int64_t rest = begin;
    for (int k = r - 2; k >= 0; --k) {
      idx[k] = rest % v.dims[k];
      rest /= v.dims[k];
      off += idx[k] * v.strides[k];
    }
    for (int64_t row = begin; row < end; ++row) {
      char* out = d + row * inner * es;
      if (inner_stride == 0) fill_elements(out, s + off * es, inner, esize);
      else copy_elements(s + off * es, inner_stride, out, inner, esize);
      for (int k = r - 2; k >= 0; --k) {
        off += v.strides[k];
        if (++idx[k] < v.dims[k]) break;
        off -= v.strides[k] * v.dims[k];
        idx[k] = 0;
      }
    }
  });
}

Status encode_scalar(const NodeTag& tag, DType t, double v, void* out) {
  const std::string op(graph::op_info(tag.op).op_type);
  return dispatch_dtype<OBOL_CPU_ALL_TYPES>(t, op.c_str(), [&](auto type_tag) {
    using T = decltype(type_tag);
    T e;
    if constexpr (std::is_same_v<T, F16>) e.bits = f32_to_f16(static_cast<float>(v));
    else if constexpr (std::is_same_v<T, BF16>) e.bits = f32_to_bf16(static_cast<float>(v));
    else if constexpr (std::is_same_v<T, bool>) e = v != 0;
    else e = static_cast<T>(v);
    std::memcpy(out, &e, sizeof(T));
    return Status::ok();
  });
}

Result<DType> dtype_from_onnx(const graph::Node& node, int64_t data_type, const char* what) {
  switch (data_type) {
    case 1: return DType::f32;
    case 2: return DType::u8;
    case 3: return DType::i8;
    case 4: return DType::u16;
    case 5: return DType::i16;
    case 6: return DType::i32;
    case 7: return DType::i64;
    case 9: return DType::boolean;
    case 10: return DType::f16;
    case 11: return DType::f64;
    case 12: return DType::u32;
    case 13: return DType::u64;
    case 16: return DType::bf16;
    default: break;
  }
  return node_error(StatusCode::unsupported, node, what, " is ONNX data type ", data_type,
                    ", which has no obol dtype");
}

Status copy_reshaped(const NodeTag& tag, backend::KernelContext& ctx, const Shape& shape) {
  const TensorView& in = ctx.input(0);
  if (shape.numel() != in.numel())
    return tag_error(StatusCode::invalid_argument, tag, "cannot give input of shape ", in.shape().to_string(),
                     " (", in.numel(), " elements) the shape ", shape.to_string(), " (", shape.numel(), " elements)");
  OBOL_ASSIGN_OR_RETURN(TensorView out, ctx.output(0, in.dtype(), shape));
  if (out.data() != in.data() && in.nbytes() > 0) std::memcpy(out.data(), in.data(), in.nbytes());
  return Status::ok();
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
