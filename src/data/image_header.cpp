#include "data/image_header.hpp"

#include <cstring>
#include <string>

namespace georank {
namespace {

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

// Calls `visit(marker, at, length)` for each marker segment of a JPEG (`at`: the segment's 0xFF,
// `length`: its length field) until `visit` returns false, the image ends (EOI), or the
// bytes stop looking like segments. After a scan header (SOS) the entropy-coded data is
// skipped up to the next 0xFF that is not a stuffed 0xFF00, a restart marker or a fill byte.
template <class Visit>
void for_each_jpeg_segment(std::span<const std::uint8_t> b, Visit&& visit) {
  if (b.size() < 4 || b[0] != 0xFF || b[1] != 0xD8) return;
  std::size_t at = 2;
  while (at + 4 <= b.size()) {
    if (b[at] != 0xFF) return;
    const std::uint8_t marker = b[at + 1];
    if (marker == 0xFF) {
      ++at;
      continue;
    }
    if (marker == 0xD9) return;
    const std::size_t length = (std::size_t{b[at + 2]} << 8) | b[at + 3];
    if (length < 2 || at + 2 + length > b.size()) return;
    if (!visit(marker, at, length)) return;
    at += 2 + length;
    if (marker == 0xDA) {
      while (at + 1 < b.size() && !(b[at] == 0xFF && b[at + 1] != 0x00 && b[at + 1] != 0xFF &&
                                    (b[at + 1] < 0xD0 || b[at + 1] > 0xD7)))
        ++at;
    }
  }
}

}  // namespace

std::optional<std::pair<std::int64_t, std::int64_t>> declared_dimensions(std::span<const std::uint8_t> b) {
  static constexpr std::uint8_t kPng[8] = {0x89, 'P', 'N', 'G', 13, 10, 26, 10};
  if (b.size() >= 24 && std::memcmp(b.data(), kPng, 8) == 0 && std::memcmp(b.data() + 12, "IHDR", 4) == 0)
    return std::pair<std::int64_t, std::int64_t>{be32(b.data() + 16), be32(b.data() + 20)};
  std::optional<std::pair<std::int64_t, std::int64_t>> dims;
  for_each_jpeg_segment(b, [&](std::uint8_t marker, std::size_t at, std::size_t length) {
    if (marker == 0xDA) return false;  // the frame header comes before the first scan
    // SOF0..SOF15 (not DHT C4, JPG C8, DAC CC): precision, height, width.
    const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof && length >= 7) {
      const std::int64_t height = (std::int64_t{b[at + 5]} << 8) | b[at + 6];
      const std::int64_t width = (std::int64_t{b[at + 7]} << 8) | b[at + 8];
      dims = std::pair{width, height};
      return false;
    }
    return true;
  });
  return dims;
}

std::optional<std::string> jpeg_table_problem(std::span<const std::uint8_t> b) {
  // Every DHT segment of the file, including those between the scans of a progressive JPEG.
  std::optional<std::string> problem;
  for_each_jpeg_segment(b, [&](std::uint8_t marker, std::size_t at, std::size_t length) {
    if (marker != 0xC4) return true;
    // A DHT segment holds tables of: class/id byte, 16 code counts, then that many symbols.
    std::size_t t = at + 4;
    const std::size_t end = at + 2 + length;
    while (t < end) {
      if (t + 17 > end) {
        problem = "truncated Huffman table (DHT)";
        return false;
      }
      std::size_t n = 0;
      for (std::size_t i = 1; i <= 16; ++i) n += b[t + i];
      if (n > 256) {
        problem = "Huffman table (DHT) declares " + std::to_string(n) + " codes, more than 256";
        return false;
      }
      t += 17 + n;
    }
    if (t != end) problem = "Huffman table (DHT) runs past its segment";
    return !problem;
  });
  return problem;
}

}  // namespace georank
