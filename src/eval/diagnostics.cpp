#include "georank/eval/diagnostics.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include <fmt/format.h>

#include "georank/core/error.hpp"

namespace georank {

std::optional<double> auroc(std::span<const double> positive, std::span<const double> other) {
  if (positive.empty() || other.empty()) return std::nullopt;
  // Rank-sum over the pooled scores, ties sharing their mean rank.
  std::vector<std::pair<double, bool>> pooled;
  pooled.reserve(positive.size() + other.size());
  for (double s : positive) pooled.emplace_back(s, true);
  for (double s : other) pooled.emplace_back(s, false);
  for (const auto& [s, pos] : pooled)
    if (std::isnan(s)) throw Error(ErrorKind::invalid_argument, "AUROC: NaN score");
  std::sort(pooled.begin(), pooled.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  double rank_sum = 0;
  for (std::size_t i = 0; i < pooled.size();) {
    std::size_t j = i;
    while (j < pooled.size() && pooled[j].first == pooled[i].first) ++j;
    const double mean_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    for (std::size_t t = i; t < j; ++t)
      if (pooled[t].second) rank_sum += mean_rank;
    i = j;
  }
  const double np = static_cast<double>(positive.size()), no = static_cast<double>(other.size());
  return (rank_sum - np * (np + 1) / 2) / (np * no);
}

std::vector<ReliabilityBin> reliability_bins(std::span<const double> predicted,
                                             const std::vector<bool>& outcome, int bins) {
  if (predicted.size() != outcome.size())
    throw Error(ErrorKind::invalid_argument, "reliability: predictions and outcomes differ in length");
  if (bins < 1) throw Error(ErrorKind::invalid_argument, "reliability: bins must be >= 1");
  std::vector<ReliabilityBin> out(static_cast<std::size_t>(bins));
  for (int b = 0; b < bins; ++b) {
    out[static_cast<std::size_t>(b)].lo = static_cast<double>(b) / bins;
    out[static_cast<std::size_t>(b)].hi = static_cast<double>(b + 1) / bins;
  }
  for (std::size_t i = 0; i < predicted.size(); ++i) {
    const double p = predicted[i];
    if (!(p >= 0 && p <= 1))
      throw Error(ErrorKind::invalid_argument, fmt::format("reliability: probability {} outside [0, 1]", p));
    const auto b = static_cast<std::size_t>(std::min(bins - 1, static_cast<int>(p * bins)));
    out[b].n += 1;
    out[b].mean_predicted += p;
    out[b].observed += outcome[i] ? 1 : 0;
  }
  for (auto& b : out)
    if (b.n > 0) {
      b.mean_predicted /= static_cast<double>(b.n);
      b.observed /= static_cast<double>(b.n);
    }
  return out;
}

double expected_calibration_error(std::span<const ReliabilityBin> bins) {
  std::int64_t total = 0;
  double err = 0;
  for (const auto& b : bins) {
    total += b.n;
    err += static_cast<double>(b.n) * std::abs(b.observed - b.mean_predicted);
  }
  return total > 0 ? err / static_cast<double>(total) : 0.0;
}

void PairwiseDiagnostics::add_query(std::span<const PairObservation> comparisons, int positive) {
  // Per unordered pair (a < b): P(a beats b) of each order asked, and the verdicts.
  struct Pair {
    double sum = 0;
    int n = 0;
    std::optional<bool> a_first_says_a, b_first_says_a;  // the verdict in each order
  };
  std::map<std::pair<int, int>, Pair> pairs;
  for (const PairObservation& o : comparisons) {
    judgments += 1;
    if (!o.parsed) {
      unparsed += 1;
      continue;
    }
    parsed += 1;
    sum_p_first += o.p_first;
    const bool a_first = o.first < o.second;
    const std::pair<int, int> key = std::minmax(o.first, o.second);
    const double p_a = a_first ? o.p_first : 1 - o.p_first;
    Pair& p = pairs[key];
    p.sum += p_a;
    p.n += 1;
    if (p_a != 0.5) (a_first ? p.a_first_says_a : p.b_first_says_a) = p_a > 0.5;
  }
  for (const auto& [key, p] : pairs)
    if (p.a_first_says_a && p.b_first_says_a) {
      both_orders += 1;
      position_flips += *p.a_first_says_a != *p.b_first_says_a ? 1 : 0;
    }
  // The preference of each compared pair: +1 a wins, -1 b wins, 0 a tie.
  std::map<std::pair<int, int>, int> pref;
  std::vector<int> items;
  for (const auto& [key, p] : pairs) {
    const double mean = p.sum / p.n;
    pref[key] = mean > 0.5 ? 1 : mean < 0.5 ? -1 : 0;
    items.push_back(key.first);
    items.push_back(key.second);
    if (positive >= 0 && (key.first == positive || key.second == positive)) {
      const int gap = key.second - key.first;
      const double p_pos = key.first == positive ? mean : 1 - mean;
      auto it =
          std::find_if(by_gap.begin(), by_gap.end(), [&](const RankGapAccuracy& g) { return g.gap == gap; });
      if (it == by_gap.end()) {
        by_gap.push_back({gap, 0, 0});
        it = by_gap.end() - 1;
      }
      it->n += 1;
      it->correct += p_pos > 0.5 ? 1.0 : p_pos == 0.5 ? 0.5 : 0.0;
    }
  }
  std::sort(by_gap.begin(), by_gap.end(), [](const auto& x, const auto& y) { return x.gap < y.gap; });
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  // beats(x, y): +1 when x is preferred to y.
  const auto beats = [&](int x, int y) -> std::optional<int> {
    const auto it = pref.find(std::minmax(x, y));
    if (it == pref.end() || it->second == 0) return std::nullopt;
    return x < y ? it->second : -it->second;
  };
  for (std::size_t i = 0; i < items.size(); ++i)
    for (std::size_t j = i + 1; j < items.size(); ++j)
      for (std::size_t k = j + 1; k < items.size(); ++k) {
        const auto ab = beats(items[i], items[j]), bc = beats(items[j], items[k]),
                   ca = beats(items[k], items[i]);
        if (!ab || !bc || !ca) continue;
        triads += 1;
        cyclic_triads += (*ab == *bc && *bc == *ca) ? 1 : 0;  // all one way round: a cycle
      }
}

std::optional<double> PairwiseDiagnostics::mean_p_first() const {
  if (parsed == 0) return std::nullopt;
  return sum_p_first / static_cast<double>(parsed);
}

std::optional<double> PairwiseDiagnostics::position_flip_rate() const {
  if (both_orders == 0) return std::nullopt;
  return static_cast<double>(position_flips) / static_cast<double>(both_orders);
}

std::optional<double> PairwiseDiagnostics::intransitivity() const {
  if (triads == 0) return std::nullopt;
  return static_cast<double>(cyclic_triads) / static_cast<double>(triads);
}

}  // namespace georank
