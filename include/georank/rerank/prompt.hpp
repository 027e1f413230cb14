#pragma once
/// Prompt templates of the rerank strategies. The built-in templates are the files
/// `prompts/<name>.toml` of the source tree, compiled in; a user file of the same format
/// overrides them. Every output records the template's name, exact text and SHA-256.
///
/// File format (a small TOML subset): `key = "string"`, `key = """multi-line string"""`,
/// `key = ["a", "b"]`, `key = [lo, hi]` (answers_range), `key = 96`, `# comments`. Keys:
///   name, strategy (pointwise-score | pointwise-likert | pointwise-yesno |
///   pointwise-yesno-reasoning | pairwise | listwise), system, user, answers (an array, or
///   "labels" for listwise), answers_range ([lo, hi]: the integers lo..hi), prefill,
///   answer_cue, max_tokens, stop, candidate_line (listwise), json_field (generate-json).
/// Placeholders in `user`: {query} (the ground image), {candidate} (pointwise), {first} and
/// {second} (pairwise), {candidates} (listwise: one `candidate_line` per candidate, joined by
/// newlines, where {label} is 1..n and {image} the tile), {n}, {labels} ("1, 2, 3").
/// Each image placeholder becomes one kMediaMarker; images follow the markers' order.

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "georank/data/image.hpp"
#include "georank/vlm/image_layout.hpp"
#include "georank/vlm/vlm.hpp"

namespace georank {

struct PromptTemplate {
  std::string name;
  std::string strategy;              ///< the strategy the template is written for
  std::string source;                ///< "builtin:<file>" or the user file's path
  std::string text;                  ///< the exact file text
  std::string sha256;                ///< lower-case hex SHA-256 of `text`
  std::string system;                ///< system message (empty: none)
  std::string user;                  ///< user message with placeholders
  std::vector<std::string> answers;  ///< closed answer set (empty when answers_are_labels)
  bool answers_are_labels = false;   ///< listwise: the answer set is the labels "1".."n"
  std::string prefill;               ///< assistant prefill
  std::string answer_cue;            ///< text between generated reasoning and the answer
  int max_tokens = 0;                ///< reasoning budget (0: score the answer directly)
  std::vector<std::string> stop;     ///< stop strings of the reasoning
  std::string candidate_line = "Tile {label}: {image}";  ///< listwise line per candidate
  /// generate-json answers: the field holding the answer ("preference" for pairwise,
  /// "score" otherwise, unless the template says).
  std::string json_field;
};

/// Parses template text; `source` names it in errors and in `PromptTemplate::source`.
/// Throws Error(invalid_argument) naming source:line for malformed text or missing keys.
PromptTemplate parse_prompt_template(std::string_view text, const std::string& source);
/// Reads and parses a template file. Throws Error(not_found / io / invalid_argument).
PromptTemplate load_prompt_template(const std::string& path);
/// A built-in template by name ("pairwise", "pointwise-yesno", ...). Throws
/// Error(not_found) listing the names.
PromptTemplate builtin_prompt_template(const std::string& name);
/// Names of the built-in templates, sorted.
std::vector<std::string> builtin_prompt_names();
/// `spec` is a built-in name or a path to a template file (anything with '/' or ".toml").
PromptTemplate resolve_prompt_template(const std::string& spec);

/// Builds the request for one judgment: `query` first, then `candidates` in the
/// placeholders' order, with the template's answer set (listwise: "1".."n"), prefill,
/// reasoning budget and cue. Throws Error(invalid_argument) when the number of candidates
/// does not fit the template's strategy (1 pointwise, 2 pairwise, >= 1 listwise). The images
/// are presented in `layout` (apply_image_layout), so every backend gets the same pixels.
VlmRequest render_prompt(const PromptTemplate& prompt, std::shared_ptr<const Image> query,
                         std::span<const std::shared_ptr<const Image>> candidates,
                         const ImageLayoutConfig& layout = {});

/// {"name","strategy","source","sha256","text"}: what outputs record about a template.
nlohmann::json prompt_record(const PromptTemplate& prompt);

}  // namespace georank
