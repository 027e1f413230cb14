#include "georank/data/image.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>

#include "data/exif.hpp"
#include "data/image_header.hpp"
#include "georank/core/atomic_file.hpp"
#include "georank/core/error.hpp"
#include "georank/core/readable_file.hpp"
#include "georank/core/sha256.hpp"

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG  // the formats georank documents; the other decoders are attack surface only
#define STBI_ONLY_JPEG
#define STBI_NO_HDR
#define STBI_NO_LINEAR
#include <stb_image.h>
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>

namespace georank {
namespace {

namespace fs = std::filesystem;

std::vector<std::uint8_t> read_file(const std::string& path) {
  require_readable_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::io, path + ": cannot open for reading");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_atomically(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  write_file_atomic(path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

void append_to_vector(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<std::uint8_t>*>(context);
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  out->insert(out->end(), bytes, bytes + size);
}

void check_image(const Image& image) {
  if (image.width <= 0 || image.height <= 0 ||
      image.rgb.size() != static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height) * 3)
    throw Error(ErrorKind::invalid_argument, "image has inconsistent size");
}

}  // namespace

void Image::finalize() {
  Sha256 h;
  const std::int32_t dims[2] = {width, height};
  h.update(dims, sizeof dims);
  h.update(rgb.data(), rgb.size());
  id = h.hex();
}

bool is_supported_image(std::span<const std::uint8_t> b) {
  const auto starts = [&](std::initializer_list<std::uint8_t> magic) {
    return b.size() >= magic.size() && std::equal(magic.begin(), magic.end(), b.begin());
  };
  return starts({0xFF, 0xD8, 0xFF}) || starts({0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}) ||
         starts({'B', 'M'}) || starts({'G', 'I', 'F', '8'}) ||
         (b.size() >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6');
}

std::optional<std::pair<std::int64_t, std::int64_t>> image_dimensions(std::span<const std::uint8_t> encoded) {
  if (const auto dims = declared_dimensions(encoded)) return dims;
  if (encoded.empty() || encoded.size() > static_cast<std::size_t>(INT32_MAX)) return std::nullopt;
  int w = 0, h = 0, c = 0;
  if (!stbi_info_from_memory(encoded.data(), static_cast<int>(encoded.size()), &w, &h, &c))
    return std::nullopt;
  return std::pair<std::int64_t, std::int64_t>{w, h};
}

Image decode_image(std::span<const std::uint8_t> encoded, const std::string& name,
                   const ImageLimits& limits) {
  if (encoded.empty()) throw Error(ErrorKind::invalid_argument, name + ": empty image file");
  if (encoded.size() > static_cast<std::size_t>(INT32_MAX))
    throw Error(ErrorKind::invalid_argument, name + ": file too large");
  const auto len = static_cast<int>(encoded.size());
  const auto check_pixels = [&](std::int64_t width, std::int64_t height) {
    // PNG declares up to 2^32-1 per side: the product can pass int64, so divide instead.
    if (width > 0 && height > 0 && height > limits.max_pixels / width)
      throw Error(ErrorKind::invalid_argument, name + ": " + std::to_string(width) + "x" +
                                                   std::to_string(height) + " exceeds the pixel limit of " +
                                                   std::to_string(limits.max_pixels));
  };
  if (const auto dims = declared_dimensions(encoded)) check_pixels(dims->first, dims->second);
  if (const auto problem = jpeg_table_problem(encoded))
    throw Error(ErrorKind::invalid_argument, name + ": corrupt JPEG (" + *problem + ")");
  int w = 0, h = 0, c = 0;
  if (!stbi_info_from_memory(encoded.data(), len, &w, &h, &c))
    throw Error(ErrorKind::invalid_argument,
                name + ": not a decodable image (" + stbi_failure_reason() + ")");
  check_pixels(w, h);
  stbi_uc* pixels = stbi_load_from_memory(encoded.data(), len, &w, &h, &c, 3);
  if (!pixels)
    throw Error(ErrorKind::invalid_argument,
                name + ": corrupt or truncated image (" + stbi_failure_reason() + ")");
  Image image;
  image.width = w;
  image.height = h;
  image.rgb.assign(pixels, pixels + static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * 3);
  stbi_image_free(pixels);
  if (limits.apply_exif_orientation) {
    if (const int orientation = jpeg_exif_orientation(encoded); orientation != 1)
      image = apply_exif_orientation(image, orientation);
  }
  image.finalize();
  return image;
}

Image load_image(const std::string& path, const ImageLimits& limits) {
  const auto bytes = read_file(path);
  return decode_image(bytes, path, limits);
}

std::vector<std::uint8_t> encode_png(const Image& image) {
  check_image(image);
  std::vector<std::uint8_t> out;
  if (!stbi_write_png_to_func(append_to_vector, &out, image.width, image.height, 3, image.rgb.data(),
                              image.width * 3))
    throw Error(ErrorKind::io, "PNG encoding failed");
  return out;
}

void write_png(const Image& image, const std::string& path) {
  write_atomically(path, encode_png(image));
}

std::vector<std::uint8_t> encode_jpeg(const Image& image, int quality) {
  check_image(image);
  std::vector<std::uint8_t> out;
  if (!stbi_write_jpg_to_func(append_to_vector, &out, image.width, image.height, 3, image.rgb.data(),
                              std::clamp(quality, 1, 100)))
    throw Error(ErrorKind::io, "JPEG encoding failed");
  return out;
}

void write_jpeg(const Image& image, const std::string& path, int quality) {
  write_atomically(path, encode_jpeg(image, quality));
}

Image resize(const Image& src, int width, int height, ResizeFilter filter) {
  check_image(src);
  if (width <= 0 || height <= 0)
    throw Error(ErrorKind::invalid_argument, "resize: target size must be positive");
  Image dst;
  dst.width = width;
  dst.height = height;
  dst.rgb.resize(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 3);
  const double sx = static_cast<double>(src.width) / width;
  const double sy = static_cast<double>(src.height) / height;
  auto at = [&](int x, int y, int ch) -> double {
    return src.rgb[(static_cast<std::size_t>(y) * static_cast<std::size_t>(src.width) +
                    static_cast<std::size_t>(x)) *
                       3 +
                   static_cast<std::size_t>(ch)];
  };
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int ch = 0; ch < 3; ++ch) {
        double v = 0;
        if (filter == ResizeFilter::bilinear || (sx <= 1.0 && sy <= 1.0)) {
          const double fx = std::clamp((x + 0.5) * sx - 0.5, 0.0, src.width - 1.0);
          const double fy = std::clamp((y + 0.5) * sy - 0.5, 0.0, src.height - 1.0);
          const int x0 = static_cast<int>(fx), y0 = static_cast<int>(fy);
          const int x1 = std::min(x0 + 1, src.width - 1), y1 = std::min(y0 + 1, src.height - 1);
          const double ax = fx - x0, ay = fy - y0;
          v = (1 - ay) * ((1 - ax) * at(x0, y0, ch) + ax * at(x1, y0, ch)) +
              ay * ((1 - ax) * at(x0, y1, ch) + ax * at(x1, y1, ch));
        } else {
          // Box filter: integrate the source footprint [x*sx, (x+1)*sx) with partial weights.
          const double x_begin = x * sx, x_end = (x + 1) * sx, y_begin = y * sy, y_end = (y + 1) * sy;
          double sum = 0, weight = 0;
          for (int yy = static_cast<int>(y_begin);
               yy < std::min(static_cast<int>(std::ceil(y_end)), src.height); ++yy) {
            const double wy = std::min(y_end, yy + 1.0) - std::max(y_begin, static_cast<double>(yy));
            for (int xx = static_cast<int>(x_begin);
                 xx < std::min(static_cast<int>(std::ceil(x_end)), src.width); ++xx) {
              const double wx = std::min(x_end, xx + 1.0) - std::max(x_begin, static_cast<double>(xx));
              sum += wx * wy * at(xx, yy, ch);
              weight += wx * wy;
            }
          }
          v = weight > 0 ? sum / weight : 0;
        }
        dst.rgb[(static_cast<std::size_t>(y) * static_cast<std::size_t>(width) +
                 static_cast<std::size_t>(x)) *
                    3 +
                static_cast<std::size_t>(ch)] =
            static_cast<std::uint8_t>(std::clamp(std::lround(v), 0L, 255L));
      }
    }
  }
  dst.finalize();
  return dst;
}

}  // namespace georank
