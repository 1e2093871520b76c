// The pool family on the CPU backend: windowed pools against a brute-force reference over many
// attribute combinations (the ONNX test data covers few), integer and half dtypes, NaN and
// infinities, indices, MaxUnpool/MaxRoiPool, empty tensors and error paths.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "obol/obol.hpp"
#include "ops/op_test_util.hpp"

using namespace obol;
using graph::OpKind;

namespace {

using namespace obol::op_test;

// --- Brute-force reference, written from the ONNX spec's formulas ------------------------------

struct PoolCase {
  std::vector<int64_t> shape;  // N, C, spatial...
  std::vector<int64_t> kernel, strides, dilations, pads;
  std::string auto_pad = "NOTSET";
  bool ceil_mode = false;
};

enum class Ref { max, avg, avg_pad, lp2 };

std::vector<graph::Attribute> attrs_of(const PoolCase& c) {
  std::vector<graph::Attribute> a{attr_ints("kernel_shape", c.kernel)};
  if (!c.strides.empty()) a.push_back(attr_ints("strides", c.strides));
  if (!c.dilations.empty()) a.push_back(attr_ints("dilations", c.dilations));
  if (!c.pads.empty()) a.push_back(attr_ints("pads", c.pads));
  if (c.auto_pad != "NOTSET") a.push_back(attr_s("auto_pad", c.auto_pad));
  if (c.ceil_mode) a.push_back(attr_i("ceil_mode", 1));
  return a;
}

std::vector<double> ref_pool(Ref kind, const PoolCase& c, const std::vector<double>& x, std::vector<int64_t>& out_shape) {
  const size_t k = c.kernel.size();
  std::vector<int64_t> in(k), out(k), s(k), d(k), pb(k), pe(k), kern = c.kernel;
  for (size_t i = 0; i < k; ++i) {
    in[i] = c.shape[2 + i];
    s[i] = c.strides.empty() ? 1 : c.strides[i];
    d[i] = c.dilations.empty() ? 1 : c.dilations[i];
    const int64_t eff = (kern[i] - 1) * d[i] + 1;
    if (c.auto_pad == "NOTSET") {
      pb[i] = c.pads.empty() ? 0 : c.pads[i];
      pe[i] = c.pads.empty() ? 0 : c.pads[k + i];
      const double v = static_cast<double>(in[i] + pb[i] + pe[i] - eff) / static_cast<double>(s[i]) + 1;
      out[i] = static_cast<int64_t>(c.ceil_mode ? std::ceil(v) : std::floor(v));
      if (c.ceil_mode && (out[i] - 1) * s[i] >= in[i] + pb[i]) --out[i];
    } else if (c.auto_pad == "VALID") {
      pb[i] = pe[i] = 0;
      out[i] = (in[i] - eff) / s[i] + 1;
    } else {
      out[i] = (in[i] + s[i] - 1) / s[i];
      const int64_t total = std::max<int64_t>(0, (out[i] - 1) * s[i] + eff - in[i]);
      pb[i] = c.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pe[i] = total - pb[i];
    }
  }
  out_shape = {c.shape[0], c.shape[1]};
  out_shape.insert(out_shape.end(), out.begin(), out.end());
  int64_t in_plane = 1, out_plane = 1, window = 1;
  for (size_t i = 0; i < k; ++i) {
    in_plane *= in[i];
    out_plane *= out[i];
    window *= kern[i];
  }
  std::vector<double> y;
  for (int64_t p = 0; p < c.shape[0] * c.shape[1]; ++p) {
    for (int64_t o = 0; o < out_plane; ++o) {
      std::vector<int64_t> oi(k);
      for (int64_t r = o, i = static_cast<int64_t>(k) - 1; i >= 0; --i) {
        oi[static_cast<size_t>(i)] = r % out[static_cast<size_t>(i)];
        r /= out[static_cast<size_t>(i)];
      }
      double acc = kind == Ref::max ? -INFINITY : 0.0;
      int64_t valid = 0, padded = 0;
      for (int64_t w = 0; w < window; ++w) {
        bool inside = true, in_pad_region = true;
        int64_t off = 0;
        for (int64_t r = w, i = static_cast<int64_t>(k) - 1; i >= 0; --i) {
          const size_t u = static_cast<size_t>(i);
          const int64_t pos = oi[u] * s[u] - pb[u] + (r % kern[u]) * d[u];
          r /= kern[u];
          inside = inside && pos >= 0 && pos < in[u];
          in_pad_region = in_pad_region && pos >= -pb[u] && pos < in[u] + pe[u];
          off = off + pos * [&] {
            int64_t st = 1;
            for (size_t j = u + 1; j < k; ++j) st *= in[j];
            return st;
          }();
        }
        padded += in_pad_region;
        if (!inside) continue;
        ++valid;
        const double v = x[static_cast<size_t>(p * in_plane + off)];
        if (kind == Ref::max) acc = std::max(acc, v);
        else if (kind == Ref::lp2) acc += v * v;
        else acc += v;
      }
      if (kind == Ref::avg) acc /= static_cast<double>(valid);
      if (kind == Ref::avg_pad) acc /= static_cast<double>(padded);
      if (kind == Ref::lp2) acc = std::sqrt(acc);
      y.push_back(acc);
    }
  }
  return y;
}

std::vector<PoolCase> pool_cases() {
  return {
      {{1, 2, 9}, {3}, {2}, {}, {1, 2}, "NOTSET", true},
      {{2, 3, 7, 6}, {3, 2}, {2, 1}, {2, 1}, {1, 0, 2, 1}, "NOTSET", true},
      {{1, 2, 7, 6}, {3, 2}, {2, 1}, {2, 1}, {1, 0, 2, 1}, "NOTSET", false},
      {{1, 3, 7, 6}, {3, 3}, {2, 2}, {}, {}, "SAME_UPPER", false},
      {{1, 1, 7, 6}, {2, 3}, {1, 2}, {2, 1}, {}, "SAME_LOWER", false},
      {{1, 2, 9, 8}, {3, 3}, {2, 3}, {}, {}, "VALID", false},
      {{1, 2, 5, 4, 6}, {2, 3, 2}, {2, 1, 2}, {}, {1, 1, 0, 0, 1, 1}, "NOTSET", true},
      {{1, 2, 600}, {5}, {1}, {}, {2, 2}, "NOTSET", false},      // tiles of the width loop
      {{1, 1, 3, 700}, {2, 4}, {1, 3}, {1, 2}, {0, 3, 1, 0}, "NOTSET", false},  // strided tiles
      {{1, 1, 4, 4}, {2, 2}, {1, 1}, {}, {3, 3, 3, 3}, "NOTSET", false},  // windows wholly in padding
  };
}

}  // namespace

TEST_CASE("MaxPool, AveragePool and LpPool match a brute-force reference", "[ops][pool]") {
  int index = 0;
  for (const PoolCase& c : pool_cases()) {
    INFO("case " << index++);
    int64_t n = 1;
    for (int64_t d : c.shape) n *= d;
    const std::vector<float> xf = random_floats(static_cast<size_t>(n), static_cast<uint32_t>(index));
    const std::vector<double> xd(xf.begin(), xf.end());
    Shape shape;
    for (int64_t d : c.shape) shape.push_back(d);
    std::vector<int64_t> out_shape;
    Shape expect_shape;

    const std::vector<double> mx = ref_pool(Ref::max, c, xd, out_shape);
    for (int64_t d : out_shape) expect_shape.push_back(d);
    auto y = ok(run_op(OpKind::MaxPool, 12, {tensor<float>(shape, xf)}, attrs_of(c)));
    REQUIRE(y[0].shape() == expect_shape);
    const std::vector<float> got = values<float>(y[0]);
    for (size_t i = 0; i < got.size(); ++i) {
      // Windows wholly in padding have no input: -inf.
      CHECK(got[i] == static_cast<float>(mx[i]));
    }

    const bool whole_pad_windows = c.pads.size() == 4 && c.pads[0] == 3;
    for (Ref kind : {Ref::avg, Ref::avg_pad, Ref::lp2}) {
      if (whole_pad_windows && kind == Ref::avg) continue;  // 0 / 0
      if (c.auto_pad != "NOTSET" && kind == Ref::avg_pad) continue;
      std::vector<graph::Attribute> attrs = attrs_of(c);
      if (kind == Ref::avg_pad) attrs.push_back(attr_i("count_include_pad", 1));
      const OpKind op = kind == Ref::lp2 ? OpKind::LpPool : OpKind::AveragePool;
      const std::vector<double> want = ref_pool(kind, c, xd, out_shape);
      auto r = ok(run_op(op, kind == Ref::lp2 ? 18 : 19, {tensor<float>(shape, xf)}, attrs));
      REQUIRE(r[0].shape() == expect_shape);
      const std::vector<float> v = values<float>(r[0]);
      for (size_t i = 0; i < v.size(); ++i) CHECK(v[i] == Approx(want[i]).margin(1e-5));
    }

    // Integer max pooling is exact.
    std::vector<int8_t> xi(static_cast<size_t>(n));
    for (size_t i = 0; i < xi.size(); ++i) xi[i] = static_cast<int8_t>(std::lround(xf[i] * 31.0f));
    const std::vector<double> xid(xi.begin(), xi.end());
    const std::vector<double> mi = ref_pool(Ref::max, c, xid, out_shape);
    auto yi = ok(run_op(OpKind::MaxPool, 12, {tensor<int8_t>(shape, xi)}, attrs_of(c)));
    const std::vector<int8_t> gi = values<int8_t>(yi[0]);
    for (size_t i = 0; i < gi.size(); ++i) CHECK(gi[i] == (std::isinf(mi[i]) ? int8_t{-128} : static_cast<int8_t>(mi[i])));
  }
}

TEST_CASE("MaxPool: indices, dtypes, NaN and infinities", "[ops][pool]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  SECTION("Indices in row-major and column-major order, first maximum wins") {
    // x[0, 1] (second channel) is a 2x3 plane; the maximum 9 appears twice in the window.
    const std::vector<float> x{0, 0, 0, 0, 0, 0, 1, 9, 2, 9, 3, 4};
    for (int64_t order : {0, 1}) {
      auto y = ok(run_op(OpKind::MaxPool, 12, {tensor<float>({1, 2, 2, 3}, x)},
                         {attr_ints("kernel_shape", {2, 2}), attr_i("storage_order", order)}, 2));
      CHECK(values<float>(y[0]) == std::vector<float>{0, 0, 9, 9});
      // The 9 at (0, 1) of plane 1: row-major 6 + 1, column-major 6 + 0 + 1 * 2.
      const std::vector<int64_t> idx = values<int64_t>(y[1]);
      CHECK(idx[2] == (order == 0 ? 7 : 8));
      CHECK(idx[3] == (order == 0 ? 7 : 8));
    }
  }
  SECTION("uint8, int32, uint64 and f16") {
    auto u8 = ok(run_op(OpKind::MaxPool, 12, {tensor<uint8_t>({1, 1, 4}, {0, 255, 7, 200})}, {attr_ints("kernel_shape", {2})}));
    CHECK(values<uint8_t>(u8[0]) == std::vector<uint8_t>{255, 255, 200});
    auto i32 = ok(run_op(OpKind::MaxPool, 12, {tensor<int32_t>({1, 1, 3}, {-5, -2147483647 - 1, -7})},
                         {attr_ints("kernel_shape", {2}), attr_ints("pads", {1, 0})}));
    CHECK(values<int32_t>(i32[0]) == std::vector<int32_t>{-5, -5, -7});
    auto u64 = ok(run_op(OpKind::MaxPool, 12, {tensor<uint64_t>({1, 1, 2}, {~uint64_t{0}, 1})}, {attr_ints("kernel_shape", {2})}));
    CHECK(values<uint64_t>(u64[0]) == std::vector<uint64_t>{~uint64_t{0}});
    auto h = ok(run_op(OpKind::MaxPool, 12, {f16_tensor({1, 1, 3}, {0.5f, -1.0f, 2.5f})}, {attr_ints("kernel_shape", {2})}));
    REQUIRE(h[0].dtype() == DType::f16);
    CHECK(f16_to_f32(h[0].data_as<uint16_t>()[0]) == 0.5f);
    CHECK(f16_to_f32(h[0].data_as<uint16_t>()[1]) == 2.5f);
  }
  SECTION("NaN propagates, -inf survives") {
    auto y = ok(run_op(OpKind::MaxPool, 12, {tensor<float>({1, 1, 4}, {1, nan, -inf, -inf})}, {attr_ints("kernel_shape", {2})}));
    const std::vector<float> v = values<float>(y[0]);
    CHECK(std::isnan(v[0]));
    CHECK(std::isnan(v[1]));
    CHECK(v[2] == -inf);
  }
  SECTION("Empty batch gives an empty output of the right shape") {
    auto y = ok(run_op(OpKind::MaxPool, 12, {tensor<float>({0, 3, 4, 4}, {})}, {attr_ints("kernel_shape", {2, 2})}));
    CHECK(y[0].shape() == Shape{0, 3, 3, 3});
  }
}

TEST_CASE("AveragePool and LpPool dtypes and p", "[ops][pool]") {
  auto h = ok(run_op(OpKind::AveragePool, 11, {f16_tensor({1, 1, 4}, {1, 2, 3, 5})}, {attr_ints("kernel_shape", {2})}));
  REQUIRE(h[0].dtype() == DType::f16);
  CHECK(f16_to_f32(h[0].data_as<uint16_t>()[2]) == 4.0f);
  auto d = ok(run_op(OpKind::AveragePool, 11, {tensor<double>({1, 1, 3}, {1, 2, 4})},
                     {attr_ints("kernel_shape", {2}), attr_ints("pads", {1, 0}), attr_i("count_include_pad", 1)}));
  CHECK(values<double>(d[0]) == std::vector<double>{0.5, 1.5, 3.0});
  auto l1 = ok(run_op(OpKind::LpPool, 11, {tensor<float>({1, 1, 3}, {-1, 2, -4})}, {attr_ints("kernel_shape", {2}), attr_i("p", 1)}));
  CHECK(values<float>(l1[0]) == std::vector<float>{3, 6});
  auto l3 = ok(run_op(OpKind::LpPool, 11, {tensor<float>({1, 1, 2}, {-1, 2})}, {attr_ints("kernel_shape", {2}), attr_i("p", 3)}));
  CHECK(values<float>(l3[0])[0] == Approx(std::cbrt(9.0f)));
  auto lf = ok(run_op(OpKind::LpPool, 1, {tensor<float>({1, 1, 2}, {3, 4})}, {attr_ints("kernel_shape", {2}), attr_f("p", 2.0f)}));
  CHECK(values<float>(lf[0])[0] == Approx(5.0f));
}

TEST_CASE("Global pools", "[ops][pool]") {
  const std::vector<float> x{1, -2, 3, 4, -5, 6, 7, 8};
  auto avg = ok(run_op(OpKind::GlobalAveragePool, 1, {tensor<float>({1, 2, 2, 2}, x)}, {}));
  CHECK(avg[0].shape() == Shape{1, 2, 1, 1});
  CHECK(values<float>(avg[0]) == std::vector<float>{1.5f, 4.0f});
  auto mx = ok(run_op(OpKind::GlobalMaxPool, 1, {tensor<float>({2, 1, 4}, x)}, {}));
  CHECK(mx[0].shape() == Shape{2, 1, 1});
  CHECK(values<float>(mx[0]) == std::vector<float>{4, 8});
  auto mi = ok(run_op(OpKind::GlobalMaxPool, 1, {tensor<int32_t>({1, 2, 2}, {-3, -9, 5, 2})}, {}));
  CHECK(values<int32_t>(mi[0]) == std::vector<int32_t>{-3, 5});
  auto ad = ok(run_op(OpKind::GlobalAveragePool, 1, {tensor<double>({1, 1, 3}, {1, 2, 6})}, {}));
  CHECK(values<double>(ad[0]) == std::vector<double>{3.0});
  auto lp = ok(run_op(OpKind::GlobalLpPool, 2, {tensor<float>({1, 2, 2}, {3, -4, 1, 0})}, {}));
  CHECK(values<float>(lp[0]) == std::vector<float>{5, 1});
  auto lp1 = ok(run_op(OpKind::GlobalLpPool, 2, {tensor<float>({1, 1, 2}, {3, -4})}, {attr_i("p", 1)}));
  CHECK(values<float>(lp1[0]) == std::vector<float>{7});
  CHECK(error_of(run_op(OpKind::GlobalAveragePool, 1, {tensor<float>({4}, {1, 2, 3, 4})}, {})).find("expected at least 2") !=
        std::string::npos);
}

TEST_CASE("MaxUnpool inverts MaxPool, MaxRoiPool", "[ops][pool]") {
  const std::vector<float> x{1, 5, 2, 0, 3, 4, 8, 7, 6, 1, 0, 2, 9, 3, 1, 4};
  auto pooled = ok(run_op(OpKind::MaxPool, 12, {tensor<float>({1, 1, 4, 4}, x)},
                          {attr_ints("kernel_shape", {2, 2}), attr_ints("strides", {2, 2})}, 2));
  CHECK(values<float>(pooled[0]) == std::vector<float>{5, 8, 9, 4});
  std::vector<Arg> args;
  args.push_back(Arg{std::make_shared<Tensor>(std::move(pooled[0]))});
  args.push_back(Arg{std::make_shared<Tensor>(std::move(pooled[1]))});
  auto un = ok(run_op(OpKind::MaxUnpool, 11, std::move(args), {attr_ints("kernel_shape", {2, 2}), attr_ints("strides", {2, 2})}));
  CHECK(un[0].shape() == Shape{1, 1, 4, 4});
  CHECK(values<float>(un[0]) == std::vector<float>{0, 5, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 9, 0, 0, 4});

  // output_shape larger than the inferred one: values land in the same (row, column) places.
  auto big = ok(run_op(OpKind::MaxUnpool, 11,
                       {tensor<float>({1, 1, 1, 2}, {7, 8}), tensor<int64_t>({1, 1, 1, 2}, {1, 2}),
                        tensor<int64_t>({4}, {1, 1, 2, 5})},
                       {attr_ints("kernel_shape", {2, 2}), attr_ints("strides", {2, 2})}));
  CHECK(values<float>(big[0]) == std::vector<float>{0, 7, 8, 0, 0, 0, 0, 0, 0, 0});

  CHECK(error_of(run_op(OpKind::MaxUnpool, 11, {tensor<float>({1, 1, 1, 1}, {7}), tensor<int64_t>({1, 1, 1, 1}, {4})},
                        {attr_ints("kernel_shape", {2, 2})}))
            .find("index 4 in I is outside [0, 4)") != std::string::npos);

  // One roi covering columns 1..2 and rows 0..1 of a 3x4 plane, pooled to 1x2.
  const std::vector<float> plane{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  auto roi = ok(run_op(OpKind::MaxRoiPool, 1, {tensor<float>({1, 1, 3, 4}, plane), tensor<float>({1, 5}, {0, 1, 0, 2, 1})},
                       {attr_ints("pooled_shape", {1, 2})}));
  CHECK(roi[0].shape() == Shape{1, 1, 1, 2});
  CHECK(values<float>(roi[0]) == std::vector<float>{5, 6});
  CHECK(error_of(run_op(OpKind::MaxRoiPool, 1, {tensor<float>({1, 1, 3, 4}, plane), tensor<float>({1, 5}, {1, 0, 0, 1, 1})},
                        {attr_ints("pooled_shape", {1, 1})}))
            .find("batch index 1") != std::string::npos);
}

TEST_CASE("Pool ops reject bad attributes and inputs", "[ops][pool]") {
  auto x = [] { return tensor<float>({1, 1, 4, 4}, std::vector<float>(16, 1.0f)); };
  CHECK(error_of(run_op(OpKind::MaxPool, 12, {x()}, {})).find("[MaxPool] node 'n': attribute kernel_shape is required") !=
        std::string::npos);
  CHECK(error_of(run_op(OpKind::MaxPool, 12, {x()}, {attr_ints("kernel_shape", {2})})).find("input X has rank 4, expected 3") !=
        std::string::npos);
  CHECK(error_of(run_op(OpKind::AveragePool, 11, {x()}, {attr_ints("kernel_shape", {2, 2}), attr_ints("pads", {1, 1})}))
            .find("pads has 2 values, expected 4") != std::string::npos);
  CHECK(error_of(run_op(OpKind::AveragePool, 11, {x()}, {attr_ints("kernel_shape", {2, 2}), attr_ints("strides", {0, 1})}))
            .find("must be positive") != std::string::npos);
  CHECK(error_of(run_op(OpKind::MaxPool, 12, {x()}, {attr_ints("kernel_shape", {2, 2}), attr_s("auto_pad", "SAME")}))
            .find("auto_pad must be") != std::string::npos);
  CHECK(error_of(run_op(OpKind::MaxPool, 12, {x()}, {attr_ints("kernel_shape", {6, 2})})).find("does not fit") !=
        std::string::npos);
  CHECK(error_of(run_op(OpKind::MaxPool, 12, {x()}, {attr_ints("kernel_shape", {1, 1, 1, 1})})).find("at most 3") !=
        std::string::npos);
  CHECK(error_of(run_op(OpKind::AveragePool, 11, {tensor<int32_t>({1, 1, 2}, {1, 2})}, {attr_ints("kernel_shape", {2})}))
            .find("[AveragePool] node 'n': element type i32 is not supported") != std::string::npos);
}
