#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "dataset_options.hpp"
#include "exit_status.hpp"
#include "georank/data/dataset_check.hpp"

namespace georank::cli {
namespace {

const char* kind_name(DatasetIssue::Kind k) {
  switch (k) {
    case DatasetIssue::Kind::malformed: return "malformed";
    case DatasetIssue::Kind::missing: return "missing";
    case DatasetIssue::Kind::unreadable: return "unreadable";
  }
  return "?";
}

void run_check(const DatasetSpec& opts, const DatasetCheckOptions& check, bool as_json) {
  const DatasetSpec spec = opts;
  const DatasetCheckReport r = check_dataset(spec, check);
  if (as_json) {
    nlohmann::json counts = nlohmann::json::array();
    for (const auto& c : r.counts)
      counts.push_back(
          {{"city", c.city}, {"split", c.split}, {"n_queries", c.n_queries}, {"n_tiles", c.n_tiles}});
    nlohmann::json issues = nlohmann::json::array();
    for (const auto& i : r.issues)
      issues.push_back({{"kind", kind_name(i.kind)}, {"where", i.where}, {"reason", i.reason}});
    std::cout << nlohmann::json{{"dataset", to_json(spec)},
                                {"clean", r.clean()},
                                {"counts", counts},
                                {"n_files_checked", r.n_files_checked},
                                {"issues", issues}}
                     .dump(2)
              << "\n";
  } else {
    fmt::print("{:<16} {:<6} {:>10} {:>10}\n", "city", "split", "queries", "tiles");
    for (const auto& c : r.counts)
      fmt::print("{:<16} {:<6} {:>10} {:>10}\n", c.city.empty() ? "-" : c.city,
                 c.split.empty() ? "-" : c.split, c.n_queries, c.n_tiles);
    std::size_t n[3] = {0, 0, 0};
    for (const auto& i : r.issues) {
      ++n[static_cast<int>(i.kind)];
      fmt::print("{}\n", i.to_string());
    }
    fmt::print("{} files checked; {} malformed lines, {} missing, {} unreadable: {}\n", r.n_files_checked,
               n[0], n[1], n[2], r.clean() ? "clean" : "NOT clean");
  }
  if (!r.clean()) throw CLI::RuntimeError(kExitBadInput);
}

}  // namespace

void add_dataset(CLI::App& app) {
  auto* cmd = app.add_subcommand("dataset", "Inspect datasets");
  cmd->require_subcommand(1);
  auto* check = cmd->add_subcommand(
      "check",
      "Count queries and tiles per city/split; list missing or unreadable files and malformed label lines");
  struct State {
    DatasetSpec opts;
    DatasetCheckOptions check;
    bool only_split = false;
    bool json = false;
  };
  auto st = std::make_shared<State>();
  add_dataset_options(*check, st->opts);
  check->add_flag("--decode", st->check.decode_images, "Decode every image (slow) instead of opening it");
  check->add_flag("--only-split", st->only_split, "Check only --split (default: train and test)");
  check->add_flag("--json", st->json, "Print one JSON object");
  check->callback([st] {
    st->check.all_splits = !st->only_split;
    run_check(st->opts, st->check, st->json);
  });
}

}  // namespace georank::cli
