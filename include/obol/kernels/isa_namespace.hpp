// obol/kernels/isa_namespace.hpp — keeps inline kernel code of different ISA tiers apart.
//
// The same inline function or template compiled in an AVX-512 translation unit and in a baseline
// one has one mangled name, and the linker keeps either copy: a baseline caller could end up running
// AVX-512 instructions (an ODR violation that crashes older CPUs). Every kernel-body header
// (reference/ and the Arch-templated bodies) therefore wraps its contents in
//
//     namespace obol::kernels { OBOL_KERNELS_BEGIN ... OBOL_KERNELS_END }
//
// which opens an inline namespace named after the tier the including file is compiled for
// (cmake/Isa.cmake defines OBOL_ISA_TAG for <name>__<isa>.cpp files). Callers see no difference.
#pragma once

#ifndef OBOL_ISA_TAG
#define OBOL_ISA_TAG baseline
#endif
#define OBOL_ISA_NS_CAT2_(a, b) a##b
#define OBOL_ISA_NS_CAT_(a, b) OBOL_ISA_NS_CAT2_(a, b)
#define OBOL_ISA_NAMESPACE OBOL_ISA_NS_CAT_(isa_, OBOL_ISA_TAG)
#define OBOL_KERNELS_BEGIN inline namespace OBOL_ISA_NAMESPACE {
#define OBOL_KERNELS_END }
