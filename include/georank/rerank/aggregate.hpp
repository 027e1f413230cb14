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
    {PairAggregator::selection, "selection"}};
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

/// Runs a pairwise aggregator over n candidates. Each round's comparisons go to the oracle in
/// one compare() call. `selection_top` is the N of `selection`; `selection_batched` asks each
/// of its rounds in one call (same judgments used, fewer calls, shared prefixes).
AggregateResult aggregate_pairwise(PairAggregator aggregator, int n, ComparisonOracle& oracle,
                                   const BradleyTerryOptions& bt = {}, int selection_top = 3,
                                   bool selection_batched = true);

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

}  // namespace georank
