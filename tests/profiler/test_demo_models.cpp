// The demo's models built in code: they run, give [batch, classes] logits, treat each row of a
// batch independently (what the batcher relies on) and are the same on every build (fixed seeds).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>

#include "demo/demo_models.hpp"
#include "obol/obol.hpp"

using namespace obol;

namespace {

std::vector<float> random_input(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = nd(rng);
  return v;
}

// Runs the model on `batch` rows of `row_elems` each; returns the logits.
std::vector<float> run(Session& s, std::vector<float>& x, const Shape& shape) {
  std::vector<Tensor> out;
  const Status st = s.run({TensorView(x.data(), DType::f32, shape)}, out);
  INFO(st.message());
  REQUIRE(st.is_ok());
  REQUIRE(out.size() == 1);
  return std::vector<float>(out[0].data_as<float>(), out[0].data_as<float>() + out[0].numel());
}

void check_rows_independent(const std::shared_ptr<graph::Graph>& g, std::vector<int64_t> row_dims, int64_t classes,
                            OptLevel level) {
  ModelOptions mo;
  mo.opt_level = level;
  auto model = Model::from_graph(g, mo);
  REQUIRE(model.is_ok());
  auto session = Session::create(*model);
  REQUIRE(session.is_ok());
  int64_t row = 1;
  for (int64_t d : row_dims) row *= d;
  std::vector<float> x3 = random_input(3 * row, 11);
  std::vector<int64_t> dims3{3};
  dims3.insert(dims3.end(), row_dims.begin(), row_dims.end());
  auto s3 = Shape::make(dims3.data(), dims3.size());
  REQUIRE(s3.is_ok());
  const std::vector<float> y3 = run(**session, x3, *s3);
  REQUIRE(y3.size() == static_cast<size_t>(3 * classes));
  for (float v : y3) REQUIRE(std::isfinite(v));
  // Row 1 alone gives the same logits as row 1 inside the batch.
  std::vector<float> x1(x3.begin() + row, x3.begin() + 2 * row);
  std::vector<int64_t> dims1 = dims3;
  dims1[0] = 1;
  auto s1 = Shape::make(dims1.data(), dims1.size());
  REQUIRE(s1.is_ok());
  const std::vector<float> y1 = run(**session, x1, *s1);
  for (int64_t c = 0; c < classes; ++c) CHECK(y1[static_cast<size_t>(c)] == Approx(y3[static_cast<size_t>(classes + c)]).margin(1e-4));
  // The logits differ between rows (the model is not constant).
  bool differ = false;
  for (int64_t c = 0; c < classes; ++c) differ |= std::fabs(y3[static_cast<size_t>(c)] - y3[static_cast<size_t>(classes + c)]) > 1e-4;
  CHECK(differ);
}

}  // namespace

TEST_CASE("the demo encoder classifier runs and keeps batch rows independent", "[demo]") {
  demo::EncoderSpec s;
  check_rows_independent(demo::build_encoder_classifier(s), {s.seq, s.hidden}, s.classes, OptLevel::none);
}

TEST_CASE("the demo CNN classifier runs and keeps batch rows independent", "[demo]") {
  demo::CnnSpec s;
  check_rows_independent(demo::build_cnn_classifier(s), {3, s.size, s.size}, s.classes, OptLevel::none);
}

TEST_CASE("the demo models have fixed-seed weights", "[demo]") {
  const auto a = demo::build_encoder_classifier();
  const auto b = demo::build_encoder_classifier();
  REQUIRE(a->value_count() == b->value_count());
  size_t compared = 0;
  for (graph::ValueId v = 0; v < a->value_count(); ++v) {
    const auto& ca = a->value(v).constant;
    const auto& cb = b->value(v).constant;
    REQUIRE((ca == nullptr) == (cb == nullptr));
    if (!ca) continue;
    REQUIRE(ca->view.nbytes() == cb->view.nbytes());
    CHECK(std::memcmp(ca->view.data(), cb->view.data(), ca->view.nbytes()) == 0);
    ++compared;
  }
  CHECK(compared > 10);
  demo::EncoderSpec other;
  other.seed = 43;
  const auto c = demo::build_encoder_classifier(other);
  const graph::ValueId w = a->find_value("l0.q.w");
  REQUIRE(w != graph::kNoValue);
  CHECK(std::memcmp(a->value(w).constant->view.data(), c->value(c->find_value("l0.q.w")).constant->view.data(),
                    a->value(w).constant->view.nbytes()) != 0);
}
