// quantize(): load, rewrite (rewrite.cpp), serialize, reload the written bytes and compare them with
// fp32 on the evaluation inputs; write_quantized() enforces the quality budget.
#include "obol/quant/quantizer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "obol/formats/onnx.hpp"
#include "obol/formats/onnx_graph.hpp"
#include "obol/formats/onnx_writer.hpp"
#include "obol/obol.hpp"

namespace obol {
inline namespace v1 {
namespace quant {

namespace {

// Runs every input set; optionally times `runs` runs of the first one (after a warm-up run).
Status run_all(const std::shared_ptr<const Model>& model, const std::vector<std::vector<Tensor>>& inputs,
               std::vector<std::vector<Tensor>>& outputs, int runs, double& median_ms, const QuantizeOptions& o,
               const char* stage) {
  OBOL_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::create(model));
  outputs.clear();
  for (size_t s = 0; s < inputs.size(); ++s) {
    std::vector<TensorView> feeds(inputs[s].begin(), inputs[s].end());
    std::vector<Tensor> outs;
    OBOL_RETURN_IF_ERROR(session->run(feeds, outs));
    outputs.push_back(std::move(outs));
    if (o.progress) o.progress(stage, static_cast<int>(s + 1), static_cast<int>(inputs.size()));
  }
  median_ms = 0;
  if (runs <= 0 || inputs.empty()) return Status::ok();
  std::vector<TensorView> feeds(inputs[0].begin(), inputs[0].end());
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    std::vector<Tensor> outs;
    const auto t0 = std::chrono::steady_clock::now();
    OBOL_RETURN_IF_ERROR(session->run(feeds, outs));
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  median_ms = ms[ms.size() / 2];
  return Status::ok();
}

double value_at(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::f32: return t.data_as<const float>()[i];
    case DType::f64: return t.data_as<const double>()[i];
    case DType::f16: return f16_to_f32(t.data_as<const uint16_t>()[i]);
    default: return 0.0;
  }
}

bool is_float(DType t) { return t == DType::f32 || t == DType::f64 || t == DType::f16; }

// Fills the error, cosine and top-1 figures of `r` from reference and quantized outputs.
Status compare(const std::vector<std::vector<Tensor>>& ref, const std::vector<std::vector<Tensor>>& got,
               QuantizeReport& r) {
  r.max_abs_error = 0;
  r.cosine = 1;
  int64_t rows = 0, agree = 0;
  for (size_t s = 0; s < ref.size(); ++s) {
    double dot = 0, na = 0, nb = 0;
    for (size_t o = 0; o < ref[s].size(); ++o) {
      const Tensor& a = ref[s][o];
      const Tensor& b = got[s][o];
      if (a.shape() != b.shape() || a.dtype() != b.dtype())
        return make_status(StatusCode::internal, "quantize", "output ", o, " changed from ", dtype_name(a.dtype()),
                           a.shape().to_string(), " to ", dtype_name(b.dtype()), b.shape().to_string());
      if (!is_float(a.dtype())) continue;
      const int64_t n = a.numel();
      for (int64_t i = 0; i < n; ++i) {
        const double x = value_at(a, i), y = value_at(b, i);
        r.max_abs_error = std::max(r.max_abs_error, std::fabs(x - y));
        if (std::isnan(x) != std::isnan(y)) r.max_abs_error = std::numeric_limits<double>::infinity();
        dot += x * y;
        na += x * x;
        nb += y * y;
      }
      const int64_t last = a.rank() >= 1 ? a.shape().back() : 1;
      if (last < 2) continue;
      for (int64_t row = 0; row < n / last; ++row) {
        int64_t ia = 0, ib = 0;
        for (int64_t j = 1; j < last; ++j) {
          if (value_at(a, row * last + j) > value_at(a, row * last + ia)) ia = j;
          if (value_at(b, row * last + j) > value_at(b, row * last + ib)) ib = j;
        }
        ++rows;
        agree += ia == ib ? 1 : 0;
      }
    }
    const double cos = na > 0 && nb > 0 ? dot / std::sqrt(na * nb) : (na == nb ? 1.0 : 0.0);
    r.cosine = std::min(r.cosine, cos);
  }
  r.top1_agreement = rows ? static_cast<double>(agree) / static_cast<double>(rows) : 1.0;
  return Status::ok();
}

std::string human_bytes(uint64_t b) {
  char buf[64];
  if (b >= (uint64_t{1} << 20)) std::snprintf(buf, sizeof buf, "%.2f MiB", static_cast<double>(b) / (1 << 20));
  else if (b >= 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(b) / 1024);
  else std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
  return buf;
}

}  // namespace

std::string QuantizeReport::to_string() const {
  char buf[256];
  std::string s;
  std::snprintf(buf, sizeof buf, "size:        %s -> %s (%.2fx smaller)\n", human_bytes(bytes_before).c_str(),
                human_bytes(bytes_after).c_str(),
                bytes_after ? static_cast<double>(bytes_before) / static_cast<double>(bytes_after) : 0.0);
  s += buf;
  if (latency_ms_before > 0 || latency_ms_after > 0) {
    std::snprintf(buf, sizeof buf, "latency:     %.3f ms -> %.3f ms (%.2fx, obol median)\n", latency_ms_before,
                  latency_ms_after, latency_ms_after > 0 ? latency_ms_before / latency_ms_after : 0.0);
    s += buf;
  }
  std::snprintf(buf, sizeof buf, "max abs err: %.6g%s\n", max_abs_error,
                std::isinf(max_error_budget) ? "" : str_cat(" (budget ", max_error_budget, ")").c_str());
  s += buf;
  std::snprintf(buf, sizeof buf, "cosine:      %.6f (lowest over the evaluation inputs)\n", cosine);
  s += buf;
  std::snprintf(buf, sizeof buf, "top-1:       %.2f%% of rows agree (argmax over the last axis)\n", 100.0 * top1_agreement);
  s += buf;
  std::snprintf(buf, sizeof buf, "nodes:       %d quantized, %d kept in fp32; %d evaluation input%s, %d calibration\n",
                quantized_nodes, kept_float_nodes, eval_samples, eval_samples == 1 ? "" : "s", calibration_samples);
  s += buf;
  for (const std::string& n : notes) s += "note:        " + n + "\n";
  s += within_budget ? "budget:      ok\n" : "budget:      EXCEEDED\n";
  return s;
}

Result<QuantizedModel> quantize(const std::string& input_path, const QuantizeOptions& o) {
  OBOL_ASSIGN_OR_RETURN(onnx::OnnxModel src, onnx::load_onnx_file(input_path));
  OBOL_ASSIGN_OR_RETURN(std::shared_ptr<graph::Graph> fp32, onnx::to_graph(src));
  QuantizedModel q;
  QuantizeReport& r = q.report;
  r.max_error_budget = o.max_error;
  OBOL_ASSIGN_OR_RETURN(const std::string fp32_bytes, onnx::write_model(*fp32));
  r.bytes_before = fp32_bytes.size();

  OBOL_ASSIGN_OR_RETURN(std::vector<std::vector<Tensor>> inputs, make_inputs(*fp32, o));
  r.eval_samples = static_cast<int>(inputs.size());

  OBOL_ASSIGN_OR_RETURN(q.graph, quantize_graph(*fp32, o, inputs, &r));
  OBOL_ASSIGN_OR_RETURN(q.onnx_bytes, onnx::write_model(*q.graph));
  r.bytes_after = q.onnx_bytes.size();

  // The reference, and the quantized model as written (parsed back from its bytes).
  std::vector<std::vector<Tensor>> ref, got;
  OBOL_ASSIGN_OR_RETURN(std::shared_ptr<const Model> m32, Model::from_graph(std::make_shared<graph::Graph>(*fp32)));
  OBOL_RETURN_IF_ERROR(run_all(m32, inputs, ref, o.latency_runs, r.latency_ms_before, o, "evaluate fp32"));
  OBOL_ASSIGN_OR_RETURN(onnx::OnnxModel qsrc, onnx::load_onnx_bytes(q.onnx_bytes.data(), q.onnx_bytes.size()));
  OBOL_ASSIGN_OR_RETURN(std::shared_ptr<graph::Graph> qg, onnx::to_graph(qsrc));
  OBOL_ASSIGN_OR_RETURN(std::shared_ptr<const Model> mq, Model::from_graph(qg));
  OBOL_RETURN_IF_ERROR(run_all(mq, inputs, got, o.latency_runs, r.latency_ms_after, o, "evaluate quantized"));
  OBOL_RETURN_IF_ERROR(compare(ref, got, r));
  r.within_budget = r.max_abs_error <= o.max_error;
  return q;
}

Status write_quantized(const QuantizedModel& q, const std::string& output_path, bool force) {
  if (!q.report.within_budget && !force)
    return make_status(StatusCode::out_of_range, "quantize", "max abs error ", q.report.max_abs_error,
                       " exceeds the budget ", q.report.max_error_budget, ": not writing '", output_path,
                       "' (raise --max-error or pass --force)");
  std::ofstream f(output_path, std::ios::binary | std::ios::trunc);
  if (!f) return make_status(StatusCode::io_error, "quantize", "cannot open '", output_path, "' for writing");
  f.write(q.onnx_bytes.data(), static_cast<std::streamsize>(q.onnx_bytes.size()));
  f.close();
  if (!f) return make_status(StatusCode::io_error, "quantize", "writing '", output_path, "' failed");
  return Status::ok();
}

}  // namespace quant
}  // inline namespace v1
}  // namespace obol
