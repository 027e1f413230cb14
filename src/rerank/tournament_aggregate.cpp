#include <algorithm>
#include <numeric>

#include "georank/core/error.hpp"
#include "rerank/pairwise_strategies.hpp"

namespace georank {

AggregateResult tournament(int n, ComparisonOracle& oracle, int group_size) {
  if (group_size < 2) throw Error(ErrorKind::invalid_argument, "tournament: group size must be >= 2");
  const auto un = static_cast<std::size_t>(std::max(n, 0));
  std::vector<int> stage(un, 0);       // the last stage each candidate played
  std::vector<double> share(un, 0.0);  // its soft-win share in that stage
  std::vector<int> alive(un);
  std::iota(alive.begin(), alive.end(), 0);  // by seed (retrieval rank)
  int s = 0;
  while (alive.size() > 1) {
    ++s;
    const std::size_t n_groups =
        (alive.size() + static_cast<std::size_t>(group_size) - 1) / static_cast<std::size_t>(group_size);
    // Snake seeding: seeds 0..g-1 open the groups, g..2g-1 come back the other way, ...
    std::vector<std::vector<int>> groups(n_groups);
    for (std::size_t i = 0; i < alive.size(); ++i) {
      const std::size_t lap = i / n_groups, pos = i % n_groups;
      groups[lap % 2 == 0 ? pos : n_groups - 1 - pos].push_back(alive[i]);
    }
    std::vector<std::pair<int, int>> pairs;
    for (const auto& g : groups)
      for (std::size_t a = 0; a < g.size(); ++a)
        for (std::size_t b = a + 1; b < g.size(); ++b) pairs.emplace_back(g[a], g[b]);
    const auto p = oracle.compare(pairs);  // every group of the stage in one round
    std::vector<double> wins(un, 0.0);
    for (std::size_t k = 0; k < pairs.size(); ++k) {
      wins[static_cast<std::size_t>(pairs[k].first)] += p[k];
      wins[static_cast<std::size_t>(pairs[k].second)] += 1.0 - p[k];
    }
    std::vector<int> next;
    for (const auto& g : groups) {
      int best = g.front();
      for (int c : g) {
        const auto uc = static_cast<std::size_t>(c);
        stage[uc] = s;
        share[uc] = g.size() > 1 ? wins[uc] / static_cast<double>(g.size() - 1) : 1.0;
        if (wins[uc] > wins[static_cast<std::size_t>(best)] ||
            (wins[uc] == wins[static_cast<std::size_t>(best)] && c < best))
          best = c;
      }
      next.push_back(best);
    }
    std::sort(next.begin(), next.end());
    alive = std::move(next);
  }
  std::vector<int> order(un);
  std::iota(order.begin(), order.end(), 0);
  const int champion = alive.empty() ? -1 : alive.front();
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    if ((a == champion) != (b == champion)) return a == champion;
    const auto ua = static_cast<std::size_t>(a), ub = static_cast<std::size_t>(b);
    if (stage[ua] != stage[ub]) return stage[ua] > stage[ub];
    return share[ua] > share[ub];
  });
  std::vector<double> score(un);
  for (std::size_t pos = 0; pos < un; ++pos)
    score[static_cast<std::size_t>(order[pos])] = static_cast<double>(un - pos);
  return {order, score, "position"};
}

}  // namespace georank
