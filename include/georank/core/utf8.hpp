#pragma once
// Text inputs (ids, label lists, CSVs, TOML) must be UTF-8: their strings end up in JSON
// outputs, and a byte that is not UTF-8 found only when the output is written would cost the
// work done before it. Readers check the whole text once, up front.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace georank {

/// Offset of the first byte of `text` that does not start or continue a valid UTF-8
/// sequence (overlong forms, surrogates and code points above U+10FFFF are invalid), or
/// nullopt when all of it is valid.
std::optional<std::size_t> first_invalid_utf8(std::string_view text) noexcept;

/// `text` with each invalid byte replaced by U+FFFD, e.g. generated text that a token limit
/// cut inside a multi-byte character.
std::string to_valid_utf8(std::string_view text);

/// Throws Error(invalid_argument) "<source>:<line>: not valid UTF-8 (byte 0x.. at column ..)"
/// when `text` is not valid UTF-8. `first_line` is the line number of the text's first line.
void require_utf8(std::string_view text, const std::string& source, std::size_t first_line = 1);

}  // namespace georank
