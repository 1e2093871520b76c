// fp32 GEMM for the avx512 tier (AVX-512F). Compiled with only this tier's flags (cmake/Isa.cmake).
//
// Tile 12 x 32: 24 zmm accumulators + 2 B vectors + 1 broadcast = 27 of 32 registers (the shape BLIS
// uses for Skylake-X, transposed to row-major C), leaving room for the epilogue without spills; 24
// independent FMA chains cover 2 FMA pipes x 4 cycles latency with slack. KC = 256 makes the B
// micro-panel 32 KiB (L1d is 48 KiB on Ice Lake and later); MC = 144 keeps packed A (144 KiB) in the
// 1-2 MiB L2. This tier cannot run on the machine the tuning was done on (no AVX-512): it shares
// every line of the template with the measured AVX2 tier and only changes the tile constants.
#include "gemm_runtime.hpp"
#include "obol/kernels/gemm.hpp"
#include "register.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {

namespace {

using Cfg = gemm::Config<xsimd::avx512f, 12, 2, 256, 144, 1024>;

const gemm::Services kServices{&unary_f32__avx512, &gemm_max_threads, &gemm_parallel_run, &gemm_scratch};

void sgemm_avx512(const SgemmArgs& g) {
  gemm::sgemm_run<Cfg>(g, nullptr, kServices);
}
size_t packed_b_bytes_avx512(int64_t K, int64_t N) { return gemm::packed_b_bytes<Cfg>(K, N); }
void pack_b_avx512(int64_t K, int64_t N, const float* B, int64_t ldb, bool trans_b, float* packed) {
  gemm::pack_b<Cfg>(K, N, B, ldb, trans_b, packed);
}
void sgemm_packed_avx512(const SgemmArgs& g, const float* packed_b) {
  gemm::sgemm_run<Cfg>(g, packed_b, kServices);
}

}  // namespace

void register_gemm__avx512(KernelTable& t) {
  t.sgemm = &sgemm_avx512;
  t.sgemm_packed_b_bytes = &packed_b_bytes_avx512;
  t.sgemm_pack_b = &pack_b_avx512;
  t.sgemm_packed = &sgemm_packed_avx512;
}

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
