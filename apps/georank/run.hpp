#pragma once
// `georank run`, also driven by `georank demo`.

#include <string>

namespace georank::cli {

struct RunOptions {
  std::string out;       ///< replaces the config's `out` when not empty
  std::string shard;     ///< replaces the config's `shard` when not empty
  bool dry_run = false;  ///< check every step, print the resolved config, run nothing
  bool report = true;    ///< write OUT/report (georank report) at the end
};

/// Runs the experiment a config file describes: prints the metrics table and writes
/// OUT/summary.{json,md} and OUT/run.resolved.toml, then the report in OUT/report.
void run_config_file(const std::string& config_path, const RunOptions& options = {});

}  // namespace georank::cli
