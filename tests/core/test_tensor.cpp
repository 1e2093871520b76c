#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>

#include "obol/core/tensor.hpp"

using obol::DType;
using obol::Shape;
using obol::Tensor;

namespace {

struct CountingAllocator {
  int64_t live_bytes = 0;
  int allocs = 0;
  int frees = 0;
  bool fail = false;

  static void* alloc(void* user, size_t size, size_t alignment) {
    auto* self = static_cast<CountingAllocator*>(user);
    if (self->fail) return nullptr;
    ++self->allocs;
    self->live_bytes += static_cast<int64_t>(size);
    return obol::detail::default_alloc(nullptr, size, alignment);
  }
  static void free(void* user, void* ptr, size_t size) {
    auto* self = static_cast<CountingAllocator*>(user);
    ++self->frees;
    self->live_bytes -= static_cast<int64_t>(size);
    std::free(ptr);
  }
  obol::Allocator handle() { return obol::Allocator(obol::AllocatorHooks{&alloc, &free, this}); }
};

}  // namespace

TEST_CASE("Tensor allocates aligned memory through its allocator and frees it", "[core][tensor]") {
  CountingAllocator counter;
  {
    auto t = Tensor::zeros(DType::f32, Shape{3, 5}, counter.handle());
    REQUIRE(t.is_ok());
    CHECK(t->nbytes() == 60);
    CHECK(reinterpret_cast<uintptr_t>(t->data()) % obol::kDefaultAlignment == 0);
    CHECK(t->data_as<float>()[14] == 0.0f);
    CHECK(counter.allocs == 1);
    CHECK(counter.live_bytes == 60);

    Tensor moved = std::move(t.value());
    CHECK(moved.numel() == 15);
    CHECK(t->data() == nullptr);

    auto copy = moved.clone();
    REQUIRE(copy.is_ok());
    CHECK(counter.allocs == 2);
  }
  CHECK(counter.frees == 2);
  CHECK(counter.live_bytes == 0);
}

TEST_CASE("Tensor reports allocation failure and bad shapes as Status", "[core][tensor]") {
  CountingAllocator counter;
  counter.fail = true;
  auto t = Tensor::empty(DType::f32, Shape{4}, counter.handle());
  REQUIRE_FALSE(t.is_ok());
  CHECK(t.status().code() == obol::StatusCode::out_of_memory);
  CHECK(t.status().message() == "[tensor] allocating 16 bytes failed");

  auto blocky = Tensor::empty(DType::q4_0, Shape{2, 31});
  REQUIRE_FALSE(blocky.is_ok());
  CHECK(blocky.status().code() == obol::StatusCode::invalid_argument);

  auto huge = Tensor::empty(DType::f32, Shape{INT64_MAX / 2, 4});
  CHECK(huge.status().code() == obol::StatusCode::out_of_range);

  auto empty = Tensor::empty(DType::f32, Shape{0, 7});
  REQUIRE(empty.is_ok());
  CHECK(empty->nbytes() == 0);
}

TEST_CASE("TensorView reshapes only to equal element counts", "[core][tensor]") {
  float data[12] = {};
  obol::TensorView v(data, DType::f32, Shape{3, 4});
  CHECK(v.nbytes() == 48);
  auto r = v.reshaped(Shape{2, 6});
  REQUIRE(r.is_ok());
  CHECK(r->data() == data);
  CHECK(v.reshaped(Shape{5}).status().message() == "[tensor] cannot reshape [3, 4] to [5]: element counts differ");
}
