// obol — command-line entry point.
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"obol: run models in-process and see what each query costs"};
  app.require_subcommand(1);
  int exit_code = 0;
  obol::cli::add_bench_command(app, exit_code);
  obol::cli::add_cpu_command(app, exit_code);
  obol::cli::add_demo_command(app, exit_code);
  obol::cli::add_inspect_command(app, exit_code);
  obol::cli::add_conformance_command(app, exit_code);
  obol::cli::add_run_command(app, exit_code);
  obol::cli::add_quantize_command(app, exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
