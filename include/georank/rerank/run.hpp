#pragma once
/// A rerank run over many queries: images fetched per query, judgments through the judgment
/// cache, progress reporting, and the sidecar metadata that makes the run reproducible.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "georank/rerank/judgment_cache.hpp"
#include "georank/rerank/rerank.hpp"

namespace georank {

/// Where a run's images come from (the CLI reads them from the dataset). Each function
/// returns a decoded image with its content id set, or throws Error.
struct RerankImages {
  std::function<std::shared_ptr<const Image>(const QueryRanking&)> query;
  std::function<std::shared_ptr<const Image>(const RankedCandidate&)> tile;
};

struct RerankProgress {
  std::int64_t done = 0;   ///< queries finished
  std::int64_t total = 0;  ///< queries in the run
  double elapsed_s = 0;
  std::int64_t backend_calls = 0;  ///< judgments the VLM computed (cache misses)
  std::int64_t cache_hits = 0;     ///< judgments answered by the cache
};

/// "rerank  12% |###      | 12/100  3.10 queries/s  ETA 0:28  45.2 VLM calls/s  7 cached"
std::string format_rerank_progress(const RerankProgress& progress, int bar_width = 24);

struct RerankRunResult {
  std::vector<QueryRanking> rankings;  ///< one per input query, in input order
  RerankStats stats;
  std::int64_t backend_calls = 0;
  std::int64_t cache_hits = 0;
  double seconds = 0;
};

/// Reranks every query in turn. With a cache, each round's judgments are stored as soon as
/// the backend returns them, and stored ones are never asked again (resume after a kill).
/// `progress` is called after each query. Throws the first Error a query raises.
RerankRunResult rerank_all(std::span<const QueryRanking> input, const RerankImages& images,
                           const RerankConfig& config, const PromptTemplate& prompt, VlmBackend& backend,
                           JudgmentCache* cache = nullptr,
                           const std::function<void(const RerankProgress&)>& progress = {});

/// The sidecar `<out>.meta.json` content: {"config", "prompt" (name, source, sha256, text),
/// "backend" (judge_record), "judge" ("vlm" or "simulated", with a note when simulated),
/// "counts", "seconds"} plus `extra` merged in (e.g. dataset and file arguments).
/// {"name", "identity" (JudgeIdentity::to_json), "identity_sha256"} of a backend: what every
/// output that holds judgments records of its judge.
nlohmann::json judge_record(const VlmBackend& backend);

nlohmann::json rerank_meta(const RerankConfig& config, const PromptTemplate& prompt,
                           const VlmBackend& backend, const RerankRunResult& result,
                           const nlohmann::json& extra = nlohmann::json::object());

}  // namespace georank
