#include "metrics.hpp"

#include <fmt/format.h>

namespace georank::serve {

void Metrics::observe(const std::string& route, int status, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{route, status}];
  Histogram& h = latency_[route];
  for (std::size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) ++h.counts[i];
  ++h.n;
  h.sum += seconds;
}

std::string Metrics::text(const std::string& extra) const {
  std::lock_guard lock(mutex_);
  std::string out =
      "# HELP georank_http_requests_total HTTP requests answered, by route and status.\n"
      "# TYPE georank_http_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    out += fmt::format("georank_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", key.first,
                       key.second, n);
  out +=
      "# HELP georank_http_request_duration_seconds Time from routing to the response, by route.\n"
      "# TYPE georank_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    for (std::size_t i = 0; i < kBuckets.size(); ++i)
      out += fmt::format("georank_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n", route,
                         kBuckets[i], h.counts[i]);
    out += fmt::format("georank_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n", route,
                       h.n);
    out += fmt::format("georank_http_request_duration_seconds_sum{{route=\"{}\"}} {:.6f}\n", route, h.sum);
    out += fmt::format("georank_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", route, h.n);
  }
  return out + extra;
}

}  // namespace georank::serve
