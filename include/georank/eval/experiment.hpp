#pragma once
/// An experiment: dataset -> retrieval (embed + retrieve, or imported candidates) -> several
/// rerank strategies -> metrics side by side. What `georank run` runs from a TOML file, and
/// what the service and the Python package drive: the steps are library calls, the config
/// one struct per component.
///
/// A run config (TOML), every key a field of the component's config struct:
///
///   out = "out/run"                 # output folder
///   candidates = "cands.jsonl"      # optional: imported candidates (skips embed + retrieve)
///   random_weights = true           # optional: the models are random; the table says so
///   shard = "0/4"                   # optional: only shard 0 of 4 of the queries
///   [dataset]   dataset = "vigor:/data/VIGOR"  protocol = "cross-area"  subset = 500
///   [embed]     model = "sample4geo.onnx"
///   [retrieve]  k = 10
///   [metrics]   ks = [1, 5, 10]
///   [rerank]    model = "llava.gguf"  mmproj = "mmproj.gguf"  cache = "judgments.sqlite"
///   [strategies.pairwise-bt]   strategy = "pairwise"  aggregate = "all-pairs-bt"
///   [strategies.yesno]         strategy = "pointwise-yesno"
///
/// [rerank] holds what every strategy shares (RerankStepConfig keys); each [strategies.<name>]
/// table is read over it. Strategies run in file order.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "georank/core/toml.hpp"
#include "georank/data/dataset.hpp"
#include "georank/eval/metrics.hpp"
#include "georank/rerank/rerank_step.hpp"
#include "georank/retrieval/embed_dataset.hpp"
#include "georank/retrieval/retrieval.hpp"

namespace georank {

struct ExperimentStrategy {
  std::string name;  ///< the table name after "strategies."; outputs are reranked-<name>.jsonl
  RerankStepConfig step;
};

struct ExperimentConfig {
  std::string out = "out/run";
  std::string candidates;  ///< imported candidates (JSONL or CSV); empty: embed + retrieve
  bool random_weights = false;
  /// "I/N": only shard I of N of the queries (docs/scale-out.md; georank merge joins the
  /// shards' run folders). Each shard embeds the whole gallery. Empty: every query.
  std::string shard;
  DatasetSpec dataset;
  EmbedConfig embed;
  RetrieveConfig retrieve;  ///< its embeddings paths are the run's own (OUT/embeddings/)
  MetricsConfig metrics;
  std::vector<ExperimentStrategy> strategies;
};

/// Reads a run config. Throws Error(invalid_argument) naming the file, line, table and key
/// for an unknown table or key, a value of the wrong type, and a config without [dataset] or
/// strategies (unless `require_strategies` is false: the service's retrieval-only configs);
/// Error(not_found) for a missing file.
ExperimentConfig experiment_config_from_toml(const TomlDocument& doc, bool require_strategies = true);
ExperimentConfig read_experiment_config(const std::string& path);

/// Every setting, resolved: each table complete, each strategy with all its keys (no [rerank]
/// table, since each strategy holds its own). Reading it back gives the same config; secrets
/// (API keys) are not settings and are not in it.
nlohmann::json to_json(const ExperimentConfig& config);
/// to_json as a run config file (what OUT/run.resolved.toml holds).
std::string resolved_toml(const ExperimentConfig& config);

/// Checks every step's settings and every output path before anything runs, so that a typo in
/// the last table costs no work. Messages start with `where` ("run.toml").
void validate(const ExperimentConfig& config, const std::string& where);

/// The files a run writes.
struct ExperimentPaths {
  std::string embeddings_dir;  ///< OUT/embeddings
  std::string candidates;      ///< OUT/candidates.jsonl, or the imported file
  std::string summary_json, summary_md, resolved_toml;
  std::string reranked(const std::string& strategy) const;
  std::string out;
};
ExperimentPaths experiment_paths(const ExperimentConfig& config);

/// What a run lets its caller decide.
struct ExperimentHooks {
  /// The judge of a strategy; default: make_vlm_backend (the simulated judge needs
  /// georank_fixtures' make_step_backend).
  std::function<std::unique_ptr<VlmBackend>(const JudgeConfig&, const DatasetImages&,
                                            std::uint64_t order_seed)>
      make_judge;
  EmbedStepHooks embed;
  /// The progress callback of a strategy's rerank step; default: none.
  std::function<std::function<void(const RerankProgress&)>(const ExperimentStrategy&)> rerank_progress;
};

struct ExperimentRow {
  std::string name;  ///< "baseline (retrieval)" or the strategy's name
  std::string file;
  nlohmann::json metrics;
  double delta_r1 = 0;         ///< R@1 minus the baseline's, as a fraction
  std::int64_t vlm_calls = 0;  ///< judgments the judge computed (cache misses)
  double seconds = 0;
};

struct ExperimentResult {
  bool complete = true;  ///< false: stopped during embedding (EmbedStepHooks::stop)
  std::vector<ExperimentRow> rows;
  std::string table;  ///< the markdown table of the rows
  nlohmann::json summary;
};

/// Runs the experiment: validate, then embed + retrieve (unless candidates are imported),
/// each strategy's rerank step, the metrics; writes OUT/summary.{json,md} and
/// OUT/run.resolved.toml. `config_file` is recorded in the summary. Rerunning a resolved
/// config writes byte-identical rankings files (deterministic judges and encoders).
ExperimentResult run_experiment(const ExperimentConfig& config, const ExperimentHooks& hooks = {},
                                const std::string& config_file = "");

/// The metrics rows of a run folder's rankings files as `config` names them (the baseline,
/// then each strategy), read back from OUT; vlm_calls and seconds are left 0.
std::vector<ExperimentRow> experiment_rows(const ExperimentConfig& config, const Dataset& dataset);

/// Writes OUT/summary.json and OUT/summary.md for `rows` (the baseline first): the last step
/// of run_experiment, and of `georank merge` for a sharded run's folders.
ExperimentResult write_experiment_summary(const ExperimentConfig& config, std::vector<ExperimentRow> rows,
                                          const std::string& config_file);

}  // namespace georank
