#pragma once
/// The service's config: a run config (eval/experiment.hpp) with one [serve] table added.
/// `georank serve --config serve.toml` and `georank localize --config serve.toml` read it;
/// a run's own OUT/run.resolved.toml is a valid serve config (its [serve] table defaults).

#include <cstdint>
#include <string>
#include <vector>

#include "georank/core/config.hpp"
#include "georank/eval/experiment.hpp"

namespace georank {

/// The [serve] table (`georank serve` flags).
struct ServeConfig {
  std::string host = "127.0.0.1";  ///< listen address; loopback unless told otherwise
  int port = 8080;                 ///< 0: any free port (printed at start)
  /// Finished runs to browse: a run folder (holding summary.json) or a folder of them.
  /// Empty: the config's `out` when it holds a finished run.
  std::string runs;
  /// The built browser page (index.html + assets/). Empty: GEORANK_WEB_DIST, else the page
  /// installed with the binary.
  std::string web_root;
  /// Environment variable holding the API key; when it is set and not empty, every /v1 and
  /// /metrics request needs `Authorization: Bearer <key>`.
  std::string api_key_env = "GEORANK_API_KEY";
  /// File whose first line is the API key (instead of the variable).
  std::string api_key_file;
  std::int64_t max_body_bytes = 32LL * 1024 * 1024;  ///< larger requests get 413 unread
  std::int64_t max_pixels = 40LL * 1000 * 1000;      ///< larger images get 413 undecoded
  int max_k = 100;                                   ///< largest `k` a request may ask
  int workers = 2;                                   ///< localize requests encoding at once
  int retrieval_queue = 64;                          ///< requests waiting for a worker; more: 503
  int judge_queue = 4;             ///< rerank jobs waiting per judge; more: 503 with Retry-After
  int connections = 64;            ///< HTTP connections served at once (threads)
  int max_batch = 64;              ///< queries searched together in one FAISS call
  double request_timeout_s = 120;  ///< a request waiting or judging longer gets 503 / 504
  double drain_timeout_s = 60;     ///< SIGTERM: how long in-flight requests may finish
  /// Default rerank strategy (a [strategies.<name>]) for requests that name none; empty or
  /// "none": retrieval only.
  std::string strategy;
  /// Folders images may be read from besides the dataset's root and the runs folder.
  std::vector<std::string> data_roots;
  std::string gallery_embeddings;  ///< G.npy (G.ids beside it); empty: OUT/embeddings/gallery.npy

  template <class Self, class Visit>
  static void fields(Self& c, Visit&& v) {
    v("host", c.host, "Listen address (loopback unless told otherwise)");
    v("port", c.port, "Listen port (0: any free port)");
    v("runs", c.runs, "Finished runs to browse: a run folder or a folder of runs");
    v("web_root", c.web_root, "The built browser page (default: the installed one)");
    v("api_key_env", c.api_key_env, "Environment variable holding the API key (unset: no key)");
    v("api_key_file", c.api_key_file, "File whose first line is the API key");
    v("max_body_bytes", c.max_body_bytes, "Largest request body (bytes)");
    v("max_pixels", c.max_pixels, "Largest uploaded image (pixels)");
    v("max_k", c.max_k, "Largest k a request may ask");
    v("workers", c.workers, "Localize requests encoding at once");
    v("retrieval_queue", c.retrieval_queue, "Requests waiting for a worker (more: 503)");
    v("judge_queue", c.judge_queue, "Rerank jobs waiting per judge (more: 503)");
    v("connections", c.connections, "HTTP connections served at once");
    v("max_batch", c.max_batch, "Queries searched together in one FAISS call");
    v("request_timeout_s", c.request_timeout_s, "Per-request deadline (seconds)");
    v("drain_timeout_s", c.drain_timeout_s, "SIGTERM: seconds in-flight requests may take");
    v("strategy", c.strategy, "Default rerank strategy of a request (empty: retrieval only)");
    v("data_roots", c.data_roots, "More folders images may be read from");
    v("gallery_embeddings", c.gallery_embeddings, "Gallery G.npy (default: OUT/embeddings/gallery.npy)");
  }
};

/// Checks ranges; throws Error(invalid_argument) naming the field.
void validate(const ServeConfig& config);

/// A serve config file: the run config and its [serve] table.
struct ServiceConfig {
  ExperimentConfig experiment;
  ServeConfig serve;
  std::string source;  ///< the file it was read from
};

/// Reads a serve config. A config without strategies is retrieval-only. Throws as
/// read_experiment_config does, naming the file, line and key.
ServiceConfig read_service_config(const std::string& path);

/// The API key the config names (the variable, else the file); empty: none. Throws
/// Error(not_found / invalid_argument) for a missing or empty key file.
std::string api_key_of(const ServeConfig& config);

}  // namespace georank
