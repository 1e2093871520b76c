// Conv, ConvTranspose and ConvInteger on the CPU backend against plain reference loops: every spatial
// rank, groups (depthwise included), strides, dilations, padding modes, packed constant weights, the
// chunked/threaded im2col path, and error messages.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "obol/obol.hpp"

namespace {

using obol::DType;
using obol::Shape;
using obol::graph::OpKind;

struct In {
  DType dtype;
  Shape shape;
  std::shared_ptr<std::vector<uint8_t>> bytes;
  bool constant = false;
};

template <class T>
In in(Shape s, const std::vector<T>& v, bool constant = false) {
  auto b = std::make_shared<std::vector<uint8_t>>(v.size() * sizeof(T) + 1);
  if (!v.empty()) std::memcpy(b->data(), v.data(), v.size() * sizeof(T));
  return In{obol::dtype_of_v<T>, s, b, constant};
}

obol::graph::Attribute attr_ints(const char* name, std::vector<int64_t> v) {
  obol::graph::Attribute a;
  a.name = name;
  a.kind = obol::graph::Attribute::Kind::ints;
  a.ints = std::move(v);
  return a;
}
obol::graph::Attribute attr_i(const char* name, int64_t v) {
  obol::graph::Attribute a;
  a.name = name;
  a.kind = obol::graph::Attribute::Kind::i;
  a.i = v;
  return a;
}
obol::graph::Attribute attr_s(const char* name, std::string v) {
  obol::graph::Attribute a;
  a.name = name;
  a.kind = obol::graph::Attribute::Kind::s;
  a.s = std::move(v);
  return a;
}

obol::Status run_node(OpKind op, const std::vector<In>& ins, const std::vector<obol::graph::Attribute>& attrs,
                      std::vector<obol::Tensor>& outs, int opset = 11) {
  auto g = std::make_shared<obol::graph::Graph>();
  obol::graph::Node node;
  node.op = op;
  node.name = "n0";
  node.opset = opset;
  node.attributes = attrs;
  std::vector<obol::TensorView> feeds;
  for (size_t i = 0; i < ins.size(); ++i) {
    const In& x = ins[i];
    const obol::graph::ValueId v =
        g->add_value("in" + std::to_string(i), obol::graph::ValueType::tensor(x.dtype, x.shape));
    obol::TensorView view(x.bytes->data(), x.dtype, x.shape);
    if (x.constant) {
      auto c = std::make_shared<obol::graph::ConstantData>();
      c->view = view;
      c->owner = x.bytes;
      g->value(v).constant = c;
    } else {
      g->add_input(v);
      feeds.push_back(view);
    }
    node.inputs.push_back(v);
  }
  const obol::graph::ValueId out = g->add_value("out");
  node.outputs.push_back(out);
  g->add_node(node);
  g->add_output(out);
  auto model = obol::Model::from_graph(g);
  if (!model.is_ok()) return model.status();
  auto session = obol::Session::create(*model);
  if (!session.is_ok()) return session.status();
  return (*session)->run(feeds, outs);
}

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

template <class T>
std::vector<T> values(const obol::Tensor& t) {
  std::vector<T> v(static_cast<size_t>(t.numel()));
  if (!v.empty()) std::memcpy(v.data(), t.data(), v.size() * sizeof(T));
  return v;
}

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
        const auto x = random_floats(static_cast<size_t>(xs.numel()), ++seed);
        const auto w = random_floats(static_cast<size_t>(ws.numel()), ++seed);
        const auto b = bias ? random_floats(static_cast<size_t>(g.M), ++seed) : std::vector<float>{};
        std::vector<In> ins{in(xs, x), in(ws, w, constant)};
        if (bias) ins.push_back(in(Shape{g.M}, b, constant));
        std::vector<obol::Tensor> out;
        INFO("case with C=" << g.C << " M=" << g.M << " group=" << g.group << " nd=" << g.nd << " constant=" << constant);
        REQUIRE(run_node(OpKind::Conv, ins, attrs(g), out).is_ok());
        Shape want_shape;
        const auto want = ref_conv(g, x, w, b, want_shape);
        CHECK(out[0].shape() == want_shape);
        require_close(values<float>(out[0]), want);
      }
}

TEST_CASE("Conv runs float64 through the direct loop", "[ops][conv]") {
  const Geo& g = kConvCases[1];
  const Shape xs = x_shape(g), ws = w_shape(g, false);
  const auto x = random_floats(static_cast<size_t>(xs.numel()), 1), w = random_floats(static_cast<size_t>(ws.numel()), 2);
  std::vector<obol::Tensor> out;
  REQUIRE(run_node(OpKind::Conv, {in(xs, std::vector<double>(x.begin(), x.end())), in(ws, std::vector<double>(w.begin(), w.end()))},
                   attrs(g), out)
              .is_ok());
  Shape s;
  require_close(values<double>(out[0]), ref_conv(g, x, w, {}, s), 1e-9);
}

TEST_CASE("Conv auto_pad SAME_UPPER, SAME_LOWER and VALID", "[ops][conv]") {
  // 1 x 1 x 5 x 5 input of ones, 2 x 2 kernel of ones, stride 2: SAME gives 3 x 3 with one padded
  // row/column at the end (UPPER) or the beginning (LOWER).
  const std::vector<float> x(25, 1.0f), w(4, 1.0f);
  std::vector<obol::Tensor> out;
  REQUIRE(run_node(OpKind::Conv, {in<float>({1, 1, 5, 5}, x), in<float>({1, 1, 2, 2}, w)},
                   {attr_s("auto_pad", "SAME_UPPER"), attr_ints("strides", {2, 2})}, out)
              .is_ok());
  CHECK(out[0].shape() == Shape{1, 1, 3, 3});
  CHECK(values<float>(out[0]) == std::vector<float>{4, 4, 2, 4, 4, 2, 2, 2, 1});
  REQUIRE(run_node(OpKind::Conv, {in<float>({1, 1, 5, 5}, x), in<float>({1, 1, 2, 2}, w)},
                   {attr_s("auto_pad", "SAME_LOWER"), attr_ints("strides", {2, 2})}, out)
              .is_ok());
  CHECK(values<float>(out[0]) == std::vector<float>{1, 2, 2, 2, 4, 4, 2, 4, 4});
  REQUIRE(run_node(OpKind::Conv, {in<float>({1, 1, 5, 5}, x), in<float>({1, 1, 2, 2}, w)},
                   {attr_s("auto_pad", "VALID"), attr_ints("strides", {2, 2})}, out)
              .is_ok());
  CHECK(out[0].shape() == Shape{1, 1, 2, 2});
}

TEST_CASE("Conv rejects inconsistent shapes and attributes", "[ops][conv]") {
  std::vector<obol::Tensor> out;
  obol::Status st = run_node(OpKind::Conv, {in<float>({1, 3, 4, 4}, std::vector<float>(48)), in<float>({2, 2, 3, 3}, std::vector<float>(36))},
                             {}, out);
  REQUIRE_FALSE(st.is_ok());
  CHECK_THAT(st.message(), Catch::Contains("[Conv] node 'n0'") && Catch::Contains("second dimension"));
  st = run_node(OpKind::Conv, {in<float>({1, 1, 4, 4}, std::vector<float>(16)), in<float>({2, 1, 3, 3}, std::vector<float>(18)),
                               in<float>({3}, std::vector<float>(3))},
                {}, out);
  REQUIRE_FALSE(st.is_ok());
  CHECK_THAT(st.message(), Catch::Contains("B must be 1-D with 2 elements"));
  st = run_node(OpKind::Conv, {in<float>({1, 1, 2, 2}, std::vector<float>(4)), in<float>({1, 1, 3, 3}, std::vector<float>(9))}, {}, out);
  REQUIRE_FALSE(st.is_ok());
  CHECK_THAT(st.message(), Catch::Contains("smaller than the dilated kernel"));
  st = run_node(OpKind::Conv, {in<float>({1, 1, 4, 4}, std::vector<float>(16)), in<float>({1, 1, 3, 3}, std::vector<float>(9))},
                {attr_s("auto_pad", "SAME")}, out);
  REQUIRE_FALSE(st.is_ok());
  CHECK_THAT(st.message(), Catch::Contains("auto_pad"));
  st = run_node(OpKind::Conv, {in<float>({1, 1, 4}, std::vector<float>(4)), in<float>({1, 1, 3}, std::vector<float>(3))},
                {attr_ints("kernel_shape", {2})}, out);
  REQUIRE_FALSE(st.is_ok());
  CHECK_THAT(st.message(), Catch::Contains("kernel_shape"));
  st = run_node(OpKind::Conv, {in<float>({4}, std::vector<float>(4)), in<float>({1, 1, 3}, std::vector<float>(3))}, {}, out);
  REQUIRE_FALSE(st.is_ok());
  CHECK_THAT(st.message(), Catch::Contains("rank >= 3"));
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
      const auto x = random_floats(static_cast<size_t>(xs.numel()), ++seed);
      const auto w = random_floats(static_cast<size_t>(ws.numel()), ++seed);
      const auto b = bias ? random_floats(static_cast<size_t>(g.M), ++seed) : std::vector<float>{};
      std::vector<In> ins{in(xs, x), in(ws, w, true)};
      if (bias) ins.push_back(in(Shape{g.M}, b));
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
      std::vector<obol::Tensor> outs;
      REQUIRE(run_node(OpKind::ConvTranspose, ins, at, outs).is_ok());
      CHECK(outs[0].shape() == want_shape);
      require_close(values<float>(outs[0]), ref_conv_transpose(g, out, x, w, b));
    }
}

TEST_CASE("ConvTranspose output_shape and SAME padding", "[ops][conv]") {
  // One input pixel per position, stride 2, 3-wide kernel of ones: the full output is 2 * 3 + 1 = 7.
  std::vector<obol::Tensor> out;
  const std::vector<float> x{1, 2, 3}, w{1, 1, 1};
  REQUIRE(run_node(OpKind::ConvTranspose, {in<float>({1, 1, 3}, x), in<float>({1, 1, 3}, w)},
                   {attr_ints("strides", {2}), attr_ints("output_shape", {9})}, out)
              .is_ok());
  CHECK(out[0].shape() == Shape{1, 1, 9});
  CHECK(values<float>(out[0]) == std::vector<float>{1, 1, 3, 2, 5, 3, 3, 0, 0});
  REQUIRE(run_node(OpKind::ConvTranspose, {in<float>({1, 1, 3}, x), in<float>({1, 1, 3}, w)},
                   {attr_ints("strides", {2}), attr_s("auto_pad", "SAME_UPPER")}, out)
              .is_ok());
  // Output 6: total padding 1, which SAME_UPPER takes from the end (as the ONNX reference does).
  CHECK(out[0].shape() == Shape{1, 1, 6});
  CHECK(values<float>(out[0]) == std::vector<float>{1, 1, 3, 2, 5, 3});
  obol::Status st = run_node(OpKind::ConvTranspose, {in<float>({1, 2, 3}, std::vector<float>(6)), in<float>({1, 1, 3}, w)}, {}, out);
  REQUIRE_FALSE(st.is_ok());
  CHECK_THAT(st.message(), Catch::Contains("[ConvTranspose]") && Catch::Contains("first dimension"));
}

TEST_CASE("ConvInteger subtracts zero points and pads with them", "[ops][conv]") {
  // x (uint8, zero point 10) 1 x 1 x 3 x 3, w (int8, per-channel zero points) 2 x 1 x 2 x 2, pad 1.
  const std::vector<uint8_t> x{11, 12, 13, 14, 15, 16, 17, 18, 19};
  const std::vector<int8_t> w{1, 1, 1, 1, 2, 0, 0, 2};
  std::vector<obol::Tensor> out;
  REQUIRE(run_node(OpKind::ConvInteger,
                   {in<uint8_t>({1, 1, 3, 3}, x), in<int8_t>({2, 1, 2, 2}, w), in<uint8_t>({}, {10}), in<int8_t>({2}, {0, 1})},
                   {attr_ints("pads", {1, 1, 1, 1})}, out, 10)
              .is_ok());
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
  std::vector<obol::Tensor> out;
  // y = ((2 x + 1) * 0.5) - 1 for x = 1..4: 0.5, 1.5, 2.5, 3.5 round to 0, 2, 2, 4.
  REQUIRE(run_node(OpKind::QLinearConv,
                   {in<uint8_t>({1, 1, 2, 2}, {1, 2, 3, 4}), in<float>({}, {1.0f}), in<uint8_t>({}, {0}),
                    in<int8_t>({1, 1, 1, 1}, {2}), in<float>({}, {0.5f}), in<int8_t>({}, {0}), in<float>({}, {1.0f}),
                    in<int8_t>({}, {-1}), in<int32_t>({1}, {1})},
                   {}, out, 10)
              .is_ok());
  REQUIRE(out[0].dtype() == DType::i8);
  CHECK(values<int8_t>(out[0]) == std::vector<int8_t>{0, 2, 2, 4});
}
