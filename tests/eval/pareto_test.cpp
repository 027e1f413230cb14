#include "georank/eval/pareto.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace georank {
namespace {

TEST(ParetoFront, KeepsWhatNothingBeatsAtNoHigherCost) {
  const std::vector<CostPoint> points = {
      {"baseline", 0, 0.60},  // the cheapest: on the front
      {"a", 20, 0.70},        // dominated by c (cheaper, better)
      {"b", 8, 0.66},         // on the front
      {"c", 10, 0.72},        // on the front
      {"d", 10, 0.71},        // same cost as c, lower value: dominated
      {"e", 90, 0.72},        // same value as c, higher cost: dominated
      {"f", 4, 0.55},         // costs more than the baseline for less: dominated
  };
  const auto front = pareto_front(points);
  EXPECT_EQ(front, (std::vector<bool>{true, false, true, true, false, false, false}));
}

TEST(ParetoFront, EqualPointsAreAllOnIt) {
  const std::vector<CostPoint> points = {{"x", 5, 0.5}, {"y", 5, 0.5}};
  EXPECT_EQ(pareto_front(points), (std::vector<bool>{true, true}));
  EXPECT_TRUE(pareto_front(std::vector<CostPoint>{}).empty());
}

TEST(ParetoFront, TheFigureMarksTheFrontInItsData) {
  const std::vector<CostPoint> points = {{"baseline", 0, 0.6}, {"a", 20, 0.7}, {"b", 10, 0.75, "pairwise"}};
  const Figure f = cost_accuracy_figure(points, "t");
  EXPECT_EQ(f.name, "cost_accuracy");
  const auto& values = f.spec.at("data").at("values");
  ASSERT_EQ(values.size(), 3u);
  EXPECT_TRUE(values[0]["front"].get<bool>());
  EXPECT_FALSE(values[1]["front"].get<bool>());
  EXPECT_TRUE(values[2]["front"].get<bool>());
  EXPECT_EQ(values[2]["group"], "pairwise");
  EXPECT_EQ(values[1]["group"], "a");
  EXPECT_DOUBLE_EQ(values[2]["r1"].get<double>(), 75.0);
  // The first layer draws the front only.
  EXPECT_EQ(f.spec.at("layer")[0].at("transform")[0].at("filter"), "datum.front");
}

}  // namespace
}  // namespace georank
