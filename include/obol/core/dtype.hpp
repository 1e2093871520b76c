// obol/core/dtype.hpp — element types, including block-quantized ones.
//
// A scalar dtype has a fixed element size. A block-quantized dtype stores `block_elems()` logical
// elements in `block_bytes()` bytes (a plain struct in obol/quant/, layout checked by static_assert);
// a tensor of such a type must have a last dimension that is a multiple of the block size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace obol {
inline namespace v1 {

// Append-only: the numeric values are part of the C API.
enum class DType : uint8_t {
  f32 = 0,
  f16 = 1,
  bf16 = 2,
  i8 = 3,
  u8 = 4,
  i32 = 5,
  i64 = 6,
  boolean = 7,  // one byte, 0 or 1
  f64 = 8,
  i16 = 9,
  u16 = 10,
  u32 = 11,
  u64 = 12,
  // Block-quantized types (GGUF layouts; see obol/quant/).
  q8_0 = 32,  // 32 elements: f16 scale + 32 x int8                       = 34 bytes
  q4_0 = 33,  // 32 elements: f16 scale + 16 bytes of 4-bit values         = 18 bytes
  q4_k = 34,  // 256 elements: super-block with 6-bit sub-block scales     = 144 bytes
  invalid = 255,
};

struct DTypeInfo {
  std::string_view name;
  uint32_t block_elems;  // 1 for scalar types
  uint32_t block_bytes;  // bytes per block (element size for scalar types)
  bool is_float;
  bool is_signed;
  bool is_block;
};

constexpr DTypeInfo dtype_info(DType t) noexcept {
  switch (t) {
    case DType::f32: return {"f32", 1, 4, true, true, false};
    case DType::f16: return {"f16", 1, 2, true, true, false};
    case DType::bf16: return {"bf16", 1, 2, true, true, false};
    case DType::i8: return {"i8", 1, 1, false, true, false};
    case DType::u8: return {"u8", 1, 1, false, false, false};
    case DType::i32: return {"i32", 1, 4, false, true, false};
    case DType::i64: return {"i64", 1, 8, false, true, false};
    case DType::boolean: return {"bool", 1, 1, false, false, false};
    case DType::f64: return {"f64", 1, 8, true, true, false};
    case DType::i16: return {"i16", 1, 2, false, true, false};
    case DType::u16: return {"u16", 1, 2, false, false, false};
    case DType::u32: return {"u32", 1, 4, false, false, false};
    case DType::u64: return {"u64", 1, 8, false, false, false};
    case DType::q8_0: return {"q8_0", 32, 34, false, true, true};
    case DType::q4_0: return {"q4_0", 32, 18, false, true, true};
    case DType::q4_k: return {"q4_k", 256, 144, false, true, true};
    case DType::invalid: break;
  }
  return {"invalid", 0, 0, false, false, false};
}

constexpr std::string_view dtype_name(DType t) noexcept { return dtype_info(t).name; }
constexpr bool dtype_is_block(DType t) noexcept { return dtype_info(t).is_block; }
constexpr bool dtype_is_valid(DType t) noexcept { return dtype_info(t).block_elems != 0; }

// Element size in bytes of a scalar dtype; 0 for block types and invalid.
constexpr size_t dtype_size(DType t) noexcept {
  const DTypeInfo i = dtype_info(t);
  return i.is_block ? 0 : i.block_bytes;
}

// Bytes needed for `n` elements. For block types `n` must be a multiple of the block size;
// returns SIZE_MAX otherwise (callers validate shapes before asking).
constexpr size_t dtype_storage_bytes(DType t, size_t n) noexcept {
  const DTypeInfo i = dtype_info(t);
  if (i.block_elems == 0 || n % i.block_elems != 0) return SIZE_MAX;
  const size_t blocks = n / i.block_elems;
  if (i.block_bytes != 0 && blocks > SIZE_MAX / i.block_bytes) return SIZE_MAX;
  return blocks * i.block_bytes;
}

// Maps a C++ element type to its DType.
template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::f64; };
template <> struct dtype_of<int8_t> { static constexpr DType value = DType::i8; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::u8; };
template <> struct dtype_of<int16_t> { static constexpr DType value = DType::i16; };
template <> struct dtype_of<uint16_t> { static constexpr DType value = DType::u16; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::i32; };
template <> struct dtype_of<uint32_t> { static constexpr DType value = DType::u32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::i64; };
template <> struct dtype_of<uint64_t> { static constexpr DType value = DType::u64; };
template <> struct dtype_of<bool> { static constexpr DType value = DType::boolean; };
template <class T> inline constexpr DType dtype_of_v = dtype_of<T>::value;

// --- half-precision conversions (round to nearest even; NaN and inf preserved) ---

inline float f16_to_f32(uint16_t h) noexcept {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ffu;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t f32_to_f16(float f) noexcept {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // inf or NaN (keep NaN quiet)
    return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u | ((abs >> 13) & 0x3ffu) : 0u));
  }
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to inf
  if (abs < 0x38800000u) {  // result is subnormal or zero
    if (abs < 0x33000000u) return sign;  // < half of the smallest subnormal
    const uint32_t exp = abs >> 23;
    const uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - exp;  // 14..24
    uint32_t half = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1);
    const uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (half & 1u))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t r = abs + 0xfffu + ((abs >> 13) & 1u);  // round to nearest even
  r -= (112u << 23);
  return static_cast<uint16_t>(sign | (r >> 13));
}

inline float bf16_to_f32(uint16_t h) noexcept {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t f32_to_bf16(float f) noexcept {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  x += 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>(x >> 16);
}

}  // inline namespace v1
}  // namespace obol
