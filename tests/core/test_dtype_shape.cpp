#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>

#include "obol/core/dtype.hpp"
#include "obol/core/shape.hpp"

using obol::DType;
using obol::Shape;

TEST_CASE("dtype sizes and block layouts", "[core][dtype]") {
  CHECK(obol::dtype_size(DType::f32) == 4);
  CHECK(obol::dtype_size(DType::f16) == 2);
  CHECK(obol::dtype_size(DType::bf16) == 2);
  CHECK(obol::dtype_size(DType::i8) == 1);
  CHECK(obol::dtype_size(DType::u8) == 1);
  CHECK(obol::dtype_size(DType::i32) == 4);
  CHECK(obol::dtype_size(DType::i64) == 8);
  CHECK(obol::dtype_size(DType::boolean) == 1);
  CHECK(obol::dtype_size(DType::q8_0) == 0);
  CHECK(obol::dtype_is_block(DType::q4_0));
  CHECK(obol::dtype_storage_bytes(DType::q8_0, 64) == 68);
  CHECK(obol::dtype_storage_bytes(DType::q4_0, 32) == 18);
  CHECK(obol::dtype_storage_bytes(DType::q4_k, 512) == 288);
  CHECK(obol::dtype_storage_bytes(DType::q4_0, 33) == SIZE_MAX);  // not a whole block
  CHECK(obol::dtype_storage_bytes(DType::f32, 10) == 40);
  CHECK(obol::dtype_storage_bytes(DType::f64, SIZE_MAX / 4) == SIZE_MAX);  // overflow is reported
  CHECK_FALSE(obol::dtype_is_valid(DType::invalid));
  CHECK(obol::dtype_name(DType::boolean) == "bool");
  CHECK(obol::dtype_of_v<float> == DType::f32);
  CHECK(obol::dtype_of_v<int64_t> == DType::i64);
}

TEST_CASE("f16 and bf16 conversions round to nearest even and keep specials", "[core][dtype]") {
  const float inf = std::numeric_limits<float>::infinity();
  // Every f16 bit pattern survives f16 -> f32 -> f16 (NaNs stay NaN).
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = obol::f16_to_f32(static_cast<uint16_t>(h));
    const uint16_t back = obol::f32_to_f16(f);
    if (std::isnan(f)) {
      REQUIRE(std::isnan(obol::f16_to_f32(back)));
    } else {
      REQUIRE(back == h);
    }
  }
  CHECK(obol::f16_to_f32(0x3c00) == 1.0f);
  CHECK(obol::f16_to_f32(0xc000) == -2.0f);
  CHECK(obol::f16_to_f32(0x7c00) == inf);
  CHECK(obol::f16_to_f32(0x0001) == std::ldexp(1.0f, -24));  // smallest subnormal
  CHECK(obol::f32_to_f16(65504.0f) == 0x7bff);                 // largest finite
  CHECK(obol::f32_to_f16(65520.0f) == 0x7c00);                 // rounds to inf
  CHECK(obol::f32_to_f16(-0.0f) == 0x8000);
  CHECK(obol::f32_to_f16(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);  // tie to even (down)
  CHECK(obol::f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02);  // tie to even (up)
  CHECK(obol::f32_to_f16(std::ldexp(1.0f, -25)) == 0x0000);  // half the smallest subnormal: tie to 0
  CHECK(obol::f32_to_f16(std::ldexp(1.5f, -25)) == 0x0001);

  CHECK(obol::bf16_to_f32(obol::f32_to_bf16(1.0f)) == 1.0f);
  CHECK(obol::f32_to_bf16(1.0f + std::ldexp(1.0f, -8)) == 0x3f80);  // tie to even
  CHECK(obol::f32_to_bf16(-inf) == 0xff80);
  CHECK(std::isnan(obol::bf16_to_f32(obol::f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST_CASE("Shape basics", "[core][shape]") {
  const Shape s{2, 3, 4};
  CHECK(s.rank() == 3);
  CHECK(s.numel() == 24);
  CHECK(s.numel_range(1, 3) == 12);
  CHECK(s.to_string() == "[2, 3, 4]");
  CHECK(Shape{}.numel() == 1);
  CHECK(Shape{0, 5}.numel() == 0);
  int64_t strides[3];
  obol::contiguous_strides(s, strides);
  CHECK(strides[0] == 12);
  CHECK(strides[1] == 4);
  CHECK(strides[2] == 1);
  CHECK(*s.normalize_axis(-1) == 2);
  CHECK(s.normalize_axis(3).status().code() == obol::StatusCode::out_of_range);
  CHECK(s.normalize_axis(-4).status().message() == "[shape] axis -4 is out of range for rank 3");
}

TEST_CASE("Shape::make validates untrusted dims", "[core][shape]") {
  const int64_t ok[] = {1, 2};
  CHECK(Shape::make(ok, 2).is_ok());
  const int64_t neg[] = {1, -2};
  const auto r = Shape::make(neg, 2);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().message() == "[shape] dimension 1 is negative (-2)");
  const int64_t many[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  CHECK(Shape::make(many, 9).status().code() == obol::StatusCode::unsupported);
  const Shape huge{INT64_MAX / 2, 4};
  CHECK(huge.checked_numel().status().code() == obol::StatusCode::out_of_range);
}

TEST_CASE("numpy broadcasting of shapes", "[core][shape]") {
  CHECK(*obol::broadcast_shapes(Shape{3, 1, 5}, Shape{4, 1}) == Shape{3, 4, 5});
  CHECK(*obol::broadcast_shapes(Shape{}, Shape{2, 3}) == Shape{2, 3});
  CHECK(*obol::broadcast_shapes(Shape{0, 3}, Shape{1, 3}) == Shape{0, 3});
  const auto bad = obol::broadcast_shapes(Shape{2, 3}, Shape{4, 3});
  REQUIRE_FALSE(bad.is_ok());
  CHECK(bad.status().message() ==
        "[broadcast] shapes [2, 3] and [4, 3] are not broadcastable (dimension 0: 2 vs 4)");
}
