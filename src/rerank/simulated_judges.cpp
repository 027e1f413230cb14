#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <thread>

#include <fmt/format.h>

#include "georank/error.hpp"
#include "georank/simulation.hpp"
#include "core/random.hpp"

namespace georank {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

double sigmoid(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}
double logit(double p) {
  return std::log(p / (1.0 - p));
}

void check_params(const SimulatedJudgeParams& p) {
  if (!(p.judge_accuracy >= 0.5 && p.judge_accuracy <= 1.0))
    throw Error(ErrorKind::invalid_argument,
                fmt::format("judge accuracy must be in [0.5, 1] (got {})", p.judge_accuracy));
  if (!(p.position_bias >= 0.0 && p.position_bias <= 1.0))
    throw Error(ErrorKind::invalid_argument,
                fmt::format("position bias must be in [0, 1] (got {})", p.position_bias));
  if (!(p.mean_gap > 0)) throw Error(ErrorKind::invalid_argument, "mean quality gap must be > 0");
}

// Logit slope per unit of quality gap: logit(accuracy) at the mean gap.
double slope(const SimulatedJudgeParams& p) {
  return p.judge_accuracy >= 1.0 ? kInf : logit(p.judge_accuracy) / p.mean_gap;
}

double bias_logit(const SimulatedJudgeParams& p) {
  return p.position_bias >= 1.0 ? kInf : logit((1.0 + p.position_bias) / 2.0);
}

// P(first better) for qualities (qa, qb) with the noise drawn from `noise_seed`.
double pair_probability(double qa, double qb, const SimulatedJudgeParams& p, std::uint64_t noise_seed) {
  const double b = bias_logit(p);
  if (std::isinf(b)) return 1.0;  // pure position bias: the first image always wins
  const double gap = qa - qb;
  const double k = slope(p);
  if (std::isinf(k) && gap != 0) return gap > 0 ? 1.0 : 0.0;
  Rng rng(noise_seed);
  return sigmoid((std::isinf(k) ? 0.0 : k * gap) + b + rng.logistic());
}

// Badly calibrated pointwise value in [0, 1] on the requested scale.
double point_value(double raw, const std::string& scale) {
  const double s = sigmoid(5.0 * (raw - 0.6));
  if (scale == "score") return std::round(s * 10.0) / 10.0;  // favourite answers: multiples of 10
  if (scale == "likert") return std::round(s * 4.0) / 4.0;
  return std::clamp(sigmoid(8.0 * (raw - 0.6)), 0.01, 0.99);  // over-confident P(Yes)
}

std::vector<double> list_probabilities(const std::vector<double>& q, const SimulatedJudgeParams& p,
                                       std::uint64_t noise_seed) {
  const std::size_t n = q.size();
  std::vector<double> probs(n, 0.0);
  const double b = bias_logit(p), k = slope(p);
  if (std::isinf(b)) {
    probs[0] = 1.0;
    return probs;
  }
  if (std::isinf(k)) {
    probs[static_cast<std::size_t>(std::max_element(q.begin(), q.end()) - q.begin())] = 1.0;
    return probs;
  }
  Rng rng(noise_seed);
  std::vector<double> u(n);
  for (std::size_t i = 0; i < n; ++i)
    u[i] = k * q[i] - std::log(-std::log(rng.uniform())) + (i == 0 ? b : 0.0);
  const double mx = *std::max_element(u.begin(), u.end());
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += (probs[i] = std::exp(u[i] - mx));
  for (double& x : probs) x /= sum;
  return probs;
}

std::uint64_t pair_seed(std::uint64_t seed, int a, int b) {
  return mix_seed(mix_seed(seed, static_cast<std::uint64_t>(a) + 1), static_cast<std::uint64_t>(b) + 0x10001);
}

}  // namespace

SimulatedPairJudge::SimulatedPairJudge(std::vector<double> quality, const SimulatedJudgeParams& params,
                                       std::uint64_t query_seed)
    : quality_(std::move(quality)), params_(params), seed_(mix_seed(params.seed, query_seed)) {
  check_params(params_);
}

std::vector<PairJudgment> SimulatedPairJudge::judge(std::span<const std::pair<int, int>> presented) {
  std::vector<PairJudgment> out;
  for (const auto& [a, b] : presented) {
    const double p =
        pair_probability(quality_.at(static_cast<std::size_t>(a)), quality_.at(static_cast<std::size_t>(b)),
                         params_, pair_seed(seed_, a, b));
    out.push_back({a, b, p, 1.0, true});
  }
  return out;
}

SimulatedPointJudge::SimulatedPointJudge(std::vector<double> quality, const SimulatedJudgeParams& params,
                                         std::uint64_t query_seed, std::string scale)
    : quality_(std::move(quality)),
      params_(params),
      seed_(mix_seed(params.seed, query_seed)),
      scale_(std::move(scale)) {
  check_params(params_);
  if (scale_ != "score" && scale_ != "likert" && scale_ != "yesno")
    throw Error(ErrorKind::invalid_argument,
                fmt::format("simulated point judge: unknown scale '{}'", scale_));
  Rng rng(mix_seed(seed_, 0xca11b));
  offset_ = params_.pointwise_calibration * rng.normal();
}

std::vector<PointJudgment> SimulatedPointJudge::judge(std::span<const int> candidates) {
  std::vector<PointJudgment> out;
  for (int c : candidates) {
    Rng rng(mix_seed(seed_, static_cast<std::uint64_t>(c) + 1));
    const double raw =
        quality_.at(static_cast<std::size_t>(c)) + params_.pointwise_noise * rng.normal() + offset_;
    PointJudgment j;
    j.candidate = c;
    j.normalized = point_value(raw, scale_);
    j.score = scale_ == "score"    ? 100.0 * j.normalized
              : scale_ == "likert" ? 1.0 + 4.0 * j.normalized
                                   : j.normalized;
    out.push_back(j);
  }
  return out;
}

SimulatedListJudge::SimulatedListJudge(std::vector<double> quality, const SimulatedJudgeParams& params,
                                       std::uint64_t query_seed)
    : quality_(std::move(quality)), params_(params), seed_(mix_seed(params.seed, query_seed)) {
  check_params(params_);
}

ListJudgment SimulatedListJudge::judge(std::span<const int> window) {
  std::vector<double> q;
  std::uint64_t s = seed_;
  for (int c : window) {
    q.push_back(quality_.at(static_cast<std::size_t>(c)));
    s = mix_seed(s, static_cast<std::uint64_t>(c) + 1);
  }
  ListJudgment j;
  j.window.assign(window.begin(), window.end());
  j.probs = list_probabilities(q, params_, s);
  return j;
}

SimulatedBackend::SimulatedBackend(QualityFn quality, SimulatedJudgeParams params, int delay_ms)
    : quality_(std::move(quality)), params_(params), delay_ms_(delay_ms) {
  check_params(params_);
  if (!quality_) throw Error(ErrorKind::invalid_argument, "simulated backend: no quality function");
}

SimulatedBackend::SimulatedBackend(std::unordered_map<std::string, double> quality,
                                   SimulatedJudgeParams params, int delay_ms)
    : SimulatedBackend(
          [table = std::move(quality)](const std::string&, const std::string& id) {
            const auto it = table.find(id);
            return it == table.end() ? 0.0 : it->second;
          },
          params, delay_ms) {}

JudgeIdentity SimulatedBackend::identity() const {
  JudgeIdentity id;
  id.backend = "simulated";
  id.runtime = "simulated judge: no model, the numbers mean nothing about any VLM";
  id.settings = {{"judge_accuracy", params_.judge_accuracy},
                 {"position_bias", params_.position_bias},
                 {"mean_gap", params_.mean_gap},
                 {"pointwise_noise", params_.pointwise_noise},
                 {"pointwise_calibration", params_.pointwise_calibration},
                 {"seed", params_.seed}};
  return id;
}

std::vector<VlmResponse> SimulatedBackend::run(std::span<const VlmRequest> requests) {
  std::vector<VlmResponse> out;
  for (const VlmRequest& r : requests) {
    if (delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
    ++n_requests_;
    std::uint64_t seed = params_.seed;
    std::vector<double> q;
    for (std::size_t i = 0; i < r.images.size(); ++i) {
      seed = hash_text(r.images[i]->id, seed);
      if (i > 0) q.push_back(quality_(r.images[0]->id, r.images[i]->id));
    }
    for (const auto& c : r.choices) seed = hash_text(c, seed);
    const auto numeric = [](const std::string& s) {
      return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    const bool all_numeric = !r.choices.empty() && std::all_of(r.choices.begin(), r.choices.end(), numeric);
    VlmResponse resp;
    resp.template_name = "simulated";
    if (r.generation.max_tokens > 0)
      resp.text = "(simulated judge: no model wrote this text; the numbers mean nothing about any VLM)";
    const std::size_t n = r.choices.size();
    if (n == 0) {
      // generation only
    } else if (all_numeric && q.size() >= 2 && n == q.size()) {
      resp.probs = list_probabilities(q, params_, seed);
    } else if (n == 2 && q.size() == 2) {
      const double p = pair_probability(q[0], q[1], params_, seed);
      resp.probs = {p, 1.0 - p};
    } else if (q.size() == 1) {
      Rng rng(seed);
      const double offset = params_.pointwise_calibration * Rng(mix_seed(params_.seed, 0xca11b)).normal();
      const double raw = q[0] + params_.pointwise_noise * rng.normal() + offset;
      if (all_numeric && n > 2) {
        const double lo = std::stod(r.choices.front()), hi = std::stod(r.choices.back());
        const double v = lo + point_value(raw, "score") * (hi - lo);
        std::size_t best = 0;
        for (std::size_t i = 0; i < n; ++i)
          if (std::abs(std::stod(r.choices[i]) - v) < std::abs(std::stod(r.choices[best]) - v)) best = i;
        resp.probs.assign(n, 0.0);
        resp.probs[best] = 1.0;
      } else if (n == 2) {
        const double p = point_value(raw, "yesno");
        resp.probs = {p, 1.0 - p};
      }
    }
    if (!resp.probs.empty()) {
      resp.covered_mass = 1.0;
      for (double p : resp.probs) resp.logprobs.push_back(std::log(p));
    }
    resp.n_prompt_tokens = 0;
    resp.n_image_tokens = 0;
    out.push_back(std::move(resp));
  }
  return out;
}

}  // namespace georank
