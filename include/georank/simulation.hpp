#pragma once
/// Simulated judges and the aggregator simulation study. Everything here is SIMULATED: the
/// numbers describe how strategies and aggregators behave for a judge of a given accuracy
/// and position bias, not how any real model performs. Outputs say so.

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "georank/rerank_judge.hpp"
#include "georank/vlm.hpp"

namespace georank {

/// Behaviour of the simulated judges. Candidates carry a true quality in [0, 1] (the
/// positive tile 1, negatives below).
struct SimulatedJudgeParams {
  /// Pairwise: P(the better candidate wins) at the mean positive-negative quality gap;
  /// logit(accuracy) grows linearly with the gap. 0.5 is a coin flip, 1 a perfect judge.
  double judge_accuracy = 0.75;
  /// Pairwise/listwise: pull toward the first-shown image. At equal quality the first image
  /// wins with probability (1 + B) / 2; B = 1 always picks the first image.
  double position_bias = 0.0;
  /// The mean positive-negative quality gap the accuracy refers to.
  double mean_gap = 0.55;
  /// Pointwise: standard deviation of the per-candidate score noise (quality units).
  double pointwise_noise = 0.35;
  /// Pointwise: standard deviation of a per-query calibration offset (quality units).
  double pointwise_calibration = 0.25;
  std::uint64_t seed = 0;
};

/// Pairwise judge: P(first better) = sigmoid(L + b + e), L = logit(accuracy) * gap / mean_gap,
/// b = logit((1 + B) / 2), e ~ Logistic(0, 1) drawn from a hash of (seed, first, second), so
/// the verdict is right with probability accuracy(gap) and the same question gets the same
/// answer.
class SimulatedPairJudge final : public PairJudge {
 public:
  SimulatedPairJudge(std::vector<double> quality, const SimulatedJudgeParams& params,
                     std::uint64_t query_seed);
  std::vector<PairJudgment> judge(std::span<const std::pair<int, int>> presented) override;

 private:
  std::vector<double> quality_;
  SimulatedJudgeParams params_;
  std::uint64_t seed_;
};

/// Pointwise judge with noisy, badly calibrated scores: raw = quality + noise + per-query
/// offset, squashed and quantised like a VLM's favourite answers. `scale`: "score" (0-100 in
/// steps of 10), "likert" (1-5) or "yesno" (an over-confident P(Yes)).
class SimulatedPointJudge final : public PointJudge {
 public:
  SimulatedPointJudge(std::vector<double> quality, const SimulatedJudgeParams& params,
                      std::uint64_t query_seed, std::string scale);
  std::vector<PointJudgment> judge(std::span<const int> candidates) override;

 private:
  std::vector<double> quality_;
  SimulatedJudgeParams params_;
  std::uint64_t seed_;
  std::string scale_;
  double offset_ = 0;
};

/// Listwise judge: P(label i) = softmax(kappa * quality_i + g_i + b [i = 0]) with Gumbel noise
/// g, kappa = logit(accuracy) / mean_gap (so two-candidate windows match the pairwise judge).
class SimulatedListJudge final : public ListJudge {
 public:
  SimulatedListJudge(std::vector<double> quality, const SimulatedJudgeParams& params,
                     std::uint64_t query_seed);
  ListJudgment judge(std::span<const int> window) override;

 private:
  std::vector<double> quality_;
  SimulatedJudgeParams params_;
  std::uint64_t seed_;
};

/// A VlmBackend ("simulated") answering like the simulated judges from the true quality of
/// each (query image, candidate image) pair, given by a function of the two Image ids or by a
/// table of candidate image id -> quality (unknown images count 0). It recognises the request kind
/// from its shape: two choices and three images (pairwise), two choices and two images
/// (Yes/No), numeric choices and two images (score scale), labels "1".."n" with n + 1 images
/// (listwise). With a generation budget it returns a fixed simulated text. Answers depend only
/// on (seed, request), never on call order. `delay_ms` is slept per request (to test
/// interruption). Not thread-safe.
class SimulatedBackend final : public VlmBackend {
 public:
  /// quality(query_image_id, candidate_image_id) in [0, 1].
  using QualityFn = std::function<double(const std::string&, const std::string&)>;
  SimulatedBackend(QualityFn quality, SimulatedJudgeParams params, int delay_ms = 0);
  SimulatedBackend(std::unordered_map<std::string, double> quality, SimulatedJudgeParams params,
                   int delay_ms = 0);
  std::vector<VlmResponse> run(std::span<const VlmRequest> requests) override;
  /// backend "simulated" and the judge parameters (the quality function is not part of it).
  [[nodiscard]] JudgeIdentity identity() const override;
  [[nodiscard]] std::string name() const override { return "simulated"; }
  [[nodiscard]] std::int64_t n_requests() const { return n_requests_; }

 private:
  QualityFn quality_;
  SimulatedJudgeParams params_;
  int delay_ms_;
  std::int64_t n_requests_ = 0;
};

/// The simulation study's settings (the `georank simulate` flags).
struct SimulationConfig {
  int queries = 2000;  ///< simulated queries
  int k = 5;           ///< rerank depth
  std::uint64_t seed = 0;
  double judge_accuracy = 0.75;
  double position_bias = 0.0;
  double baseline_r1 = 0.61;          ///< retrieval R@1 the simulated lists reproduce
  double baseline_r5 = 0.84;          ///< retrieval R@5
  int list_length = 100;              ///< candidates per list; a positive ranked deeper is absent
  double negative_quality_max = 0.9;  ///< negatives' true quality ~ U(0, this); positive 1
  double pointwise_noise = 0.35;
  double pointwise_calibration = 0.25;
};

/// One (strategy, aggregator, orders) result.
struct SimulationRow {
  std::string strategy;            ///< "baseline", "pairwise", "pointwise-score", ..., "listwise"
  std::string aggregate;           ///< pairwise aggregator, "expected-value", "sliding-window" or "-"
  std::string orders;              ///< single | both | random, or "-"
  std::array<double, 3> recall{};  ///< R@1, R@3, R@5
  std::array<std::pair<double, double>, 3> ci95{};  ///< 95% interval of each
  double judge_calls_per_query = 0;
};

struct SimulationReport {
  SimulationConfig config;
  std::vector<SimulationRow> rows;
  double topk_ceiling = 0;  ///< baseline R@k: the best R@1 any reranker of the top-k can reach
  /// How the intervals are computed.
  std::string ci_method = "normal approximation (Wald), p +- 1.96 sqrt(p(1-p)/n)";
};

/// Runs every strategy / aggregator / order setting on the same simulated queries.
/// Throws Error(invalid_argument) for inconsistent settings (e.g. baseline_r5 <= baseline_r1).
SimulationReport run_simulation(const SimulationConfig& config);

/// JSON of a row: strategy, aggregate, orders, recall {"1","3","5"}, recall_ci95
/// {"1": [lo, hi], ...}, judge_calls_per_query, judge: "simulated".
nlohmann::json to_json(const SimulationRow& row);
nlohmann::json to_json(const SimulationConfig& config);

}  // namespace georank
