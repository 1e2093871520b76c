// `obol conformance DIR`: run the ONNX backend test data and report per category.
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "cli/commands.hpp"
#include "cli/conformance.hpp"

namespace obol::cli {

void add_conformance_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("conformance", "Run ONNX backend test cases and compare with their reference outputs");
  struct Args {
    std::string dir = "/usr/share/libonnx-testdata/data";
    std::string json, expected, write_expected, filter;
    bool verbose = false;
    double min_pass_percent = 0;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("dir", a->dir, "Test data root, a category folder or one case folder")->capture_default_str();
  cmd->add_option("--json", a->json, "Write one record per case to this file");
  cmd->add_option("--expected", a->expected, "File of category/name cases that must pass; exit 1 if any does not");
  cmd->add_option("--write-expected", a->write_expected, "Write the passing cases to this file");
  cmd->add_option("--filter", a->filter, "Only cases whose category/name contains this text");
  cmd->add_flag("-v,--verbose", a->verbose, "Print every case, not only failures");
  cmd->add_option("--min-pass-percent", a->min_pass_percent,
                  "Exit 1 if any category passes fewer than this share of the cases it runs (skips excluded)")
      ->check(CLI::Range(0.0, 100.0));
  cmd->callback([a, &exit_code] {
    const auto cases = find_conformance_cases(a->dir);
    if (cases.empty()) {
      std::fprintf(stderr, "obol conformance: no test cases (folders with model.onnx) under %s\n", a->dir.c_str());
      exit_code = 1;
      return;
    }
    std::vector<CaseResult> results;
    struct Tally {
      int pass = 0, fail = 0, skip = 0;
    };
    std::map<std::string, Tally> tally;
    for (const auto& [category, dir] : cases) {
      const std::string id = category + "/" + dir.substr(dir.find_last_of('/') + 1);
      if (!a->filter.empty() && id.find(a->filter) == std::string::npos) continue;
      CaseResult r = run_conformance_case(category, dir);
      Tally& t = tally[category];
      (r.status == "pass" ? t.pass : r.status == "fail" ? t.fail : t.skip)++;
      if (a->verbose || r.status == "fail")
        std::printf("%-5s %s/%s%s%s\n", r.status.c_str(), r.category.c_str(), r.name.c_str(),
                    r.reason.empty() ? "" : ": ", r.reason.c_str());
      results.push_back(std::move(r));
    }
    std::printf("\n%-20s %6s %6s %6s %8s\n", "category", "pass", "fail", "skip", "pass %");
    for (const auto& [category, t] : tally) {
      const int run = t.pass + t.fail;
      const double pct = run ? 100.0 * t.pass / run : 100.0;
      std::printf("%-20s %6d %6d %6d %7.1f%%\n", category.c_str(), t.pass, t.fail, t.skip, pct);
      if (pct < a->min_pass_percent) {
        std::printf("category %s passes %.1f%%, below the required %.1f%%\n", category.c_str(), pct,
                    a->min_pass_percent);
        exit_code = 1;
      }
    }
    if (!a->json.empty()) {
      nlohmann::json j = nlohmann::json::array();
      for (const CaseResult& r : results)
        j.push_back({{"category", r.category}, {"name", r.name}, {"status", r.status}, {"reason", r.reason}});
      std::ofstream(a->json) << j.dump(1) << "\n";
    }
    if (!a->write_expected.empty()) {
      std::ofstream out(a->write_expected);
      out << "# Conformance cases that must keep passing (obol conformance --expected). One category/name a line.\n";
      for (const CaseResult& r : results)
        if (r.status == "pass") out << r.category << "/" << r.name << "\n";
    }
    if (!a->expected.empty()) {
      std::ifstream in(a->expected);
      if (!in) {
        std::fprintf(stderr, "obol conformance: cannot read %s\n", a->expected.c_str());
        exit_code = 1;
        return;
      }
      std::map<std::string, const CaseResult*> by_id;
      for (const CaseResult& r : results) by_id[r.category + "/" + r.name] = &r;
      int regressions = 0;
      for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        auto it = by_id.find(line);
        if (it == by_id.end()) {
          if (!a->filter.empty()) continue;
          std::printf("REGRESSION %s: case not found\n", line.c_str());
          ++regressions;
        } else if (it->second->status != "pass") {
          std::printf("REGRESSION %s: %s\n", line.c_str(), it->second->reason.c_str());
          ++regressions;
        }
      }
      std::printf("%d expected case%s regressed\n", regressions, regressions == 1 ? "" : "s");
      if (regressions) exit_code = 1;
    }
  });
}

}  // namespace obol::cli
