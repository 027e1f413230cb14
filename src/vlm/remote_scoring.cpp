#include "vlm/remote_scoring.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "georank/core/error.hpp"

namespace georank::remote {
namespace {

/// Longest chain of tokens followed for one choice (multi-token answers).
constexpr int kMaxAnswerTokens = 16;

double smallest_shown(const std::vector<TokenLogprob>& alternatives) {
  double s = std::numeric_limits<double>::infinity();
  for (const auto& a : alternatives) s = std::min(s, a.logprob);
  return std::isfinite(s) ? s : kMinLogprob;
}

double log_sum_exp(const std::vector<double>& values) {
  const double top = *std::max_element(values.begin(), values.end());
  double sum = 0;
  for (double v : values) sum += std::exp(v - top);
  return top + std::log(sum);
}

}  // namespace

ScoredChoices score_by_text(const std::vector<std::string>& choices, const NextAlternatives& next) {
  struct Pending {
    std::size_t choice;
    std::string consumed;   // token texts already appended for this choice
    std::string remaining;  // part of the choice still to score
    double logprob;
    int depth;
  };
  ScoredChoices out;
  out.logprobs.assign(choices.size(), kMinLogprob);
  out.not_in_top.assign(choices.size(), false);
  std::vector<Pending> level;
  for (std::size_t i = 0; i < choices.size(); ++i) level.push_back({i, "", choices[i], 0.0, 0});
  while (!level.empty()) {
    std::map<std::string, std::vector<Pending>> by_prefix;
    for (auto& p : level) by_prefix[p.consumed].push_back(std::move(p));
    level.clear();
    for (auto& [consumed, group] : by_prefix) {
      const auto alternatives = next(consumed);
      ++out.n_queries;
      for (auto& p : group) {
        const ChoiceMatch m = match_choice(alternatives, p.remaining, p.depth == 0);
        if (m.kind == ChoiceMatch::Kind::partial && p.depth + 1 < kMaxAnswerTokens) {
          level.push_back({p.choice, p.consumed + m.token_text, p.remaining.substr(m.n_consumed),
                           p.logprob + m.logprob, p.depth + 1});
          continue;
        }
        out.logprobs[p.choice] = std::max(p.logprob + m.logprob, kMinLogprob);
        out.not_in_top[p.choice] = m.kind != ChoiceMatch::Kind::complete;
      }
    }
  }
  return out;
}

ScoredChoices score_by_ids(const std::vector<std::string>& choices, const std::string& basis,
                           bool basis_is_first, const Tokenizer& tokenize, const NextAlternatives& next) {
  struct Variant {
    std::size_t choice;
    std::vector<PieceToken> tokens;
    double logprob = 0;
    bool missing = false;
  };
  const auto base = tokenize(basis, basis_is_first);
  std::vector<Variant> variants;
  for (std::size_t c = 0; c < choices.size(); ++c) {
    const std::string& choice = choices[c];
    const auto start = choice.find_first_not_of(" \t\n");
    const std::string trimmed = start == std::string::npos ? std::string() : choice.substr(start);
    const std::size_t n_before = variants.size();
    for (const std::string& v : {trimmed, " " + trimmed}) {
      if (trimmed.empty()) break;
      const auto all = tokenize(basis + v, basis_is_first);
      const bool continues =
          all.size() > base.size() &&
          std::equal(base.begin(), base.end(), all.begin(),
                     [](const PieceToken& a, const PieceToken& b) { return a.id == b.id; });
      if (!continues) continue;  // the answer merges into the prompt's last token
      std::vector<PieceToken> answer(all.begin() + static_cast<long>(base.size()), all.end());
      const bool seen =
          std::any_of(variants.begin() + static_cast<long>(n_before), variants.end(), [&](const Variant& w) {
            return std::equal(w.tokens.begin(), w.tokens.end(), answer.begin(), answer.end(),
                              [](const PieceToken& a, const PieceToken& b) { return a.id == b.id; });
          });
      if (!seen) variants.push_back({c, std::move(answer)});
    }
    if (variants.size() == n_before)
      throw Error(
          ErrorKind::invalid_argument,
          "choice '" + choice + "' cannot be represented as a continuation of the prompt by the vocabulary");
  }

  ScoredChoices out;
  // Position by position; variants that share their first j tokens share one request.
  std::vector<std::size_t> active(variants.size());
  for (std::size_t i = 0; i < variants.size(); ++i) active[i] = i;
  for (std::size_t j = 0; !active.empty(); ++j) {
    std::map<std::string, std::vector<std::size_t>> by_prefix;  // continuation text -> variants
    for (std::size_t i : active) {
      std::string continuation;
      for (std::size_t k = 0; k < j; ++k) continuation += variants[i].tokens[k].piece;
      by_prefix[continuation].push_back(i);
    }
    active.clear();
    for (const auto& [continuation, members] : by_prefix) {
      const auto alternatives = next(continuation);
      ++out.n_queries;
      for (std::size_t i : members) {
        Variant& v = variants[i];
        const int want = v.tokens[j].id;
        const auto it = std::find_if(alternatives.begin(), alternatives.end(),
                                     [&](const TokenLogprob& a) { return a.id && *a.id == want; });
        if (it == alternatives.end()) {
          v.logprob += smallest_shown(alternatives);
          v.missing = true;
          continue;
        }
        v.logprob += it->logprob;
        if (j + 1 < v.tokens.size()) active.push_back(i);
      }
    }
  }

  out.logprobs.assign(choices.size(), kMinLogprob);
  out.not_in_top.assign(choices.size(), false);
  for (std::size_t c = 0; c < choices.size(); ++c) {
    std::vector<double> found, floored;
    for (const auto& v : variants) {
      if (v.choice != c) continue;
      (v.missing ? floored : found).push_back(v.logprob);
    }
    out.not_in_top[c] = found.empty();
    // Variants seen in full are summed; a choice with none seen gets its best floor.
    const double lp = !found.empty() ? log_sum_exp(found) : *std::max_element(floored.begin(), floored.end());
    out.logprobs[c] = std::max(lp, kMinLogprob);
  }
  return out;
}

}  // namespace georank::remote
