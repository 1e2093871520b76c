// Builds one KernelTable per ISA tier, once, and picks the one in use.
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "obol/core/platform.hpp"
#include "obol/kernels/cpu.hpp"
#include "register.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {

const char* isa_name(Isa isa) noexcept {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    case Isa::avx512vnni: return "avx512vnni";
    case Isa::amx: return "amx";
  }
  return "unknown";
}

namespace {

struct Tables {
  KernelTable table[kIsaCount];
  bool supported[kIsaCount] = {};
  Isa chosen = Isa::scalar;
};

KernelTable build_table(Isa isa) {
  KernelTable t;
#define OBOL_KERNEL_FAMILY(family) register_##family##__scalar(t);
#include "families.def"
#undef OBOL_KERNEL_FAMILY
#if defined(OBOL_HAVE_X86_ISAS)
  if (isa >= Isa::avx2) {
#define OBOL_KERNEL_FAMILY(family) register_##family##__avx2(t);
#include "families.def"
#undef OBOL_KERNEL_FAMILY
  }
  if (isa >= Isa::avx512) {
#define OBOL_KERNEL_FAMILY(family) register_##family##__avx512(t);
#include "families.def"
#undef OBOL_KERNEL_FAMILY
  }
#endif
  t.isa = isa;
  return t;
}

Isa choose_isa(const bool* supported) {
  Isa best = Isa::scalar;
  for (int i = 0; i < kIsaCount; ++i)
    if (supported[i]) best = static_cast<Isa>(i);
  const char* forced = std::getenv("OBOL_CPU_ISA");
  if (!forced || !*forced) return best;
  for (int i = 0; i < kIsaCount; ++i) {
    if (std::strcmp(forced, isa_name(static_cast<Isa>(i))) == 0) {
      if (supported[i]) return static_cast<Isa>(i);
      log_message(LogLevel::warning, std::string("[cpu] OBOL_CPU_ISA=") + forced +
                                         " is not supported by this CPU or build; using " + isa_name(best));
      return best;
    }
  }
  log_message(LogLevel::warning, std::string("[cpu] OBOL_CPU_ISA=") + forced +
                                     " is unknown (expected scalar, avx2, avx512, avx512vnni or amx); using " + isa_name(best));
  return best;
}

const Tables& tables() {
  static const Tables t = [] {
    Tables r;
    for (int i = 0; i < kIsaCount; ++i) {
      r.supported[i] = isa_supported(static_cast<Isa>(i));
      if (r.supported[i]) r.table[i] = build_table(static_cast<Isa>(i));
    }
    r.chosen = choose_isa(r.supported);
    return r;
  }();
  return t;
}

}  // namespace

const KernelTable& cpu_kernels() noexcept {
  const Tables& t = tables();
  return t.table[static_cast<int>(t.chosen)];
}

const KernelTable* cpu_kernels_for(Isa isa) noexcept {
  const Tables& t = tables();
  const int i = static_cast<int>(isa);
  return (i >= 0 && i < kIsaCount && t.supported[i]) ? &t.table[i] : nullptr;
}

std::vector<Isa> available_isas() {
  std::vector<Isa> v;
  for (int i = 0; i < kIsaCount; ++i)
    if (tables().supported[i]) v.push_back(static_cast<Isa>(i));
  return v;
}

const char* unary_op_name(UnaryOp op) noexcept {
  switch (op) {
    case UnaryOp::identity: return "identity";
    case UnaryOp::relu: return "relu";
    case UnaryOp::leaky_relu: return "leaky_relu";
    case UnaryOp::gelu_erf: return "gelu_erf";
    case UnaryOp::gelu_tanh: return "gelu_tanh";
    case UnaryOp::silu: return "silu";
    case UnaryOp::sigmoid: return "sigmoid";
    case UnaryOp::tanh: return "tanh";
    case UnaryOp::exp: return "exp";
    case UnaryOp::log: return "log";
    case UnaryOp::sqrt: return "sqrt";
    case UnaryOp::reciprocal: return "reciprocal";
    case UnaryOp::abs: return "abs";
    case UnaryOp::neg: return "neg";
    case UnaryOp::clip: return "clip";
    case UnaryOp::erf: return "erf";
  }
  return "unknown";
}
const char* binary_op_name(BinaryOp op) noexcept {
  switch (op) {
    case BinaryOp::add: return "add";
    case BinaryOp::sub: return "sub";
    case BinaryOp::mul: return "mul";
    case BinaryOp::div: return "div";
    case BinaryOp::pow: return "pow";
    case BinaryOp::min: return "min";
    case BinaryOp::max: return "max";
  }
  return "unknown";
}
const char* reduce_op_name(ReduceOp op) noexcept {
  switch (op) {
    case ReduceOp::sum: return "sum";
    case ReduceOp::mean: return "mean";
    case ReduceOp::max: return "max";
    case ReduceOp::min: return "min";
    case ReduceOp::prod: return "prod";
    case ReduceOp::sum_square: return "sum_square";
  }
  return "unknown";
}

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
