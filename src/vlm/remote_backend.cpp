#include "georank/vlm/remote_backend.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <unordered_map>

#include "georank/core/base64.hpp"
#include "georank/core/error.hpp"
#include "georank/core/log.hpp"
#include "georank/core/sha256.hpp"
#include "vlm/answer_basis.hpp"
#include "vlm/endpoint_router.hpp"
#include "vlm/remote_answer.hpp"
#include "vlm/remote_http.hpp"
#include "vlm/remote_scoring.hpp"

namespace georank {
namespace {

using nlohmann::json;
using remote::HttpSession;
using Clock = std::chrono::steady_clock;

/// Bound of the tokenisation and template caches (entries); they are cleared when full.
constexpr std::size_t kMaxCacheEntries = 4096;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::vector<std::string> split_on_marker(const std::string& text) {
  std::vector<std::string> pieces;
  const std::string marker = kMediaMarker;
  std::size_t begin = 0;
  for (std::size_t at = text.find(marker); at != std::string::npos; at = text.find(marker, begin)) {
    pieces.push_back(text.substr(begin, at - begin));
    begin = at + marker.size();
  }
  pieces.push_back(text.substr(begin));
  return pieces;  // n markers -> n + 1 pieces
}

std::string replace_markers(const std::string& text, const std::string& marker) {
  const auto pieces = split_on_marker(text);
  std::string out = pieces.front();
  for (std::size_t i = 1; i < pieces.size(); ++i) out += marker + pieces[i];
  return out;
}

/// One server: its address, what was learned about it, and one session per request slot.
struct EndpointState {
  remote::Endpoint endpoint;
  std::vector<std::unique_ptr<HttpSession>> sessions;  ///< one per in-flight slot
  std::atomic<int> top_logprobs{20};
  std::mutex props_mutex;
  bool props_loaded = false;
  bool llama_server = false;  ///< answers /props with llama-server's fields (/tokenize etc.)
  std::string media_marker;   ///< llama-server's marker for /completion (random per process)
  std::string build;          ///< /props build_info (llama-server) or /version (vLLM), if given
  std::string chat_template;  ///< /props chat_template (llama-server), if given
};

/// The prompt of one request as the server will see it, without the assistant suffix.
struct WirePrompt {
  bool raw = false;
  json messages;         ///< chat form
  std::string text;      ///< raw form, with the server's marker
  json multimodal_data;  ///< raw form: base64 images
};

class RemoteBackend final : public VlmBackend {
 public:
  explicit RemoteBackend(RemoteConfig config) : config_(std::move(config)) {
    if (config_.servers.empty())
      throw Error(ErrorKind::invalid_argument, "remote backend: no server URL given");
    if (config_.max_in_flight < 1)
      throw Error(ErrorKind::invalid_argument, "remote backend: max_in_flight must be at least 1");
    if (config_.timeout_s <= 0)
      throw Error(ErrorKind::invalid_argument, "remote backend: timeout_s must be > 0");
    if (config_.top_logprobs < 1)
      throw Error(ErrorKind::invalid_argument, "remote backend: top_logprobs must be at least 1");
    policy_ = {config_.timeout_s, std::max(0, config_.max_retries), config_.backoff_base_s,
               config_.backoff_max_s};
    for (const auto& url : config_.servers) {
      auto e = std::make_unique<EndpointState>();
      e->endpoint = remote::parse_endpoint(url);
      e->top_logprobs = config_.top_logprobs;
      endpoints_.push_back(std::move(e));
    }
    std::vector<std::string> names;
    for (const auto& e : endpoints_) names.push_back(e->endpoint.url);
    router_ = std::make_unique<remote::EndpointRouter>(
        std::move(names), remote::RouterConfig{.rest_s = std::max(0.0, config_.rest_s)});
    model_ = config_.server_model;
    if (config_.api_key.empty() && !config_.api_key_env.empty())
      if (const char* key = std::getenv(config_.api_key_env.c_str())) config_.api_key = key;
  }

  std::vector<VlmResponse> run(std::span<const VlmRequest> requests) override {
    std::vector<VlmResponse> out(requests.size());
    if (requests.empty()) return out;
    for (const auto& r : requests) validate(r);
    cancelled_ = false;
    ensure_model();

    // Slots interleaved across endpoints, so that a small batch still uses every server; the
    // router gives each request to the endpoint with the fewest in flight, and moves the
    // requests of a failing one to the others (vlm/endpoint_router.hpp).
    std::vector<std::pair<std::size_t, std::size_t>> slots;  // (endpoint, slot)
    for (int k = 0; k < config_.max_in_flight; ++k)
      for (std::size_t e = 0; e < endpoints_.size(); ++e) slots.emplace_back(e, static_cast<std::size_t>(k));
    slots.resize(std::min(slots.size(), requests.size()));
    std::vector<std::size_t> per_endpoint(endpoints_.size(), 0);
    for (const auto& [e, k] : slots) ++per_endpoint[e];
    router_->begin(requests.size(), per_endpoint);

    std::exception_ptr first_error;
    std::mutex error_mutex;
    auto work = [&](std::size_t e, std::size_t slot) {
      try {
        HttpSession& session = this->session(*endpoints_[e], slot);
        while (const auto i = router_->next(e)) {
          try {
            out[*i] = run_one(*endpoints_[e], session, requests[*i]);
            router_->answered(e, *i);
          } catch (const remote::TransportFailure& failure) {
            if (cancelled_ || !router_->failed(e, *i, failure.what())) throw;
          }
        }
      } catch (...) {
        std::lock_guard lock(error_mutex);
        if (!first_error) first_error = std::current_exception();
        cancelled_ = true;
        router_->cancel();
      }
    };
    if (slots.size() == 1) {
      work(slots[0].first, slots[0].second);
    } else {
      std::vector<std::thread> threads;
      threads.reserve(slots.size());
      for (auto& [e, k] : slots) threads.emplace_back(work, e, k);
      for (auto& t : threads) t.join();
    }
    {
      std::lock_guard lock(images_mutex_);
      images_.clear();
    }
    if (first_error) std::rethrow_exception(first_error);
    return out;
  }

  [[nodiscard]] JudgeIdentity identity() const override {
    ensure_model();
    std::lock_guard lock(identity_mutex_);
    if (identity_) return *identity_;
    // All endpoints serve the same model; the first one that answers speaks for them.
    EndpointState& e = first_answering([&](EndpointState& candidate) {
      HttpSession s(candidate.endpoint, policy_, config_.api_key);
      load_props(candidate, s);
    });
    JudgeIdentity id;
    id.backend = "remote";
    id.server_model = model_;
    id.server_build = e.build.empty() ? "unknown (the server reports no build)" : e.build;
    id.remote_dialect = config_.dialect != RemoteDialect::automatic ? std::string(enum_name(config_.dialect))
                        : e.llama_server                            ? "llama-server"
                                                                    : "openai";
    id.top_logprobs = config_.top_logprobs;
    id.image_preprocessing = "rgb8 -> PNG (lossless) -> the server's own";
    if (e.chat_template.empty()) {
      id.chat_template = "server default (not reported)";
    } else {
      id.chat_template = "server";
      id.chat_template_sha256 = sha256_hex(
          std::span(reinterpret_cast<const std::uint8_t*>(e.chat_template.data()), e.chat_template.size()));
    }
    identity_ = id;
    return id;
  }

  [[nodiscard]] std::string name() const override { return "remote"; }
  /// The served model id; a server reporting a georank fixture's name says it is random.
  [[nodiscard]] BackendInfo info() const override {
    BackendInfo info;
    info.model = identity().server_model;
    info.model_name = info.model;
    info.random_weights = info.model.find("random-weight") != std::string::npos;
    return info;
  }

 private:
  static void validate(const VlmRequest& r) {
    std::size_t n_markers = 0;
    if (r.raw_prompt) {
      n_markers = split_on_marker(*r.raw_prompt).size() - 1;
    } else {
      if (r.messages.empty())
        throw Error(ErrorKind::invalid_argument, "request has neither messages nor a raw prompt");
      for (const auto& m : r.messages) n_markers += split_on_marker(m.content).size() - 1;
    }
    if (n_markers != r.images.size())
      throw Error(ErrorKind::invalid_argument,
                  fmt::format("request has {} image marker(s) ({}) but {} image(s)", n_markers, kMediaMarker,
                              r.images.size()));
    for (const auto& img : r.images)
      if (!img || img->width <= 0 || img->height <= 0)
        throw Error(ErrorKind::invalid_argument, "request holds an empty image");
    for (const auto& c : r.choices)
      if (c.find_first_not_of(' ') == std::string::npos)
        throw Error(ErrorKind::invalid_argument, "request has an empty choice");
    if (r.choices.empty() && r.generation.max_tokens <= 0)
      throw Error(ErrorKind::invalid_argument, "request has neither choices nor a generation budget");
  }

  HttpSession& session(EndpointState& e, std::size_t slot) {
    std::lock_guard lock(sessions_mutex_);
    if (e.sessions.size() <= slot) e.sessions.resize(slot + 1);
    if (!e.sessions[slot])
      e.sessions[slot] = std::make_unique<HttpSession>(e.endpoint, policy_, config_.api_key, &cancelled_);
    return *e.sessions[slot];
  }

  void ensure_model() const {
    std::lock_guard lock(model_mutex_);
    if (!model_.empty()) return;
    first_answering([&](EndpointState& e) {
      HttpSession s(e.endpoint, policy_, config_.api_key);
      const auto reply = s.get_json("/v1/models", [](const json& b) {
        const bool ok = b.is_object() && b.contains("data") && b["data"].is_array() && !b["data"].empty() &&
                        b["data"][0].contains("id") && b["data"][0]["id"].is_string();
        return ok ? std::string() : std::string("the model list is empty or malformed");
      });
      if (reply.status != 200)
        throw Error(ErrorKind::backend,
                    fmt::format("{}: GET /v1/models answered HTTP {}: {}; give the model name",
                                s.endpoint().url, reply.status, reply.text.substr(0, 200)));
      model_ = reply.body["data"][0]["id"].get<std::string>();
    });
  }

  /// The first endpoint, in the given order, for which `ask` does not end in a transport
  /// failure (a server that is down); the last failure when every one fails.
  template <class Ask>
  EndpointState& first_answering(Ask&& ask) const {
    for (std::size_t i = 0;; ++i) {
      try {
        ask(*endpoints_[i]);
        return *endpoints_[i];
      } catch (const remote::TransportFailure& failure) {
        if (i + 1 == endpoints_.size()) throw;
        log_warn("{}; asking {}", failure.what(), endpoints_[i + 1]->endpoint.url);
      }
    }
  }

  /// Reads `/props` once per endpoint: llama-server names its build and its per-process
  /// media marker there; other servers answer 404.
  void load_props(EndpointState& e, HttpSession& s) const {
    std::lock_guard lock(e.props_mutex);
    if (e.props_loaded) return;
    const auto reply = s.get_json("/props");
    if (reply.status == 200 && reply.body.is_object()) {
      const auto text = [&](const char* key) {
        const auto it = reply.body.find(key);
        return it != reply.body.end() && it->is_string() ? it->get<std::string>() : std::string();
      };
      e.media_marker = text("media_marker");
      e.build = text("build_info");
      e.chat_template = text("chat_template");
      e.llama_server = reply.body.contains("build_info") || !e.media_marker.empty();
    }
    if (e.build.empty()) {  // vLLM names its version at /version
      const auto version = s.get_json("/version");
      if (version.status == 200 && version.body.is_object() && version.body.contains("version") &&
          version.body["version"].is_string())
        e.build = "version " + version.body["version"].get<std::string>();
    }
    e.props_loaded = true;
  }

  bool uses_token_ids(EndpointState& e, HttpSession& s) {
    if (config_.dialect != RemoteDialect::automatic) return config_.dialect == RemoteDialect::llama_server;
    load_props(e, s);
    return e.llama_server;
  }

  const std::string& media_marker(EndpointState& e, HttpSession& s) {
    load_props(e, s);
    if (e.media_marker.empty())
      throw Error(
          ErrorKind::invalid_argument,
          e.endpoint.url + ": raw prompts with images need llama-server (its /props names the media marker)");
    return e.media_marker;
  }

  /// llama-server's /tokenize, cached (all endpoints serve the same model).
  std::vector<remote::PieceToken> tokenize(EndpointState& e, HttpSession& s, const std::string& text,
                                           bool add_special) {
    const std::string key = (add_special ? "1" : "0") + text;
    {
      std::lock_guard lock(cache_mutex_);
      if (auto it = tokens_.find(key); it != tokens_.end()) return it->second;
    }
    const json body = {
        {"content", text}, {"add_special", add_special}, {"parse_special", true}, {"with_pieces", true}};
    auto reply = s.post_json("/tokenize", body, [](const json& b) {
      return b.is_object() && b.contains("tokens") && b["tokens"].is_array()
                 ? std::string()
                 : std::string("no tokens in the answer");
    });
    if (reply.status >= 300) throw rejected(e, "/tokenize", reply);
    std::vector<remote::PieceToken> out;
    for (const auto& t : reply.body["tokens"]) {
      remote::PieceToken pt;
      if (t.is_object() && t.contains("id") && t["id"].is_number_integer()) {
        pt.id = t["id"].get<int>();
        if (t.contains("piece") && t["piece"].is_string()) pt.piece = t["piece"].get<std::string>();
      } else if (t.is_number_integer()) {
        pt.id = t.get<int>();
      } else {
        throw Error(ErrorKind::backend,
                    e.endpoint.url + "/tokenize answered an unexpected token: " + t.dump());
      }
      out.push_back(std::move(pt));
    }
    std::lock_guard lock(cache_mutex_);
    if (tokens_.size() >= kMaxCacheEntries) tokens_.clear();
    tokens_.emplace(key, out);
    return out;
  }

  /// The prompt's text after its last image, as the server will see it (chat prompts rendered
  /// with the server's own template through llama-server's /apply-template, cached).
  std::string text_after_last_image(EndpointState& e, HttpSession& s, const VlmRequest& r) {
    std::string text;
    if (r.raw_prompt) {
      text = *r.raw_prompt;
    } else {
      json messages = json::array();
      for (const auto& m : r.messages) messages.push_back({{"role", m.role}, {"content", m.content}});
      const std::string key = messages.dump();
      std::unique_lock lock(cache_mutex_);
      if (auto it = rendered_.find(key); it != rendered_.end()) {
        text = it->second;
      } else {
        lock.unlock();
        auto reply = s.post_json("/apply-template", {{"messages", messages}}, [](const json& b) {
          return b.is_object() && b.contains("prompt") && b["prompt"].is_string()
                     ? std::string()
                     : std::string("no rendered prompt in the answer");
        });
        if (reply.status >= 300) throw rejected(e, "/apply-template", reply);
        text = reply.body["prompt"].get<std::string>();
        lock.lock();
        if (rendered_.size() >= kMaxCacheEntries) rendered_.clear();
        rendered_.emplace(key, text);
      }
    }
    const auto last = text.rfind(kMediaMarker);
    return last == std::string::npos ? text : text.substr(last + std::string(kMediaMarker).size());
  }

  /// Base64 PNG of an image, encoded once per run however many requests show it.
  std::shared_ptr<const std::string> image_data(const std::shared_ptr<const Image>& img) {
    const std::string key =
        img->id.empty() ? fmt::format("{}", static_cast<const void*>(img.get())) : img->id;
    {
      std::lock_guard lock(images_mutex_);
      if (auto it = images_.find(key); it != images_.end()) return it->second;
    }
    auto data = std::make_shared<const std::string>(base64_encode(encode_png(*img)));
    std::lock_guard lock(images_mutex_);
    return images_.emplace(key, std::move(data)).first->second;
  }

  WirePrompt wire_prompt(EndpointState& e, HttpSession& s, const VlmRequest& r) {
    WirePrompt p;
    std::size_t next_image = 0;
    if (r.raw_prompt) {
      p.raw = true;
      p.multimodal_data = json::array();
      if (r.images.empty()) {
        p.text = *r.raw_prompt;
      } else {
        p.text = replace_markers(*r.raw_prompt, media_marker(e, s));
        for (const auto& img : r.images) p.multimodal_data.push_back(*image_data(img));
      }
      return p;
    }
    p.messages = json::array();
    for (const auto& m : r.messages) {
      const auto pieces = split_on_marker(m.content);
      if (pieces.size() == 1) {
        p.messages.push_back({{"role", m.role}, {"content", m.content}});
        continue;
      }
      json parts = json::array();
      for (std::size_t i = 0; i < pieces.size(); ++i) {
        if (i > 0) {
          const auto data = image_data(r.images[next_image++]);
          parts.push_back(
              {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64," + *data}}}});
        }
        if (!pieces[i].empty()) parts.push_back({{"type", "text"}, {"text", pieces[i]}});
      }
      p.messages.push_back({{"role", m.role}, {"content", std::move(parts)}});
    }
    return p;
  }

  /// The request body for the prompt followed by `suffix` (the assistant's text so far).
  json body_for(const WirePrompt& p, const std::string& suffix) const {
    json body;
    if (p.raw) {
      const std::string text = p.text + suffix;
      if (p.multimodal_data.empty()) {
        body["prompt"] = text;
      } else {
        body["prompt"] = {{"prompt_string", text}, {"multimodal_data", p.multimodal_data}};
      }
      body["cache_prompt"] = true;
    } else {
      body["model"] = model_;
      body["messages"] = p.messages;
      if (!suffix.empty()) body["messages"].push_back({{"role", "assistant"}, {"content", suffix}});
    }
    body["stream"] = false;
    return body;
  }

  json generate_call(EndpointState& e, HttpSession& s, const WirePrompt& p, const std::string& suffix,
                     const GenerationParams& g) {
    json body = body_for(p, suffix);
    body[p.raw ? "n_predict" : "max_tokens"] = g.max_tokens;
    body["temperature"] = g.temperature;
    body["seed"] = g.seed;
    if (!g.stop.empty()) body["stop"] = g.stop;
    const std::string path = p.raw ? "/completion" : "/v1/chat/completions";
    auto reply = s.post_json(path, body, remote::check_has_text);
    if (reply.status >= 300) throw rejected(e, path, reply);
    return std::move(reply.body);
  }

  json score_call(EndpointState& e, HttpSession& s, const WirePrompt& p, const std::string& suffix) {
    const std::string path = p.raw ? "/completion" : "/v1/chat/completions";
    for (;;) {
      const int n_top = e.top_logprobs.load();
      json body = body_for(p, suffix);
      body["temperature"] = 0;
      if (p.raw) {
        body["n_predict"] = 1;
        body["n_probs"] = n_top;
      } else {
        body["max_tokens"] = 1;
        body["logprobs"] = true;
        body["top_logprobs"] = n_top;
      }
      auto reply = s.post_json(path, body, remote::check_has_logprobs);
      if (reply.status < 300) return std::move(reply.body);
      // Servers cap top_logprobs (OpenAI and vLLM at 20 by default): ask again with less.
      std::string lower = reply.text;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      if (reply.status == 400 && lower.find("logprob") != std::string::npos && n_top > 5) {
        const int fewer = n_top > 20 ? 20 : 5;
        log_warn("{} rejected top_logprobs={}; using {}", e.endpoint.url, n_top, fewer);
        int expected = n_top;
        e.top_logprobs.compare_exchange_strong(expected, fewer);
        continue;
      }
      throw rejected(e, path, reply);
    }
  }

  static Error rejected(const EndpointState& e, const std::string& path, const remote::HttpReply& reply) {
    std::string hint;
    if (reply.status == 401 || reply.status == 403) hint = " (check the API key)";
    if (reply.status == 404 && path == "/completion") hint = " (raw prompts need llama-server's /completion)";
    return Error(ErrorKind::backend,
                 fmt::format("{}{} rejected the request: HTTP {}{}: {}", e.endpoint.scheme_host_port,
                             e.endpoint.path_prefix + path, reply.status, hint, reply.text.substr(0, 300)));
  }

  VlmResponse run_one(EndpointState& e, HttpSession& s, const VlmRequest& r) {
    VlmResponse resp;
    resp.template_name = r.raw_prompt ? "raw" : "server";
    resp.n_image_tokens = -1;  // servers do not report it
    WirePrompt prompt = wire_prompt(e, s, r);
    std::string suffix = r.assistant_prefill;

    if (r.generation.max_tokens > 0) {
      const auto start = Clock::now();
      const json body = generate_call(e, s, prompt, suffix, r.generation);
      resp.text = remote::generated_text(body);
      // llama-server echoes a prefilled assistant message in the answer; vLLM does not.
      if (!r.raw_prompt && !suffix.empty() && resp.text.rfind(suffix, 0) == 0)
        resp.text.erase(0, suffix.size());
      const remote::AnswerStats st = remote::answer_stats(body);
      resp.n_prompt_tokens = st.n_prompt;
      resp.n_generated_tokens = st.n_generated;
      resp.n_decoded_tokens += st.n_decoded;
      resp.timings.prompt_ms += st.prompt_ms;
      resp.timings.generate_ms = st.predicted_ms > 0 ? st.predicted_ms : ms_since(start);
      suffix += resp.text + r.answer_cue;
    }
    if (r.choices.empty()) return resp;
    // Answers continue the text before trailing spaces (answer_basis.hpp).
    vlm::trim_answer_basis(suffix);
    if (suffix.empty() && prompt.raw) vlm::trim_answer_basis(prompt.text);

    const auto start = Clock::now();
    bool root = true;
    const remote::NextAlternatives next = [&](const std::string& continuation) {
      const json body = score_call(e, s, prompt, suffix + continuation);
      const remote::AnswerStats st = remote::answer_stats(body);
      if (root && r.generation.max_tokens <= 0) resp.n_prompt_tokens = st.n_prompt;
      root = false;
      resp.n_decoded_tokens += st.n_decoded;
      resp.timings.prompt_ms += st.prompt_ms;
      return *remote::first_position_alternatives(body);
    };
    remote::ScoredChoices scored;
    if (uses_token_ids(e, s)) {
      // Token ids: the same answer tokens the in-process backend scores.
      const auto tokenizer = [&](const std::string& text, bool add_special) {
        return tokenize(e, s, text, add_special);
      };
      std::string basis = text_after_last_image(e, s, r) + suffix;
      vlm::trim_answer_basis(basis);
      scored = remote::score_by_ids(r.choices, basis, r.images.empty(), tokenizer, next);
    } else {
      scored = remote::score_by_text(r.choices, next);
    }
    const std::size_t n = r.choices.size();
    resp.logprobs = std::move(scored.logprobs);
    resp.choice_not_in_top = std::move(scored.not_in_top);
    const double top = *std::max_element(resp.logprobs.begin(), resp.logprobs.end());
    double sum = 0;
    resp.probs.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      resp.probs[i] = std::exp(resp.logprobs[i] - top);
      sum += resp.probs[i];
      resp.covered_mass += std::exp(resp.logprobs[i]);
    }
    for (auto& p : resp.probs) p /= sum;
    resp.timings.score_ms = ms_since(start);
    return resp;
  }

  RemoteConfig config_;
  remote::RetryPolicy policy_;
  std::vector<std::unique_ptr<EndpointState>> endpoints_;
  std::unique_ptr<remote::EndpointRouter> router_;
  std::mutex sessions_mutex_;
  mutable std::mutex model_mutex_;
  mutable std::string model_;
  mutable std::mutex identity_mutex_;
  mutable std::optional<JudgeIdentity> identity_;
  std::atomic<bool> cancelled_{false};
  std::mutex images_mutex_;
  std::unordered_map<std::string, std::shared_ptr<const std::string>> images_;
  std::mutex cache_mutex_;
  std::unordered_map<std::string, std::vector<remote::PieceToken>> tokens_;
  std::unordered_map<std::string, std::string> rendered_;
};

}  // namespace

std::unique_ptr<VlmBackend> make_remote_backend(const RemoteConfig& config) {
  return std::make_unique<RemoteBackend>(config);
}

}  // namespace georank
