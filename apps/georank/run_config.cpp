#include "run_config.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <CLI/CLI.hpp>

#include <fstream>
#include <sstream>

#include "georank/core/error.hpp"
#include "georank/core/utf8.hpp"

namespace georank::cli {
namespace {

// Appends `--name value...`; a boolean is `--name=true` or `--name=false`, so that `false`
// reaches the flag (and a `false` given to an option that is not a flag is an error, not a
// silently dropped setting).
void append_flag(std::vector<std::string>& args, const std::string& name,
                 const std::vector<std::string>& values) {
  if (values.size() == 1 && (values[0] == "true" || values[0] == "false")) {
    args.push_back("--" + name + "=" + values[0]);
    return;
  }
  for (const auto& v : values) {
    args.push_back("--" + name);
    args.push_back(v);
  }
}

nlohmann::json value_json(const std::vector<std::string>& values) {
  if (values.size() == 1) return values[0];
  return values;
}

}  // namespace

RunConfig read_run_config(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw Error(ErrorKind::not_found, path + ": cannot open the run config");
  std::ostringstream text;
  text << file.rdbuf();
  require_utf8(text.str(), path);
  std::istringstream in(text.str());
  std::vector<CLI::ConfigItem> items;
  try {
    items = CLI::ConfigTOML().from_config(in);
  } catch (const std::exception& e) {
    throw Error(ErrorKind::invalid_argument, path + ": not a valid TOML config: " + e.what());
  }
  RunConfig cfg;
  cfg.resolved = nlohmann::json::object();
  for (const auto& item : items) {
    if (item.name == "++" || item.name == "--") continue;  // section markers
    const auto& p = item.parents;
    const std::string where =
        path + ": " + (p.empty() ? "" : fmt::format("[{}] ", fmt::join(p, "."))) + item.name;
    if (item.inputs.empty()) throw Error(ErrorKind::invalid_argument, where + ": an empty value (give one)");
    if (p.empty()) {
      if (item.inputs.size() != 1)
        throw Error(ErrorKind::invalid_argument, where + ": expected one value, not a list");
      cfg.resolved[item.name] = value_json(item.inputs);
      if (item.name == "out") {
        cfg.out_dir = item.inputs.at(0);
      } else if (item.name == "candidates") {
        cfg.candidates = item.inputs.at(0);
      } else if (item.name == "random_weights") {
        cfg.random_weights = item.inputs.at(0) == "true";
      } else {
        throw Error(ErrorKind::invalid_argument,
                    where + ": unknown key (expected out, candidates, random_weights)");
      }
      continue;
    }
    if (p.size() == 1 && (p[0] == "dataset" || p[0] == "embed" || p[0] == "retrieve" || p[0] == "rerank")) {
      cfg.resolved[p[0]][item.name] = value_json(item.inputs);
      auto& args = p[0] == "dataset"    ? cfg.dataset_args
                   : p[0] == "embed"    ? cfg.embed_args
                   : p[0] == "retrieve" ? cfg.retrieve_args
                                        : cfg.rerank_args;
      append_flag(args, item.name, item.inputs);
      continue;
    }
    if (p.size() == 2 && p[0] == "strategies") {
      cfg.resolved["strategies"][p[1]][item.name] = value_json(item.inputs);
      if (cfg.strategies.empty() || cfg.strategies.back().name != p[1]) cfg.strategies.push_back({p[1], {}});
      append_flag(cfg.strategies.back().args, item.name, item.inputs);
      continue;
    }
    throw Error(ErrorKind::invalid_argument,
                where + ": unknown section (expected dataset, embed, retrieve, rerank, strategies.<name>)");
  }
  if (cfg.dataset_args.empty())
    throw Error(ErrorKind::invalid_argument, path + ": needs a [dataset] section");
  if (cfg.strategies.empty())
    throw Error(ErrorKind::invalid_argument, path + ": needs at least one [strategies.<name>] section");
  return cfg;
}

}  // namespace georank::cli
