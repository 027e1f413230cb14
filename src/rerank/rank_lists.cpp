#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "georank/core/error.hpp"
#include "georank/rerank/aggregate.hpp"

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

}  // namespace georank
