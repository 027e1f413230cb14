// `georank merge --out OUT SHARD...`: a sharded job's outputs joined into one machine's
// (eval/shard_merge.hpp); a run folder gets its report when the shards had one.

#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "georank/core/log.hpp"
#include "georank/eval/shard_merge.hpp"
#include "report.hpp"

namespace georank::cli {
namespace {

struct MergeCommand {
  std::string out;
  std::vector<std::string> inputs;
  bool report = true;
};

void run(const MergeCommand& c) {
  const MergeResult r = merge_shards(c.inputs, c.out);
  log_info("joined {} shards ({}) into {}: {} files", r.n_shards, to_string(r.kind), c.out, r.written.size());
  fmt::print("wrote {} ({} shards, {} files)\n", c.out, r.n_shards, r.written.size());
  if (r.kind != MergeKind::run || !c.report) return;
  bool had_report = false;
  for (const auto& in : c.inputs)
    had_report = had_report || std::filesystem::exists(std::filesystem::path(in) / "report");
  if (had_report) report_run(c.out);
}

}  // namespace

void add_merge(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "merge",
      "Join the outputs of a sharded job (--shard I/N) into what one machine writes: rankings JSONL with\n"
      "their sidecars, embed folders, judgment or embedding caches (SQLite), or georank run folders\n"
      "(then the summary and, if the shards had one, the report). Every shard 0..N-1 must be given.");
  auto c = std::make_shared<MergeCommand>();
  cmd->add_option("--out", c->out, "The joined output (a file, or a folder for embed and run folders)")
      ->required();
  cmd->add_option("shards", c->inputs, "The shards' outputs, in any order")
      ->required()
      ->check(CLI::ExistingPath);
  cmd->add_flag("!--no-report", c->report, "Run folders: do not write OUT/report");
  cmd->callback([c] { run(*c); });
}

}  // namespace georank::cli
