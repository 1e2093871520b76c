// fp32 GEMM for the scalar tier: the plain-loop reference (obol/kernels/reference/gemm.hpp).
#include "obol/kernels/reference/gemm.hpp"
#include "register.hpp"

namespace obol {
inline namespace v1 {
namespace kernels {

namespace {

void sgemm_scalar(const SgemmArgs& g) { reference::sgemm(g); }
size_t packed_b_bytes_scalar(int64_t K, int64_t N) { return reference::sgemm_packed_b_bytes(K, N); }
void pack_b_scalar(int64_t K, int64_t N, const float* B, int64_t ldb, bool trans_b, float* packed) {
  reference::sgemm_pack_b(K, N, B, ldb, trans_b, packed);
}
void sgemm_packed_scalar(const SgemmArgs& g, const float* packed_b) { reference::sgemm_packed(g, packed_b); }

}  // namespace

void register_gemm__scalar(KernelTable& t) {
  t.sgemm = &sgemm_scalar;
  t.sgemm_packed_b_bytes = &packed_b_bytes_scalar;
  t.sgemm_pack_b = &pack_b_scalar;
  t.sgemm_packed = &sgemm_packed_scalar;
}

}  // namespace kernels
}  // inline namespace v1
}  // namespace obol
