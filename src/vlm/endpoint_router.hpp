#pragma once
// Which server of a remote judge takes which request of a batch: least outstanding requests
// first, and health-aware. An endpoint whose requests keep failing after their retries (the
// connection refused, timeouts, 5xx) is rested, then probed with one request: an answer makes
// it healthy again, a failure rests it twice as long. A request that failed on one endpoint
// goes back to the queue for the others, so a server dying mid-run loses nothing; a request
// that failed on every endpoint fails the batch.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace georank::remote {

struct RouterConfig {
  int failures_before_rest = 2;  ///< consecutive failed requests that rest an endpoint
  double rest_s = 1.0;           ///< the first rest; each further rest doubles it
  double max_rest_s = 60.0;
};

/// What the router knows of one endpoint (kept across batches).
struct EndpointHealth {
  int consecutive_failures = 0;
  int n_rests = 0;       ///< rests since the endpoint last answered
  bool resting = false;  ///< rested and not yet answered a probe
  std::chrono::steady_clock::time_point rest_until{};
  std::size_t outstanding = 0;  ///< requests in flight now
  std::size_t n_answered = 0;   ///< requests it answered (over the router's lifetime)
  std::size_t n_failed = 0;     ///< requests that failed on it
};

class EndpointRouter {
 public:
  /// `names`: the endpoints' URLs, for the log.
  EndpointRouter(std::vector<std::string> names, RouterConfig config);

  /// Starts a batch of `n_requests`, served by `slots[e]` worker slots of endpoint e.
  void begin(std::size_t n_requests, std::vector<std::size_t> slots);
  /// Blocks until endpoint `e` should take a request (its index) or the batch is over (done or
  /// cancelled: nullopt). A healthy endpoint takes one when no other endpoint with a free slot
  /// has fewer in flight; a resting one only once its rest is over, one request at a time (the
  /// probe).
  std::optional<std::size_t> next(std::size_t e);
  /// Request `i` answered by endpoint `e`.
  void answered(std::size_t e, std::size_t i);
  /// Request `i` failed on endpoint `e` after its retries. Returns true when it was queued
  /// again for another endpoint; false when every endpoint has failed it (the caller fails
  /// the batch). `why` goes to the log.
  bool failed(std::size_t e, std::size_t i, const std::string& why);
  /// Ends the batch early: every next() returns nullopt.
  void cancel();

  [[nodiscard]] EndpointHealth health(std::size_t e) const;

 private:
  bool can_take(std::size_t e, std::chrono::steady_clock::time_point now) const;

  std::vector<std::string> names_;
  RouterConfig config_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<EndpointHealth> health_;
  std::vector<std::size_t> slots_;
  std::vector<std::size_t> queue_;            ///< requests waiting, next at the back
  std::vector<std::vector<bool>> failed_on_;  ///< [request][endpoint]
  std::size_t n_left_ = 0;                    ///< requests not yet answered
  bool cancelled_ = false;
};

}  // namespace georank::remote
