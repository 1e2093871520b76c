// obol/graph/op_kind.hpp — the operator enum and its lookups, generated from ops.def.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace obol {
inline namespace v1 {
namespace graph {

enum class OpKind : uint16_t {
#define OBOL_OP(name, domain, op_type) name,
#include "obol/graph/ops.def"
#undef OBOL_OP
};

inline constexpr int kOpKindCount = 0
#define OBOL_OP(name, domain, op_type) +1
#include "obol/graph/ops.def"
#undef OBOL_OP
    ;

struct OpInfo {
  std::string_view name;     // the enum's name, e.g. "MsMatMulNBits"
  std::string_view domain;   // "" for ai.onnx
  std::string_view op_type;  // the ONNX op_type, e.g. "MatMulNBits"
};

const OpInfo& op_info(OpKind kind) noexcept;
inline std::string_view op_name(OpKind kind) noexcept { return op_info(kind).name; }

// Looks up an ONNX (domain, op_type) pair; "ai.onnx" and "" are the same domain.
std::optional<OpKind> op_from_onnx(std::string_view domain, std::string_view op_type) noexcept;

}  // namespace graph
}  // inline namespace v1
}  // namespace obol
