#include "common.hpp"

namespace obol {
inline namespace v1 {
namespace cpu {

Result<std::vector<double>> read_doubles(const TensorView& t, const char* what) {
  std::vector<double> r(static_cast<size_t>(t.numel()));
  Status st = dispatch_dtype<OBOL_CPU_ALL_TYPES>(t.dtype(), what, [&](auto tag) {
    using T = decltype(tag);
    const T* p = t.data_as<const T>();
    for (size_t i = 0; i < r.size(); ++i) {
      if constexpr (std::is_same_v<T, F16>) r[i] = f16_to_f32(p[i].bits);
      else if constexpr (std::is_same_v<T, BF16>) r[i] = bf16_to_f32(p[i].bits);
      else r[i] = static_cast<double>(p[i]);
    }
    return Status::ok();
  });
  if (!st.is_ok()) return st;
  return r;
}

}  // namespace cpu
}  // inline namespace v1
}  // namespace obol
