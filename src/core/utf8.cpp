#include "georank/core/utf8.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "georank/core/error.hpp"

namespace georank {

std::optional<std::size_t> first_invalid_utf8(std::string_view text) noexcept {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;  // overlong
      if (c == 0xed) hi = 0x9f;  // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;  // overlong
      if (c == 0xf4) hi = 0x8f;  // above U+10FFFF
    } else {
      return i;
    }
    if (i + len > n) return i;
    if (s[i + 1] < lo || s[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k)
      if ((s[i + k] & 0xc0) != 0x80) return i;
    i += len;
  }
  return std::nullopt;
}

std::string to_valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const auto bad = first_invalid_utf8(text);
    if (!bad) {
      out.append(text);
      break;
    }
    out.append(text.substr(0, *bad));
    out.append("\xef\xbf\xbd");
    text.remove_prefix(*bad + 1);
  }
  return out;
}

void require_utf8(std::string_view text, const std::string& source, std::size_t first_line) {
  const auto bad = first_invalid_utf8(text);
  if (!bad) return;
  const auto before = text.substr(0, *bad);
  const std::size_t line =
      first_line + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
  const auto line_start = before.rfind('\n');
  const std::size_t column = *bad - (line_start == std::string_view::npos ? 0 : line_start + 1) + 1;
  throw Error(ErrorKind::invalid_argument,
              fmt::format("{}:{}: not valid UTF-8 (byte 0x{:02x} at column {}); text inputs must be UTF-8",
                          source, line, static_cast<unsigned char>(text[*bad]), column));
}

}  // namespace georank
