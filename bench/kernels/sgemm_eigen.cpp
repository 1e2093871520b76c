// Eigen peer for bench_sgemm.cpp (see sgemm_eigen.hpp).
#include "sgemm_eigen.hpp"

#include <Eigen/Core>

namespace obol {
inline namespace v1 {
namespace bench {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct EigenSgemm {
  RowMajor a, b, c;
};

EigenSgemm* eigen_sgemm_create(int64_t M, int64_t N, int64_t K, int threads) {
  Eigen::setNbThreads(threads);
  auto* g = new EigenSgemm;
  g->a = RowMajor::Random(M, K);
  g->b = RowMajor::Random(K, N);
  g->c = RowMajor::Zero(M, N);
  return g;
}

void eigen_sgemm_run(EigenSgemm* g) { g->c.noalias() = g->a * g->b; }

void eigen_sgemm_destroy(EigenSgemm* g) { delete g; }

}  // namespace bench
}  // inline namespace v1
}  // namespace obol
