#pragma once
// Text-level helpers over llama.cpp's vocabulary and chat templates (no model state).

#include <llama.h>

#include <string>
#include <vector>

#include "georank/vlm/vlm.hpp"

namespace georank::vlm {

/// llama_tokenize with the two-call size protocol. Throws Error(invalid_argument) naming
/// `what` when the vocabulary cannot represent the text (llama.cpp throws for a missing
/// byte-fallback token, or the result holds the unknown token).
std::vector<llama_token> tokenize(const llama_vocab* vocab, const std::string& text, bool add_special,
                                  bool parse_special, const std::string& what);

/// The text of one token as generated output (control tokens render as nothing).
std::string token_piece(const llama_vocab* vocab, llama_token token);

/// A chat template ready to apply: the llama.cpp template argument and its reported name.
struct ChatTemplate {
  std::string tmpl;  ///< passed to llama_chat_apply_template (template text or built-in name)
  std::string name;  ///< e.g. "vicuna" (override) or "model:vicuna" (model's own, recognised as)
};

/// Resolves the template: `override_name` empty means the model's own template, which must
/// exist and match one of llama.cpp's built-ins (never a silent chatml fallback). Throws
/// Error(invalid_argument) otherwise.
ChatTemplate resolve_chat_template(const llama_model* model, const std::string& override_name,
                                   const std::string& model_path);

/// Formats chat messages with the assistant turn opened. Throws Error(invalid_argument).
std::string apply_chat_template(const ChatTemplate& tmpl, const std::vector<ChatMessage>& messages);

}  // namespace georank::vlm
