#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "georank/error.hpp"
#include "georank/rerank_aggregate.hpp"
#include "georank/simulation.hpp"
#include "core/random.hpp"

namespace georank {
namespace {

// One simulated query: the positive's retrieval rank and the top-k candidates' qualities.
struct SimQuery {
  int positive_rank = 0;        // 0-based; >= list_length: not retrieved
  std::vector<double> quality;  // top-k, retrieval order
};

// Rank distribution of the positive: P(0) = r1, P(j) = c rho^(j-1) for j >= 1, with rho and
// c chosen so that P(rank < 5) = r5 (geometric tail beyond).
class RankModel {
 public:
  RankModel(double r1, double r5) : r1_(r1) {
    if (!(r1 > 0 && r1 < 1 && r5 > r1 && r5 < 1))
      throw Error(ErrorKind::invalid_argument,
                  fmt::format("baseline recall must satisfy 0 < R@1 < R@5 < 1 (got R@1 {}, R@5 {})", r1, r5));
    rho_ = std::pow((1.0 - r5) / (1.0 - r1), 0.25);
  }
  int sample(Rng& rng) const {
    double u = rng.uniform();
    if (u < r1_) return 0;
    // Inverse CDF of the geometric tail: P(rank >= j + 1 | rank >= 1) = rho^j.
    u = (u - r1_) / (1.0 - r1_);
    return 1 + static_cast<int>(std::floor(std::log(1.0 - u) / std::log(rho_)));
  }

 private:
  double r1_, rho_;
};

struct Counts {
  std::array<std::int64_t, 3> hits{};
  std::int64_t judge_calls = 0;
};

constexpr std::array<int, 3> kCutoffs = {1, 3, 5};

void count(Counts& c, int position) {
  for (std::size_t i = 0; i < kCutoffs.size(); ++i) c.hits[i] += position < kCutoffs[i];
}

// The positive's position after reranking the top-k by `order`.
int new_position(const SimQuery& q, const std::vector<int>& order) {
  if (q.positive_rank >= static_cast<int>(q.quality.size())) return q.positive_rank;
  return static_cast<int>(std::find(order.begin(), order.end(), q.positive_rank) - order.begin());
}

class CountingPairJudge final : public PairJudge {
 public:
  explicit CountingPairJudge(PairJudge& inner) : inner_(inner) {}
  std::vector<PairJudgment> judge(std::span<const std::pair<int, int>> presented) override {
    calls += static_cast<std::int64_t>(presented.size());
    return inner_.judge(presented);
  }
  std::int64_t calls = 0;

 private:
  PairJudge& inner_;
};

SimulationRow make_row(std::string strategy, std::string aggregate, std::string orders, const Counts& c,
                       int n) {
  SimulationRow row{std::move(strategy), std::move(aggregate), std::move(orders), {}, {}, 0};
  for (std::size_t i = 0; i < 3; ++i) {
    const double p = static_cast<double>(c.hits[i]) / n;
    const double half = 1.96 * std::sqrt(p * (1.0 - p) / n);
    row.recall[i] = p;
    row.ci95[i] = {std::max(0.0, p - half), std::min(1.0, p + half)};
  }
  row.judge_calls_per_query = static_cast<double>(c.judge_calls) / n;
  return row;
}

}  // namespace

SimulationReport run_simulation(const SimulationConfig& config) {
  if (config.queries < 1) throw Error(ErrorKind::invalid_argument, "--queries must be >= 1");
  if (config.k < 2) throw Error(ErrorKind::invalid_argument, "--k must be >= 2");
  if (config.list_length < config.k) throw Error(ErrorKind::invalid_argument, "list length must be >= k");
  if (!(config.negative_quality_max > 0 && config.negative_quality_max < 1))
    throw Error(ErrorKind::invalid_argument, "negative quality maximum must be in (0, 1)");
  const RankModel ranks(config.baseline_r1, config.baseline_r5);
  SimulatedJudgeParams params;
  params.judge_accuracy = config.judge_accuracy;
  params.position_bias = config.position_bias;
  params.mean_gap = 1.0 - config.negative_quality_max / 2.0;  // E[1 - U(0, max)]
  params.pointwise_noise = config.pointwise_noise;
  params.pointwise_calibration = config.pointwise_calibration;
  params.seed = mix_seed(config.seed, 0x5eed);

  // The same queries for every setting (paired comparison).
  Rng rng(config.seed);
  std::vector<SimQuery> queries(static_cast<std::size_t>(config.queries));
  for (auto& q : queries) {
    q.positive_rank = std::min(ranks.sample(rng), config.list_length);
    for (int i = 0; i < config.k; ++i)
      q.quality.push_back(i == q.positive_rank ? 1.0 : config.negative_quality_max * rng.uniform());
  }

  SimulationReport report;
  report.config = config;
  Counts base, ceiling;
  for (const auto& q : queries) {
    count(base, q.positive_rank);
    ceiling.hits[0] += q.positive_rank < config.k;
  }
  report.rows.push_back(make_row("baseline", "-", "-", base, config.queries));
  report.topk_ceiling = static_cast<double>(ceiling.hits[0]) / config.queries;

  for (auto agg : {PairAggregator::all_pairs_copeland, PairAggregator::all_pairs_bt, PairAggregator::knockout,
                   PairAggregator::bubble, PairAggregator::sort})
    for (auto orders : {PairOrders::single, PairOrders::both, PairOrders::random}) {
      Counts c;
      for (std::size_t qi = 0; qi < queries.size(); ++qi) {
        SimulatedPairJudge sim(queries[qi].quality, params, qi);
        CountingPairJudge judge(sim);
        ComparisonOracle oracle(judge, orders, mix_seed(config.seed, qi));
        const auto r = aggregate_pairwise(agg, config.k, oracle);
        count(c, new_position(queries[qi], r.order));
        c.judge_calls += judge.calls;
      }
      report.rows.push_back(make_row("pairwise", to_string(agg), to_string(orders), c, config.queries));
    }

  for (const char* scale : {"score", "likert", "yesno"}) {
    Counts c;
    for (std::size_t qi = 0; qi < queries.size(); ++qi) {
      SimulatedPointJudge judge(queries[qi].quality, params, qi, scale);
      std::vector<int> ids(static_cast<std::size_t>(config.k));
      for (int i = 0; i < config.k; ++i) ids[static_cast<std::size_t>(i)] = i;
      const auto got = judge.judge(ids);
      std::vector<double> vlm, retrieval;
      for (int i = 0; i < config.k; ++i) {
        vlm.push_back(got[static_cast<std::size_t>(i)].normalized);
        retrieval.push_back(-i);  // only the order matters at alpha = 1
      }
      count(c, new_position(queries[qi], rank_pointwise(vlm, retrieval, 1.0).order));
      c.judge_calls += config.k;
    }
    report.rows.push_back(
        make_row(std::string("pointwise-") + scale, "expected-value", "-", c, config.queries));
  }

  {
    Counts c;
    for (std::size_t qi = 0; qi < queries.size(); ++qi) {
      SimulatedListJudge judge(queries[qi].quality, params, qi);
      std::vector<ListWindow> windows;
      const auto r = rank_listwise(config.k, judge, config.k, std::max(1, config.k / 2), &windows);
      count(c, new_position(queries[qi], r.order));
      c.judge_calls += static_cast<std::int64_t>(windows.size());
    }
    report.rows.push_back(make_row("listwise", "sliding-window", "-", c, config.queries));
  }
  return report;
}

nlohmann::json to_json(const SimulationRow& row) {
  nlohmann::json recall, ci;
  for (std::size_t i = 0; i < 3; ++i) {
    const std::string key = std::to_string(kCutoffs[i]);
    recall[key] = row.recall[i];
    ci[key] = {row.ci95[i].first, row.ci95[i].second};
  }
  return {{"strategy", row.strategy}, {"aggregate", row.aggregate},
          {"orders", row.orders},     {"recall", recall},
          {"recall_ci95", ci},        {"judge_calls_per_query", row.judge_calls_per_query},
          {"judge", "simulated"}};
}

nlohmann::json to_json(const SimulationConfig& c) {
  return {{"queries", c.queries},
          {"k", c.k},
          {"seed", c.seed},
          {"judge_accuracy", c.judge_accuracy},
          {"position_bias", c.position_bias},
          {"baseline_r1", c.baseline_r1},
          {"baseline_r5", c.baseline_r5},
          {"list_length", c.list_length},
          {"negative_quality_max", c.negative_quality_max},
          {"pointwise_noise", c.pointwise_noise},
          {"pointwise_calibration", c.pointwise_calibration}};
}

}  // namespace georank
