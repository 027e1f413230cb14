#include <chrono>
#include <filesystem>

#include <fmt/format.h>

#include "georank/core/atomic_file.hpp"
#include "georank/core/error.hpp"
#include "georank/core/log.hpp"
#include "georank/core/output_check.hpp"
#include "georank/core/recorded_time.hpp"
#include "georank/data/ranking.hpp"
#include "georank/eval/experiment.hpp"

namespace georank {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Runs `check`, naming `where` in the Error it throws.
template <class F>
void checked(const std::string& where, F&& check) {
  try {
    check();
  } catch (const Error& e) {
    throw Error(e.kind(), fmt::format("{}: {}", where, e.what()));
  }
}

void require_file(const std::string& where, const char* key, const std::string& path) {
  if (!path.empty() && !fs::is_regular_file(path))
    throw Error(ErrorKind::not_found, fmt::format("{} {}: file not found: {}", where, key, path));
}

std::string fmt_pct(const json& v) {
  return v.is_number() ? fmt::format("{:.1f}", 100 * v.get<double>()) : "n/a";
}

json recall_at(const json& metrics, const char* k) {
  const auto& r = metrics.at("recall");
  return r.contains(k) ? r.at(k) : json();
}

std::string markdown_table(const std::vector<ExperimentRow>& rows) {
  std::string table =
      fmt::format("| {:<28} | {:>6} | {:>6} | {:>6} | {:>6} | {:>10} | {:>7} | {:>9} | {:>8} |\n", "strategy",
                  "R@1", "R@3", "R@5", "hit", "median m", "ΔR@1", "VLM calls", "time s");
  table += fmt::format("|{:-<30}|{:->8}|{:->8}|{:->8}|{:->8}|{:->12}|{:->9}|{:->11}|{:->10}|\n", "", "", "",
                       "", "", "", "", "", "");
  for (const auto& r : rows) {
    const auto& m = r.metrics;
    const json median = m.at("meter_error").is_object() ? m.at("meter_error").at("median") : json();
    table += fmt::format(
        "| {:<28} | {:>6} | {:>6} | {:>6} | {:>6} | {:>10} | {:>+7.1f} | {:>9} | {:>8.1f} |\n", r.name,
        fmt_pct(recall_at(m, "1")), fmt_pct(recall_at(m, "3")), fmt_pct(recall_at(m, "5")),
        fmt_pct(m.at("hit_rate")), median.is_number() ? fmt::format("{:.1f}", median.get<double>()) : "n/a",
        100 * r.delta_r1, r.vlm_calls, r.seconds);
  }
  return table;
}

ExperimentRow metrics_row(std::string name, std::string file, const std::vector<QueryRanking>& rankings,
                          const Dataset& ds, const MetricsConfig& metrics, const json* baseline) {
  ExperimentRow row{std::move(name), std::move(file), to_json(compute_metrics(rankings, ds, metrics))};
  const json r1 = recall_at(row.metrics, "1");
  if (baseline != nullptr) {
    const json b1 = recall_at(*baseline, "1");
    row.delta_r1 = r1.is_number() && b1.is_number() ? r1.get<double>() - b1.get<double>() : 0.0;
  }
  return row;
}

// Stage 1: embeddings and candidates in OUT, unless the config imports candidates.
bool run_retrieval(const ExperimentConfig& cfg, const ExperimentPaths& paths, const Dataset& ds,
                   const ExperimentHooks& hooks) {
  if (!cfg.candidates.empty()) return true;
  const EmbedStepResult embedded = embed_dataset(ds, cfg.embed, paths.embeddings_dir, hooks.embed);
  if (!embedded.complete) return false;
  RetrieveConfig rc = cfg.retrieve;
  rc.query_embeddings = embedded.queries_npy;
  rc.gallery_embeddings = embedded.gallery_npy;
  RetrieveResult result = retrieve(ds, rc);
  result.meta["output"] = paths.candidates;
  write_retrieval_output(result.rankings, result.meta, paths.candidates);
  return true;
}

}  // namespace

std::string ExperimentPaths::reranked(const std::string& strategy) const {
  return (fs::path(out) / ("reranked-" + strategy + ".jsonl")).string();
}

ExperimentPaths experiment_paths(const ExperimentConfig& c) {
  const fs::path out(c.out);
  ExperimentPaths p;
  p.out = c.out;
  p.embeddings_dir = (out / "embeddings").string();
  p.candidates = c.candidates.empty() ? (out / "candidates.jsonl").string() : c.candidates;
  p.summary_json = (out / "summary.json").string();
  p.summary_md = (out / "summary.md").string();
  p.resolved_toml = (out / "run.resolved.toml").string();
  return p;
}

void validate(const ExperimentConfig& c, const std::string& where) {
  checked(where + ": [dataset]", [&] { (void)parse_dataset_spec(c.dataset.dataset); });
  checked(where + ": shard", [&] { (void)parse_shard(c.shard); });
  if (c.strategies.empty()) throw Error(ErrorKind::invalid_argument, where + ": no strategies");
  if (c.candidates.empty()) {
    checked(where + ": [embed]", [&] { validate(c.embed); });
    require_file(where + ": [embed]", "model", c.embed.model);
    require_file(where + ": [embed]", "card", c.embed.card);
    if (c.retrieve.k < 1) throw Error(ErrorKind::invalid_argument, where + ": [retrieve] k must be >= 1");
  } else {
    require_file(where, "candidates", c.candidates);
  }
  const ExperimentPaths paths = experiment_paths(c);
  std::vector<PathArgument> outputs = {{"out (summary.json)", paths.summary_json},
                                       {"out (summary.md)", paths.summary_md},
                                       {"out (run.resolved.toml)", paths.resolved_toml}};
  std::vector<PathArgument> inputs;
  if (c.candidates.empty()) {
    outputs.push_back({"out (candidates.jsonl)", paths.candidates});
  } else {
    inputs.push_back({"candidates", c.candidates});
  }
  for (const auto& s : c.strategies) {
    const std::string w = where + ": [strategies." + s.name + "]";
    checked(w, [&] {
      validate(s.step.rerank);
      validate(s.step.judge);
      (void)prompt_for(s.step.rerank);
    });
    require_file(w, "model", s.step.judge.llama.model);
    require_file(w, "mmproj", s.step.judge.llama.mmproj);
    outputs.push_back({"[strategies." + s.name + "] (reranked)", paths.reranked(s.name)});
    outputs.push_back({"[strategies." + s.name + "] (sidecar)", meta_path_for(paths.reranked(s.name))});
    if (!s.step.cache.empty()) inputs.push_back({"[strategies." + s.name + "] cache", s.step.cache});
  }
  checked(where, [&] { check_outputs(outputs, inputs); });
}

ExperimentResult run_experiment(const ExperimentConfig& cfg, const ExperimentHooks& hooks,
                                const std::string& config_file) {
  validate(cfg, config_file.empty() ? "run" : config_file);
  const ExperimentPaths paths = experiment_paths(cfg);
  fs::create_directories(cfg.out);
  AtomicFile resolved(paths.resolved_toml);
  resolved.stream() << resolved_toml(cfg);
  resolved.commit();

  ExperimentResult result;
  Dataset ds = load_dataset(cfg.dataset);
  apply_shard(ds, parse_shard(cfg.shard));
  const auto start = std::chrono::steady_clock::now();
  if (!run_retrieval(cfg, paths, ds, hooks)) {
    result.complete = false;
    return result;
  }
  const auto baseline = read_step_candidates(ds, paths.candidates);
  result.rows.push_back(
      metrics_row("baseline (retrieval)", paths.candidates, baseline, ds, cfg.metrics, nullptr));
  result.rows.back().seconds = recorded_seconds_since(start);

  const auto make_judge = hooks.make_judge ? hooks.make_judge
                                           : [](const JudgeConfig& judge, const DatasetImages&,
                                                std::uint64_t) { return make_vlm_backend(judge); };
  for (const auto& s : cfg.strategies) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::string out = paths.reranked(s.name);
    DatasetImages images(ds);
    const auto backend = make_judge(s.step.judge, images, s.step.rerank.order_seed);
    const auto progress = hooks.rerank_progress ? hooks.rerank_progress(s) : nullptr;
    const RerankStepResult step = rerank_step(ds, paths.candidates, out, s.step, *backend, images,
                                              {{"strategy_name", s.name}}, progress);
    ExperimentRow row =
        metrics_row(s.name, out, step.run.rankings, ds, cfg.metrics, &result.rows.front().metrics);
    row.vlm_calls = step.run.backend_calls;
    row.seconds = recorded_seconds_since(t0);
    result.rows.push_back(std::move(row));
  }
  ExperimentResult written = write_experiment_summary(cfg, std::move(result.rows), config_file);
  written.complete = result.complete;
  return written;
}

std::vector<ExperimentRow> experiment_rows(const ExperimentConfig& cfg, const Dataset& ds) {
  const ExperimentPaths paths = experiment_paths(cfg);
  std::vector<ExperimentRow> rows;
  rows.push_back(metrics_row("baseline (retrieval)", paths.candidates,
                             read_step_candidates(ds, paths.candidates), ds, cfg.metrics, nullptr));
  for (const auto& s : cfg.strategies) {
    const std::string file = paths.reranked(s.name);
    rows.push_back(metrics_row(s.name, file, read_rankings(file), ds, cfg.metrics, &rows.front().metrics));
  }
  return rows;
}

ExperimentResult write_experiment_summary(const ExperimentConfig& cfg, std::vector<ExperimentRow> rows_in,
                                          const std::string& config_file) {
  const ExperimentPaths paths = experiment_paths(cfg);
  ExperimentResult result;
  result.rows = std::move(rows_in);
  json steps = json::array();
  if (cfg.candidates.empty()) {
    steps.push_back({{"step", "embed"}, {"out", paths.embeddings_dir}});
    steps.push_back({{"step", "retrieve"}, {"out", paths.candidates}});
  }
  for (const auto& s : cfg.strategies)
    steps.push_back({{"step", "rerank"}, {"strategy", s.name}, {"out", paths.reranked(s.name)}});

  result.table = markdown_table(result.rows);
  json rows = json::array();
  for (const auto& r : result.rows)
    rows.push_back({{"name", r.name},
                    {"file", r.file},
                    {"metrics", r.metrics},
                    {"delta_r1", r.delta_r1},
                    {"vlm_calls", r.vlm_calls},
                    {"seconds", r.seconds}});
  result.summary = {{"config_file", config_file},
                    {"resolved_config", paths.resolved_toml},
                    {"config", to_json(cfg)},
                    {"steps", steps},
                    {"rows", rows},
                    {"random_weights", cfg.random_weights}};
  write_json_atomic(paths.summary_json, result.summary);
  AtomicFile md(paths.summary_md);
  md.stream() << "# georank run: " << (config_file.empty() ? paths.resolved_toml : config_file) << "\n\n"
              << result.table;
  if (cfg.random_weights)
    md.stream() << "\nRandom-weight models / synthetic data: these numbers mean nothing.\n";
  md.stream() << "\nEvery setting: " << fs::path(paths.resolved_toml).filename().string()
              << " (georank run --config " << paths.resolved_toml << ")\n";
  md.commit();
  return result;
}

}  // namespace georank
