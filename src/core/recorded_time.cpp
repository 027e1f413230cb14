#include "georank/core/recorded_time.hpp"

#include <cstdlib>
#include <ctime>
#include <string_view>

#include "georank/core/parse_number.hpp"

namespace georank {

bool reproducible_outputs() {
  const char* v = std::getenv("GEORANK_REPRODUCIBLE");
  return v != nullptr && std::string_view(v) != "" && std::string_view(v) != "0";
}

double recorded_seconds(double seconds) {
  return reproducible_outputs() ? 0.0 : seconds;
}

double recorded_seconds_since(std::chrono::steady_clock::time_point start) {
  return recorded_seconds(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

std::string recorded_utc_now() {
  std::time_t t = std::time(nullptr);
  if (reproducible_outputs()) {
    const char* epoch = std::getenv("SOURCE_DATE_EPOCH");
    const auto parsed = epoch != nullptr ? parse_integer<std::int64_t>(epoch) : std::nullopt;
    t = static_cast<std::time_t>(parsed.value_or(0));
  }
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace georank
