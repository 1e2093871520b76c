// `obol cpu`: the CPU features found and the kernel tier in use.
#include <cstdio>
#include <string>

#include "cli/commands.hpp"
#include "obol/kernels/cpu.hpp"

namespace obol {
inline namespace v1 {
namespace cli {

void add_cpu_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("cpu", "Print the CPU features found and the kernel tier chosen");
  auto expect = std::make_shared<std::string>();
  cmd->add_option("--expect-isa", *expect, "Exit non-zero unless this tier is the one in use (for tests)");
  cmd->callback([expect, &exit_code] {
    using namespace obol::kernels;
    const CpuFeatures& f = cpu_features();
    std::printf("cpu:       %s (%s)\n", f.brand.empty() ? "unknown" : f.brand.c_str(), f.vendor.c_str());
    std::printf("features:  %s\n", cpu_features_string(f).c_str());
    std::string tiers;
    for (Isa i : available_isas()) tiers += std::string(tiers.empty() ? "" : " ") + isa_name(i);
    std::printf("tiers:     %s\n", tiers.c_str());
    const char* chosen = isa_name(cpu_kernels().isa);
    std::printf("in use:    %s\n", chosen);
    if (!expect->empty()) {
      bool known = false;
      for (int i = 0; i < kIsaCount; ++i) {
        const Isa isa = static_cast<Isa>(i);
        if (*expect != isa_name(isa)) continue;
        known = true;
        if (!isa_supported(isa)) {  // ctest counts exit code 77 as skipped
          std::printf("tier '%s' is not supported by this CPU or build: skipped\n", expect->c_str());
          exit_code = 77;
          return;
        }
      }
      if (!known) {
        std::fprintf(stderr, "obol cpu: unknown tier '%s'\n", expect->c_str());
        exit_code = 2;
        return;
      }
    }
    if (!expect->empty() && *expect != chosen) {
      std::fprintf(stderr, "obol cpu: expected tier '%s' but '%s' is in use\n", expect->c_str(), chosen);
      exit_code = 1;
    }
  });
}

}  // namespace cli
}  // inline namespace v1
}  // namespace obol
