#include "georank/rerank/rerank_step.hpp"

#include <cmath>

#include "georank/core/atomic_file.hpp"
#include "georank/core/log.hpp"
#include "georank/data/ranking.hpp"

namespace georank {
namespace {

// The file's order is the retrieval rank; say so when the scores disagree with it or are missing.
void warn_about_scores(const std::vector<QueryRanking>& input, const std::string& path) {
  std::size_t unordered = 0, missing = 0;
  for (const auto& r : input) {
    bool ordered = true;
    for (std::size_t i = 0; i < r.candidates.size(); ++i) {
      if (std::isnan(r.candidates[i].score)) ++missing;
      if (i > 0 && r.candidates[i].score > r.candidates[i - 1].score) ordered = false;
    }
    unordered += ordered ? 0 : 1;
  }
  if (unordered > 0)
    log_warn(
        "{}: {} of {} queries list candidates out of descending score order; their order in the file is "
        "taken as the retrieval rank",
        path, unordered, input.size());
  if (missing > 0)
    log_warn("{}: {} candidates have no score (null or absent); fusion and ties use the file's order", path,
             missing);
}

}  // namespace

std::shared_ptr<const Image> DatasetImages::get(const std::string& path) {
  if (const auto it = images_.find(path); it != images_.end()) return it->second;
  if (images_.size() >= 256) images_.clear();
  auto img = std::make_shared<const Image>(load_image(path));
  images_.emplace(path, img);
  return img;
}

RerankImages DatasetImages::sources() {
  RerankImages images;
  images.query = [this](const QueryRanking& r) {
    auto img = get(dataset_.query(r.query_id).path);
    query_of_image_[img->id] = r.query_id;
    return img;
  };
  images.tile = [this](const RankedCandidate& c) {
    auto img = get(dataset_.gallery[dataset_.tile_index(c.tile_id)].path);
    tile_of_image_[img->id] = c.tile_id;
    return img;
  };
  return images;
}

const std::string* DatasetImages::query_of(const std::string& image_id) const {
  const auto it = query_of_image_.find(image_id);
  return it == query_of_image_.end() ? nullptr : &it->second;
}

const std::string* DatasetImages::tile_of(const std::string& image_id) const {
  const auto it = tile_of_image_.find(image_id);
  return it == tile_of_image_.end() ? nullptr : &it->second;
}

std::vector<QueryRanking> read_step_candidates(const Dataset& ds, const std::string& path) {
  std::vector<QueryRanking> input = path.ends_with(".csv") ? read_candidates_csv(path) : read_rankings(path);
  if (ds.spec.subset > 0 || !ds.shard.whole())
    std::erase_if(input, [&](const QueryRanking& r) { return !ds.query_by_id.contains(r.query_id); });
  annotate(input, ds);
  warn_about_scores(input, path);
  return input;
}

RerankStepResult rerank_step(const Dataset& ds, const std::string& candidates_path, const std::string& out,
                             const RerankStepConfig& c, VlmBackend& backend, DatasetImages& images,
                             const nlohmann::json& extra,
                             const std::function<void(const RerankProgress&)>& progress) {
  RerankStepResult result;
  result.prompt = prompt_for(c.rerank);
  const std::vector<QueryRanking> input = read_step_candidates(ds, candidates_path);
  std::unique_ptr<JudgmentCache> cache;
  if (!c.cache.empty()) cache = std::make_unique<JudgmentCache>(c.cache);
  const bool pairwise = c.rerank.strategy == RerankStrategy::pairwise;
  log_info("reranking {} queries: {} {} {} top-{} with {} ({})", input.size(), enum_name(c.rerank.strategy),
           pairwise ? enum_name(c.rerank.aggregate) : "", pairwise ? enum_name(c.rerank.orders) : "",
           c.rerank.k, backend.name(), result.prompt.name);
  result.run = rerank_all(input, images.sources(), c.rerank, result.prompt, backend, cache.get(), progress);

  write_rankings(result.run.rankings, out);
  nlohmann::json record = {{"dataset", to_json(ds.spec)},
                           {"candidates", candidates_path},
                           {"out", out},
                           {"cache", c.cache.empty() ? nlohmann::json() : nlohmann::json(c.cache)},
                           {"step", config_to_json(c)},
                           {"image_decoding", {{"exif_orientation", "applied"}}}};
  const char* judge_key = c.judge.judge == JudgeKind::simulated ? "simulated_judge"
                          : !c.judge.remote.servers.empty()     ? "server"
                                                                : "model";
  record[judge_key] = judge_settings_json(c.judge);
  record_shard(record, ds);
  for (const auto& [key, value] : extra.items()) record[key] = value;
  result.meta = rerank_meta(c.rerank, result.prompt, backend, result.run, record);
  const std::string meta_path = meta_path_for(out);
  write_json_atomic(meta_path, result.meta);
  log_info("wrote {} and {} ({} judgments, {} computed, {} from the cache, {} unparsed, {:.1f} s)", out,
           meta_path, result.run.stats.n_judgments, result.run.backend_calls, result.run.cache_hits,
           result.run.stats.n_unparsed, result.run.seconds);
  return result;
}

}  // namespace georank
