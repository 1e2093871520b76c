// NonMaxSuppression, GridSample, RoiAlign, Det and the signal operators (DFT, STFT, windows,
// MelWeightMatrix) on the CPU backend: edge cases and error paths the ONNX test data leaves out.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "obol/obol.hpp"
#include "op_test_util.hpp"

using namespace obol;
using graph::OpKind;

namespace {
using namespace obol::op_test;

const Arg kNone{};

template <class T>
void require_close(const std::vector<T>& got, const std::vector<double>& want, double tol) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i);
    REQUIRE(std::abs(static_cast<double>(got[i]) - want[i]) <= tol);
  }
}

}  // namespace

TEST_CASE("NonMaxSuppression: thresholds, limits and ordering", "[ops][vision]") {
  // Boxes as [y1, x1, y2, x2]; box 1 overlaps box 0 heavily, box 2 is apart, box 3 has flipped corners.
  const std::vector<float> boxes = {0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 0, 5, 1, 6, 1, 11, 0, 10};
  const std::vector<float> scores = {0.9f, 0.95f, 0.5f, 0.3f, 0.1f, 0.2f, 0.8f, 0.4f};
  auto run = [&](int64_t max_out, float iou, float score, bool with_score) {
    return run_op(OpKind::NonMaxSuppression, 11,
                  {tensor(Shape{1, 4, 4}, boxes), tensor(Shape{1, 2, 4}, scores), tensor(Shape{1}, std::vector<int64_t>{max_out}),
                   tensor(Shape{1}, std::vector<float>{iou}), with_score ? tensor(Shape{1}, std::vector<float>{score}) : kNone},
                  {});
  };
  SECTION("suppression by IoU, per class, best score first") {
    auto out = ok(run(10, 0.5f, 0.0f, false));
    REQUIRE(out[0].shape() == Shape{6, 3});
    REQUIRE(values<int64_t>(out[0]) == std::vector<int64_t>{0, 0, 1, 0, 0, 2, 0, 0, 3, 0, 1, 2, 0, 1, 3, 0, 1, 1});
  }
  SECTION("score threshold and output limit") {
    auto out = ok(run(1, 0.5f, 0.35f, true));
    REQUIRE(values<int64_t>(out[0]) == std::vector<int64_t>{0, 0, 1, 0, 1, 2});
  }
  SECTION("max_output_boxes_per_class 0 selects nothing") {
    auto out = ok(run(0, 0.5f, 0.0f, false));
    REQUIRE(out[0].shape() == Shape{0, 3});
  }
  SECTION("mismatched scores") {
    auto r = run_op(OpKind::NonMaxSuppression, 11, {tensor(Shape{1, 4, 4}, boxes), tensor(Shape{1, 1, 3}, std::vector<float>(3))}, {});
    REQUIRE(error_of(r).find("scores must have shape [1, classes, 4]") != std::string::npos);
  }
}

TEST_CASE("GridSample: identity grid, padding, errors", "[ops][vision]") {
  const std::vector<float> img = {1, 2, 3, 4, 5, 6};  // [1, 1, 2, 3]
  // With align_corners, the corners of the normalised grid hit the pixel centres exactly.
  std::vector<float> grid;
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 3; ++x) {
      grid.push_back(static_cast<float>(x - 1));
      grid.push_back(static_cast<float>(2 * y - 1));
    }
  for (const char* mode : {"bilinear", "nearest", "bicubic"}) {
    SECTION(std::string("identity, ") + mode) {
      auto out = ok(run_op(OpKind::GridSample, 16, {tensor(Shape{1, 1, 2, 3}, img), tensor(Shape{1, 2, 3, 2}, grid)},
                           {attr_s("mode", mode), attr_i("align_corners", 1)}));
      require_close(values<float>(out[0]), {1, 2, 3, 4, 5, 6}, 1e-5);
    }
  }
  SECTION("far outside: zeros vs border") {
    const std::vector<float> far = {5, 5};
    auto z = ok(run_op(OpKind::GridSample, 16, {tensor(Shape{1, 1, 2, 3}, img), tensor(Shape{1, 1, 1, 2}, far)}, {}));
    REQUIRE(values<float>(z[0]) == std::vector<float>{0});
    auto b = ok(run_op(OpKind::GridSample, 16, {tensor(Shape{1, 1, 2, 3}, img), tensor(Shape{1, 1, 1, 2}, far)},
                       {attr_s("padding_mode", "border")}));
    REQUIRE(values<float>(b[0]) == std::vector<float>{6});
  }
  SECTION("float64") {
    auto out = ok(run_op(OpKind::GridSample, 16, {tensor(Shape{1, 1, 1, 2}, std::vector<double>{2, 4}), tensor(Shape{1, 1, 1, 2}, std::vector<double>{0, 0})},
                         {attr_i("align_corners", 1)}));
    REQUIRE(values<double>(out[0]) == std::vector<double>{3});
  }
  SECTION("bad mode and bad grid") {
    auto r = run_op(OpKind::GridSample, 16, {tensor(Shape{1, 1, 2, 3}, img), tensor(Shape{1, 2, 3, 2}, grid)}, {attr_s("mode", "area")});
    REQUIRE(error_of(r).find("mode must be") != std::string::npos);
    auto g = run_op(OpKind::GridSample, 16, {tensor(Shape{1, 1, 2, 3}, img), tensor(Shape{1, 2, 2, 3}, std::vector<float>(12))}, {});
    REQUIRE(error_of(g).find("grid must have shape") != std::string::npos);
  }
}

TEST_CASE("RoiAlign: constant image, max mode, bad batch index", "[ops][vision]") {
  const std::vector<float> img(2 * 16, 3.0f);  // [2, 1, 4, 4]
  const std::vector<float> rois = {0, 0, 3, 3, 1, 1, 2, 2};
  SECTION("avg of a constant is the constant") {
    auto out = ok(run_op(OpKind::RoiAlign, 16,
                         {tensor(Shape{2, 1, 4, 4}, img), tensor(Shape{2, 4}, rois), tensor(Shape{2}, std::vector<int64_t>{0, 1})},
                         {attr_i("output_height", 2), attr_i("output_width", 2), attr_i("sampling_ratio", 2)}));
    REQUIRE(out[0].shape() == Shape{2, 1, 2, 2});
    require_close(values<float>(out[0]), std::vector<double>(8, 3.0), 1e-6);
  }
  SECTION("max mode") {
    auto out = ok(run_op(OpKind::RoiAlign, 16,
                         {tensor(Shape{2, 1, 4, 4}, img), tensor(Shape{2, 4}, rois), tensor(Shape{2}, std::vector<int64_t>{0, 1})},
                         {attr_s("mode", "max"), attr_s("coordinate_transformation_mode", "output_half_pixel")}));
    REQUIRE(out[0].shape() == Shape{2, 1, 1, 1});
    for (float v : values<float>(out[0])) REQUIRE(v > 0.0f);
  }
  SECTION("batch index out of range") {
    auto r = run_op(OpKind::RoiAlign, 16,
                    {tensor(Shape{2, 1, 4, 4}, img), tensor(Shape{2, 4}, rois), tensor(Shape{2}, std::vector<int64_t>{0, 2})}, {});
    REQUIRE(error_of(r).find("batch index 2 is outside [0, 2)") != std::string::npos);
  }
}

TEST_CASE("Det: batched, singular, float64, errors", "[ops][vision]") {
  auto out = ok(run_op(OpKind::Det, 11, {tensor(Shape{2, 3, 3}, std::vector<float>{0, 2, 1, 1, 0, 0, 0, 1, 3, 1, 2, 3, 2, 4, 6, 0, 1, 1})}, {}));
  REQUIRE(out[0].shape() == Shape{2});
  require_close(values<float>(out[0]), {-5, 0}, 1e-5);
  auto d = ok(run_op(OpKind::Det, 11, {tensor(Shape{2, 2}, std::vector<double>{4, 7, 2, 6})}, {}));
  REQUIRE(d[0].shape() == Shape{});
  require_close(values<double>(d[0]), {10}, 1e-12);
  REQUIRE(error_of(run_op(OpKind::Det, 11, {tensor(Shape{2, 3}, std::vector<float>(6))}, {})).find("X must be [..., M, M]") !=
          std::string::npos);
}

TEST_CASE("DFT: FFT and direct lengths, inverse, onesided, dft_length", "[ops][signal]") {
  SECTION("length 4 (radix-2) and 3 (direct) match the definition") {
    for (int64_t n : {3, 4}) {
      std::vector<float> x;
      for (int64_t i = 0; i < n; ++i) x.push_back(static_cast<float>(i + 1));
      auto out = ok(run_op(OpKind::DFT, 17, {tensor(Shape{1, n, 1}, x)}, {}));
      REQUIRE(out[0].shape() == Shape{1, n, 2});
      std::vector<double> want;
      for (int64_t k = 0; k < n; ++k) {
        double re = 0, im = 0;
        for (int64_t t = 0; t < n; ++t) {
          const double a = -2 * M_PI * static_cast<double>(k * t) / static_cast<double>(n);
          re += static_cast<double>(t + 1) * std::cos(a);
          im += static_cast<double>(t + 1) * std::sin(a);
        }
        want.push_back(re);
        want.push_back(im);
      }
      require_close(values<float>(out[0]), want, 1e-4);
    }
  }
  SECTION("inverse undoes forward, onesided halves, dft_length pads") {
    const std::vector<double> x = {1, -2, 3, 0.5, 2};
    auto f = ok(run_op(OpKind::DFT, 17, {tensor(Shape{5, 1}, x)}, {attr_i("axis", 0)}));
    auto inv = ok(run_op(OpKind::DFT, 17, {tensor(Shape{5, 2}, values<double>(f[0]))}, {attr_i("axis", 0), attr_i("inverse", 1)}));
    require_close(values<double>(inv[0]), {1, 0, -2, 0, 3, 0, 0.5, 0, 2, 0}, 1e-12);
    auto half = ok(run_op(OpKind::DFT, 17, {tensor(Shape{5, 1}, x)}, {attr_i("axis", 0), attr_i("onesided", 1)}));
    REQUIRE(half[0].shape() == Shape{3, 2});
    auto padded = ok(run_op(OpKind::DFT, 17, {tensor(Shape{5, 1}, x), tensor(Shape{}, std::vector<int64_t>{8})}, {attr_i("axis", 0)}));
    REQUIRE(padded[0].shape() == Shape{8, 2});
    require_close(std::vector<double>{values<double>(padded[0])[0]}, {4.5}, 1e-12);
    // Opset 20: axis as input 2, default -2.
    auto f20 = ok(run_op(OpKind::DFT, 20, {tensor(Shape{5, 1}, x)}, {}));
    REQUIRE(values<double>(f20[0]) == values<double>(f[0]));
    auto f20b = ok(run_op(OpKind::DFT, 20, {tensor(Shape{5, 1}, x), kNone, tensor(Shape{}, std::vector<int64_t>{0})}, {}));
    REQUIRE(values<double>(f20b[0]) == values<double>(f[0]));
  }
  SECTION("bad last dimension") {
    REQUIRE(error_of(run_op(OpKind::DFT, 17, {tensor(Shape{1, 4, 3}, std::vector<float>(12))}, {}))
                .find("input must be [..., 1] (real) or [..., 2] (complex)") != std::string::npos);
  }
}

TEST_CASE("STFT, windows and MelWeightMatrix", "[ops][signal]") {
  SECTION("STFT frames and errors") {
    std::vector<float> sig(10, 1.0f);
    auto out = ok(run_op(OpKind::STFT, 17, {tensor(Shape{1, 10, 1}, sig), tensor(Shape{}, std::vector<int64_t>{3}), kNone,
                                            tensor(Shape{}, std::vector<int64_t>{4})},
                         {}));
    REQUIRE(out[0].shape() == Shape{1, 3, 3, 2});
    require_close(std::vector<float>{values<float>(out[0])[0], values<float>(out[0])[2]}, {4, 0}, 1e-6);
    REQUIRE(error_of(run_op(OpKind::STFT, 17, {tensor(Shape{1, 10, 1}, sig), tensor(Shape{}, std::vector<int64_t>{0})}, {}))
                .find("frame_step must be positive") != std::string::npos);
  }
  SECTION("windows: symmetric Hann, periodic Hamming in float64, empty") {
    auto h = ok(run_op(OpKind::HannWindow, 17, {tensor(Shape{}, std::vector<int64_t>{5})}, {attr_i("periodic", 0)}));
    require_close(values<float>(h[0]), {0, 0.5, 1, 0.5, 0}, 1e-6);
    auto m = ok(run_op(OpKind::HammingWindow, 17, {tensor(Shape{}, std::vector<int64_t>{4})}, {attr_i("output_datatype", 11)}));
    require_close(values<double>(m[0]), {4.0 / 46, 25.0 / 46, 1.0, 25.0 / 46}, 1e-12);
    auto e = ok(run_op(OpKind::BlackmanWindow, 17, {tensor(Shape{}, std::vector<int64_t>{0})}, {}));
    REQUIRE(e[0].shape() == Shape{0});
  }
  SECTION("MelWeightMatrix shape and triangle peaks") {
    auto out = ok(run_op(OpKind::MelWeightMatrix, 17,
                         {tensor(Shape{}, std::vector<int64_t>{4}), tensor(Shape{}, std::vector<int64_t>{64}),
                          tensor(Shape{}, std::vector<int64_t>{8000}), tensor(Shape{}, std::vector<float>{0}),
                          tensor(Shape{}, std::vector<float>{4000})},
                         {}));
    REQUIRE(out[0].shape() == Shape{33, 4});
    const auto w = values<float>(out[0]);
    for (int64_t i = 0; i < 4; ++i) {
      float peak = 0;
      for (int64_t j = 0; j < 33; ++j) peak = std::max(peak, w[static_cast<size_t>(j * 4 + i)]);
      REQUIRE(peak == 1.0f);
    }
    REQUIRE(error_of(run_op(OpKind::MelWeightMatrix, 17,
                            {tensor(Shape{}, std::vector<int64_t>{4}), tensor(Shape{}, std::vector<int64_t>{64}),
                             tensor(Shape{}, std::vector<int64_t>{8000}), tensor(Shape{}, std::vector<float>{100}),
                             tensor(Shape{}, std::vector<float>{50})},
                            {}))
                .find("edge frequencies") != std::string::npos);
  }
}
