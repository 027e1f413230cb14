#pragma once
// The dimensions an image file declares in its header, read before any decoder runs, so that
// an oversized image is named as such (stb refuses to even describe very large images).

#include <cstdint>
#include <optional>
#include <span>
#include <utility>

namespace georank {

/// (width, height) from a PNG's IHDR or a JPEG's first SOF segment; nullopt for other
/// formats or a header too short or malformed to tell. Reads within `bytes` only.
std::optional<std::pair<std::int64_t, std::int64_t>> declared_dimensions(std::span<const std::uint8_t> bytes);

}  // namespace georank
