#pragma once
/// The cost/accuracy Pareto front: which systems no other system beats at no higher cost
/// (judgments per query against R@1, in the report and in `georank simulate`).

#include <span>
#include <string>
#include <vector>

#include "georank/eval/report.hpp"

namespace georank {

struct CostPoint {
  std::string name;
  double cost = 0;         ///< lower is better (judgments per query)
  double value = 0;        ///< higher is better (R@1, 0-1)
  std::string group = {};  ///< colour of the point in the figure (strategy family); empty: name
};

/// For each point, whether it is on the front: no other point has a value at least as high at
/// a cost no higher, with one of the two strictly better. Equal points are all on it.
std::vector<bool> pareto_front(std::span<const CostPoint> points);

/// The cost/accuracy figure (Vega-Lite v5, data inline): one point per system, the front drawn
/// as a step line through its points, dominated points hollow. `title` is the figure's title.
Figure cost_accuracy_figure(std::span<const CostPoint> points, const std::string& title);

}  // namespace georank
