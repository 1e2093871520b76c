// obol/core/tensor.hpp — owning Tensor and borrowing TensorView.
//
// Both describe a dense, row-major (C-order) array of `dtype` with `shape`.
//   - TensorView borrows memory: it never frees and must not outlive the memory it points to.
//   - Tensor owns memory obtained from an Allocator (64-byte aligned) and frees it on destruction.
//     It is move-only; copies are explicit (Tensor::clone).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#include "obol/core/allocator.hpp"
#include "obol/core/dtype.hpp"
#include "obol/core/shape.hpp"
#include "obol/core/status.hpp"

namespace obol {
inline namespace v1 {

class TensorView {
 public:
  TensorView() noexcept = default;
  TensorView(void* data, DType dtype, const Shape& shape) noexcept : data_(data), dtype_(dtype), shape_(shape) {}

  void* data() const noexcept { return data_; }
  template <class T>
  T* data_as() const noexcept {
    return static_cast<T*>(data_);
  }
  DType dtype() const noexcept { return dtype_; }
  const Shape& shape() const noexcept { return shape_; }
  int rank() const noexcept { return shape_.rank(); }
  int64_t numel() const noexcept { return shape_.numel(); }
  size_t nbytes() const noexcept { return dtype_storage_bytes(dtype_, static_cast<size_t>(numel())); }

  // The same memory seen with another shape of equal element count.
  Result<TensorView> reshaped(const Shape& s) const {
    if (s.numel() != numel())
      return make_status(StatusCode::invalid_argument, "tensor", "cannot reshape ", shape_.to_string(), " to ",
                         s.to_string(), ": element counts differ");
    return TensorView(data_, dtype_, s);
  }

 private:
  void* data_ = nullptr;
  DType dtype_ = DType::f32;
  Shape shape_;
};

class Tensor {
 public:
  Tensor() noexcept = default;
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;
  Tensor(Tensor&& o) noexcept { *this = std::move(o); }
  Tensor& operator=(Tensor&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
      dtype_ = o.dtype_;
      shape_ = o.shape_;
      alloc_ = o.alloc_;
    }
    return *this;
  }
  ~Tensor() { release(); }

  // Allocates an uninitialised tensor. Fails on invalid shapes, sizes that overflow, a block dtype
  // whose last dimension is not a multiple of its block, or when the allocator returns nullptr.
  static Result<Tensor> empty(DType dtype, const Shape& shape, const Allocator& alloc = Allocator::default_instance()) {
    OBOL_CHECK_OR_RETURN(dtype_is_valid(dtype), invalid_argument, "tensor", "invalid dtype");
    OBOL_ASSIGN_OR_RETURN(const int64_t n, shape.checked_numel());
    const size_t bytes = dtype_storage_bytes(dtype, static_cast<size_t>(n));
    OBOL_CHECK_OR_RETURN(bytes != SIZE_MAX, invalid_argument, "tensor", "shape ", shape.to_string(),
                         " is not storable as ", dtype_name(dtype));
    Tensor t;
    t.dtype_ = dtype;
    t.shape_ = shape;
    t.alloc_ = alloc;
    t.bytes_ = bytes;
    if (bytes > 0) {
      t.data_ = alloc.allocate(bytes, kDefaultAlignment);
      OBOL_CHECK_OR_RETURN(t.data_ != nullptr, out_of_memory, "tensor", "allocating ", bytes, " bytes failed");
    }
    return t;
  }
  // As empty(), with every byte zero.
  static Result<Tensor> zeros(DType dtype, const Shape& shape, const Allocator& alloc = Allocator::default_instance()) {
    OBOL_ASSIGN_OR_RETURN(Tensor t, empty(dtype, shape, alloc));
    if (t.bytes_) std::memset(t.data_, 0, t.bytes_);
    return t;
  }
  // Deep copy of a view's bytes.
  static Result<Tensor> copy_of(const TensorView& v, const Allocator& alloc = Allocator::default_instance()) {
    OBOL_ASSIGN_OR_RETURN(Tensor t, empty(v.dtype(), v.shape(), alloc));
    if (t.bytes_) std::memcpy(t.data_, v.data(), t.bytes_);
    return t;
  }
  Result<Tensor> clone() const { return copy_of(view(), alloc_); }

  void* data() const noexcept { return data_; }
  template <class T>
  T* data_as() const noexcept {
    return static_cast<T*>(data_);
  }
  DType dtype() const noexcept { return dtype_; }
  const Shape& shape() const noexcept { return shape_; }
  int rank() const noexcept { return shape_.rank(); }
  int64_t numel() const noexcept { return shape_.numel(); }
  size_t nbytes() const noexcept { return bytes_; }
  TensorView view() const noexcept { return TensorView(data_, dtype_, shape_); }
  operator TensorView() const noexcept { return view(); }  // NOLINT: views are cheap and non-owning

 private:
  void release() noexcept {
    if (data_) alloc_.deallocate(data_, bytes_);
    data_ = nullptr;
    bytes_ = 0;
  }

  void* data_ = nullptr;
  size_t bytes_ = 0;
  DType dtype_ = DType::f32;
  Shape shape_;
  Allocator alloc_;
};

}  // inline namespace v1
}  // namespace obol
