#include <gtest/gtest.h>

#include <vector>

#include "georank/core/error.hpp"
#include "georank/eval/statistics.hpp"

namespace georank {
namespace {

TEST(Statistics, ExactMcNemarMatchesTheBinomialTail) {
  // b = 1, c = 9: 2 * (C(10,0) + C(10,1)) / 2^10 = 22 / 1024.
  EXPECT_NEAR(mcnemar_exact_p(1, 9), 22.0 / 1024.0, 1e-12);
  EXPECT_NEAR(mcnemar_exact_p(9, 1), 22.0 / 1024.0, 1e-12);
  EXPECT_DOUBLE_EQ(mcnemar_exact_p(0, 0), 1.0);
  EXPECT_DOUBLE_EQ(mcnemar_exact_p(5, 5), 1.0);  // capped at 1
  // b = 0, c = 6: 2 / 64.
  EXPECT_NEAR(mcnemar_exact_p(0, 6), 2.0 / 64.0, 1e-12);
  // Exact integer arithmetic (Python: 2 * sum(comb(92, i) for i <= 37) / 2**92).
  EXPECT_NEAR(mcnemar_exact_p(37, 55), 0.07576023576406506, 1e-12);
  EXPECT_NEAR(mcnemar_exact_p(120, 150), 0.0773893989802185, 1e-12);
  // Large counts stay finite and tiny.
  const double p = mcnemar_exact_p(100, 300);
  EXPECT_GT(p, 0.0);
  EXPECT_LT(p, 1e-20);
  EXPECT_THROW((void)mcnemar_exact_p(-1, 2), Error);
}

TEST(Statistics, HolmIsStepDownMonotoneAndInInputOrder) {
  const std::vector<double> p = {0.04, 0.01, 0.03, 0.20};
  const auto adj = holm_adjust(p);
  // Sorted: 0.01*4 = 0.04, 0.03*3 = 0.09, 0.04*2 = 0.08 -> 0.09 (monotone), 0.20*1 = 0.20.
  EXPECT_NEAR(adj[1], 0.04, 1e-12);
  EXPECT_NEAR(adj[2], 0.09, 1e-12);
  EXPECT_NEAR(adj[0], 0.09, 1e-12);
  EXPECT_NEAR(adj[3], 0.20, 1e-12);
  EXPECT_DOUBLE_EQ(holm_adjust(std::vector<double>{0.6, 0.7})[0], 1.0);
  EXPECT_TRUE(holm_adjust(std::vector<double>{}).empty());
}

TEST(Statistics, PairedBootstrapIsSeededAndBracketsTheEstimate) {
  std::vector<double> before(200, 0.0), after(200, 0.0);
  for (int i = 0; i < 200; ++i) {
    before[static_cast<std::size_t>(i)] = i % 2;      // R@1 = 0.5
    after[static_cast<std::size_t>(i)] = i % 5 != 0;  // R@1 = 0.8
  }
  const auto a = paired_bootstrap(before, after, 7, 2000);
  const auto b = paired_bootstrap(before, after, 7, 2000);
  EXPECT_DOUBLE_EQ(a.lo, b.lo);
  EXPECT_DOUBLE_EQ(a.hi, b.hi);
  EXPECT_NEAR(a.estimate, 0.3, 1e-12);
  EXPECT_LT(a.lo, 0.3);
  EXPECT_GT(a.hi, 0.3);
  EXPECT_GT(a.lo, 0.15);  // n = 200: the interval is about +-0.08
  EXPECT_LT(a.hi, 0.45);
  const auto other = paired_bootstrap(before, after, 8, 2000);
  EXPECT_NE(other.lo, a.lo);
  // No difference at all: a degenerate interval at 0.
  const auto none = paired_bootstrap(before, before, 1, 100);
  EXPECT_DOUBLE_EQ(none.lo, 0.0);
  EXPECT_DOUBLE_EQ(none.hi, 0.0);
  EXPECT_THROW((void)paired_bootstrap(before, std::vector<double>(3, 0.0), 1), Error);
  EXPECT_THROW((void)paired_bootstrap(std::vector<double>{}, std::vector<double>{}, 1), Error);
  EXPECT_THROW((void)paired_bootstrap(before, after, 1, 0), Error);
}

}  // namespace
}  // namespace georank
