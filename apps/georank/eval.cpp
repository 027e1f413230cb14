#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "dataset_options.hpp"
#include "georank/core/error.hpp"
#include "georank/core/log.hpp"
#include "georank/eval/metrics.hpp"
#include "georank/retrieval/retrieval.hpp"

namespace georank::cli {
namespace {

std::string pct(const std::optional<double>& v) {
  return v ? fmt::format("{:.2f}%", 100 * *v) : "unknown";
}

struct EvalOptions {
  DatasetSpec data;
  std::string rankings;
  std::vector<int> ks = {1, 3, 5, 10};
  std::vector<double> meters = {1, 5, 10, 25, 50};
  bool json = false;
};

void run_eval(const EvalOptions& o) {
  const Dataset ds = load_dataset(o.data);
  const bool is_csv = o.rankings.size() > 4 && o.rankings.substr(o.rankings.size() - 4) == ".csv";
  std::vector<QueryRanking> rankings = is_csv ? read_candidates_csv(o.rankings) : read_rankings(o.rankings);
  if (ds.spec.subset > 0) {  // evaluate exactly the subset's queries
    std::erase_if(rankings, [&](const QueryRanking& r) { return !ds.query_by_id.contains(r.query_id); });
  } else {
    for (const auto& r : rankings)
      if (!ds.query_by_id.contains(r.query_id))
        throw Error(ErrorKind::not_found, o.rankings + ": query '" + r.query_id + "' is not in the dataset");
  }
  if (rankings.size() < ds.queries.size())
    log_warn("{} of {} dataset queries have no ranking in {}", ds.queries.size() - rankings.size(),
             ds.queries.size(), o.rankings);
  MetricsConfig cfg;
  cfg.ks = o.ks;
  cfg.meter_thresholds = o.meters;
  Metrics m = compute_metrics(rankings, ds, cfg);
  if (const auto side = meta_path_for(o.rankings); std::filesystem::exists(side)) {
    try {
      const auto meta = nlohmann::json::parse(std::ifstream(side));
      if (meta.value("random_weights", false))
        m.notes.push_back("the rankings come from a random-weight encoder (" + side +
                          "): these numbers mean nothing");
    } catch (const nlohmann::json::exception&) {
      log_warn("{}: not JSON; ignored", side);
    }
  }
  if (std::filesystem::exists(std::filesystem::path(ds.spec.root()) / "SYNTHETIC.json"))
    m.notes.push_back(
        "synthetic dataset (georank fixtures dataset): these numbers say nothing about real-world accuracy");
  if (o.json) {
    std::cout << to_json(m).dump(2) << "\n";
    for (const auto& n : m.notes) log_warn("{}", n);
    return;
  }
  fmt::print("queries        {}\ngallery        {} tiles\n", m.n_queries, m.gallery_size);
  for (const auto& [k, v] : m.recall) fmt::print("R@{:<12} {}\n", k, pct(v));
  fmt::print("R@1%           {}  (VIGOR: positive within the top floor(0.01*N)+1 = {})\n", pct(m.r_at_1pct),
             m.r_at_1pct_rank);
  fmt::print("hit rate       {}  (VIGOR: top-1 is the positive or a semi-positive)\n", pct(m.hit_rate));
  fmt::print("hit rate (S4G) {}  (Sample4Geo: only semi-positives may outrank the positive)\n",
             pct(m.hit_rate_sample4geo));
  fmt::print("MRR            {}\n", m.mrr ? fmt::format("{:.4f}", *m.mrr) : "unknown");
  if (m.meter_error.median) {
    fmt::print("metre error    median {:.2f} m, mean {:.2f} m (query GPS to top-1 tile centre)\n",
               *m.meter_error.median, *m.meter_error.mean);
    for (const auto& [t, v] : m.meter_error.accuracy_at) fmt::print("  <= {:<6} m   {}\n", t, pct(v));
  } else {
    fmt::print("metre error    unavailable\n");
  }
  for (const auto& n : m.notes) fmt::print("note: {}\n", n);
}

}  // namespace

void add_eval(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "eval", "Retrieval metrics of a rankings file (JSONL, or CSV query_id,tile_id,score)");
  auto o = std::make_shared<EvalOptions>();
  add_dataset_options(*cmd, o->data);
  cmd->add_option("--rankings", o->rankings, "Rankings JSONL (retrieve/rerank output) or candidates CSV")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--k", o->ks, "R@k cut-offs")->delimiter(',')->capture_default_str();
  cmd->add_option("--meters", o->meters, "Metre-accuracy thresholds")->delimiter(',')->capture_default_str();
  cmd->add_flag("--json", o->json, "Print one JSON object");
  cmd->callback([o] { run_eval(*o); });
}

}  // namespace georank::cli
