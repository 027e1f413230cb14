#pragma once
// Reading the answers of OpenAI-compatible servers (chat completions and llama-server's
// /completion): log-probabilities, generated text, token counts and timings; matching
// closed-set choices against token texts. Pure functions (no I/O).

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace georank::remote {

/// Server log-probabilities are clamped to this floor (-FLT_MAX, -inf sent as null).
inline constexpr double kMinLogprob = -1e4;

/// One alternative at an answer position.
struct TokenLogprob {
  std::string text;       ///< decoded token text, e.g. " A"
  double logprob = 0;     ///< natural log, clamped to >= kMinLogprob
  std::optional<int> id;  ///< token id when the server sends it (llama-server does)
};

/// The alternatives at the first generated position of an answer: the `top_logprobs` of
/// `/v1/chat/completions` (`choices[0].logprobs.content[0]`) or of llama-server's
/// `/completion` (`completion_probabilities[0]`, `top_logprobs` or the older `probs` with
/// probabilities), plus the sampled token itself. Empty optional when the body carries none.
std::optional<std::vector<TokenLogprob>> first_position_alternatives(const nlohmann::json& body);

/// "" when `body` holds alternatives for the first position, else what is missing.
std::string check_has_logprobs(const nlohmann::json& body);

/// How a choice's remaining text relates to the alternatives at one position.
struct ChoiceMatch {
  enum class Kind {
    complete,  ///< tokens equal to the remaining text: `logprob` is their summed probability
    partial,   ///< best token that is a proper prefix of it: continue after `token_text`
    absent,    ///< neither: `logprob` is the smallest one shown (an upper bound)
  };
  Kind kind = Kind::absent;
  double logprob = 0;
  std::string token_text;      ///< partial: the token's text as the server printed it
  std::size_t n_consumed = 0;  ///< partial: characters of the remaining text it covers
};

/// Matches `remaining` (the part of a choice not yet scored) against `alternatives`. At the
/// start of the answer, leading spaces (and SPM's U+2581) of both are ignored, so "A", " A"
/// and "▁A" all mean "A"; equal matches with distinct ids (or texts) are summed.
ChoiceMatch match_choice(const std::vector<TokenLogprob>& alternatives, const std::string& remaining,
                         bool at_answer_start);

/// Token counts and server timings of one answer, in either dialect.
struct AnswerStats {
  int n_prompt = 0;
  int n_generated = 0;
  int n_decoded = 0;  ///< prompt tokens the server evaluated (after its prompt cache) + generated
  double prompt_ms = 0;
  double predicted_ms = 0;
};
AnswerStats answer_stats(const nlohmann::json& body);

/// The generated text of a chat completion (`message.content`), a completion (`text`) or a
/// llama-server /completion answer (`content`); empty when absent.
std::string generated_text(const nlohmann::json& body);

/// "" when `body` carries generated text, else what is missing.
std::string check_has_text(const nlohmann::json& body);

}  // namespace georank::remote
