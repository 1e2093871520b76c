// fp32 GEMM for the avx2 tier (AVX2 + FMA). Compiled with only this tier's flags (cmake/Isa.cmake).
//
// Tile 6 x 16: 12 ymm accumulators + 2 B vectors + 1 broadcast = 15 of 16 registers, and 12
// independent FMA chains cover the 2 FMA pipes x 4-5 cycles latency of Haswell..Zen 4. KC = 256
// keeps a 16 x 256 B micro-panel (16 KiB) in a 32 KiB L1d next to the A panel; MC = 144 keeps the
// packed A block (144 KiB) in L2; NC bounds the per-call B pack (1 MiB) for unpacked calls.
#include "gemm_runtime.hpp"
#include "obol/kernels/gemm.hpp"
#include "register.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {

namespace {

using Cfg = gemm::Config<xsimd::fma3<xsimd::avx2>, 6, 2, 256, 144, 1024>;

const gemm::Services kServices{&unary_f32__avx2, &gemm_max_threads, &gemm_parallel_run, &gemm_scratch};

void sgemm_avx2(const SgemmArgs& g) {
  gemm::sgemm_run<Cfg>(g, nullptr, kServices);
}
size_t packed_b_bytes_avx2(int64_t K, int64_t N) { return gemm::packed_b_bytes<Cfg>(K, N); }
void pack_b_avx2(int64_t K, int64_t N, const float* B, int64_t ldb, bool trans_b, float* packed) {
  gemm::pack_b<Cfg>(K, N, B, ldb, trans_b, packed);
}
void sgemm_packed_avx2(const SgemmArgs& g, const float* packed_b) {
  gemm::sgemm_run<Cfg>(g, packed_b, kServices);
}

}  // namespace

void register_gemm__avx2(KernelTable& t) {
  t.sgemm = &sgemm_avx2;
  t.sgemm_packed_b_bytes = &packed_b_bytes_avx2;
  t.sgemm_pack_b = &pack_b_avx2;
  t.sgemm_packed = &sgemm_packed_avx2;
}

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
