#pragma once
/// Which judge a rerank step uses and its settings: the in-process llama.cpp judge, remote
/// OpenAI-compatible servers, or the SIMULATED judge (tests and dry runs; made by
/// georank_fixtures, which this layer does not link).

#include <memory>

#include "georank/core/config.hpp"
#include "georank/vlm/llama_backend.hpp"
#include "georank/vlm/remote_backend.hpp"

namespace georank {

enum class JudgeKind { vlm, simulated };
inline constexpr EnumName<JudgeKind> kJudgeKindNames[] = {{JudgeKind::vlm, "vlm"},
                                                          {JudgeKind::simulated, "simulated"}};
inline std::span<const EnumName<JudgeKind>> enum_names(JudgeKind) {
  return kJudgeKindNames;
}

/// The judge component's config. Its keys are flat: LlamaConfig's and RemoteConfig's fields
/// sit beside `judge` and the simulated judge's settings (`--model`, `--servers`, ...).
struct JudgeConfig {
  JudgeKind judge = JudgeKind::vlm;
  LlamaConfig llama;            ///< used when `llama.model` is set
  RemoteConfig remote;          ///< used when `remote.servers` is set
  double judge_accuracy = 0.8;  ///< simulated: pairwise accuracy at the mean quality gap
  double position_bias = 0.0;   ///< simulated: pull toward the first image (0..1)
  int judge_delay_ms = 0;       ///< simulated: sleep per judgment (tests)

  template <class Self, class Visit>
  static void fields(Self& c, Visit&& v) {
    v("judge", c.judge, "vlm, or simulated (a SIMULATED judge from the dataset labels, for tests)");
    LlamaConfig::fields(c.llama, v);
    RemoteConfig::fields(c.remote, v);
    v("judge_accuracy", c.judge_accuracy, "Simulated judge: pairwise accuracy");
    v("position_bias", c.position_bias, "Simulated judge: pull toward the first image (0..1)");
    v("judge_delay_ms", c.judge_delay_ms, "Simulated judge: sleep per judgment (tests)");
  }
};

/// Checks that the config names exactly one judge: a model pair, servers, or the simulated
/// judge. Throws Error(invalid_argument) saying what is missing or too much.
void validate(const JudgeConfig& config);

/// The VLM judge the config names (in-process or remote). Throws Error(invalid_argument) for
/// the simulated judge, which only georank_fixtures makes.
std::unique_ptr<VlmBackend> make_vlm_backend(const JudgeConfig& config);

/// What outputs record of the judge's settings: the part of the config in use.
nlohmann::json judge_settings_json(const JudgeConfig& config);

}  // namespace georank
