#include "georank/eval/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/random.hpp"
#include "georank/core/error.hpp"

namespace georank {

double mcnemar_exact_p(std::int64_t b, std::int64_t c) {
  if (b < 0 || c < 0) throw Error(ErrorKind::invalid_argument, "McNemar: negative counts");
  const std::int64_t n = b + c;
  if (n == 0) return 1.0;
  const std::int64_t k = std::min(b, c);
  // P(X <= k) in log space: exact for any n without overflow.
  double tail = 0;
  for (std::int64_t i = 0; i <= k; ++i) {
    const double log_term =
        std::lgamma(static_cast<double>(n) + 1) - std::lgamma(static_cast<double>(i) + 1) -
        std::lgamma(static_cast<double>(n - i) + 1) - static_cast<double>(n) * std::log(2.0);
    tail += std::exp(log_term);
  }
  return std::min(1.0, 2 * tail);
}

std::vector<double> holm_adjust(std::span<const double> p) {
  const std::size_t m = p.size();
  std::vector<std::size_t> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return p[a] < p[b]; });
  std::vector<double> adjusted(m);
  double running = 0;
  for (std::size_t r = 0; r < m; ++r) {
    running = std::max(running, std::min(1.0, static_cast<double>(m - r) * p[order[r]]));
    adjusted[order[r]] = running;
  }
  return adjusted;
}

BootstrapInterval paired_bootstrap(std::span<const double> before, std::span<const double> after,
                                   std::uint64_t seed, int resamples, double level) {
  if (before.size() != after.size())
    throw Error(ErrorKind::invalid_argument, "paired bootstrap: the two lists differ in length");
  if (before.empty()) throw Error(ErrorKind::invalid_argument, "paired bootstrap: no queries");
  if (resamples < 1) throw Error(ErrorKind::invalid_argument, "paired bootstrap: resamples must be >= 1");
  if (!(level > 0 && level < 1))
    throw Error(ErrorKind::invalid_argument, "paired bootstrap: level in (0, 1)");
  const std::size_t n = before.size();
  std::vector<double> diff(n);
  for (std::size_t i = 0; i < n; ++i) diff[i] = after[i] - before[i];
  BootstrapInterval out;
  out.estimate = std::accumulate(diff.begin(), diff.end(), 0.0) / static_cast<double>(n);
  Rng rng(seed);
  std::vector<double> means(static_cast<std::size_t>(resamples));
  for (auto& m : means) {
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) sum += diff[rng.below(n)];
    m = sum / static_cast<double>(n);
  }
  std::sort(means.begin(), means.end());
  // Percentiles by linear interpolation between order statistics (numpy's default).
  const auto percentile = [&](double q) {
    const double at = q * static_cast<double>(means.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(at));
    const std::size_t hi = std::min(lo + 1, means.size() - 1);
    return means[lo] + (at - static_cast<double>(lo)) * (means[hi] - means[lo]);
  };
  out.lo = percentile((1 - level) / 2);
  out.hi = percentile((1 + level) / 2);
  return out;
}

}  // namespace georank
