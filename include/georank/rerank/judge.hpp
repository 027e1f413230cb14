#pragma once
/// Judges: the small oracles the rerank strategies are written against. Each has a VLM
/// implementation (make_vlm_*_judge, one VlmBackend::run call per judge() call, so every
/// request of a round is in one batch) and a simulated one (georank/simulation.hpp), so the
/// same strategy code runs with a real model, a remote server or a simulated judge.
/// Candidates are identified by their 0-based index in the retrieval top-K list.

#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "georank/core/config.hpp"
#include "georank/data/image.hpp"
#include "georank/rerank/prompt.hpp"
#include "georank/vlm/image_layout.hpp"
#include "georank/vlm/vlm.hpp"

namespace georank {

/// One pairwise comparison as presented to the judge.
struct PairJudgment {
  int first = -1;             ///< candidate shown first (answer 0, e.g. "A")
  int second = -1;            ///< candidate shown second
  double p_first = 0.5;       ///< P(first matches better | query), renormalised over the answers
  double covered_mass = 1.0;  ///< probability mass the answer set covered
  bool parsed = true;         ///< false: no usable answer; p_first is then 0.5
  std::string text;           ///< generated answer (generate-json mode), else empty
};

/// Compares ordered pairs. One call is one round: all presented pairs go to the judge at once.
class PairJudge {
 public:
  virtual ~PairJudge() = default;
  virtual std::vector<PairJudgment> judge(std::span<const std::pair<int, int>> presented) = 0;
};

/// One pointwise judgment of a candidate.
struct PointJudgment {
  int candidate = -1;
  double score = 0;           ///< on the answer scale (0-100, 1-5, P(Yes)); NaN when unparsed
  double normalized = 0;      ///< score mapped to [0, 1] (NaN when unparsed)
  std::vector<double> probs;  ///< distribution over the answer set (empty when read from text)
  double covered_mass = 1.0;
  std::string text;  ///< generated text (reasoning, or the parsed answer)
  bool parsed = true;
};

/// Scores candidates one at a time; one call scores all given candidates in one batch.
class PointJudge {
 public:
  virtual ~PointJudge() = default;
  virtual std::vector<PointJudgment> judge(std::span<const int> candidates) = 0;
};

/// One listwise judgment: the distribution over a window's candidates.
struct ListJudgment {
  std::vector<int> window;    ///< candidates in label order (label i+1 = window[i])
  std::vector<double> probs;  ///< P(window[i] is the match), sums to 1 (uniform when unparsed)
  double covered_mass = 1.0;
  bool parsed = true;
};

class ListJudge {
 public:
  virtual ~ListJudge() = default;
  virtual ListJudgment judge(std::span<const int> window) = 0;
  /// Several windows in one round (a VLM judge sends them in one batch); by default one by one.
  virtual std::vector<ListJudgment> judge_all(std::span<const std::vector<int>> windows) {
    std::vector<ListJudgment> out;
    for (const auto& w : windows) out.push_back(judge(w));
    return out;
  }
};

/// How a direct-score template is read: the expected value over the closed answer set
/// ("0".."100"), or the first integer of a short generated answer. `expected` falls back to
/// `text` when the backend cannot score the answer set (Error(invalid_argument)), but not
/// when a request does not fit the context (ContextTooSmall, rethrown).
enum class ScoreMode { expected, text };
inline constexpr EnumName<ScoreMode> kScoreModeNames[] = {{ScoreMode::expected, "expected"},
                                                          {ScoreMode::text, "text"}};
inline std::span<const EnumName<ScoreMode>> enum_names(ScoreMode) {
  return kScoreModeNames;
}

/// How a VLM judge reads its answer: the probabilities of the closed answer set (no sampling),
/// or a generated JSON object's field (the reference paper's protocol: {"preference": 1|2},
/// {"score": 0-100}; the field is the template's `json_field`), whose value must name an
/// answer of the set or, for numeric scales, be a number. A text without a usable object is
/// an unparsed judgment (pairwise: P(first) = 0.5, so a selection keeps its current best).
enum class AnswerMode { logprob, generate_json };
inline constexpr EnumName<AnswerMode> kAnswerModeNames[] = {{AnswerMode::logprob, "logprob"},
                                                            {AnswerMode::generate_json, "generate-json"}};
inline std::span<const EnumName<AnswerMode>> enum_names(AnswerMode) {
  return kAnswerModeNames;
}

/// The images a VLM judge shows: the query and the top-K candidate tiles (index = candidate),
/// and how a request presents them (separate images or one composite canvas).
struct JudgeImages {
  std::shared_ptr<const Image> query;
  std::vector<std::shared_ptr<const Image>> candidates;
  ImageLayoutConfig layout;
};

/// VLM judges. They keep references to `backend` and `prompt` (which must outlive them) and
/// count the requests they send (`n_requests`). Not thread-safe.
std::unique_ptr<PairJudge> make_vlm_pair_judge(VlmBackend& backend, const PromptTemplate& prompt,
                                               JudgeImages images, AnswerMode answers = AnswerMode::logprob,
                                               int* n_requests = nullptr);
std::unique_ptr<PointJudge> make_vlm_point_judge(VlmBackend& backend, const PromptTemplate& prompt,
                                                 JudgeImages images, ScoreMode mode = ScoreMode::expected,
                                                 AnswerMode answers = AnswerMode::logprob,
                                                 int* n_requests = nullptr);
std::unique_ptr<ListJudge> make_vlm_list_judge(VlmBackend& backend, const PromptTemplate& prompt,
                                               JudgeImages images, int* n_requests = nullptr);

}  // namespace georank
