#pragma once
// The service's Prometheus metrics: request counts by route and status, latency histograms by
// route, and the gauges and counters the caller adds when the text is written.

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace georank::serve {

class Metrics {
 public:
  void observe(const std::string& route, int status, double seconds);
  /// The exposition text (format 0.0.4) of the requests, with `extra` lines appended.
  [[nodiscard]] std::string text(const std::string& extra) const;

  static constexpr std::array<double, 12> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1,    2.5,   10};

 private:
  struct Histogram {
    std::array<std::int64_t, kBuckets.size()> counts{};
    std::int64_t n = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::int64_t> requests_;
  std::map<std::string, Histogram> latency_;
};

}  // namespace georank::serve
