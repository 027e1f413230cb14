#pragma once
/// Finished runs for the browser: a run folder (holding summary.json) or a folder of them.
/// A run's id is its folder name; ids from requests are only looked up, never used as paths.
/// Each run is analysed once (eval/report.hpp) when first asked for, again when its
/// summary.json changes. Thread-safe.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "georank/serve/data_roots.hpp"

namespace georank {

class RunCatalog {
 public:
  /// `folder` empty: no runs. Extra data roots bound where images may come from (each run's
  /// dataset root is added for its own images).
  explicit RunCatalog(std::string folder, std::vector<std::string> data_roots = {});
  ~RunCatalog();

  /// {"runs": [{"id", "n_queries", "strategies", "caveats", "dataset"}]}.
  [[nodiscard]] nlohmann::json list() const;
  /// The run's numbers: baseline and strategies (report.json's rows), caveats and figures.
  /// Error(not_found) for an unknown id.
  [[nodiscard]] nlohmann::json run(const std::string& id) const;
  /// A page of queries: filter "all", "fixed", "broken", "kept", "missed" or "unparsed" by
  /// `strategy` (empty: the run's first). Error(invalid_argument) for a bad filter or strategy.
  [[nodiscard]] nlohmann::json queries(const std::string& id, std::int64_t offset, std::int64_t limit,
                                       const std::string& strategy, const std::string& filter) const;
  /// One query: image URL, labels, candidates with centres and footprints, every strategy's
  /// order and evidence. Error(not_found) for an unknown run or query.
  [[nodiscard]] nlohmann::json query(const std::string& id, const std::string& query_id) const;
  /// Image files of a run's query or tile, inside the data roots; Error(not_found) otherwise.
  [[nodiscard]] std::string query_image_path(const std::string& id, const std::string& query_id) const;
  [[nodiscard]] std::string tile_image_path(const std::string& id, const std::string& tile_id) const;

  struct Loaded;

 private:
  std::shared_ptr<const Loaded> load(const std::string& id) const;
  [[nodiscard]] std::map<std::string, std::string> discover() const;  // id -> folder
  std::string folder_;
  std::vector<std::string> roots_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, std::shared_ptr<const Loaded>> loaded_;
};

}  // namespace georank
