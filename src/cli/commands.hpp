// The obol command-line tool: one function per subcommand, each registered on the CLI11 app.
#pragma once

#include <CLI/CLI.hpp>

namespace obol {
inline namespace v1 {
namespace cli {

// Each adds its subcommand to `app`; the callback sets `exit_code`.
void add_bench_command(CLI::App& app, int& exit_code);
void add_cpu_command(CLI::App& app, int& exit_code);
void add_demo_command(CLI::App& app, int& exit_code);
void add_inspect_command(CLI::App& app, int& exit_code);
void add_conformance_command(CLI::App& app, int& exit_code);
void add_run_command(CLI::App& app, int& exit_code);
void add_quantize_command(CLI::App& app, int& exit_code);

}  // namespace cli
}  // inline namespace v1
}  // namespace obol
