#include "georank/core/log.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

namespace georank {
namespace {

LogLevel level_from_env() {
  if (const char* v = std::getenv("GEORANK_LOG")) {
    const std::string s = v;
    if (s == "debug") return LogLevel::debug;
    if (s == "info") return LogLevel::info;
    if (s == "warn") return LogLevel::warn;
    if (s == "error") return LogLevel::error;
    if (s == "off") return LogLevel::off;
  }
  if (const char* v = std::getenv("GEORANK_VERBOSE"); v && std::string(v) == "1") return LogLevel::debug;
  if (const char* v = std::getenv("GEORANK_QUIET"); v && std::string(v) == "1") return LogLevel::warn;
  return LogLevel::info;
}

std::atomic<int>& level_ref() {
  static std::atomic<int> level{static_cast<int>(level_from_env())};
  return level;
}

std::mutex& write_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

LogLevel log_level() {
  return static_cast<LogLevel>(level_ref().load(std::memory_order_relaxed));
}

void set_log_level(LogLevel level) {
  level_ref().store(static_cast<int>(level));
}

void log_write(LogLevel level, std::string_view message) {
  static constexpr const char* tags[] = {"debug", "info", "warning", "error", ""};
  std::string line = level == LogLevel::info
                         ? std::string(message)
                         : fmt::format("georank: {}: {}", tags[static_cast<int>(level)], message);
  if (line.empty() || line.back() != '\n') line.push_back('\n');
  std::lock_guard lock(write_mutex());
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace georank
