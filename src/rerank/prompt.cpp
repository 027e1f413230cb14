#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "georank/core/error.hpp"
#include "georank/core/sha256.hpp"
#include "georank/core/utf8.hpp"
#include "georank/rerank/prompt.hpp"
#include "rerank/prompt_builtin.hpp"

namespace georank {
namespace {

const std::vector<std::string> kStrategies = {"pointwise-score", "pointwise-likert",
                                              "pointwise-yesno", "pointwise-yesno-reasoning",
                                              "pairwise",        "listwise"};

// Templates need one level of arrays; the bound keeps a hostile file from exhausting the stack.
constexpr int kMaxArrayDepth = 16;

// A parsed value of the TOML subset: a string, an integer or an array of either.
struct Value {
  enum class Kind { string, integer, array } kind = Kind::string;
  std::string str;
  long long integer = 0;
  std::vector<Value> items;
  int line = 0;
};

class Parser {
 public:
  Parser(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  std::map<std::string, Value> parse() {
    std::map<std::string, Value> out;
    while (true) {
      skip_blank_lines();
      if (pos_ >= text_.size()) break;
      const int key_line = line_;
      std::string key;
      while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) ||
                                     text_[pos_] == '_' || text_[pos_] == '-'))
        key += text_[pos_++];
      if (key.empty()) fail("expected a key");
      skip_spaces();
      if (peek() != '=') fail(fmt::format("expected '=' after key '{}'", key));
      ++pos_;
      skip_spaces();
      Value v = parse_value();
      v.line = key_line;
      skip_spaces();
      if (peek() == '#') skip_to_eol();
      if (pos_ < text_.size() && text_[pos_] != '\n') fail("unexpected text after the value");
      if (!out.emplace(key, std::move(v)).second) fail(fmt::format("duplicate key '{}'", key), key_line);
    }
    return out;
  }

  [[noreturn]] void fail(const std::string& what, int line = 0) const {
    throw Error(ErrorKind::invalid_argument,
                fmt::format("{}:{}: prompt template: {}", source_, line > 0 ? line : line_, what));
  }

 private:
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_spaces() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\r')) ++pos_;
  }
  void skip_to_eol() {
    while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
  }
  void skip_blank_lines() {
    while (pos_ < text_.size()) {
      skip_spaces();
      if (peek() == '#') skip_to_eol();
      if (peek() == '\n') {
        ++pos_;
        ++line_;
        continue;
      }
      break;
    }
  }
  void skip_space_and_newlines() {
    while (pos_ < text_.size()) {
      skip_spaces();
      if (peek() == '#') skip_to_eol();
      if (peek() != '\n') break;
      ++pos_;
      ++line_;
    }
  }

  Value parse_value(int depth = 0) {
    Value v;
    const char c = peek();
    if (text_.substr(pos_, 3) == "\"\"\"") {
      v.str = parse_multiline();
    } else if (c == '"') {
      v.str = parse_basic();
    } else if (c == '[') {
      v.kind = Value::Kind::array;
      if (depth >= kMaxArrayDepth) fail(fmt::format("arrays nested deeper than {} levels", kMaxArrayDepth));
      ++pos_;
      skip_space_and_newlines();
      while (peek() != ']') {
        if (pos_ >= text_.size()) fail("unterminated array");
        v.items.push_back(parse_value(depth + 1));
        skip_space_and_newlines();
        if (peek() == ',') {
          ++pos_;
          skip_space_and_newlines();
        } else if (peek() != ']') {
          fail("expected ',' or ']' in array");
        }
      }
      ++pos_;
    } else if (c == '-' || std::isdigit(static_cast<unsigned char>(c))) {
      v.kind = Value::Kind::integer;
      const char* begin = text_.data() + pos_;
      const auto [end, ec] = std::from_chars(begin, text_.data() + text_.size(), v.integer);
      if (ec != std::errc()) fail("bad integer");
      pos_ += static_cast<std::size_t>(end - begin);
    } else {
      fail("expected a string, an integer or an array");
    }
    return v;
  }

  char escape(char c) {
    switch (c) {
      case 'n': return '\n';
      case 't': return '\t';
      case '"': return '"';
      case '\\': return '\\';
      default: fail(fmt::format("unsupported escape '\\{}'", c));
    }
  }

  std::string parse_basic() {
    ++pos_;
    std::string s;
    while (true) {
      if (pos_ >= text_.size() || text_[pos_] == '\n') fail("unterminated string");
      const char c = text_[pos_++];
      if (c == '"') break;
      if (c == '\\') {
        if (pos_ >= text_.size()) fail("unterminated string");
        s += escape(text_[pos_++]);
      } else {
        s += c;
      }
    }
    return s;
  }

  std::string parse_multiline() {
    pos_ += 3;
    // As in TOML, a newline right after the opening quotes is not part of the string.
    if (peek() == '\n') {
      ++pos_;
      ++line_;
    }
    std::string s;
    while (true) {
      if (pos_ >= text_.size()) fail("unterminated multi-line string");
      if (text_.substr(pos_, 3) == "\"\"\"") {
        pos_ += 3;
        break;
      }
      const char c = text_[pos_++];
      if (c == '\n') ++line_;
      if (c == '\\') {
        if (pos_ >= text_.size()) fail("unterminated string");
        s += escape(text_[pos_++]);
      } else {
        s += c;
      }
    }
    return s;
  }

  std::string_view text_;
  const std::string& source_;
  std::size_t pos_ = 0;
  int line_ = 1;
};

std::string take_string(std::map<std::string, Value>& kv, const char* key, const Parser& p, bool required) {
  const auto it = kv.find(key);
  if (it == kv.end()) {
    if (required) p.fail(fmt::format("missing key '{}'", key), 1);
    return {};
  }
  if (it->second.kind != Value::Kind::string)
    p.fail(fmt::format("'{}' must be a string", key), it->second.line);
  std::string s = std::move(it->second.str);
  kv.erase(it);
  return s;
}

std::vector<std::string> string_array(const Value& v, const char* key, const Parser& p) {
  if (v.kind != Value::Kind::array) p.fail(fmt::format("'{}' must be an array of strings", key), v.line);
  std::vector<std::string> out;
  for (const auto& item : v.items) {
    if (item.kind != Value::Kind::string)
      p.fail(fmt::format("'{}' must be an array of strings", key), v.line);
    out.push_back(item.str);
  }
  return out;
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

}  // namespace

PromptTemplate parse_prompt_template(std::string_view text, const std::string& source) {
  require_utf8(text, source);
  Parser parser(text, source);
  auto kv = parser.parse();
  PromptTemplate t;
  t.source = source;
  t.text = std::string(text);
  t.sha256 = sha256_hex({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
  t.name = take_string(kv, "name", parser, true);
  t.strategy = take_string(kv, "strategy", parser, true);
  if (std::find(kStrategies.begin(), kStrategies.end(), t.strategy) == kStrategies.end())
    parser.fail(fmt::format("unknown strategy '{}'", t.strategy), 1);
  t.system = take_string(kv, "system", parser, false);
  t.user = take_string(kv, "user", parser, true);
  t.prefill = take_string(kv, "prefill", parser, false);
  t.answer_cue = take_string(kv, "answer_cue", parser, false);
  if (kv.count("candidate_line")) t.candidate_line = take_string(kv, "candidate_line", parser, true);
  if (auto it = kv.find("max_tokens"); it != kv.end()) {
    if (it->second.kind != Value::Kind::integer || it->second.integer < 0 || it->second.integer > 8192)
      parser.fail("'max_tokens' must be an integer in 0..8192", it->second.line);
    t.max_tokens = static_cast<int>(it->second.integer);
    kv.erase(it);
  }
  if (auto it = kv.find("stop"); it != kv.end()) {
    t.stop = string_array(it->second, "stop", parser);
    kv.erase(it);
  }
  const bool has_answers = kv.count("answers") > 0;
  const bool has_range = kv.count("answers_range") > 0;
  if (has_answers == has_range) parser.fail("exactly one of 'answers' and 'answers_range' is required", 1);
  if (has_answers) {
    Value& v = kv.at("answers");
    if (v.kind == Value::Kind::string && v.str == "labels") {
      t.answers_are_labels = true;
    } else {
      t.answers = string_array(v, "answers", parser);
      if (t.answers.size() < 2) parser.fail("'answers' needs at least two answers", v.line);
    }
    kv.erase("answers");
  } else {
    const Value& v = kv.at("answers_range");
    long long span = 0;
    if (v.kind != Value::Kind::array || v.items.size() != 2 || v.items[0].kind != Value::Kind::integer ||
        v.items[1].kind != Value::Kind::integer || v.items[0].integer >= v.items[1].integer ||
        __builtin_sub_overflow(v.items[1].integer, v.items[0].integer, &span) || span > 1000)
      parser.fail("'answers_range' must be [lo, hi] with lo < hi and at most 1001 answers", v.line);
    for (long long i = v.items[0].integer; i <= v.items[1].integer; ++i)
      t.answers.push_back(std::to_string(i));
    kv.erase("answers_range");
  }
  if (!kv.empty()) parser.fail(fmt::format("unknown key '{}'", kv.begin()->first), kv.begin()->second.line);
  if ((t.strategy == "listwise") != t.answers_are_labels)
    parser.fail("answers = \"labels\" is required for, and only for, the listwise strategy", 1);
  if (t.strategy == "pairwise" && t.answers.size() != 2)
    parser.fail("pairwise templates need two answers", 1);
  if (t.strategy.starts_with("pointwise-yesno") && t.answers.size() != 2)
    parser.fail("Yes/No templates need two answers (positive first)", 1);
  if (t.strategy == "pointwise-yesno-reasoning" && t.max_tokens == 0)
    parser.fail("the reasoning strategy needs max_tokens > 0", 1);
  if (t.user.find("{query}") == std::string::npos) parser.fail("'user' lacks the {query} placeholder", 1);
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
