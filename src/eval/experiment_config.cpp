#include <algorithm>

#include <fmt/format.h>

#include "georank/core/error.hpp"
#include "georank/eval/experiment.hpp"

namespace georank {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw Error(ErrorKind::invalid_argument, where + ": " + what);
}

// The table `key` of the document, checked to be one.
const json* table(const TomlDocument& doc, const std::string& key) {
  const auto it = doc.value.find(key);
  if (it == doc.value.end()) return nullptr;
  if (!it->is_object()) fail(doc.where(key) + ": " + key, "expected a [" + key + "] table");
  return &*it;
}

template <class T>
void read_table(const TomlDocument& doc, const std::string& key, T& out) {
  if (const json* t = table(doc, key)) config_from_json(out, *t, doc.where(key) + ": [" + key + "]");
}

void read_top_level(const TomlDocument& doc, ExperimentConfig& cfg) {
  for (const auto& [key, value] : doc.value.items()) {
    if (value.is_object()) {
      if (key != "dataset" && key != "embed" && key != "retrieve" && key != "metrics" && key != "rerank" &&
          key != "strategies")
        fail(doc.where(key) + ": [" + key + "]",
             "unknown table (expected dataset, embed, retrieve, metrics, rerank, strategies.<name>)");
      continue;
    }
    const std::string w = doc.where(key) + ": " + key;
    if (value.is_array()) fail(w, "expected one value, not a list");
    if (key == "out" || key == "candidates") {
      if (!value.is_string()) fail(w, "expected a path (a string)");
      (key == "out" ? cfg.out : cfg.candidates) = value.get<std::string>();
    } else if (key == "shard") {
      if (!value.is_string()) fail(w, "expected \"I/N\" (a string)");
      cfg.shard = value.get<std::string>();
      try {
        (void)parse_shard(cfg.shard);
      } catch (const Error& e) {
        fail(w, e.what());
      }
    } else if (key == "random_weights") {
      if (!value.is_boolean()) fail(w, "expected true or false");
      cfg.random_weights = value.get<bool>();
    } else {
      fail(w, "unknown key (expected out, candidates, random_weights, shard)");
    }
  }
}

void read_strategies(const TomlDocument& doc, ExperimentConfig& cfg, bool required) {
  RerankStepConfig shared;
  read_table(doc, "rerank", shared);
  const json* strategies = table(doc, "strategies");
  if (strategies == nullptr || strategies->empty()) {
    if (!required) return;
    fail(doc.source, "needs at least one [strategies.<name>] table");
  }
  // In the file's order (TOML tables are read back sorted by key).
  std::vector<std::string> names;
  for (const auto& [name, section] : strategies->items()) names.push_back(name);
  std::stable_sort(names.begin(), names.end(), [&](const std::string& a, const std::string& b) {
    return doc.line_of("strategies." + a) < doc.line_of("strategies." + b);
  });
  for (const std::string& name : names) {
    const std::string where = doc.where("strategies." + name) + ": [strategies." + name + "]";
    const json& section = strategies->at(name);
    if (!section.is_object()) fail(where, "expected a table of the strategy's settings");
    ExperimentStrategy s{name, shared};
    config_from_json(s.step, section, where);
    cfg.strategies.push_back(std::move(s));
  }
}

}  // namespace

ExperimentConfig experiment_config_from_toml(const TomlDocument& doc, bool require_strategies) {
  ExperimentConfig cfg;
  read_top_level(doc, cfg);
  if (table(doc, "dataset") == nullptr) fail(doc.source, "needs a [dataset] table");
  read_table(doc, "dataset", cfg.dataset);
  read_table(doc, "embed", cfg.embed);
  read_table(doc, "retrieve", cfg.retrieve);
  read_table(doc, "metrics", cfg.metrics);
  if (!cfg.retrieve.query_embeddings.empty() || !cfg.retrieve.gallery_embeddings.empty())
    fail(doc.where("retrieve") + ": [retrieve]",
         "query_embeddings and gallery_embeddings are the run's own (OUT/embeddings); to start from "
         "existing candidates, set candidates");
  read_strategies(doc, cfg, require_strategies);
  return cfg;
}

ExperimentConfig read_experiment_config(const std::string& path) {
  return experiment_config_from_toml(read_toml_file(path));
}

json to_json(const ExperimentConfig& c) {
  json retrieve = config_to_json(c.retrieve);
  retrieve.erase("query_embeddings");
  retrieve.erase("gallery_embeddings");
  json j = {{"out", c.out},
            {"random_weights", c.random_weights},
            {"dataset", config_to_json(c.dataset)},
            {"embed", config_to_json(c.embed)},
            {"retrieve", retrieve},
            {"metrics", config_to_json(c.metrics)},
            {"strategies", json::object()}};
  if (!c.candidates.empty()) j["candidates"] = c.candidates;
  if (!c.shard.empty()) j["shard"] = c.shard;
  for (const auto& s : c.strategies) j["strategies"][s.name] = config_to_json(s.step);
  return j;
}

std::string resolved_toml(const ExperimentConfig& c) {
  std::string text =
      "# Every setting of this run, resolved. `georank run --config <this file>` runs it again.\n"
      "# Strategies run in this order:";
  for (const auto& s : c.strategies) text += " " + s.name;
  json rest = to_json(c);
  rest.erase("strategies");
  text += "\n\n" + to_toml(rest);
  // In run order: a TOML table is read back sorted, the run order comes from the lines.
  for (const auto& s : c.strategies)
    text += "\n" + to_toml({{"strategies", {{s.name, config_to_json(s.step)}}}});
  return text;
}

}  // namespace georank
