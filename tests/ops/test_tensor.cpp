// The tensor (shape and layout) family on the CPU backend: what the ONNX test data leaves out
// (error paths, empty and rank-0 tensors, other dtypes, in-place shape ops, unaligned constants).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
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

std::vector<float> iota_f(int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  return v;
}

using Catch::Matchers::Contains;

}  // namespace

TEST_CASE("Reshape: 0, -1, allowzero and errors", "[ops][tensor]") {
  const Arg x = tensor<float>({2, 3, 4}, iota_f(24));
  SECTION("0 copies, -1 infers") {
    auto out = ok(run_op(OpKind::Reshape, 14, {x, i64s({0, -1})}));
    CHECK(out[0].shape() == Shape{2, 12});
    CHECK(values<float>(out[0]) == iota_f(24));
  }
  SECTION("allowzero keeps a literal 0 for an empty input") {
    auto out = ok(run_op(OpKind::Reshape, 14, {tensor<float>({0, 3}, {}), i64s({3, 0})}, {attr_i("allowzero", 1)}));
    CHECK(out[0].shape() == Shape{3, 0});
  }
  SECTION("shape as the attribute before opset 5") {
    auto out = ok(run_op(OpKind::Reshape, 1, {x}, {attr_ints("shape", {4, -1})}));
    CHECK(out[0].shape() == Shape{4, 6});
  }
  SECTION("errors name the node and the problem") {
    CHECK_THAT(error_of(run_op(OpKind::Reshape, 14, {x, i64s({-1, -1})})),
               Contains("[Reshape] node 'n'") && Contains("more than one -1"));
    CHECK_THAT(error_of(run_op(OpKind::Reshape, 14, {x, i64s({5, 5})})), Contains("cannot reshape input [2, 3, 4]"));
    CHECK_THAT(error_of(run_op(OpKind::Reshape, 14, {x, i64s({0, 0, 0, 0})})), Contains("has rank 3"));
    CHECK_THAT(error_of(run_op(OpKind::Reshape, 14, {x, i64s({-1, 7})})), Contains("cannot infer the -1"));
    CHECK_THAT(error_of(run_op(OpKind::Reshape, 14, {x, i64s({2, -3})})), Contains("expected -1 or a size >= 0"));
    CHECK_THAT(error_of(run_op(OpKind::Reshape, 14, {x, tensor<float>({2}, {2, 12})})), Contains("int64 or int32"));
  }
}

TEST_CASE("Shape-only ops chained through planned in-place buffers", "[ops][tensor]") {
  // Transpose -> Reshape -> Unsqueeze -> Squeeze -> Flatten: from the second run on, the planner
  // may give each shape op its input's buffer; the results must not change.
  auto g = std::make_shared<graph::Graph>();
  std::vector<TensorView> feeds;
  std::vector<std::shared_ptr<void>> keep;
  const Arg x = tensor<int32_t>({2, 3, 4}, [] {
    std::vector<int32_t> v(24);
    for (int i = 0; i < 24; ++i) v[static_cast<size_t>(i)] = i * 7 - 50;
    return v;
  }());
  graph::ValueId prev = graph::kNoValue;
  auto add = [&](OpKind op, int opset, std::vector<Arg> extra, std::vector<graph::Attribute> attrs) {
    graph::Node node;
    node.op = op;
    node.name = "n" + std::to_string(g->node_count());
    node.opset = opset;
    node.attributes = std::move(attrs);
    if (prev == graph::kNoValue) add_args(*g, node, {x}, feeds, keep);
    else node.inputs.push_back(prev);
    add_args(*g, node, extra, feeds, keep);
    prev = g->add_value(node.name + "_out");
    node.outputs.push_back(prev);
    g->add_node(node);
  };
  add(OpKind::Transpose, 13, {}, {attr_ints("perm", {2, 0, 1})});
  add(OpKind::Reshape, 14, {i64s({4, 6}, true)}, {});
  add(OpKind::Unsqueeze, 13, {i64s({1}, true)}, {});
  add(OpKind::Squeeze, 11, {}, {attr_ints("axes", {1})});
  add(OpKind::Flatten, 13, {}, {attr_i("axis", 0)});
  g->add_output(prev);
  auto model = Model::from_graph(g);
  REQUIRE(model.is_ok());
  auto session = Session::create(*model);
  REQUIRE(session.is_ok());
  std::vector<int32_t> want;
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) want.push_back((i * 12 + j * 4 + k) * 7 - 50);
  for (int run = 0; run < 3; ++run) {
    std::vector<Tensor> outs;
    const Status st = (*session)->run(feeds, outs);
    INFO(st.to_string());
    REQUIRE(st.is_ok());
    CHECK(outs[0].shape() == Shape{1, 24});
    CHECK(values<int32_t>(outs[0]) == want);
  }
}

TEST_CASE("Squeeze, Unsqueeze, Flatten, Shape, Size", "[ops][tensor]") {
  SECTION("Squeeze errors on a dimension that is not 1") {
    CHECK_THAT(error_of(run_op(OpKind::Squeeze, 13, {tensor<float>({1, 2}, {1, 2}), i64s({1})})),
               Contains("cannot squeeze axis 1") && Contains("its size is 2"));
    CHECK_THAT(error_of(run_op(OpKind::Squeeze, 13, {tensor<float>({1, 2}, {1, 2}), i64s({2})})),
               Contains("axis 2 is out of range for rank 2"));
  }
  SECTION("Squeeze without axes drops every 1, even to rank 0") {
    auto out = ok(run_op(OpKind::Squeeze, 13, {tensor<float>({1, 1}, {5}), omitted()}));
    CHECK(out[0].shape() == Shape{});
    CHECK(values<float>(out[0]) == std::vector<float>{5});
  }
  SECTION("Unsqueeze a scalar, and errors") {
    auto out = ok(run_op(OpKind::Unsqueeze, 13, {tensor<int64_t>({}, {9}), i64s({-1, 0})}));
    CHECK(out[0].shape() == Shape{1, 1});
    CHECK_THAT(error_of(run_op(OpKind::Unsqueeze, 13, {tensor<int64_t>({}, {9}), i64s({0, -2})})),
               Contains("given twice"));
    CHECK_THAT(error_of(run_op(OpKind::Unsqueeze, 11, {tensor<int64_t>({}, {9})})),
               Contains("'axes' is required"));
    CHECK_THAT(error_of(run_op(OpKind::Unsqueeze, 13, {tensor<float>({1, 1, 1, 1, 1, 1, 1}, {1}), i64s({0, 1})})),
               Contains("exceeds the maximum of 8"));
  }
  SECTION("Flatten axis may equal the rank, not exceed it") {
    auto out = ok(run_op(OpKind::Flatten, 13, {tensor<uint8_t>({2, 3}, {1, 2, 3, 4, 5, 6})}, {attr_i("axis", 2)}));
    CHECK(out[0].shape() == Shape{6, 1});
    CHECK_THAT(error_of(run_op(OpKind::Flatten, 13, {tensor<uint8_t>({2, 3}, {1, 2, 3, 4, 5, 6})}, {attr_i("axis", 3)})),
               Contains("axis 3 is out of range"));
  }
  SECTION("Shape slices and clamps; Size of an empty tensor is 0") {
    auto out = ok(run_op(OpKind::Shape, 15, {tensor<float>({2, 0, 5}, {})}, {attr_i("start", -2), attr_i("end", 99)}));
    CHECK(values<int64_t>(out[0]) == std::vector<int64_t>{0, 5});
    out = ok(run_op(OpKind::Shape, 15, {tensor<float>({2, 0, 5}, {})}, {attr_i("start", 2), attr_i("end", 1)}));
    CHECK(out[0].shape() == Shape{0});
    out = ok(run_op(OpKind::Size, 13, {tensor<float>({2, 0, 5}, {})}));
    CHECK(out[0].shape() == Shape{});
    CHECK(values<int64_t>(out[0]) == std::vector<int64_t>{0});
  }
}

TEST_CASE("Transpose: dtypes, perm checks, block types", "[ops][tensor]") {
  SECTION("f16 moves bits unchanged") {
    auto out = ok(run_op(OpKind::Transpose, 13, {f16_tensor({2, 3}, {1, 2, 3, 4, 5, 6})}));
    CHECK(out[0].shape() == Shape{3, 2});
    std::vector<float> got;
    for (int i = 0; i < 6; ++i) got.push_back(f16_to_f32(out[0].data_as<uint16_t>()[i]));
    CHECK(got == std::vector<float>{1, 4, 2, 5, 3, 6});
  }
  SECTION("perm must match the rank and be a permutation") {
    CHECK_THAT(error_of(run_op(OpKind::Transpose, 13, {tensor<float>({2, 3}, iota_f(6))}, {attr_ints("perm", {0, 1, 2})})),
               Contains("has rank 2"));
    CHECK_THAT(error_of(run_op(OpKind::Transpose, 13, {tensor<float>({2, 3}, iota_f(6))}, {attr_ints("perm", {1, 1})})),
               Contains("must be a permutation"));
  }
  SECTION("block-quantized inputs are refused, not misread") {
    Arg q{std::make_shared<Tensor>(Tensor::zeros(DType::q8_0, Shape{2, 32}).value()), false};
    CHECK_THAT(error_of(run_op(OpKind::Transpose, 13, {q})), Contains("q8_0") && Contains("1, 2, 4 or 8 bytes"));
    CHECK_THAT(error_of(run_op(OpKind::Concat, 13, {q, q}, {attr_i("axis", 0)})), Contains("q8_0"));
  }
}

TEST_CASE("Concat and Split", "[ops][tensor]") {
  SECTION("Concat of bools with an empty part") {
    auto out = ok(run_op(OpKind::Concat, 13,
                         {tensor<bool>({2, 1}, {true, false}), tensor<bool>({2, 0}, {}), tensor<bool>({2, 2}, {false, true, true, true})},
                         {attr_i("axis", -1)}));
    CHECK(out[0].shape() == Shape{2, 3});
    CHECK(values<bool>(out[0]) == std::vector<bool>{true, false, true, false, true, true});
  }
  SECTION("Concat errors") {
    CHECK_THAT(error_of(run_op(OpKind::Concat, 13, {tensor<float>({2}, {1, 2}), tensor<int32_t>({2}, {1, 2})},
                               {attr_i("axis", 0)})),
               Contains("input 1 has dtype i32, expected f32"));
    CHECK_THAT(error_of(run_op(OpKind::Concat, 13, {tensor<float>({2, 1}, {1, 2}), tensor<float>({1, 1}, {3})},
                               {attr_i("axis", 1)})),
               Contains("does not match input 0's [2, 1]"));
    CHECK_THAT(error_of(run_op(OpKind::Concat, 13, {tensor<float>({2}, {1, 2})})), Contains("'axis' is required"));
  }
  SECTION("Split-18 num_outputs leaves the last chunk smaller") {
    auto out = ok(run_op(OpKind::Split, 18, {tensor<int64_t>({5}, {1, 2, 3, 4, 5})}, {attr_i("num_outputs", 2)}, 2));
    CHECK(values<int64_t>(out[0]) == std::vector<int64_t>{1, 2, 3});
    CHECK(values<int64_t>(out[1]) == std::vector<int64_t>{4, 5});
  }
  SECTION("Split errors") {
    CHECK_THAT(error_of(run_op(OpKind::Split, 13, {tensor<float>({5}, iota_f(5)), i64s({2, 2})}, {}, 2)),
               Contains("split sizes add up to 4"));
    CHECK_THAT(error_of(run_op(OpKind::Split, 13, {tensor<float>({5}, iota_f(5))}, {}, 2)),
               Contains("into 2 equal parts"));
    CHECK_THAT(error_of(run_op(OpKind::Split, 11, {tensor<float>({5}, iota_f(5))}, {attr_ints("split", {5})}, 2)),
               Contains("'split' has 1 sizes but the node has 2 outputs"));
  }
}

TEST_CASE("Slice: steps, clamping, unaligned constant inputs, errors", "[ops][tensor]") {
  const Arg x = tensor<float>({3, 4}, iota_f(12));
  SECTION("negative steps with int32 indices read from an unaligned constant") {
    Arg starts = tensor<int32_t>({2}, {-1, 100}, true);
    starts.misalign = 3;
    auto out = ok(run_op(OpKind::Slice, 13,
                         {x, starts, tensor<int32_t>({2}, {-100, 0}, true), tensor<int32_t>({2}, {0, 1}, true),
                          tensor<int32_t>({2}, {-2, -2}, true)}));
    CHECK(out[0].shape() == Shape{2, 2});
    CHECK(values<float>(out[0]) == std::vector<float>{11, 9, 3, 1});
  }
  SECTION("empty result and the extreme int64 values") {
    auto out = ok(run_op(OpKind::Slice, 13, {x, i64s({2}), i64s({1}), i64s({1})}));
    CHECK(out[0].shape() == Shape{3, 0});
    const int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
    out = ok(run_op(OpKind::Slice, 13, {x, i64s({hi}), i64s({lo}), i64s({0}), i64s({lo})}));
    CHECK(out[0].shape() == Shape{1, 4});
    CHECK(values<float>(out[0]) == std::vector<float>{8, 9, 10, 11});
  }
  SECTION("errors") {
    CHECK_THAT(error_of(run_op(OpKind::Slice, 13, {x, i64s({0}), i64s({1}), i64s({0}), i64s({0})})),
               Contains("step for axis 0 is 0"));
    CHECK_THAT(error_of(run_op(OpKind::Slice, 13, {x, i64s({0, 0}), i64s({1})})), Contains("equal lengths"));
    CHECK_THAT(error_of(run_op(OpKind::Slice, 13, {x, i64s({0, 0}), i64s({1, 1}), i64s({1, -1})})),
               Contains("sliced twice"));
    CHECK_THAT(error_of(run_op(OpKind::Slice, 13, {x, i64s({0}), i64s({1}), i64s({2})})),
               Contains("axis 2 is out of range for rank 2"));
  }
}

TEST_CASE("Expand and Tile", "[ops][tensor]") {
  SECTION("Expand broadcasts both ways") {
    auto out = ok(run_op(OpKind::Expand, 13, {tensor<int16_t>({3, 1}, {1, 2, 3}), i64s({2, 1, 2})}));
    CHECK(out[0].shape() == Shape{2, 3, 2});
    CHECK(values<int16_t>(out[0]) == std::vector<int16_t>{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3});
    CHECK_THAT(error_of(run_op(OpKind::Expand, 13, {tensor<int16_t>({3, 1}, {1, 2, 3}), i64s({2, 1})})),
               Contains("cannot expand input [3, 1] to [2, 1]"));
    CHECK_THAT(error_of(run_op(OpKind::Expand, 13, {tensor<int16_t>({3, 1}, {1, 2, 3}), i64s({-2, 1})})),
               Contains("invalid target shape"));
  }
  SECTION("Tile of a 3-D u16 tensor, and errors") {
    auto out = ok(run_op(OpKind::Tile, 13, {tensor<uint16_t>({1, 2, 1}, {7, 8}), i64s({2, 1, 3})}));
    CHECK(out[0].shape() == Shape{2, 2, 3});
    CHECK(values<uint16_t>(out[0]) == std::vector<uint16_t>{7, 7, 7, 8, 8, 8, 7, 7, 7, 8, 8, 8});
    CHECK_THAT(error_of(run_op(OpKind::Tile, 13, {tensor<uint16_t>({2}, {7, 8}), i64s({-1})})), Contains("negative"));
    CHECK_THAT(error_of(run_op(OpKind::Tile, 13, {tensor<uint16_t>({2}, {7, 8}), i64s({1, 1})})),
               Contains("'repeats' has 2 values but the input [2] has rank 1"));
  }
}

TEST_CASE("Pad: modes, dtypes, axes, errors", "[ops][tensor]") {
  const Arg x = tensor<int32_t>({2, 3}, {1, 2, 3, 4, 5, 6});
  SECTION("reflect beyond the edge repeats the reflection") {
    auto out = ok(run_op(OpKind::Pad, 13, {tensor<int32_t>({3}, {1, 2, 3}), i64s({5, 0})}, {attr_s("mode", "reflect")}));
    CHECK(values<int32_t>(out[0]) == std::vector<int32_t>{2, 1, 2, 3, 2, 1, 2, 3});
  }
  SECTION("wrap and edge with crops") {
    auto out = ok(run_op(OpKind::Pad, 19, {tensor<int32_t>({4}, {1, 2, 3, 4}), i64s({3, -1})}, {attr_s("mode", "wrap")}));
    CHECK(values<int32_t>(out[0]) == std::vector<int32_t>{1, 2, 3, 1, 2, 3});
    out = ok(run_op(OpKind::Pad, 13, {x, i64s({-1, 1, 0, 2})}, {attr_s("mode", "edge")}));
    CHECK(out[0].shape() == Shape{1, 6});
    CHECK(values<int32_t>(out[0]) == std::vector<int32_t>{4, 4, 5, 6, 6, 6});
  }
  SECTION("constant value input and axes input (opset 18)") {
    auto out = ok(run_op(OpKind::Pad, 18, {x, i64s({1, 1}), tensor<int32_t>({}, {-9}), i64s({-1})}));
    CHECK(values<int32_t>(out[0]) == std::vector<int32_t>{-9, 1, 2, 3, -9, -9, 4, 5, 6, -9});
  }
  SECTION("the value attribute is converted to the input's dtype (opset 2)") {
    auto out = ok(run_op(OpKind::Pad, 2, {f16_tensor({1}, {1.5f})}, {attr_ints("pads", {1, 0}), [] {
                           graph::Attribute a;
                           a.name = "value";
                           a.kind = graph::Attribute::Kind::f;
                           a.f = -2.5f;
                           return a;
                         }()}));
    REQUIRE(out[0].dtype() == DType::f16);
    CHECK(f16_to_f32(out[0].data_as<uint16_t>()[0]) == -2.5f);
    CHECK(f16_to_f32(out[0].data_as<uint16_t>()[1]) == 1.5f);
  }
  SECTION("errors") {
    CHECK_THAT(error_of(run_op(OpKind::Pad, 13, {x, i64s({1, 1})})), Contains("'pads' has 2 values, expected 4"));
    CHECK_THAT(error_of(run_op(OpKind::Pad, 13, {tensor<int32_t>({0}, {}), i64s({1, 1})}, {attr_s("mode", "reflect")})),
               Contains("no elements to repeat"));
    CHECK_THAT(error_of(run_op(OpKind::Pad, 13, {x, i64s({0, 0, 0, 0}), tensor<float>({}, {1})})),
               Contains("constant_value has dtype f32, expected i32"));
    CHECK_THAT(error_of(run_op(OpKind::Pad, 13, {x, i64s({0, -4, 0, 0})})), Contains("do not fit its size 3"));
    CHECK_THAT(error_of(run_op(OpKind::Pad, 13, {x, i64s({0, 0, 0, 0})}, {attr_s("mode", "mirror")})),
               Contains("'mode' must be constant, reflect, edge or wrap"));
  }
}

TEST_CASE("DepthToSpace and SpaceToDepth round trip and errors", "[ops][tensor]") {
  std::vector<int64_t> v(2 * 8 * 2 * 3);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int64_t>(i);
  for (const char* mode : {"DCR", "CRD"}) {
    auto d2s = ok(run_op(OpKind::DepthToSpace, 13, {tensor<int64_t>({2, 8, 2, 3}, v)},
                         {attr_i("blocksize", 2), attr_s("mode", mode)}));
    CHECK(d2s[0].shape() == Shape{2, 2, 4, 6});
    if (std::string(mode) == "DCR") {
      // SpaceToDepth inverts DCR DepthToSpace.
      auto s2d = ok(run_op(OpKind::SpaceToDepth, 13, {tensor<int64_t>({2, 2, 4, 6}, values<int64_t>(d2s[0]))},
                           {attr_i("blocksize", 2)}));
      CHECK(values<int64_t>(s2d[0]) == v);
    }
  }
  CHECK_THAT(error_of(run_op(OpKind::DepthToSpace, 13, {tensor<float>({1, 3, 1, 1}, {1, 2, 3})}, {attr_i("blocksize", 2)})),
             Contains("channels (3) must be a multiple of blocksize^2 (4)"));
  CHECK_THAT(error_of(run_op(OpKind::SpaceToDepth, 13, {tensor<float>({1, 3}, {1, 2, 3})}, {attr_i("blocksize", 2)})),
             Contains("rank 4"));
  CHECK_THAT(error_of(run_op(OpKind::DepthToSpace, 13, {tensor<float>({1, 4, 1, 1}, {1, 2, 3, 4})})),
             Contains("'blocksize' is required"));
}

TEST_CASE("ConstantOfShape, EyeLike, Range", "[ops][tensor]") {
  SECTION("ConstantOfShape defaults to f32 zeros and rejects negative dims") {
    auto out = ok(run_op(OpKind::ConstantOfShape, 9, {i64s({2, 0})}));
    CHECK(out[0].dtype() == DType::f32);
    CHECK(out[0].shape() == Shape{2, 0});
    CHECK_THAT(error_of(run_op(OpKind::ConstantOfShape, 9, {i64s({2, -1})})), Contains("invalid shape"));
  }
  SECTION("EyeLike with an output dtype and errors") {
    auto out = ok(run_op(OpKind::EyeLike, 9, {tensor<float>({2, 3}, iota_f(6))}, {attr_i("dtype", 7), attr_i("k", 1)}));
    CHECK(values<int64_t>(out[0]) == std::vector<int64_t>{0, 1, 0, 0, 0, 1});
    CHECK_THAT(error_of(run_op(OpKind::EyeLike, 9, {tensor<float>({2, 3}, iota_f(6))}, {attr_i("dtype", 8)})),
               Contains("ONNX data type 8"));
    CHECK_THAT(error_of(run_op(OpKind::EyeLike, 9, {tensor<float>({6}, iota_f(6))})), Contains("rank 2"));
  }
  SECTION("Range counts without overflow and rejects a zero delta") {
    const int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
    auto out = ok(run_op(OpKind::Range, 11, {tensor<int64_t>({}, {lo}), tensor<int64_t>({}, {hi}),
                                              tensor<int64_t>({}, {int64_t{1} << 62})}));
    CHECK(out[0].shape() == Shape{4});
    CHECK(values<int64_t>(out[0])[3] == (int64_t{1} << 62));  // lo + 3 * 2^62
    out = ok(run_op(OpKind::Range, 11, {tensor<float>({}, {1}), tensor<float>({}, {2}), tensor<float>({}, {0.25f})}));
    CHECK(values<float>(out[0]) == std::vector<float>{1, 1.25f, 1.5f, 1.75f});
    CHECK_THAT(error_of(run_op(OpKind::Range, 11, {tensor<int32_t>({}, {1}), tensor<int32_t>({}, {5}), tensor<int32_t>({}, {0})})),
               Contains("delta is 0"));
    CHECK_THAT(error_of(run_op(OpKind::Range, 11, {tensor<float>({}, {0}), tensor<float>({}, {1}), tensor<float>({}, {0})})),
               Contains("cannot make a range"));
    CHECK_THAT(error_of(run_op(OpKind::Range, 11, {tensor<int32_t>({}, {1}), tensor<int64_t>({}, {5}), tensor<int32_t>({}, {1})})),
               Contains("limit has dtype i64, expected i32"));
  }
}

TEST_CASE("OneHot, Trilu, ReverseSequence, Compress", "[ops][tensor]") {
  SECTION("OneHot ignores out-of-range indices and rejects a zero depth") {
    auto out = ok(run_op(OpKind::OneHot, 11, {i64s({1, -3, 3, -4}), tensor<int64_t>({}, {3}), tensor<int32_t>({2}, {0, 5})}));
    CHECK(out[0].shape() == Shape{4, 3});
    CHECK(values<int32_t>(out[0]) == std::vector<int32_t>{0, 5, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0});
    CHECK_THAT(error_of(run_op(OpKind::OneHot, 11, {i64s({1}), tensor<int64_t>({}, {0}), tensor<int32_t>({2}, {0, 5})})),
               Contains("depth must be positive"));
    CHECK_THAT(error_of(run_op(OpKind::OneHot, 11, {i64s({1}), tensor<int64_t>({}, {2}), tensor<int32_t>({3}, {0, 5, 1})})),
               Contains("two elements"));
  }
  SECTION("Trilu on a batch of bf16-sized elements and rank errors") {
    auto out = ok(run_op(OpKind::Trilu, 14, {tensor<uint16_t>({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}), tensor<int64_t>({}, {0})},
                         {attr_i("upper", 0)}));
    CHECK(values<uint16_t>(out[0]) == std::vector<uint16_t>{1, 0, 3, 4, 5, 0, 7, 8});
    CHECK_THAT(error_of(run_op(OpKind::Trilu, 14, {tensor<float>({3}, {1, 2, 3})})), Contains("rank 2 or more"));
  }
  SECTION("ReverseSequence checks the lengths") {
    auto out = ok(run_op(OpKind::ReverseSequence, 10, {tensor<int8_t>({3, 2}, {1, 2, 3, 4, 5, 6}), i64s({3, 1})}));
    CHECK(values<int8_t>(out[0]) == std::vector<int8_t>{5, 2, 3, 4, 1, 6});
    CHECK_THAT(error_of(run_op(OpKind::ReverseSequence, 10, {tensor<int8_t>({3, 2}, {1, 2, 3, 4, 5, 6}), i64s({4, 1})})),
               Contains("sequence_lens[0] is 4, expected 0..3"));
    CHECK_THAT(error_of(run_op(OpKind::ReverseSequence, 10, {tensor<int8_t>({3, 2}, {1, 2, 3, 4, 5, 6}), i64s({1})})),
               Contains("sequence_lens must have shape [2]"));
  }
  SECTION("Compress: a short condition, and a true past the end") {
    auto out = ok(run_op(OpKind::Compress, 11, {tensor<double>({2, 3}, {1, 2, 3, 4, 5, 6}), tensor<bool>({2}, {false, true})},
                         {attr_i("axis", 1)}));
    CHECK(out[0].shape() == Shape{2, 1});
    CHECK(values<double>(out[0]) == std::vector<double>{2, 5});
    CHECK_THAT(error_of(run_op(OpKind::Compress, 11, {tensor<double>({2}, {1, 2}), tensor<bool>({3}, {false, false, true})})),
               Contains("condition[2] is true"));
    CHECK_THAT(error_of(run_op(OpKind::Compress, 11, {tensor<double>({2}, {1, 2}), tensor<int64_t>({2}, {1, 1})})),
               Contains("1-D bool"));
  }
}

TEST_CASE("NonZero and Unique", "[ops][tensor]") {
  SECTION("NonZero: -0.0 is zero, NaN is not; a scalar counts as one element") {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    auto out = ok(run_op(OpKind::NonZero, 13, {tensor<float>({2, 2}, {-0.0f, nan, 0.0f, 3.0f})}));
    CHECK(out[0].shape() == Shape{2, 2});
    CHECK(values<int64_t>(out[0]) == std::vector<int64_t>{0, 1, 1, 1});
    out = ok(run_op(OpKind::NonZero, 13, {f16_tensor({3}, {-0.0f, 2.0f, 0.0f})}));
    CHECK(values<int64_t>(out[0]) == std::vector<int64_t>{1});
    out = ok(run_op(OpKind::NonZero, 13, {tensor<int32_t>({}, {4})}));
    CHECK(out[0].shape() == Shape{1, 1});
  }
  SECTION("Unique unsorted along an axis orders by first occurrence") {
    // Columns: a, b, a, c(<a) -> unique in order a, b, c.
    auto out = ok(run_op(OpKind::Unique, 11, {tensor<int32_t>({2, 4}, {5, 7, 5, 1, 0, 0, 0, 9})},
                         {attr_i("axis", 1), attr_i("sorted", 0)}, 4));
    CHECK(out[0].shape() == Shape{2, 3});
    CHECK(values<int32_t>(out[0]) == std::vector<int32_t>{5, 7, 1, 0, 0, 9});
    CHECK(values<int64_t>(out[1]) == std::vector<int64_t>{0, 1, 3});
    CHECK(values<int64_t>(out[2]) == std::vector<int64_t>{0, 1, 0, 2});
    CHECK(values<int64_t>(out[3]) == std::vector<int64_t>{2, 1, 1});
  }
  SECTION("Unique sorted puts NaN last and merges NaNs") {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    auto out = ok(run_op(OpKind::Unique, 11, {tensor<float>({5}, {nan, 2, nan, -1, 2})}, {}, 4));
    const std::vector<float> y = values<float>(out[0]);
    REQUIRE(y.size() == 3);
    CHECK(y[0] == -1);
    CHECK(y[1] == 2);
    CHECK(std::isnan(y[2]));
    CHECK(values<int64_t>(out[1]) == std::vector<int64_t>{3, 1, 0});
    CHECK(values<int64_t>(out[2]) == std::vector<int64_t>{2, 1, 2, 0, 1});
    CHECK(values<int64_t>(out[3]) == std::vector<int64_t>{1, 2, 2});
  }
}
