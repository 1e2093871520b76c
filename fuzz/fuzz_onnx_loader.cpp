// libFuzzer target: ONNX model bytes -> decoded model -> every tensor materialised.
// Build with ./run fuzz (clang, -fsanitize=fuzzer,address,undefined). Any input must give a model
// or a Status; ASan checks that nothing is read outside the input.
#include <cstddef>
#include <cstdint>

#include "obol/formats/onnx.hpp"

namespace {

volatile uint8_t g_sink;

// Touches the first and last byte of every tensor so out-of-range views fault under ASan.
void touch(const obol::onnx::TensorProto& t) {
  auto d = obol::onnx::tensor_data(t);
  if (!d || d->view.nbytes() == 0) return;
  const auto* p = static_cast<const uint8_t*>(d->view.data());
  g_sink = static_cast<uint8_t>(p[0] ^ p[d->view.nbytes() - 1]);
}

void walk(const obol::onnx::GraphProto& g) {
  for (const auto& t : g.initializer) touch(t);
  for (const auto& n : g.node)
    for (const auto& a : n.attribute) {
      if (a.t) touch(*a.t);
      for (const auto& t : a.tensors) touch(t);
      if (a.g) walk(*a.g);
      for (const auto& sg : a.graphs) walk(*sg);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto m = obol::onnx::load_onnx_bytes(data, size);
  if (m) {
    walk(m->graph());
    (void)m->opset_version("");
  }
  // The same bytes as a standalone TensorProto (the test suite's .pb files).
  auto t = obol::onnx::decode_tensor_proto(data, size);
  if (t) touch(*t);
  return 0;
}
