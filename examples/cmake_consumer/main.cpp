// The C++ API from an installed obol: load a model, run it, print the outputs' shapes and values.
#include <cstdio>
#include <vector>

#include <obol/obol.hpp>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s model.onnx\n", argv[0]);
    return 2;
  }
  auto model = obol::Model::load(argv[1]);
  if (!model) {
    std::fprintf(stderr, "%s\n", model.status().to_string().c_str());
    return 1;
  }
  auto session = obol::Session::create(*model);
  if (!session) {
    std::fprintf(stderr, "%s\n", session.status().to_string().c_str());
    return 1;
  }
  // One f32 tensor of ones per input, with unknown dimensions set to 1.
  std::vector<obol::Tensor> inputs;
  std::vector<obol::TensorView> views;
  for (const obol::TensorInfo& info : (*model)->inputs()) {
    obol::Shape shape;
    for (int64_t d : info.dims) shape.push_back(d < 0 ? 1 : d);
    auto t = obol::Tensor::empty(obol::DType::f32, shape);
    if (!t) return 1;
    for (int64_t i = 0; i < t->numel(); ++i) t->data_as<float>()[i] = 1.0f;
    views.push_back(t->view());
    inputs.push_back(std::move(*t));
  }
  std::vector<obol::Tensor> outputs;
  if (obol::Status st = (*session)->run(views, outputs); !st) {
    std::fprintf(stderr, "%s\n", st.to_string().c_str());
    return 1;
  }
  for (size_t k = 0; k < outputs.size(); ++k) {
    std::printf("%s %s:", (*model)->outputs()[k].name.c_str(), outputs[k].shape().to_string().c_str());
    for (int64_t i = 0; i < outputs[k].numel() && outputs[k].dtype() == obol::DType::f32; ++i)
      std::printf(" %g", outputs[k].data_as<float>()[i]);
    std::printf("\n");
  }
  return 0;
}
