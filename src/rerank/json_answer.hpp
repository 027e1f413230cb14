#pragma once
// Answers generated as JSON (the reference paper's protocol: {"preference": 1|2},
// {"score": 0-100}): the field's value from a model's text, whatever surrounds the object.

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace georank {

/// Tokens a JSON answer may take (the reference code's max_new_tokens).
inline constexpr int kJsonAnswerTokens = 128;

/// The value of `field` in the first JSON object of `text` (from its first '{' to the '}'
/// closing it; Markdown fences and prose around it are ignored), or nullopt when there is no
/// parsable object or it lacks the field (objects are tried in order, at most 32, within the
/// first 64 KiB). Never throws.
std::optional<nlohmann::json> json_answer_field(std::string_view text, const std::string& field);

/// A value as a number: a JSON number, or a string holding only one ("2", " 87 ").
std::optional<double> json_answer_number(const nlohmann::json& value);

}  // namespace georank
