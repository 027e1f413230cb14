#pragma once
/// A one-line progress bar on stderr for long loops: items/s and ETA.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace georank {

/// "label  45% |#########           | 450/1000  12.3 img/s  ETA 0:45". `rate` in units per
/// second (<= 0: unknown, no ETA); `bar_width` in characters.
std::string format_progress(std::string_view label, std::size_t done, std::size_t total, double rate,
                            std::string_view unit = "img", int bar_width = 24);

/// Seconds as "m:ss" or "h:mm:ss".
std::string format_duration(double seconds);

/// Redraws one stderr line (carriage return, no newline) at most five times a second, and
/// only once the loop has run for `delay` — short runs print nothing. Silent when stderr is
/// not a terminal, when GEORANK_QUIET=1, or when constructed with `enabled = false`. The rate
/// counts items since construction. Not thread-safe: call from one thread.
class ProgressBar {
 public:
  ProgressBar(std::string label, std::size_t total, std::string unit = "img",
              bool enabled = default_enabled(),
              std::chrono::milliseconds delay = std::chrono::milliseconds(1000));
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  /// Sets the number of finished items.
  void update(std::size_t done);
  /// Draws the final state and ends the line (only when the bar was shown).
  void finish();

  /// stderr is a terminal and GEORANK_QUIET is not 1.
  static bool default_enabled();

 private:
  void draw(bool final);
  std::string label_;
  std::string unit_;
  std::size_t total_;
  std::size_t done_ = 0;
  bool enabled_;
  bool shown_ = false;
  bool finished_ = false;
  std::chrono::milliseconds delay_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace georank
