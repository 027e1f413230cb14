#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "checked_number.hpp"
#include "commands.hpp"
#include "georank/fixtures/simulation.hpp"

namespace georank::cli {
namespace {

constexpr const char* kNotice =
    "SIMULATED JUDGES: these numbers describe the strategies and aggregators for a judge of the given "
    "accuracy and position bias; they say nothing about any real model.";

void print_table(const SimulationReport& r) {
  const auto& c = r.config;
  fmt::print("{}\n", kNotice);
  fmt::print("queries {}  k {}  seed {}  judge accuracy {}  position bias {}  baseline R@1 {} R@5 {}\n",
             c.queries, c.k, c.seed, c.judge_accuracy, c.position_bias, c.baseline_r1, c.baseline_r5);
  fmt::print("top-{} ceiling for R@1: {:.3f}; 95% intervals: {}\n\n", c.k, r.topk_ceiling, r.ci_method);
  fmt::print("{:<18} {:<19} {:<7} {:>22} {:>22} {:>22} {:>8}\n", "strategy", "aggregate", "orders",
             "R@1 [95% CI]", "R@3 [95% CI]", "R@5 [95% CI]", "calls/q");
  for (const auto& row : r.rows) {
    std::string cells[3];
    for (int i = 0; i < 3; ++i)
      cells[i] = fmt::format("{:.3f} [{:.3f},{:.3f}]", row.recall[i], row.ci95[i].first, row.ci95[i].second);
    fmt::print("{:<18} {:<19} {:<7} {:>22} {:>22} {:>22} {:>8.2f}\n", row.strategy, row.aggregate, row.orders,
               cells[0], cells[1], cells[2], row.judge_calls_per_query);
  }
  fmt::print("\n(judge: simulated)\n");
}

}  // namespace

void add_simulate(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("simulate",
                         "Simulation study of rerank strategies and aggregators with SIMULATED judges "
                         "(expected R@1/3/5 with 95% intervals and judge calls per query)");
  auto config = std::make_shared<SimulationConfig>();
  auto as_json = std::make_shared<bool>(false);
  cmd->add_option("--queries", config->queries, "Simulated queries")->capture_default_str();
  cmd->add_option("--k", config->k, "Rerank depth (top-k)")->capture_default_str();
  cmd->add_option("--seed", config->seed, "Random seed")->check(fits_64_bits(false))->capture_default_str();
  cmd->add_option("--judge-accuracy", config->judge_accuracy,
                  "Pairwise judge accuracy at the mean positive-negative gap (0.5 coin flip .. 1 perfect)")
      ->capture_default_str();
  cmd->add_option("--position-bias", config->position_bias,
                  "Pull toward the first image: at equal quality it wins with probability (1+B)/2 (0..1)")
      ->capture_default_str();
  cmd->add_option("--baseline-r1", config->baseline_r1, "Retrieval R@1 of the simulated lists")
      ->capture_default_str();
  cmd->add_option("--baseline-r5", config->baseline_r5, "Retrieval R@5 of the simulated lists")
      ->capture_default_str();
  cmd->add_option("--pointwise-noise", config->pointwise_noise, "Pointwise score noise (quality units)")
      ->capture_default_str();
  cmd->add_option("--pointwise-calibration", config->pointwise_calibration,
                  "Pointwise per-query calibration offset (quality units)")
      ->capture_default_str();
  cmd->add_flag("--json", *as_json,
                "Print one JSON object per (strategy, aggregate, orders) row, one per line");
  cmd->callback([config, as_json] {
    const SimulationReport report = run_simulation(*config);
    if (*as_json) {
      for (const auto& row : report.rows) {
        nlohmann::json j = to_json(row);
        j["config"] = to_json(report.config);
        j["ci_method"] = report.ci_method;
        j["note"] = kNotice;
        std::cout << j.dump() << "\n";
      }
    } else {
      print_table(report);
    }
  });
}

}  // namespace georank::cli
