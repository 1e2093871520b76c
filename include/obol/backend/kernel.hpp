// obol/backend/kernel.hpp — what a backend compiles a node into, and what it sees when it runs.
#pragma once

#include <cstddef>

#include "obol/core/status.hpp"
#include "obol/core/tensor.hpp"

namespace obol {
inline namespace v1 {
namespace backend {

// The view a kernel gets of one execution of its node. Implemented by the executor.
// All views are valid until the kernel returns; output storage stays valid until the value's last
// reader has run (or, for graph outputs, until the caller has taken them).
class KernelContext {
 public:
  virtual ~KernelContext() = default;

  virtual int input_count() const noexcept = 0;
  // False for an omitted optional input (input(i) is then an empty view).
  virtual bool has_input(int i) const noexcept = 0;
  virtual const TensorView& input(int i) const noexcept = 0;

  virtual int output_count() const noexcept = 0;
  // False for an omitted optional output: the kernel need not compute it, but output() still works.
  virtual bool has_output(int i) const noexcept = 0;
  // Storage for output i with this dtype and shape: a slot of the session's planned arena when the
  // plan has one that fits, else a fresh allocation (and the plan is revised after the run).
  // Calling it twice for one output is an error.
  virtual Result<TensorView> output(int i, DType dtype, const Shape& shape) = 0;

  // Scratch memory for this node only, 64-byte aligned, valid until the kernel returns. A kernel may
  // call it several times; each call returns a distinct buffer and earlier ones stay valid.
  virtual Result<void*> scratch(size_t bytes) = 0;
};

// A node compiled for one backend. Kernels are created once per model and shared by all its
// sessions: run() must be thread-safe and must not modify the kernel (keep per-run state in the
// context's scratch memory).
class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual Status run(KernelContext& ctx) const = 0;
  // The input whose buffer output `output` may overwrite when that input is not read afterwards
  // (elementwise ops), or -1. The kernel must then be correct when input and output alias exactly.
  virtual int inplace_input(int output) const noexcept {
    (void)output;
    return -1;
  }
};

}  // namespace backend
}  // inline namespace v1
}  // namespace obol
