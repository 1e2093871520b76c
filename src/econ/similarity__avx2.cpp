// Dot products of one query against many rows, AVX2+FMA tier (the semantic cache's brute-force scan).
// Intrinsics only and no standard-library headers: nothing inline is shared with baseline code.
#include <immintrin.h>

#include <cstddef>

namespace obol {
inline namespace v1 {
namespace econ::detail {

void dot_rows__avx2(const float* matrix, size_t rows, size_t dim, const float* query, float* out) {
  for (size_t r = 0; r < rows; ++r) {
    const float* row = matrix + r * dim;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    size_t j = 0;
    for (; j + 32 <= dim; j += 32) {
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(row + j), _mm256_loadu_ps(query + j), a0);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(row + j + 8), _mm256_loadu_ps(query + j + 8), a1);
      a2 = _mm256_fmadd_ps(_mm256_loadu_ps(row + j + 16), _mm256_loadu_ps(query + j + 16), a2);
      a3 = _mm256_fmadd_ps(_mm256_loadu_ps(row + j + 24), _mm256_loadu_ps(query + j + 24), a3);
    }
    for (; j + 8 <= dim; j += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(row + j), _mm256_loadu_ps(query + j), a0);
    __m256 s = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
    float acc = _mm_cvtss_f32(h);
    for (; j < dim; ++j) acc += row[j] * query[j];
    out[r] = acc;
  }
}

}  // namespace econ::detail
}  // inline namespace v1
}  // namespace obol
