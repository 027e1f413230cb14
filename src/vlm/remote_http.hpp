#pragma once
// JSON over HTTP to one OpenAI-compatible endpoint, with timeouts and retries (exponential
// backoff with jitter on connection errors, timeouts, 429, 5xx, malformed or incomplete
// answers). Internal to the remote backend.

#include <atomic>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "georank/core/error.hpp"

namespace httplib {
class Client;
}

namespace georank::remote {

/// A base URL split into what httplib connects to and the path prefix of every request.
struct Endpoint {
  std::string url;               ///< as given (used in messages)
  std::string scheme_host_port;  ///< "http://127.0.0.1:8080"
  std::string path_prefix;       ///< "" or e.g. "/openai" (without a trailing "/v1")
};

/// Parses "http(s)://host[:port][/prefix][/v1][/]". Throws Error(invalid_argument).
Endpoint parse_endpoint(const std::string& url);

struct RetryPolicy {
  double timeout_s = 120.0;
  int max_retries = 3;
  double backoff_base_s = 0.5;
  double backoff_max_s = 20.0;
};

/// Seconds to wait before retry `attempt` (0-based): min(max, base * 2^attempt) * u with u
/// uniform in [0.5, 1].
double backoff_seconds(const RetryPolicy& policy, int attempt, std::mt19937_64& rng);

/// A request that still failed after its retries for a reason of the transport or of the
/// server (connection errors, timeouts, 429 and 5xx, malformed answers): another server of the
/// same model may answer it. Kind backend or timeout.
class TransportFailure : public Error {
 public:
  using Error::Error;
};

/// A reply that was not retried: 2xx with a valid JSON body, or a 4xx other than 429.
struct HttpReply {
  int status = 0;
  nlohmann::json body;  ///< parsed body for 2xx; {"error": text} for 4xx
  std::string text;     ///< raw body for 4xx (for messages)
};

/// Returns an empty string when a 2xx body is usable, else what is wrong with it (the request
/// is then retried like a transient failure).
using BodyCheck = std::function<std::string(const nlohmann::json&)>;

/// One keep-alive connection to one endpoint. Not thread-safe: one per worker thread.
class HttpSession {
 public:
  HttpSession(Endpoint endpoint, RetryPolicy policy, const std::string& api_key,
              const std::atomic<bool>* cancelled = nullptr);
  ~HttpSession();
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  /// POSTs `body` as JSON to path_prefix + `path`. Retries transient failures; afterwards
  /// throws Error(timeout) when the last failure was a timeout, else Error(backend), naming
  /// the endpoint, the path, the number of attempts and the last status or failure.
  HttpReply post_json(const std::string& path, const nlohmann::json& body, const BodyCheck& check = {});
  /// Same for GET.
  HttpReply get_json(const std::string& path, const BodyCheck& check = {});

  [[nodiscard]] const Endpoint& endpoint() const { return endpoint_; }

 private:
  HttpReply request(const char* method, const std::string& path, const std::string* body,
                    const BodyCheck& check);

  Endpoint endpoint_;
  RetryPolicy policy_;
  std::unique_ptr<httplib::Client> client_;
  const std::atomic<bool>* cancelled_;
  std::mt19937_64 rng_;
};

}  // namespace georank::remote
