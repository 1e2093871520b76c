// Tensor-level ops (tensor_ops.hpp): broadcasting, axes, layouts and error paths, checked against
// naive N-d index loops built on the per-element references.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/test_util.hpp"
#include "obol/kernels/reference/binary.hpp"
#include "obol/kernels/reference/norm.hpp"
#include "obol/kernels/reference/reduce.hpp"
#include "obol/kernels/reference/softmax.hpp"
#include "obol/kernels/reference/unary.hpp"
#include "obol/kernels/tensor_ops.hpp"

using namespace obol;
using namespace obol::kernels;

namespace {

std::vector<int64_t> unravel(int64_t flat, const Shape& s) {
  std::vector<int64_t> idx(static_cast<size_t>(s.rank()));
  for (int i = s.rank() - 1; i >= 0; --i) {
    idx[static_cast<size_t>(i)] = flat % s[i];
    flat /= s[i];
  }
  return idx;
}

int64_t ravel(const std::vector<int64_t>& idx, const Shape& s) {
  int64_t f = 0;
  for (int i = 0; i < s.rank(); ++i) f = f * s[i] + idx[static_cast<size_t>(i)];
  return f;
}

std::vector<float> make_data(const Shape& s, uint32_t seed, float lo = -3, float hi = 3) {
  std::vector<float> v(static_cast<size_t>(s.numel()));
  obol::test::fill_random(v, lo, hi, seed);
  return v;
}

TensorView view(std::vector<float>& v, const Shape& s) { return TensorView(v.data(), DType::f32, s); }

bool mentions(const Status& st, const std::string& text) { return st.message().find(text) != std::string::npos; }

}  // namespace

TEST_CASE("tensor unary: shapes, dtypes and in-place use", "[kernels][tensor_ops]") {
  for (const KernelTable* t : obol::test::tier_tables()) {
    INFO(obol::test::tier_name(*t));
    const Shape s{3, 5, 7000};  // large enough to be split across threads
    std::vector<float> x = make_data(s, 1), y(x.size()), want(x.size());
    reference::unary_f32(UnaryOp::tanh, {}, x.data(), want.data(), s.numel());
    REQUIRE(unary(*t, UnaryOp::tanh, {}, view(x, s), view(y, s)).is_ok());
    for (size_t i = 0; i < y.size(); ++i) REQUIRE(obol::test::close(y[i], want[i], 2));
    REQUIRE(unary(*t, UnaryOp::tanh, {}, view(x, s), view(x, s)).is_ok());
    for (size_t i = 0; i < x.size(); ++i) REQUIRE(x[i] == y[i]);

    const Status bad_shape = unary(*t, UnaryOp::relu, {}, view(x, s), view(y, Shape{3, 5, 6999}));
    CHECK(bad_shape.code() == StatusCode::invalid_argument);
    CHECK(bad_shape.message() == "[relu] output has shape [3, 5, 6999], expected [3, 5, 7000]");
    int32_t ints[4] = {};
    const Status bad_dtype = unary(*t, UnaryOp::relu, {}, TensorView(ints, DType::i32, Shape{4}), view(y, Shape{4}));
    CHECK(bad_dtype.code() == StatusCode::unsupported);
    CHECK(mentions(bad_dtype, "dtype i32, expected f32"));
    CHECK_FALSE(unary(*t, UnaryOp::relu, {}, TensorView(nullptr, DType::f32, Shape{4}), view(y, Shape{4})).is_ok());
    CHECK(unary(*t, UnaryOp::relu, {}, TensorView(nullptr, DType::f32, Shape{0, 4}),
                TensorView(nullptr, DType::f32, Shape{0, 4}))
              .is_ok());
  }
}

TEST_CASE("tensor binary: numpy broadcasting", "[kernels][tensor_ops]") {
  struct Case {
    Shape a, b, out;
  };
  const Case cases[] = {
      {Shape{}, Shape{2, 3}, Shape{2, 3}},                 // scalar
      {Shape{2, 3}, Shape{}, Shape{2, 3}},                 // scalar on the right
      {Shape{2, 3}, Shape{3}, Shape{2, 3}},                // row
      {Shape{2, 3}, Shape{2, 1}, Shape{2, 3}},             // column
      {Shape{2, 1}, Shape{1, 3}, Shape{2, 3}},             // both sides
      {Shape{4, 1, 3}, Shape{2, 1}, Shape{4, 2, 3}},       // rank-extending, both sides
      {Shape{1}, Shape{5}, Shape{5}},                      //
      {Shape{37}, Shape{37}, Shape{37}},                   // same shape
      {Shape{2, 3, 4, 5}, Shape{3, 1, 5}, Shape{2, 3, 4, 5}},
      {Shape{5, 1, 1, 17}, Shape{1, 3, 9, 1}, Shape{5, 3, 9, 17}},
      {Shape{0, 3}, Shape{3}, Shape{0, 3}},                // empty
      {Shape{1, 1}, Shape{1}, Shape{1, 1}},
      {Shape{64, 1000}, Shape{1000}, Shape{64, 1000}},     // split across threads
      {Shape{300, 1}, Shape{300, 200}, Shape{300, 200}},
  };
  const BinaryOp op = GENERATE(BinaryOp::add, BinaryOp::sub, BinaryOp::div, BinaryOp::max, BinaryOp::pow);
  for (const KernelTable* t : obol::test::tier_tables()) {
    for (const Case& c : cases) {
      INFO(obol::test::tier_name(*t) << " " << binary_op_name(op) << " " << c.a << " op " << c.b);
      std::vector<float> a = make_data(c.a, 3, 0.5f, 2.0f), b = make_data(c.b, 4, -2.0f, 2.0f);
      std::vector<float> y(static_cast<size_t>(c.out.numel()), 0.0f);
      REQUIRE(binary_output_shape(op, c.a, c.b).value() == c.out);
      const Status st = binary(*t, op, view(a, c.a), view(b, c.b), view(y, c.out));
      REQUIRE(st.is_ok());
      const int r = c.out.rank();
      for (int64_t f = 0; f < c.out.numel(); ++f) {
        const std::vector<int64_t> idx = unravel(f, c.out);
        auto pick = [&](const Shape& s) {
          std::vector<int64_t> sub(static_cast<size_t>(s.rank()));
          for (int i = 0; i < s.rank(); ++i) {
            const int oi = i + (r - s.rank());
            sub[static_cast<size_t>(i)] = s[i] == 1 ? 0 : idx[static_cast<size_t>(oi)];
          }
          return ravel(sub, s);
        };
        const float want = reference::binary_one(op, a[static_cast<size_t>(pick(c.a))], b[static_cast<size_t>(pick(c.b))]);
        INFO("flat index " << f);
        REQUIRE(obol::test::close(y[static_cast<size_t>(f)], want, 1));
      }
    }
  }
}

TEST_CASE("tensor binary: errors name the shapes, in place over an operand", "[kernels][tensor_ops]") {
  std::vector<float> a(6, 1.0f), b(4, 2.0f), y(24, 0.0f);
  const Status st = binary(BinaryOp::add, view(a, Shape{2, 3}), view(b, Shape{4}), view(y, Shape{2, 3}));
  CHECK(st.code() == StatusCode::invalid_argument);
  CHECK(mentions(st, "[add] shapes [2, 3] and [4] are not broadcastable"));
  const Status st2 = binary(BinaryOp::mul, view(a, Shape{2, 3}), view(b, Shape{1}), view(y, Shape{3, 2}));
  CHECK(st2.message() == "[mul] output has shape [3, 2], expected [2, 3]");
  int8_t bytes[6] = {};
  CHECK(binary(BinaryOp::add, view(a, Shape{6}), TensorView(bytes, DType::i8, Shape{6}), view(y, Shape{6})).code() ==
        StatusCode::unsupported);
  // a += b[row]
  std::vector<float> m = {1, 2, 3, 4, 5, 6}, row = {10, 20, 30};
  REQUIRE(binary(BinaryOp::add, view(m, Shape{2, 3}), view(row, Shape{3}), view(m, Shape{2, 3})).is_ok());
  CHECK(m == std::vector<float>{11, 22, 33, 14, 25, 36});
}

TEST_CASE("tensor reduce: single, multiple, negative and all axes, keepdims", "[kernels][tensor_ops]") {
  const Shape s{2, 3, 4, 5};
  std::vector<float> x = make_data(s, 9, 0.5f, 1.5f);
  const std::vector<std::vector<int64_t>> axis_sets = {{1}, {-1}, {0}, {0, 2}, {1, 3}, {-3, 1}, {0, 1, 2, 3}, {}, {3, 0}};
  const ReduceOp op = GENERATE(ReduceOp::sum, ReduceOp::mean, ReduceOp::max, ReduceOp::min, ReduceOp::prod,
                               ReduceOp::sum_square);
  const bool keepdims = GENERATE(true, false);
  for (const KernelTable* t : obol::test::tier_tables()) {
    for (const auto& axes : axis_sets) {
      INFO(obol::test::tier_name(*t) << " " << reduce_op_name(op) << " keepdims=" << keepdims << " axes="
                                      << Catch::Detail::stringify(axes));
      const Shape os = reduce_output_shape(s, axes, keepdims).value();
      std::vector<float> y(static_cast<size_t>(os.numel()), -1.0f);
      REQUIRE(reduce(*t, op, view(x, s), axes, keepdims, view(y, os)).is_ok());
      bool red[4] = {axes.empty(), axes.empty(), axes.empty(), axes.empty()};
      for (int64_t a : axes) red[a < 0 ? a + 4 : a] = true;
      // Gather each output's inputs and reduce them with the reference.
      Shape kept;
      for (int i = 0; i < 4; ++i) kept.push_back(red[i] ? 1 : s[i]);
      REQUIRE(os.numel() == kept.numel());
      for (int64_t f = 0; f < kept.numel(); ++f) {
        const std::vector<int64_t> base = unravel(f, kept);
        std::vector<float> group;
        for (int64_t g = 0; g < s.numel(); ++g) {
          const std::vector<int64_t> idx = unravel(g, s);
          bool match = true;
          for (int i = 0; i < 4; ++i) match = match && (red[i] || idx[static_cast<size_t>(i)] == base[static_cast<size_t>(i)]);
          if (match) group.push_back(x[static_cast<size_t>(g)]);
        }
        const float want = reference::reduce_strided(op, group.data(), static_cast<int64_t>(group.size()), 1);
        INFO("output " << f << " got " << y[static_cast<size_t>(f)] << " want " << want);
        REQUIRE(y[static_cast<size_t>(f)] == Approx(want).epsilon(1e-5));
      }
    }
  }
}

TEST_CASE("tensor reduce: empty axes, noop, empty dims and errors", "[kernels][tensor_ops]") {
  const Shape s{2, 3};
  std::vector<float> x = {1, 2, 3, 4, 5, 6}, y(6, 0.0f);
  REQUIRE(reduce(ReduceOp::sum, view(x, s), {}, false, view(y, Shape{})).is_ok());
  CHECK(y[0] == 21.0f);
  REQUIRE(reduce(ReduceOp::sum, view(x, s), {}, true, view(y, Shape{1, 1})).is_ok());
  CHECK(y[0] == 21.0f);
  REQUIRE(reduce(ReduceOp::sum, view(x, s), {}, true, view(y, s), true).is_ok());  // noop_with_empty_axes
  CHECK(y == x);
  REQUIRE(reduce(ReduceOp::sum_square, view(x, s), {}, true, view(y, s), true).is_ok());
  CHECK(y == std::vector<float>{1, 4, 9, 16, 25, 36});
  REQUIRE(reduce(ReduceOp::sum_square, view(x, Shape{6, 1}), {1}, false, view(y, Shape{6})).is_ok());
  CHECK(y == std::vector<float>{1, 4, 9, 16, 25, 36});
  REQUIRE(reduce(ReduceOp::max, view(x, s), {0}, false, view(y, Shape{3})).is_ok());
  CHECK((y[0] == 4 && y[1] == 5 && y[2] == 6));
  // Reducing an empty dimension gives the identity.
  REQUIRE(reduce(ReduceOp::prod, TensorView(nullptr, DType::f32, Shape{0, 3}), {0}, false, view(y, Shape{3})).is_ok());
  CHECK((y[0] == 1 && y[1] == 1 && y[2] == 1));
  REQUIRE(reduce(ReduceOp::sum, TensorView(nullptr, DType::f32, Shape{3, 0}), {0}, false,
                 TensorView(nullptr, DType::f32, Shape{0}))
              .is_ok());

  const Status range = reduce(ReduceOp::sum, view(x, s), {2}, true, view(y, Shape{2, 3}));
  CHECK(range.code() == StatusCode::out_of_range);
  CHECK(mentions(range, "[reduce_sum] axis 2 is out of range for input of shape [2, 3]"));
  const Status shape = reduce(ReduceOp::mean, view(x, s), {1}, true, view(y, Shape{2}));
  CHECK(shape.message() == "[reduce_mean] output has shape [2], expected [2, 1]");
  const std::vector<int64_t> nine(9, 0);
  CHECK_FALSE(reduce(ReduceOp::sum, view(x, s), nine, true, view(y, Shape{1, 3})).is_ok());
}

TEST_CASE("tensor softmax along every axis", "[kernels][tensor_ops]") {
  const bool log = GENERATE(false, true);
  const Shape shapes[] = {Shape{3, 4, 37}, Shape{2, 3, 600}, Shape{5}, Shape{2, 1, 9}};
  for (const KernelTable* t : obol::test::tier_tables()) {
    for (const Shape& s : shapes) {
      for (int64_t axis = -s.rank(); axis < s.rank(); ++axis) {
        INFO(obol::test::tier_name(*t) << " shape " << s << " axis " << axis << (log ? " log" : ""));
        std::vector<float> x = make_data(s, 21, -10, 10), y(x.size());
        REQUIRE(softmax(*t, view(x, s), axis, log, view(y, s)).is_ok());
        const int ax = static_cast<int>(axis < 0 ? axis + s.rank() : axis);
        const int64_t outer = s.numel_range(0, ax), n = s[ax], inner = s.numel_range(ax + 1, s.rank());
        std::vector<float> row(static_cast<size_t>(n)), want(row.size());
        for (int64_t o = 0; o < outer; ++o) {
          for (int64_t i = 0; i < inner; ++i) {
            for (int64_t j = 0; j < n; ++j) row[static_cast<size_t>(j)] = x[static_cast<size_t>((o * n + j) * inner + i)];
            reference::softmax_f32(row.data(), want.data(), 1, n, log);
            for (int64_t j = 0; j < n; ++j) {
              const float got = y[static_cast<size_t>((o * n + j) * inner + i)];
              const float w = want[static_cast<size_t>(j)];
              REQUIRE(obol::test::close(got, w, 0, 1e-5f * std::max(log ? 1.0f : 0.0f, std::fabs(w)) + 1e-37f));
            }
          }
        }
        // In place gives the same answer.
        REQUIRE(softmax(*t, view(x, s), axis, log, view(x, s)).is_ok());
        REQUIRE(x == y);
      }
    }
  }
  std::vector<float> x(6), y(6);
  CHECK(softmax(view(x, Shape{2, 3}), 2, false, view(y, Shape{2, 3})).code() == StatusCode::out_of_range);
  CHECK(softmax(view(x, Shape{2, 3}), -3, false, view(y, Shape{2, 3})).code() == StatusCode::out_of_range);
  CHECK(softmax(view(x, Shape{2, 3}), 0, false, view(y, Shape{3, 2})).message() ==
        "[softmax] output has shape [3, 2], expected [2, 3]");
  CHECK_FALSE(softmax(view(x, Shape{}), 0, true, view(y, Shape{})).is_ok());
}

TEST_CASE("tensor layer_norm and rms_norm over trailing axes", "[kernels][tensor_ops]") {
  const Shape s{2, 3, 40};
  const int64_t axis = GENERATE(-1, 1, 2, 0);
  for (const KernelTable* t : obol::test::tier_tables()) {
    INFO(obol::test::tier_name(*t) << " axis " << axis);
    const int ax = static_cast<int>(axis < 0 ? axis + 3 : axis);
    const int64_t rows = s.numel_range(0, ax), n = s.numel_range(ax, 3);
    Shape ps;
    for (int i = ax; i < 3; ++i) ps.push_back(s[i]);
    std::vector<float> x = make_data(s, 5), y(x.size()), want(x.size());
    std::vector<float> gamma = make_data(ps, 6, 0.5f, 1.5f), beta = make_data(ps, 7);
    REQUIRE(layer_norm(*t, view(x, s), view(gamma, ps), view(beta, ps), axis, 1e-5f, view(y, s)).is_ok());
    reference::layer_norm_f32(x.data(), gamma.data(), beta.data(), want.data(), rows, n, 1e-5f);
    for (size_t i = 0; i < y.size(); ++i) REQUIRE(y[i] == Approx(want[i]).margin(2e-5));
    REQUIRE(layer_norm(*t, view(x, s), TensorView(), TensorView(), axis, 1e-5f, view(y, s)).is_ok());
    reference::layer_norm_f32(x.data(), nullptr, nullptr, want.data(), rows, n, 1e-5f);
    for (size_t i = 0; i < y.size(); ++i) REQUIRE(y[i] == Approx(want[i]).margin(2e-5));
    REQUIRE(rms_norm(*t, view(x, s), view(gamma, ps), axis, 1e-6f, view(y, s)).is_ok());
    reference::rms_norm_f32(x.data(), gamma.data(), want.data(), rows, n, 1e-6f);
    for (size_t i = 0; i < y.size(); ++i) REQUIRE(y[i] == Approx(want[i]).margin(2e-5));
  }
  std::vector<float> x(24), y(24), g(5);
  const Status st = layer_norm(view(x, Shape{2, 3, 4}), view(g, Shape{5}), TensorView(), -1, 1e-5f, view(y, Shape{2, 3, 4}));
  CHECK(st.code() == StatusCode::invalid_argument);
  CHECK(mentions(st, "[layer_norm] gamma has shape [5] (5 elements), expected [4] (4 elements)"));
  CHECK(rms_norm(view(x, Shape{2, 3, 4}), TensorView(), 3, 1e-5f, view(y, Shape{2, 3, 4})).code() ==
        StatusCode::out_of_range);
}

namespace {

// out[i0..] = in[perm-indexed], bytes moved as they are.
template <class T>
void check_transpose(const KernelTable& t, const Shape& s, const std::vector<int64_t>& perm) {
  std::vector<T> x(static_cast<size_t>(s.numel()));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<T>(i * 7 + 1);
  const Shape os = transpose_output_shape(s, perm).value();
  std::vector<T> y(x.size() + 1, T(99));
  const DType dt = dtype_of_v<T>;
  INFO(isa_name(t.isa) << " " << dtype_name(dt) << " shape " << s << " perm " << Catch::Detail::stringify(perm));
  REQUIRE(transpose(t, TensorView(x.data(), dt, s), perm, TensorView(y.data(), dt, os)).is_ok());
  std::vector<int64_t> p = perm;
  if (p.empty())
    for (int i = s.rank() - 1; i >= 0; --i) p.push_back(i);
  for (int64_t f = 0; f < os.numel(); ++f) {
    const std::vector<int64_t> oi = unravel(f, os);
    std::vector<int64_t> ii(static_cast<size_t>(s.rank()));
    for (int i = 0; i < s.rank(); ++i) {
      const int64_t a = p[static_cast<size_t>(i)];
      ii[static_cast<size_t>(a < 0 ? a + s.rank() : a)] = oi[static_cast<size_t>(i)];
    }
    REQUIRE(y[static_cast<size_t>(f)] == x[static_cast<size_t>(ravel(ii, s))]);
  }
  REQUIRE(y.back() == T(99));  // nothing written past the end
}

}  // namespace

TEST_CASE("tensor transpose: permutations, ranks and element sizes", "[kernels][tensor_ops]") {
  struct Case {
    Shape s;
    std::vector<int64_t> perm;
  };
  const std::vector<Case> cases = {
      {Shape{7}, {0}},                         // rank 1
      {Shape{}, {}},                           // rank 0
      {Shape{3, 4}, {0, 1}},                   // identity
      {Shape{3, 4}, {1, 0}},                   //
      {Shape{67, 130}, {}},                    // empty perm = reverse
      {Shape{2, 3, 4}, {0, 2, 1}},             //
      {Shape{2, 3, 4}, {2, 0, 1}},             //
      {Shape{2, 3, 4}, {1, 0, 2}},             // innermost axis stays
      {Shape{2, 1, 9, 1, 17}, {4, 3, 2, 1, 0}},  // size-1 axes
      {Shape{2, 3, 4, 5}, {0, 2, 3, 1}},       // NCHW -> NHWC
      {Shape{2, 3, 4, 5}, {0, 3, 1, 2}},       // NHWC -> NCHW
      {Shape{2, 3, 4, 5}, {-1, 0, -2, 1}},     // negative entries
      {Shape{4, 70, 9}, {1, 2, 0}},            //
      {Shape{0, 3}, {1, 0}},                   // empty
      {Shape{200, 300}, {1, 0}},               // several strips, split across threads
  };
  for (const KernelTable* t : obol::test::tier_tables()) {
    for (const Case& c : cases) {
      check_transpose<float>(*t, c.s, c.perm);
      check_transpose<uint8_t>(*t, c.s, c.perm);
      check_transpose<uint16_t>(*t, c.s, c.perm);
      check_transpose<int64_t>(*t, c.s, c.perm);
    }
  }
}

TEST_CASE("tensor transpose: errors", "[kernels][tensor_ops]") {
  std::vector<float> x(24), y(24);
  const Shape s{2, 3, 4};
  const Status dup = transpose(view(x, s), {0, 0, 1}, view(y, s));
  CHECK(dup.code() == StatusCode::invalid_argument);
  CHECK(mentions(dup, "[transpose] perm repeats axis 0"));
  CHECK(transpose(view(x, s), {0, 1}, view(y, s)).message() ==
        "[transpose] perm has 2 entries, expected 3 for input of shape [2, 3, 4]");
  CHECK(transpose(view(x, s), {0, 1, 3}, view(y, s)).code() == StatusCode::out_of_range);
  CHECK(transpose(view(x, s), {2, 1, 0}, view(y, s)).message() ==
        "[transpose] output has shape [2, 3, 4], expected [4, 3, 2]");
  CHECK(transpose(view(x, s), {2, 1, 0}, TensorView(y.data(), DType::i32, Shape{4, 3, 2})).code() ==
        StatusCode::invalid_argument);
  uint8_t blocks[18 * 2] = {};
  CHECK(transpose(TensorView(blocks, DType::q4_0, Shape{2, 32}), {1, 0}, TensorView(blocks, DType::q4_0, Shape{32, 2}))
            .code() == StatusCode::unsupported);
}
