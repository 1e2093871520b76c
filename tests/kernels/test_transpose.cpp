// transpose_2d_32 of every tier against reference::transpose_2d_32 (exact, bit for bit).
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/test_util.hpp"
#include "obol/kernels/reference/transpose.hpp"

using namespace obol::kernels;

TEST_CASE("transpose_2d_32 matches the reference on every tier, block edges and leading dimensions",
          "[kernels][transpose]") {
  const int64_t rows = GENERATE(0, 1, 3, 7, 8, 9, 16, 17, 63, 64, 65, 130);
  const int64_t cols = GENERATE(0, 1, 5, 8, 9, 15, 64, 67, 129);
  const int64_t pad = GENERATE(0, 3);  // leading dimensions larger than the logical width
  const int64_t ldx = cols + pad, ldy = rows + pad;
  std::vector<uint32_t> x(static_cast<size_t>(rows * ldx + 1));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<uint32_t>(i * 2654435761u);  // NaN patterns included
  for (const KernelTable* t : obol::test::tier_tables()) {
    std::vector<uint32_t> want(static_cast<size_t>(cols * ldy + 1), 0xdeadbeefu), got = want;
    reference::transpose_2d_32(x.data(), ldx, want.data(), ldy, rows, cols);
    t->transpose_2d_32(x.data(), ldx, got.data(), ldy, rows, cols);
    INFO(obol::test::tier_name(*t) << " rows=" << rows << " cols=" << cols << " pad=" << pad);
    REQUIRE(got == want);  // also checks that the padding between rows is left untouched
  }
}
