// obol/core/allocator.hpp — the memory hook embedders can replace.
//
// All long-lived buffers obol owns (tensors, packed weights, arenas) come from an Allocator.
// Contract for a custom AllocatorHooks:
//   - alloc(user, size, alignment) returns memory aligned to `alignment` (a power of two, >= 64
//     when obol asks), or nullptr on failure; obol turns nullptr into StatusCode::out_of_memory.
//   - free(user, ptr, size) receives the same size that was asked for; ptr is never nullptr.
//   - Both may be called from any thread that runs obol.
#pragma once

#include <cstddef>
#include <cstdlib>

namespace obol {
inline namespace v1 {

inline constexpr size_t kDefaultAlignment = 64;  // one cache line, one AVX-512 register

struct AllocatorHooks {
  void* (*alloc)(void* user, size_t size, size_t alignment) = nullptr;
  void (*free)(void* user, void* ptr, size_t size) = nullptr;
  void* user = nullptr;
};

namespace detail {
inline void* default_alloc(void*, size_t size, size_t alignment) {
  if (alignment < sizeof(void*)) alignment = sizeof(void*);
  const size_t rounded = (size + alignment - 1) / alignment * alignment;
  return std::aligned_alloc(alignment, rounded == 0 ? alignment : rounded);
}
inline void default_free(void*, void* ptr, size_t) { std::free(ptr); }
}  // namespace detail

// A copyable handle on a pair of hooks. The default uses aligned_alloc/free.
class Allocator {
 public:
  Allocator() noexcept : hooks_{&detail::default_alloc, &detail::default_free, nullptr} {}
  explicit Allocator(const AllocatorHooks& hooks) noexcept : hooks_(hooks) {
    if (!hooks_.alloc || !hooks_.free) *this = Allocator();
  }

  void* allocate(size_t size, size_t alignment = kDefaultAlignment) const noexcept {
    return hooks_.alloc(hooks_.user, size, alignment);
  }
  void deallocate(void* ptr, size_t size) const noexcept {
    if (ptr) hooks_.free(hooks_.user, ptr, size);
  }
  const AllocatorHooks& hooks() const noexcept { return hooks_; }

  // The process-wide default used when no allocator is given. Not thread-safe to change while
  // obol is running; set it once at start-up.
  static Allocator& default_instance() noexcept {
    static Allocator a;
    return a;
  }

 private:
  AllocatorHooks hooks_;
};

}  // inline namespace v1
}  // namespace obol
