#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "georank/rerank.hpp"
#include "georank/simulation.hpp"

namespace georank {
namespace {

const SimulationRow& find(const SimulationReport& r, const std::string& strategy,
                          const std::string& aggregate, const std::string& orders) {
  for (const auto& row : r.rows)
    if (row.strategy == strategy && row.aggregate == aggregate && row.orders == orders) return row;
  throw std::runtime_error("no row " + strategy + "/" + aggregate + "/" + orders);
}

double half_width(const SimulationRow& row) {
  return (row.ci95[0].second - row.ci95[0].first) / 2;
}

const char* const kAggregators[] = {"all-pairs-copeland", "all-pairs-bt", "knockout", "bubble", "sort"};
const char* const kOrders[] = {"single", "both", "random"};

SimulationConfig config(double accuracy, double bias = 0, int queries = 2000) {
  SimulationConfig c;
  c.queries = queries;
  c.k = 5;
  c.seed = 7;
  c.judge_accuracy = accuracy;
  c.position_bias = bias;
  return c;
}

TEST(Simulation, BaselineListsReproduceTheConfiguredRecall) {
  auto c = config(0.75, 0, 3000);
  c.baseline_r1 = 0.5;
  c.baseline_r5 = 0.9;
  const auto r = run_simulation(c);
  const auto& base = find(r, "baseline", "-", "-");
  EXPECT_LE(base.ci95[0].first, 0.5);
  EXPECT_GE(base.ci95[0].second, 0.5);
  EXPECT_LE(base.ci95[2].first, 0.9);
  EXPECT_GE(base.ci95[2].second, 0.9);
  EXPECT_DOUBLE_EQ(r.topk_ceiling, base.recall[2]);  // k = 5
}

TEST(Simulation, APerfectPairwiseJudgeLiftsRecallAt1ToTheTopKCeilingForEveryAggregator) {
  const auto r = run_simulation(config(1.0, 0, 600));
  EXPECT_LT(find(r, "baseline", "-", "-").recall[0], r.topk_ceiling - 0.1);
  for (const char* agg : kAggregators)
    for (const char* orders : kOrders)
      EXPECT_DOUBLE_EQ(find(r, "pairwise", agg, orders).recall[0], r.topk_ceiling);
  EXPECT_DOUBLE_EQ(find(r, "listwise", "sliding-window", "-").recall[0], r.topk_ceiling);
}

TEST(Simulation, ACoinFlipJudgeDoesNotBeatTheBaselineBeyondNoise) {
  const auto r = run_simulation(config(0.5, 0, 1500));
  const auto& base = find(r, "baseline", "-", "-");
  for (const char* agg : kAggregators)
    for (const char* orders : kOrders) {
      const auto& row = find(r, "pairwise", agg, orders);
      EXPECT_LE(row.recall[0], base.recall[0] + half_width(base)) << agg << " " << orders;
      // Reranking never moves the positive out of the top-k.
      EXPECT_DOUBLE_EQ(row.recall[2], base.recall[2]);
    }
}

TEST(Simulation, WithAPurePositionBiasBothOrdersRestoresTheUnbiasedResultAndSingleDoesNot) {
  const auto unbiased = run_simulation(config(0.85, 0.0, 2000));
  const auto biased = run_simulation(config(0.85, 0.5, 2000));
  for (const char* agg : kAggregators) {
    const auto& both0 = find(unbiased, "pairwise", agg, "both");
    const auto& both1 = find(biased, "pairwise", agg, "both");
    EXPECT_NEAR(both1.recall[0], both0.recall[0], half_width(both0)) << agg;
    const auto& single0 = find(unbiased, "pairwise", agg, "single");
    const auto& single1 = find(biased, "pairwise", agg, "single");
    EXPECT_GT(std::abs(single1.recall[0] - single0.recall[0]), half_width(single0)) << agg;
  }
}

TEST(Simulation, JudgeCallsPerQueryMatchEachAggregatorsBudget) {
  const auto r = run_simulation(config(0.75, 0, 200));
  EXPECT_DOUBLE_EQ(find(r, "pairwise", "all-pairs-bt", "single").judge_calls_per_query, 10.0);
  EXPECT_DOUBLE_EQ(find(r, "pairwise", "all-pairs-copeland", "both").judge_calls_per_query, 20.0);
  EXPECT_DOUBLE_EQ(find(r, "pairwise", "knockout", "single").judge_calls_per_query, 4.0);
  EXPECT_DOUBLE_EQ(find(r, "pairwise", "bubble", "both").judge_calls_per_query, 8.0);
  EXPECT_DOUBLE_EQ(find(r, "pointwise-score", "expected-value", "-").judge_calls_per_query, 5.0);
  const double sort_calls = find(r, "pairwise", "sort", "single").judge_calls_per_query;
  EXPECT_GE(sort_calls, 5.0);  // merge sort of 5: between 5 and 8 comparisons
  EXPECT_LE(sort_calls, 8.0);
}

TEST(SimulatedPairJudge, AccuracyAtTheMeanGapIsTheConfiguredAccuracyAndGrowsWithTheGap) {
  SimulatedJudgeParams p;
  p.judge_accuracy = 0.7;
  p.mean_gap = 0.5;
  int right_at_mean = 0, right_at_double = 0;
  const int n = 20000;
  for (int s = 0; s < n; ++s) {
    SimulatedPairJudge judge({0.9, 0.4, 0.9, -0.1}, p, static_cast<std::uint64_t>(s));
    const std::pair<int, int> pairs[] = {{0, 1}, {2, 3}};
    const auto j = judge.judge(pairs);
    right_at_mean += j[0].p_first > 0.5;
    right_at_double += j[1].p_first > 0.5;
  }
  EXPECT_NEAR(right_at_mean / static_cast<double>(n), 0.7, 0.01);
  // logit doubles with the gap: 1 / (1 + (0.3/0.7)^2) = 0.845
  EXPECT_NEAR(right_at_double / static_cast<double>(n), 1.0 / (1.0 + std::pow(0.3 / 0.7, 2)), 0.01);
}

std::shared_ptr<const Image> solid(std::uint8_t value) {
  auto img = std::make_shared<Image>();
  img->width = 2;
  img->height = 2;
  img->rgb.assign(12, value);
  img->finalize();
  return img;
}

TEST(SimulatedBackend, APerfectSimulatedBackendPutsThePositiveFirstThroughTheRealPipeline) {
  JudgeImages images;
  images.query = solid(0);
  std::unordered_map<std::string, double> quality;
  QueryRanking list;
  list.query_id = "q";
  for (int i = 0; i < 5; ++i) {
    images.candidates.push_back(solid(static_cast<std::uint8_t>(10 + i)));
    quality[images.candidates.back()->id] = i == 3 ? 1.0 : 0.1 * i;
    RankedCandidate c;
    c.tile_id = fmt::format("t{}", i);
    c.positive = i == 3;
    list.candidates.push_back(c);
  }
  SimulatedJudgeParams p;
  p.judge_accuracy = 1.0;
  SimulatedBackend backend(quality, p);
  for (const char* strategy : {"pairwise", "listwise", "pointwise-yesno"}) {
    RerankConfig cfg;
    cfg.strategy = strategy;
    cfg.aggregate = "knockout";
    const auto out = rerank_query(list, images, cfg, prompt_for(cfg), backend);
    // Pointwise scores are noisy even for this judge; the pairwise and listwise ones are exact.
    if (std::string(strategy) != "pointwise-yesno") {
      EXPECT_EQ(out.candidates[0].tile_id, "t3") << strategy;
    }
  }
  EXPECT_EQ(backend.name(), "simulated");
  EXPECT_EQ(backend.identity().backend, "simulated");
}

TEST(SimulateCommand, TextAndJsonOutputSaySimulated) {
  const std::string cmd = std::string(GEORANK_CLI_PATH) +
                          " simulate --queries 50 --k 5 --seed 3 --judge-accuracy 0.8 "
                          "--position-bias 0.2 --baseline-r1 0.6 --baseline-r5 0.85 ";
  const auto run = [](const std::string& c) {
    std::string out;
    FILE* f = popen(c.c_str(), "r");
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, f)) out.append(buf, n);
    EXPECT_EQ(pclose(f), 0);
    return out;
  };
  const std::string text = run(cmd);
  EXPECT_NE(text.find("SIMULATED"), std::string::npos);
  const std::string json = run(cmd + "--json");
  std::size_t n_rows = 0, start = 0;
  for (std::size_t end = json.find('\n'); end != std::string::npos;
       start = end + 1, end = json.find('\n', start)) {
    const auto row = nlohmann::json::parse(json.substr(start, end - start));
    EXPECT_EQ(row.at("judge"), "simulated");
    EXPECT_TRUE(row.at("recall").contains("1") && row.at("recall").contains("3") &&
                row.at("recall").contains("5"));
    EXPECT_EQ(row.at("recall_ci95").at("5").size(), 2u);
    EXPECT_TRUE(row.contains("strategy") && row.contains("aggregate") && row.contains("orders") &&
                row.contains("judge_calls_per_query"));
    ++n_rows;
  }
  EXPECT_EQ(n_rows, 1u + 15u + 3u + 1u);
}

}  // namespace
}  // namespace georank
