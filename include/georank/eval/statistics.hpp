#pragma once
/// Paired statistics of a reranker against its baseline on the same queries: the exact
/// McNemar test on top-1 correctness, Holm's step-down correction across strategies, and a
/// seeded paired bootstrap interval for a difference of recalls.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace georank {

/// Two-sided exact McNemar p-value from the discordant pairs: `b` queries only the baseline
/// got right, `c` only the reranker. min(1, 2 * P(X <= min(b, c))), X ~ Binomial(b + c, 1/2);
/// 1 when there are none.
double mcnemar_exact_p(std::int64_t b, std::int64_t c);

/// Holm-adjusted p-values, in the input order: monotone, each at most 1.
std::vector<double> holm_adjust(std::span<const double> p);

struct BootstrapInterval {
  double estimate = 0;    ///< mean(after) - mean(before) over the queries
  double lo = 0, hi = 0;  ///< percentile interval
};

/// Paired bootstrap of mean(after - before) over queries (each 0/1 or any value), resampling
/// queries with replacement `resamples` times from `seed`; the (1 - level)/2 and (1 + level)/2
/// percentiles. The same seed gives the same interval everywhere. Throws Error(invalid_argument)
/// for lists of different length, no queries, resamples < 1 or a level outside (0, 1).
BootstrapInterval paired_bootstrap(std::span<const double> before, std::span<const double> after,
                                   std::uint64_t seed, int resamples = 10000, double level = 0.95);

}  // namespace georank
