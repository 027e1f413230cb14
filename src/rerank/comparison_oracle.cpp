#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/random.hpp"
#include "georank/core/error.hpp"
#include "georank/rerank/aggregate.hpp"

namespace georank {

ComparisonOracle::ComparisonOracle(PairJudge& judge, PairOrders orders, std::uint64_t seed)
    : judge_(judge), orders_(orders), rng_state_(seed) {}

std::vector<double> ComparisonOracle::compare(std::span<const std::pair<int, int>> pairs) {
  const auto known = [&](int a, int b) { return memo_.count({a, b}) > 0 || memo_.count({b, a}) > 0; };
  // Plan the presentations of the pairs not yet answered.
  std::vector<std::pair<int, int>> presented;
  std::set<std::pair<int, int>> presented_set;
  const auto present = [&](int a, int b) {
    if (presented_set.insert({a, b}).second) presented.emplace_back(a, b);
  };
  std::vector<std::pair<int, int>> asked;  // (a, b) as asked, in the order planned
  std::set<std::pair<int, int>> asked_set;
  for (const auto& [a, b] : pairs) {
    if (a == b) throw Error(ErrorKind::invalid_argument, "comparison of a candidate with itself");
    if (known(a, b) || asked_set.count({b, a}) > 0 || !asked_set.insert({a, b}).second) continue;
    asked.emplace_back(a, b);
    switch (orders_) {
      case PairOrders::single: present(a, b); break;
      case PairOrders::both:
        present(a, b);
        present(b, a);
        break;
      case PairOrders::random: {
        Rng rng(splitmix64(rng_state_));
        if (rng.coin())
          present(b, a);
        else
          present(a, b);
        break;
      }
    }
  }
  if (!presented.empty()) {
    std::vector<PairJudgment> got = judge_.judge(presented);
    if (got.size() != presented.size())
      throw Error(ErrorKind::backend, fmt::format("pair judge returned {} judgments for {} comparisons",
                                                  got.size(), presented.size()));
    ++n_rounds_;
    std::map<std::pair<int, int>, const PairJudgment*> by_pair;
    for (std::size_t i = 0; i < presented.size(); ++i) by_pair[presented[i]] = &got[i];
    for (const auto& [a, b] : asked) {
      const auto ab = by_pair.find({a, b});
      const auto ba = by_pair.find({b, a});
      double p = 0.5;
      if (ab != by_pair.end() && ba != by_pair.end())
        p = 0.5 * (ab->second->p_first + (1.0 - ba->second->p_first));
      else if (ab != by_pair.end())
        p = ab->second->p_first;
      else if (ba != by_pair.end())
        p = 1.0 - ba->second->p_first;
      memo_[{a, b}] = p;
    }
    judgments_.insert(judgments_.end(), got.begin(), got.end());
  }
  std::vector<double> out;
  out.reserve(pairs.size());
  for (const auto& [a, b] : pairs) {
    const auto it = memo_.find({a, b});
    out.push_back(it != memo_.end() ? it->second : 1.0 - memo_.at({b, a}));
  }
  return out;
}

std::vector<PairJudgment> ComparisonOracle::ask_shown(std::span<const std::pair<int, int>> shown) {
  for (const auto& [a, b] : shown)
    if (a == b) throw Error(ErrorKind::invalid_argument, "comparison of a candidate with itself");
  if (shown.empty()) return {};
  std::vector<PairJudgment> got = judge_.judge(shown);
  if (got.size() != shown.size())
    throw Error(ErrorKind::backend,
                fmt::format("pair judge returned {} judgments for {} comparisons", got.size(), shown.size()));
  ++n_rounds_;
  return got;
}

PairJudgment ComparisonOracle::compare_shown(int first, int second) {
  const std::pair<int, int> shown{first, second};
  const PairJudgment j = ask_shown(std::span(&shown, 1)).front();
  record(j);
  return j;
}

}  // namespace georank
