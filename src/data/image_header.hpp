#pragma once
// The dimensions an image file declares in its header, read before any decoder runs, so that
// an oversized image is named as such (stb refuses to even describe very large images).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>

namespace georank {

/// (width, height) from a PNG's IHDR or a JPEG's first SOF segment; nullopt for other
/// formats or a header too short or malformed to tell. Reads within `bytes` only.
std::optional<std::pair<std::int64_t, std::int64_t>> declared_dimensions(std::span<const std::uint8_t> bytes);

/// What is wrong with a JPEG's Huffman tables (DHT segments) before the scan, or nullopt when
/// they are well formed or `bytes` is not a JPEG. A table declaring more than 256 codes would
/// make stb_image 2.27 write past its code-length array.
std::optional<std::string> jpeg_table_problem(std::span<const std::uint8_t> bytes);

}  // namespace georank
