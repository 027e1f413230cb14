#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "georank/core/error.hpp"
#include "georank/rerank/aggregate.hpp"
#include "rerank/knockout_stages.hpp"

namespace georank {

AggregateResult rank_pointwise(std::span<const double> vlm, std::span<const double> retrieval, double alpha) {
  if (vlm.size() != retrieval.size())
    throw Error(ErrorKind::invalid_argument, "pointwise ranking: score and retrieval lists differ in length");
  if (!(alpha >= 0 && alpha <= 1)) throw Error(ErrorKind::invalid_argument, "fusion alpha must be in [0, 1]");
  const std::size_t n = vlm.size();
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double r : retrieval) {
    lo = std::min(lo, r);
    hi = std::max(hi, r);
  }
  std::vector<double> fused(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double r = hi > lo ? (retrieval[i] - lo) / (hi - lo) : 1.0;
    fused[i] =
        std::isnan(vlm[i]) ? std::numeric_limits<double>::quiet_NaN() : alpha * vlm[i] + (1.0 - alpha) * r;
  }
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    if (std::isnan(fused[a]) || std::isnan(fused[b])) return !std::isnan(fused[a]) && std::isnan(fused[b]);
    return fused[a] > fused[b];
  });
  return {order, fused, "fused_score"};
}

AggregateResult rank_listwise(int n, ListJudge& judge, int window, int stride,
                              std::vector<ListWindow>* windows) {
  if (window < 2) throw Error(ErrorKind::invalid_argument, "listwise window must hold at least 2 candidates");
  if (stride < 1) throw Error(ErrorKind::invalid_argument, "listwise stride must be >= 1");
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::vector<double> score(n, 0.0);
  if (n <= 1) return {order, std::vector<double>(n, 1.0), "p_match"};
  const int w = std::min(window, n);
  int start = n - w;
  while (true) {
    const std::span<const int> current(order.data() + start, static_cast<std::size_t>(w));
    ListJudgment j = judge.judge(current);
    if (j.probs.size() != current.size())
      throw Error(ErrorKind::backend, fmt::format("list judge returned {} probabilities for a window of {}",
                                                  j.probs.size(), current.size()));
    std::vector<int> local(static_cast<std::size_t>(w));
    std::iota(local.begin(), local.end(), 0);
    std::stable_sort(local.begin(), local.end(), [&](int a, int b) { return j.probs[a] > j.probs[b]; });
    std::vector<int> reordered;
    for (int l : local) {
      reordered.push_back(current[l]);
      score[current[l]] = j.probs[l];
    }
    std::copy(reordered.begin(), reordered.end(), order.begin() + start);
    if (windows) windows->push_back({start, std::move(j)});
    if (start == 0) break;
    start = std::max(0, start - stride);
  }
  return {order, score, "p_match"};
}

AggregateResult rank_setwise(int n, ListJudge& judge, int set_size, int rotations,
                             std::vector<SetJudgment>* judgments) {
  if (set_size < 2)
    throw Error(ErrorKind::invalid_argument, "set-wise: sets must hold at least 2 candidates");
  if (rotations < 1) throw Error(ErrorKind::invalid_argument, "set-wise: rotations must be >= 1");
  const auto un = static_cast<std::size_t>(std::max(n, 0));
  std::vector<int> stage(un, 0);
  std::vector<double> mean_p(un, 1.0);
  std::vector<int> alive(un);
  std::iota(alive.begin(), alive.end(), 0);
  int s = 0;
  while (alive.size() > 1) {
    ++s;
    const auto sets = snake_groups(alive, set_size);
    std::vector<std::vector<int>> windows;
    std::vector<std::size_t> owner;
    for (std::size_t g = 0; g < sets.size(); ++g) {
      const std::size_t m = sets[g].size();
      if (m < 2) continue;
      const std::size_t r = std::min(static_cast<std::size_t>(rotations), m);
      for (std::size_t t = 0; t < r; ++t) {
        const std::size_t shift = t * m / r;
        std::vector<int> w;
        for (std::size_t i = 0; i < m; ++i) w.push_back(sets[g][(i + shift) % m]);
        windows.push_back(std::move(w));
        owner.push_back(g);
      }
    }
    std::vector<ListJudgment> got = judge.judge_all(windows);
    if (got.size() != windows.size())
      throw Error(ErrorKind::backend,
                  fmt::format("list judge returned {} judgments for {} sets", got.size(), windows.size()));
    std::vector<double> sum(un, 0.0);
    std::vector<int> seen(un, 0);
    for (std::size_t k = 0; k < got.size(); ++k) {
      if (got[k].probs.size() != windows[k].size())
        throw Error(ErrorKind::backend, fmt::format("list judge returned {} probabilities for a set of {}",
                                                    got[k].probs.size(), windows[k].size()));
      for (std::size_t i = 0; i < windows[k].size(); ++i) {
        sum[static_cast<std::size_t>(windows[k][i])] += got[k].probs[i];
        ++seen[static_cast<std::size_t>(windows[k][i])];
      }
      if (judgments) judgments->push_back({s, std::move(got[k])});
    }
    for (const auto& set : sets)
      for (int c : set) {
        const auto uc = static_cast<std::size_t>(c);
        mean_p[uc] = seen[uc] > 0 ? sum[uc] / seen[uc] : 1.0;
      }
    alive = group_winners(sets, mean_p, s, stage);
  }
  const std::vector<int> order = staged_order(un, alive.empty() ? -1 : alive.front(), stage, mean_p);
  return {order, mean_p, "p_match_mean"};
}

}  // namespace georank
