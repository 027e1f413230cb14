#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "georank/core/error.hpp"
#include "georank/eval/diagnostics.hpp"

namespace georank {
namespace {

TEST(Diagnostics, AurocCountsPairsWithTiesAsHalf) {
  // Pairs (pos, other): (0.9 > 0.1), (0.9 > 0.5), (0.5 = 0.5: 1/2), (0.5 > 0.1): 3.5 of 4.
  EXPECT_DOUBLE_EQ(*auroc(std::vector<double>{0.9, 0.5}, std::vector<double>{0.1, 0.5}), 3.5 / 4);
  EXPECT_DOUBLE_EQ(*auroc(std::vector<double>{1}, std::vector<double>{0, 0.2}), 1.0);
  EXPECT_DOUBLE_EQ(*auroc(std::vector<double>{0}, std::vector<double>{0.3}), 0.0);
  EXPECT_FALSE(auroc(std::vector<double>{}, std::vector<double>{0.3}).has_value());
  EXPECT_THROW((void)auroc(std::vector<double>{std::nan("")}, std::vector<double>{0.3}), Error);
}

TEST(Diagnostics, ReliabilityBinsAndCalibrationError) {
  const std::vector<double> p = {0.05, 0.15, 0.95, 1.0, 0.92};
  const std::vector<bool> y = {false, true, true, true, false};
  const auto bins = reliability_bins(p, y, 10);
  ASSERT_EQ(bins.size(), 10u);
  EXPECT_EQ(bins[0].n, 1);
  EXPECT_EQ(bins[1].n, 1);
  EXPECT_DOUBLE_EQ(bins[1].observed, 1.0);
  EXPECT_EQ(bins[9].n, 3);  // 1.0 falls in the last bin
  EXPECT_NEAR(bins[9].mean_predicted, (0.95 + 1.0 + 0.92) / 3, 1e-12);
  EXPECT_NEAR(bins[9].observed, 2.0 / 3, 1e-12);
  const double ece = (1 * 0.05 + 1 * 0.85 + 3 * std::abs(2.0 / 3 - (0.95 + 1.0 + 0.92) / 3)) / 5;
  EXPECT_NEAR(expected_calibration_error(bins), ece, 1e-12);
  EXPECT_THROW((void)reliability_bins(std::vector<double>{1.2}, std::vector<bool>{true}), Error);
  EXPECT_THROW((void)reliability_bins(std::vector<double>{0.2}, std::vector<bool>{}), Error);
}

TEST(Diagnostics, PositionFlipsAreCountedOnPairsAskedInBothOrders) {
  PairwiseDiagnostics d;
  // Pair (0, 1): the first shown wins in both orders: a flip. Pair (0, 2): 0 wins in both
  // orders: consistent. Pair (1, 2): one order only.
  d.add_query(std::vector<PairObservation>{{0, 1, 0.8}, {1, 0, 0.7}, {0, 2, 0.9}, {2, 0, 0.2}, {1, 2, 0.6}},
              -1);
  EXPECT_EQ(d.judgments, 5);
  EXPECT_EQ(d.both_orders, 2);
  EXPECT_EQ(d.position_flips, 1);
  EXPECT_DOUBLE_EQ(*d.position_flip_rate(), 0.5);
  EXPECT_NEAR(*d.mean_p_first(), (0.8 + 0.7 + 0.9 + 0.2 + 0.6) / 5, 1e-12);
}

TEST(Diagnostics, CyclicTriadsAndAccuracyByRankGap) {
  PairwiseDiagnostics d;
  // 0 > 1, 1 > 2, 2 > 0: one cyclic triad of one. Positive = 2.
  d.add_query(std::vector<PairObservation>{{0, 1, 0.9}, {1, 2, 0.9}, {0, 2, 0.1}}, 2);
  EXPECT_EQ(d.triads, 1);
  EXPECT_EQ(d.cyclic_triads, 1);
  // A transitive query: 0 > 1 > 2, 0 > 2, positive = 0; an unparsed judgment adds nothing.
  d.add_query(std::vector<PairObservation>{{0, 1, 0.9}, {1, 2, 0.9}, {0, 2, 0.8}, {2, 1, 0.5, false}}, 0);
  EXPECT_EQ(d.triads, 2);
  EXPECT_EQ(d.cyclic_triads, 1);
  EXPECT_DOUBLE_EQ(*d.intransitivity(), 0.5);
  EXPECT_EQ(d.unparsed, 1);
  // Gaps: query 1 (positive 2): vs 1 (gap 1) lost, vs 0 (gap 2) won; query 2 (positive 0):
  // vs 1 (gap 1) won, vs 2 (gap 2) won.
  ASSERT_EQ(d.by_gap.size(), 2u);
  EXPECT_EQ(d.by_gap[0].gap, 1);
  EXPECT_EQ(d.by_gap[0].n, 2);
  EXPECT_DOUBLE_EQ(d.by_gap[0].correct, 1.0);
  EXPECT_EQ(d.by_gap[1].gap, 2);
  EXPECT_DOUBLE_EQ(d.by_gap[1].correct, 2.0);
  PairwiseDiagnostics empty;
  EXPECT_FALSE(empty.intransitivity().has_value());
  EXPECT_FALSE(empty.position_flip_rate().has_value());
}

}  // namespace
}  // namespace georank
