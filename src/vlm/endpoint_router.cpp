#include "vlm/endpoint_router.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

#include "georank/core/log.hpp"

namespace georank::remote {

using Clock = std::chrono::steady_clock;

EndpointRouter::EndpointRouter(std::vector<std::string> names, RouterConfig config)
    : names_(std::move(names)), config_(config), health_(names_.size()) {}

void EndpointRouter::begin(std::size_t n_requests, std::vector<std::size_t> slots) {
  std::lock_guard lock(mutex_);
  slots_ = std::move(slots);
  slots_.resize(health_.size(), 0);
  queue_.clear();
  for (std::size_t i = n_requests; i-- > 0;) queue_.push_back(i);  // request 0 at the back
  failed_on_.assign(n_requests, std::vector<bool>(health_.size(), false));
  n_left_ = n_requests;
  cancelled_ = false;
  for (auto& h : health_) h.outstanding = 0;
}

bool EndpointRouter::can_take(std::size_t e, Clock::time_point now) const {
  const EndpointHealth& h = health_[e];
  if (h.outstanding >= slots_[e]) return false;
  if (h.resting) return now >= h.rest_until && h.outstanding == 0;  // one probe at a time
  // Least outstanding: no other healthy endpoint with a free slot has fewer in flight. The
  // request waiting longest (at the back of the queue) goes where the least is waiting.
  for (std::size_t o = 0; o < health_.size(); ++o) {
    const EndpointHealth& other = health_[o];
    if (o == e || other.resting || other.outstanding >= slots_[o]) continue;
    if (other.outstanding < h.outstanding) return false;
  }
  return true;
}

std::optional<std::size_t> EndpointRouter::next(std::size_t e) {
  std::unique_lock lock(mutex_);
  while (true) {
    if (cancelled_ || n_left_ == 0) return std::nullopt;
    const auto now = Clock::now();
    if (!queue_.empty()) {
      // A request this endpoint already failed waits for the others, unless none is left
      // that has not failed it.
      auto it =
          std::find_if(queue_.rbegin(), queue_.rend(), [&](std::size_t i) { return !failed_on_[i][e]; });
      if (it != queue_.rend() && can_take(e, now)) {
        const std::size_t i = *it;
        queue_.erase(std::next(it).base());
        ++health_[e].outstanding;
        changed_.notify_all();  // the balance changed: another endpoint may take the next one
        return i;
      }
    }
    // Wait for a change (an answer, a failure, a request queued again) or the end of a rest.
    const EndpointHealth& h = health_[e];
    if (h.resting && h.rest_until > now) {
      changed_.wait_until(lock, h.rest_until);
    } else {
      changed_.wait_for(lock, std::chrono::milliseconds(200));
    }
  }
}

void EndpointRouter::answered(std::size_t e, std::size_t) {
  std::lock_guard lock(mutex_);
  EndpointHealth& h = health_[e];
  --h.outstanding;
  ++h.n_answered;
  if (h.resting) log_info("{} answers again", names_[e]);
  h.consecutive_failures = 0;
  h.n_rests = 0;
  h.resting = false;
  --n_left_;
  changed_.notify_all();
}

bool EndpointRouter::failed(std::size_t e, std::size_t i, const std::string& why) {
  const std::string& name = names_[e];
  std::lock_guard lock(mutex_);
  EndpointHealth& h = health_[e];
  --h.outstanding;
  ++h.n_failed;
  ++h.consecutive_failures;
  if (h.resting || h.consecutive_failures >= config_.failures_before_rest) {
    const double rest = std::min(config_.max_rest_s, config_.rest_s * std::ldexp(1.0, h.n_rests));
    ++h.n_rests;
    h.resting = true;
    h.rest_until =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(rest));
    log_warn("{} keeps failing ({}): resting it {:.1f} s, then probing it with one request", name, why, rest);
  }
  failed_on_[i][e] = true;
  const bool others_left =
      std::any_of(failed_on_[i].begin(), failed_on_[i].end(), [](bool failed) { return !failed; });
  if (others_left) {
    // Back in line by its place in the batch (the queue holds the lowest index at the back).
    queue_.insert(std::upper_bound(queue_.begin(), queue_.end(), i, std::greater<>()), i);
    log_info("{}: a request failed ({}); it goes to another server", name, why);
  }
  changed_.notify_all();
  return others_left;
}

void EndpointRouter::cancel() {
  std::lock_guard lock(mutex_);
  cancelled_ = true;
  changed_.notify_all();
}

EndpointHealth EndpointRouter::health(std::size_t e) const {
  std::lock_guard lock(mutex_);
  return health_[e];
}

}  // namespace georank::remote
