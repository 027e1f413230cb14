#include <algorithm>
#include <numeric>

#include "georank/core/error.hpp"
#include "rerank/knockout_stages.hpp"
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
    const auto groups = snake_groups(alive, group_size);
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
    for (const auto& g : groups)
      for (int c : g)
        share[static_cast<std::size_t>(c)] =
            g.size() > 1 ? wins[static_cast<std::size_t>(c)] / static_cast<double>(g.size() - 1) : 1.0;
    alive = group_winners(groups, wins, s, stage);
  }
  const std::vector<int> order = staged_order(un, alive.empty() ? -1 : alive.front(), stage, share);
  std::vector<double> score(un);
  for (std::size_t pos = 0; pos < un; ++pos)
    score[static_cast<std::size_t>(order[pos])] = static_cast<double>(un - pos);
  return {order, score, "position"};
}

}  // namespace georank
