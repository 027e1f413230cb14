#pragma once
/// The rerank step: a dataset's candidate lists (rankings JSONL or CSV) reranked by a judge
/// into a rankings file and its sidecar, images read from the dataset.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "georank/core/config.hpp"
#include "georank/data/dataset.hpp"
#include "georank/rerank/judge_config.hpp"
#include "georank/rerank/rerank.hpp"
#include "georank/rerank/run.hpp"

namespace georank {

/// The rerank step's config (`georank rerank` flags besides its files; a run config's
/// [rerank] table, and each [strategies.<name>] table over it). Keys are flat.
struct RerankStepConfig {
  std::string cache;         ///< judgment cache (SQLite); empty: none
  bool no_progress = false;  ///< no progress line on stderr
  RerankConfig rerank;
  JudgeConfig judge;

  template <class Self, class Visit>
  static void fields(Self& c, Visit&& v) {
    v("cache", c.cache, "Judgment cache (SQLite); a rerun or resumed run reuses its judgments");
    v("no_progress", c.no_progress, "No progress bar");
    RerankConfig::fields(c.rerank, v);
    JudgeConfig::fields(c.judge, v);
  }
};

/// A dataset's images, decoded on demand (the least recently loaded dropped past a bound),
/// remembering which query or tile each image id shows.
class DatasetImages {
 public:
  explicit DatasetImages(const Dataset& dataset) : dataset_(dataset) {}
  /// The image sources of a rerank run.
  RerankImages sources();
  /// The query / tile an image id was loaded for, if any.
  [[nodiscard]] const std::string* query_of(const std::string& image_id) const;
  [[nodiscard]] const std::string* tile_of(const std::string& image_id) const;
  [[nodiscard]] const Dataset& dataset() const { return dataset_; }

 private:
  std::shared_ptr<const Image> get(const std::string& path);
  const Dataset& dataset_;
  std::unordered_map<std::string, std::shared_ptr<const Image>> images_;
  std::unordered_map<std::string, std::string> query_of_image_, tile_of_image_;
};

/// Reads candidates: rankings JSONL, or CSV when the name ends in ".csv". Queries outside the
/// dataset's subset are dropped; the rest get positions and positive / semi-positive flags
/// from the dataset's labels (annotate; Error(not_found) for a tile the dataset does not
/// know); a warning names lists whose scores are not in descending order (the file's order is
/// the retrieval rank) or missing.
std::vector<QueryRanking> read_step_candidates(const Dataset& dataset, const std::string& path);

struct RerankStepResult {
  RerankRunResult run;
  PromptTemplate prompt;
  nlohmann::json meta;
};

/// Reranks `candidates_path` with `backend` and writes `out` and `meta_path_for(out)` (write,
/// then rename). `extra` is merged into the sidecar. Progress goes to `progress`.
RerankStepResult rerank_step(const Dataset& dataset, const std::string& candidates_path,
                             const std::string& out, const RerankStepConfig& config, VlmBackend& backend,
                             DatasetImages& images, const nlohmann::json& extra = nlohmann::json::object(),
                             const std::function<void(const RerankProgress&)>& progress = {});

}  // namespace georank
