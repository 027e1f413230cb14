#pragma once
/// The identity of a VLM judge: the model files and every setting that can change the numbers
/// of its answers. Two judges with equal identities answer the same request alike, so the
/// judgment cache keys every judgment on the identity, and every output records it.

#include <string>

#include <nlohmann/json.hpp>

namespace georank {

struct JudgeIdentity {
  std::string backend;        ///< "llama.cpp", "remote" or "simulated"
  std::string model_sha256;   ///< SHA-256 of the text model file (in-process)
  std::string mmproj_sha256;  ///< SHA-256 of the projector file (in-process)
  std::string runtime;        ///< the inference engine's build, e.g. "llama.cpp b11669"
  /// The chat template in use: its name ("model:vicuna", "chatml", "none" without one) and
  /// the SHA-256 of its resolved text (the model's own text, or a built-in's name with its
  /// rendering of a fixed probe conversation; remote: the template the server reports).
  std::string chat_template;
  std::string chat_template_sha256;
  std::string image_preprocessing;  ///< how pixels reach the model, e.g. "rgb8 -> mtmd"
  int flash_attn = -1;              ///< -1 auto, 0 off, 1 on (in-process)
  int n_ctx = 0;                    ///< KV cells (in-process)
  int n_batch = 0;                  ///< logical batch (in-process)
  int n_ubatch = 0;                 ///< physical micro-batch (in-process)
  std::string remote_dialect;       ///< "llama-server" or "openai", resolved (remote)
  int top_logprobs = 0;             ///< alternatives asked per position (remote: bounds the floor)
  std::string server_model;         ///< the model id the server serves (remote)
  std::string server_build;         ///< the server's build or version, as it reports it (remote)
  nlohmann::json settings = nlohmann::json::object();  ///< backend-specific rest (simulated)

  /// All fields, named as above.
  [[nodiscard]] nlohmann::json to_json() const;
  /// SHA-256 of to_json(): equal digests mean equal identities.
  [[nodiscard]] std::string digest() const;
};

}  // namespace georank
