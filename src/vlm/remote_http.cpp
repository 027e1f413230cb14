#include "vlm/remote_http.hpp"

#include <httplib.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <thread>

#include "georank/core/error.hpp"
#include "georank/core/log.hpp"
#include "georank/core/parse_number.hpp"

namespace georank::remote {
namespace {

using Clock = std::chrono::steady_clock;

std::string snippet(const std::string& text, std::size_t n = 200) {
  std::string s = text.substr(0, n);
  std::replace(s.begin(), s.end(), '\n', ' ');
  if (text.size() > n) s += "...";
  return s;
}

bool is_retryable_status(int status) {
  return status == 429 || status >= 500;
}

/// Whole seconds and microseconds for httplib's timeout setters.
std::pair<time_t, time_t> split_seconds(double s) {
  const double whole = std::floor(s);
  return {static_cast<time_t>(whole), static_cast<time_t>((s - whole) * 1e6)};
}

}  // namespace

Endpoint parse_endpoint(const std::string& url) {
  Endpoint e;
  e.url = url;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos)
    throw Error(ErrorKind::invalid_argument,
                "server URL '" + url + "' has no scheme (expected http://host:port)");
  const std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https")
    throw Error(ErrorKind::invalid_argument, "server URL '" + url + "': scheme must be http or https");
  const auto host_begin = scheme_end + 3;
  const auto path_begin = url.find('/', host_begin);
  const std::string host_port =
      url.substr(host_begin, path_begin == std::string::npos ? std::string::npos : path_begin - host_begin);
  if (host_port.empty() || host_port.front() == ':')
    throw Error(ErrorKind::invalid_argument, "server URL '" + url + "' has no host");
  if (const auto colon = host_port.rfind(':'); colon != std::string::npos && host_port.back() != ']') {
    const std::string port = host_port.substr(colon + 1);
    const auto value = parse_integer<unsigned>(port);
    if (!value || *value > 65535)
      throw Error(ErrorKind::invalid_argument, "server URL '" + url + "' has a bad port '" + port + "'");
  }
  e.scheme_host_port = scheme + "://" + host_port;
  std::string path = path_begin == std::string::npos ? "" : url.substr(path_begin);
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (path.size() >= 3 && path.compare(path.size() - 3, 3, "/v1") == 0) path.resize(path.size() - 3);
  e.path_prefix = path;
  return e;
}

double backoff_seconds(const RetryPolicy& policy, int attempt, std::mt19937_64& rng) {
  const double raw = policy.backoff_base_s * std::pow(2.0, attempt);
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  return std::min(policy.backoff_max_s, raw) * jitter(rng);
}

HttpSession::HttpSession(Endpoint endpoint, RetryPolicy policy, const std::string& api_key,
                         const std::atomic<bool>* cancelled)
    : endpoint_(std::move(endpoint)), policy_(policy), cancelled_(cancelled), rng_(std::random_device{}()) {
  client_ = std::make_unique<httplib::Client>(endpoint_.scheme_host_port);
  if (!client_->is_valid())
    throw Error(ErrorKind::invalid_argument,
                "server URL '" + endpoint_.url + "' cannot be used (https needs OpenSSL support)");
  const auto [sec, usec] = split_seconds(policy_.timeout_s);
  client_->set_connection_timeout(sec, usec);
  client_->set_read_timeout(sec, usec);
  client_->set_write_timeout(sec, usec);
  client_->set_keep_alive(true);
  // Requests are small and sequential per connection: Nagle + delayed ACK would add ~40 ms.
  client_->set_tcp_nodelay(true);
  if (!api_key.empty()) client_->set_bearer_token_auth(api_key);
}

HttpSession::~HttpSession() = default;

HttpReply HttpSession::post_json(const std::string& path, const nlohmann::json& body,
                                 const BodyCheck& check) {
  const std::string text = body.dump();
  return request("POST", path, &text, check);
}

HttpReply HttpSession::get_json(const std::string& path, const BodyCheck& check) {
  return request("GET", path, nullptr, check);
}

HttpReply HttpSession::request(const char* method, const std::string& path, const std::string* body,
                               const BodyCheck& check) {
  const std::string full_path = endpoint_.path_prefix + path;
  const std::string where = endpoint_.scheme_host_port + full_path;
  std::string last_failure;
  bool last_was_timeout = false;
  const int n_attempts = 1 + std::max(0, policy_.max_retries);
  for (int attempt = 0; attempt < n_attempts; ++attempt) {
    if (cancelled_ && cancelled_->load()) throw Error(ErrorKind::backend, where + ": cancelled");
    double wait_s = 0;
    const auto start = Clock::now();
    auto result = body ? client_->Post(full_path, *body, "application/json") : client_->Get(full_path);
    const double elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
    if (!result) {
      const auto err = result.error();
      // httplib 0.11 reports a read timeout as a plain read error: tell them apart by time.
      last_was_timeout = err == httplib::Error::ConnectionTimeout ||
                         ((err == httplib::Error::Read || err == httplib::Error::Write) &&
                          elapsed_s >= 0.95 * policy_.timeout_s);
      last_failure = last_was_timeout ? fmt::format("no answer within {:g} s", policy_.timeout_s)
                                      : "connection failed (" + httplib::to_string(err) + ")";
      // A broken keep-alive connection must not poison the next attempt.
      client_->stop();
    } else {
      last_was_timeout = false;
      const int status = result->status;
      if (status >= 200 && status < 300) {
        try {
          auto parsed = nlohmann::json::parse(result->body);
          std::string problem = check ? check(parsed) : std::string();
          if (problem.empty()) return HttpReply{status, std::move(parsed), {}};
          last_failure = "HTTP " + std::to_string(status) + " but " + problem;
        } catch (const nlohmann::json::exception&) {  // malformed, or a number past double
          last_failure =
              "HTTP " + std::to_string(status) + " with malformed JSON: '" + snippet(result->body) + "'";
        }
      } else if (is_retryable_status(status)) {
        last_failure = "HTTP " + std::to_string(status) + ": " + snippet(result->body);
        if (status == 429 && result->has_header("Retry-After")) {
          try {
            wait_s = std::min(policy_.backoff_max_s, std::stod(result->get_header_value("Retry-After")));
          } catch (const std::exception&) {
            wait_s = 0;  // an HTTP date instead of seconds: fall back to the backoff
          }
        }
      } else {
        HttpReply reply{status, nlohmann::json::object(), result->body};
        reply.body["error"] = result->body;
        return reply;
      }
    }
    if (attempt + 1 == n_attempts) break;
    if (wait_s <= 0) wait_s = backoff_seconds(policy_, attempt, rng_);
    log_debug("{} {}: {} (attempt {}/{}), retrying in {:.2f} s", method, where, last_failure, attempt + 1,
              n_attempts, wait_s);
    const auto until =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wait_s));
    while (Clock::now() < until) {
      if (cancelled_ && cancelled_->load()) throw Error(ErrorKind::backend, where + ": cancelled");
      std::this_thread::sleep_for(
          std::min<Clock::duration>(std::chrono::milliseconds(20), until - Clock::now()));
    }
  }
  throw TransportFailure(last_was_timeout ? ErrorKind::timeout : ErrorKind::backend,
                         fmt::format("{} {} failed after {} attempt{}: {}", method, where, n_attempts,
                                     n_attempts == 1 ? "" : "s", last_failure));
}

}  // namespace georank::remote
