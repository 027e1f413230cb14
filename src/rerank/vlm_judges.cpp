#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "georank/core/error.hpp"
#include "georank/core/log.hpp"
#include "georank/rerank/judge.hpp"
#include "georank/vlm/llama_backend.hpp"
#include "rerank/json_answer.hpp"

namespace georank {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The distribution over the answer set: the backend's renormalised probabilities when
// usable, else a one-hot read from generated text that starts with an answer (servers
// without log-probabilities). nullopt: no usable answer (counted as unparsed, not an error).
std::optional<std::vector<double>> answer_distribution(const VlmResponse& r,
                                                       const std::vector<std::string>& answers) {
  if (r.probs.size() == answers.size()) {
    double sum = 0;
    bool finite = true;
    for (double p : r.probs) {
      finite = finite && std::isfinite(p) && p >= 0;
      sum += p;
    }
    if (finite && sum > 0) {
      std::vector<double> out(r.probs);
      for (double& p : out) p /= sum;
      return out;
    }
  }
  std::string text = r.text;
  text.erase(0, text.find_first_not_of(" \t\n\r*\"'"));
  std::size_t best = answers.size(), best_len = 0;
  for (std::size_t i = 0; i < answers.size(); ++i)
    if (!answers[i].empty() && text.starts_with(answers[i]) && answers[i].size() > best_len) {
      best = i;
      best_len = answers[i].size();
    }
  // "10" must not be read as "1": the answer has to end at a non-alphanumeric character.
  if (best < answers.size() &&
      (text.size() == best_len || !std::isalnum(static_cast<unsigned char>(text[best_len])))) {
    std::vector<double> out(answers.size(), 0.0);
    out[best] = 1.0;
    return out;
  }
  return std::nullopt;
}

std::vector<std::shared_ptr<const Image>> pick(const JudgeImages& images, std::span<const int> candidates) {
  std::vector<std::shared_ptr<const Image>> out;
  for (int c : candidates) {
    if (c < 0 || static_cast<std::size_t>(c) >= images.candidates.size())
      throw Error(ErrorKind::invalid_argument, fmt::format("candidate {} is outside the top-K images", c));
    out.push_back(images.candidates[static_cast<std::size_t>(c)]);
  }
  return out;
}

void check_count(const std::vector<VlmResponse>& got, std::size_t want) {
  if (got.size() != want)
    throw Error(ErrorKind::backend,
                fmt::format("VLM backend returned {} responses for {} requests", got.size(), want));
}

// generate-json: the request generates the answer instead of scoring the answer set.
VlmRequest as_json_request(VlmRequest r) {
  r.choices.clear();
  r.generation.max_tokens = r.generation.max_tokens + kJsonAnswerTokens;  // reasoning, if any, then JSON
  r.generation.stop.clear();
  r.answer_cue.clear();
  return r;
}

std::string trimmed(std::string s) {
  s.erase(0, s.find_first_not_of(" \t\n\r"));
  s.erase(s.find_last_not_of(" \t\n\r") + 1);
  return s;
}

// The answer of the set a generated JSON answer names (its field's value, as text or number,
// compared without surrounding blanks and without case), or nullopt.
std::optional<std::size_t> json_choice(const std::string& prefill, const std::string& text,
                                       const std::string& field, const std::vector<std::string>& answers) {
  const auto value = json_answer_field(prefill + text, field);
  if (!value) return std::nullopt;
  std::string v;
  if (value->is_string()) {
    v = value->get<std::string>();
  } else if (value->is_number_integer()) {
    v = std::to_string(value->get<std::int64_t>());
  } else if (value->is_number()) {
    const double d = value->get<double>();
    if (d != std::floor(d) || std::abs(d) > 1e15) return std::nullopt;
    v = std::to_string(static_cast<std::int64_t>(d));
  } else {
    return std::nullopt;
  }
  const auto lower = [](std::string x) {
    for (char& c : x) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return trimmed(x);
  };
  for (std::size_t i = 0; i < answers.size(); ++i)
    if (lower(answers[i]) == lower(v)) return i;
  return std::nullopt;
}

class VlmPairJudge final : public PairJudge {
 public:
  VlmPairJudge(VlmBackend& backend, const PromptTemplate& prompt, JudgeImages images, AnswerMode answers,
               int* n_requests)
      : backend_(backend),
        prompt_(prompt),
        images_(std::move(images)),
        answers_(answers),
        n_requests_(n_requests) {
    if (prompt.strategy != "pairwise")
      throw Error(ErrorKind::invalid_argument,
                  fmt::format("prompt template '{}' is for {}, not pairwise", prompt.name, prompt.strategy));
  }

  std::vector<PairJudgment> judge(std::span<const std::pair<int, int>> presented) override {
    std::vector<VlmRequest> requests;
    for (const auto& [a, b] : presented) {
      const int ids[2] = {a, b};
      VlmRequest r = render_prompt(prompt_, images_.query, pick(images_, ids), images_.layout);
      requests.push_back(answers_ == AnswerMode::generate_json ? as_json_request(std::move(r))
                                                               : std::move(r));
    }
    const auto responses = backend_.run(requests);
    check_count(responses, requests.size());
    if (n_requests_) *n_requests_ += static_cast<int>(requests.size());
    std::vector<PairJudgment> out;
    for (std::size_t i = 0; i < presented.size(); ++i) {
      PairJudgment j{presented[i].first, presented[i].second, 0.5, responses[i].covered_mass, false, {}};
      if (answers_ == AnswerMode::generate_json) {
        j.text = responses[i].text;
        j.covered_mass = std::numeric_limits<double>::quiet_NaN();  // no answer-set probabilities
        if (const auto c =
                json_choice(prompt_.prefill, responses[i].text, prompt_.json_field, prompt_.answers)) {
          j.p_first = *c == 0 ? 1.0 : 0.0;
          j.parsed = true;
        }
      } else if (const auto d = answer_distribution(responses[i], prompt_.answers)) {
        j.p_first = (*d)[0];
        j.parsed = true;
      }
      out.push_back(j);
    }
    return out;
  }

 private:
  VlmBackend& backend_;
  const PromptTemplate& prompt_;
  JudgeImages images_;
  AnswerMode answers_;
  int* n_requests_;
};

class VlmPointJudge final : public PointJudge {
 public:
  VlmPointJudge(VlmBackend& backend, const PromptTemplate& prompt, JudgeImages images, ScoreMode mode,
                AnswerMode answers, int* n_requests)
      : backend_(backend),
        prompt_(prompt),
        images_(std::move(images)),
        mode_(mode),
        answers_(answers),
        n_requests_(n_requests) {
    if (!prompt.strategy.starts_with("pointwise"))
      throw Error(ErrorKind::invalid_argument,
                  fmt::format("prompt template '{}' is for {}, not pointwise", prompt.name, prompt.strategy));
    yes_no_ = prompt.strategy.starts_with("pointwise-yesno");
    if (!yes_no_) {
      for (const auto& a : prompt.answers) {
        char* end = nullptr;
        const double v = std::strtod(a.c_str(), &end);
        if (a.empty() || *end != '\0')
          throw Error(ErrorKind::invalid_argument,
                      fmt::format("prompt template '{}': score answer '{}' is not a number", prompt.name, a));
        values_.push_back(v);
      }
      lo_ = *std::min_element(values_.begin(), values_.end());
      hi_ = *std::max_element(values_.begin(), values_.end());
    }
  }

  std::vector<PointJudgment> judge(std::span<const int> candidates) override {
    std::vector<VlmRequest> requests;
    for (int c : candidates) {
      VlmRequest r = render_prompt(prompt_, images_.query, pick(images_, std::span(&c, 1)), images_.layout);
      if (answers_ == AnswerMode::generate_json) {
        r = as_json_request(std::move(r));
      } else if (mode_ == ScoreMode::text && !yes_no_) {
        // Read the number from a short generated answer instead of scoring the answer set.
        r.choices.clear();
        r.generation.max_tokens = std::max(r.generation.max_tokens, 8);
      }
      requests.push_back(std::move(r));
    }
    std::vector<VlmResponse> responses;
    try {
      responses = backend_.run(requests);
    } catch (const ContextTooSmall&) {
      throw;  // a configuration error, not an answer set the vocabulary cannot score
    } catch (const Error& e) {
      // "Where the vocabulary allows": a model that cannot represent the number answers
      // rejects the closed set; read a generated number instead.
      if (e.kind() != ErrorKind::invalid_argument || mode_ != ScoreMode::expected || yes_no_ ||
          answers_ == AnswerMode::generate_json)
        throw;
      log_warn(
          "prompt template '{}': the answer set cannot be scored ({}); reading generated numbers instead",
          prompt_.name, e.what());
      mode_ = ScoreMode::text;
      return judge(candidates);
    }
    check_count(responses, requests.size());
    if (n_requests_) *n_requests_ += static_cast<int>(requests.size());
    std::vector<PointJudgment> out;
    for (std::size_t i = 0; i < candidates.size(); ++i) out.push_back(read(candidates[i], responses[i]));
    return out;
  }

 private:
  PointJudgment read(int candidate, const VlmResponse& r) const {
    PointJudgment j;
    j.candidate = candidate;
    j.covered_mass = r.covered_mass;
    j.text = r.text;
    j.score = j.normalized = kNaN;
    j.parsed = false;
    if (answers_ == AnswerMode::generate_json) {
      j.covered_mass = kNaN;  // no answer-set probabilities
      if (yes_no_) {
        if (const auto c = json_choice(prompt_.prefill, r.text, prompt_.json_field, prompt_.answers)) {
          j.score = j.normalized = *c == 0 ? 1.0 : 0.0;
          j.parsed = true;
        }
      } else if (const auto value = json_answer_field(prompt_.prefill + r.text, prompt_.json_field)) {
        if (const auto v = json_answer_number(*value)) {
          j.score = std::clamp(*v, lo_, hi_);
          j.normalized = (j.score - lo_) / (hi_ - lo_);
          j.parsed = true;
        }
      }
      return j;
    }
    if (mode_ == ScoreMode::text && !yes_no_) {
      const auto digit = std::find_if(r.text.begin(), r.text.end(),
                                      [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
      if (digit != r.text.end()) {
        const double v = std::clamp(std::strtod(&*digit, nullptr), lo_, hi_);
        j.score = v;
        j.normalized = (v - lo_) / (hi_ - lo_);
        j.parsed = true;
      }
      return j;
    }
    const auto d = answer_distribution(r, prompt_.answers);
    if (!d) return j;
    j.probs = *d;
    j.parsed = true;
    if (yes_no_) {
      j.score = j.normalized = (*d)[0];
    } else {
      double ev = 0;
      for (std::size_t k = 0; k < values_.size(); ++k) ev += (*d)[k] * values_[k];
      j.score = ev;
      j.normalized = (ev - lo_) / (hi_ - lo_);
    }
    return j;
  }

  VlmBackend& backend_;
  const PromptTemplate& prompt_;
  JudgeImages images_;
  ScoreMode mode_;
  AnswerMode answers_;
  int* n_requests_;
  bool yes_no_ = false;
  std::vector<double> values_;
  double lo_ = 0, hi_ = 1;
};

class VlmListJudge final : public ListJudge {
 public:
  VlmListJudge(VlmBackend& backend, const PromptTemplate& prompt, JudgeImages images, int* n_requests)
      : backend_(backend), prompt_(prompt), images_(std::move(images)), n_requests_(n_requests) {
    if (prompt.strategy != "listwise")
      throw Error(ErrorKind::invalid_argument,
                  fmt::format("prompt template '{}' is for {}, not listwise (set-wise prompts use listwise "
                              "templates)",
                              prompt.name, prompt.strategy));
  }

  ListJudgment judge(std::span<const int> window) override {
    const std::vector<int> one(window.begin(), window.end());
    return std::move(judge_all(std::span(&one, 1)).front());
  }

  std::vector<ListJudgment> judge_all(std::span<const std::vector<int>> windows) override {
    std::vector<VlmRequest> requests;
    for (const auto& w : windows)
      requests.push_back(render_prompt(prompt_, images_.query, pick(images_, w), images_.layout));
    if (requests.empty()) return {};
    const auto responses = backend_.run(requests);
    check_count(responses, requests.size());
    if (n_requests_) *n_requests_ += static_cast<int>(requests.size());
    std::vector<ListJudgment> out;
    for (std::size_t i = 0; i < windows.size(); ++i) {
      ListJudgment j;
      j.window = windows[i];
      j.covered_mass = responses[i].covered_mass;
      if (const auto d = answer_distribution(responses[i], requests[i].choices)) {
        j.probs = *d;
      } else {
        j.probs.assign(windows[i].size(), 1.0 / static_cast<double>(windows[i].size()));
        j.parsed = false;
      }
      out.push_back(std::move(j));
    }
    return out;
  }

 private:
  VlmBackend& backend_;
  const PromptTemplate& prompt_;
  JudgeImages images_;
  int* n_requests_;
};

}  // namespace

std::unique_ptr<PairJudge> make_vlm_pair_judge(VlmBackend& backend, const PromptTemplate& prompt,
                                               JudgeImages images, AnswerMode answers, int* n_requests) {
  return std::make_unique<VlmPairJudge>(backend, prompt, std::move(images), answers, n_requests);
}

std::unique_ptr<PointJudge> make_vlm_point_judge(VlmBackend& backend, const PromptTemplate& prompt,
                                                 JudgeImages images, ScoreMode mode, AnswerMode answers,
                                                 int* n_requests) {
  return std::make_unique<VlmPointJudge>(backend, prompt, std::move(images), mode, answers, n_requests);
}

std::unique_ptr<ListJudge> make_vlm_list_judge(VlmBackend& backend, const PromptTemplate& prompt,
                                               JudgeImages images, int* n_requests) {
  return std::make_unique<VlmListJudge>(backend, prompt, std::move(images), n_requests);
}

}  // namespace georank
