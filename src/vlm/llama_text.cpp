#include "vlm/llama_text.hpp"

#include <exception>

#include "georank/core/error.hpp"

namespace georank::vlm {

std::vector<llama_token> tokenize(const llama_vocab* vocab, const std::string& text, bool add_special,
                                  bool parse_special, const std::string& what) {
  std::vector<llama_token> tokens(text.size() + 8);
  try {
    int32_t n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
                               static_cast<int32_t>(tokens.size()), add_special, parse_special);
    if (n < 0) {
      tokens.resize(static_cast<std::size_t>(-n));
      n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
                         static_cast<int32_t>(tokens.size()), add_special, parse_special);
    }
    if (n < 0) throw Error(ErrorKind::backend, "llama_tokenize failed for " + what);
    tokens.resize(static_cast<std::size_t>(n));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    // SentencePiece vocabularies without a byte token for some byte throw from inside
    // llama.cpp; the text simply cannot be represented.
    throw Error(ErrorKind::invalid_argument,
                what + " cannot be represented by the model's vocabulary (" + e.what() + ")");
  }
  for (llama_token t : tokens)
    if (llama_vocab_get_attr(vocab, t) & LLAMA_TOKEN_ATTR_UNKNOWN)
      throw Error(ErrorKind::invalid_argument,
                  what + " cannot be represented by the model's vocabulary (unknown token)");
  return tokens;
}

std::string token_piece(const llama_vocab* vocab, llama_token token) {
  char buf[256];
  const int32_t n = llama_token_to_piece(vocab, token, buf, sizeof buf, 0, false);
  if (n < 0) {
    std::string big(static_cast<std::size_t>(-n), '\0');
    const int32_t m = llama_token_to_piece(vocab, token, big.data(), -n, 0, false);
    big.resize(static_cast<std::size_t>(m < 0 ? 0 : m));
    return big;
  }
  return std::string(buf, static_cast<std::size_t>(n));
}

namespace {

int32_t apply_raw(const char* tmpl, const std::vector<ChatMessage>& messages, std::string& out) {
  std::vector<llama_chat_message> msgs;
  msgs.reserve(messages.size());
  for (const auto& m : messages) msgs.push_back({m.role.c_str(), m.content.c_str()});
  const bool add_assistant = messages.empty() || messages.back().role != "assistant";
  out.assign(1024, '\0');
  int32_t n = llama_chat_apply_template(tmpl, msgs.data(), msgs.size(), add_assistant, out.data(),
                                        static_cast<int32_t>(out.size()));
  if (n > static_cast<int32_t>(out.size())) {
    out.assign(static_cast<std::size_t>(n), '\0');
    n = llama_chat_apply_template(tmpl, msgs.data(), msgs.size(), add_assistant, out.data(),
                                  static_cast<int32_t>(out.size()));
  }
  out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  return n;
}

std::vector<std::string> builtin_names() {
  const int32_t n = llama_chat_builtin_templates(nullptr, 0);
  std::vector<const char*> names(static_cast<std::size_t>(n > 0 ? n : 0));
  llama_chat_builtin_templates(names.data(), names.size());
  return {names.begin(), names.end()};
}

}  // namespace

ChatTemplate resolve_chat_template(const llama_model* model, const std::string& override_name,
                                   const std::string& model_path) {
  const std::vector<std::string> names = builtin_names();
  if (!override_name.empty()) {
    for (const auto& n : names)
      if (n == override_name) return {override_name, override_name};
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    throw Error(ErrorKind::invalid_argument,
                "unknown chat template '" + override_name + "' (llama.cpp built-ins: " + list + ")");
  }
  const char* own = llama_model_chat_template(model, nullptr);
  if (own == nullptr)
    throw Error(ErrorKind::invalid_argument,
                model_path + " has no tokenizer.chat_template; pass a template name or use a raw prompt");
  // llama.cpp matches template text against its built-ins without saying which one it picked;
  // formatting a probe conversation with each built-in recovers the name we report.
  const std::vector<ChatMessage> probe = {
      {"system", "S1"}, {"user", "U1"}, {"assistant", "A1"}, {"user", "U2"}};
  std::string expected;
  if (apply_raw(own, probe, expected) < 0)
    throw Error(ErrorKind::invalid_argument, "the chat template in " + model_path +
                                                 " is not one llama.cpp recognises; pass a template name");
  for (const auto& n : names) {
    std::string got;
    if (apply_raw(n.c_str(), probe, got) >= 0 && got == expected) return {own, "model:" + n};
  }
  return {own, "model:unknown"};
}

std::string apply_chat_template(const ChatTemplate& tmpl, const std::vector<ChatMessage>& messages) {
  std::string out;
  if (apply_raw(tmpl.tmpl.c_str(), messages, out) < 0)
    throw Error(ErrorKind::invalid_argument,
                "chat template '" + tmpl.name + "' cannot format these messages");
  return out;
}

}  // namespace georank::vlm
