#include "data/exif.hpp"

#include <cstring>
#include <string_view>

namespace georank {
namespace {

// A bounds-checked view of the TIFF structure inside the EXIF block.
class Tiff {
 public:
  Tiff(std::span<const std::uint8_t> bytes, bool big_endian) : b_(bytes), be_(big_endian) {}
  bool u16(std::size_t at, std::uint32_t& v) const {
    if (at > b_.size() || b_.size() - at < 2) return false;
    v = be_ ? (b_[at] << 8) | b_[at + 1] : b_[at] | (b_[at + 1] << 8);
    return true;
  }
  bool u32(std::size_t at, std::uint32_t& v) const {
    std::uint32_t hi = 0, lo = 0;
    if (!u16(at, be_ ? hi : lo) || !u16(at + 2, be_ ? lo : hi)) return false;
    v = (hi << 16) | lo;
    return true;
  }

 private:
  std::span<const std::uint8_t> b_;
  bool be_;
};

int orientation_in_exif(std::span<const std::uint8_t> exif) {
  // "Exif\0\0", then a TIFF header: byte order, 42, offset of IFD0.
  static constexpr std::string_view kExif("Exif\0\0", 6);
  if (exif.size() < 14 || std::memcmp(exif.data(), kExif.data(), kExif.size()) != 0) return 1;
  const auto tiff = exif.subspan(6);
  bool big_endian = false;
  if (tiff[0] == 'M' && tiff[1] == 'M') {
    big_endian = true;
  } else if (!(tiff[0] == 'I' && tiff[1] == 'I')) {
    return 1;
  }
  const Tiff t(tiff, big_endian);
  std::uint32_t magic = 0, ifd = 0, n = 0;
  if (!t.u16(2, magic) || magic != 42 || !t.u32(4, ifd) || !t.u16(ifd, n)) return 1;
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::size_t entry = static_cast<std::size_t>(ifd) + 2 + 12 * static_cast<std::size_t>(i);
    std::uint32_t tag = 0, type = 0, value = 0;
    if (!t.u16(entry, tag) || !t.u16(entry + 2, type)) return 1;
    if (tag != 0x0112) continue;
    if (type != 3 || !t.u16(entry + 8, value)) return 1;  // SHORT, stored in the value field
    return value >= 1 && value <= 8 ? static_cast<int>(value) : 1;
  }
  return 1;
}

}  // namespace

int jpeg_exif_orientation(std::span<const std::uint8_t> b) {
  if (b.size() < 4 || b[0] != 0xFF || b[1] != 0xD8) return 1;
  std::size_t at = 2;
  while (at + 4 <= b.size()) {
    if (b[at] != 0xFF) return 1;
    const std::uint8_t marker = b[at + 1];
    if (marker == 0xFF) {  // fill byte
      ++at;
      continue;
    }
    if (marker == 0xDA || marker == 0xD9) return 1;  // image data or end: no EXIF before it
    const std::size_t length = (static_cast<std::size_t>(b[at + 2]) << 8) | b[at + 3];
    if (length < 2 || at + 2 + length > b.size()) return 1;
    if (marker == 0xE1) {
      const int o = orientation_in_exif(b.subspan(at + 4, length - 2));
      if (o != 1) return o;
    }
    at += 2 + length;
  }
  return 1;
}

Image apply_exif_orientation(const Image& src, int orientation) {
  if (orientation <= 1 || orientation > 8) return src;
  const int w = src.width, h = src.height;
  const bool swap = orientation >= 5;
  Image out;
  out.width = swap ? h : w;
  out.height = swap ? w : h;
  out.rgb.resize(src.rgb.size());
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x) {
      int sx = x, sy = y;
      switch (orientation) {
        case 2: sx = w - 1 - x; break;  // mirrored
        case 3:
          sx = w - 1 - x;
          sy = h - 1 - y;
          break;                        // rotated 180
        case 4: sy = h - 1 - y; break;  // mirrored vertically
        case 5:
          sx = y;
          sy = x;
          break;  // transposed
        case 6:
          sx = y;
          sy = h - 1 - x;
          break;  // to be turned 90 degrees clockwise
        case 7:
          sx = w - 1 - y;
          sy = h - 1 - x;
          break;  // transversed
        case 8:
          sx = w - 1 - y;
          sy = x;
          break;  // to be turned 90 degrees counter-clockwise
        default: break;
      }
      const std::size_t from = (static_cast<std::size_t>(sy) * w + sx) * 3;
      const std::size_t to = (static_cast<std::size_t>(y) * out.width + x) * 3;
      std::memcpy(out.rgb.data() + to, src.rgb.data() + from, 3);
    }
  return out;
}

}  // namespace georank
