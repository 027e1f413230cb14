#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "common_flags.hpp"
#include "config_flags.hpp"
#include "dataset_options.hpp"
#include "georank/core/error.hpp"
#include "georank/core/log.hpp"
#include "georank/data/dataset.hpp"
#include "georank/fixtures/simulation.hpp"
#include "georank/rerank/rerank_step.hpp"
#include "rerank_progress.hpp"

namespace georank::cli {
namespace {

// The command's files around the library's step config.
struct RerankCommand {
  DatasetSpec data;
  std::string candidates;
  std::string out;
  RerankStepConfig step;
  std::string shard;
  bool check_only = false;
};

void run(const RerankCommand& o) {
  validate(o.step.rerank);
  validate(o.step.judge);
  {
    std::vector<PathArgument> inputs = with_sidecar("--candidates", o.candidates);
    inputs.insert(inputs.end(), {{"--model", o.step.judge.llama.model},
                                 {"--mmproj", o.step.judge.llama.mmproj},
                                 {"--cache", o.step.cache}});
    check_outputs(with_sidecar("--out", o.out), inputs);
  }
  (void)prompt_for(o.step.rerank);
  if (o.check_only) return;
  Dataset ds = load_dataset(o.data);
  apply_shard(ds, parse_shard(o.shard));
  DatasetImages images(ds);
  const auto backend = make_step_backend(o.step.judge, images, o.step.rerank.order_seed);
  rerank_step(ds, o.candidates, o.out, o.step, *backend, images, {},
              rerank_progress_printer(o.step.no_progress));
}

}  // namespace

void add_rerank(CLI::App& app) {
  auto* cmd = app.add_subcommand("rerank", "Rerank the top-k candidates of each query with a VLM judge");
  auto o = std::make_shared<RerankCommand>();
  add_dataset_options(*cmd, o->data);
  cmd->add_option("--candidates", o->candidates, "Candidates: rankings JSONL (georank retrieve) or CSV")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", o->out, "Reranked JSONL (same shape; sidecar <out>.meta.json)")->required();
  // llama.cpp's own spellings and the earlier short names stay accepted.
  auto flags = bind_flags(*cmd, o->step,
                          {{"model", "-m"},
                           {"n_ctx", "--ctx-size"},
                           {"n_gpu_layers", "--gpu-layers"},
                           {"servers", "--server"},
                           {"timeout_s", "--timeout"},
                           {"max_retries", "--retries"}});
  flags.at("k")->check(CLI::PositiveNumber);
  flags.at("composite_panel_px")->check(CLI::Range(16, 4096));
  flags.at("model")->check(CLI::ExistingFile);
  flags.at("mmproj")->check(CLI::ExistingFile);
  flags.at("threads")->check(CLI::Range(0, kMaxThreads));
  flags.at("timeout_s")->check(CLI::PositiveNumber);
  flags.at("max_retries")->check(CLI::Range(0, 20));
  add_shard_option(*cmd, o->shard, "the dataset's queries (their candidate lists are reranked)");
  add_check_only_flag(*cmd, o->check_only);
  cmd->callback([o] { run(*o); });
}

}  // namespace georank::cli
