// The ONNX backend test data (Debian's libonnx-testdata) as the format tests walk it.
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace obol {
inline namespace v1 {
namespace test {

inline const char* const kOnnxDataRoot = "/usr/share/libonnx-testdata/data";

// Every model.onnx of the suite's categories, sorted; empty when the package is not installed.
inline std::vector<std::string> suite_models() {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  for (const char* cat : {"node", "simple", "pytorch-converted", "pytorch-operator"}) {
    const fs::path dir = fs::path(kOnnxDataRoot) / cat;
    if (!fs::is_directory(dir)) continue;
    for (const auto& e : fs::directory_iterator(dir)) {
      const fs::path m = e.path() / "model.onnx";
      if (fs::is_regular_file(m)) out.push_back(m.string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace test
}  // inline namespace v1
}  // namespace obol
