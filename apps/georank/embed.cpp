#include <memory>

#include "commands.hpp"
#include "common_flags.hpp"
#include "config_flags.hpp"
#include "dataset_options.hpp"
#include "embed_progress.hpp"
#include "exit_status.hpp"
#include "georank/core/error.hpp"
#include "georank/core/log.hpp"
#include "georank/core/progress.hpp"
#include "georank/data/dataset.hpp"
#include "georank/retrieval/embed_dataset.hpp"
#include "interrupt_guard.hpp"

namespace georank::cli {
namespace {

struct EmbedCommand {
  DatasetSpec dataset;
  EmbedConfig config;
  std::string out_dir;
  std::string shard;
  bool check_only = false;
};

void run(const EmbedCommand& c) {
  const InterruptGuard interrupts;  // an interrupt while loading stops before the first batch
  const EmbedStepResult paths = embed_step_paths(c.out_dir);
  {
    const std::vector<PathArgument> outputs = {
        {"--out-dir", paths.queries_npy}, {"--out-dir", paths.gallery_npy}, {"--out-dir", paths.meta_path}};
    const std::vector<PathArgument> inputs = {{"--model", c.config.model}, {"--card", c.config.card}};
    check_outputs(outputs, inputs);
  }
  Dataset ds = load_dataset(c.dataset);
  apply_shard(ds, parse_shard(c.shard), /*gallery=*/true);
  EmbedProgressPrinter printer;
  const EmbedStepHooks hooks = printer.hooks(interrupts.stop());
  const EmbedStepResult result = embed_dataset(ds, c.config, c.out_dir, hooks);
  printer.finish();
  if (!result.complete) {
    log_warn("interrupted: {} images encoded and cached in this run; run the same command again to continue",
             result.n_encoded);
    throw CLI::RuntimeError(kExitInterrupted);
  }
}

}  // namespace

void add_embed(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "embed",
      "Embed the queries (ground branch) and the gallery (aerial branch) of a dataset with an ONNX encoder:\n"
      "OUT/queries.npy + queries.ids, OUT/gallery.npy + gallery.ids, OUT/embeddings.meta.json.\n"
      "Unchanged images are taken from a cache; Ctrl-C stops after the running batch and keeps it.");
  auto c = std::make_shared<EmbedCommand>();
  add_dataset_options(*cmd, c->dataset);
  auto flags = bind_flags(*cmd, c->config);
  flags.at("card")->check(CLI::ExistingFile);
  flags.at("threads")->check(CLI::Range(0, kMaxThreads));
  flags.at("batch")->check(CLI::PositiveNumber);
  cmd->add_option("--out-dir", c->out_dir, "Output folder")->required();
  add_shard_option(*cmd, c->shard, "the queries and of the gallery");
  add_check_only_flag(*cmd, c->check_only);
  cmd->callback([c] {
    if (c->config.model.empty() && c->config.card.empty()) throw CLI::RequiredError("--model or --card");
    if (!c->check_only) run(*c);
  });
}

}  // namespace georank::cli
