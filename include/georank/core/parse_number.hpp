#pragma once
/// Number parsing for file fields: the whole text must be the number (no spaces, signs only
/// where the type allows, no "inf" or "nan"), in the C locale whatever the process's locale.

#include <charconv>
#include <optional>
#include <string_view>
#include <system_error>

namespace georank {

/// The finite double spelled by all of `text`, or nullopt.
std::optional<double> parse_finite_double(std::string_view text) noexcept;

/// The integer of type T spelled by all of `text` in base 10 that T can hold, or nullopt.
template <class T>
std::optional<T> parse_integer(std::string_view text) noexcept {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace georank
