// obol/core/shape.hpp — tensor shapes with inline storage (no heap allocation).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>

#include "obol/core/status.hpp"

namespace obol {
inline namespace v1 {

// A row-major shape of rank 0..kMaxRank. Dimensions are int64_t and non-negative; a dimension of 0
// makes an empty tensor. Rank 0 is a scalar with one element.
class Shape {
 public:
  static constexpr int kMaxRank = 8;

  constexpr Shape() noexcept = default;
  // Precondition: dims.size() <= kMaxRank (checked by make(); this constructor truncates).
  Shape(std::initializer_list<int64_t> dims) noexcept {
    for (int64_t d : dims) {
      if (rank_ == kMaxRank) break;
      dims_[rank_++] = d;
    }
  }
  // Validating constructor for untrusted dims: rank and non-negativity are checked.
  static Result<Shape> make(const int64_t* dims, size_t rank) {
    if (rank > static_cast<size_t>(kMaxRank))
      return make_status(StatusCode::unsupported, "shape", "rank ", rank, " exceeds the maximum of ", kMaxRank);
    Shape s;
    for (size_t i = 0; i < rank; ++i) {
      if (dims[i] < 0) return make_status(StatusCode::invalid_argument, "shape", "dimension ", i, " is negative (", dims[i], ")");
      s.dims_[s.rank_++] = dims[i];
    }
    return s;
  }

  constexpr int rank() const noexcept { return rank_; }
  constexpr int64_t operator[](int i) const noexcept { return dims_[i]; }
  constexpr int64_t& operator[](int i) noexcept { return dims_[i]; }
  const int64_t* data() const noexcept { return dims_; }
  const int64_t* begin() const noexcept { return dims_; }
  const int64_t* end() const noexcept { return dims_ + rank_; }
  int64_t back() const noexcept { return dims_[rank_ - 1]; }

  // Product of all dimensions (1 for a scalar). Saturates at INT64_MAX on overflow; use
  // checked_numel() for untrusted shapes.
  int64_t numel() const noexcept {
    int64_t n = 1;
    for (int i = 0; i < rank_; ++i) {
      if (dims_[i] != 0 && n > INT64_MAX / dims_[i]) return INT64_MAX;
      n *= dims_[i];
    }
    return n;
  }
  Result<int64_t> checked_numel() const {
    int64_t n = 1;
    for (int i = 0; i < rank_; ++i) {
      if (dims_[i] < 0) return make_status(StatusCode::invalid_argument, "shape", "negative dimension in ", to_string());
      if (dims_[i] != 0 && n > INT64_MAX / dims_[i])
        return make_status(StatusCode::out_of_range, "shape", "element count of ", to_string(), " overflows int64");
      n *= dims_[i];
    }
    return n;
  }
  // Product of dims [from, to).
  int64_t numel_range(int from, int to) const noexcept {
    int64_t n = 1;
    for (int i = from; i < to; ++i) n *= dims_[i];
    return n;
  }

  bool push_back(int64_t d) noexcept {
    if (rank_ == kMaxRank) return false;
    dims_[rank_++] = d;
    return true;
  }
  void resize(int rank, int64_t fill = 1) noexcept {
    for (int i = rank_; i < rank && i < kMaxRank; ++i) dims_[i] = fill;
    rank_ = rank < kMaxRank ? rank : kMaxRank;
  }

  // Normalises a possibly negative axis (numpy style). Returns out_of_range if outside [-rank, rank).
  Result<int> normalize_axis(int64_t axis) const {
    const int64_t r = rank_;
    if (axis < -r || axis >= r)
      return make_status(StatusCode::out_of_range, "shape", "axis ", axis, " is out of range for rank ", r);
    return static_cast<int>(axis < 0 ? axis + r : axis);
  }

  friend bool operator==(const Shape& a, const Shape& b) noexcept {
    if (a.rank_ != b.rank_) return false;
    for (int i = 0; i < a.rank_; ++i)
      if (a.dims_[i] != b.dims_[i]) return false;
    return true;
  }
  friend bool operator!=(const Shape& a, const Shape& b) noexcept { return !(a == b); }

  // "[2, 3, 4]"
  std::string to_string() const {
    std::string s = "[";
    for (int i = 0; i < rank_; ++i) {
      if (i) s += ", ";
      s += std::to_string(dims_[i]);
    }
    return s + "]";
  }
  friend std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.to_string(); }

 private:
  int64_t dims_[kMaxRank] = {};
  int rank_ = 0;
};

// Row-major strides (in elements) of a contiguous tensor of `shape`.
inline void contiguous_strides(const Shape& shape, int64_t* strides) noexcept {
  int64_t s = 1;
  for (int i = shape.rank() - 1; i >= 0; --i) {
    strides[i] = s;
    s *= shape[i];
  }
}

// Numpy broadcasting of two shapes. Fails with invalid_argument naming both shapes.
inline Result<Shape> broadcast_shapes(const Shape& a, const Shape& b) {
  const int r = a.rank() > b.rank() ? a.rank() : b.rank();
  Shape out;
  out.resize(r);
  for (int i = 0; i < r; ++i) {
    const int ia = i - (r - a.rank());
    const int ib = i - (r - b.rank());
    const int64_t da = ia >= 0 ? a[ia] : 1;
    const int64_t db = ib >= 0 ? b[ib] : 1;
    if (da != db && da != 1 && db != 1)
      return make_status(StatusCode::invalid_argument, "broadcast", "shapes ", a.to_string(), " and ", b.to_string(),
                         " are not broadcastable (dimension ", i, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // inline namespace v1
}  // namespace obol
