#pragma once
// The text a scored answer continues. A prompt ending in spaces ("Answer: ") would otherwise
// be scored as a lone space token followed by "A" -- a tokenisation natural text never has,
// so the answer tokens a model actually emits are missed. Both backends score answers as
// continuations of the text before its trailing spaces and tabs instead ("Answer:" then
// " A" or "A"), as language-model evaluation harnesses do. Newlines stay: they are tokens of
// their own and the next word does not merge into them.

#include <string>

namespace georank::vlm {

/// Removes trailing spaces and tabs from `text`; returns how many were removed.
inline std::size_t trim_answer_basis(std::string& text) {
  const auto keep = text.find_last_not_of(" \t");
  const std::size_t n = keep == std::string::npos ? text.size() : text.size() - keep - 1;
  text.resize(text.size() - n);
  return n;
}

}  // namespace georank::vlm
