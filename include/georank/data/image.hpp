#pragma once
/// Decoded RGB images: the one pixel type shared by the encoder, the VLM backends and the
/// fixture generators.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace georank {

/// 8-bit RGB image, row-major, `rgb.size() == width * height * 3`.
struct Image {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> rgb;
  /// Content hash: lower-case hex SHA-256 of (width, height, rgb). Set by the loaders and by
  /// `finalize()`; used as the image-embedding and judgment cache key.
  std::string id;

  /// Recomputes `id` from the pixels; call after changing them.
  void finalize();
};

struct ImageLimits {
  /// Images with more pixels are rejected before any pixel memory is allocated
  /// (decompression-bomb guard). VIGOR panoramas are 2048x1024.
  std::int64_t max_pixels = 64LL * 1024 * 1024;
  /// Turn JPEGs upright by their EXIF Orientation tag (phone photos), as viewers do. Off:
  /// the stored pixels as they are. Outputs record which (`image_decoding` in their meta).
  bool apply_exif_orientation = true;
};

/// Decodes a JPEG/PNG/BMP/GIF/PPM file. Throws Error(not_found) for a missing file and
/// Error(invalid_argument) naming the file for corrupt, truncated or oversized images.
Image load_image(const std::string& path, const ImageLimits& limits = {});
/// Same for an encoded buffer; `name` is used in error messages.
Image decode_image(std::span<const std::uint8_t> encoded, const std::string& name,
                   const ImageLimits& limits = {});

/// Whether `encoded` starts like a format decode_image reads (JPEG, PNG, BMP, GIF, PPM/PGM).
bool is_supported_image(std::span<const std::uint8_t> encoded);
/// (width, height) an encoded image declares, read from its header without decoding pixels;
/// nullopt when the header does not tell.
std::optional<std::pair<std::int64_t, std::int64_t>> image_dimensions(std::span<const std::uint8_t> encoded);

/// Lossless PNG encoding (what the remote backend sends, so both backends see equal pixels).
std::vector<std::uint8_t> encode_png(const Image& image);
/// Writes a PNG (write-then-rename). Throws Error(io).
void write_png(const Image& image, const std::string& path);
/// JPEG encoding of the given quality (1-100). Throws Error(io).
std::vector<std::uint8_t> encode_jpeg(const Image& image, int quality = 90);
/// Writes a JPEG of the given quality (1-100) (write-then-rename). Throws Error(io).
void write_jpeg(const Image& image, const std::string& path, int quality = 90);

enum class ResizeFilter {
  bilinear,  ///< bilinear with half-pixel centres (PyTorch align_corners=false, no antialias)
  area,      ///< box average over the source footprint (OpenCV INTER_AREA); best for downscaling
};

/// Resizes to width x height.
Image resize(const Image& image, int width, int height, ResizeFilter filter = ResizeFilter::bilinear);

}  // namespace georank
