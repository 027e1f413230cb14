// The budget-aware aggregators: adaptive Bradley-Terry, tournament and set-wise knockout.

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <set>

#include "georank/core/error.hpp"
#include "georank/rerank/aggregate.hpp"

namespace georank {
namespace {

// P(first beats second) = sigmoid(t_first - t_second + bias): a Bradley-Terry judge with a
// first-position effect.
class LogitJudge : public PairJudge {
 public:
  explicit LogitJudge(std::vector<double> theta, double bias = 0) : theta_(std::move(theta)), bias_(bias) {}
  std::vector<PairJudgment> judge(std::span<const std::pair<int, int>> presented) override {
    ++rounds;
    std::vector<PairJudgment> out;
    for (const auto& [a, b] : presented) {
      presentations.emplace_back(a, b);
      const double p = 1.0 / (1.0 + std::exp(-(theta_[a] - theta_[b] + bias_)));
      out.push_back({a, b, p, 1.0, true, {}});
    }
    return out;
  }
  int rounds = 0;
  std::vector<std::pair<int, int>> presentations;

 private:
  std::vector<double> theta_;
  double bias_;
};

// Candidate 3 is clearly best, 0 second.
const std::vector<double> kTheta = {1.0, -0.5, -1.0, 4.0, 0.0, -2.0};

TEST(BradleyTerryPosterior, RecoversLogStrengthDifferencesAndThePositionEffect) {
  const std::vector<double> theta = {0.8, 0.0, -0.8};
  const double beta = 0.6;
  std::vector<ShownOutcome> outcomes;
  for (int rep = 0; rep < 200; ++rep)
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b)
        if (a != b) outcomes.push_back({a, b, 1.0 / (1.0 + std::exp(-(theta[a] - theta[b] + beta)))});
  const auto post = fit_bradley_terry_posterior(3, outcomes, 10.0);
  EXPECT_NEAR(post.theta[0] - post.theta[1], 0.8, 0.01);
  EXPECT_NEAR(post.theta[1] - post.theta[2], 0.8, 0.01);
  EXPECT_NEAR(post.position_effect, beta, 0.01);
  EXPECT_GT(post.p_stronger(0, 2), 0.99);
  EXPECT_LT(post.p_stronger(2, 0), 0.01);
  // Without data the prior alone: every candidate equally strong.
  const auto prior = fit_bradley_terry_posterior(3, {});
  EXPECT_NEAR(prior.p_stronger(0, 1), 0.5, 1e-12);
}

TEST(BradleyTerryPosterior, RejectsOutcomesNamingUnknownCandidates) {
  const std::vector<ShownOutcome> bad = {{0, 5, 0.7}};
  EXPECT_THROW(fit_bradley_terry_posterior(3, bad), Error);
  const std::vector<ShownOutcome> self = {{1, 1, 0.7}};
  EXPECT_THROW(fit_bradley_terry_posterior(3, self), Error);
}

TEST(AdaptiveAggregator, FindsAClearBestWithFewerJudgmentsThanEveryPresentationAndNeverRepeatsOne) {
  LogitJudge judge(kTheta);
  ComparisonOracle oracle(judge, PairOrders::single);
  const auto r = aggregate_pairwise(PairAggregator::adaptive, 6, oracle, {.adaptive_confidence = 0.8});
  EXPECT_EQ(r.order.front(), 3);
  const int n = 6;
  EXPECT_LT(static_cast<int>(judge.presentations.size()), n * (n - 1));
  EXPECT_GE(static_cast<int>(judge.presentations.size()), n - 1);  // the first round
  const std::set<std::pair<int, int>> unique(judge.presentations.begin(), judge.presentations.end());
  EXPECT_EQ(unique.size(), judge.presentations.size());
  EXPECT_EQ(oracle.judgments().size(), judge.presentations.size());
  EXPECT_EQ(r.score_name, "bt_log_strength");
}

TEST(AdaptiveAggregator, AStricterConfidenceAsksAtLeastAsMuchAndTheBudgetCapsIt) {
  const auto judgments = [](double confidence, int budget) {
    LogitJudge judge({0.3, 0.0, 0.5, 0.2, -0.1});  // close strengths: hard to settle
    ComparisonOracle oracle(judge, PairOrders::single);
    aggregate_pairwise(PairAggregator::adaptive, 5, oracle,
                       {.adaptive_confidence = confidence, .adaptive_budget = budget});
    return static_cast<int>(judge.presentations.size());
  };
  EXPECT_LE(judgments(0.6, 0), judgments(0.95, 0));
  EXPECT_EQ(judgments(0.95, 0), 20);  // never settled: every presentation asked
  EXPECT_EQ(judgments(0.95, 7), 7);
}

TEST(AdaptiveAggregator, APositionBiasedJudgeStillCrownsTheBest) {
  // A strong pull toward the first image: the fit's position effect absorbs it.
  LogitJudge judge(kTheta, 1.5);
  ComparisonOracle oracle(judge, PairOrders::single);
  EXPECT_EQ(aggregate_pairwise(PairAggregator::adaptive, 6, oracle).order.front(), 3);
}

TEST(TournamentAggregator, GroupStagesThenAFinalCrownTheBestInTwoRounds) {
  LogitJudge judge(kTheta);
  ComparisonOracle oracle(judge, PairOrders::single);
  const auto r = aggregate_pairwise(PairAggregator::tournament, 6, oracle, {.tournament_group = 3});
  EXPECT_EQ(r.order.front(), 3);
  // Snake seeding: groups {0, 3, 4} and {1, 2, 5} (3 + 3 pairs in one round), then the final
  // between their winners 3 and 1.
  EXPECT_EQ(judge.rounds, 2);
  EXPECT_EQ(judge.presentations.size(), 7u);
  EXPECT_EQ(r.order[1], 1);  // the other finalist
}

TEST(TournamentAggregator, BothOrdersDoubleEveryMatch) {
  LogitJudge judge(kTheta, 2.0);
  ComparisonOracle oracle(judge, PairOrders::both);
  const auto r = aggregate_pairwise(PairAggregator::tournament, 6, oracle, {.tournament_group = 3});
  EXPECT_EQ(r.order.front(), 3);
  EXPECT_EQ(judge.presentations.size(), 14u);
  EXPECT_THROW(aggregate_pairwise(PairAggregator::tournament, 6, oracle, {.tournament_group = 1}), Error);
}

// A list judge: P(label i) = softmax(theta + bias on the first label).
class SoftmaxListJudge : public ListJudge {
 public:
  SoftmaxListJudge(std::vector<double> theta, double first_bias)
      : theta_(std::move(theta)), bias_(first_bias) {}
  ListJudgment judge(std::span<const int> window) override {
    ++prompts;
    ListJudgment j;
    j.window.assign(window.begin(), window.end());
    double sum = 0;
    for (std::size_t i = 0; i < window.size(); ++i)
      sum += j.probs.emplace_back(
          std::exp(theta_[static_cast<std::size_t>(window[i])] + (i == 0 ? bias_ : 0.0)));
    for (double& p : j.probs) p /= sum;
    return j;
  }
  std::vector<ListJudgment> judge_all(std::span<const std::vector<int>> windows) override {
    ++rounds;
    return ListJudge::judge_all(windows);
  }
  int prompts = 0, rounds = 0;

 private:
  std::vector<double> theta_;
  double bias_;
};

TEST(SetwiseAggregator, KnockoutOfSetsFindsTheBestWithOneCallPerStage) {
  SoftmaxListJudge judge(kTheta, 0.0);
  std::vector<SetJudgment> sets;
  const auto r = rank_setwise(6, judge, 3, 3, &sets);
  EXPECT_EQ(r.order.front(), 3);
  // Stage 1: two sets of 3, three rotations each; stage 2: the two winners, two rotations.
  EXPECT_EQ(judge.rounds, 2);
  EXPECT_EQ(judge.prompts, 8);
  ASSERT_EQ(sets.size(), 8u);
  EXPECT_EQ(sets.back().stage, 2);
}

TEST(SetwiseAggregator, RotationsCancelAPullTowardTheFirstLabel) {
  // Candidate 1 is slightly better than 0, but label 1 gets a large bonus: shown once,
  // 0 (first) wins; over all rotations every candidate sits under label 1 once and 1 wins.
  const std::vector<double> theta = {0.0, 0.3, -3.0};
  SoftmaxListJudge once(theta, 3.0), rotated(theta, 3.0);
  EXPECT_EQ(rank_setwise(3, once, 3, 1).order.front(), 0);
  EXPECT_EQ(rank_setwise(3, rotated, 3, 3).order.front(), 1);
  EXPECT_THROW(rank_setwise(3, once, 1, 1), Error);
  EXPECT_THROW(rank_setwise(3, once, 3, 0), Error);
}

}  // namespace
}  // namespace georank
