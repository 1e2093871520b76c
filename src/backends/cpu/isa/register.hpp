// Declarations of the per-family, per-ISA registration functions (see families.def).
#pragma once

#include "obol/kernels/cpu.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {

#define OBOL_KERNEL_FAMILY(family)                    \
  void register_##family##__scalar(KernelTable& t);  \
  void register_##family##__avx2(KernelTable& t);    \
  void register_##family##__avx512(KernelTable& t);
#include "families.def"
#undef OBOL_KERNEL_FAMILY

// Per-tier unary kernels, exported by eltwise__<isa>.cpp so other families (the GEMM epilogue) can
// apply activations with the same tier's code. Same contract as KernelTable::unary_f32.
void unary_f32__scalar(UnaryOp op, UnaryParams p, const float* x, float* y, int64_t n);
void unary_f32__avx2(UnaryOp op, UnaryParams p, const float* x, float* y, int64_t n);
void unary_f32__avx512(UnaryOp op, UnaryParams p, const float* x, float* y, int64_t n);

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
