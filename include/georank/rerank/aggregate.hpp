#pragma once
/// Rank aggregation over judges: pairwise aggregators on a comparison oracle, pointwise
/// ranking with optional fusion, listwise sliding window. Candidates are 0..n-1 in retrieval
/// order; every tie is broken by retrieval rank (the lower index first).

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "georank/core/config.hpp"
#include "georank/rerank/judge.hpp"

namespace georank {

/// Which presentation orders a pairwise comparison uses.
enum class PairOrders {
  single,  ///< as asked: the better-retrieval candidate first
  both,    ///< both orders; P = (p_AB + (1 - p_BA)) / 2
  random,  ///< one order chosen by a seeded coin per pair
};

enum class PairAggregator {
  all_pairs_copeland,  ///< all n(n-1)/2 pairs; score = wins (a tie counts 1/2 each)
  all_pairs_bt,        ///< all pairs; Bradley-Terry fit on the soft outcomes (MM, regularised)
  knockout,            ///< single elimination seeded by retrieval rank: n-1 comparisons
  bubble,              ///< one PRP-style pass from the bottom: n-1 comparisons, finds the top-1
  sort,                ///< full merge sort with the oracle as comparator
  /// Partial selection sort for the top N (the reference paper's protocol): for each position
  /// i < N, the current best (initially candidate i) meets every later candidate in turn and
  /// the challenger takes its place only when it wins; the best then swaps into position i.
  /// With `single` orders the current best is always shown first and every comparison is its
  /// own judge call, (n-1) + ... + (n-N) of them (3n-6 for N = 3): a tie or an unparsed answer
  /// keeps the current best. Batched (the default), a round asks the current best against all
  /// remaining challengers in one call, so they share its prefix, and stops reading at the
  /// first win; the judgments used, and so the result, are those of the sequential protocol.
  selection,
  /// Active Bradley-Terry top-1 identification: a first round shows candidate 0 against every
  /// other candidate (orders alternating), then each round fits a Bradley-Terry model with a
  /// first-position effect and a Gaussian prior and asks the unasked presentations that can
  /// still overturn the leader (the second order first), until the leader is settled with
  /// `adaptive_confidence` (every rival has P(rival stronger) <= 1 - confidence) or
  /// `adaptive_budget` judgments are spent. Presentation orders are its own (`orders` unused).
  adaptive,
  /// Group stages plus a final: groups of `tournament_group` (snake-seeded by retrieval rank)
  /// play all pairs in one round, each group's winner (most soft wins) advances, until one
  /// group is left, whose all-pairs result is the final.
  tournament,
};

inline constexpr EnumName<PairOrders> kPairOrdersNames[] = {
    {PairOrders::single, "single"}, {PairOrders::both, "both"}, {PairOrders::random, "random"}};
inline std::span<const EnumName<PairOrders>> enum_names(PairOrders) {
  return kPairOrdersNames;
}
inline constexpr EnumName<PairAggregator> kPairAggregatorNames[] = {
    {PairAggregator::all_pairs_copeland, "all-pairs-copeland"},
    {PairAggregator::all_pairs_bt, "all-pairs-bt"},
    {PairAggregator::knockout, "knockout"},
    {PairAggregator::bubble, "bubble"},
    {PairAggregator::sort, "sort"},
    {PairAggregator::selection, "selection"},
    {PairAggregator::adaptive, "adaptive"},
    {PairAggregator::tournament, "tournament"}};
inline std::span<const EnumName<PairAggregator>> enum_names(PairAggregator) {
  return kPairAggregatorNames;
}
inline const char* to_string(PairOrders orders) noexcept {
  return enum_name(orders).data();
}
inline const char* to_string(PairAggregator aggregator) noexcept {
  return enum_name(aggregator).data();
}

/// P(a beats b) from a PairJudge under an order policy. Each compare() call is one judge
/// round; a pair already answered (in either order) is answered from memory. Not thread-safe.
class ComparisonOracle {
 public:
  /// `judge` must outlive the oracle; `seed` drives the `random` order policy.
  ComparisonOracle(PairJudge& judge, PairOrders orders, std::uint64_t seed = 0);
  /// P(pairs[i].first beats pairs[i].second), in [0, 1].
  std::vector<double> compare(std::span<const std::pair<int, int>> pairs);
  /// One comparison shown exactly as given (`first` first), as its own judge call whatever the
  /// order policy, answered afresh even if the pair was answered before: the judgment.
  PairJudgment compare_shown(int first, int second);
  /// Comparisons shown exactly as given, in one judge call (a batch shares its prefixes);
  /// nothing is recorded: the caller records the judgments it uses (`record`).
  std::vector<PairJudgment> ask_shown(std::span<const std::pair<int, int>> shown);
  void record(const PairJudgment& judgment) { judgments_.push_back(judgment); }
  /// Every judgment made, in the order made (both orders appear separately).
  [[nodiscard]] const std::vector<PairJudgment>& judgments() const { return judgments_; }
  [[nodiscard]] int n_rounds() const { return n_rounds_; }
  [[nodiscard]] PairOrders orders() const { return orders_; }

 private:
  PairJudge& judge_;
  PairOrders orders_;
  std::uint64_t rng_state_;
  std::vector<PairJudgment> judgments_;
  std::map<std::pair<int, int>, double> memo_;  // (a, b) -> P(a beats b), a pair stored once
  int n_rounds_ = 0;
};

/// A ranking of candidates 0..n-1.
struct AggregateResult {
  std::vector<int> order;     ///< candidates, best first
  std::vector<double> score;  ///< per candidate (index = candidate); meaning per aggregator
  std::string score_name;     ///< "copeland_wins", "bt_log_strength", "knockout_wins", "position"
};

struct BradleyTerryOptions {
  double regularization = 0.1;  ///< pseudo-wins and pseudo-losses against a virtual unit-strength item
  int max_iterations = 10000;
  double tolerance = 1e-10;  ///< stop when no log-strength changes more than this
};

/// Bradley-Terry log-strengths (mean zero) fitted by Hunter's MM algorithm to soft outcomes
/// `wins[i][j]` = (fractional) wins of i over j. Each item also plays a virtual item of
/// strength 1 with `regularization` wins and losses, so the fit exists for any outcomes.
std::vector<double> bradley_terry(const std::vector<std::vector<double>>& wins,
                                  const BradleyTerryOptions& options = {});

/// The settings of the pairwise aggregators (RerankConfig's pairwise fields).
struct PairwiseOptions {
  int selection_top = 3;             ///< selection: the N top positions found
  bool selection_batched = true;     ///< selection: each round in one call (same judgments used)
  double adaptive_confidence = 0.9;  ///< adaptive: stop when the leader is settled this surely
  int adaptive_budget = 0;           ///< adaptive: most judgments per query; 0: n(n-1), every presentation
  int tournament_group = 4;          ///< tournament: candidates per group (>= 2)
  BradleyTerryOptions bt = {};       ///< all-pairs-bt
};

/// Runs a pairwise aggregator over n candidates. Each round's comparisons go to the oracle in
/// one call, so a round's requests share their prefixes.
AggregateResult aggregate_pairwise(PairAggregator aggregator, int n, ComparisonOracle& oracle,
                                   const PairwiseOptions& options = {});

/// One presentation and its outcome for a Bradley-Terry fit with a first-position effect.
struct ShownOutcome {
  int first = -1, second = -1;
  double p_first = 0.5;  ///< soft outcome: P(first wins)
};

/// Bradley-Terry posterior (Laplace approximation): log-strengths theta (prior N(0, prior_sd^2))
/// and a first-position effect beta (prior N(0, 1)) fitted by Newton's method to soft outcomes,
/// P(first wins) = sigmoid(theta_first - theta_second + beta).
struct BradleyTerryPosterior {
  std::vector<double> theta;             ///< posterior mode, per candidate
  double position_effect = 0;            ///< beta
  std::vector<std::vector<double>> cov;  ///< covariance of theta (n x n)
  /// P(theta_b > theta_a) under the Gaussian approximation.
  [[nodiscard]] double p_stronger(int b, int a) const;
};
BradleyTerryPosterior fit_bradley_terry_posterior(int n, std::span<const ShownOutcome> outcomes,
                                                  double prior_sd = 1.0);

/// Pointwise ranking: fused = alpha * vlm + (1 - alpha) * retrieval_minmax, where `vlm` is in
/// [0, 1] (NaN: unparsed) and retrieval scores are min-max normalised over the n candidates.
/// Unparsed candidates follow the parsed ones. `score` holds the fused values (NaN unparsed).
AggregateResult rank_pointwise(std::span<const double> vlm, std::span<const double> retrieval, double alpha);

/// One window of a listwise pass and the judgment made on it.
struct ListWindow {
  int start = 0;  ///< position in the ranking where the window began
  ListJudgment judgment;
};

/// Listwise sliding window, from the bottom of the list up (RankLLM style): windows of
/// `window` candidates moving up by `stride`; each window is reordered by its label
/// distribution (ties keep the current order). One judge call per window; window >= n means
/// one call. `score` holds each candidate's probability in the last window that held it.
AggregateResult rank_listwise(int n, ListJudge& judge, int window, int stride,
                              std::vector<ListWindow>* windows = nullptr);

/// One set-wise prompt and the judgment made on it.
struct SetJudgment {
  int stage = 0;  ///< 1 for the first stage
  ListJudgment judgment;
};

/// Set-wise knockout for the top-1: sets of at most `set_size` candidates (snake-seeded by
/// retrieval rank), each shown `rotations` times with its labels rotated (every candidate under
/// every label once when rotations = set size) and judged by the mean of its distributions;
/// each set's best advances until one is left. All prompts of a stage go to the judge in one
/// call. The rest follow by the stage they reached, then their mean probability there.
AggregateResult rank_setwise(int n, ListJudge& judge, int set_size, int rotations,
                             std::vector<SetJudgment>* judgments = nullptr);

}  // namespace georank
