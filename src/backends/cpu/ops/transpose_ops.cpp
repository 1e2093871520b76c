// Tensor-level N-d transpose (axis permutation) for 1, 2, 4 and 8-byte elements (tensor_ops.hpp).
#include <cstdint>
#include <cstring>

#include "backends/cpu/ops/common.hpp"
#include "obol/core/parallel.hpp"
#include "obol/kernels/tensor_ops.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {

using ops_detail::check_same_shape;
using ops_detail::check_tensor;
using ops_detail::grain_for;

namespace {

constexpr const char* kName = "transpose";
constexpr int64_t kRowStrip = 64;  // rows of a 2-D tile per parallel task

// Normalises perm (empty = reversed axes) into p[0, rank); fails unless it is a permutation.
Status normalize_perm(const Shape& in, const AxisList& perm, int p[Shape::kMaxRank]) {
  const int r = in.rank();
  if (perm.empty()) {
    for (int i = 0; i < r; ++i) p[i] = r - 1 - i;
    return Status::ok();
  }
  if (perm.given() != static_cast<size_t>(r))
    return make_status(StatusCode::invalid_argument, kName, "perm has ", perm.given(), " entries, expected ", r,
                       " for input of shape ", in.to_string());
  bool seen[Shape::kMaxRank] = {};
  for (int i = 0; i < r; ++i) {
    const int64_t a = perm[static_cast<size_t>(i)];
    if (a < -r || a >= r)
      return make_status(StatusCode::out_of_range, kName, "perm[", i, "] = ", a, " is out of range for rank ", r);
    p[i] = static_cast<int>(a < 0 ? a + r : a);
    if (seen[p[i]])
      return make_status(StatusCode::invalid_argument, kName, "perm repeats axis ", p[i], "; expected a permutation of [0, ",
                         r, ")");
    seen[p[i]] = true;
  }
  return Status::ok();
}

// The permutation with size-1 axes dropped and runs of axes that stay adjacent and in order merged.
struct PermPlan {
  int rank = 0;
  int64_t dims[Shape::kMaxRank] = {};  // input dims, input order
  int perm[Shape::kMaxRank] = {};      // output axis i reads input axis perm[i]
};

PermPlan plan_perm(const Shape& in, const int* p) {
  // Compact input axes: index among the non-1 dims.
  int compact[Shape::kMaxRank];
  int nk = 0;
  for (int i = 0; i < in.rank(); ++i) compact[i] = in[i] == 1 ? -1 : nk++;
  int seq[Shape::kMaxRank];
  int64_t seq_dim[Shape::kMaxRank];
  int ns = 0;
  for (int i = 0; i < in.rank(); ++i) {
    if (compact[p[i]] < 0) continue;
    seq[ns] = compact[p[i]];
    seq_dim[ns] = in[p[i]];
    ++ns;
  }
  // Merge output-adjacent axes that are also input-adjacent in the same order. A merged group is
  // named by its first input axis; input axes are then renumbered densely.
  int group_first[Shape::kMaxRank];
  int64_t group_dim[Shape::kMaxRank];
  int ng = 0;
  for (int i = 0; i < ns; ++i) {
    if (ng > 0 && seq[i] == seq[i - 1] + 1) {
      group_dim[ng - 1] *= seq_dim[i];
    } else {
      group_first[ng] = seq[i];
      group_dim[ng] = seq_dim[i];
      ++ng;
    }
  }
  PermPlan plan;
  plan.rank = ng;
  for (int g = 0; g < ng; ++g) {
    int rank_in_input = 0;  // how many groups start before this one in input order
    for (int h = 0; h < ng; ++h) rank_in_input += group_first[h] < group_first[g] ? 1 : 0;
    plan.perm[g] = rank_in_input;
    plan.dims[rank_in_input] = group_dim[g];
  }
  return plan;
}

// Blocked 2-D transpose for element sizes without a table kernel.
template <size_t kElem>
void transpose_2d_bytes(const char* x, int64_t ldx, char* y, int64_t ldy, int64_t rows, int64_t cols) {
  constexpr int64_t kBlock = 32;
  for (int64_t rb = 0; rb < rows; rb += kBlock)
    for (int64_t cb = 0; cb < cols; cb += kBlock)
      for (int64_t r = rb; r < rb + kBlock && r < rows; ++r)
        for (int64_t c = cb; c < cb + kBlock && c < cols; ++c)
          std::memcpy(y + static_cast<size_t>(c * ldy + r) * kElem, x + static_cast<size_t>(r * ldx + c) * kElem, kElem);
}

}  // namespace

Result<Shape> transpose_output_shape(const Shape& in, const AxisList& perm) {
  int p[Shape::kMaxRank];
  OBOL_RETURN_IF_ERROR(normalize_perm(in, perm, p));
  Shape out;
  for (int i = 0; i < in.rank(); ++i) out.push_back(in[p[i]]);
  return out;
}

Status transpose(const KernelTable& k, const TensorView& in, const AxisList& perm, const TensorView& out) {
  OBOL_RETURN_IF_ERROR(check_tensor(kName, "input", in, false));
  OBOL_RETURN_IF_ERROR(check_tensor(kName, "output", out, false));
  const size_t elem = dtype_size(in.dtype());
  if (elem != 1 && elem != 2 && elem != 4 && elem != 8)
    return make_status(StatusCode::unsupported, kName, "input has dtype ", dtype_name(in.dtype()),
                       ", expected a dtype with a fixed element size of 1, 2, 4 or 8 bytes");
  if (out.dtype() != in.dtype())
    return make_status(StatusCode::invalid_argument, kName, "output has dtype ", dtype_name(out.dtype()),
                       ", expected ", dtype_name(in.dtype()), " (the input's)");
  int p[Shape::kMaxRank];
  OBOL_RETURN_IF_ERROR(normalize_perm(in.shape(), perm, p));
  OBOL_ASSIGN_OR_RETURN(const Shape expected, transpose_output_shape(in.shape(), perm));
  OBOL_RETURN_IF_ERROR(check_same_shape(kName, out, expected));
  const int64_t total = in.numel();
  if (total == 0) return Status::ok();

  const PermPlan plan = plan_perm(in.shape(), p);
  const char* x = static_cast<const char*>(in.data());
  char* y = static_cast<char*>(out.data());
  bool identity = true;
  for (int i = 0; i < plan.rank; ++i) identity = identity && plan.perm[i] == i;
  if (identity) {
    std::memcpy(y, x, static_cast<size_t>(total) * elem);
    return Status::ok();
  }

  // Element strides of the input, and of each input axis in the output.
  const int r = plan.rank;
  int64_t in_stride[Shape::kMaxRank], out_stride_of[Shape::kMaxRank];
  {
    int64_t s = 1;
    for (int a = r - 1; a >= 0; --a) {
      in_stride[a] = s;
      s *= plan.dims[a];
    }
    s = 1;
    for (int i = r - 1; i >= 0; --i) {
      out_stride_of[plan.perm[i]] = s;
      s *= plan.dims[plan.perm[i]];
    }
  }

  if (plan.perm[r - 1] == r - 1) {
    // The innermost axis stays innermost: whole rows move with memcpy, the other axes are walked.
    const int64_t row = plan.dims[r - 1];
    const size_t row_bytes = static_cast<size_t>(row) * elem;
    parallel_for_range(total / row, grain_for(row), [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        int64_t rem = t, yo = 0;
        for (int a = r - 2; a >= 0; --a) {  // t walks the input's outer axes in order
          const int64_t idx = rem % plan.dims[a];
          rem /= plan.dims[a];
          yo += idx * out_stride_of[a];
        }
        std::memcpy(y + static_cast<size_t>(yo) * elem, x + static_cast<size_t>(t * row) * elem, row_bytes);
      }
    });
    return Status::ok();
  }

  // The innermost swap is one 2-D tile: rows along input axis pa (the output's innermost), columns
  // along the input's innermost axis. Every other axis is walked with an odometer.
  const int pa = plan.perm[r - 1];
  const int ca = r - 1;
  int other[Shape::kMaxRank];
  int no = 0;
  for (int a = 0; a < r; ++a)
    if (a != pa && a != ca) other[no++] = a;
  int64_t n_other = 1;
  for (int i = 0; i < no; ++i) n_other *= plan.dims[other[i]];
  const int64_t rows = plan.dims[pa], cols = plan.dims[ca];
  const int64_t ldx = in_stride[pa], ldy = out_stride_of[ca];
  const int64_t strips = (rows + kRowStrip - 1) / kRowStrip;

  parallel_for_range(n_other * strips, grain_for(kRowStrip * cols), [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      int64_t rem = t / strips, xo = 0, yo = 0;
      for (int i = no - 1; i >= 0; --i) {
        const int a = other[i];
        const int64_t idx = rem % plan.dims[a];
        rem /= plan.dims[a];
        xo += idx * in_stride[a];
        yo += idx * out_stride_of[a];
      }
      const int64_t r0 = (t % strips) * kRowStrip;
      const int64_t nr = rows - r0 < kRowStrip ? rows - r0 : kRowStrip;
      const char* xs = x + static_cast<size_t>(xo + r0 * ldx) * elem;
      char* ys = y + static_cast<size_t>(yo + r0) * elem;
      switch (elem) {
        case 1: transpose_2d_bytes<1>(xs, ldx, ys, ldy, nr, cols); break;
        case 2: transpose_2d_bytes<2>(xs, ldx, ys, ldy, nr, cols); break;
        case 4: k.transpose_2d_32(xs, ldx, ys, ldy, nr, cols); break;
        default: transpose_2d_bytes<8>(xs, ldx, ys, ldy, nr, cols); break;
      }
    }
  });
  return Status::ok();
}

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
