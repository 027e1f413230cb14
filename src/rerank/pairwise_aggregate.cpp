#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "georank/core/error.hpp"
#include "georank/rerank/aggregate.hpp"
#include "rerank/pairwise_strategies.hpp"

namespace georank {
namespace {

// Sorts candidates by score, best first; ties keep retrieval order (stable on 0..n-1).
std::vector<int> order_by_score(const std::vector<double>& score) {
  std::vector<int> order(score.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return score[a] > score[b]; });
  return order;
}

std::vector<std::pair<int, int>> all_pairs(int n) {
  std::vector<std::pair<int, int>> pairs;
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j) pairs.emplace_back(i, j);
  return pairs;
}

AggregateResult copeland(int n, ComparisonOracle& oracle) {
  const auto pairs = all_pairs(n);
  const auto p = oracle.compare(pairs);
  std::vector<double> wins(n, 0.0);
  for (std::size_t k = 0; k < pairs.size(); ++k) {
    const auto [i, j] = pairs[k];
    if (p[k] > 0.5)
      wins[i] += 1;
    else if (p[k] < 0.5)
      wins[j] += 1;
    else {
      wins[i] += 0.5;
      wins[j] += 0.5;
    }
  }
  return {order_by_score(wins), wins, "copeland_wins"};
}

AggregateResult bt(int n, ComparisonOracle& oracle, const BradleyTerryOptions& options) {
  const auto pairs = all_pairs(n);
  const auto p = oracle.compare(pairs);
  std::vector<std::vector<double>> wins(n, std::vector<double>(n, 0.0));
  for (std::size_t k = 0; k < pairs.size(); ++k) {
    wins[pairs[k].first][pairs[k].second] = p[k];
    wins[pairs[k].second][pairs[k].first] = 1.0 - p[k];
  }
  auto strength = bradley_terry(wins, options);
  // Strengths equal up to the fit's tolerance are ties (broken by retrieval rank).
  for (double& s : strength) s = std::round(s * 1e8) / 1e8;
  return {order_by_score(strength), strength, "bt_log_strength"};
}

AggregateResult knockout(int n, ComparisonOracle& oracle) {
  std::vector<double> wins(n, 0.0);
  std::vector<int> alive(n);
  std::iota(alive.begin(), alive.end(), 0);  // sorted by seed (retrieval rank)
  while (alive.size() > 1) {
    // Byes for the top seeds until the field is a power of two; the rest play best vs worst.
    std::size_t power = 1;
    while (power * 2 <= alive.size()) power *= 2;
    const std::size_t n_matches = alive.size() == power ? power / 2 : alive.size() - power;
    const std::size_t first_playing = alive.size() - 2 * n_matches;
    std::vector<std::pair<int, int>> matches;
    for (std::size_t m = 0; m < n_matches; ++m)
      matches.emplace_back(alive[first_playing + m], alive[alive.size() - 1 - m]);
    const auto p = oracle.compare(matches);
    std::vector<int> next(alive.begin(), alive.begin() + static_cast<std::ptrdiff_t>(first_playing));
    for (std::size_t m = 0; m < n_matches; ++m) {
      const int winner = p[m] >= 0.5 ? matches[m].first : matches[m].second;
      wins[winner] += 1;
      next.push_back(winner);
    }
    std::sort(next.begin(), next.end());
    alive = std::move(next);
  }
  if (n > 0) wins[alive[0]] += 0.5;  // the champion ranks above finalists with equal wins
  return {order_by_score(wins), wins, "knockout_wins"};
}

AggregateResult bubble(int n, ComparisonOracle& oracle) {
  std::vector<int> list(n);
  std::iota(list.begin(), list.end(), 0);
  for (int pos = n - 2; pos >= 0; --pos) {
    const std::pair<int, int> match{list[pos], list[pos + 1]};
    const double p = oracle.compare(std::span(&match, 1))[0];
    if (p < 0.5) std::swap(list[pos], list[pos + 1]);
  }
  std::vector<double> score(n);
  for (int pos = 0; pos < n; ++pos) score[list[pos]] = n - pos;
  return {list, score, "position"};
}

AggregateResult selection(int n, int top, bool batched, ComparisonOracle& oracle) {
  std::vector<int> list(n);
  std::iota(list.begin(), list.end(), 0);
  for (int i = 0; i < std::min(top, n - 1); ++i) {
    int best = i;
    for (int j = i + 1; j < n;) {
      // The challenger wins only on a clear answer for it; the current best is shown first.
      if (oracle.orders() != PairOrders::single) {
        if (oracle.compare(std::vector<std::pair<int, int>>{{list[best], list[j]}})[0] < 0.5) best = j;
        ++j;
      } else if (!batched) {
        if (oracle.compare_shown(list[best], list[j]).p_first < 0.5) best = j;
        ++j;
      } else {
        // The best against every remaining challenger at once; read up to the first win.
        std::vector<std::pair<int, int>> shown;
        for (int t = j; t < n; ++t) shown.emplace_back(list[best], list[t]);
        const auto got = oracle.ask_shown(shown);
        int next = n;
        for (std::size_t k = 0; k < got.size(); ++k) {
          oracle.record(got[k]);
          if (got[k].p_first < 0.5) {
            best = j + static_cast<int>(k);
            next = best + 1;
            break;
          }
        }
        j = next;
      }
    }
    std::swap(list[i], list[best]);
  }
  std::vector<double> score(n);
  for (int pos = 0; pos < n; ++pos) score[list[pos]] = n - pos;
  return {list, score, "position"};
}

AggregateResult merge_sort(int n, ComparisonOracle& oracle) {
  std::vector<std::vector<int>> runs;
  for (int i = 0; i < n; ++i) runs.push_back({i});
  struct Merge {
    std::vector<int> left, right, out;
    std::size_t li = 0, ri = 0;
    [[nodiscard]] bool done() const { return li == left.size() || ri == right.size(); }
  };
  while (runs.size() > 1) {
    std::vector<Merge> merges;
    for (std::size_t r = 0; r + 1 < runs.size(); r += 2) merges.push_back({runs[r], runs[r + 1], {}});
    // All merges of a level advance together: one comparison per unfinished merge per round.
    while (true) {
      std::vector<std::pair<int, int>> round;
      std::vector<Merge*> active;
      for (auto& m : merges)
        if (!m.done()) {
          round.emplace_back(m.left[m.li], m.right[m.ri]);
          active.push_back(&m);
        }
      if (round.empty()) break;
      const auto p = oracle.compare(round);
      for (std::size_t k = 0; k < active.size(); ++k) {
        Merge& m = *active[k];
        // The left run holds better retrieval ranks: it wins ties (a stable sort).
        if (p[k] >= 0.5)
          m.out.push_back(m.left[m.li++]);
        else
          m.out.push_back(m.right[m.ri++]);
      }
    }
    std::vector<std::vector<int>> next;
    for (auto& m : merges) {
      m.out.insert(m.out.end(), m.left.begin() + static_cast<std::ptrdiff_t>(m.li), m.left.end());
      m.out.insert(m.out.end(), m.right.begin() + static_cast<std::ptrdiff_t>(m.ri), m.right.end());
      next.push_back(std::move(m.out));
    }
    if (runs.size() % 2 == 1) next.push_back(runs.back());
    runs = std::move(next);
  }
  std::vector<int> order = runs.empty() ? std::vector<int>{} : runs[0];
  std::vector<double> score(n);
  for (int pos = 0; pos < n; ++pos) score[order[pos]] = n - pos;
  return {order, score, "position"};
}

}  // namespace

std::vector<double> bradley_terry(const std::vector<std::vector<double>>& wins,
                                  const BradleyTerryOptions& options) {
  const std::size_t n = wins.size();
  if (options.regularization <= 0)
    throw Error(ErrorKind::invalid_argument, "Bradley-Terry regularization must be > 0");
  std::vector<double> pi(n, 1.0), w(n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j)
      if (i != j) w[i] += wins[i][j];
  const double lambda = options.regularization;
  for (int it = 0; it < options.max_iterations; ++it) {
    std::vector<double> next(n);
    for (std::size_t i = 0; i < n; ++i) {
      // MM update (Hunter 2004) with the virtual opponent of strength 1.
      double denom = 2.0 * lambda / (pi[i] + 1.0);
      for (std::size_t j = 0; j < n; ++j)
        if (i != j) denom += (wins[i][j] + wins[j][i]) / (pi[i] + pi[j]);
      next[i] = (w[i] + lambda) / denom;
    }
    double change = 0;
    for (std::size_t i = 0; i < n; ++i)
      change = std::max(change, std::abs(std::log(next[i]) - std::log(pi[i])));
    pi = std::move(next);
    if (change < options.tolerance) break;
  }
  std::vector<double> log_strength(n);
  double mean = 0;
  for (std::size_t i = 0; i < n; ++i) mean += (log_strength[i] = std::log(pi[i])) / static_cast<double>(n);
  for (double& s : log_strength) s -= mean;
  return log_strength;
}

AggregateResult aggregate_pairwise(PairAggregator aggregator, int n, ComparisonOracle& oracle,
                                   const PairwiseOptions& options) {
  if (n < 0) throw Error(ErrorKind::invalid_argument, "negative candidate count");
  switch (aggregator) {
    case PairAggregator::all_pairs_copeland: return copeland(n, oracle);
    case PairAggregator::all_pairs_bt: return bt(n, oracle, options.bt);
    case PairAggregator::knockout: return knockout(n, oracle);
    case PairAggregator::bubble: return bubble(n, oracle);
    case PairAggregator::sort: return merge_sort(n, oracle);
    case PairAggregator::selection:
      if (options.selection_top < 1) throw Error(ErrorKind::invalid_argument, "selection: top must be >= 1");
      return selection(n, options.selection_top, options.selection_batched, oracle);
    case PairAggregator::adaptive: return adaptive_top1(n, oracle, options);
    case PairAggregator::tournament: return tournament(n, oracle, options.tournament_group);
  }
  throw Error(ErrorKind::invalid_argument, "unknown pairwise aggregator");
}

}  // namespace georank
