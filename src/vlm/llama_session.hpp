#pragma once
// The loaded model pair and the decoding machinery of the in-process backend: a prepared
// (tokenised) request, and the evaluation of a group of them over a prefix tree.

#include <llama-cpp.h>
#include <llama.h>
#include <mtmd-helper.h>
#include <mtmd.h>

#include <string>
#include <vector>

#include "georank/vlm/llama_backend.hpp"
#include "vlm/llama_text.hpp"
#include "vlm/prefix_tree.hpp"
#include "vlm/projector_cache.hpp"

namespace georank::vlm {

/// A request after templating and tokenisation.
struct PreparedRequest {
  const VlmRequest* request = nullptr;
  mtmd::input_chunks_ptr chunks;
  std::vector<PromptUnit> units;
  std::string last_text;                      ///< prompt text after the last marker
  std::vector<llama_token> last_text_tokens;  ///< its tokens (the tail of the last chunk)
  bool last_is_first_chunk = false;           ///< the last chunk also starts the prompt (BOS)
  int n_prompt_tokens = 0, n_image_tokens = 0;
  std::string template_name;
  [[nodiscard]] bool decodes() const {
    return !request->choices.empty() || request->generation.max_tokens > 0;
  }
};

/// Owns the model, the contexts and the image cache. One thread at a time.
class LlamaSession {
 public:
  explicit LlamaSession(const LlamaConfig& config);

  PreparedRequest prepare(const VlmRequest& request, int index);
  /// Decodes, generates and scores the requests (all must decode()); fills responses[i] for
  /// group[i]. Clears the KV memory first.
  void run_group(const std::vector<PreparedRequest*>& group, std::vector<VlmResponse*>& responses);

  [[nodiscard]] const JudgeIdentity& identity() const { return identity_; }
  [[nodiscard]] BackendInfo info() const;
  [[nodiscard]] int n_ctx() const { return static_cast<int>(llama_n_ctx(ctx_.get())); }
  [[nodiscard]] const LlamaConfig& config() const { return config_; }

 private:
  struct Leaf;
  // The parts of prepare(): the prompt's text (template, prefill), mtmd's tokenisation with
  // the images, the units to decode, and the checks a scored request must pass.
  std::string prompt_text(const VlmRequest& request, const std::string& where,
                          std::string& template_name) const;
  void tokenize_prompt(PreparedRequest& p, const std::string& prompt, const std::string& where);
  void collect_units(PreparedRequest& p, const std::string& where) const;
  void check_scoring_basis(PreparedRequest& p, const std::string& where) const;
  std::vector<float> image_embedding(const mtmd_input_chunk* chunk, const std::string& key,
                                     double& encode_ms);
  void decode_tree(std::vector<PrefixNode>& nodes, const std::vector<PreparedRequest*>& group,
                   std::vector<Leaf>& leaves, std::vector<VlmResponse*>& responses);
  void generate(std::vector<Leaf>& leaves, const std::vector<PreparedRequest*>& group,
                std::vector<VlmResponse*>& responses);
  void score(std::vector<Leaf>& leaves, const std::vector<PreparedRequest*>& group,
             std::vector<VlmResponse*>& responses);
  void decode_batch(llama_batch& batch, const char* what);
  JudgeIdentity make_identity() const;

  LlamaConfig config_;
  llama_model_ptr model_;
  llama_context_ptr ctx_;
  mtmd::context_ptr mtmd_;
  const llama_vocab* vocab_ = nullptr;
  ChatTemplate template_;
  bool has_template_ = false;
  std::string template_error_;
  JudgeIdentity identity_;
  std::string mmproj_fingerprint_;  ///< keys the image-embedding cache
  ProjectorCache cache_;
  int n_vocab_ = 0, n_embd_inp_ = 0;
};

}  // namespace georank::vlm
