#include "georank/core/progress.hpp"

#include <unistd.h>

#include <fmt/format.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace georank {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto total = static_cast<long long>(std::llround(seconds));
  const long long h = total / 3600, m = (total / 60) % 60, s = total % 60;
  if (h > 0) return fmt::format("{}:{:02}:{:02}", h, m, s);
  return fmt::format("{}:{:02}", m, s);
}

std::string format_progress(std::string_view label, std::size_t done, std::size_t total, double rate,
                            std::string_view unit, int bar_width) {
  const double fraction =
      total == 0 ? 1.0 : std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
  const int filled = static_cast<int>(fraction * bar_width);
  std::string line = fmt::format("{} {:3}% |{}{}| {}/{}", label, static_cast<int>(fraction * 100),
                                 std::string(static_cast<std::size_t>(filled), '#'),
                                 std::string(static_cast<std::size_t>(bar_width - filled), ' '), done, total);
  if (rate > 0) {
    line += fmt::format("  {:.{}f} {}/s", rate, rate < 10 ? 2 : 1, unit);
    if (done < total) line += "  ETA " + format_duration(static_cast<double>(total - done) / rate);
  }
  return line;
}

bool ProgressBar::default_enabled() {
  const char* quiet = std::getenv("GEORANK_QUIET");
  if (quiet != nullptr && std::string_view(quiet) == "1") return false;
  return ::isatty(2) == 1;
}

ProgressBar::ProgressBar(std::string label, std::size_t total, std::string unit, bool enabled,
                         std::chrono::milliseconds delay)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      enabled_(enabled),
      delay_(delay),
      start_(std::chrono::steady_clock::now()) {}

ProgressBar::~ProgressBar() {
  finish();
}

void ProgressBar::update(std::size_t done) {
  done_ = done;
  if (!enabled_ || finished_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - start_ < delay_) return;
  if (shown_ && now - last_draw_ < std::chrono::milliseconds(200)) return;
  draw(false);
}

void ProgressBar::finish() {
  if (finished_) return;
  finished_ = true;
  if (shown_) draw(true);
}

void ProgressBar::draw(bool final) {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 && done_ > 0 ? static_cast<double>(done_) / elapsed : 0;
  std::string line(1, '\r');
  line += format_progress(label_, done_, total_, rate, unit_);
  if (final) line += "  " + format_duration(elapsed);
  line += "\033[K";  // clear what a longer previous line left
  if (final) line += "\n";
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
  shown_ = true;
  last_draw_ = now;
}

}  // namespace georank
