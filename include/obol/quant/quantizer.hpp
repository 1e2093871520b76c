// obol/quant/quantizer.hpp — post-training quantization of ONNX models, with a quality report.
//
//   obol::quant::QuantizeOptions opt;
//   opt.weights = obol::quant::WeightFormat::int8;          // or int4 (MatMulNBits, weight-only)
//   opt.activations = obol::quant::ActivationMode::dynamic;  // or calibrated (static QDQ)
//   opt.samples = 16;                                        // generated inputs (or calibration_dir)
//   auto q = obol::quant::quantize("model.onnx", opt);       // Result<QuantizedModel>
//   std::puts(q->report.to_string().c_str());
//   obol::Status st = obol::quant::write_quantized(*q, "model.int8.onnx", /*force=*/false);
//
// What is rewritten (everything else stays fp32, so the output is standard ONNX that ONNX Runtime
// also runs):
//   - int8, dynamic:    MatMul/Gemm with a constant fp32 weight [K, N] becomes
//                       com.microsoft DynamicQuantizeMatMul (per-column symmetric int8 weights,
//                       activations quantized per run to uint8 with their own min/max; Gemm's bias
//                       becomes the op's bias).
//   - int8, calibrated: the same MatMul/Gemm (and Conv with a constant weight) becomes a QDQ
//                       pattern: QuantizeLinear→DequantizeLinear on the activation with a per-tensor
//                       uint8 scale/zero point from the calibration min/max, DequantizeLinear of a
//                       per-output-channel symmetric int8 weight, the float op unchanged. obol's QDQ
//                       fusion pass turns it into an integer GEMM/conv at OptLevel::extended.
//   - int4:             MatMul/Gemm (transB = 0) with a constant fp32 weight becomes
//                       com.microsoft MatMulNBits (bits = 4, block_size along K, asymmetric uint4
//                       with packed zero points, as ONNX Runtime's quantizer writes it).
//   Weights smaller than QuantizeOptions::min_weight_elements stay fp32.
//
// The report compares the quantized model with the fp32 one on evaluation inputs (the calibration
// inputs, or `samples` generated ones): every graph output, all samples. Latency is the median
// wall time of obol runs of the optimized models on the first evaluation input.
//
// Threading: quantize() uses obol's parallel_for inside the runs; call it from one thread per
// model. No global state. Errors: Status with a "[quantize]" prefix naming the file, input or node.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <map>
#include <string>
#include <vector>

#include "obol/core/status.hpp"
#include "obol/core/tensor.hpp"
#include "obol/graph/graph.hpp"

namespace obol {
inline namespace v1 {
namespace quant {

enum class WeightFormat : uint8_t { int8, int4 };
// dynamic: activation scales computed per run; calibrated: fixed scales from calibration ("static").
enum class ActivationMode : uint8_t { dynamic, calibrated };

struct QuantizeOptions {
  WeightFormat weights = WeightFormat::int8;
  // int4 only: weights per scale along K. A power of two in [16, 256] (MatMulNBits' range).
  int block_size = 32;
  // int8 only (int4 is weight-only: activations stay fp32).
  ActivationMode activations = ActivationMode::dynamic;
  // int8 only: weights quantized symmetric to [-64, 63] (7 bits, ONNX Runtime's `reduce_range`):
  // zero point 0, scale = max|w| / 63 per output channel. Costs one bit of weight precision. On
  // AVX2-only CPUs it enables the exact fast integer kernel (vpmaddubsw: no k-pair of 7-bit weights
  // can saturate int16; see QGemmPackedB::uses_maddubs()); no effect on speed with VNNI or AMX. The
  // written model stays standard ONNX (same ops, values in a narrower range). Off by default, as in
  // ONNX Runtime's quantizer.
  bool reduce_range = false;
  // Calibration/evaluation inputs: a directory of .npy or .pb files. Files are matched to model
  // inputs by name (input "x" takes "x.npy", "x_0.npy", "x_1.npy", ... or .pb files whose
  // TensorProto name is "x"); a model with one input takes every tensor file in the directory,
  // sorted by file name. Empty: `samples` inputs are generated.
  std::string calibration_dir;
  // Generated inputs (when calibration_dir is empty): float inputs standard normal, integer inputs
  // uniform in [0, 100), bool inputs random; fixed seed. Symbolic dimensions take their value from
  // `dim_values` (by symbol name), else 1.
  int samples = 8;
  uint64_t seed = 0x0b01;
  std::map<std::string, int64_t> dim_values;
  // Quality budget: the largest absolute difference, over every output element of every evaluation
  // input, that the quantized model may have against fp32. Infinity: no budget.
  double max_error = std::numeric_limits<double>::infinity();
  // Weights with fewer elements stay fp32 (small projections cost little and lose the most).
  int64_t min_weight_elements = 1024;
  // Timed runs per model for the latency figures (after one warm-up run); 0 skips timing.
  int latency_runs = 10;
  // Called on the calling thread during calibration and evaluation: stage ("calibrate",
  // "evaluate"), runs done, runs in total. Empty: no progress reporting.
  std::function<void(const char* stage, int done, int total)> progress;
};

struct QuantizeReport {
  uint64_t bytes_before = 0;  // serialized ONNX model sizes (external data included)
  uint64_t bytes_after = 0;
  double latency_ms_before = 0;  // median obol run time (0 when not measured)
  double latency_ms_after = 0;
  double max_abs_error = 0;      // over every output element of every evaluation input
  double cosine = 0;             // cosine similarity of all outputs flattened together (min over inputs)
  double top1_agreement = 0;     // share of rows (argmax over each output's last axis) that agree
  int eval_samples = 0;
  int calibration_samples = 0;   // 0 for dynamic activations and int4
  int quantized_nodes = 0;       // MatMul/Gemm/Conv nodes rewritten
  int kept_float_nodes = 0;      // MatMul/Gemm/Conv nodes left in fp32 (with a reason in notes)
  double max_error_budget = std::numeric_limits<double>::infinity();
  bool within_budget = true;     // max_abs_error <= max_error_budget
  std::vector<std::string> notes;

  // The multi-line report `obol quantize` prints.
  std::string to_string() const;
};

struct QuantizedModel {
  std::shared_ptr<graph::Graph> graph;  // the quantized graph as written (not optimized)
  std::string onnx_bytes;               // serialized ModelProto (weights inline)
  QuantizeReport report;
};

// Loads `input_path` (ONNX), quantizes it with `options`, evaluates it against the fp32 model and
// returns the quantized model and its report. A broken budget is *not* an error here: look at
// report.within_budget (write_quantized() enforces it).
Result<QuantizedModel> quantize(const std::string& input_path, const QuantizeOptions& options);

// Writes q.onnx_bytes to `output_path`. Refuses (StatusCode::out_of_range, a message naming the
// error and the budget, nothing written) when the report is over budget and `force` is false.
Status write_quantized(const QuantizedModel& q, const std::string& output_path, bool force);

// The building blocks, for callers that hold a graph already.

// Rewrites a copy of `fp32` (a graph as loaded, before optimization). `calibration` (one input set
// per entry, in graph input order) is needed for ActivationMode::calibrated only. Records counts
// and reasons in `report` when given.
Result<std::shared_ptr<graph::Graph>> quantize_graph(const graph::Graph& fp32, const QuantizeOptions& options,
                                                     const std::vector<std::vector<Tensor>>& calibration,
                                                     QuantizeReport* report = nullptr);

// The evaluation inputs quantize() uses: read from options.calibration_dir, or generated.
Result<std::vector<std::vector<Tensor>>> make_inputs(const graph::Graph& g, const QuantizeOptions& options);

}  // namespace quant
}  // inline namespace v1
}  // namespace obol
