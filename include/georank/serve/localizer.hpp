#pragma once
/// Localisation as a library call: a street-level image (or its embedding) -> the gallery's
/// top-K tiles -> optionally a judge's reranked order -> the best estimate of where it was
/// taken. What `POST /v1/localize` and `georank localize` both call.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "georank/data/dataset.hpp"
#include "georank/rerank/rerank_step.hpp"
#include "georank/serve/serve_config.hpp"
#include "georank/vlm/vlm.hpp"

namespace georank {

/// One localisation request. Exactly one of `image` and `embedding` is set.
struct LocalizeRequest {
  std::vector<std::uint8_t> image;  ///< the encoded image (JPEG, PNG, BMP, GIF, PPM)
  std::string image_name = "image";
  std::vector<float> embedding;  ///< a query embedding of the gallery's width, instead
  std::optional<int> k;          ///< candidates returned; default [retrieve] k
  /// A [strategies.<name>] of the config, or "none"; default [serve] strategy.
  std::optional<std::string> strategy;
  /// Compass heading of the panorama's centre column, degrees clockwise from north; unknown
  /// when not given (the image is used as it is).
  std::optional<double> heading_deg;
  /// The request's deadline: past it, waiting for a worker or the judge ends in
  /// Error(timeout). Default: now + [serve] request_timeout_s.
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

/// A request the service cannot take now (a queue is full): HTTP 503 with Retry-After.
class BusyError : public Error {
 public:
  BusyError(const std::string& message, int retry_after_s)
      : Error(ErrorKind::timeout, message), retry_after_s_(retry_after_s) {}
  [[nodiscard]] int retry_after_s() const noexcept { return retry_after_s_; }

 private:
  int retry_after_s_;
};

/// Input of a type the service does not read (HTTP 415).
class UnsupportedMediaError : public Error {
 public:
  explicit UnsupportedMediaError(const std::string& message) : Error(ErrorKind::invalid_argument, message) {}
};

/// Input larger than the configured limits (HTTP 413).
class TooLargeError : public Error {
 public:
  explicit TooLargeError(const std::string& message) : Error(ErrorKind::invalid_argument, message) {}
};

/// What a localizer lets its caller decide.
struct LocalizerHooks {
  /// The judge of a strategy; default: make_vlm_backend (the simulated judge needs
  /// georank_fixtures' make_step_backend).
  std::function<std::unique_ptr<VlmBackend>(const JudgeConfig&, const DatasetImages&, std::uint64_t)>
      make_judge;
  /// Progress of loading (one line per stage); default: none.
  std::function<void(const std::string&)> on_status;
};

/// Counters, for /metrics.
struct LocalizerCounters {
  std::int64_t judge_calls = 0;  ///< judgments the judges computed
  std::int64_t cache_hits = 0;   ///< judgments the judgment cache answered
  std::int64_t searches = 0;     ///< FAISS calls
  std::int64_t searched = 0;     ///< queries searched
  int retrieval_waiting = 0;     ///< requests waiting for a worker
  int retrieval_running = 0;     ///< requests encoding now
  int judge_waiting = 0;         ///< rerank jobs queued, all judges
  int judge_running = 0;         ///< rerank jobs running, all judges
};

/// The loaded service state: gallery, embeddings, FAISS index, encoder, judges. Loading
/// happens once, in the constructor. `localize` may be called from many threads at once:
/// encoding runs on up to `workers` threads, searches of concurrent requests are batched
/// into one FAISS call, and each judge works through a bounded queue on its own thread.
class Localizer {
 public:
  /// Loads everything. Throws Error naming the file and field for a bad config, a missing
  /// gallery embedding or model.
  Localizer(const ServiceConfig& config, LocalizerHooks hooks = {});
  ~Localizer();
  Localizer(const Localizer&) = delete;
  Localizer& operator=(const Localizer&) = delete;

  /// Localises one request. The result (JSON): k, strategy, orientation, candidates (rank,
  /// tile, score, center, bounds, image_url, city), reranked (null or the judged order with
  /// evidence), estimate (lat, lon, tile, source), judge, timings_ms, caveats. Throws
  /// Error(invalid_argument) for bad input, TooLargeError, UnsupportedMediaError, BusyError
  /// and Error(timeout).
  [[nodiscard]] nlohmann::json localize(const LocalizeRequest& request) const;

  /// What the service offers: gallery size, k, strategies, judge records, caveats.
  [[nodiscard]] nlohmann::json info() const;
  /// A gallery tile's metadata; Error(not_found) for an unknown id.
  [[nodiscard]] nlohmann::json tile_meta(const std::string& tile_id) const;
  /// The tile's image file, checked to lie inside the data roots (symlinks resolved);
  /// Error(not_found) for an unknown id or a file outside them.
  [[nodiscard]] std::string tile_image_path(const std::string& tile_id) const;
  [[nodiscard]] const Dataset& dataset() const;
  [[nodiscard]] LocalizerCounters counters() const;
  /// Whether the given strategy's judge exists (a request may name it).
  [[nodiscard]] bool has_strategy(const std::string& name) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A tile's footprint [[south, west], [north, east]] from its centre and ground resolution
/// (VIGOR's 640-px frame), or null when either is unknown.
nlohmann::json tile_bounds(const Tile& tile);

}  // namespace georank
