#include "run_config.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "georank/core/error.hpp"
#include "georank/core/toml.hpp"

namespace georank::cli {
namespace {

// A TOML value as the command-line words of its flag: a list gives one word per item.
std::vector<std::string> words(const nlohmann::json& v, const std::string& where) {
  if (v.is_array()) {
    std::vector<std::string> out;
    for (const auto& item : v) {
      if (item.is_array() || item.is_object())
        throw Error(ErrorKind::invalid_argument, where + ": a list of lists (give one list of values)");
      out.push_back(words(item, where).at(0));
    }
    return out;
  }
  if (v.is_object()) throw Error(ErrorKind::invalid_argument, where + ": a table where a value belongs");
  if (v.is_string()) return {v.get<std::string>()};
  if (v.is_boolean()) return {v.get<bool>() ? "true" : "false"};
  if (v.is_number_integer()) return {std::to_string(v.get<std::int64_t>())};
  return {fmt::format("{}", v.get<double>())};
}

// Appends `--name value...`; a boolean is `--name=true` or `--name=false`, so that `false`
// reaches the flag (and a `false` given to an option that is not a flag is an error, not a
// silently dropped setting).
void append_flag(std::vector<std::string>& args, const std::string& name, const nlohmann::json& value,
                 const std::string& where) {
  const std::vector<std::string> values = words(value, where);
  if (values.empty()) throw Error(ErrorKind::invalid_argument, where + ": an empty value (give one)");
  if (value.is_boolean()) {
    args.push_back("--" + name + "=" + values[0]);
    return;
  }
  for (const auto& v : values) {
    args.push_back("--" + name);
    args.push_back(v);
  }
}

}  // namespace

RunConfig read_run_config(const std::string& path) {
  const TomlDocument doc = read_toml_file(path);
  RunConfig cfg;
  cfg.resolved = doc.value;
  const auto where = [&](const std::string& dotted, const std::string& shown) {
    return doc.where(dotted) + ": " + shown;
  };
  for (const auto& [key, value] : doc.value.items()) {
    if (!value.is_object()) {
      const std::string w = where(key, key);
      if (value.is_array()) throw Error(ErrorKind::invalid_argument, w + ": expected one value, not a list");
      if (key == "out" || key == "candidates") {
        if (!value.is_string()) throw Error(ErrorKind::invalid_argument, w + ": expected a path (a string)");
        (key == "out" ? cfg.out_dir : cfg.candidates) = value.get<std::string>();
      } else if (key == "random_weights") {
        if (!value.is_boolean()) throw Error(ErrorKind::invalid_argument, w + ": expected true or false");
        cfg.random_weights = value.get<bool>();
      } else {
        throw Error(ErrorKind::invalid_argument,
                    w + ": unknown key (expected out, candidates, random_weights)");
      }
      continue;
    }
    if (key == "dataset" || key == "embed" || key == "retrieve" || key == "rerank") {
      auto& args = key == "dataset"    ? cfg.dataset_args
                   : key == "embed"    ? cfg.embed_args
                   : key == "retrieve" ? cfg.retrieve_args
                                       : cfg.rerank_args;
      for (const auto& [name, v] : value.items())
        append_flag(args, name, v, where(key + "." + name, "[" + key + "] " + name));
      continue;
    }
    if (key == "strategies") {
      // In the file's order (TOML tables are read back sorted by key).
      std::vector<std::string> names;
      for (const auto& [name, section] : value.items()) names.push_back(name);
      std::stable_sort(names.begin(), names.end(), [&](const std::string& a, const std::string& b) {
        return doc.line_of("strategies." + a) < doc.line_of("strategies." + b);
      });
      for (const std::string& name : names) {
        const auto& section = value.at(name);
        const std::string w = where("strategies." + name, "[strategies." + name + "]");
        if (!section.is_object())
          throw Error(ErrorKind::invalid_argument, w + ": expected a table of the strategy's settings");
        cfg.strategies.push_back({name, {}});
        for (const auto& [flag, v] : section.items())
          append_flag(cfg.strategies.back().args, flag, v,
                      where("strategies." + name + "." + flag, "[strategies." + name + "] " + flag));
      }
      continue;
    }
    throw Error(ErrorKind::invalid_argument,
                where(key, "[" + key + "]") +
                    ": unknown section (expected dataset, embed, retrieve, rerank, strategies.<name>)");
  }
  if (cfg.dataset_args.empty())
    throw Error(ErrorKind::invalid_argument, path + ": needs a [dataset] section");
  if (cfg.strategies.empty())
    throw Error(ErrorKind::invalid_argument, path + ": needs at least one [strategies.<name>] section");
  return cfg;
}

}  // namespace georank::cli
