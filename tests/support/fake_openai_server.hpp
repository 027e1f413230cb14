#pragma once
// Local HTTP servers for the remote backend's tests: a scripted OpenAI-compatible server
// (httplib) and a raw TCP server that misbehaves below HTTP (resets, early closes).

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace georank::test {

/// What a fake server says of itself: its model id, and as a llama-server its build and chat
/// template (GET /props); otherwise a version at GET /version when not empty (as vLLM does).
struct FakeServerIdentity {
  std::string model = "fake-model";
  std::string build = "fake";
  std::string chat_template;
  std::string version;
};

/// A scripted OpenAI-compatible server on a free loopback port. Every POST (whatever the
/// path) goes to the handler with its 0-based call index; GET /v1/models lists the identity's
/// model ("fake-model").
/// As a llama-server (`as_llama_server`), GET /props names the media marker
/// "<__fake_marker__>" and POST /tokenize (not passed to the handler) tokenises one token per
/// character (id = the character's code, BOS id 1 with add_special); otherwise /props is 404.
class FakeOpenAiServer {
 public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&, int call)>;
  explicit FakeOpenAiServer(Handler handler, bool as_llama_server = false, FakeServerIdentity identity = {});
  ~FakeOpenAiServer();
  FakeOpenAiServer(const FakeOpenAiServer&) = delete;
  FakeOpenAiServer& operator=(const FakeOpenAiServer&) = delete;

  [[nodiscard]] std::string url() const;
  [[nodiscard]] int n_posts() const { return n_posts_.load(); }
  [[nodiscard]] int max_concurrent() const { return max_concurrent_.load(); }
  /// Parsed bodies of the POSTs received so far, in arrival order.
  [[nodiscard]] std::vector<nlohmann::json> bodies() const;
  /// Paths of the POSTs received so far.
  [[nodiscard]] std::vector<std::string> paths() const;
  /// Authorization headers of the POSTs ("" when absent).
  [[nodiscard]] std::vector<std::string> authorizations() const;
  /// Set when the server shuts down; handlers that sleep should watch it.
  [[nodiscard]] const std::atomic<bool>& stopping() const { return stopping_; }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  Handler handler_;
  std::atomic<int> n_posts_{0};
  std::atomic<int> in_flight_{0};
  std::atomic<int> max_concurrent_{0};
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::vector<nlohmann::json> bodies_;
  std::vector<std::string> paths_;
  std::vector<std::string> authorizations_;
};

/// One alternative in a fake answer: token text, log-probability, token id.
using FakeToken = std::tuple<std::string, double, int>;

/// A `/v1/chat/completions` answer whose first position has these top alternatives (the first
/// one is the sampled token), as llama-server writes it (with ids and timings).
nlohmann::json chat_answer(const std::vector<FakeToken>& top, const std::string& content = "",
                           int prompt_tokens = 42);

/// A llama-server `/completion` answer with these top alternatives at the first position.
nlohmann::json completion_answer(const std::vector<FakeToken>& top, int prompt_tokens = 42);

/// What a raw TCP connection gets.
enum class RawAction {
  reset,           ///< read the request, then close with RST (SO_LINGER 0)
  close,           ///< read the request, then close cleanly without answering
  respond_ok_json  ///< answer `ok_body` with HTTP 200
};

/// A TCP server on a free loopback port that treats connection i with `script(i)`.
class RawTcpServer {
 public:
  RawTcpServer(std::function<RawAction(int)> script, std::string ok_body = "{}");
  ~RawTcpServer();
  RawTcpServer(const RawTcpServer&) = delete;
  RawTcpServer& operator=(const RawTcpServer&) = delete;

  [[nodiscard]] std::string url() const;
  [[nodiscard]] int n_connections() const { return n_connections_.load(); }

 private:
  void serve();

  int listen_fd_ = -1;
  int port_ = 0;
  std::function<RawAction(int)> script_;
  std::string ok_body_;
  std::atomic<int> n_connections_{0};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

/// Decodes standard base64 (no line breaks).
std::vector<std::uint8_t> base64_decode(const std::string& text);

}  // namespace georank::test
