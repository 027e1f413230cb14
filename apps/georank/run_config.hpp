#pragma once
// The `georank run` config file (TOML). Every key of a section is the flag of the step it
// names, so a section reads like that step's command line:
//
//   out = "out/run"                 # output folder
//   candidates = "cands.jsonl"      # optional: imported candidates (skips embed + retrieve)
//   random_weights = true           # optional: the models are random; the table says so
//   [dataset]   dataset = "vigor:/data/VIGOR"  protocol = "cross-area"  subset = 500
//   [embed]     model = "sample4geo.onnx"
//   [retrieve]  k = 10
//   [rerank]    model = "llava.gguf"  mmproj = "mmproj.gguf"  cache = "judgments.sqlite"
//   [strategies.pairwise-bt]   strategy = "pairwise"  aggregate = "all-pairs-bt"  orders = "both"
//   [strategies.yesno]         strategy = "pointwise-yesno"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace georank::cli {

struct RunStrategy {
  std::string name;               // section name after "strategies."
  std::vector<std::string> args;  // its flags
};

struct RunConfig {
  std::string out_dir = "out/run";
  std::string candidates;
  bool random_weights = false;
  std::vector<std::string> dataset_args, embed_args, retrieve_args, rerank_args;
  std::vector<RunStrategy> strategies;
  nlohmann::json resolved;  // every section and key as read
};

// Reads the file; throws Error(invalid_argument) naming the file and key for unknown
// sections or a config without strategies.
RunConfig read_run_config(const std::string& path);

// Runs the experiment a config describes: prints the metrics table and writes
// <out>/summary.{json,md}. With dry_run, prints the steps' command lines only.
void run_experiment(const std::string& config_path, bool dry_run = false);

}  // namespace georank::cli
