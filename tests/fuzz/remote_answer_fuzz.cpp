// Server answers in both dialects (chat completions and llama-server's /completion): every
// accessor, and closed-set scoring by text and by token id with the body as each position's
// alternatives.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "georank/core/error.hpp"
#include "vlm/remote_answer.hpp"
#include "vlm/remote_scoring.hpp"

namespace remote = georank::remote;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto body = nlohmann::json::parse(data, data + size, nullptr, false);
  if (body.is_discarded()) return 0;
  try {
    (void)remote::check_has_logprobs(body);
    (void)remote::check_has_text(body);
    (void)remote::generated_text(body);
    (void)remote::answer_stats(body);
    const auto alternatives = remote::first_position_alternatives(body);
    if (!alternatives) return 0;
    for (const char* choice : {"A", " Yes", "\xe2\x96\x81No", ""}) {
      (void)remote::match_choice(*alternatives, choice, true);
      (void)remote::match_choice(*alternatives, choice, false);
    }
    const std::vector<std::string> choices = {"A", "B", "Yes", "no"};
    const remote::NextAlternatives next = [&](const std::string&) { return *alternatives; };
    (void)remote::score_by_text(choices, next);
    const remote::Tokenizer tokenize = [](const std::string& text, bool add_special) {
      std::vector<remote::PieceToken> out;
      if (add_special) out.push_back({1, ""});
      for (unsigned char c : text) out.push_back({static_cast<int>(c), std::string(1, static_cast<char>(c))});
      return out;
    };
    (void)remote::score_by_ids(choices, "Answer:", true, tokenize, next);
  } catch (const georank::Error&) {
  }
  return 0;
}
