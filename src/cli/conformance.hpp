// Running the ONNX backend test data (the conformance suite) through obol.
#pragma once

#include <string>
#include <vector>

#include "obol/core/status.hpp"
#include "obol/core/tensor.hpp"

namespace obol {
inline namespace v1 {
namespace cli {

struct CaseResult {
  std::string category;  // node, pytorch-converted, pytorch-operator, simple
  std::string name;      // test_add, ...
  std::string status;    // pass, fail, skip
  std::string reason;    // why it failed or was skipped
  double ms = 0;         // load + run time
};

// Finds the case directories (those holding model.onnx) under `root`: the data root with category
// folders, one category folder, or one case folder.
std::vector<std::pair<std::string, std::string>> find_conformance_cases(const std::string& root);

// Empty when `got` equals `want` within ONNX's backend-test tolerances (rtol 1e-3, atol 1e-7 for
// floats; exact for integers and bools); otherwise a description of the first difference.
std::string compare_tensors(const TensorView& got, const TensorView& want, const std::string& name);

// Loads and runs one case against all its test_data_set_* folders, comparing with ONNX's backend
// test tolerances (rtol 1e-3, atol 1e-7; integers and bools exactly).
CaseResult run_conformance_case(const std::string& category, const std::string& dir);

}  // namespace cli
}  // inline namespace v1
}  // namespace obol
