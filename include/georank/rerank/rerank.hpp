#pragma once
/// Stage 2: rerank the top-K of a query's retrieval list with a judge (a VLM or a simulated
/// one); candidates below K keep their retrieval order. Strategies: pointwise (direct score,
/// Likert, Yes/No, Yes/No after reasoning), pairwise (comparison oracle + aggregator) and
/// listwise (labelled candidates in one prompt, sliding window).

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "georank/data/ranking.hpp"
#include "georank/rerank/aggregate.hpp"
#include "georank/rerank/judge.hpp"
#include "georank/rerank/prompt.hpp"
#include "georank/vlm/vlm.hpp"

namespace georank {

/// The reranker's configuration; the same names, with '-' for '_', are the CLI flags (`--k`,
/// `--strategy`, `--order-seed`, ...) and the keys of the JSON echoed into every output.
struct RerankConfig {
  /// pointwise-score | pointwise-likert | pointwise-yesno | pointwise-yesno-reasoning |
  /// pairwise | listwise
  std::string strategy = "pairwise";
  /// Pairwise: all-pairs-copeland | all-pairs-bt | knockout | bubble | sort
  std::string aggregate = "all-pairs-bt";
  /// Pairwise: single | both | random
  std::string orders = "both";
  int k = 5;                     ///< rerank the top-k; the rest keep retrieval order
  std::uint64_t order_seed = 0;  ///< random presentation orders (combined with the query id)
  /// Template name (built-in) or path of a template file; empty: the strategy's built-in.
  std::string prompt;
  /// Pointwise direct score: "expected" (expected value over "0".."100") or "text" (parse a
  /// generated number).
  std::string score_mode = "expected";
  /// Pointwise fusion weight: alpha * vlm + (1 - alpha) * retrieval (min-max over the top-k).
  double fusion_alpha = 1.0;
  /// Listwise: candidates per prompt (the image budget minus the query); 0: all k.
  int listwise_window = 0;
  /// Listwise: how far the window moves up; 0: half the window.
  int listwise_stride = 0;
  /// Pairwise all-pairs-bt: regularisation (virtual wins and losses per candidate).
  double bt_regularization = 0.1;
  /// How a judgment's images are shown: separate | composite (one canvas, panels 1..N).
  std::string layout = "separate";
  int composite_panel_px = 336;  ///< composite: side of each square panel
};

/// The image layout `config` asks for (parsed).
ImageLayoutConfig image_layout_of(const RerankConfig& config);

/// Checks names and ranges; throws Error(invalid_argument) naming the offending field.
void validate(const RerankConfig& config);
nlohmann::json to_json(const RerankConfig& config);
/// Reads the keys present in `j` over the defaults; unknown keys throw Error(invalid_argument).
RerankConfig rerank_config_from_json(const nlohmann::json& j);
/// The template `config.prompt` names (or the strategy's built-in); checks it fits the strategy.
PromptTemplate prompt_for(const RerankConfig& config);

/// Counters accumulated over queries.
struct RerankStats {
  std::int64_t n_queries = 0;
  std::int64_t n_judgments = 0;  ///< judge requests (a pairwise comparison in both orders is 2)
  std::int64_t n_rounds = 0;     ///< judge calls (batches)
  std::int64_t n_unparsed = 0;   ///< judgments without a usable answer
};

/// The judges a strategy uses; only the one its strategy needs must be set.
struct Judges {
  PairJudge* pair = nullptr;
  PointJudge* point = nullptr;
  ListJudge* list = nullptr;
};

/// Reranks one query's list with the given judges. The output has the input's candidates,
/// the top-k reordered, each with `baseline_rank` (its 0-based input position) and, for the
/// top-k, an `evidence` object (scores, probabilities, every comparison in the orders asked,
/// reasoning text, covered mass). Deterministic for deterministic judges.
QueryRanking rerank_with(const QueryRanking& input, const RerankConfig& config, const Judges& judges,
                         RerankStats* stats = nullptr);

/// Reranks one query with a VLM: `images.candidates` are the top-min(k, n) tiles in input
/// order. Requests of one round go to `backend` in one run() call. Each evidence object also
/// gets "judge": backend.name() ("llama.cpp", "remote", "simulated").
QueryRanking rerank_query(const QueryRanking& input, const JudgeImages& images, const RerankConfig& config,
                          const PromptTemplate& prompt, VlmBackend& backend, RerankStats* stats = nullptr);

}  // namespace georank
