#pragma once
/// Stage 2: rerank the top-K of a query's retrieval list with a judge (a VLM or a simulated
/// one); candidates below K keep their retrieval order. Strategies: pointwise (direct score,
/// Likert, Yes/No, Yes/No after reasoning), pairwise (comparison oracle + aggregator) and
/// listwise (labelled candidates in one prompt, sliding window).

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "georank/core/config.hpp"
#include "georank/data/ranking.hpp"
#include "georank/rerank/aggregate.hpp"
#include "georank/rerank/judge.hpp"
#include "georank/rerank/prompt.hpp"
#include "georank/vlm/vlm.hpp"

namespace georank {

/// How a query's top-k is judged.
enum class RerankStrategy {
  pointwise_score,            ///< a direct 0-100 score per candidate
  pointwise_likert,           ///< a 1-5 Likert grade per candidate
  pointwise_yesno,            ///< P(Yes) per candidate
  pointwise_yesno_reasoning,  ///< P(Yes) after a short generated reasoning
  pairwise,                   ///< a comparison oracle plus an aggregator
  listwise,                   ///< labelled candidates in one prompt, sliding window
  setwise,                    ///< best-of-c prompts (listwise labels), debiased over rotations, knockout
};
inline constexpr EnumName<RerankStrategy> kRerankStrategyNames[] = {
    {RerankStrategy::pointwise_score, "pointwise-score"},
    {RerankStrategy::pointwise_likert, "pointwise-likert"},
    {RerankStrategy::pointwise_yesno, "pointwise-yesno"},
    {RerankStrategy::pointwise_yesno_reasoning, "pointwise-yesno-reasoning"},
    {RerankStrategy::pairwise, "pairwise"},
    {RerankStrategy::listwise, "listwise"},
    {RerankStrategy::setwise, "setwise"}};
inline std::span<const EnumName<RerankStrategy>> enum_names(RerankStrategy) {
  return kRerankStrategyNames;
}
inline bool is_pointwise(RerankStrategy s) {
  return s != RerankStrategy::pairwise && s != RerankStrategy::listwise && s != RerankStrategy::setwise;
}

/// The reranker's configuration. Its field names are the CLI flags (`--k`, `--order-seed`,
/// '_' written '-'), the keys of a run config's [rerank] and [strategies.<name>] tables and
/// the keys of the JSON echoed into every output (core/config.hpp).
struct RerankConfig {
  RerankStrategy strategy = RerankStrategy::pairwise;
  PairAggregator aggregate = PairAggregator::all_pairs_bt;  ///< pairwise
  PairOrders orders = PairOrders::both;                     ///< pairwise
  int k = 5;    ///< rerank the top-k; the rest keep retrieval order
  int top = 3;  ///< pairwise selection: positions found (the paper's top 3)
  /// Pairwise selection: ask a round's remaining comparisons in one batch (shared prefixes);
  /// false: one call per comparison, as the paper's code. The judgments used are the same.
  bool selection_batched = true;
  std::uint64_t order_seed = 0;  ///< random presentation orders (combined with the query id)
  /// Template name (built-in) or path of a template file; empty: the strategy's built-in.
  std::string prompt;
  /// Pointwise direct score: "expected" (expected value over "0".."100") or "text" (parse a
  /// generated number).
  ScoreMode score_mode = ScoreMode::expected;
  /// How answers are read: log-probabilities of the answer set, or a generated JSON object
  /// (pairwise and pointwise; the reference paper's protocol).
  AnswerMode answer_mode = AnswerMode::logprob;
  /// Pointwise fusion weight: alpha * vlm + (1 - alpha) * retrieval (min-max over the top-k).
  double fusion_alpha = 1.0;
  /// Listwise: candidates per prompt (the image budget minus the query); 0: all k.
  int listwise_window = 0;
  /// Listwise: how far the window moves up; 0: half the window.
  int listwise_stride = 0;
  /// Pairwise all-pairs-bt: regularisation (virtual wins and losses per candidate).
  double bt_regularization = 0.1;
  /// Pairwise adaptive: stop when the leader is settled with this confidence.
  double adaptive_confidence = 0.9;
  /// Pairwise adaptive: most judgments per query; 0: every presentation, k(k-1).
  int adaptive_budget = 0;
  /// Pairwise tournament: candidates per group.
  int tournament_group = 4;
  /// Set-wise: candidates per prompt (labels "1".."c").
  int setwise_size = 4;
  /// Set-wise: presentations of each set, its labels rotated; 0: setwise_size (every candidate
  /// under every label once), 1: no debiasing.
  int setwise_rotations = 0;
  /// How a judgment's images are shown (flat keys `layout`, `composite_panel_px`): separate,
  /// or one composite canvas with panels 1..N.
  ImageLayoutConfig images;
  /// Queries reranked at once: their rounds' judge requests go to the backend in one call
  /// (fuller batches, more requests in flight); 1: one query at a time. The rankings are those
  /// of one query at a time, up to the judge's own batch-layout noise (docs/judges.md).
  int query_batch = 1;

  template <class Self, class Visit>
  static void fields(Self& c, Visit&& v) {
    v("strategy", c.strategy,
      "pointwise-score | pointwise-likert | pointwise-yesno | pointwise-yesno-reasoning | pairwise | "
      "listwise | setwise");
    v("aggregate", c.aggregate,
      "Pairwise: all-pairs-copeland | all-pairs-bt | knockout | bubble | sort | selection | adaptive | "
      "tournament");
    v("orders", c.orders, "Pairwise presentation orders: single | both | random");
    v("k", c.k, "Rerank the top-k (the rest keep retrieval order)");
    v("top", c.top, "Pairwise selection: how many top positions to select (the paper: 3)");
    v("selection_batched", c.selection_batched,
      "Pairwise selection: one batch per round (shared prefixes; the same judgments are used)");
    v("order_seed", c.order_seed, "Seed of random presentation orders");
    v("prompt", c.prompt, "Prompt template: a built-in name or a .toml file (default: the strategy's)");
    v("score_mode", c.score_mode, "Direct score: expected (over \"0\"..\"100\") or text");
    v("answer_mode", c.answer_mode,
      "logprob (answer-set probabilities) or generate-json (parse a JSON answer)");
    v("fusion_alpha", c.fusion_alpha, "Pointwise: alpha * vlm + (1 - alpha) * retrieval");
    v("listwise_window", c.listwise_window, "Listwise: candidates per prompt (0: all k)");
    v("listwise_stride", c.listwise_stride, "Listwise: window step (0: half the window)");
    v("bt_regularization", c.bt_regularization, "Bradley-Terry pseudo-wins per candidate");
    v("adaptive_confidence", c.adaptive_confidence, "Pairwise adaptive: stop when the top-1 is this sure");
    v("adaptive_budget", c.adaptive_budget, "Pairwise adaptive: most judgments per query (0: k(k-1))");
    v("tournament_group", c.tournament_group, "Pairwise tournament: candidates per group");
    v("setwise_size", c.setwise_size, "Set-wise: candidates per prompt");
    v("setwise_rotations", c.setwise_rotations,
      "Set-wise: label rotations per set (0: setwise_size, 1: no debiasing)");
    ImageLayoutConfig::fields(c.images, v);
    v("query_batch", c.query_batch, "Queries reranked at once, their rounds merged into one judge call");
  }
};

/// Checks names and ranges; throws Error(invalid_argument) naming the offending field.
void validate(const RerankConfig& config);
inline nlohmann::json to_json(const RerankConfig& config) {
  return config_to_json(config);
}
/// Reads the keys present in `j` over the defaults and validates; unknown keys throw
/// Error(invalid_argument).
RerankConfig rerank_config_from_json(const nlohmann::json& j);
/// The template `config.prompt` names (or the strategy's built-in); checks it fits the strategy.
PromptTemplate prompt_for(const RerankConfig& config);

/// Counters accumulated over queries.
struct RerankStats {
  std::int64_t n_queries = 0;
  std::int64_t n_judgments = 0;  ///< judge requests (a pairwise comparison in both orders is 2)
  std::int64_t n_rounds = 0;     ///< judge calls (batches)
  std::int64_t n_unparsed = 0;   ///< judgments without a usable answer
  RerankStats& operator+=(const RerankStats& o) {
    n_queries += o.n_queries;
    n_judgments += o.n_judgments;
    n_rounds += o.n_rounds;
    n_unparsed += o.n_unparsed;
    return *this;
  }
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
