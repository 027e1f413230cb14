#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "georank/core/error.hpp"
#include "georank/core/sha256.hpp"
#include "georank/core/toml.hpp"
#include "georank/core/utf8.hpp"
#include "georank/rerank/prompt.hpp"
#include "rerank/prompt_builtin.hpp"

namespace georank {
namespace {

const std::vector<std::string> kStrategies = {"pointwise-score", "pointwise-likert",
                                              "pointwise-yesno", "pointwise-yesno-reasoning",
                                              "pairwise",        "listwise"};

// The keys a template may have, with the line of each for messages.
class TemplateFields {
 public:
  explicit TemplateFields(TomlDocument doc) : doc_(std::move(doc)) {}

  [[noreturn]] void fail(const std::string& what, const std::string& key = "") const {
    throw Error(ErrorKind::invalid_argument,
                fmt::format("{}:{}: prompt template: {}", doc_.source, std::max(1, doc_.line_of(key)), what));
  }
  [[nodiscard]] bool has(const char* key) const { return doc_.value.contains(key); }
  [[nodiscard]] const nlohmann::json& at(const char* key) {
    seen_.insert(key);
    return doc_.value.at(key);
  }
  std::string string(const char* key, bool required) {
    if (!has(key)) {
      if (required) fail(fmt::format("missing key '{}'", key));
      return {};
    }
    const auto& v = at(key);
    if (!v.is_string()) fail(fmt::format("'{}' must be a string", key), key);
    return v.get<std::string>();
  }
  std::vector<std::string> strings(const char* key) {
    const auto& v = at(key);
    if (!v.is_array()) fail(fmt::format("'{}' must be an array of strings", key), key);
    std::vector<std::string> out;
    for (const auto& item : v) {
      if (!item.is_string()) fail(fmt::format("'{}' must be an array of strings", key), key);
      out.push_back(item.get<std::string>());
    }
    return out;
  }
  /// The first key no accessor asked for, empty when there is none.
  [[nodiscard]] std::string unknown_key() const {
    for (const auto& [key, value] : doc_.value.items())
      if (!seen_.contains(key)) return key;
    return {};
  }

 private:
  TomlDocument doc_;
  std::set<std::string> seen_;
};

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

}  // namespace

PromptTemplate parse_prompt_template(std::string_view text, const std::string& source) {
  TemplateFields f(parse_toml(text, source));
  PromptTemplate t;
  t.source = source;
  t.text = std::string(text);
  t.sha256 = sha256_hex({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
  t.name = f.string("name", true);
  t.strategy = f.string("strategy", true);
  if (std::find(kStrategies.begin(), kStrategies.end(), t.strategy) == kStrategies.end())
    f.fail(fmt::format("unknown strategy '{}'", t.strategy), "strategy");
  t.system = f.string("system", false);
  t.user = f.string("user", true);
  t.prefill = f.string("prefill", false);
  t.answer_cue = f.string("answer_cue", false);
  if (f.has("candidate_line")) t.candidate_line = f.string("candidate_line", true);
  t.json_field = f.string("json_field", false);
  if (t.json_field.empty()) t.json_field = t.strategy == "pairwise" ? "preference" : "score";
  if (f.has("max_tokens")) {
    const auto& v = f.at("max_tokens");
    if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > 8192)
      f.fail("'max_tokens' must be an integer in 0..8192", "max_tokens");
    t.max_tokens = v.get<int>();
  }
  if (f.has("stop")) t.stop = f.strings("stop");
  const bool has_answers = f.has("answers");
  if (has_answers == f.has("answers_range"))
    f.fail("exactly one of 'answers' and 'answers_range' is required");
  if (has_answers) {
    const auto& v = f.at("answers");
    if (v.is_string() && v.get<std::string>() == "labels") {
      t.answers_are_labels = true;
    } else {
      t.answers = f.strings("answers");
      if (t.answers.size() < 2) f.fail("'answers' needs at least two answers", "answers");
    }
  } else {
    const auto& v = f.at("answers_range");
    std::int64_t span = 0;
    if (!v.is_array() || v.size() != 2 || !v[0].is_number_integer() || !v[1].is_number_integer() ||
        v[0].get<std::int64_t>() >= v[1].get<std::int64_t>() ||
        __builtin_sub_overflow(v[1].get<std::int64_t>(), v[0].get<std::int64_t>(), &span) || span > 1000)
      f.fail("'answers_range' must be [lo, hi] with lo < hi and at most 1001 answers", "answers_range");
    for (std::int64_t i = v[0].get<std::int64_t>(); i <= v[1].get<std::int64_t>(); ++i)
      t.answers.push_back(std::to_string(i));
  }
  if (const std::string key = f.unknown_key(); !key.empty())
    f.fail(fmt::format("unknown key '{}'", key), key);
  if ((t.strategy == "listwise") != t.answers_are_labels)
    f.fail("answers = \"labels\" is required for, and only for, the listwise strategy");
  if (t.strategy == "pairwise" && t.answers.size() != 2) f.fail("pairwise templates need two answers");
  if (t.strategy.starts_with("pointwise-yesno") && t.answers.size() != 2)
    f.fail("Yes/No templates need two answers (positive first)");
  if (t.strategy == "pointwise-yesno-reasoning" && t.max_tokens == 0)
    f.fail("the reasoning strategy needs max_tokens > 0");
  if (t.user.find("{query}") == std::string::npos) f.fail("'user' lacks the {query} placeholder");
  return t;
}

PromptTemplate load_prompt_template(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::not_found, fmt::format("prompt template not found: {}", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(ErrorKind::io, fmt::format("cannot read prompt template {}", path));
  return parse_prompt_template(ss.str(), path);
}

std::vector<std::string> builtin_prompt_names() {
  std::vector<std::string> names;
  for (const auto& f : builtin_prompt_files()) {
    std::string n = f.file;
    names.push_back(n.substr(0, n.size() - std::string_view(".toml").size()));
  }
  std::sort(names.begin(), names.end());
  return names;
}

PromptTemplate builtin_prompt_template(const std::string& name) {
  for (const auto& f : builtin_prompt_files())
    if (std::string(f.file) == name + ".toml")
      return parse_prompt_template(f.text, std::string("builtin:") + f.file);
  std::string known;
  for (const auto& n : builtin_prompt_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error(ErrorKind::not_found, fmt::format("no built-in prompt template '{}' (known: {})", name, known));
}

PromptTemplate resolve_prompt_template(const std::string& spec) {
  if (spec.find('/') != std::string::npos || spec.ends_with(".toml")) return load_prompt_template(spec);
  return builtin_prompt_template(spec);
}

VlmRequest render_prompt(const PromptTemplate& prompt, std::shared_ptr<const Image> query,
                         std::span<const std::shared_ptr<const Image>> candidates,
                         const ImageLayoutConfig& layout) {
  const std::size_t n = candidates.size();
  const bool pointwise = prompt.strategy.starts_with("pointwise");
  if ((pointwise && n != 1) || (prompt.strategy == "pairwise" && n != 2) || n == 0)
    throw Error(ErrorKind::invalid_argument,
                fmt::format("prompt template '{}' ({}) cannot take {} candidate images", prompt.name,
                            prompt.strategy, n));
  std::string labels;
  std::string lines;
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0) {
      labels += ", ";
      lines += "\n";
    }
    labels += std::to_string(i + 1);
    const std::string line = replace_all(prompt.candidate_line, "{label}", std::to_string(i + 1));
    lines += replace_all(line, "{image}", fmt::format("{{cand:{}}}", i));
  }
  std::string user = prompt.user;
  user = replace_all(user, "{candidates}", lines);
  user = replace_all(user, "{candidate}", "{cand:0}");
  user = replace_all(user, "{first}", "{cand:0}");
  user = replace_all(user, "{second}", "{cand:1}");
  user = replace_all(user, "{n}", std::to_string(n));
  user = replace_all(user, "{labels}", labels);

  // Replace the image placeholders left to right so that images follow the markers' order.
  VlmRequest req;
  std::string out;
  std::size_t at = 0;
  while (true) {
    const std::size_t open = user.find('{', at);
    if (open == std::string::npos) break;
    const std::size_t close = user.find('}', open);
    if (close == std::string::npos) break;
    const std::string token = user.substr(open + 1, close - open - 1);
    if (token == "query") {
      req.images.push_back(query);
    } else if (token.starts_with("cand:")) {
      // A user's template text may spell "{cand:N}" itself: N is checked, not trusted.
      std::size_t i = 0;
      const char* digits = token.data() + 5;
      const char* digits_end = token.data() + token.size();
      const auto [end, ec] = std::from_chars(digits, digits_end, i);
      if (ec != std::errc() || end != digits_end || i >= n)
        throw Error(
            ErrorKind::invalid_argument,
            fmt::format(
                "{}: prompt template '{}': placeholder {{{}}} names no candidate image (there are {})",
                prompt.source, prompt.name, token, n));
      req.images.push_back(candidates[i]);
    } else {
      out += user.substr(at, close + 1 - at);
      at = close + 1;
      continue;
    }
    out += user.substr(at, open - at);
    out += kMediaMarker;
    at = close + 1;
  }
  out += user.substr(at);
  if (!prompt.system.empty()) req.messages.push_back({"system", prompt.system});
  req.messages.push_back({"user", out});
  req.assistant_prefill = prompt.prefill;
  if (prompt.answers_are_labels) {
    for (std::size_t i = 0; i < n; ++i) req.choices.push_back(std::to_string(i + 1));
  } else {
    req.choices = prompt.answers;
  }
  req.generation.max_tokens = prompt.max_tokens;
  req.generation.stop = prompt.stop;
  req.answer_cue = prompt.answer_cue;
  return apply_image_layout(std::move(req), layout);
}

nlohmann::json prompt_record(const PromptTemplate& prompt) {
  return {{"name", prompt.name},
          {"strategy", prompt.strategy},
          {"source", prompt.source},
          {"sha256", prompt.sha256},
          {"text", prompt.text}};
}

}  // namespace georank
