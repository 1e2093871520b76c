// Small models with fixed-seed weights, built as obol graphs in code: what `obol demo` quantizes,
// benchmarks and puts behind the batcher and the cache. Both have a symbolic leading "batch"
// dimension, so the batcher can coalesce requests, and end in class logits, so quantized variants
// can be compared on top-1 agreement.
#pragma once

#include <cstdint>
#include <memory>

#include "obol/graph/graph.hpp"

namespace obol {
inline namespace v1 {
namespace demo {

// A BERT-style encoder classifier: input "embeddings" f32[batch, seq, hidden] (the embedding
// lookup is left out), `layers` post-norm encoder layers (multi-head self-attention, GELU FFN,
// LayerNormalization), mean pooling over the sequence, a linear head; output "logits"
// f32[batch, classes]. The graph uses the ops torch.onnx.export writes at opset 17.
struct EncoderSpec {
  int layers = 2;
  int hidden = 128;
  int heads = 4;
  int ffn = 512;
  int seq = 16;
  int classes = 4;
  uint64_t seed = 42;
};
std::shared_ptr<graph::Graph> build_encoder_classifier(const EncoderSpec& spec = {});

// A small image classifier: input "image" f32[batch, 3, size, size]; Conv3x3(16)+ReLU+MaxPool2,
// Conv3x3(32)+ReLU+MaxPool2, Flatten, Gemm(hidden)+ReLU, Gemm(classes); output "logits".
// `size` must be a multiple of 4.
struct CnnSpec {
  int size = 32;
  int hidden = 128;
  int classes = 10;
  uint64_t seed = 7;
};
std::shared_ptr<graph::Graph> build_cnn_classifier(const CnnSpec& spec = {});

}  // namespace demo
}  // inline namespace v1
}  // namespace obol
