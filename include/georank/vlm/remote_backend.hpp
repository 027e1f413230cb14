#pragma once
/// The OpenAI-compatible VLM judge: llama-server, vLLM, SGLang, Ollama or any server that speaks
/// `/v1/chat/completions` with image parts and `logprobs`.

#include <memory>
#include <string>
#include <vector>

#include "georank/core/config.hpp"
#include "georank/vlm/vlm.hpp"

namespace georank {

/// How answers are matched to choices (RemoteConfig::dialect).
enum class RemoteDialect {
  automatic,     ///< "auto": llama-server when the server's GET /props says so, else openai
  llama_server,  ///< token ids from its /tokenize: the same answer tokens as the in-process backend
  openai,        ///< token texts, any server
};
inline constexpr EnumName<RemoteDialect> kRemoteDialectNames[] = {
    {RemoteDialect::automatic, "auto"},
    {RemoteDialect::llama_server, "llama-server"},
    {RemoteDialect::openai, "openai"}};
inline std::span<const EnumName<RemoteDialect>> enum_names(RemoteDialect) {
  return kRemoteDialectNames;
}

/// How to reach one or more OpenAI-compatible servers serving the same model.
struct RemoteConfig {
  /// Base URLs, e.g. "http://127.0.0.1:8080" or "https://host/v1" (a trailing "/v1" is
  /// accepted). Requests of a batch are spread over all of them.
  std::vector<std::string> servers;
  /// Model name sent in every request; empty: the first id listed by the first server's
  /// `/v1/models`.
  std::string server_model;
  /// Environment variable holding the bearer token (used when `api_key` is empty).
  std::string api_key_env = "GEORANK_API_KEY";
  /// Requests in flight at once per server (each one is a connection of its own).
  int max_in_flight = 4;
  /// Per-request limit in seconds (connect, send and each read of the answer). A server that
  /// accepts but never answers costs at most (max_retries + 1) * timeout_s, not hours.
  double timeout_s = 60.0;
  /// Retries after the first attempt on connection errors, timeouts, 429, 5xx, malformed
  /// JSON and answers without log-probabilities.
  int max_retries = 2;
  /// Backoff before retry n (0-based): min(backoff_max_s, backoff_base_s * 2^n), times a
  /// random factor in [0.5, 1] (jitter). A 429's Retry-After is honoured up to backoff_max_s.
  double backoff_base_s = 0.5;
  double backoff_max_s = 20.0;
  /// With several servers: one whose requests keep failing after their retries rests this
  /// long (doubling on each further failure, up to 60 s) before it is probed with one request;
  /// its requests go to the other servers meanwhile.
  double rest_s = 1.0;
  /// Alternatives requested per scored position (`top_logprobs`). Servers cap it (OpenAI and
  /// vLLM at 20 by default); a server that rejects the value is asked again with 20, then 5.
  int top_logprobs = 20;
  RemoteDialect dialect = RemoteDialect::automatic;
  /// Sent as `Authorization: Bearer <api_key>`; empty: the value of `api_key_env`, if set. A
  /// secret: not a config field, so never written to outputs or logs.
  std::string api_key;

  template <class Self, class Visit>
  static void fields(Self& c, Visit&& v) {
    v("servers", c.servers, "OpenAI-compatible server URL(s) (llama-server, vLLM, SGLang, Ollama)");
    v("server_model", c.server_model, "Model name for the server (default: its first model)");
    v("api_key_env", c.api_key_env, "Environment variable holding the server's API key");
    v("max_in_flight", c.max_in_flight, "Server: requests in flight at once per server");
    v("timeout_s", c.timeout_s, "Server: seconds to wait for each answer");
    v("max_retries", c.max_retries, "Server: retries after a timeout, connection error, 429 or 5xx");
    v("backoff_base_s", c.backoff_base_s, "Server: first retry's backoff in seconds");
    v("backoff_max_s", c.backoff_max_s, "Server: longest backoff in seconds");
    v("rest_s", c.rest_s, "Servers: first rest in seconds of one that keeps failing (then probed)");
    v("top_logprobs", c.top_logprobs, "Server: alternatives asked per position (servers cap it)");
    v("dialect", c.dialect, "auto, llama-server (token ids) or openai (token texts)");
  }
};

/// Creates the remote backend. Nothing is contacted before the first `run()` or
/// `fingerprint()`. Throws Error(invalid_argument) for an empty or malformed server list.
///
/// Semantics of the responses (see VlmResponse):
/// - Chat requests go to `/v1/chat/completions` with each image as a base64 PNG `image_url`
///   part (images are re-encoded, so every server sees the same pixels as the in-process
///   backend). `assistant_prefill` (and generated text) is sent as a trailing assistant
///   message, which llama-server and SGLang/vLLM continue instead of closing.
/// - Raw prompts (`raw_prompt`) need llama-server: they go to its `/completion` endpoint with
///   the server's own media marker (from `/props`) in place of each kMediaMarker.
/// - Choices are scored from the `top_logprobs` of the answer positions (temperature 0,
///   one token per request). llama-server dialect: the variants `c` and ` c` are tokenised
///   by the server's /tokenize as continuations of the prompt's text after its last image
///   (chat prompts rendered by its /apply-template), exactly as the in-process backend does;
///   their tokens are found by id, multi-token variants position by position with the earlier
///   tokens prefilled, and the variants' probabilities are summed. openai dialect: tokens
///   whose text equals the choice with or without leading spaces are summed; a choice that
///   only prefix-matches is followed one token further with that token prefilled. A choice
///   found in no top list gets the smallest log-probability shown and is flagged in
///   `VlmResponse::choice_not_in_top`.
/// - Generation (`generation.max_tokens > 0`) is one request with max_tokens, stop,
///   temperature and seed; the choices are then scored after prefill + text + answer_cue.
/// - `n_prompt_tokens` is the server's `usage.prompt_tokens` (of the prompt before any
///   generation), `n_decoded_tokens` what it evaluated after its prompt cache, summed over
///   the requests; `n_image_tokens` is -1 (servers do not report it); `timings.prompt_ms`
///   and `generate_ms` are the server's, `score_ms` the wall time of the scoring requests.
/// - Server log-probabilities below -1e4 (-FLT_MAX, -inf sent as null) are clamped to -1e4.
///
/// Thread-safety: one `run()` at a time per backend object; it runs requests concurrently
/// on its own threads (`max_in_flight` per server).
std::unique_ptr<VlmBackend> make_remote_backend(const RemoteConfig& config);

}  // namespace georank
