// Eigen's SGEMM behind a plain C++ interface, so only sgemm_eigen.cpp (compiled with -march=native
// to give Eigen its best SIMD) includes Eigen.
#pragma once

#include <cstdint>

namespace obol {
inline namespace v1 {
namespace bench {

struct EigenSgemm;
// Row-major A (M x K), B (K x N), C (M x N) owned by the returned object, filled with values in [-1, 1].
EigenSgemm* eigen_sgemm_create(int64_t M, int64_t N, int64_t K, int threads);
// C.noalias() = A * B.
void eigen_sgemm_run(EigenSgemm* g);
void eigen_sgemm_destroy(EigenSgemm* g);

}  // namespace bench
}  // inline namespace v1
}  // namespace obol
