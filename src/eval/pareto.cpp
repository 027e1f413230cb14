// The cost/accuracy Pareto front.

#include "georank/eval/pareto.hpp"

#include <algorithm>

namespace georank {

std::vector<bool> pareto_front(std::span<const CostPoint> points) {
  std::vector<bool> front(points.size());
  for (std::size_t i = 0; i < points.size(); ++i) {
    const CostPoint& p = points[i];
    front[i] = std::none_of(points.begin(), points.end(), [&](const CostPoint& o) {
      return (o.cost <= p.cost && o.value > p.value) || (o.cost < p.cost && o.value >= p.value);
    });
  }
  return front;
}

}  // namespace georank
