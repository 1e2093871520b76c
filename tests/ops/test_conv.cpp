// Conv, ConvTranspose and ConvInteger on the CPU backend against plain reference loops: every spatial
// rank, groups (depthwise included), strides, dilations, padding modes, packed constant weights, the
// chunked/threaded im2col path, and error messages.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "obol/obol.hpp"
#include "ops/op_test_util.hpp"

namespace {

using obol::DType;
using obol::Shape;
using obol::graph::OpKind;

using namespace obol::op_test;

// A conv problem in 3-D form (lower ranks have leading spatial sizes of 1).
struct Geo {
  int nd;
  int64_t N, C, M, group;
  int64_t in[3], k[3], s[3], d[3], pb[3], pe[3];
};

Shape x_shape(const Geo& g) {
  Shape s{g.N, g.C};
  for (int i = 3 - g.nd; i < 3; ++i) s.push_back(g.in[i]);
  return s;
}
Shape w_shape(const Geo& g, bool transpose) {
  Shape s = transpose ? Shape{g.C, g.M / g.group} : Shape{g.M, g.C / g.group};
  for (int i = 3 - g.nd; i < 3; ++i) s.push_back(g.k[i]);
  return s;
}
std::vector<obol::graph::Attribute> attrs(const Geo& g) {
  std::vector<int64_t> k, s, d, p;
  for (int i = 3 - g.nd; i < 3; ++i) {
    k.push_back(g.k[i]);
    s.push_back(g.s[i]);
    d.push_back(g.d[i]);
  }
  for (int i = 3 - g.nd; i < 3; ++i) p.push_back(g.pb[i]);
  for (int i = 3 - g.nd; i < 3; ++i) p.push_back(g.pe[i]);
  return {attr_ints("kernel_shape", k), attr_ints("strides", s), attr_ints("dilations", d), attr_ints("pads", p),
          attr_i("group", g.group)};
}

// Forward conv, float64 accumulation.
std::vector<double> ref_conv(const Geo& g, const std::vector<float>& x, const std::vector<float>& w,
                             const std::vector<float>& b, Shape& out_shape) {
  int64_t out[3];
  out_shape = Shape{g.N, g.M};
  for (int i = 0; i < 3; ++i) {
    out[i] = (g.in[i] + g.pb[i] + g.pe[i] - ((g.k[i] - 1) * g.d[i] + 1)) / g.s[i] + 1;
    if (i >= 3 - g.nd) out_shape.push_back(out[i]);
  }
  const int64_t Cg = g.C / g.group, Mg = g.M / g.group;
  std::vector<double> y(static_cast<size_t>(out_shape.numel()));
  size_t at = 0;
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t m = 0; m < g.M; ++m)
      for (int64_t o0 = 0; o0 < out[0]; ++o0)
        for (int64_t o1 = 0; o1 < out[1]; ++o1)
          for (int64_t o2 = 0; o2 < out[2]; ++o2) {
            double acc = b.empty() ? 0.0 : b[static_cast<size_t>(m)];
            for (int64_t c = 0; c < Cg; ++c) {
              const int64_t ci = m / Mg * Cg + c;
              for (int64_t k0 = 0; k0 < g.k[0]; ++k0)
                for (int64_t k1 = 0; k1 < g.k[1]; ++k1)
                  for (int64_t k2 = 0; k2 < g.k[2]; ++k2) {
                    const int64_t i0 = o0 * g.s[0] - g.pb[0] + k0 * g.d[0];
                    const int64_t i1 = o1 * g.s[1] - g.pb[1] + k1 * g.d[1];
                    const int64_t i2 = o2 * g.s[2] - g.pb[2] + k2 * g.d[2];
                    if (i0 < 0 || i0 >= g.in[0] || i1 < 0 || i1 >= g.in[1] || i2 < 0 || i2 >= g.in[2]) continue;
                    acc += static_cast<double>(x[static_cast<size_t>((((n * g.C + ci) * g.in[0] + i0) * g.in[1] + i1) * g.in[2] + i2)]) *
                           w[static_cast<size_t>((((m * Cg + c) * g.k[0] + k0) * g.k[1] + k1) * g.k[2] + k2)];
                  }
            }
            y[at++] = acc;
          }
  return y;
}

// Transposed conv as a scatter, float64 accumulation; out gives the output's spatial size.
std::vector<double> ref_conv_transpose(const Geo& g, const int64_t* out, const std::vector<float>& x,
                                       const std::vector<float>& w, const std::vector<float>& b) {
  const int64_t Cg = g.C / g.group, Mg = g.M / g.group;
  const int64_t osz = out[0] * out[1] * out[2];
  std::vector<double> y(static_cast<size_t>(g.N * g.M * osz));
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t m = 0; m < g.M; ++m)
      for (int64_t i = 0; i < osz; ++i) y[static_cast<size_t>((n * g.M + m) * osz + i)] = b.empty() ? 0.0 : b[static_cast<size_t>(m)];
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t ci = 0; ci < g.C; ++ci)
      for (int64_t i0 = 0; i0 < g.in[0]; ++i0)
        for (int64_t i1 = 0; i1 < g.in[1]; ++i1)
          for (int64_t i2 = 0; i2 < g.in[2]; ++i2) {
            const double xv = x[static_cast<size_t>((((n * g.C + ci) * g.in[0] + i0) * g.in[1] + i1) * g.in[2] + i2)];
            for (int64_t mm = 0; mm < Mg; ++mm) {
              const int64_t m = ci / Cg * Mg + mm;
              for (int64_t k0 = 0; k0 < g.k[0]; ++k0)
                for (int64_t k1 = 0; k1 < g.k[1]; ++k1)
                  for (int64_t k2 = 0; k2 < g.k[2]; ++k2) {
                    const int64_t o0 = i0 * g.s[0] - g.pb[0] + k0 * g.d[0];
                    const int64_t o1 = i1 * g.s[1] - g.pb[1] + k1 * g.d[1];
                    const int64_t o2 = i2 * g.s[2] - g.pb[2] + k2 * g.d[2];
                    if (o0 < 0 || o0 >= out[0] || o1 < 0 || o1 >= out[1] || o2 < 0 || o2 >= out[2]) continue;
                    y[static_cast<size_t>((n * g.M + m) * osz + (o0 * out[1] + o1) * out[2] + o2)] +=
                        xv * w[static_cast<size_t>((((ci * Mg + mm) * g.k[0] + k0) * g.k[1] + k1) * g.k[2] + k2)];
                  }
            }
          }
  return y;
}

template <class T>
void require_close(const std::vector<T>& got, const std::vector<double>& want, double tol = 1e-4) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i);
    REQUIRE(std::abs(static_cast<double>(got[i]) - want[i]) <= tol * (1.0 + std::abs(want[i])));
  }
}

const Geo kConvCases[] = {
    // nd  N  C  M grp   in          k          s          d          pb         pe
    {2, 1, 3, 4, 1, {1, 7, 9}, {1, 3, 3}, {1, 1, 1}, {1, 1, 1}, {0, 1, 1}, {0, 1, 1}},
    {2, 2, 4, 6, 2, {1, 8, 7}, {1, 3, 2}, {1, 2, 1}, {1, 1, 2}, {0, 0, 1}, {0, 2, 0}},
    {2, 1, 6, 6, 6, {1, 9, 9}, {1, 3, 3}, {1, 2, 2}, {1, 1, 1}, {0, 1, 1}, {0, 1, 1}},   // depthwise
    {2, 2, 4, 8, 4, {1, 6, 5}, {1, 3, 3}, {1, 1, 1}, {1, 2, 2}, {0, 2, 2}, {0, 2, 2}},   // depthwise x2
    {2, 2, 8, 5, 1, {1, 6, 6}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {0, 0, 0}},   // pointwise
    {2, 1, 8, 6, 2, {1, 6, 6}, {1, 1, 1}, {1, 2, 2}, {1, 1, 1}, {0, 0, 0}, {0, 0, 0}},   // strided 1x1
    {1, 3, 4, 5, 1, {1, 1, 17}, {1, 1, 4}, {1, 1, 3}, {1, 1, 2}, {0, 0, 2}, {0, 0, 1}},
    {3, 1, 2, 4, 2, {5, 4, 6}, {2, 3, 2}, {2, 1, 1}, {1, 1, 2}, {1, 0, 1}, {0, 1, 1}},
    {2, 2, 16, 32, 1, {1, 45, 41}, {1, 3, 3}, {1, 1, 1}, {1, 1, 1}, {0, 1, 1}, {0, 1, 1}},  // many chunks
};

}  // namespace

TEST_CASE("Conv matches a reference over ranks, groups, strides, dilations and pads", "[ops][conv]") {
  uint32_t seed = 10;
  for (const Geo& g : kConvCases)
    for (bool constant : {false, true})
      for (bool bias : {false, true}) {
        const Shape xs = x_shape(g), ws = w_shape(g, false);
        const auto x = uniform_floats(static_cast<size_t>(xs.numel()), ++seed, -1.0f, 1.0f);
        const auto w = uniform_floats(static_cast<size_t>(ws.numel()), ++seed, -1.0f, 1.0f);
        const auto b = bias ? uniform_floats(static_cast<size_t>(g.M), ++seed, -1.0f, 1.0f) : std::vector<float>{};
        std::vector<Arg> ins{tensor(xs, x), tensor(ws, w, constant)};
        if (bias) ins.push_back(tensor(Shape{g.M}, b, constant));
        INFO("case with C=" << g.C << " M=" << g.M << " group=" << g.group << " nd=" << g.nd << " constant=" << constant);
        const auto out = ok(run_op(OpKind::Conv, 11, ins, attrs(g)));
        Shape want_shape;
        const auto want = ref_conv(g, x, w, b, want_shape);
        CHECK(out[0].shape() == want_shape);
        require_close(values<float>(out[0]), want);
      }
}

TEST_CASE("Conv runs float64 through the direct loop", "[ops][conv]") {
  const Geo& g = kConvCases[1];
  const Shape xs = x_shape(g), ws = w_shape(g, false);
  const auto x = uniform_floats(static_cast<size_t>(xs.numel()), 1, -1.0f, 1.0f),
             w = uniform_floats(static_cast<size_t>(ws.numel()), 2, -1.0f, 1.0f);
  const auto out = ok(
      run_op(OpKind::Conv, 11,
             {tensor(xs, std::vector<double>(x.begin(), x.end())), tensor(ws, std::vector<double>(w.begin(), w.end()))},
             attrs(g)));
  Shape s;
  require_close(values<double>(out[0]), ref_conv(g, x, w, {}, s), 1e-9);
}

TEST_CASE("Conv auto_pad SAME_UPPER, SAME_LOWER and VALID", "[ops][conv]") {
  // 1 x 1 x 5 x 5 input of ones, 2 x 2 kernel of ones, stride 2: SAME gives 3 x 3 with one padded
  // row/column at the end (UPPER) or the beginning (LOWER).
  const std::vector<float> x(25, 1.0f), w(4, 1.0f);
  std::vector<obol::Tensor> out;
  out = ok(run_op(OpKind::Conv, 11, {tensor<float>({1, 1, 5, 5}, x), tensor<float>({1, 1, 2, 2}, w)},
                  {attr_s("auto_pad", "SAME_UPPER"), attr_ints("strides", {2, 2})}));
  CHECK(out[0].shape() == Shape{1, 1, 3, 3});
  CHECK(values<float>(out[0]) == std::vector<float>{4, 4, 2, 4, 4, 2, 2, 2, 1});
  out = ok(run_op(OpKind::Conv, 11, {tensor<float>({1, 1, 5, 5}, x), tensor<float>({1, 1, 2, 2}, w)},
                  {attr_s("auto_pad", "SAME_LOWER"), attr_ints("strides", {2, 2})}));
  CHECK(values<float>(out[0]) == std::vector<float>{1, 2, 2, 2, 4, 4, 2, 4, 4});
  out = ok(run_op(OpKind::Conv, 11, {tensor<float>({1, 1, 5, 5}, x), tensor<float>({1, 1, 2, 2}, w)},
                  {attr_s("auto_pad", "VALID"), attr_ints("strides", {2, 2})}));
  CHECK(out[0].shape() == Shape{1, 1, 2, 2});
}

TEST_CASE("Conv rejects inconsistent shapes and attributes", "[ops][conv]") {
  CHECK_THAT(error_of(run_op(OpKind::Conv, 11,
                             {tensor<float>({1, 3, 4, 4}, std::vector<float>(48)),
                              tensor<float>({2, 2, 3, 3}, std::vector<float>(36))})),
             Catch::Contains("[Conv] node 'n'") && Catch::Contains("second dimension"));
  CHECK_THAT(error_of(run_op(
                 OpKind::Conv, 11,
                 {tensor<float>({1, 1, 4, 4}, std::vector<float>(16)),
                  tensor<float>({2, 1, 3, 3}, std::vector<float>(18)), tensor<float>({3}, std::vector<float>(3))})),
             Catch::Contains("B must be 1-D with 2 elements"));
  CHECK_THAT(error_of(run_op(OpKind::Conv, 11,
                             {tensor<float>({1, 1, 2, 2}, std::vector<float>(4)),
                              tensor<float>({1, 1, 3, 3}, std::vector<float>(9))})),
             Catch::Contains("smaller than the dilated kernel"));
  CHECK_THAT(error_of(run_op(OpKind::Conv, 11,
                             {tensor<float>({1, 1, 4, 4}, std::vector<float>(16)),
                              tensor<float>({1, 1, 3, 3}, std::vector<float>(9))},
                             {attr_s("auto_pad", "SAME")})),
             Catch::Contains("auto_pad"));
  CHECK_THAT(error_of(run_op(
                 OpKind::Conv, 11,
                 {tensor<float>({1, 1, 4}, std::vector<float>(4)), tensor<float>({1, 1, 3}, std::vector<float>(3))},
                 {attr_ints("kernel_shape", {2})})),
             Catch::Contains("kernel_shape"));
  CHECK_THAT(
      error_of(run_op(OpKind::Conv, 11,
                      {tensor<float>({4}, std::vector<float>(4)), tensor<float>({1, 1, 3}, std::vector<float>(3))})),
      Catch::Contains("rank >= 3"));
}

TEST_CASE("ConvTranspose matches a reference", "[ops][conv]") {
  const Geo cases[] = {
      {2, 1, 3, 4, 1, {1, 4, 5}, {1, 3, 3}, {1, 2, 2}, {1, 1, 1}, {0, 1, 0}, {0, 0, 1}},
      {2, 2, 4, 6, 2, {1, 3, 3}, {1, 2, 3}, {1, 3, 1}, {1, 1, 2}, {0, 0, 0}, {0, 0, 0}},
      {1, 1, 2, 3, 1, {1, 1, 6}, {1, 1, 3}, {1, 1, 2}, {1, 1, 1}, {0, 0, 1}, {0, 0, 1}},
      {3, 1, 2, 2, 1, {2, 3, 2}, {2, 2, 2}, {2, 1, 2}, {1, 1, 1}, {0, 0, 0}, {0, 0, 0}},
  };
  uint32_t seed = 50;
  for (const Geo& g : cases)
    for (bool bias : {false, true}) {
      const Shape xs = x_shape(g), ws = w_shape(g, true);
      const auto x = uniform_floats(static_cast<size_t>(xs.numel()), ++seed, -1.0f, 1.0f);
      const auto w = uniform_floats(static_cast<size_t>(ws.numel()), ++seed, -1.0f, 1.0f);
      const auto b = bias ? uniform_floats(static_cast<size_t>(g.M), ++seed, -1.0f, 1.0f) : std::vector<float>{};
      std::vector<Arg> ins{tensor(xs, x), tensor(ws, w, true)};
      if (bias) ins.push_back(tensor(Shape{g.M}, b));
      std::vector<obol::graph::Attribute> at = attrs(g);
      std::vector<int64_t> op;
      for (int i = 3 - g.nd; i < 3; ++i) op.push_back(i == 2 ? 1 : 0);
      at.push_back(attr_ints("output_padding", op));
      int64_t out[3];
      Shape want_shape{g.N, g.M};
      for (int i = 0; i < 3; ++i) {
        out[i] = g.s[i] * (g.in[i] - 1) + (i == 2 && g.nd >= 1 ? 1 : 0) + (g.k[i] - 1) * g.d[i] + 1 - g.pb[i] - g.pe[i];
        if (i >= 3 - g.nd) want_shape.push_back(out[i]);
      }
      const auto outs = ok(run_op(OpKind::ConvTranspose, 11, ins, at));
      CHECK(outs[0].shape() == want_shape);
      require_close(values<float>(outs[0]), ref_conv_transpose(g, out, x, w, b));
    }
}

TEST_CASE("ConvTranspose output_shape and SAME padding", "[ops][conv]") {
  // One input pixel per position, stride 2, 3-wide kernel of ones: the full output is 2 * 3 + 1 = 7.
  std::vector<obol::Tensor> out;
  const std::vector<float> x{1, 2, 3}, w{1, 1, 1};
  out = ok(run_op(OpKind::ConvTranspose, 11, {tensor<float>({1, 1, 3}, x), tensor<float>({1, 1, 3}, w)},
                  {attr_ints("strides", {2}), attr_ints("output_shape", {9})}));
  CHECK(out[0].shape() == Shape{1, 1, 9});
  CHECK(values<float>(out[0]) == std::vector<float>{1, 1, 3, 2, 5, 3, 3, 0, 0});
  out = ok(run_op(OpKind::ConvTranspose, 11, {tensor<float>({1, 1, 3}, x), tensor<float>({1, 1, 3}, w)},
                  {attr_ints("strides", {2}), attr_s("auto_pad", "SAME_UPPER")}));
  // Output 6: total padding 1, which SAME_UPPER takes from the end (as the ONNX reference does).
  CHECK(out[0].shape() == Shape{1, 1, 6});
  CHECK(values<float>(out[0]) == std::vector<float>{1, 1, 3, 2, 5, 3});
  CHECK_THAT(error_of(run_op(OpKind::ConvTranspose, 11,
                             {tensor<float>({1, 2, 3}, std::vector<float>(6)), tensor<float>({1, 1, 3}, w)})),
             Catch::Contains("[ConvTranspose]") && Catch::Contains("first dimension"));
}

TEST_CASE("ConvInteger subtracts zero points and pads with them", "[ops][conv]") {
  // x (uint8, zero point 10) 1 x 1 x 3 x 3, w (int8, per-channel zero points) 2 x 1 x 2 x 2, pad 1.
  const std::vector<uint8_t> x{11, 12, 13, 14, 15, 16, 17, 18, 19};
  const std::vector<int8_t> w{1, 1, 1, 1, 2, 0, 0, 2};
  const auto out = ok(run_op(OpKind::ConvInteger, 10,
                             {tensor<uint8_t>({1, 1, 3, 3}, x), tensor<int8_t>({2, 1, 2, 2}, w),
                              tensor<uint8_t>({}, {10}), tensor<int8_t>({2}, {0, 1})},
                             {attr_ints("pads", {1, 1, 1, 1})}));
  REQUIRE(out[0].dtype() == DType::i32);
  REQUIRE(out[0].shape() == Shape{1, 2, 4, 4});
  // x - 10 = 1..9. Channel 0 sums each 2 x 2 window; channel 1 uses w - 1 = {1, -1, -1, 1}.
  const std::vector<int32_t> got = values<int32_t>(out[0]);
  const std::vector<int32_t> c0{1, 3, 5, 3, 5, 12, 16, 9, 11, 24, 28, 15, 7, 15, 17, 9};
  const std::vector<int32_t> c1{1, 1, 1, -3, 3, 0, 0, -3, 3, 0, 0, -3, -7, -1, -1, 9};
  CHECK(std::vector<int32_t>(got.begin(), got.begin() + 16) == c0);
  CHECK(std::vector<int32_t>(got.begin() + 16, got.end()) == c1);
}

TEST_CASE("QLinearConv adds the int32 bias and rounds half to even", "[ops][conv]") {
  // y = ((2 x + 1) * 0.5) - 1 for x = 1..4: 0.5, 1.5, 2.5, 3.5 round to 0, 2, 2, 4.
  const auto out =
      ok(run_op(OpKind::QLinearConv, 10,
                {tensor<uint8_t>({1, 1, 2, 2}, {1, 2, 3, 4}), tensor<float>({}, {1.0f}), tensor<uint8_t>({}, {0}),
                 tensor<int8_t>({1, 1, 1, 1}, {2}), tensor<float>({}, {0.5f}), tensor<int8_t>({}, {0}),
                 tensor<float>({}, {1.0f}), tensor<int8_t>({}, {-1}), tensor<int32_t>({1}, {1})}));
  REQUIRE(out[0].dtype() == DType::i8);
  CHECK(values<int8_t>(out[0]) == std::vector<int8_t>{0, 2, 2, 4});
}
