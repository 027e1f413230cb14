#pragma once
/// The VLM judge interface: requests with ordered images, a prompt and either a closed
/// answer set (scored by log-probabilities, no sampling) or a generation budget.

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "georank/data/image.hpp"
#include "georank/vlm/judge_identity.hpp"

namespace georank {

/// The marker that stands for the next image in prompts (llama.cpp's default).
inline constexpr const char* kMediaMarker = "<__media__>";

struct ChatMessage {
  std::string role;     ///< "system", "user" or "assistant"
  std::string content;  ///< text; each kMediaMarker takes the request's next image, in order
};

struct GenerationParams {
  int max_tokens = 0;             ///< 0: no generation (closed-set scoring only)
  std::vector<std::string> stop;  ///< stop strings (not included in the text)
  float temperature = 0.0f;       ///< 0: greedy
  std::uint32_t seed = 0;         ///< sampling seed when temperature > 0
};

struct VlmRequest {
  std::vector<std::shared_ptr<const Image>> images;  ///< in marker order
  /// Chat form: formatted with the model's chat template (or the override) and ended with the
  /// assistant turn's opening.
  std::vector<ChatMessage> messages;
  /// Raw form (used when set): the text as is, no chat template, markers take the images.
  std::optional<std::string> raw_prompt;
  /// Text placed at the start of the assistant's answer before scoring/generation.
  std::string assistant_prefill;
  /// Closed answer set, e.g. {"A","B"} or {"Yes","No"} or {"1",...,"5"}. Scored after the
  /// prompt (+ prefill + generated text when generating). Empty: generation only.
  std::vector<std::string> choices;
  /// Generation before scoring (reasoning strategies). max_tokens == 0: none.
  GenerationParams generation;
  /// When generating then scoring: text inserted between the generated text and the answer
  /// (e.g. "\nAnswer:").
  std::string answer_cue;
};

struct VlmTimings {
  double encode_ms = 0;    ///< image encoding (0 when cached)
  double prompt_ms = 0;    ///< prompt decoding (text + image embeddings)
  double generate_ms = 0;  ///< generation
  double score_ms = 0;     ///< closed-set scoring
};

struct VlmResponse {
  std::vector<double> logprobs;  ///< raw log-probability of each choice, same order as choices
  std::vector<double> probs;     ///< renormalised over the choices (sum to 1)
  double covered_mass = 0;       ///< sum of exp(logprobs): mass the answer set covers
  std::string text;              ///< generated text (empty without generation)
  int n_prompt_tokens = 0;       ///< text + image tokens of the prompt
  int n_image_tokens = 0;        ///< -1: unknown (OpenAI-compatible servers do not report it)
  int n_generated_tokens = 0;
  int n_decoded_tokens = 0;   ///< tokens this request actually decoded (after sharing)
  std::string template_name;  ///< chat template used ("raw" for raw prompts)
  /// Remote backend only (empty otherwise): true where the choice was not among the server's
  /// top log-probabilities, so its logprob is the smallest one shown (an upper bound).
  std::vector<bool> choice_not_in_top;
  VlmTimings timings;
};

/// A VLM judge. Implementations: in-process llama.cpp (make_llama_backend) and
/// OpenAI-compatible HTTP (make_remote_backend). Not thread-safe: use one per thread.
/// What a backend says about itself, for people and for output notes.
struct BackendInfo {
  std::string model;       ///< the text model file (in-process) or the served model id (remote)
  std::string model_name;  ///< the model's own name (GGUF general.name), empty when unknown
  /// The model declares random weights (a georank fixture): its answers mean nothing.
  bool random_weights = false;
};

class VlmBackend {
 public:
  virtual ~VlmBackend() = default;
  /// Runs a batch. The backend may reorder execution (to share prefixes) but returns the
  /// responses in request order. Throws Error(backend/timeout) when the judge fails; an
  /// unparsable answer is data (empty/NaN fields), not an exception.
  virtual std::vector<VlmResponse> run(std::span<const VlmRequest> requests) = 0;
  /// The model and every setting that changes the numbers of the answers: the judgment
  /// cache's key and what outputs record. A remote backend asks its server on the first call.
  [[nodiscard]] virtual JudgeIdentity identity() const = 0;
  /// "llama.cpp" / "remote" / "simulated".
  [[nodiscard]] virtual std::string name() const = 0;
  /// The model it runs, as far as it knows without another request.
  [[nodiscard]] virtual BackendInfo info() const { return {}; }
};

}  // namespace georank
