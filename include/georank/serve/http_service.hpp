#pragma once
/// The HTTP service of `georank serve` (cpp-httplib underneath; no HTTP types here):
///   POST /v1/localize, GET /v1/info, GET /v1/tiles/{id}[/meta], GET /v1/runs[/{run}[/queries[/{id}]]],
///   GET /v1/runs/{run}/images/{query|tile}/{id}, GET /health, /ready, /metrics, /openapi.json,
///   and the browser page at /.
/// Errors are {"error": {"kind", "message"}} with 400, 401, 404, 413, 415, 503 (with
/// Retry-After), 504; 500 only for a bug. With an API key, /v1/* and /metrics need
/// `Authorization: Bearer <key>`; the key is never logged.

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "georank/serve/localizer.hpp"
#include "georank/serve/run_catalog.hpp"
#include "georank/serve/serve_config.hpp"

namespace georank {

class HttpService {
 public:
  /// `localizer` and `runs` must outlive the service. `api_key` empty: no key.
  HttpService(const ServiceConfig& config, const Localizer& localizer, const RunCatalog& runs,
              std::string api_key);
  ~HttpService();
  HttpService(const HttpService&) = delete;
  HttpService& operator=(const HttpService&) = delete;

  /// Binds [serve] host:port; returns the port (the chosen one for port 0). Throws Error(io)
  /// when the address cannot be bound.
  int bind();
  /// Serves until drain() has finished. Call bind() first.
  void listen();
  /// Starts draining and returns: new requests get 503, in-flight ones finish (for at most
  /// [serve] drain_timeout_s), then listen() returns. Safe from any thread, more than once.
  void drain();
  /// Requests being handled now.
  [[nodiscard]] int in_flight() const;
  /// The OpenAPI 3 document served at /openapi.json.
  [[nodiscard]] static nlohmann::json openapi();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace georank
