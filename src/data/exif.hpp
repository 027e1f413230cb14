#pragma once
// EXIF orientation: phone cameras store pixels as the sensor saw them and say in the JPEG's
// EXIF block how to turn them upright. Decoders that ignore it embed a rotated photo.

#include <cstdint>
#include <span>

#include "georank/data/image.hpp"

namespace georank {

/// The Orientation tag (1..8) of a JPEG's EXIF block; 1 (upright) when the file is not a
/// JPEG, has no EXIF block, or the block is malformed. Reads within `bytes` only.
int jpeg_exif_orientation(std::span<const std::uint8_t> bytes);

/// `image` turned upright for an EXIF orientation 1..8 (5..8 swap width and height). The id
/// is not recomputed: call finalize().
Image apply_exif_orientation(const Image& image, int orientation);

}  // namespace georank
