#include "georank/core/parse_number.hpp"

#include <cmath>

namespace georank {

std::optional<double> parse_finite_double(std::string_view text) noexcept {
  if (text.empty()) return std::nullopt;
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace georank
