// georank score: how a VLM judges one case (images + prompt + closed answer set), with the
// in-process backend or an OpenAI-compatible server. The tool for comparing the two.

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "commands.hpp"
#include "common_flags.hpp"
#include "config_flags.hpp"
#include "georank/core/error.hpp"
#include "georank/data/image.hpp"
#include "georank/runtime/runtime.hpp"
#include "georank/vlm/image_layout.hpp"
#include "georank/vlm/llama_backend.hpp"
#include "georank/vlm/remote_backend.hpp"

namespace georank::cli {
namespace {

using Clock = std::chrono::steady_clock;

// The request's parts and the judge's configs.
struct ScoreCommand {
  std::vector<std::string> images;
  std::string prompt;
  std::string raw_prompt;
  std::string system;
  std::string prefill;
  std::vector<std::string> choices;
  ImageLayoutConfig layout;
  int max_tokens = 0;
  std::string answer_cue = "\nAnswer:";
  LlamaConfig llama;
  RemoteConfig remote;
  std::string api_key;
  bool json = false;
};

VlmRequest build_request(const ScoreCommand& o) {
  VlmRequest r;
  for (const auto& path : o.images) r.images.push_back(std::make_shared<const Image>(load_image(path)));
  std::set<std::string> seen;
  for (const auto& c : o.choices) {
    if (c.find_first_not_of(" \t") == std::string::npos)
      throw Error(ErrorKind::invalid_argument, "--choices: empty choice");
    if (!seen.insert(c).second)
      throw Error(ErrorKind::invalid_argument, "--choices: '" + c + "' is given twice");
  }
  r.choices = o.choices;
  r.assistant_prefill = o.prefill;
  r.generation.max_tokens = o.max_tokens;
  if (o.max_tokens > 0) r.answer_cue = o.answer_cue;
  if (!o.raw_prompt.empty()) {
    if (!o.system.empty())
      throw Error(ErrorKind::invalid_argument, "--system needs --prompt (not --raw-prompt)");
    r.raw_prompt = o.raw_prompt;
    return apply_image_layout(std::move(r), o.layout);
  }
  // Like llama.cpp's tools: without markers in the prompt, the images come first.
  std::string user = o.prompt;
  if (user.find(kMediaMarker) == std::string::npos) {
    std::string markers;
    for (std::size_t i = 0; i < r.images.size(); ++i) markers += std::string(kMediaMarker) + "\n";
    user = markers + user;
  }
  if (!o.system.empty()) r.messages.push_back({"system", o.system});
  r.messages.push_back({"user", user});
  return apply_image_layout(std::move(r), o.layout);
}

std::unique_ptr<VlmBackend> make_backend(const ScoreCommand& o) {
  if (!o.llama.model.empty()) return make_llama_backend(o.llama);
  if (!o.llama.chat_template.empty())
    throw Error(ErrorKind::invalid_argument, "--template applies to --model; a server uses its own template");
  RemoteConfig cfg = o.remote;
  cfg.api_key = o.api_key;
  if (cfg.api_key.empty() && std::getenv(cfg.api_key_env.c_str()) == nullptr)
    if (const char* key = std::getenv("OPENAI_API_KEY")) cfg.api_key = key;
  return make_remote_backend(cfg);
}

void run_score(const ScoreCommand& o) {
  if (o.llama.model.empty() == o.remote.servers.empty())
    throw Error(ErrorKind::invalid_argument, "give either --model and --mmproj (in-process) or --server URL");
  if (o.prompt.empty() == o.raw_prompt.empty())
    throw Error(ErrorKind::invalid_argument, "give exactly one of --prompt and --raw-prompt");
  if (o.choices.empty() && o.max_tokens <= 0)
    throw Error(ErrorKind::invalid_argument, "--choices is empty (give e.g. --choices A,B)");
  const VlmRequest request = build_request(o);

  const auto start = Clock::now();
  if (!o.llama.model.empty()) init_runtime();
  auto backend = make_backend(o);
  const double load_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  const auto run_start = Clock::now();
  const VlmResponse r = backend->run({&request, 1}).front();
  const double run_ms = std::chrono::duration<double, std::milli>(Clock::now() - run_start).count();
  const JudgeIdentity identity = backend->identity();
  const BackendInfo info = backend->info();
  const std::string& model_path = info.model;
  const bool random_weights = info.random_weights;

  if (o.json) {
    nlohmann::ordered_json j;
    j["backend"] = backend->name();
    j["model"] = model_path;
    j["judge"] = identity.to_json();
    j["image_decoding"] = {{"exif_orientation", "applied"}};
    j["choices"] = request.choices;
    j["probs"] = nlohmann::ordered_json::object();
    j["logprobs"] = nlohmann::ordered_json::object();
    for (std::size_t i = 0; i < request.choices.size(); ++i) {
      j["probs"][request.choices[i]] = r.probs[i];
      j["logprobs"][request.choices[i]] = r.logprobs[i];
    }
    if (!r.choice_not_in_top.empty()) {
      j["not_in_top"] = nlohmann::ordered_json::object();
      for (std::size_t i = 0; i < request.choices.size(); ++i)
        j["not_in_top"][request.choices[i]] = static_cast<bool>(r.choice_not_in_top[i]);
    }
    j["covered_mass"] = r.covered_mass;
    j["n_prompt_tokens"] = r.n_prompt_tokens;
    j["n_image_tokens"] = r.n_image_tokens >= 0 ? nlohmann::ordered_json(r.n_image_tokens) : nullptr;
    j["n_generated_tokens"] = r.n_generated_tokens;
    if (request.generation.max_tokens > 0) j["text"] = r.text;
    j["template"] = r.template_name;
    j["timings_ms"] = {{"load", load_ms},
                       {"encode", r.timings.encode_ms},
                       {"prompt", r.timings.prompt_ms},
                       {"generate", r.timings.generate_ms},
                       {"score", r.timings.score_ms},
                       {"total", load_ms + run_ms}};
    if (random_weights) j["note"] = "random-weight fixture model: the numbers mean nothing";
    fmt::print("{}\n", j.dump(2));
    return;
  }

  if (random_weights) fmt::print("NOTE: random-weight fixture model: the numbers below mean nothing.\n");
  fmt::print("backend        {} ({})\n", backend->name(), model_path);
  fmt::print("judge          {}\n", identity.digest().substr(0, 16));
  if (request.generation.max_tokens > 0) fmt::print("generated      {:?}\n", r.text);
  if (!request.choices.empty()) {
    fmt::print("{:<14} {:>9} {:>12}\n", "answer", "prob", "logprob");
    for (std::size_t i = 0; i < request.choices.size(); ++i) {
      const bool floored = !r.choice_not_in_top.empty() && r.choice_not_in_top[i];
      fmt::print("{:<14} {:>9.4f} {:>12.4f}{}\n", request.choices[i], r.probs[i], r.logprobs[i],
                 floored ? "  (not in the server's top list: upper bound)" : "");
    }
    fmt::print("covered mass   {:.4g}\n", r.covered_mass);
  }
  fmt::print("tokens         {} prompt ({} image), {} generated\n", r.n_prompt_tokens,
             r.n_image_tokens >= 0 ? std::to_string(r.n_image_tokens) : std::string("unknown"),
             r.n_generated_tokens);
  fmt::print("template       {}\n", r.template_name);
  fmt::print(
      "timings        load {:.1f} ms, encode {:.1f} ms, prompt {:.1f} ms, generate {:.1f} ms, score {:.1f} "
      "ms, "
      "total {:.1f} ms\n",
      load_ms, r.timings.encode_ms, r.timings.prompt_ms, r.timings.generate_ms, r.timings.score_ms,
      load_ms + run_ms);
}

}  // namespace

void add_score(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("score", "Show how a VLM judges one case: answer distribution over a closed set");
  auto o = std::make_shared<ScoreCommand>();
  o->llama.n_seq_max = 8;  // one request at a time
  o->remote.max_in_flight = 1;
  auto llama = bind_flags(*cmd, o->llama,
                          {{"model", "-m"}, {"chat_template", "--template"}, {"n_ctx", "--ctx-size,--ctx"}});
  auto* model = llama.at("model")->check(CLI::ExistingFile);
  auto* mmproj = llama.at("mmproj")->check(CLI::ExistingFile);
  llama.at("threads")->check(CLI::Range(0, kMaxThreads));
  auto remote = bind_flags(
      *cmd, o->remote, {{"servers", "--server"}, {"timeout_s", "--timeout"}, {"max_retries", "--retries"}});
  auto* server = remote.at("servers");
  model->needs(mmproj);
  mmproj->needs(model);
  server->excludes(model)->excludes(mmproj);
  cmd->add_option("--image", o->images, "Image file, in marker order (repeatable)")->check(CLI::ExistingFile);
  auto* prompt = cmd->add_option("--prompt", o->prompt,
                                 "User message; each <__media__> takes the next image (without markers the "
                                 "images come first)");
  auto* raw = cmd->add_option("--raw-prompt", o->raw_prompt,
                              "Prompt used as is (no chat template); each <__media__> takes the next image");
  prompt->excludes(raw);
  cmd->add_option("--system", o->system, "System message (with --prompt)");
  cmd->add_option("--prefill", o->prefill, "Start of the assistant's answer before the choices");
  cmd->add_option("--choices", o->choices, "Closed answer set, comma-separated (e.g. A,B)")->delimiter(',');
  bind_flags(*cmd, o->layout);
  cmd->add_option("--max-tokens", o->max_tokens, "Generate this many tokens before scoring (0: none)")
      ->capture_default_str();
  cmd->add_option("--answer-cue", o->answer_cue, "Text between the generated text and the answer")
      ->capture_default_str();
  cmd->add_option("--api-key", o->api_key, "Bearer token (default: $GEORANK_API_KEY or $OPENAI_API_KEY)");
  cmd->add_flag("--json", o->json, "Print one JSON object");
  cmd->callback([o] { run_score(*o); });
}

}  // namespace georank::cli
