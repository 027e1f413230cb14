// PNG/JPEG (and the other stb formats) decoding under a small pixel limit, with and without
// the EXIF orientation, and the EXIF reader itself.
#include <cstddef>
#include <cstdint>
#include <span>

#include "data/exif.hpp"
#include "georank/core/error.hpp"
#include "georank/data/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  (void)georank::jpeg_exif_orientation(bytes);
  for (bool exif : {true, false}) {
    georank::ImageLimits limits;
    limits.max_pixels = 1 << 20;
    limits.apply_exif_orientation = exif;
    try {
      const auto image = georank::decode_image(bytes, "fuzz", limits);
      if (image.rgb.size() != static_cast<std::size_t>(image.width) * image.height * 3) __builtin_trap();
    } catch (const georank::Error&) {
    }
  }
  return 0;
}
