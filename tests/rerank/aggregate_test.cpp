#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "georank/rerank/aggregate.hpp"

namespace georank {
namespace {

// A judge from known strengths: P(first beats second) = s_first / (s_first + s_second),
// optionally with every presentation recorded and a constant pull toward the first image.
class StrengthJudge : public PairJudge {
 public:
  explicit StrengthJudge(std::vector<double> s, double first_bonus = 0)
      : s_(std::move(s)), bonus_(first_bonus) {}
  std::vector<PairJudgment> judge(std::span<const std::pair<int, int>> presented) override {
    ++calls;
    std::vector<PairJudgment> out;
    for (const auto& [a, b] : presented) {
      presentations.emplace_back(a, b);
      const double p = std::clamp(s_[a] / (s_[a] + s_[b]) + bonus_, 0.0, 1.0);
      out.push_back({a, b, p, 1.0, true, {}});
    }
    return out;
  }
  int calls = 0;
  std::vector<std::pair<int, int>> presentations;

 private:
  std::vector<double> s_;
  double bonus_;
};

// Strengths whose true order is 3, 0, 4, 1, 2 (candidate 3 best).
const std::vector<double> kStrengths = {4.0, 1.5, 1.0, 9.0, 2.5};
const std::vector<int> kTrueOrder = {3, 0, 4, 1, 2};

TEST(PairwiseAggregators, BradleyTerryRecoversAKnownOrderAndStrengthRatios) {
  StrengthJudge judge(kStrengths);
  ComparisonOracle oracle(judge, PairOrders::single);
  const auto r =
      aggregate_pairwise(PairAggregator::all_pairs_bt, 5, oracle, {.bt = {.regularization = 1e-6}});
  EXPECT_EQ(r.order, kTrueOrder);
  // With (almost) no regularisation the soft outcomes are exactly BT-consistent, so the fit
  // returns the generating log-strength differences.
  EXPECT_NEAR(r.score[3] - r.score[2], std::log(9.0 / 1.0), 1e-3);
  EXPECT_NEAR(r.score[0] - r.score[1], std::log(4.0 / 1.5), 1e-3);
  EXPECT_EQ(judge.calls, 1);  // one round: all pairs in one batch
  EXPECT_EQ(judge.presentations.size(), 10u);
}

TEST(PairwiseAggregators, BradleyTerryRegularisationShrinksButKeepsTheOrder) {
  StrengthJudge judge(kStrengths);
  ComparisonOracle oracle(judge, PairOrders::single);
  const auto r = aggregate_pairwise(PairAggregator::all_pairs_bt, 5, oracle, {.bt = {.regularization = 1.0}});
  EXPECT_EQ(r.order, kTrueOrder);
  EXPECT_LT(r.score[3] - r.score[2], std::log(9.0));
}

TEST(PairwiseAggregators, CopelandCountsHardWins) {
  StrengthJudge judge(kStrengths);
  ComparisonOracle oracle(judge, PairOrders::both);
  const auto r = aggregate_pairwise(PairAggregator::all_pairs_copeland, 5, oracle);
  EXPECT_EQ(r.order, kTrueOrder);
  EXPECT_EQ(r.score[3], 4.0);
  EXPECT_EQ(r.score[2], 0.0);
  EXPECT_EQ(judge.presentations.size(), 20u);  // both orders of 10 pairs
  EXPECT_EQ(judge.calls, 1);
}

TEST(PairwiseAggregators, KnockoutUsesKMinusOneComparisonsAndCrownsTheBest) {
  for (int n = 2; n <= 9; ++n) {
    std::vector<double> s(n);
    for (int i = 0; i < n; ++i) s[i] = 1.0 + (i * 7) % n;  // a permutation of strengths
    const int best = static_cast<int>(std::max_element(s.begin(), s.end()) - s.begin());
    StrengthJudge judge(s);
    ComparisonOracle oracle(judge, PairOrders::single);
    const auto r = aggregate_pairwise(PairAggregator::knockout, n, oracle);
    EXPECT_EQ(judge.presentations.size(), static_cast<std::size_t>(n - 1)) << "n=" << n;
    EXPECT_EQ(r.order[0], best) << "n=" << n;
    EXPECT_LE(judge.calls, static_cast<int>(std::ceil(std::log2(n)))) << "one batch per round";
  }
}

TEST(PairwiseAggregators, KnockoutSeedsByRetrievalRankWithByesForTheTopSeeds) {
  StrengthJudge judge({5, 4, 3, 2, 1});
  ComparisonOracle oracle(judge, PairOrders::single);
  aggregate_pairwise(PairAggregator::knockout, 5, oracle);
  // Five entrants: seeds 4 and 5 play first; seeds 1-3 have byes; then 1 vs 4, 2 vs 3; final.
  const std::vector<std::pair<int, int>> expected = {{3, 4}, {0, 3}, {1, 2}, {0, 1}};
  EXPECT_EQ(judge.presentations, expected);
}

TEST(PairwiseAggregators, BubbleFindsTheTopOneInOnePassFromTheBottom) {
  StrengthJudge judge(kStrengths);
  ComparisonOracle oracle(judge, PairOrders::single);
  const auto r = aggregate_pairwise(PairAggregator::bubble, 5, oracle);
  EXPECT_EQ(r.order[0], 3);
  EXPECT_EQ(judge.presentations.size(), 4u);
  EXPECT_EQ(judge.presentations.front(), std::make_pair(3, 4));  // the pass starts at the bottom
  // One pass only: candidates the winner passed keep their relative order.
  EXPECT_EQ(r.order, (std::vector<int>{3, 0, 1, 2, 4}));
}

TEST(PairwiseAggregators, SortProducesTheFullTrueOrderInBatchedRounds) {
  std::vector<double> s = {3, 8, 1, 6, 2, 7, 5, 4};
  StrengthJudge judge(s);
  ComparisonOracle oracle(judge, PairOrders::single);
  const auto r = aggregate_pairwise(PairAggregator::sort, 8, oracle);
  EXPECT_EQ(r.order, (std::vector<int>{1, 5, 3, 6, 7, 0, 4, 2}));
  EXPECT_LE(judge.presentations.size(), 17u);  // merge sort: at most n log2 n - n + 1
  EXPECT_LT(judge.calls, static_cast<int>(judge.presentations.size()));  // merges share rounds
}

TEST(PairwiseAggregators, TiesKeepRetrievalOrder) {
  StrengthJudge judge({1, 1, 1, 1});
  for (auto agg : {PairAggregator::all_pairs_copeland, PairAggregator::all_pairs_bt, PairAggregator::knockout,
                   PairAggregator::bubble, PairAggregator::sort}) {
    ComparisonOracle oracle(judge, PairOrders::both);
    EXPECT_EQ(aggregate_pairwise(agg, 4, oracle).order, (std::vector<int>{0, 1, 2, 3})) << to_string(agg);
  }
}

TEST(ComparisonOracleOrders, BothOrdersAverageTheTwoPresentations) {
  // A judge that adds 0.2 to whichever image is shown first.
  StrengthJudge judge({3, 1}, 0.2);
  ComparisonOracle both(judge, PairOrders::both);
  const std::pair<int, int> pair{0, 1};
  const double p = both.compare(std::span(&pair, 1))[0];
  const double p_ab = 0.75 + 0.2, p_ba = 0.25 + 0.2;
  EXPECT_DOUBLE_EQ(p, (p_ab + (1 - p_ba)) / 2);
  EXPECT_DOUBLE_EQ(p, 0.75);  // the position pull cancels
  ComparisonOracle single(judge, PairOrders::single);
  EXPECT_DOUBLE_EQ(single.compare(std::span(&pair, 1))[0], 0.95);
}

TEST(ComparisonOracleOrders, RandomOrdersAreSeededAndAPairIsNeverAskedTwice) {
  std::vector<std::pair<int, int>> pairs;
  for (int i = 0; i < 8; ++i)
    for (int j = i + 1; j < 8; ++j) pairs.emplace_back(i, j);
  StrengthJudge a(std::vector<double>(8, 1.0)), b(std::vector<double>(8, 1.0));
  ComparisonOracle oa(a, PairOrders::random, 42), ob(b, PairOrders::random, 42);
  oa.compare(pairs);
  ob.compare(pairs);
  oa.compare(pairs);  // answered from memory
  EXPECT_EQ(a.presentations, b.presentations);
  EXPECT_EQ(a.calls, 1);
  int flipped = 0;
  for (const auto& [x, y] : a.presentations) flipped += x > y;
  EXPECT_GT(flipped, 3);
  EXPECT_LT(flipped, 25);
}

// The reference paper's pairwise protocol, worked by hand: K = 5, top 3. Strengths 1, 5, 3,
// 9, 4 (candidate 3 best); the judge answers for the stronger one, except that the comparison
// of candidates 2 and 4 comes back unparsed, which keeps the current best (candidate 2).
TEST(PairwiseAggregators, SelectionReproducesThePapersComparisonSequenceCallByCall) {
  class Scripted : public PairJudge {
   public:
    std::vector<PairJudgment> judge(std::span<const std::pair<int, int>> presented) override {
      calls.emplace_back(presented.begin(), presented.end());
      std::vector<PairJudgment> out;
      for (const auto& [a, b] : presented) {
        if (a == 2 && b == 4) {
          out.push_back({a, b, 0.5, 0.0, false, {}});
        } else {
          out.push_back({a, b, s[a] > s[b] ? 0.9 : 0.1, 1.0, true, {}});
        }
      }
      return out;
    }
    std::vector<double> s = {1, 5, 3, 9, 4};
    std::vector<std::vector<std::pair<int, int>>> calls;
  } judge;
  ComparisonOracle oracle(judge, PairOrders::single);
  const auto r = aggregate_pairwise(PairAggregator::selection, 5, oracle,
                                    {.selection_top = 3, .selection_batched = false});
  // Round 0: 0 loses to 1, 1 beats 2, 1 loses to 3, 3 beats 4; 3 swaps into place 0 -> [3 1 2 0 4].
  // Round 1: 1 beats 2 (asked again), 0 and 4. Round 2: 2 beats 0; 2 vs 4 unparsed: 2 stays.
  const std::vector<std::pair<int, int>> expected = {{0, 1}, {1, 2}, {1, 3}, {3, 4}, {1, 2},
                                                     {1, 0}, {1, 4}, {2, 0}, {2, 4}};
  ASSERT_EQ(judge.calls.size(), expected.size());  // 3K - 6 sequential calls
  for (std::size_t i = 0; i < expected.size(); ++i) {
    ASSERT_EQ(judge.calls[i].size(), 1u) << "call " << i;
    EXPECT_EQ(judge.calls[i][0], expected[i]) << "call " << i;
  }
  EXPECT_EQ(r.order, (std::vector<int>{3, 1, 2, 0, 4}));
  EXPECT_EQ(oracle.n_rounds(), 9);
  EXPECT_EQ(oracle.judgments().size(), 9u);

  // Batched: the same judgments used, in the same order, the same result, in fewer calls:
  // round 0 asks (0,1)..(0,4) at once and reads up to 1's win, then (1,2)..(1,4) up to 3's
  // win, then (3,4).
  Scripted batched_judge;
  ComparisonOracle batched(batched_judge, PairOrders::single);
  const auto rb = aggregate_pairwise(PairAggregator::selection, 5, batched, {.selection_top = 3});
  EXPECT_EQ(rb.order, r.order);
  ASSERT_EQ(batched.judgments().size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i)
    EXPECT_EQ(std::make_pair(batched.judgments()[i].first, batched.judgments()[i].second), expected[i]) << i;
  EXPECT_LT(batched_judge.calls.size(), judge.calls.size());
  EXPECT_EQ(batched_judge.calls.front().size(), 4u);  // the best against every challenger

  // K = 10: 3K - 6 = 24 calls; the true top 3 come first with an always-right judge.
  StrengthJudge strong({1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  ComparisonOracle o10(strong, PairOrders::single);
  const auto r10 = aggregate_pairwise(PairAggregator::selection, 10, o10,
                                      {.selection_top = 3, .selection_batched = false});
  EXPECT_EQ(strong.calls, 24);
  EXPECT_EQ(std::vector<int>(r10.order.begin(), r10.order.begin() + 3), (std::vector<int>{9, 8, 7}));
}

}  // namespace
}  // namespace georank
