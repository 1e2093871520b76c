// Damaged versions of real models: every one must give a model or a Status, never a crash.
// (The libFuzzer target in fuzz/ explores far more; this keeps a deterministic slice in ctest.)
#include <catch2/catch.hpp>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "obol/formats/onnx.hpp"
#include "obol/io/mapped_file.hpp"

using namespace obol;

namespace {

const char* const kModels[] = {
    "node/test_add", "node/test_if", "node/test_loop11", "node/test_scan9_sum", "node/test_lstm_defaults",
    "node/test_conv_with_strides_padding", "node/test_constant", "node/test_cast_FLOAT_to_FLOAT16",
    "node/test_reshape_reordered_all_dims", "simple/test_expand_shape_model1", "pytorch-converted/test_Conv2d",
    "pytorch-operator/test_operator_maxpool",
};

// Loads `bytes` and, if it decodes, materialises every tensor; returns whether anything failed.
bool exercise(const std::string& bytes) {
  auto m = onnx::load_onnx_bytes(bytes.data(), bytes.size());
  if (!m) {
    const std::string& msg = m.status().message();
    REQUIRE(!msg.empty());
    REQUIRE(msg[0] == '[');
    return true;
  }
  bool failed = false;
  for (const auto& t : m->graph().initializer) failed |= !onnx::tensor_data(t).is_ok();
  for (const auto& n : m->graph().node)
    for (const auto& a : n.attribute)
      if (a.t) failed |= !onnx::tensor_data(*a.t).is_ok();
  return failed;
}

std::vector<std::string> load_seeds() {
  std::vector<std::string> out;
  for (const char* name : kModels) {
    auto bytes = io::read_file(std::string("/usr/share/libonnx-testdata/data/") + name + "/model.onnx");
    if (bytes) out.push_back(std::move(*bytes));
  }
  return out;
}

}  // namespace

TEST_CASE("truncated models give a Status", "[onnx][robustness]") {
  const auto seeds = load_seeds();
  if (seeds.empty()) return;
  size_t errors = 0, cases = 0;
  for (const std::string& s : seeds) {
    const size_t step = s.size() > 4000 ? s.size() / 2000 : 1;
    for (size_t n = 0; n < s.size(); n += step) {
      errors += exercise(s.substr(0, n));
      ++cases;
    }
    CHECK_FALSE(exercise(s));  // the intact model decodes cleanly
  }
  INFO(cases << " truncations, " << errors << " refused");
  CHECK(errors > cases / 2);
}

TEST_CASE("bit-flipped and length-inflated models give a Status or decode", "[onnx][robustness]") {
  const auto seeds = load_seeds();
  if (seeds.empty()) return;
  std::mt19937_64 rng(1234);
  size_t cases = 0;
  for (const std::string& s : seeds) {
    if (s.empty()) continue;
    std::uniform_int_distribution<size_t> pos(0, s.size() - 1);
    for (int i = 0; i < 300; ++i) {
      std::string m = s;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < flips; ++k) m[pos(rng)] ^= static_cast<char>(1u << (rng() % 8));
      exercise(m);
      ++cases;
    }
    for (int i = 0; i < 100; ++i) {  // oversized varints: lengths, dims and counts near 2^64
      std::string m = s;
      const size_t at = pos(rng);
      const size_t run = 1 + rng() % 9;
      for (size_t k = 0; k < run && at + k < m.size(); ++k) m[at + k] = '\xff';
      exercise(m);
      ++cases;
    }
  }
  CHECK(cases == seeds.size() * 400);
}
