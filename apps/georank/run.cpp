// `georank run --config run.toml`: dataset -> retrieval (or imported candidates) -> several
// rerank strategies -> one metrics table. Each step is the corresponding subcommand, driven
// with the flags the config file names, so a config section reads like a command line.

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.hpp"
#include "common_flags.hpp"
#include "dataset_options.hpp"
#include "exit_status.hpp"
#include "georank/core/atomic_file.hpp"
#include "georank/core/error.hpp"
#include "georank/core/log.hpp"
#include "georank/data/dataset.hpp"
#include "georank/data/ranking.hpp"
#include "georank/eval/metrics.hpp"
#include "georank/rerank/run.hpp"
#include "georank/retrieval/retrieval.hpp"
#include "run_config.hpp"

namespace georank::cli {
namespace {

namespace fs = std::filesystem;

// One step of a run: a subcommand, its arguments (without the program name) and the config
// sections they came from (for messages).
struct Step {
  void (*add)(CLI::App&);
  std::vector<std::string> args;
  std::string sections;
  /// What check_step parses: `args`, with a file that earlier steps make replaced by one that
  /// exists already (the config), since only the settings are checked.
  std::vector<std::string> check_args;
};

// The error kind a step's flag error stands for (a missing file is "not found", not "bad flag").
ErrorKind kind_of(const CLI::ParseError& e) {
  const int status = parse_error_status(e);
  return status == kExitNotFound ? ErrorKind::not_found
         : status == kExitIo     ? ErrorKind::io
                                 : ErrorKind::invalid_argument;
}

// Parses a step's arguments and validates its settings without running it: every step is
// checked before the first one starts, so a typo in the last section costs no work.
void check_step(const std::string& config_path, const Step& s) {
  CLI::App app{"georank"};
  app.require_subcommand(1);
  s.add(app);
  std::vector<std::string> args = s.check_args.empty() ? s.args : s.check_args;
  args.push_back(kCheckOnlyFlag);
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  const auto fail = [&](const std::string& why, ErrorKind kind = ErrorKind::invalid_argument) {
    return Error(kind, fmt::format("{}: {} (step 'georank {}' from {}; keys are that command's flags)",
                                   config_path, why, s.args.front(), s.sections));
  };
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    throw fail(e.what(), kind_of(e));
  } catch (const Error& e) {
    throw fail(e.what(), e.kind());
  }
}

// Runs one subcommand in-process.
double run_step(const Step& s) {
  CLI::App app{"georank"};
  app.require_subcommand(1);
  s.add(app);
  std::vector<std::string> reversed(s.args.rbegin(), s.args.rend());
  log_info("$ georank {}", fmt::join(s.args, " "));
  const auto t0 = std::chrono::steady_clock::now();
  try {
    app.parse(reversed);
  } catch (const CLI::RuntimeError&) {
    throw;  // a step's own outcome (interrupted, dataset not clean) keeps its exit status
  } catch (const CLI::ParseError& e) {
    throw Error(kind_of(e), fmt::format("run: step 'georank {}': {}", s.args.front(), e.what()));
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string fmt_pct(const nlohmann::json& v) {
  return v.is_number() ? fmt::format("{:.1f}", 100 * v.get<double>()) : "n/a";
}

struct Row {
  std::string name;
  nlohmann::json metrics;
  std::int64_t vlm_calls = 0;
  double seconds = 0;
  std::string file;
};

}  // namespace

void run_experiment(const std::string& config_path, bool dry_run) {
  const RunConfig cfg = read_run_config(config_path);
  fs::create_directories(cfg.out_dir);
  const std::string candidates =
      cfg.candidates.empty() ? (fs::path(cfg.out_dir) / "candidates.jsonl").string() : cfg.candidates;
  nlohmann::json steps = nlohmann::json::array();

  // The whole plan first, checked before anything runs.
  std::vector<Step> retrieval_steps, rerank_steps;
  if (cfg.candidates.empty()) {
    const std::string emb = (fs::path(cfg.out_dir) / "embeddings").string();
    std::vector<std::string> embed = {"embed"};
    embed.insert(embed.end(), cfg.dataset_args.begin(), cfg.dataset_args.end());
    embed.insert(embed.end(), cfg.embed_args.begin(), cfg.embed_args.end());
    embed.insert(embed.end(), {"--out-dir", emb});
    retrieval_steps.push_back({add_embed, embed, "[dataset] and [embed]", {}});
    std::vector<std::string> retrieve = {"retrieve"};
    retrieve.insert(retrieve.end(), cfg.dataset_args.begin(), cfg.dataset_args.end());
    retrieve.insert(retrieve.end(), cfg.retrieve_args.begin(), cfg.retrieve_args.end());
    retrieve.insert(retrieve.end(), {"--query-embeddings", emb + "/queries.npy", "--gallery-embeddings",
                                     emb + "/gallery.npy", "--out", candidates});
    std::vector<std::string> check_retrieve(retrieve.begin(), retrieve.end() - 6);
    check_retrieve.insert(check_retrieve.end(), {"--query-embeddings", config_path, "--gallery-embeddings",
                                                 config_path, "--out", candidates});
    retrieval_steps.push_back({add_retrieve, retrieve, "[dataset] and [retrieve]", check_retrieve});
  }
  std::vector<std::pair<std::string, std::string>> reranked;  // strategy name -> file
  for (const auto& s : cfg.strategies) {
    const std::string out = (fs::path(cfg.out_dir) / ("reranked-" + s.name + ".jsonl")).string();
    std::vector<std::string> args = {"rerank"};
    args.insert(args.end(), cfg.dataset_args.begin(), cfg.dataset_args.end());
    args.insert(args.end(), cfg.rerank_args.begin(), cfg.rerank_args.end());
    args.insert(args.end(), s.args.begin(), s.args.end());
    std::vector<std::string> check_args = args;
    args.insert(args.end(), {"--candidates", candidates, "--out", out});
    check_args.insert(check_args.end(),
                      {"--candidates", cfg.candidates.empty() ? config_path : candidates, "--out", out});
    rerank_steps.push_back(
        {add_rerank, args, "[dataset], [rerank] and [strategies." + s.name + "]", check_args});
    reranked.emplace_back(s.name, out);
  }
  for (const auto* group : {&retrieval_steps, &rerank_steps})
    for (const Step& s : *group) {
      check_step(config_path, s);
      steps.push_back(s.args);
    }
  if (dry_run) {
    for (const auto& s : steps) fmt::print("georank {}\n", fmt::join(s.get<std::vector<std::string>>(), " "));
    return;
  }

  double retrieval_seconds = 0;
  for (const Step& s : retrieval_steps) retrieval_seconds += run_step(s);
  std::map<std::string, double> rerank_seconds;
  for (std::size_t i = 0; i < rerank_steps.size(); ++i)
    rerank_seconds[reranked[i].first] = run_step(rerank_steps[i]);

  // Metrics side by side.
  CLI::App parser{"dataset"};
  DatasetSpec data;
  add_dataset_options(parser, data);
  std::vector<std::string> reversed(cfg.dataset_args.rbegin(), cfg.dataset_args.rend());
  parser.parse(reversed);
  const Dataset ds = load_dataset(data);
  std::vector<Row> rows;
  const auto baseline =
      candidates.ends_with(".csv") ? read_candidates_csv(candidates) : read_rankings(candidates);
  rows.push_back(
      {"baseline (retrieval)", to_json(compute_metrics(baseline, ds)), 0, retrieval_seconds, candidates});
  for (const auto& [name, file] : reranked) {
    Row r{name, to_json(compute_metrics(read_rankings(file), ds)), 0, rerank_seconds[name], file};
    std::ifstream meta(meta_path_for(file));
    if (meta) {
      const auto m = nlohmann::json::parse(meta, nullptr, false);
      if (m.is_object() && m.contains("counts") && m["counts"].contains("backend_calls"))
        r.vlm_calls = m["counts"]["backend_calls"].get<std::int64_t>();
    }
    rows.push_back(std::move(r));
  }

  const auto& base = rows.front().metrics;
  std::string table =
      fmt::format("| {:<28} | {:>6} | {:>6} | {:>6} | {:>6} | {:>10} | {:>7} | {:>9} | {:>8} |\n", "strategy",
                  "R@1", "R@3", "R@5", "hit", "median m", "ΔR@1", "VLM calls", "time s");
  table += fmt::format("|{:-<30}|{:->8}|{:->8}|{:->8}|{:->8}|{:->12}|{:->9}|{:->11}|{:->10}|\n", "", "", "",
                       "", "", "", "", "", "");
  nlohmann::json summary_rows = nlohmann::json::array();
  for (const auto& r : rows) {
    const auto& m = r.metrics;
    const auto recall = [&](const char* k) {
      return m.at("recall").contains(k) ? m.at("recall").at(k) : nlohmann::json();
    };
    const nlohmann::json median =
        m.at("meter_error").is_object() ? m.at("meter_error").at("median") : nlohmann::json();
    const double delta = recall("1").is_number() && base.at("recall").at("1").is_number()
                             ? 100 * (recall("1").get<double>() - base.at("recall").at("1").get<double>())
                             : 0.0;
    table += fmt::format(
        "| {:<28} | {:>6} | {:>6} | {:>6} | {:>6} | {:>10} | {:>+7.1f} | {:>9} | {:>8.1f} |\n", r.name,
        fmt_pct(recall("1")), fmt_pct(recall("3")), fmt_pct(recall("5")), fmt_pct(m.at("hit_rate")),
        median.is_number() ? fmt::format("{:.1f}", median.get<double>()) : "n/a", delta, r.vlm_calls,
        r.seconds);
    summary_rows.push_back({{"name", r.name},
                            {"file", r.file},
                            {"metrics", m},
                            {"delta_r1", delta / 100},
                            {"vlm_calls", r.vlm_calls},
                            {"seconds", r.seconds}});
  }
  fmt::print("\n{}", table);
  if (cfg.random_weights)
    fmt::print("NOTE: random-weight models / synthetic data: these numbers mean nothing.\n");

  const nlohmann::json summary = {{"config_file", config_path},
                                  {"config", cfg.resolved},
                                  {"steps", steps},
                                  {"rows", summary_rows},
                                  {"random_weights", cfg.random_weights}};
  write_json_atomic((fs::path(cfg.out_dir) / "summary.json").string(), summary);
  const std::string md_path = (fs::path(cfg.out_dir) / "summary.md").string();
  {
    AtomicFile file(md_path);
    auto& md = file.stream();
    md << "# georank run: " << config_path << "\n\n" << table;
    if (cfg.random_weights) md << "\nRandom-weight models / synthetic data: these numbers mean nothing.\n";
    md << "\nSteps:\n\n";
    for (const auto& s : steps)
      md << "    georank " << fmt::format("{}", fmt::join(s.get<std::vector<std::string>>(), " ")) << "\n";
    file.commit();
  }
  fmt::print("wrote {} and {}\n", (fs::path(cfg.out_dir) / "summary.json").string(), md_path);
}

void add_run(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "run",
      "Run a whole experiment from a TOML config: retrieval, several rerank strategies, one metrics table");
  auto path = std::make_shared<std::string>();
  auto dry = std::make_shared<bool>(false);
  cmd->add_option("--config", *path, "Run config (TOML; keys are the flags of each step)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_flag("--dry-run", *dry, "Print the steps' command lines and stop");
  cmd->callback([path, dry] { run_experiment(*path, *dry); });
}

}  // namespace georank::cli
