#include "georank/serve/http_service.hpp"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "georank/core/atomic_file.hpp"
#include "georank/core/base64.hpp"
#include "georank/core/error.hpp"
#include "georank/core/log.hpp"
#include "georank/core/parse_number.hpp"
#include "georank/serve/data_roots.hpp"
#include "metrics.hpp"

namespace georank {

using nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// The page: [serve] web_root, GEORANK_WEB_DIST, then the build's and the install's copy.
std::string find_web_root(const ServeConfig& c) {
  std::vector<std::string> candidates;
  if (!c.web_root.empty()) return c.web_root;
  if (const char* env = std::getenv("GEORANK_WEB_DIST"); env && *env) candidates.emplace_back(env);
#ifdef GEORANK_WEB_DIST_DIR
  candidates.emplace_back(GEORANK_WEB_DIST_DIR);
#endif
#ifdef GEORANK_WEB_INSTALL_DIR
  candidates.emplace_back(GEORANK_WEB_INSTALL_DIR);
#endif
  for (const auto& d : candidates)
    if (fs::exists(fs::path(d) / "index.html")) return d;
  return "";
}

std::string content_type_of(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  for (char& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".gif") return "image/gif";
  if (ext == ".bmp") return "image/bmp";
  if (ext == ".ppm" || ext == ".pgm") return "image/x-portable-anymap";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".woff2") return "font/woff2";
  return "application/octet-stream";
}

void set_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void set_error(httplib::Response& res, int status, const std::string& kind, const std::string& message) {
  set_json(res, status, {{"error", {{"kind", kind}, {"message", message}}}});
}

bool same_secret(const std::string& a, const std::string& b) {
  // Constant time in the length of the key: no early exit on the first differing byte.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < b.size(); ++i)
    diff |= static_cast<unsigned char>(b[i] ^ (i < a.size() ? a[i] : 0));
  return diff == 0;
}

std::int64_t int_param(const httplib::Request& req, const std::string& name, std::int64_t fallback) {
  if (!req.has_param(name.c_str())) return fallback;
  const auto v = parse_integer<std::int64_t>(req.get_param_value(name.c_str()));
  if (!v) throw Error(ErrorKind::invalid_argument, name + ": not an integer");
  return *v;
}

}  // namespace

struct HttpService::Impl {
  ServiceConfig cfg;
  const Localizer& localizer;
  const RunCatalog& runs;
  std::string key;
  std::string web_root;
  DataRoots web_roots;
  httplib::Server svr;
  serve::Metrics metrics;
  std::atomic<int> in_flight{0};
  std::atomic<bool> draining{false};
  std::once_flag drain_once;
  std::thread drainer;
  std::mutex mutex;
  std::condition_variable idle;
  int listen_fd = -1;

  Impl(const ServiceConfig& c, const Localizer& l, const RunCatalog& r, std::string k)
      : cfg(c), localizer(l), runs(r), key(std::move(k)) {}

  using Body = std::function<void(const httplib::Request&, httplib::Response&)>;
  httplib::Server::Handler route(const std::string& name, Body body);
  void install();
  void localize(const httplib::Request& req, httplib::Response& res);
  void send_file(httplib::Response& res, const std::string& path);
  bool refuse_early(const httplib::Request& req, httplib::Response& res);
  std::string metrics_text() const;
};

httplib::Server::Handler HttpService::Impl::route(const std::string& name, Body body) {
  return [this, name, body](const httplib::Request& req, httplib::Response& res) {
    const auto t0 = Clock::now();
    ++in_flight;
    try {
      res.status = 200;
      body(req, res);
    } catch (const BusyError& e) {
      res.set_header("Retry-After", std::to_string(e.retry_after_s()));
      set_error(res, 503, "busy", e.what());
    } catch (const TooLargeError& e) {
      set_error(res, 413, "too_large", e.what());
    } catch (const UnsupportedMediaError& e) {
      set_error(res, 415, "unsupported_media_type", e.what());
    } catch (const Error& e) {
      switch (e.kind()) {
        case ErrorKind::invalid_argument: set_error(res, 400, "invalid_argument", e.what()); break;
        case ErrorKind::not_found: set_error(res, 404, "not_found", e.what()); break;
        case ErrorKind::timeout: set_error(res, 504, "timeout", e.what()); break;
        case ErrorKind::backend: set_error(res, 502, "backend", e.what()); break;
        case ErrorKind::io: set_error(res, 503, "io", e.what()); break;
      }
    } catch (const json::exception& e) {
      set_error(res, 400, "invalid_argument", std::string("malformed JSON: ") + e.what());
    } catch (const std::exception& e) {
      log_error("internal error on {} {}: {}", req.method, req.path, e.what());
      set_error(res, 500, "internal", std::string("internal error (please report it): ") + e.what());
    }
    {
      std::lock_guard lock(mutex);
      --in_flight;
    }
    idle.notify_all();
    metrics.observe(name, res.status, std::chrono::duration<double>(Clock::now() - t0).count());
  };
}

// Answers before the body is read: draining, a missing key, a body over the limit.
bool HttpService::Impl::refuse_early(const httplib::Request& req, httplib::Response& res) {
  if (draining) {
    res.set_header("Retry-After", "5");
    res.set_header("Connection", "close");
    set_error(res, 503, "draining", "the service is shutting down");
    metrics.observe("refused", 503, 0);
    return true;
  }
  const bool guarded = req.path.rfind("/v1/", 0) == 0 || req.path == "/metrics";
  if (guarded && !key.empty()) {
    const std::string auth = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    if (auth.rfind(prefix, 0) != 0 || !same_secret(auth.substr(prefix.size()), key)) {
      res.set_header("WWW-Authenticate", "Bearer realm=\"georank\"");
      res.set_header("Connection", "close");
      set_error(
          res, 401, "unauthorized",
          auth.empty() ? "this service needs an API key: Authorization: Bearer <key>" : "wrong API key");
      metrics.observe("refused", 401, 0);
      return true;
    }
  }
  if (req.has_header("Content-Length")) {
    const auto n = parse_integer<std::int64_t>(req.get_header_value("Content-Length"));
    if (!n || *n > cfg.serve.max_body_bytes) {
      res.set_header("Connection", "close");
      set_error(res, n ? 413 : 400, n ? "too_large" : "invalid_argument",
                n ? fmt::format("the body of {} bytes exceeds the limit of {}", *n, cfg.serve.max_body_bytes)
                  : "Content-Length: not a number");
      metrics.observe("refused", res.status, 0);
      return true;
    }
  }
  return false;
}

void HttpService::Impl::send_file(httplib::Response& res, const std::string& path) {
  res.status = 200;
  res.set_content(read_file_text(path), content_type_of(path).c_str());
  res.set_header("Cache-Control", "private, max-age=300");
}

void HttpService::Impl::localize(const httplib::Request& req, httplib::Response& res) {
  LocalizeRequest lr;
  const std::string type = req.get_header_value("Content-Type");
  const auto field = [&](const char* name) -> std::optional<std::string> {
    if (req.is_multipart_form_data() && req.has_file(name)) return req.get_file_value(name).content;
    if (req.has_param(name)) return req.get_param_value(name);
    return std::nullopt;
  };
  if (req.is_multipart_form_data()) {
    if (!req.has_file("image"))
      throw Error(ErrorKind::invalid_argument, "multipart/form-data: no `image` field (the image file)");
    const auto f = req.get_file_value("image");
    lr.image.assign(f.content.begin(), f.content.end());
    if (!f.filename.empty()) lr.image_name = f.filename;
  } else if (type.rfind("application/json", 0) == 0) {
    const json body = json::parse(req.body);
    if (!body.is_object()) throw Error(ErrorKind::invalid_argument, "the JSON body must be an object");
    if (body.contains("image")) {
      if (!body["image"].is_string())
        throw Error(ErrorKind::invalid_argument, "image: expected a base64 string");
      std::string_view b64 = body["image"].get_ref<const std::string&>();
      if (b64.rfind("data:", 0) == 0) {
        const auto comma = b64.find(',');
        if (comma == std::string_view::npos || b64.substr(0, comma).find(";base64") == std::string_view::npos)
          throw Error(ErrorKind::invalid_argument, "image: a data: URI must be base64");
        b64.remove_prefix(comma + 1);
      }
      lr.image = base64_decode(b64, "image");
      if (lr.image.empty()) throw Error(ErrorKind::invalid_argument, "image: empty");
    }
    if (body.contains("embedding")) {
      if (!body["embedding"].is_array() || body["embedding"].empty())
        throw Error(ErrorKind::invalid_argument, "embedding: expected a non-empty array of numbers");
      for (const auto& v : body["embedding"]) {
        if (!v.is_number()) throw Error(ErrorKind::invalid_argument, "embedding: expected numbers only");
        lr.embedding.push_back(v.get<float>());
      }
    }
    if (body.contains("k")) {
      if (!body["k"].is_number_integer()) throw Error(ErrorKind::invalid_argument, "k: expected an integer");
      const auto k = body["k"].get<std::int64_t>();
      lr.k = static_cast<int>(std::clamp<std::int64_t>(k, -1, 1 << 30));
    }
    if (body.contains("strategy")) {
      if (!body["strategy"].is_string())
        throw Error(ErrorKind::invalid_argument, "strategy: expected a string");
      lr.strategy = body["strategy"].get<std::string>();
    }
    if (body.contains("heading_deg") && !body["heading_deg"].is_null()) {
      if (!body["heading_deg"].is_number())
        throw Error(ErrorKind::invalid_argument, "heading_deg: expected a number");
      lr.heading_deg = body["heading_deg"].get<double>();
    }
  } else if (type.rfind("image/", 0) == 0) {
    lr.image.assign(req.body.begin(), req.body.end());
  } else {
    throw UnsupportedMediaError(
        "Content-Type '" + type +
        "': send multipart/form-data (field `image`), application/json or an image/* body");
  }
  if (!type.starts_with("application/json")) {
    if (const auto k = field("k"); k && !k->empty()) {
      const auto v = parse_integer<int>(*k);
      if (!v) throw Error(ErrorKind::invalid_argument, "k: not an integer");
      lr.k = *v;
    }
    if (const auto s = field("strategy"); s && !s->empty()) lr.strategy = *s;
    if (const auto h = field("heading_deg"); h && !h->empty()) {
      const auto v = parse_finite_double(*h);
      if (!v) throw Error(ErrorKind::invalid_argument, "heading_deg: not a number");
      lr.heading_deg = *v;
    }
  }
  set_json(res, 200, localizer.localize(lr));
}

std::string HttpService::Impl::metrics_text() const {
  const LocalizerCounters c = localizer.counters();
  return metrics.text(fmt::format(
      "# HELP georank_in_flight_requests Requests being handled.\n# TYPE georank_in_flight_requests gauge\n"
      "georank_in_flight_requests {}\n"
      "# HELP georank_queue_depth Jobs waiting, by queue.\n# TYPE georank_queue_depth gauge\n"
      "georank_queue_depth{{queue=\"retrieval\"}} {}\ngeorank_queue_depth{{queue=\"judge\"}} {}\n"
      "# HELP georank_busy_workers Jobs running, by queue.\n# TYPE georank_busy_workers gauge\n"
      "georank_busy_workers{{queue=\"retrieval\"}} {}\ngeorank_busy_workers{{queue=\"judge\"}} {}\n"
      "# HELP georank_judge_calls_total Judgments the judges computed.\n# TYPE georank_judge_calls_total "
      "counter\n"
      "georank_judge_calls_total {}\n"
      "# HELP georank_judge_cache_hits_total Judgments the judgment cache answered.\n"
      "# TYPE georank_judge_cache_hits_total counter\ngeorank_judge_cache_hits_total {}\n"
      "# HELP georank_search_calls_total FAISS search calls (batches).\n# TYPE georank_search_calls_total "
      "counter\n"
      "georank_search_calls_total {}\n"
      "# HELP georank_searched_queries_total Queries searched.\n# TYPE georank_searched_queries_total "
      "counter\n"
      "georank_searched_queries_total {}\n"
      "# HELP georank_ready Whether the models are loaded and requests are taken.\n# TYPE georank_ready "
      "gauge\n"
      "georank_ready {}\n",
      in_flight.load(), c.retrieval_waiting, c.judge_waiting, c.retrieval_running, c.judge_running,
      c.judge_calls, c.cache_hits, c.searches, c.searched, draining ? 0 : 1));
}

void HttpService::Impl::install() {
  svr.set_socket_options([this](int fd) {
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_fd = fd;
  });
  svr.new_task_queue = [n = cfg.serve.connections] {
    return new httplib::ThreadPool(static_cast<size_t>(n));
  };
  svr.set_payload_max_length(static_cast<size_t>(cfg.serve.max_body_bytes));
  svr.set_read_timeout(std::chrono::seconds(30));
  svr.set_write_timeout(std::chrono::seconds(30));
  svr.set_keep_alive_max_count(1000);
  svr.set_keep_alive_timeout(5);
  svr.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    return refuse_early(req, res) ? httplib::Server::HandlerResponse::Handled
                                  : httplib::Server::HandlerResponse::Unhandled;
  });
  // curl asks before sending a large body: refuse it there instead of reading it.
  svr.set_expect_100_continue_handler([this](const httplib::Request& req, httplib::Response& res) {
    return refuse_early(req, res) ? res.status : 100;
  });
  // Statuses httplib answers itself (a malformed request, a body over the limit) get our body.
  svr.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    const int s = res.status;
    const std::string kind = s == 413   ? "too_large"
                             : s == 404 ? "not_found"
                             : s == 400 ? "invalid_argument"
                                        : "http_error";
    set_error(res, s, kind, fmt::format("HTTP status {}", s));
  });
  svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    set_error(res, 500, "internal", "internal error (please report it)");
  });

  svr.Post("/v1/localize", route("/v1/localize", [this](const auto& req, auto& res) { localize(req, res); }));
  svr.Get("/v1/info", route("/v1/info", [this](const auto&, auto& res) {
            json info = localizer.info();
            info["service"] = "georank";
            info["version"] = "0.1.0";
            info["api_key_required"] = !key.empty();
            set_json(res, 200, info);
          }));
  svr.Get(R"(/v1/tiles/([^/]+)/meta)", route("/v1/tiles/{id}/meta", [this](const auto& req, auto& res) {
            set_json(res, 200, localizer.tile_meta(req.matches[1]));
          }));
  svr.Get(R"(/v1/tiles/([^/]+))", route("/v1/tiles/{id}", [this](const auto& req, auto& res) {
            send_file(res, localizer.tile_image_path(req.matches[1]));
          }));
  svr.Get("/v1/runs", route("/v1/runs", [this](const auto&, auto& res) { set_json(res, 200, runs.list()); }));
  svr.Get(R"(/v1/runs/([^/]+))", route("/v1/runs/{run}", [this](const auto& req, auto& res) {
            set_json(res, 200, runs.run(req.matches[1]));
          }));
  svr.Get(R"(/v1/runs/([^/]+)/queries)", route("/v1/runs/{run}/queries", [this](const auto& req, auto& res) {
            const std::string strategy = req.has_param("strategy") ? req.get_param_value("strategy") : "";
            const std::string filter = req.has_param("filter") ? req.get_param_value("filter") : "all";
            set_json(res, 200,
                     runs.queries(req.matches[1], int_param(req, "offset", 0), int_param(req, "limit", 50),
                                  strategy, filter));
          }));
  svr.Get(R"(/v1/runs/([^/]+)/queries/([^/]+))",
          route("/v1/runs/{run}/queries/{id}", [this](const auto& req, auto& res) {
            set_json(res, 200, runs.query(req.matches[1], req.matches[2]));
          }));
  svr.Get(R"(/v1/runs/([^/]+)/images/(query|tile)/([^/]+))",
          route("/v1/runs/{run}/images", [this](const auto& req, auto& res) {
            send_file(res, req.matches[2] == "query" ? runs.query_image_path(req.matches[1], req.matches[3])
                                                     : runs.tile_image_path(req.matches[1], req.matches[3]));
          }));
  svr.Get("/health", route("/health", [](const auto&, auto& res) {
            set_json(res, 200, {{"status", "ok"}});
          }));
  svr.Get("/ready", route("/ready", [this](const auto&, auto& res) {
            set_json(res, 200, {{"ready", true}, {"gallery_size", localizer.dataset().gallery.size()}});
          }));
  svr.Get("/metrics", route("/metrics", [this](const auto&, auto& res) {
            res.set_content(metrics_text(), "text/plain; version=0.0.4");
          }));
  svr.Get("/openapi.json",
          route("/openapi.json", [](const auto&, auto& res) { set_json(res, 200, openapi()); }));
  svr.Get(R"(/(.*))", route("/ (page)", [this](const auto& req, auto& res) {
            if (web_root.empty())
              throw Error(
                  ErrorKind::not_found,
                  "the browser page is not installed (scripts/setup builds it with npm); the API is at /v1");
            std::string rel = req.matches[1];
            if (rel.empty()) rel = "index.html";
            const auto path = web_roots.resolve_under(web_root, rel);
            if (!path) throw Error(ErrorKind::not_found, "no such page: /" + std::string(req.matches[1]));
            send_file(res, *path);
            res.set_header("X-Content-Type-Options", "nosniff");
            res.set_header(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; "
                "script-src 'self' 'unsafe-eval'; connect-src 'self'");
          }));
}

HttpService::HttpService(const ServiceConfig& config, const Localizer& localizer, const RunCatalog& runs,
                         std::string api_key)
    : impl_(std::make_unique<Impl>(config, localizer, runs, std::move(api_key))) {
  impl_->web_root = find_web_root(config.serve);
  if (!impl_->web_root.empty()) impl_->web_roots.add(impl_->web_root);
  impl_->install();
}

HttpService::~HttpService() {
  if (impl_->drainer.joinable()) impl_->drainer.join();
}

int HttpService::bind() {
  const ServeConfig& c = impl_->cfg.serve;
  if (c.port == 0) {
    const int port = impl_->svr.bind_to_any_port(c.host);
    if (port < 0) throw Error(ErrorKind::io, "cannot listen on " + c.host + " (any port)");
    return port;
  }
  if (!impl_->svr.bind_to_port(c.host, c.port))
    throw Error(
        ErrorKind::io,
        fmt::format("cannot listen on {}:{} (in use, or not an address of this machine)", c.host, c.port));
  return c.port;
}

void HttpService::listen() {
  if (impl_->draining) return;
  impl_->svr.listen_after_bind();
  if (impl_->drainer.joinable()) impl_->drainer.join();
}

void HttpService::drain() {
  Impl& s = *impl_;
  std::call_once(s.drain_once, [&s] {
    s.draining = true;
    s.drainer = std::thread([&s] {
      {
        std::unique_lock lock(s.mutex);
        const auto limit =
            std::chrono::milliseconds(static_cast<std::int64_t>(s.cfg.serve.drain_timeout_s * 1000));
        if (!s.idle.wait_for(lock, limit, [&s] { return s.in_flight.load() == 0; }))
          log_warn("drain: {} requests still running after {} s; stopping anyway", s.in_flight.load(),
                   s.cfg.serve.drain_timeout_s);
      }
      s.svr.stop();
    });
  });
}

int HttpService::in_flight() const {
  return impl_->in_flight.load();
}

}  // namespace georank
