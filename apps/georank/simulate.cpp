#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <vector>

#include "checked_number.hpp"
#include "commands.hpp"
#include "georank/core/atomic_file.hpp"
#include "georank/eval/pareto.hpp"
#include "georank/fixtures/simulation.hpp"

namespace georank::cli {
namespace {

constexpr const char* kNotice =
    "SIMULATED JUDGES: these numbers describe the strategies and aggregators for a judge of the given "
    "accuracy and position bias; they say nothing about any real model.";

std::string interval(double p, std::pair<double, double> ci) {
  return fmt::format("{:.3f} [{:.3f},{:.3f}]", p, ci.first, ci.second);
}

void print_model(const SimulationConfig& c) {
  fmt::print(
      "queries {}  k {}  seed {}  judge accuracy {:g}  position bias {:g}  baseline R@1 {:g} R@5 {:g}\n",
      c.queries, c.k, c.seed, c.judge_accuracy, c.position_bias, c.baseline_r1, c.baseline_r5);
  fmt::print(
      "judge model: query difficulty {:g}, appearance noise {:g}, pair noise {:g}, confidence "
      "informativeness "
      "{:g}, rank-gap effect {:g}, semi-positives {} (quality {:g}), retrieval coupling {:g}\n",
      c.query_difficulty, c.appearance_noise, c.pair_noise, c.confidence_informativeness, c.rank_gap_effect,
      c.semi_positives, c.semi_positive_quality, c.retrieval_coupling);
}

void print_table(const SimulationReport& r) {
  print_model(r.config);
  fmt::print("top-{} ceiling for R@1: {:.3f}; 95% intervals: {}\n\n", r.config.k, r.topk_ceiling,
             r.ci_method);
  fmt::print("{:<18} {:<19} {:<7} {:<15} {:>22} {:>22} {:>22} {:>8} {:>8} {:>24} {}\n", "strategy",
             "aggregate", "orders", "setting", "R@1 [95% CI]", "R@3 [95% CI]", "R@5 [95% CI]", "calls/q",
             "images/q", "dR@1 vs ref [95% CI]", "pareto");
  for (const auto& row : r.rows) {
    fmt::print("{:<18} {:<19} {:<7} {:<15} {:>22} {:>22} {:>22} {:>8.2f} {:>8.2f} {:>24} {}\n", row.strategy,
               row.aggregate, row.orders, row.setting, interval(row.recall[0], row.ci95[0]),
               interval(row.recall[1], row.ci95[1]), interval(row.recall[2], row.ci95[2]),
               row.judge_calls_per_query, row.images_per_query,
               fmt::format("{:+.3f} [{:+.3f},{:+.3f}]", row.delta_r1, row.delta_r1_ci95.first,
                           row.delta_r1_ci95.second),
               row.pareto ? "*" : "");
  }
  const auto& ref = r.rows[static_cast<std::size_t>(r.reference_row)];
  fmt::print(
      "\nPareto front (judgments per query -> R@1; no setting has a higher R@1 for as few judgments):\n");
  for (const auto& row : r.rows)
    if (row.pareto)
      fmt::print("  {:>7.2f}  {:.3f}  {} {} {} {}\n", row.judge_calls_per_query, row.recall[0], row.strategy,
                 row.aggregate, row.orders, row.setting);
  fmt::print(
      "Goal: within {:.0f} R@1 point of all-pairs-bt both orders ({:.3f}, {:.1f} judgments) at <= {:.0f}% "
      "of its judgments: ",
      100 * r.goal.tolerance, ref.recall[0], ref.judge_calls_per_query, 100 * r.goal.fraction);
  if (r.goal.best_row < 0) {
    fmt::print("not met\n");
  } else {
    const auto& b = r.rows[static_cast<std::size_t>(r.goal.best_row)];
    fmt::print("met by {} {} {} {}: {:.2f} judgments ({:.0f}%), dR@1 {:+.3f} [{:+.3f},{:+.3f}]\n", b.strategy,
               b.aggregate, b.orders, b.setting, b.judge_calls_per_query,
               100 * b.judge_calls_per_query / ref.judge_calls_per_query, b.delta_r1, b.delta_r1_ci95.first,
               b.delta_r1_ci95.second);
  }
}

nlohmann::json report_json(const SimulationReport& r) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : r.rows) rows.push_back(to_json(row));
  nlohmann::json goal = {
      {"fraction", r.goal.fraction}, {"tolerance", r.goal.tolerance}, {"met", r.goal.best_row >= 0}};
  if (r.goal.best_row >= 0) goal["best"] = to_json(r.rows[static_cast<std::size_t>(r.goal.best_row)]);
  return {{"config", to_json(r.config)}, {"rows", rows},   {"topk_ceiling", r.topk_ceiling}, {"goal", goal},
          {"ci_method", r.ci_method},    {"note", kNotice}};
}

// The Pareto figure of one simulation (Vega-Lite, the report's cost_accuracy figure).
void write_figure(const SimulationReport& r, const std::string& dir) {
  std::vector<CostPoint> points;
  for (const auto& row : r.rows) {
    std::string name = row.strategy;
    for (const std::string& part : {row.aggregate, row.orders, row.setting})
      if (part != "-") name += " " + part;
    const std::string group = row.strategy == "pairwise" ? row.aggregate : row.strategy;
    points.push_back({name, row.judge_calls_per_query, row.recall[0], group});
  }
  const Figure f = cost_accuracy_figure(
      points, fmt::format("SIMULATED judge: judgments per query against R@1 at K={}", r.config.k));
  const std::string path = fmt::format("{}/pareto-k{}.vl.json", dir, r.config.k);
  write_file_atomic(path, f.spec.dump(1) + "\n");
  fmt::print(stderr, "simulate: wrote {} (render: node web/render-figures.mjs {})\n", path, dir);
}

}  // namespace

void add_simulate(CLI::App& app) {
  auto* cmd = app.add_subcommand("simulate",
                                 "Simulation study of rerank strategies and aggregators with SIMULATED "
                                 "judges (expected R@1/3/5 with 95% "
                                 "intervals, judge calls per query, the Pareto front); --fit calibrates the "
                                 "judge to the paper's result");
  auto config = std::make_shared<SimulationConfig>();
  auto as_json = std::make_shared<bool>(false);
  auto fit = std::make_shared<bool>(false);
  auto model = std::make_shared<std::string>("independent");
  auto target = std::make_shared<FitTarget>();
  auto report_k = std::make_shared<std::vector<int>>(std::vector<int>{5, 10});
  auto figure_dir = std::make_shared<std::string>();
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
  cmd->add_option("--judge-model", *model,
                  "independent (errors are independent coin flips) or correlated (per-query difficulty, "
                  "look-alikes, per-pair errors shared by both orders, partly informative confidence, 3 "
                  "semi-positives); single flags below override it")
      ->check(CLI::IsMember({"independent", "correlated"}))
      ->capture_default_str();
  struct Override {
    CLI::Option* option;
    double SimulationConfig::*field;
  };
  auto overrides = std::make_shared<std::vector<Override>>();
  auto values = std::make_shared<SimulationConfig>();
  const auto knob = [&](const char* flag, double SimulationConfig::*field, const char* help) {
    overrides->push_back({cmd->add_option(flag, (*values).*field, help), field});
  };
  knob("--query-difficulty", &SimulationConfig::query_difficulty, "SD of the per-query log slope multiplier");
  knob("--appearance-noise", &SimulationConfig::appearance_noise,
       "SD of each candidate's perceived-quality offset, shared by all its comparisons");
  knob("--pair-noise", &SimulationConfig::pair_noise,
       "SD of a per-pair logit offset shared by both orders (up to 2x for look-alike tiles)");
  knob("--confidence-informativeness", &SimulationConfig::confidence_informativeness,
       "1: an answer far from 0.5 is more often right; 0: its confidence says nothing");
  knob("--rank-gap-effect", &SimulationConfig::rank_gap_effect,
       "Slope x (1 - e/|rank gap|): neighbours in the list are harder to tell apart");
  knob("--retrieval-coupling", &SimulationConfig::retrieval_coupling,
       "Accuracy logit / (1 + this x the positive's retrieval rank): hard queries are hard for both stages");
  auto* semi = cmd->add_option("--semi-positives", values->semi_positives, "Semi-positives per query");
  cmd->add_flag("--fit", *fit,
                "Fit judge accuracy and position bias (correlated model unless --judge-model says otherwise) "
                "to the paper's result, then predict every strategy at each --report-k");
  cmd->add_option("--target-r1", target->r1, "--fit: R@1 after reranking")->capture_default_str();
  cmd->add_option("--target-r5", target->r5, "--fit: R@5 after reranking")->capture_default_str();
  cmd->add_option("--target-baseline-r1", target->baseline_r1, "--fit: retrieval R@1")->capture_default_str();
  cmd->add_option("--target-baseline-r5", target->baseline_r5, "--fit: retrieval R@5")->capture_default_str();
  cmd->add_option("--target-k", target->k, "--fit: the K of the reported result")->capture_default_str();
  cmd->add_option("--target-queries", target->queries, "--fit: queries behind the reported result")
      ->capture_default_str();
  cmd->add_option("--report-k", *report_k, "--fit: rerank depths to predict every strategy at")
      ->capture_default_str();
  cmd->add_option("--figure-dir", *figure_dir,
                  "Write the Pareto figure (judgments per query against R@1) of each simulation as "
                  "DIR/pareto-k<K>.vl.json (Vega-Lite)")
      ->check(CLI::ExistingDirectory);
  cmd->add_flag(
      "--json", *as_json,
      "Print JSON: one object per (strategy, aggregate, orders, setting) row, one per line; with --fit "
      "one object with the fit and the predictions");
  cmd->callback([=] {
    const bool correlated = *model == "correlated" || (*fit && cmd->count("--judge-model") == 0);
    SimulationConfig c = correlated ? correlated_judge_model(*config) : *config;
    for (const auto& o : *overrides)
      if (o.option->count() > 0) c.*(o.field) = (*values).*(o.field);
    if (semi->count() > 0) c.semi_positives = values->semi_positives;
    if (!*fit) {
      const SimulationReport report = run_simulation(c);
      if (!figure_dir->empty()) write_figure(report, *figure_dir);
      if (*as_json) {
        for (const auto& row : report.rows) {
          nlohmann::json j = to_json(row);
          j["config"] = to_json(report.config);
          j["ci_method"] = report.ci_method;
          j["note"] = kNotice;
          std::cout << j.dump() << "\n";
        }
      } else {
        fmt::print("{}\n", kNotice);
        print_table(report);
        fmt::print("\n(judge: simulated)\n");
      }
      return;
    }
    SimulationConfig fit_base = c;
    const FitResult f = fit_simulated_judge(*target, fit_base);
    std::vector<SimulationReport> predictions;
    for (int k : *report_k) {
      SimulationConfig p = f.model;
      p.k = k;
      p.queries = fit_base.queries;
      predictions.push_back(run_simulation(p));
      if (!figure_dir->empty()) write_figure(predictions.back(), *figure_dir);
    }
    if (*as_json) {
      nlohmann::json j = {{"fit", to_json(f)}, {"predictions", nlohmann::json::array()}, {"note", kNotice}};
      for (const auto& r : predictions) j["predictions"].push_back(report_json(r));
      std::cout << j.dump() << "\n";
      return;
    }
    fmt::print("{}\n\n", kNotice);
    const auto& t = f.target;
    fmt::print(
        "Fit to the paper's protocol (pairwise selection, single order, top 3) at K={}: retrieval R@1 "
        "{:.3f}, "
        "R@5 {:.3f}; reported R@1 {} and R@5 {} (95% intervals at {} queries)\n",
        t.k, t.baseline_r1, t.baseline_r5, interval(t.r1, f.target_ci95[0]), interval(t.r5, f.target_ci95[1]),
        t.queries);
    fmt::print(
        "fitted judge: accuracy {:.2f}, position bias {:.2f} ({} evaluations of {} simulated queries)\n",
        f.model.judge_accuracy, f.model.position_bias, f.evaluations, fit_base.queries);
    fmt::print("reproduced: R@1 {}, R@5 {}: {} the reported intervals\n\n",
               interval(f.reproduced.recall[0], f.reproduced.ci95[0]),
               interval(f.reproduced.recall[2], f.reproduced.ci95[2]),
               f.within_intervals ? "within" : "OUTSIDE");
    for (const auto& r : predictions) {
      fmt::print("== predictions at K={} for the fitted judge\n", r.config.k);
      print_table(r);
      fmt::print("\n");
    }
    fmt::print("(judge: simulated)\n");
  });
}

}  // namespace georank::cli
