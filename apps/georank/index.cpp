#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "common_flags.hpp"
#include "config_flags.hpp"
#include "exit_status.hpp"
#include "georank/core/log.hpp"
#include "georank/core/progress.hpp"
#include "georank/retrieval/index_build.hpp"
#include "georank/retrieval/npy.hpp"
#include "interrupt_guard.hpp"

namespace georank::cli {
namespace {

struct IndexBuildCommand {
  IndexBuildConfig config;
  bool check_only = false;
};

// A bar per phase on stderr ("sample", then "add"), as the embed step draws one per view.
class IndexBuildProgressPrinter {
 public:
  IndexBuildHooks hooks(const std::atomic<bool>* stop) {
    IndexBuildHooks h;
    h.stop = stop;
    h.on_progress = [this](const IndexBuildProgress& p) {
      if (phase_ != p.phase) {
        finish();
        bar_ = std::make_unique<ProgressBar>(p.phase, p.n_total, "rows");
        phase_ = p.phase;
      }
      bar_->update(p.n_done);
    };
    return h;
  }
  void finish() {
    if (bar_) bar_->finish();
    bar_.reset();
  }

 private:
  std::unique_ptr<ProgressBar> bar_;
  std::string phase_;
};

void run(const IndexBuildCommand& c) {
  const IndexBuildConfig& cfg = c.config;
  {
    std::vector<PathArgument> outputs = {{"--out", cfg.out},
                                         {"--out (its ids)", index_ids_path(cfg.out)},
                                         {"--out (its sidecar)", index_meta_path(cfg.out)}};
    if (cfg.on_disk) outputs.push_back({"--out (its .ivfdata)", index_data_path(cfg.out)});
    std::vector<PathArgument> inputs;
    for (const auto& shard : cfg.shards) {
      inputs.push_back({"SHARD", shard});
      inputs.push_back({"SHARD (its ids)", ids_path_for(shard)});
    }
    check_outputs(outputs, inputs);
  }
  const InterruptGuard interrupts;
  IndexBuildProgressPrinter printer;
  log_info("building '{}' over {} shard(s){}", cfg.factory, cfg.shards.size(),
           cfg.on_disk ? " (inverted lists on disk)" : "");
  const IndexBuildResult r = build_index(cfg, printer.hooks(interrupts.stop()));
  printer.finish();
  if (!r.complete) {
    log_warn("interrupted: nothing was written");
    throw CLI::RuntimeError(kExitInterrupted);
  }
  log_info("wrote {} ({} vectors of dimension {}; trained on {} rows in {:.1f} s, added in {:.1f} s){}",
           r.index_path, r.n_vectors, r.dim, r.n_train, r.train_seconds, r.add_seconds,
           r.data_path.empty() ? "" : "; inverted lists in " + r.data_path);
  log_info("ids in {}, metadata in {}", r.ids_path, r.meta_path);
}

}  // namespace

void add_index(CLI::App& app) {
  auto* index = app.add_subcommand("index", "Build FAISS indexes over gallery embeddings");
  index->require_subcommand(1);
  auto* cmd = index->add_subcommand(
      "build",
      "Build a FAISS index from one or more .npy shards (each with its .ids) without loading them all:\n"
      "train on a sample, then add chunk by chunk. Writes OUT, OUT.ids (every row's id, shards in order),\n"
      "OUT.meta.json and, with --on-disk, OUT.ivfdata (the inverted lists, memory-mapped when searched).\n"
      "Ctrl-C stops before the next chunk and writes nothing.");
  auto c = std::make_shared<IndexBuildCommand>();
  // The shards are the positional arguments (--shards A.npy,B.npy works too).
  auto flags = bind_flags(*cmd, c->config, {{"shards", "SHARD"}});
  flags.at("shards")->required()->check(CLI::ExistingFile)->type_name("SHARD.npy");
  flags.at("out")->required();
  flags.at("train_size")->check(CLI::PositiveNumber);
  flags.at("chunk_rows")->check(CLI::PositiveNumber);
  flags.at("spill_mib")->check(CLI::PositiveNumber);
  flags.at("threads")->check(CLI::Range(0, kMaxThreads));
  add_check_only_flag(*cmd, c->check_only);
  cmd->callback([c] {
    if (!c->check_only) run(*c);
  });
}

}  // namespace georank::cli
