#include "georank/vlm/judge_identity.hpp"

#include <cstdint>
#include <span>

#include "georank/core/sha256.hpp"
#include "georank/data/image.hpp"

namespace georank {

nlohmann::json JudgeIdentity::to_json() const {
  return {{"backend", backend},
          {"model_sha256", model_sha256},
          {"mmproj_sha256", mmproj_sha256},
          {"runtime", runtime},
          {"chat_template", chat_template},
          {"chat_template_sha256", chat_template_sha256},
          {"image_preprocessing", image_preprocessing},
          {"flash_attn", flash_attn},
          {"n_ctx", n_ctx},
          {"n_batch", n_batch},
          {"n_ubatch", n_ubatch},
          {"remote_dialect", remote_dialect},
          {"top_logprobs", top_logprobs},
          {"server_model", server_model},
          {"server_build", server_build},
          {"settings", settings}};
}

std::string JudgeIdentity::digest() const {
  const std::string text = to_json().dump();  // nlohmann orders object keys: a stable text
  return sha256_hex(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

}  // namespace georank
