#include "support/fake_openai_server.hpp"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

namespace georank::test {
namespace {

int bound_port(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("getsockname failed");
  return ntohs(addr.sin_port);
}

int listen_loopback() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 16) != 0) {
    close(fd);
    throw std::runtime_error("bind/listen failed");
  }
  return fd;
}

nlohmann::json top_list(const std::vector<FakeToken>& top) {
  auto list = nlohmann::json::array();
  for (const auto& [text, logprob, id] : top)
    list.push_back({{"id", id}, {"token", text}, {"logprob", logprob}});
  return list;
}

}  // namespace

FakeOpenAiServer::FakeOpenAiServer(Handler handler, bool as_llama_server, FakeServerIdentity identity)
    : server_(std::make_unique<httplib::Server>()), handler_(std::move(handler)) {
  const nlohmann::json models = {{"object", "list"},
                                 {"data", {{{"id", identity.model}, {"object", "model"}}}}};
  server_->Get("/v1/models", [models](const httplib::Request&, httplib::Response& res) {
    res.set_content(models.dump(), "application/json");
  });
  if (as_llama_server) {
    nlohmann::json props = {{"media_marker", "<__fake_marker__>"}, {"build_info", identity.build}};
    if (!identity.chat_template.empty()) props["chat_template"] = identity.chat_template;
    server_->Get("/props", [props](const httplib::Request&, httplib::Response& res) {
      res.set_content(props.dump(), "application/json");
    });
    server_->Post("/tokenize", [](const httplib::Request& req, httplib::Response& res) {
      const auto body = nlohmann::json::parse(req.body);
      auto tokens = nlohmann::json::array();
      if (body.value("add_special", false)) tokens.push_back({{"id", 1}, {"piece", "<s>"}});
      for (char c : body.at("content").get<std::string>())
        tokens.push_back({{"id", static_cast<unsigned char>(c)}, {"piece", std::string(1, c)}});
      res.set_content(nlohmann::json{{"tokens", tokens}}.dump(), "application/json");
    });
  } else if (!identity.version.empty()) {
    const nlohmann::json version = {{"version", identity.version}};
    server_->Get("/version", [version](const httplib::Request&, httplib::Response& res) {
      res.set_content(version.dump(), "application/json");
    });
  }
  server_->Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
    const int call = n_posts_++;
    const int now = ++in_flight_;
    for (int seen = max_concurrent_.load();
         now > seen && !max_concurrent_.compare_exchange_weak(seen, now);) {
    }
    {
      std::lock_guard lock(mutex_);
      bodies_.push_back(nlohmann::json::parse(req.body, nullptr, false));
      paths_.push_back(req.path);
      authorizations_.push_back(req.get_header_value("Authorization"));
    }
    handler_(req, res, call);
    --in_flight_;
  });
  server_->set_tcp_nodelay(true);
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("fake server: bind failed");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // httplib's stop() is a no-op before the accept loop runs: wait for it.
  while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

FakeOpenAiServer::~FakeOpenAiServer() {
  stopping_ = true;
  server_->stop();
  thread_.join();
}

std::string FakeOpenAiServer::url() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

std::vector<nlohmann::json> FakeOpenAiServer::bodies() const {
  std::lock_guard lock(mutex_);
  return bodies_;
}

std::vector<std::string> FakeOpenAiServer::paths() const {
  std::lock_guard lock(mutex_);
  return paths_;
}

std::vector<std::string> FakeOpenAiServer::authorizations() const {
  std::lock_guard lock(mutex_);
  return authorizations_;
}

nlohmann::json chat_answer(const std::vector<FakeToken>& top, const std::string& content, int prompt_tokens) {
  nlohmann::json sampled = {{"id", std::get<2>(top.front())},
                            {"token", std::get<0>(top.front())},
                            {"logprob", std::get<1>(top.front())},
                            {"top_logprobs", top_list(top)}};
  return {{"object", "chat.completion"},
          {"model", "fake-model"},
          {"choices",
           {{{"index", 0},
             {"finish_reason", "length"},
             {"message",
              {{"role", "assistant"}, {"content", content.empty() ? std::get<0>(top.front()) : content}}},
             {"logprobs", {{"content", {sampled}}}}}}},
          {"usage",
           {{"prompt_tokens", prompt_tokens}, {"completion_tokens", 1}, {"total_tokens", prompt_tokens + 1}}},
          {"timings",
           {{"prompt_n", prompt_tokens}, {"prompt_ms", 1.5}, {"predicted_n", 1}, {"predicted_ms", 0.5}}}};
}

nlohmann::json completion_answer(const std::vector<FakeToken>& top, int prompt_tokens) {
  nlohmann::json first = {{"id", std::get<2>(top.front())},
                          {"token", std::get<0>(top.front())},
                          {"logprob", std::get<1>(top.front())},
                          {"top_logprobs", top_list(top)}};
  return {{"content", std::get<0>(top.front())},
          {"tokens_evaluated", prompt_tokens},
          {"tokens_predicted", 1},
          {"completion_probabilities", {first}},
          {"timings",
           {{"prompt_n", prompt_tokens}, {"prompt_ms", 1.5}, {"predicted_n", 1}, {"predicted_ms", 0.5}}}};
}

RawTcpServer::RawTcpServer(std::function<RawAction(int)> script, std::string ok_body)
    : script_(std::move(script)), ok_body_(std::move(ok_body)) {
  listen_fd_ = listen_loopback();
  port_ = bound_port(listen_fd_);
  thread_ = std::thread([this] { serve(); });
}

RawTcpServer::~RawTcpServer() {
  stopping_ = true;
  shutdown(listen_fd_, SHUT_RDWR);
  thread_.join();
  close(listen_fd_);
}

std::string RawTcpServer::url() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

void RawTcpServer::serve() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    const int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    const int index = n_connections_++;
    // Read the request head and body (whatever arrives within a short while).
    std::string request;
    char buf[65536];
    for (;;) {
      pollfd q{fd, POLLIN, 0};
      if (poll(&q, 1, 200) <= 0) break;
      const ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      request.append(buf, static_cast<std::size_t>(n));
      const auto head_end = request.find("\r\n\r\n");
      if (head_end == std::string::npos) continue;
      std::size_t content_length = 0;
      if (const auto at = request.find("Content-Length: "); at != std::string::npos && at < head_end)
        content_length = std::stoul(request.substr(at + 16));
      if (request.size() >= head_end + 4 + content_length) break;
    }
    switch (script_(index)) {
      case RawAction::reset: {
        linger l{1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
        break;
      }
      case RawAction::close: shutdown(fd, SHUT_RDWR); break;
      case RawAction::respond_ok_json: {
        const std::string response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                                     std::to_string(ok_body_.size()) + "\r\nConnection: close\r\n\r\n" +
                                     ok_body_;
        (void)send(fd, response.data(), response.size(), MSG_NOSIGNAL);
        shutdown(fd, SHUT_WR);
        break;
      }
    }
    close(fd);
  }
}

std::vector<std::uint8_t> base64_decode(const std::string& text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::vector<std::uint8_t> out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int v = value(c);
    if (v < 0) break;  // '=' padding ends the data
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

}  // namespace georank::test
