#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "georank/core/error.hpp"
#include "rerank/pairwise_strategies.hpp"

namespace georank {
namespace {

double sigmoid(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

// Solves A x = b for a symmetric positive definite A (Cholesky); false if A is not.
bool cholesky_solve(std::vector<std::vector<double>> a, std::vector<double>& b) {
  const std::size_t n = b.size();
  for (std::size_t j = 0; j < n; ++j) {
    double d = a[j][j];
    for (std::size_t k = 0; k < j; ++k) d -= a[j][k] * a[j][k];
    if (!(d > 0)) return false;
    a[j][j] = std::sqrt(d);
    for (std::size_t i = j + 1; i < n; ++i) {
      double s = a[i][j];
      for (std::size_t k = 0; k < j; ++k) s -= a[i][k] * a[j][k];
      a[i][j] = s / a[j][j];
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t k = 0; k < i; ++k) b[i] -= a[i][k] * b[k];
    b[i] /= a[i][i];
  }
  for (std::size_t i = n; i-- > 0;) {
    for (std::size_t k = i + 1; k < n; ++k) b[i] -= a[k][i] * b[k];
    b[i] /= a[i][i];
  }
  return true;
}

}  // namespace

double BradleyTerryPosterior::p_stronger(int b, int a) const {
  const auto ua = static_cast<std::size_t>(a), ub = static_cast<std::size_t>(b);
  const double var = cov[ua][ua] + cov[ub][ub] - 2.0 * cov[ua][ub];
  const double d = theta[ub] - theta[ua];
  if (!(var > 0)) return d > 0 ? 1.0 : (d < 0 ? 0.0 : 0.5);
  return 0.5 * std::erfc(-d / std::sqrt(2.0 * var));
}

BradleyTerryPosterior fit_bradley_terry_posterior(int n, std::span<const ShownOutcome> outcomes,
                                                  double prior_sd) {
  if (n < 0 || !(prior_sd > 0))
    throw Error(ErrorKind::invalid_argument, "Bradley-Terry posterior: bad n or prior");
  for (const auto& o : outcomes)
    if (o.first < 0 || o.first >= n || o.second < 0 || o.second >= n || o.first == o.second ||
        !(o.p_first >= 0 && o.p_first <= 1))
      throw Error(ErrorKind::invalid_argument, "Bradley-Terry posterior: bad outcome");
  const std::size_t m = static_cast<std::size_t>(n) + 1;  // theta..., beta
  const std::size_t beta = m - 1;
  const double prior_theta = 1.0 / (prior_sd * prior_sd), prior_beta = 1.0;
  std::vector<double> x(m, 0.0);
  std::vector<std::vector<double>> h(m, std::vector<double>(m, 0.0));
  const auto hessian_and_gradient = [&](std::vector<double>& g) {
    for (auto& row : h) std::fill(row.begin(), row.end(), 0.0);
    g.assign(m, 0.0);
    for (std::size_t i = 0; i < beta; ++i) {
      h[i][i] = prior_theta;
      g[i] = -prior_theta * x[i];
    }
    h[beta][beta] = prior_beta;
    g[beta] = -prior_beta * x[beta];
    for (const auto& o : outcomes) {
      const auto f = static_cast<std::size_t>(o.first), s = static_cast<std::size_t>(o.second);
      const double p = sigmoid(x[f] - x[s] + x[beta]);
      const double r = o.p_first - p, w = p * (1.0 - p);
      g[f] += r;
      g[s] -= r;
      g[beta] += r;
      const std::size_t idx[3] = {f, s, beta};
      const double sign[3] = {1.0, -1.0, 1.0};
      for (int a = 0; a < 3; ++a)
        for (int b = 0; b < 3; ++b) h[idx[a]][idx[b]] += w * sign[a] * sign[b];
    }
  };
  std::vector<double> g;
  for (int it = 0; it < 50; ++it) {
    hessian_and_gradient(g);
    std::vector<double> step = g;
    if (!cholesky_solve(h, step)) break;
    double change = 0;
    for (std::size_t i = 0; i < m; ++i) {
      x[i] += step[i];
      change = std::max(change, std::abs(step[i]));
    }
    if (change < 1e-10) break;
  }
  hessian_and_gradient(g);
  BradleyTerryPosterior post;
  post.theta.assign(x.begin(), x.begin() + n);
  post.position_effect = x[beta];
  post.cov.assign(static_cast<std::size_t>(n), std::vector<double>(static_cast<std::size_t>(n), 0.0));
  for (std::size_t j = 0; j < static_cast<std::size_t>(n); ++j) {
    std::vector<double> e(m, 0.0);
    e[j] = 1.0;
    if (!cholesky_solve(h, e)) throw std::logic_error("Bradley-Terry posterior: singular Hessian");
    for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) post.cov[i][j] = e[i];
  }
  return post;
}

AggregateResult adaptive_top1(int n, ComparisonOracle& oracle, const PairwiseOptions& options) {
  if (!(options.adaptive_confidence > 0 && options.adaptive_confidence < 1))
    throw Error(ErrorKind::invalid_argument, "adaptive: confidence must be in (0, 1)");
  if (options.adaptive_budget < 0) throw Error(ErrorKind::invalid_argument, "adaptive: budget must be >= 0");
  std::vector<int> order(static_cast<std::size_t>(std::max(n, 0)));
  std::iota(order.begin(), order.end(), 0);
  if (n < 2) return {order, std::vector<double>(order.size(), 0.0), "bt_log_strength"};
  const int all = n * (n - 1);
  const int budget = options.adaptive_budget == 0 ? all : std::min(options.adaptive_budget, all);
  std::set<std::pair<int, int>> asked;
  std::vector<ShownOutcome> outcomes;
  std::vector<int> shown_first(static_cast<std::size_t>(n), 0);
  int used = 0;
  const auto ask = [&](std::vector<std::pair<int, int>> batch) {
    if (static_cast<int>(batch.size()) > budget - used) batch.resize(static_cast<std::size_t>(budget - used));
    if (batch.empty()) return;
    const auto got = oracle.ask_shown(batch);
    for (const PairJudgment& j : got) {
      oracle.record(j);
      asked.insert({j.first, j.second});
      ++shown_first[static_cast<std::size_t>(j.first)];
      if (j.parsed) outcomes.push_back({j.first, j.second, j.p_first});
    }
    used += static_cast<int>(got.size());
  };
  // The order of a presentation of {a, b} not yet asked; (-1, -1) when both were.
  const auto presentation = [&](int a, int b) -> std::pair<int, int> {
    const bool ab = asked.count({a, b}) == 0, ba = asked.count({b, a}) == 0;
    if (ab && ba)
      return shown_first[static_cast<std::size_t>(a)] <= shown_first[static_cast<std::size_t>(b)]
                 ? std::pair{a, b}
                 : std::pair{b, a};
    if (ab) return {a, b};
    if (ba) return {b, a};
    return {-1, -1};
  };

  // Round 1: candidate 0 against everyone, orders alternating.
  std::vector<std::pair<int, int>> first;
  for (int j = 1; j < n; ++j) first.push_back(j % 2 == 1 ? std::pair{j, 0} : std::pair{0, j});
  ask(first);

  BradleyTerryPosterior post = fit_bradley_terry_posterior(n, outcomes);
  const double allowed = 1.0 - options.adaptive_confidence;
  while (used < budget) {
    const int leader =
        static_cast<int>(std::max_element(post.theta.begin(), post.theta.end()) - post.theta.begin());
    std::vector<std::pair<double, int>> risk;
    double total = 0;
    for (int j = 0; j < n; ++j)
      if (j != leader) {
        const double r = post.p_stronger(j, leader);
        risk.emplace_back(r, j);
        total = std::max(total, r);
      }
    if (total <= allowed) break;
    std::sort(risk.begin(), risk.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    const double threshold = std::max(0.25 * risk.front().first, allowed / (n - 1));
    std::vector<std::pair<int, int>> batch;
    std::set<std::pair<int, int>> planned;
    for (const auto& [r, j] : risk) {
      if (r < threshold) break;
      auto p = presentation(leader, j);
      if (p.first < 0) {
        // Leader and rival met in both orders: the rival meets the strongest other candidate.
        int partner = -1;
        for (int m = 0; m < n; ++m)
          if (m != leader && m != j && presentation(j, m).first >= 0 &&
              (partner < 0 ||
               post.theta[static_cast<std::size_t>(m)] > post.theta[static_cast<std::size_t>(partner)]))
            partner = m;
        if (partner < 0) continue;
        p = presentation(j, partner);
      }
      if (planned.count(p) == 0 && planned.count({p.second, p.first}) == 0) {
        planned.insert(p);
        batch.push_back(p);
      }
    }
    if (batch.empty()) break;
    ask(batch);
    post = fit_bradley_terry_posterior(n, outcomes);
  }
  std::vector<double> score = post.theta;
  for (double& s : score) s = std::round(s * 1e8) / 1e8;
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return score[static_cast<std::size_t>(a)] > score[static_cast<std::size_t>(b)];
  });
  return {order, score, "bt_log_strength"};
}

}  // namespace georank
