#include "rerank/knockout_stages.hpp"

#include <algorithm>
#include <numeric>

namespace georank {

std::vector<std::vector<int>> snake_groups(const std::vector<int>& alive, int group_size) {
  const auto size = static_cast<std::size_t>(std::max(group_size, 1));
  const std::size_t n_groups = (alive.size() + size - 1) / size;
  std::vector<std::vector<int>> groups(n_groups);
  for (std::size_t i = 0; i < alive.size(); ++i) {
    const std::size_t lap = i / n_groups, pos = i % n_groups;
    groups[lap % 2 == 0 ? pos : n_groups - 1 - pos].push_back(alive[i]);
  }
  return groups;
}

std::vector<int> group_winners(const std::vector<std::vector<int>>& groups, const std::vector<double>& key,
                               int s, std::vector<int>& stage) {
  std::vector<int> next;
  for (const auto& g : groups) {
    int best = g.front();
    for (int c : g) {
      const auto uc = static_cast<std::size_t>(c), ub = static_cast<std::size_t>(best);
      stage[uc] = s;
      if (key[uc] > key[ub] || (key[uc] == key[ub] && c < best)) best = c;
    }
    next.push_back(best);
  }
  std::sort(next.begin(), next.end());
  return next;
}

std::vector<int> staged_order(std::size_t n, int champion, const std::vector<int>& stage,
                              const std::vector<double>& tiebreak) {
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    if ((a == champion) != (b == champion)) return a == champion;
    const auto ua = static_cast<std::size_t>(a), ub = static_cast<std::size_t>(b);
    if (stage[ua] != stage[ub]) return stage[ua] > stage[ub];
    return tiebreak[ua] > tiebreak[ub];
  });
  return order;
}

}  // namespace georank
