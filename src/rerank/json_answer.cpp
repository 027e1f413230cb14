#include "rerank/json_answer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace georank {

std::optional<nlohmann::json> json_answer_field(std::string_view text, const std::string& field) {
  // A generated answer is short: bounded work on hostile text (each attempt scans once).
  text = text.substr(0, std::min<std::size_t>(text.size(), 1 << 16));
  int attempts = 0;
  for (std::size_t open = text.find('{'); open != std::string_view::npos && attempts < 32;
       open = text.find('{', open + 1), ++attempts) {
    // The matching brace, skipping braces inside strings.
    int depth = 0;
    bool in_string = false, escaped = false;
    for (std::size_t i = open; i < text.size(); ++i) {
      const char c = text[i];
      if (in_string) {
        if (escaped)
          escaped = false;
        else if (c == '\\')
          escaped = true;
        else if (c == '"')
          in_string = false;
        continue;
      }
      if (c == '"') in_string = true;
      if (c == '{') ++depth;
      if (c == '}' && --depth == 0) {
        const nlohmann::json j = nlohmann::json::parse(text.substr(open, i + 1 - open), nullptr, false);
        if (j.is_object() && j.contains(field)) return j.at(field);
        break;
      }
    }
  }
  return std::nullopt;
}

std::optional<double> json_answer_number(const nlohmann::json& value) {
  if (value.is_number()) {
    const double v = value.get<double>();
    return std::isfinite(v) ? std::optional(v) : std::nullopt;
  }
  if (!value.is_string()) return std::nullopt;
  const std::string& s = value.get_ref<const std::string&>();
  const char* begin = s.c_str();
  char* end = nullptr;
  const double v = std::strtod(begin, &end);
  if (end == begin) return std::nullopt;
  while (*end == ' ' || *end == '\t') ++end;
  if (*end != '\0' || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace georank
