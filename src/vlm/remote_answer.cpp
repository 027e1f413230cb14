#include "vlm/remote_answer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <string_view>

namespace georank::remote {
namespace {

using nlohmann::json;

// A count or token id: an integer in 0..INT_MAX. get<int>() on anything else truncates or,
// for an out-of-range float, is undefined; such a value is treated as absent.
std::optional<int> non_negative_int(const json& value, bool allow_integral_float) {
  constexpr auto kMax = std::numeric_limits<int>::max();
  if (value.is_number_unsigned()) {
    const auto v = value.get<std::uint64_t>();
    return v <= static_cast<std::uint64_t>(kMax) ? std::optional<int>(static_cast<int>(v)) : std::nullopt;
  }
  if (value.is_number_integer()) {
    const auto v = value.get<std::int64_t>();
    return v >= 0 && v <= kMax ? std::optional<int>(static_cast<int>(v)) : std::nullopt;
  }
  if (allow_integral_float && value.is_number_float()) {
    const double v = value.get<double>();
    if (v >= 0 && v <= kMax && v == std::floor(v)) return static_cast<int>(v);
  }
  return std::nullopt;
}

int saturating_add(int a, int b) {
  int sum = 0;
  return __builtin_add_overflow(a, b, &sum) ? std::numeric_limits<int>::max() : sum;
}

double clamp_logprob(const json& value) {
  if (!value.is_number()) return kMinLogprob;  // null stands for -inf in nlohmann's dump
  const double v = value.get<double>();
  if (std::isnan(v)) return kMinLogprob;
  return std::max(v, kMinLogprob);
}

std::optional<TokenLogprob> parse_entry(const json& entry) {
  if (!entry.is_object()) return std::nullopt;
  TokenLogprob t;
  if (auto it = entry.find("token"); it != entry.end() && it->is_string()) {
    t.text = it->get<std::string>();
  } else if (auto tok = entry.find("tok_str"); tok != entry.end() && tok->is_string()) {
    t.text = tok->get<std::string>();
  } else {
    return std::nullopt;
  }
  if (auto it = entry.find("logprob"); it != entry.end()) {
    t.logprob = clamp_logprob(*it);
  } else if (auto p = entry.find("prob"); p != entry.end() && p->is_number()) {
    const double prob = p->get<double>();
    t.logprob = prob > 0 ? std::max(std::log(prob), kMinLogprob) : kMinLogprob;
  } else {
    return std::nullopt;
  }
  if (auto it = entry.find("id"); it != entry.end() && it->is_number()) {
    // A token id that is not one (negative, fractional, past int) makes the entry unreadable:
    // truncated, it could match or merge with a different token.
    t.id = non_negative_int(*it, false);
    if (!t.id) return std::nullopt;
  }
  return t;
}

/// The object describing the first generated position, in either dialect.
const json* first_position(const json& body) {
  if (!body.is_object()) return nullptr;
  if (auto choices = body.find("choices");
      choices != body.end() && choices->is_array() && !choices->empty()) {
    const json& c0 = choices->front();
    auto lp = c0.find("logprobs");
    if (lp == c0.end() || !lp->is_object()) return nullptr;
    auto content = lp->find("content");
    if (content == lp->end() || !content->is_array() || content->empty()) return nullptr;
    return &content->front();
  }
  if (auto probs = body.find("completion_probabilities");
      probs != body.end() && probs->is_array() && !probs->empty())
    return &probs->front();
  return nullptr;
}

int json_int(const json& j, const char* key, int fallback = 0) {
  if (auto it = j.find(key); it != j.end()) return non_negative_int(*it, true).value_or(fallback);
  return fallback;
}

double json_double(const json& j, const char* key, double fallback = 0) {
  if (auto it = j.find(key); it != j.end() && it->is_number()) return it->get<double>();
  return fallback;
}

std::string_view strip_leading_space(std::string_view s) {
  static constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // U+2581, SPM's word boundary
  for (;;) {
    if (!s.empty() && s.front() == ' ') {
      s.remove_prefix(1);
    } else if (s.substr(0, kSpmSpace.size()) == kSpmSpace) {
      s.remove_prefix(kSpmSpace.size());
    } else {
      return s;
    }
  }
}

}  // namespace

std::optional<std::vector<TokenLogprob>> first_position_alternatives(const json& body) {
  const json* pos = first_position(body);
  if (pos == nullptr || !pos->is_object()) return std::nullopt;
  const json* list = nullptr;
  for (const char* key : {"top_logprobs", "probs"}) {
    if (auto it = pos->find(key); it != pos->end() && it->is_array()) {
      list = &*it;
      break;
    }
  }
  if (list == nullptr) return std::nullopt;
  std::vector<TokenLogprob> out;
  for (const auto& entry : *list) {
    if (auto t = parse_entry(entry)) out.push_back(std::move(*t));
  }
  // The sampled token is always among the top alternatives, but a top list of size 0 still
  // leaves it as the one shown value.
  if (auto sampled = parse_entry(*pos)) {
    const bool listed = std::any_of(out.begin(), out.end(), [&](const TokenLogprob& t) {
      return (t.id && sampled->id) ? *t.id == *sampled->id : t.text == sampled->text;
    });
    if (!listed) out.push_back(std::move(*sampled));
  }
  if (out.empty()) return std::nullopt;
  return out;
}

std::string check_has_logprobs(const json& body) {
  if (!body.is_object()) return "the answer is not a JSON object";
  if (auto err = body.find("error"); err != body.end()) return "the answer is an error: " + err->dump();
  if (first_position_alternatives(body)) return {};
  return "the answer carries no log-probabilities (does the server support logprobs/top_logprobs?)";
}

ChoiceMatch match_choice(const std::vector<TokenLogprob>& alternatives, const std::string& remaining,
                         bool at_answer_start) {
  const std::string_view want =
      at_answer_start ? strip_leading_space(remaining) : std::string_view(remaining);
  ChoiceMatch out;
  double complete_sum = 0;
  bool any_complete = false;
  std::set<std::string> seen;  // ids (as "#n") or texts already summed
  const TokenLogprob* best_partial = nullptr;
  std::size_t best_partial_len = 0;
  double smallest = std::numeric_limits<double>::infinity();
  for (const auto& alt : alternatives) {
    smallest = std::min(smallest, alt.logprob);
    const std::string_view text =
        at_answer_start ? strip_leading_space(alt.text) : std::string_view(alt.text);
    if (text.empty() || want.empty()) continue;
    if (text == want) {
      const std::string key = alt.id ? fmt::format("#{}", *alt.id) : alt.text;
      if (!seen.insert(key).second) continue;
      complete_sum += std::exp(alt.logprob);
      any_complete = true;
    } else if (text.size() < want.size() && want.substr(0, text.size()) == text) {
      if (best_partial == nullptr || alt.logprob > best_partial->logprob) {
        best_partial = &alt;
        best_partial_len = text.size();
      }
    }
  }
  if (any_complete) {
    out.kind = ChoiceMatch::Kind::complete;
    out.logprob = std::max(std::log(complete_sum), kMinLogprob);
  } else if (best_partial != nullptr) {
    out.kind = ChoiceMatch::Kind::partial;
    out.logprob = best_partial->logprob;
    out.token_text = best_partial->text;
    // Characters of `remaining` covered, counting the leading spaces skipped at the start.
    out.n_consumed = static_cast<std::size_t>(want.data() - remaining.data()) + best_partial_len;
  } else {
    out.kind = ChoiceMatch::Kind::absent;
    out.logprob = alternatives.empty() ? kMinLogprob : smallest;
  }
  return out;
}

AnswerStats answer_stats(const json& body) {
  AnswerStats s;
  if (auto usage = body.find("usage"); usage != body.end() && usage->is_object()) {
    s.n_prompt = json_int(*usage, "prompt_tokens");
    s.n_generated = json_int(*usage, "completion_tokens");
  } else {
    s.n_prompt = json_int(body, "tokens_evaluated");
    s.n_generated = json_int(body, "tokens_predicted");
  }
  s.n_decoded = saturating_add(s.n_prompt, s.n_generated);
  if (auto t = body.find("timings"); t != body.end() && t->is_object()) {
    s.prompt_ms = json_double(*t, "prompt_ms");
    s.predicted_ms = json_double(*t, "predicted_ms");
    if (t->contains("prompt_n"))
      s.n_decoded = saturating_add(json_int(*t, "prompt_n"), json_int(*t, "predicted_n"));
  }
  return s;
}

std::string generated_text(const json& body) {
  if (auto choices = body.find("choices");
      choices != body.end() && choices->is_array() && !choices->empty()) {
    const json& c0 = choices->front();
    if (auto msg = c0.find("message"); msg != c0.end() && msg->is_object()) {
      if (auto content = msg->find("content"); content != msg->end() && content->is_string())
        return content->get<std::string>();
    }
    if (auto text = c0.find("text"); text != c0.end() && text->is_string()) return text->get<std::string>();
  }
  if (auto content = body.find("content"); content != body.end() && content->is_string())
    return content->get<std::string>();
  return {};
}

std::string check_has_text(const json& body) {
  if (!body.is_object()) return "the answer is not a JSON object";
  const bool has = (body.contains("choices") && body["choices"].is_array() && !body["choices"].empty()) ||
                   (body.contains("content") && body["content"].is_string());
  return has ? std::string() : "the answer carries no generated text";
}

}  // namespace georank::remote
