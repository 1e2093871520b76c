// CPU feature detection: CPUID + XGETBV on x86-64, auxv on AArch64.
#include <cstring>

#include "obol/kernels/cpu.hpp"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#define OBOL_X86 1
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#elif defined(__aarch64__)
#include <sys/auxv.h>
#endif

namespace obol {
inline namespace v1 {
namespace kernels {

namespace {

#if defined(OBOL_X86)
void cpuid(unsigned leaf, unsigned sub, unsigned r[4]) { __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]); }

unsigned long long xgetbv0() {
  unsigned eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
}
#endif

CpuFeatures detect() {
  CpuFeatures f;
#if defined(OBOL_X86)
  unsigned r[4];
  cpuid(0, 0, r);
  const unsigned max_leaf = r[0];
  char vendor[13] = {};
  std::memcpy(vendor, &r[1], 4);
  std::memcpy(vendor + 4, &r[3], 4);
  std::memcpy(vendor + 8, &r[2], 4);
  f.vendor = vendor;

  cpuid(1, 0, r);
  f.sse42 = r[2] & (1u << 20);
  f.fma = r[2] & (1u << 12);
  f.f16c = r[2] & (1u << 29);
  const bool osxsave = r[2] & (1u << 27);
  f.avx = r[2] & (1u << 28);
  if (osxsave) {
    const unsigned long long xcr0 = xgetbv0();
    f.os_avx = (xcr0 & 0x6) == 0x6;
    f.os_avx512 = f.os_avx && (xcr0 & 0xe0) == 0xe0;
    f.os_amx = (xcr0 & 0x60000ull) == 0x60000ull;  // bits 17 (XTILECFG) and 18 (XTILEDATA)
  }
  if (max_leaf >= 7) {
    cpuid(7, 0, r);
    f.avx2 = r[1] & (1u << 5);
    f.avx512f = r[1] & (1u << 16);
    f.avx512dq = r[1] & (1u << 17);
    f.avx512cd = r[1] & (1u << 28);
    f.avx512bw = r[1] & (1u << 30);
    f.avx512vl = r[1] & (1u << 31);
    f.avx512vnni = r[2] & (1u << 11);
    f.avx512fp16 = r[3] & (1u << 23);
    f.amx_bf16 = r[3] & (1u << 22);
    f.amx_tile = r[3] & (1u << 24);
    f.amx_int8 = r[3] & (1u << 25);
    cpuid(7, 1, r);
    f.avx_vnni = r[0] & (1u << 4);
    f.avx512bf16 = r[0] & (1u << 5);
  }
  if (!f.os_avx) f.avx = f.avx2 = f.fma = f.f16c = f.avx_vnni = false;
  if (!f.os_avx512)
    f.avx512f = f.avx512bw = f.avx512vl = f.avx512dq = f.avx512cd = f.avx512vnni = f.avx512bf16 = f.avx512fp16 = false;
  if (!f.os_amx) f.amx_tile = f.amx_int8 = f.amx_bf16 = false;

  cpuid(0x80000000u, 0, r);
  if (r[0] >= 0x80000004u) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      cpuid(0x80000002u + i, 0, r);
      std::memcpy(brand + 16 * i, r, 16);
    }
    f.brand = brand;
    while (!f.brand.empty() && f.brand.back() == ' ') f.brand.pop_back();
    const size_t first = f.brand.find_first_not_of(' ');
    f.brand = first == std::string::npos ? std::string() : f.brand.substr(first);
  }
#elif defined(__aarch64__)
  f.vendor = "arm";
  f.neon = true;
#if defined(HWCAP_ASIMDDP)
  f.arm_dotprod = getauxval(AT_HWCAP) & HWCAP_ASIMDDP;
#endif
#endif
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() noexcept {
  static const CpuFeatures f = detect();
  return f;
}

std::string cpu_features_string(const CpuFeatures& f) {
  std::string s;
  auto add = [&](bool on, const char* name) {
    if (!on) return;
    if (!s.empty()) s += ' ';
    s += name;
  };
  add(f.sse42, "sse4.2");
  add(f.avx, "avx");
  add(f.avx2, "avx2");
  add(f.fma, "fma");
  add(f.f16c, "f16c");
  add(f.avx512f, "avx512f");
  add(f.avx512bw, "avx512bw");
  add(f.avx512vl, "avx512vl");
  add(f.avx512dq, "avx512dq");
  add(f.avx512cd, "avx512cd");
  add(f.avx512vnni, "avx512vnni");
  add(f.avx512bf16, "avx512bf16");
  add(f.avx512fp16, "avx512fp16");
  add(f.avx_vnni, "avxvnni");
  add(f.amx_tile, "amx-tile");
  add(f.amx_int8, "amx-int8");
  add(f.amx_bf16, "amx-bf16");
  add(f.neon, "neon");
  add(f.arm_dotprod, "dotprod");
  return s;
}

bool amx_tile_permission() noexcept {
#if defined(OBOL_X86) && defined(__linux__)
  static const bool granted = [] {
    const CpuFeatures& f = cpu_features();
    if (!f.amx_tile || !f.amx_int8) return false;
    constexpr long kArchReqXcompPerm = 0x1023;  // ARCH_REQ_XCOMP_PERM
    constexpr long kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
  }();
  return granted;
#else
  return false;
#endif
}

bool isa_supported(Isa isa) noexcept {
  const CpuFeatures& f = cpu_features();
  switch (isa) {
    case Isa::scalar: return true;
#if defined(OBOL_HAVE_X86_ISAS)
    case Isa::avx2: return f.avx2 && f.fma;
    case Isa::avx512: return f.avx2 && f.fma && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq;
#if defined(OBOL_HAVE_ISA_AVX512VNNI)
    case Isa::avx512vnni: return isa_supported(Isa::avx512) && f.avx512vnni;
#endif
#if defined(OBOL_HAVE_ISA_AMX)
    case Isa::amx: return isa_supported(Isa::avx512) && f.avx512vnni && f.amx_tile && f.amx_int8 && amx_tile_permission();
#endif
#endif
    default: (void)f; return false;
  }
}

Isa best_isa() noexcept {
  Isa best = Isa::scalar;
  for (int i = 0; i < kIsaCount; ++i)
    if (isa_supported(static_cast<Isa>(i))) best = static_cast<Isa>(i);
  return best;
}

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
