// `georank run --config run.toml`: the experiment runner of the library (eval/experiment.hpp)
// with the CLI's judges (the simulated one included), progress lines and interrupts.

#include <fmt/format.h>

#include <memory>
#include <string>

#include "commands.hpp"
#include "common_flags.hpp"
#include "embed_progress.hpp"
#include "exit_status.hpp"
#include "georank/core/log.hpp"
#include "georank/eval/experiment.hpp"
#include "georank/fixtures/simulation.hpp"
#include "interrupt_guard.hpp"
#include "report.hpp"
#include "rerank_progress.hpp"
#include "run.hpp"

namespace georank::cli {

void run_config_file(const std::string& config_path, const RunOptions& options) {
  ExperimentConfig cfg = read_experiment_config(config_path);
  if (!options.out.empty()) cfg.out = options.out;
  if (!options.shard.empty()) cfg.shard = options.shard;
  if (options.dry_run) {
    validate(cfg, config_path);
    fmt::print("{}", resolved_toml(cfg));
    return;
  }
  const InterruptGuard interrupts;
  EmbedProgressPrinter embed_progress;
  ExperimentHooks hooks;
  hooks.make_judge = make_step_backend;
  hooks.embed = embed_progress.hooks(interrupts.stop());
  hooks.rerank_progress = [](const ExperimentStrategy& s) {
    return rerank_progress_printer(s.step.no_progress);
  };
  const ExperimentResult result = run_experiment(cfg, hooks, config_path);
  embed_progress.finish();
  if (!result.complete) {
    log_warn("interrupted while embedding; the cache keeps the finished batches: run the same command again");
    throw CLI::RuntimeError(kExitInterrupted);
  }
  fmt::print("\n{}", result.table);
  if (cfg.random_weights)
    fmt::print("NOTE: random-weight models / synthetic data: these numbers mean nothing.\n");
  const ExperimentPaths paths = experiment_paths(cfg);
  fmt::print("wrote {}, {} and {}\n", paths.summary_json, paths.summary_md, paths.resolved_toml);
  if (options.report) report_run(cfg.out);
}

void add_run(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "run",
      "Run a whole experiment from a TOML config: retrieval, several rerank strategies, one metrics table");
  auto path = std::make_shared<std::string>();
  auto options = std::make_shared<RunOptions>();
  cmd->add_option("--config", *path,
                  "Run config (TOML; each table's keys are the fields of its step, as the commands' flags)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", options->out, "Output folder instead of the config's `out`");
  add_shard_option(*cmd, options->shard, "the queries (each shard embeds the whole gallery)");
  cmd->add_flag("--dry-run", options->dry_run, "Check every step, print the resolved config and stop");
  cmd->add_flag("!--no-report", options->report, "Do not write OUT/report (georank report does it later)");
  cmd->callback([path, options] { run_config_file(*path, *options); });
}

}  // namespace georank::cli
