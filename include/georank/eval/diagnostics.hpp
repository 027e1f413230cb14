#pragma once
/// Diagnostics of a judge from its evidence: how well pointwise scores separate the positive
/// from the other candidates (AUROC, reliability of probabilities) and how a pairwise judge
/// behaves (position bias, intransitive triads, accuracy by retrieval-rank gap).

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace georank {

/// Area under the ROC curve of `positive` against `other` scores: P(a positive scores above
/// an other), ties counting 1/2 (the Mann-Whitney U statistic over n_pos * n_other).
/// nullopt when either list is empty. NaN scores are not allowed (filter unparsed first).
std::optional<double> auroc(std::span<const double> positive, std::span<const double> other);

struct ReliabilityBin {
  double lo = 0, hi = 0;      ///< predicted probabilities in [lo, hi) ([lo, 1] for the last)
  std::int64_t n = 0;         ///< predictions in the bin
  double mean_predicted = 0;  ///< their mean (0 when n = 0)
  double observed = 0;        ///< the fraction of them that are positives (0 when n = 0)
};

/// A reliability diagram: `bins` equal-width bins of [0, 1]. Throws Error(invalid_argument)
/// for lists of different length, bins < 1 or a probability outside [0, 1].
std::vector<ReliabilityBin> reliability_bins(std::span<const double> predicted,
                                             const std::vector<bool>& outcome, int bins = 10);
/// Expected calibration error: sum over bins of n/N * |observed - mean_predicted|.
double expected_calibration_error(std::span<const ReliabilityBin> bins);

/// One pairwise judgment of a query, by retrieval rank (0-based) of the candidates.
struct PairObservation {
  int first = -1, second = -1;  ///< shown first / second
  double p_first = 0.5;         ///< P(first is the better match)
  bool parsed = true;
};

struct RankGapAccuracy {
  int gap = 0;         ///< |retrieval rank of the positive - that of the other candidate|
  std::int64_t n = 0;  ///< pairs with the positive at this gap
  double correct = 0;  ///< pairs where the judge preferred the positive (a tie counts 1/2)
};

/// A pairwise judge's behaviour, accumulated over queries (`add_query`).
struct PairwiseDiagnostics {
  std::int64_t judgments = 0;  ///< every presented comparison
  std::int64_t unparsed = 0;
  double sum_p_first = 0;  ///< over parsed judgments
  std::int64_t parsed = 0;
  std::int64_t both_orders = 0;         ///< pairs asked in both presentation orders
  std::int64_t position_flips = 0;      ///< of those, pairs whose verdict changed with the order
  std::int64_t triads = 0;              ///< triads with all three pairs compared and decided
  std::int64_t cyclic_triads = 0;       ///< of those, cycles (a > b > c > a)
  std::vector<RankGapAccuracy> by_gap;  ///< gap ascending

  /// Adds one query's comparisons; `positive` is the positive's retrieval rank (-1: none
  /// among the compared candidates). A pair's preference is the mean over the orders asked
  /// of P(a beats b) (p_first, or 1 - p_first when b was shown first); unparsed judgments
  /// carry no preference.
  void add_query(std::span<const PairObservation> comparisons, int positive);

  [[nodiscard]] std::optional<double> mean_p_first() const;
  [[nodiscard]] std::optional<double> position_flip_rate() const;
  [[nodiscard]] std::optional<double> intransitivity() const;  ///< cyclic_triads / triads
};

}  // namespace georank
