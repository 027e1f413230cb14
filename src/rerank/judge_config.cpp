#include "georank/rerank/judge_config.hpp"

#include "georank/core/error.hpp"
#include "georank/runtime/runtime.hpp"

namespace georank {

void validate(const JudgeConfig& c) {
  const bool model = !c.llama.model.empty() || !c.llama.mmproj.empty();
  const bool servers = !c.remote.servers.empty();
  if (c.judge == JudgeKind::simulated) {
    if (model || servers)
      throw Error(ErrorKind::invalid_argument, "judge = simulated takes no model, mmproj or servers");
    return;
  }
  if (model && servers)
    throw Error(ErrorKind::invalid_argument, "use either servers or model/mmproj, not both");
  if (!servers && (c.llama.model.empty() || c.llama.mmproj.empty()))
    throw Error(ErrorKind::invalid_argument,
                "rerank needs model and mmproj, or servers (or judge = simulated)");
}

std::unique_ptr<VlmBackend> make_vlm_backend(const JudgeConfig& c) {
  validate(c);
  if (c.judge == JudgeKind::simulated)
    throw Error(ErrorKind::invalid_argument, "the simulated judge is made by georank_fixtures");
  if (!c.remote.servers.empty()) return make_remote_backend(c.remote);
  init_runtime();
  return make_llama_backend(c.llama);
}

nlohmann::json judge_settings_json(const JudgeConfig& c) {
  if (c.judge == JudgeKind::simulated)
    return {{"judge_accuracy", c.judge_accuracy},
            {"position_bias", c.position_bias},
            {"judge_delay_ms", c.judge_delay_ms}};
  return !c.remote.servers.empty() ? config_to_json(c.remote) : config_to_json(c.llama);
}

}  // namespace georank
