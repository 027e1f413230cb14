#pragma once
/// Retrieval metrics over ranked candidate lists, with the definitions used in the VIGOR
/// literature. A metric whose value a list cannot determine (the list is too short to show
/// where the positive is) is reported as unknown (`std::nullopt`, JSON null), never as zero.
///
/// Rank of the positive: its 0-based position in the list minus the number of earlier
/// candidates with exactly the same score. For a list sorted by descending score this is the
/// number of candidates scoring strictly higher, i.e. ties count in favour of the positive as
/// in VIGOR's and Sample4Geo's evaluation code. A positive absent from the list ranks below it.
///
/// - R@k: rank < k. Known when the positive is within the list or the list holds at least
///   min(k, N) candidates (N = gallery size).
/// - R@1% (VIGOR's definition, `top1_percent = int(0.01 * N) + 1` in its code): rank <
///   floor(0.01 * N) + 1. Sample4Geo uses N // 100 instead (one rank less). Known as R@k is.
/// - Hit rate (VIGOR): the first candidate of the list is the positive (rank 0) or one of its
///   semi-positives.
/// - Hit rate, Sample4Geo variant: no candidate other than the semi-positives outranks the
///   positive (`hit = (higher_sim * mask).sum() < 1` in its code); it can count a query whose
///   top-1 is a semi-positive and also one whose positive is second behind a semi-positive.
/// - MRR: mean of 1 / (rank + 1), 0 for a positive outside the list (MRR@K).
/// - Metre error: great-circle distance (sphere radius 6,371,004 m) from the query's GPS to
///   the centre of its top-1 tile; median (numpy's: mean of the middle two for an even
///   count), mean and the fraction with error <= t metres. Unknown when any query or top-1
///   tile lacks a position.

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "georank/core/config.hpp"
#include "georank/data/dataset.hpp"
#include "georank/data/ranking.hpp"

namespace georank {

struct MetricsConfig {
  std::vector<int> ks = {1, 3, 5, 10};                        ///< R@k cut-offs
  std::vector<double> meter_thresholds = {1, 5, 10, 25, 50};  ///< metres

  template <class Self, class Visit>
  static void fields(Self& c, Visit&& v) {
    v("ks", c.ks, "R@k cut-offs");
    v("meter_thresholds", c.meter_thresholds, "Accuracy thresholds in metres");
  }
};

/// What one query's list says; unknown outcomes are nullopt.
struct QueryOutcome {
  std::string query_id;
  std::optional<std::size_t> positive_rank;  ///< nullopt: the positive is not in the list
  std::size_t list_size = 0;
  std::optional<bool> hit;             ///< VIGOR hit
  std::optional<bool> hit_sample4geo;  ///< Sample4Geo hit
  std::optional<double> meter_error;   ///< metres to the top-1 tile centre
};

struct Metrics {
  std::size_t n_queries = 0;
  std::size_t gallery_size = 0;                 ///< N
  std::map<int, std::optional<double>> recall;  ///< k -> fraction
  std::optional<double> r_at_1pct;              ///< VIGOR definition (see above)
  std::size_t r_at_1pct_rank = 0;               ///< floor(0.01 N) + 1
  std::optional<double> hit_rate;               ///< VIGOR definition
  std::optional<double> hit_rate_sample4geo;    ///< Sample4Geo's variant
  std::optional<double> mrr;
  struct MeterError {
    std::optional<double> median;
    std::optional<double> mean;
    std::map<double, std::optional<double>> accuracy_at;  ///< threshold (m) -> fraction
  } meter_error;
  std::vector<std::string> notes;  ///< why a value is unknown, and other caveats
};

/// Outcome of one list, judged against the dataset's labels (not the list's own flags).
/// Throws Error(not_found) when the query is not in the dataset.
QueryOutcome query_outcome(const QueryRanking& ranking, const Dataset& dataset);

/// Metrics over all rankings. Throws Error(not_found) for a query the dataset does not know
/// and Error(invalid_argument) for a query listed twice or a k < 1.
Metrics compute_metrics(const std::vector<QueryRanking>& rankings, const Dataset& dataset,
                        const MetricsConfig& config = {});

/// The metrics object of `georank eval --json` and of every report: `n_queries`, `recall`
/// {"k": fraction}, `r_at_1pct`, `hit_rate`, `hit_rate_sample4geo`, `mrr`, `meter_error`
/// {`median`, `mean`, `accuracy_at` {"metres": fraction}}; unknown values are null.
nlohmann::json to_json(const Metrics& metrics);

}  // namespace georank
