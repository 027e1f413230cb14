// `georank report RUN_DIR`: the statistics, diagnostics, figures and HTML page of a run
// (eval/report.hpp); also the last step of `georank run` and `georank demo`.

#include <fmt/format.h>

#include <memory>
#include <string>

#include "commands.hpp"
#include "config_flags.hpp"
#include "report.hpp"

namespace georank::cli {

ReportResult report_run(const std::string& run_dir, const ReportConfig& config) {
  const ReportResult r = write_report(run_dir, config);
  const nlohmann::json& rep = r.report;
  for (const auto& c : rep["caveats"]) fmt::print("NOTE: {}\n", c.get<std::string>());
  for (const auto& name : rep["strategy_order"]) {
    const auto& s = rep["strategies"][name.get<std::string>()];
    fmt::print(
        "  {:<28} dR@1 {:+6.1f} [{:+.1f}, {:+.1f}]  McNemar p {:.3g} (Holm {:.3g})  fixed {} broken {}\n",
        name.get<std::string>(), 100 * s["delta_r1"].get<double>(), 100 * s["delta_r1_ci95"][0].get<double>(),
        100 * s["delta_r1_ci95"][1].get<double>(), s["mcnemar_p"].get<double>(),
        s["mcnemar_p_holm"].get<double>(), s["fixed"].get<int>(), s["broken"].get<int>());
  }
  fmt::print("report: {} ({} figures{})\n", r.html, r.figures.size(),
             r.rendered ? ", SVG and PNG in figures/" : "");
  if (!r.rendered) fmt::print("NOTE: {}\n", r.render_note);
  return r;
}

void add_report(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "report", "Statistics, judge diagnostics, figures and an offline HTML page for a run's out folder");
  auto dir = std::make_shared<std::string>();
  auto config = std::make_shared<ReportConfig>();
  cmd->add_option("run_dir", *dir, "The out folder of georank run (holds summary.json)")
      ->required()
      ->check(CLI::ExistingDirectory);
  bind_flags(*cmd, *config);
  cmd->callback([dir, config] { report_run(*dir, *config); });
}

}  // namespace georank::cli
