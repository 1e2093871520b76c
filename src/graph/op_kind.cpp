#include "obol/graph/op_kind.hpp"

#include <algorithm>
#include <array>

namespace obol {
inline namespace v1 {
namespace graph {

namespace {

constexpr OpInfo kOps[] = {
#define OBOL_OP(name, domain, op_type) {#name, domain, op_type},
#include "obol/graph/ops.def"
#undef OBOL_OP
};
static_assert(sizeof(kOps) / sizeof(kOps[0]) == kOpKindCount, "ops.def and OpKind disagree");

// (domain, op_type) pairs sorted once for binary search.
struct Index {
  std::array<uint16_t, kOpKindCount> order{};
  Index() {
    for (int i = 0; i < kOpKindCount; ++i) order[static_cast<size_t>(i)] = static_cast<uint16_t>(i);
    std::sort(order.begin(), order.end(), [](uint16_t a, uint16_t b) { return less(kOps[a], kOps[b]); });
  }
  static bool less(const OpInfo& a, const OpInfo& b) {
    return a.domain != b.domain ? a.domain < b.domain : a.op_type < b.op_type;
  }
};

}  // namespace

const OpInfo& op_info(OpKind kind) noexcept { return kOps[static_cast<size_t>(kind)]; }

std::optional<OpKind> op_from_onnx(std::string_view domain, std::string_view op_type) noexcept {
  static const Index index;
  if (domain == "ai.onnx") domain = "";
  const OpInfo key{{}, domain, op_type};
  auto it = std::lower_bound(index.order.begin(), index.order.end(), key,
                             [](uint16_t i, const OpInfo& k) { return Index::less(kOps[i], k); });
  if (it == index.order.end() || kOps[*it].domain != domain || kOps[*it].op_type != op_type) return std::nullopt;
  return static_cast<OpKind>(*it);
}

}  // namespace graph
}  // inline namespace v1
}  // namespace obol
